"""The queue on PostgreSQL (psycopg 3), for `postgresql://…` store URLs.

Same SQL as the SQLite store, with `?` turned into psycopg's `%s`. Claims add `FOR UPDATE SKIP LOCKED`
to the subquery that picks due rows, so concurrent workers each lock different rows instead of queueing
behind one another (https://www.postgresql.org/docs/current/sql-select.html#SQL-FOR-UPDATE-SHARE).
Every compare-and-set runs in READ COMMITTED: an UPDATE that finds its row changed by a committed
transaction re-checks `state = ?` on the new version and so matches nothing — the CAS is lost, never doubled.
A state write and its job_events rows are one statement (a data-modifying CTE), atomic without BEGIN/COMMIT.

Statements are prepared on the server, and from a statement's sixth run PostgreSQL may switch to a generic
plan, made without the parameter values. `plan_cache_mode` is left at `auto` rather than forced to custom
plans (a fresh plan at every claim): instead the store writes the states it filters on as literals and has
partial indexes for them, so that the generic plan of every hot query is an index scan of the few live rows,
or of a time range of the finished ones. tests/test_explain.py checks both plans of each at 100,000 jobs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sharebot.errors import StoreError
from sharebot.handoff import pg_names
from sharebot.jobs import Job
from sharebot.models import RenderedPost
from sharebot.scrub import redact_url
from sharebot.store import Exec, Store
from sharebot.times import utc

try:
    import psycopg
    from psycopg.rows import dict_row
except ImportError as e:  # pragma: no cover - depends on the install
    raise StoreError("PostgreSQL needs psycopg: pip install 'sharebot[postgres]'") from e

# Any constant works; it only has to be the same for every sharebot process migrating this database.
_MIGRATION_LOCK_ID = 0x5BB0_7E01




class PostgresStore(Store):
    dialect = "postgres"
    skip_locked = " FOR UPDATE SKIP LOCKED"
    single_statement_cas = True

    def __init__(self, url: str, *, connect_timeout: int = 10, migrate: bool = True) -> None:
        self.url = redact_url(url)
        try:
            self._conn = psycopg.connect(url, autocommit=True, row_factory=dict_row,
                                         connect_timeout=connect_timeout)
        except psycopg.Error as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise StoreError(f"{self.url}: cannot connect: {first}") from None
        self._lock = threading.RLock()
        self._jobs_channel: str | None = None  # where new jobs are announced (`sharebot.handoff`)
        if migrate:
            self.migrate()

    def _exec(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        cur = self._conn.execute(sql.replace("?", "%s"), params, prepare=True)
        return cur.fetchall() if cur.description else []

    @contextmanager
    def _transaction(self, write: bool = True, single: bool = False) -> Iterator[Exec]:
        with self._lock:
            try:
                if single:  # autocommit: the statement is its own transaction, saving BEGIN and COMMIT
                    yield self._exec
                    return
                with self._conn.transaction():
                    yield self._exec
            except psycopg.Error as e:
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise StoreError(f"{self.url}: {first}") from None

    def _migration_lock(self, ex: Exec) -> None:
        # CREATE TABLE IF NOT EXISTS is not safe against a concurrent twin; a transaction-scoped advisory
        # lock makes the second opener wait and then see the first one's migrations as applied.
        ex("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK_ID,))

    def _db_time(self, dt: datetime) -> datetime:
        return utc(dt)

    def _py_time(self, value: Any) -> datetime:
        return utc(value)

    def notify(self, channel: str, payload: str = "") -> None:
        """NOTIFY `channel` (delivered when no transaction of ours is open: this connection autocommits)."""
        with self._transaction(single=True) as ex:
            ex("SELECT pg_notify(?, ?)", (channel, payload))

    def insert_jobs(self, slug: str, round: int, posts: Iterable[RenderedPost], *, now: datetime,
                    run_at: datetime, run_at_for: Mapping[str, datetime] | None = None) -> list[Job]:
        """As `Store.insert_jobs`, then wakes idle workers (they LISTEN: `sharebot.handoff`) when any is due."""
        jobs = super().insert_jobs(slug, round, posts, now=now, run_at=run_at, run_at_for=run_at_for)
        if any(job.run_at <= now for job in jobs):
            if self._jobs_channel is None:
                with self._transaction(single=True) as ex:
                    self._jobs_channel = pg_names(str(ex("SELECT current_schema() AS s")[0]["s"]))[0]
            self.notify(self._jobs_channel)
        return jobs

    def close(self) -> None:
        with self._lock:
            self._conn.close()
