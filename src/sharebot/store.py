"""Where the queue lives: the storage contract, its SQL, and the SQLite backend.

`Store` holds every SQL statement; a backend supplies a connection, transactions and time conversion.
SQLite (the default) serialises writers with `BEGIN IMMEDIATE`, so a claim is one atomic
`UPDATE … RETURNING`; PostgreSQL (`store_postgres`) adds `FOR UPDATE SKIP LOCKED` to the same query.
Every write of a job's state goes through `Store._write_state`: checked against `jobs.TRANSITIONS`, a
compare-and-set on the old state, with its `job_events` rows in the same transaction.
`sharebot.storage.open_store` picks the backend for a URL.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from sharebot.errors import JobStateError, NotFound, StoreError
from sharebot.jobs import AccountFlag, Job, JobEvent, JobKind, JobState, check_transition, job_key
from sharebot.migrations import MIGRATIONS_TABLE_SQL, pending
from sharebot.models import Network, RenderedPost
from sharebot.times import utc

Exec = Callable[..., list[dict[str, Any]]]  # (sql, params=()) -> rows as dicts

_CHANGEABLE = frozenset({"run_at", "remote_id", "remote_url", "last_error", "attempts"})
_CHUNK = 100  # rows per multi-row INSERT, well inside both backends' parameter limits
_NOT_FLAGGED = "account NOT IN (SELECT name FROM accounts WHERE flagged_at IS NOT NULL)"


def is_postgres(url_or_path: str | Path) -> bool:
    """Whether this database is PostgreSQL's (`postgresql://…`, `postgres://…`); else it is a SQLite file."""
    return str(url_or_path).startswith(("postgresql://", "postgres://"))


def _not_in(column: str, values: Collection[str]) -> str:
    """` AND column NOT IN (?, …)` for `values` (their parameters follow), or nothing for none."""
    return f" AND {column} NOT IN ({', '.join('?' * len(values))})" if values else ""


def _state_is(*states: JobState) -> str:
    """`state = 'queued'` or `state IN (…)`, the states written into the SQL rather than bound.

    PostgreSQL plans a prepared statement without its parameter values from the sixth run on (its generic
    plan) and then takes `state = $1` for an average state, which with a long history is most of the table:
    the query turns into a sequential scan. A literal state is planned from that state's own statistics, and
    lets both backends use the partial indexes whose predicate names it (migration 0007)."""
    assert states and all(s.value.isidentifier() for s in states)  # enum values only: nothing to escape
    if len(states) == 1:
        return f"state = '{states[0].value}'"
    return "state IN (" + ", ".join(f"'{s.value}'" for s in states) + ")"


# A job due to go out: queued, its time come (the one parameter), its article not retracted.
_DUE = f"{_state_is(JobState.QUEUED)} AND run_at <= ? AND retracted_at IS NULL"


# The states `prune_finished` deletes: a job in one of them is done with, and nobody waits on it. Migration
# 0007's index on finished jobs covers exactly these.
PRUNABLE = (JobState.PUBLISHED, JobState.DELETED, JobState.CANCELED, JobState.FAILED)


def _check_prunable(state: JobState) -> None:
    if state not in PRUNABLE:
        raise ValueError(f"{state} jobs are never pruned")


class Store(ABC):
    """The queue's storage contract. All methods are safe to call from several threads."""

    dialect: ClassVar[str]
    skip_locked: ClassVar[str] = ""  # row-lock clause for the claim subquery
    single_statement_cas: ClassVar[bool] = False  # UPDATE and event INSERT in one data-modifying CTE

    # --- backend hooks ---------------------------------------------------------------------------
    @abstractmethod
    def _transaction(self, write: bool = True, single: bool = False) -> Any:
        """Context manager yielding an Exec: one transaction, with write=True exclusive against other
        writers; single=True promises exactly one statement, which a backend may run in autocommit."""

    @abstractmethod
    def _db_time(self, dt: datetime) -> Any: ...

    @abstractmethod
    def _py_time(self, value: Any) -> datetime: ...

    def _migration_lock(self, ex: Exec) -> None:  # noqa: B027 - optional hook, a no-op on SQLite
        """Serialise concurrent first opens where the transaction alone does not."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- schema ----------------------------------------------------------------------------------
    def migrate(self) -> list[str]:
        """Apply the migrations not yet recorded; returns their names."""
        with self._transaction() as ex:
            self._migration_lock(ex)
            ex(MIGRATIONS_TABLE_SQL)
            applied = {r["name"] for r in ex("SELECT name FROM schema_migrations")}
            todo = pending(applied)
            for migration in todo:
                for statement in getattr(migration, self.dialect):
                    ex(statement) if isinstance(statement, str) else statement(ex)
                ex("INSERT INTO schema_migrations (name, applied_at) VALUES (?, CURRENT_TIMESTAMP)",
                   (migration.name,))
        return [m.name for m in todo]

    def is_current(self) -> bool:
        """Has every migration been applied (without applying any)?"""
        try:
            return not pending(set(self.applied_migrations()))
        except Exception:  # no schema_migrations table yet: an empty or foreign database
            return False

    def applied_migrations(self) -> list[str]:
        with self._transaction(write=False) as ex:
            return [r["name"] for r in ex("SELECT name FROM schema_migrations ORDER BY name")]

    # --- rows <-> values -------------------------------------------------------------------------
    def _job(self, row: Mapping[str, Any]) -> Job:
        import json  # here, not at the top: a dry run reads only times, and json costs it a millisecond

        t = self._py_time
        return Job(
            id=int(row["id"]), slug=row["slug"], account=row["account"], network=Network(row["network"]),
            round=int(row["round"]), state=JobState(row["state"]),
            post=RenderedPost.from_dict(json.loads(row["post"])), key=row["idem_key"],
            attempts=int(row["attempts"]), run_at=t(row["run_at"]), created_at=t(row["created_at"]),
            updated_at=t(row["updated_at"]), lease_owner=row["lease_owner"],
            lease_until=t(row["lease_until"]) if row["lease_until"] is not None else None,
            remote_id=row["remote_id"], remote_url=row["remote_url"], last_error=row["last_error"],
            data=json.loads(row["data"] or "{}"),
            retracted_at=t(row["retracted_at"]) if row.get("retracted_at") is not None else None,
            # .get: a queue not yet migrated has no such columns (its jobs are all posts)
            kind=JobKind(row.get("kind") or JobKind.POST), parent_id=row.get("parent_id"),
            sequence=int(row.get("sequence") or 0),
            revision=RenderedPost.from_dict(json.loads(row["revision"])) if row.get("revision") else None,
        )

    def _events(self, ex: Exec, logged: list[tuple[int, str]], at: datetime, from_state: JobState | None,
                to_state: JobState) -> None:
        """Append one event per (job id, reason); one multi-row INSERT per chunk, so a claim or an enqueue
        logs many events in a single round trip."""
        moved = (self._db_time(at), str(from_state) if from_state else None, str(to_state))
        for i in range(0, len(logged), _CHUNK):
            chunk = logged[i:i + _CHUNK]
            ex("INSERT INTO job_events (job_id, at, from_state, to_state, reason) VALUES "
               + ", ".join(["(?, ?, ?, ?, ?)"] * len(chunk)),
               tuple(v for job_id, reason in chunk for v in (job_id, *moved, reason)))

    # --- jobs ------------------------------------------------------------------------------------
    def latest_round(self, slug: str) -> int:
        with self._transaction(write=False) as ex:
            rows = ex("SELECT MAX(round) AS r FROM jobs WHERE slug = ?", (slug,))
        return int(rows[0]["r"] or 0)

    def insert_jobs(self, slug: str, round: int, posts: Iterable[RenderedPost], *, now: datetime,
                    run_at: datetime, run_at_for: Mapping[str, datetime] | None = None) -> list[Job]:
        """Add one queued job per post; posts whose (slug, account, round) exists are skipped.

        `run_at_for` gives an account its own time (its schedule's slot); others get `run_at`.
        """
        import json

        times = run_at_for or {}
        values = [(slug, p.account, str(p.network), round, str(JobState.QUEUED),
                   json.dumps(p.to_dict(), ensure_ascii=False), job_key(slug, p.account, round),
                   self._db_time(times.get(p.account, run_at)), self._db_time(now), self._db_time(now))
                  for p in posts]
        rows: list[dict[str, Any]] = []
        with self._transaction() as ex:
            for i in range(0, len(values), _CHUNK):
                chunk = values[i:i + _CHUNK]
                placeholders = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
                rows += ex("INSERT INTO jobs (slug, account, network, round, state, post, idem_key, run_at,"
                           f" created_at, updated_at) VALUES {placeholders}"
                           " ON CONFLICT DO NOTHING RETURNING *",
                           tuple(v for row in chunk for v in row))
            self._events(ex, [(r["id"], "enqueued") for r in rows], now, None, JobState.QUEUED)
        return sorted((self._job(r) for r in rows), key=lambda j: j.id)

    def insert_answer(self, parent: Job, kind: JobKind, sequence: int, post: RenderedPost, *, now: datetime,
                      revision: RenderedPost | None = None) -> Job | None:
        """Queue an edit of `parent`'s post, or a reply under it, due now: the account's `sequence`th edit or
        reply in the parent's article round. None when that one exists already (its key is taken)."""
        import json

        values = (parent.slug, parent.account, str(parent.network), parent.round, str(JobState.QUEUED),
                  json.dumps(post.to_dict(), ensure_ascii=False),
                  job_key(parent.slug, parent.account, parent.round, kind, sequence), self._db_time(now),
                  self._db_time(now), self._db_time(now), str(kind), parent.id, sequence,
                  json.dumps(revision.to_dict(), ensure_ascii=False) if revision is not None else None)
        with self._transaction() as ex:
            rows = ex("INSERT INTO jobs (slug, account, network, round, state, post, idem_key, run_at, created_at,"
                      " updated_at, kind, parent_id, sequence, revision) VALUES"
                      " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING *", values)
            self._events(ex, [(r["id"], f"{kind} queued") for r in rows], now, None, JobState.QUEUED)
        return self._job(rows[0]) if rows else None

    def get(self, job_id: int) -> Job:
        with self._transaction(write=False) as ex:
            rows = ex("SELECT * FROM jobs WHERE id = ?", (job_id,))
        if not rows:
            raise NotFound(f"no job with id {job_id}")
        return self._job(rows[0])

    def list_jobs(self, *, state: JobState | None = None, account: str | None = None, slug: str | None = None,
                  round: int | None = None, limit: int | None = None) -> list[Job]:
        where, params = [], []
        for column, value in (("state", state and str(state)), ("account", account), ("slug", slug),
                              ("round", round)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = "SELECT * FROM jobs" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        with self._transaction(write=False) as ex:
            return [self._job(r) for r in ex(sql, tuple(params))]

    def counts(self) -> dict[JobState, int]:
        with self._transaction(write=False) as ex:
            rows = ex("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
        return {JobState(r["state"]): int(r["n"]) for r in rows}

    def events(self, job_id: int) -> list[JobEvent]:
        with self._transaction(write=False) as ex:
            rows = ex("SELECT * FROM job_events WHERE job_id = ? ORDER BY id", (job_id,))
        return [JobEvent(int(r["job_id"]), self._py_time(r["at"]),
                         JobState(r["from_state"]) if r["from_state"] else None, JobState(r["to_state"]),
                         r["reason"]) for r in rows]

    # --- state changes ---------------------------------------------------------------------------
    def _write_state(self, update: str, params: tuple[Any, ...], *, at: datetime, from_state: JobState,
                     to_state: JobState, reason: str | None, picked: str = "",
                     job_id: int | None = None) -> list[dict[str, Any]]:
        """The one way `state` is written: check the move against the transition table, run `update` and
        append one job_events row per job it moved, in the same transaction. Returns the moved rows.

        `update` is an `UPDATE jobs … RETURNING *` that matches only rows in `from_state`: by `state = ?`,
        or by id from a `picked` CTE (`name AS (SELECT id …)`) that chose them by state under a lock.
        `reason` None logs each row's new `last_error` as its reason.
        """
        check_transition(from_state, to_state, job_id)
        if self.single_statement_cas:
            # One statement is atomic on its own: no BEGIN/COMMIT round trips, and the event rows still
            # commit with the update or not at all.
            sql = (f"WITH {picked + ', ' if picked else ''}moved AS ({update}), logged AS (INSERT INTO job_events"
                   " (job_id, at, from_state, to_state, reason) SELECT id, ?, ?, ?, "
                   f"{'last_error' if reason is None else '?'} FROM moved) SELECT * FROM moved")
            event = (self._db_time(at), str(from_state), str(to_state)) + ((reason,) if reason is not None else ())
            with self._transaction(single=True) as ex:
                moved: list[dict[str, Any]] = ex(sql, params + event)
                return moved
        with self._transaction() as ex:
            rows: list[dict[str, Any]] = ex(f"WITH {picked} {update}" if picked else update, params)
            self._events(ex, [(r["id"], r["last_error"] if reason is None else reason) for r in rows],
                         at, from_state, to_state)
        return rows

    def transition(self, job_id: int, from_state: JobState, to_state: JobState, *, now: datetime, reason: str,
                   owner: str | None = None, **changes: Any) -> Job:
        """Compare-and-set the state (and, with `owner`, the lease holder), append an event, clear the lease.

        `changes` may set run_at, remote_id, remote_url, last_error, attempts.
        """
        unknown = set(changes) - _CHANGEABLE
        if unknown:
            raise ValueError(f"transition cannot change {', '.join(sorted(unknown))}")
        sets = ["state = ?", "updated_at = ?", "lease_owner = NULL", "lease_until = NULL"]
        params: list[Any] = [str(to_state), self._db_time(now)]
        for column, value in changes.items():
            sets.append(f"{column} = ?")
            params.append(self._db_time(value) if column == "run_at" else value)
        sql = f"UPDATE jobs SET {', '.join(sets)} WHERE id = ? AND state = ?"
        params += [job_id, str(from_state)]
        if owner is not None:
            sql += " AND lease_owner = ?"
            params.append(owner)
        rows = self._write_state(sql + " RETURNING *", tuple(params), at=now, from_state=from_state,
                                 to_state=to_state, reason=reason, job_id=job_id)
        if rows:
            return self._job(rows[0])
        with self._transaction(write=False) as ex:
            found = ex("SELECT state, lease_owner FROM jobs WHERE id = ?", (job_id,))
        if not found:
            raise NotFound(f"no job with id {job_id}")
        held = f", lease held by {found[0]['lease_owner']}" if owner is not None else ""
        raise JobStateError(f"job {job_id}: expected {from_state}, found {found[0]['state']}{held}")

    def replace_post(self, job_id: int, post: RenderedPost, *, now: datetime, reason: str) -> Job | None:
        """Store a corrected `post` on a job that is still queued: a compare-and-set on state queued, logged
        as a queued -> queued event with `reason`. None when the job has left the queue (a worker claimed
        it, or it went out): the post it holds is the one that goes, or went, out."""
        import json

        update = "UPDATE jobs SET post = ?, updated_at = ? WHERE id = ? AND state = ? RETURNING *"
        params = (json.dumps(post.to_dict(), ensure_ascii=False), self._db_time(now), job_id, str(JobState.QUEUED))
        rows = self._write_state(update, params, at=now, from_state=JobState.QUEUED, to_state=JobState.QUEUED,
                                 reason=reason, job_id=job_id)
        return self._job(rows[0]) if rows else None

    def set_data(self, job_id: int, data: Mapping[str, Any], *, owner: str) -> Job:
        """Persist an adapter's `prepare` values on a running job this owner holds."""
        import json

        with self._transaction() as ex:
            rows = ex("UPDATE jobs SET data = ? WHERE id = ? AND state = ? AND lease_owner = ? RETURNING *",
                      (json.dumps(dict(data)), job_id, str(JobState.RUNNING), owner))
        if not rows:
            raise JobStateError(f"job {job_id}: not running under {owner}")
        return self._job(rows[0])

    def claim(self, owner: str, *, now: datetime, lease_until: datetime, limit: int,
              ids: Iterable[int] | None = None, skip_accounts: Collection[str] = ()) -> list[Job]:
        """Move up to `limit` due queued jobs (or just `ids`) of unflagged accounts and unretracted articles to
        running, leased; each claim is logged as a queued -> running event. A claim spends no attempt:
        `begin_attempt` does, just before the request goes out. Due jobs of `skip_accounts` are left to others."""
        params: list[Any] = []
        if ids is None:
            pick = "run_at <= ?"
            params.append(self._db_time(now))
        else:
            id_list = [int(i) for i in ids] or [-1]
            pick = f"id IN ({', '.join('?' * len(id_list))})"
            params += id_list
        pick += _not_in("account", skip_accounts)
        params += skip_accounts
        picked = (f"picked AS (SELECT id FROM jobs WHERE {_state_is(JobState.QUEUED)} AND {pick} AND {_NOT_FLAGGED}"
                  " AND retracted_at IS NULL"
                  f" ORDER BY run_at, id LIMIT ?{self.skip_locked})")
        params.append(int(limit))
        # The pick is a CTE so PostgreSQL evaluates (and locks) it exactly once; as a plain IN-subquery the
        # planner may re-run it and hand out more than `limit` rows.
        # The pick is the compare: it ran under the write lock (SQLite) or locked its rows, re-checking
        # the state on their newest version (PostgreSQL), so they are still queued. Repeating the state
        # in the UPDATE would let the planner drive it from the state index and walk every queued row.
        update = ("UPDATE jobs SET state = ?, lease_owner = ?, lease_until = ?,"
                  " updated_at = ? WHERE id IN (SELECT id FROM picked) RETURNING *")
        params += [str(JobState.RUNNING), owner, self._db_time(lease_until), self._db_time(now)]
        rows = self._write_state(update, tuple(params), at=now, from_state=JobState.QUEUED,
                                 to_state=JobState.RUNNING, reason=f"claimed by {owner}", picked=picked)
        return sorted((self._job(r) for r in rows), key=lambda j: (j.run_at, j.id))

    def begin_attempt(self, job_id: int, *, owner: str) -> int:
        """Count one send attempt on a running job this owner holds, right before its request goes out;
        returns the attempts made so far. A worker that dies before this line spent none."""
        with self._transaction(single=True) as ex:
            rows = ex("UPDATE jobs SET attempts = attempts + 1 WHERE id = ? AND state = ? AND lease_owner = ?"
                      " RETURNING attempts", (job_id, str(JobState.RUNNING), owner))
        if not rows:
            raise JobStateError(f"job {job_id}: not running under {owner}; not sent")
        return int(rows[0]["attempts"])

    def mark_retracted(self, slug: str, *, now: datetime, accounts: Iterable[str] | None = None) -> list[Job]:
        """Mark the article's jobs (of `accounts`, if given) as retracted, so no claim takes them again;
        returns the jobs this call marked, as they stood at that moment (one statement: a worker's
        compare-and-set on one of them lands either wholly before or wholly after it)."""
        sql = "UPDATE jobs SET retracted_at = ? WHERE slug = ? AND retracted_at IS NULL"
        params: list[Any] = [self._db_time(now), slug]
        if accounts is not None:
            names = list(accounts) or [""]
            sql += f" AND account IN ({', '.join('?' * len(names))})"
            params += names
        with self._transaction(single=True) as ex:
            rows = ex(sql + " RETURNING *", tuple(params))
        return sorted((self._job(r) for r in rows), key=lambda j: j.id)

    def claim_unknown(self, owner: str, *, now: datetime, lease_until: datetime, limit: int,
                      ids: Iterable[int] | None = None, skip_accounts: Collection[str] = ()) -> list[Job]:
        """Lease up to `limit` unknown jobs due for a check (or just `ids`, due or not, flagged or not: a
        retraction looks at once). Only the lease is written: the state stays unknown, and the check's
        outcome is what gets logged. Those of `skip_accounts` are left to others."""
        n = self._db_time(now)
        if ids is None:
            pick = f"run_at <= ? AND {_NOT_FLAGGED}" + _not_in("account", skip_accounts)
            params: list[Any] = [n, *skip_accounts]
        else:
            id_list = [int(i) for i in ids] or [-1]
            pick, params = f"id IN ({', '.join('?' * len(id_list))})", id_list
        inner = (f"SELECT id FROM jobs WHERE {_state_is(JobState.UNKNOWN)} AND {pick}"
                 f" AND (lease_until IS NULL OR lease_until < ?) ORDER BY run_at, id LIMIT ?{self.skip_locked}")
        with self._transaction() as ex:
            rows = ex(f"WITH picked AS ({inner}) UPDATE jobs SET lease_owner = ?, lease_until = ?"
                      " WHERE id IN (SELECT id FROM picked) RETURNING *",
                      (*params, n, int(limit), owner, self._db_time(lease_until)))
        return sorted((self._job(r) for r in rows), key=lambda j: (j.run_at, j.id))

    def renew_leases(self, job_ids: list[int], *, owner: str, until: datetime) -> None:
        """Extend the leases this owner holds on jobs it is still posting or checking."""
        if not job_ids:
            return
        marks = ", ".join("?" * len(job_ids))
        with self._transaction() as ex:
            ex(f"UPDATE jobs SET lease_until = ? WHERE id IN ({marks}) AND lease_owner = ?"
               f" AND {_state_is(JobState.RUNNING, JobState.UNKNOWN)}", (self._db_time(until), *job_ids, owner))

    def expire_leases(self, now: datetime, *, recheck_at: datetime | None = None) -> list[Job]:
        """Running jobs whose lease ran out: their worker died or hung mid-post, so the outcome is unknown.
        Each is logged as a running -> unknown event naming the lost lease, and checked (`claim_unknown`)
        from `recheck_at` on (default: now)."""
        n = self._db_time(now)
        running = _state_is(JobState.RUNNING)
        probe = f"SELECT id FROM jobs WHERE {running} AND lease_until < ? LIMIT 1"
        with self._transaction(write=False) as ex:  # the common case, nothing expired, needs no write lock
            if not ex(probe, (n,)):
                return []
        picked = f"picked AS (SELECT id FROM jobs WHERE {running} AND lease_until < ?{self.skip_locked})"
        # SET expressions read the row as it was, so last_error still sees the lapsed owner.
        update = ("UPDATE jobs SET state = ?, lease_owner = NULL, lease_until = NULL, updated_at = ?, run_at = ?,"
                  " last_error = 'lease of ' || COALESCE(lease_owner, 'no owner') || ' expired mid-post'"
                  " WHERE id IN (SELECT id FROM picked) RETURNING *")
        params = (n, str(JobState.UNKNOWN), n, self._db_time(recheck_at or now))
        rows = self._write_state(update, params, at=now, from_state=JobState.RUNNING, to_state=JobState.UNKNOWN,
                                 reason=None, picked=picked)
        return sorted((self._job(r) for r in rows), key=lambda j: j.id)

    def post_times(self, account: str, *, since: datetime) -> list[datetime]:
        """When the account's posts went out or are planned to (from `since` on): what a schedule must
        keep its gaps and hourly cap against. Published jobs count at their last update, the rest at run_at.
        Posts and replies count (each is a new post in the followers' timelines); edits do not."""
        return self.all_post_times(since=since).get(account, [])

    def all_post_times(self, *, since: datetime) -> dict[str, list[datetime]]:
        """`post_times` for every account in one query (a dry run plans all accounts at once), answered from
        two indexes alone (migrations 0007 to 0009): one branch per state, each naming its state as a literal,
        which is what lets both backends prove a partial index's predicate from it."""
        taking_a_slot = f"kind <> '{JobKind.EDIT}'"
        planned = [f"SELECT account, run_at AS at FROM jobs WHERE {_state_is(state)} AND run_at >= ?"
                   f" AND {taking_a_slot}" for state in (JobState.QUEUED, JobState.RUNNING, JobState.UNKNOWN)]
        sql = " UNION ALL ".join(
            [*planned, f"SELECT account, updated_at AS at FROM jobs WHERE {_state_is(JobState.PUBLISHED)}"
                       f" AND updated_at >= ? AND {taking_a_slot}"])
        params = (self._db_time(utc(since)),) * (len(planned) + 1)
        with self._transaction(write=False) as ex:
            found = self._times_by_account(ex, sql, params)
        return {account: sorted(times) for account, times in found.items()}

    def _times_by_account(self, ex: Exec, sql: str, params: tuple[Any, ...]) -> dict[str, list[datetime]]:
        """The (account, at) rows of `sql` as each account's times."""
        found: dict[str, list[datetime]] = {}
        for row in ex(sql, params):
            found.setdefault(row["account"], []).append(self._py_time(row["at"]))
        return found

    def next_due(self, *, after: datetime) -> datetime | None:
        """The earliest run time after `after` of a job waiting to be claimed (queued, or unknown and waiting
        for its check); None when there is none. Jobs already due are the claim's business: one no worker can
        take (a flagged account's) must not hide the next. From the planned-times index alone (migration 0009)."""
        sql = " UNION ALL ".join(f"SELECT MIN(run_at) AS at FROM jobs WHERE {_state_is(state)} AND run_at > ?"
                                 for state in (JobState.QUEUED, JobState.UNKNOWN))
        with self._transaction(write=False) as ex:
            times = [self._py_time(r["at"]) for r in ex(sql, (self._db_time(utc(after)),) * 2) if r["at"] is not None]
        return min(times, default=None)

    def upcoming(self, *, until: datetime | None = None) -> list[Job]:
        """Queued jobs, soonest first (overdue ones too: they go out next), up to `until`."""
        sql = f"SELECT * FROM jobs WHERE {_state_is(JobState.QUEUED)}"
        params: list[Any] = []
        if until is not None:
            sql += " AND run_at < ?"
            params.append(self._db_time(utc(until)))
        with self._transaction(write=False) as ex:
            return [self._job(r) for r in ex(sql + " ORDER BY run_at, id", tuple(params))]

    # --- history retention -----------------------------------------------------------------------
    def prune_finished(self, state: JobState, *, before: datetime, limit: int) -> tuple[int, int]:
        """Delete up to `limit` jobs in the finished `state` last changed before `before`, oldest first, with
        their events, in one transaction; returns (jobs, events) deleted. A job some other writer holds
        (PostgreSQL: a retry of a failed job, say) is skipped, and is still finished next time if it stays so.
        So is a job that still has an edit or a reply (they point at it): once those are gone, it goes too."""
        _check_prunable(state)
        with self._transaction() as ex:
            ids = [r["id"] for r in ex(f"SELECT id FROM jobs WHERE {_state_is(state)} AND updated_at < ?"
                                       " AND NOT EXISTS (SELECT 1 FROM jobs AS answer WHERE answer.parent_id = jobs.id)"
                                       f" ORDER BY updated_at LIMIT ?{self.skip_locked}",
                                       (self._db_time(before), int(limit)))]
            if not ids:
                return 0, 0
            marks = ", ".join("?" * len(ids))
            events = ex(f"DELETE FROM job_events WHERE job_id IN ({marks}) RETURNING id", tuple(ids))
            jobs = ex(f"DELETE FROM jobs WHERE id IN ({marks}) RETURNING id", tuple(ids))
        return len(jobs), len(events)

    def count_finished(self, state: JobState, *, before: datetime) -> tuple[int, int]:
        """What pruning `state` before `before` deletes in all, batch after batch: (jobs, events). Not a job
        with an edit or a reply, however deep, that stays."""
        _check_prunable(state)
        b = self._db_time(before)
        prunable = f"{_state_is(*PRUNABLE)} AND updated_at < ?"
        # The ancestors of every answer that stays: walked up from the few jobs that have a parent.
        kept = ("WITH RECURSIVE kept(id) AS (SELECT parent_id FROM jobs WHERE parent_id IS NOT NULL"
                f" AND NOT ({prunable}) UNION SELECT parent_id FROM jobs JOIN kept USING (id)"
                " WHERE parent_id IS NOT NULL) ")
        chosen = f"FROM jobs WHERE {_state_is(state)} AND updated_at < ? AND id NOT IN (SELECT id FROM kept)"
        with self._transaction(write=False) as ex:
            jobs = ex(f"{kept}SELECT COUNT(*) AS n {chosen}", (b, b))[0]["n"]
            events = ex(f"{kept}SELECT COUNT(*) AS n FROM job_events WHERE job_id IN (SELECT id {chosen})",
                        (b, b))[0]["n"]
        return int(jobs), int(events)

    # --- articles met by `watch` -----------------------------------------------------------------
    def seen(self, source: str) -> set[str]:
        with self._transaction(write=False) as ex:
            return {r["slug"] for r in ex("SELECT slug FROM seen WHERE source = ?", (source,))}

    def mark_seen(self, source: str, slugs: Iterable[str], *, now: datetime) -> None:
        rows = [(source, slug, self._db_time(now)) for slug in slugs]
        with self._transaction() as ex:
            for i in range(0, len(rows), _CHUNK):
                chunk = rows[i:i + _CHUNK]
                ex("INSERT INTO seen (source, slug, first_seen) VALUES " + ", ".join(["(?, ?, ?)"] * len(chunk))
                   + " ON CONFLICT DO NOTHING", tuple(v for row in chunk for v in row))

    # --- which article each slug stands for ------------------------------------------------------
    def article_slug(self, article_id: str, slugs: Iterable[str], *, source: str,
                     now: datetime | None = None) -> tuple[str, str, str]:
        """The slug the article `article_id` is queued under, as (slug, holding article's id, its source).

        The article's own slug if it has one; else the first of `slugs` no other article holds, which is
        recorded as the article's (read from `source`) when `now` is given, and only looked up without.
        When another article holds every one of `slugs`, that holder of the first comes back: a caller
        tells it by the id.
        """
        mine = "SELECT slug, article_id, source FROM articles WHERE article_id = ?"
        first: dict[str, Any] | None = None
        with self._transaction(write=now is not None) as ex:
            rows = ex(mine, (article_id,))
            for slug in slugs:
                if rows:
                    break
                if now is not None:
                    rows = ex("INSERT INTO articles (slug, article_id, source, first_seen) VALUES (?, ?, ?, ?)"
                              " ON CONFLICT DO NOTHING RETURNING slug, article_id, source",
                              (slug, article_id, source, self._db_time(now)))
                    # Nothing inserted: another article holds the slug, or (PostgreSQL) a concurrent run
                    # has just given this article one.
                    rows = rows or ex(mine, (article_id,))
                    if rows:
                        break
                held = ex("SELECT slug, article_id, source FROM articles WHERE slug = ?", (slug,))
                if not held:  # a look only: the slug is free
                    return slug, article_id, source
                first = first or held[0]
        row = rows[0] if rows else first
        if row is None:
            raise ValueError("article_slug needs at least one slug")
        return row["slug"], row["article_id"], row["source"]

    # --- account flags ---------------------------------------------------------------------------
    def flag_account(self, name: str, reason: str, *, now: datetime, fingerprint: str | None = None) -> None:
        """Stop claiming the account's jobs; `fingerprint` (`credentials.fingerprint`) names the credentials
        that failed, so other credentials clear the flag (`clear_account_flag(..., unless=...)`)."""
        with self._transaction() as ex:
            ex("INSERT INTO accounts (name, flagged_at, flag_reason, credential_fingerprint) VALUES (?, ?, ?, ?)"
               " ON CONFLICT (name) DO UPDATE SET flagged_at = excluded.flagged_at,"
               " flag_reason = excluded.flag_reason, credential_fingerprint = excluded.credential_fingerprint",
               (name, self._db_time(now), reason, fingerprint))

    def clear_account_flag(self, name: str, *, fingerprint: str | None = None) -> bool:
        """Clear the flag; with `fingerprint`, only a flag raised for exactly those credentials (a
        compare-and-set: a flag raised meanwhile for other credentials stays)."""
        sql = ("UPDATE accounts SET flagged_at = NULL, flag_reason = NULL, credential_fingerprint = NULL"
               " WHERE name = ? AND flagged_at IS NOT NULL")
        params: tuple[Any, ...] = (name,)
        if fingerprint is not None:
            sql += " AND credential_fingerprint = ?"
            params += (fingerprint,)
        with self._transaction() as ex:
            rows = ex(sql + " RETURNING name", params)
        return bool(rows)

    def account_flags(self) -> dict[str, AccountFlag]:
        """Every flagged account: why, since when, and for which credentials."""
        with self._transaction(write=False) as ex:
            rows = ex("SELECT name, flagged_at, flag_reason, credential_fingerprint FROM accounts"
                      " WHERE flagged_at IS NOT NULL ORDER BY name")
        return {r["name"]: AccountFlag(r["name"], r["flag_reason"] or "", self._py_time(r["flagged_at"]),
                                       r["credential_fingerprint"]) for r in rows}

    def note_waiting(self, notes: Mapping[str, str], *, now: datetime) -> int:
        """Put each account's note (account -> text) as the last error of its due queued jobs that do not carry
        it yet; the state stays queued, so nothing is logged as a transition. Returns how many were noted."""
        noted = 0
        with self._transaction() as ex:
            for account, note in notes.items():
                rows = ex(f"UPDATE jobs SET last_error = ? WHERE {_DUE} AND account = ?"
                          " AND (last_error IS NULL OR last_error <> ?) RETURNING id",
                          (note, self._db_time(now), account, note))
                noted += len(rows)
        return noted

    def due_counts(self, accounts: Collection[str], now: datetime) -> dict[str, int]:
        """Due queued jobs of these accounts (of unretracted articles), per account that has any."""
        if not accounts:
            return {}
        return self._due_by_account(f"account IN ({', '.join('?' * len(accounts))})", tuple(accounts), now)

    def waiting_on_flags(self, now: datetime) -> dict[str, int]:
        """Due queued jobs that no worker takes because their account is flagged, per account."""
        return self._due_by_account(f"NOT ({_NOT_FLAGGED})", (), now)

    def _due_by_account(self, which: str, params: tuple[Any, ...], now: datetime) -> dict[str, int]:
        """How many due queued jobs (of unretracted articles) that also meet `which` each account has."""
        sql = f"SELECT account, COUNT(*) AS n FROM jobs WHERE {_DUE} AND {which} GROUP BY account ORDER BY account"
        with self._transaction(write=False) as ex:
            rows = ex(sql, (self._db_time(now), *params))
        return {r["account"]: int(r["n"]) for r in rows}

    def flagged_accounts(self) -> dict[str, str]:
        with self._transaction(write=False) as ex:
            rows = ex("SELECT name, flag_reason FROM accounts WHERE flagged_at IS NOT NULL ORDER BY name")
        return {r["name"]: r["flag_reason"] or "" for r in rows}


class SQLiteStore(Store):
    dialect = "sqlite"

    def __init__(self, path: str | Path = ":memory:", *, busy_timeout: float = 30.0, migrate: bool = True) -> None:
        self.path = str(path)
        where = f"queue database {self.path}"
        try:
            if self.path != ":memory:" and not os.path.exists(self.path):
                # Create it ourselves so it is private from the first byte; SQLite gives -wal/-shm the same mode.
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError as e:
            raise StoreError(f"{where}: cannot create: {e.strerror or e}") from None
        if self.path != ":memory:" and not os.path.isfile(self.path):
            raise StoreError(f"{where}: not a regular file")
        try:
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                         timeout=busy_timeout)
        except sqlite3.Error as e:
            raise StoreError(f"{where}: cannot open: {e}") from None
        self._conn.row_factory = lambda cur, row: {d[0]: v for d, v in zip(cur.description, row, strict=True)}
        self._lock = threading.RLock()
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode = WAL")
                self._conn.execute("PRAGMA synchronous = NORMAL")  # durable at checkpoints; safe under WAL
            self._conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as e:  # not a database, a read-only file or folder, a /proc entry
            self._conn.close()
            raise StoreError(f"{where}: cannot open: {e}") from None
        if migrate:
            self.migrate()

    def _exec(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        # Tuples, made dicts here with the column names read once: the connection's row factory reads
        # `description`, which sqlite3 builds anew at every access, for every row (a dry run reads a day of posts).
        cursor = self._conn.cursor()
        cursor.row_factory = None
        rows = cursor.execute(sql, params).fetchall()
        if not rows:
            return []
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in rows]

    @contextmanager
    def _transaction(self, write: bool = True, single: bool = False) -> Iterator[Exec]:
        with self._lock:
            try:
                # IMMEDIATE takes the write lock up front (waiting up to busy_timeout), so two writers never
                # both read a row and then race to update it; reads take a plain snapshot.
                self._conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            except sqlite3.Error as e:
                raise StoreError(f"{self.path}: {e}") from None
            try:
                yield self._exec
                self._conn.execute("COMMIT")
            except sqlite3.Error as e:
                self._rollback()
                raise StoreError(f"{self.path}: {e}") from None
            except BaseException:
                self._rollback()
                raise

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def _times_by_account(self, ex: Exec, sql: str, params: tuple[Any, ...]) -> dict[str, list[datetime]]:
        # One row per account, its times joined: a dry run against a queue of 1,400 jobs spent more on making a
        # Python row of each time than on planning with them.
        rows = ex(f"SELECT account, group_concat(at, ' ') AS ats FROM ({sql}) GROUP BY account", params)
        return {row["account"]: [datetime.fromisoformat(t) for t in row["ats"].split(" ")] for row in rows}

    def _db_time(self, dt: datetime) -> str:
        return utc(dt).isoformat(timespec="microseconds")

    def _py_time(self, value: Any) -> datetime:
        return datetime.fromisoformat(value)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
