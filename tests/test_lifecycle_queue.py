"""Edit and reply jobs in the queue, on both store backends: the schema change that lets them share their post's
round, one job per (article, account, round, kind, sequence), and the worker sending each kind (`dispatch`),
waiting for a parent that is not out yet and settling a lost answer before anything is sent again."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import queue_support
import test_worker
from queue_support import T0, Adapters, Clock, KeyedPostServer, post

from sharebot.dispatch import CANNOT_EDIT
from sharebot.errors import Unsupported
from sharebot.jobs import Job, JobKind, JobState, job_key
from sharebot.migrations import MIGRATIONS
from sharebot.queue import RetryPolicy, enqueue
from sharebot.storage import open_store
from sharebot.store import Store
from sharebot.worker import Worker

S = JobState
store = queue_support.store  # fixture
store_url = queue_support.store_url  # fixture
server = test_worker.server  # fixture: the keyed-post server
clock = test_worker.clock  # fixture: the test's clock
OURS = next(i for i, m in enumerate(MIGRATIONS) if m.name == "0006_edits_and_replies")


def worker(store: Store, server: KeyedPostServer, clock: Clock, adapters: Any = None) -> Worker:
    return Worker(store, adapters or Adapters(server.url), owner="w1", clock=clock,
                  policy=RetryPolicy(base=10, cap=100, max_attempts=3, jitter="none"))


def published(store: Store, server: KeyedPostServer, clock: Clock, slug: str = "wahl", account: str = "a") -> Job:
    [job] = enqueue(store, slug, [post(account, f"{slug} für {account}")], now=clock()).added
    with worker(store, server, clock) as w:
        w.run_once()
    done = store.get(job.id)
    assert done.state is S.PUBLISHED
    return done


# --- the schema -------------------------------------------------------------------------------------------
def test_the_migration_keeps_every_row_column_index_and_counter_of_the_tables_it_rebuilds(tmp_path: Path):
    """SQLite cannot drop the one-job-per-round constraint in place: the tables are made again. Whatever earlier
    migrations (of any branch) added to them must survive: here a column and an index of someone else's."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for migration in MIGRATIONS[:OURS]:
        for statement in migration.sqlite:
            assert isinstance(statement, str)
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (?, 'then')", (migration.name,))
    conn.execute("ALTER TABLE jobs ADD COLUMN someone_elses TEXT")
    conn.execute("CREATE INDEX jobs_someone_elses ON jobs (someone_elses) WHERE someone_elses IS NOT NULL")
    at = T0.isoformat()
    for i, account in enumerate(("a", "b", "c"), start=1):
        conn.execute("INSERT INTO jobs (slug, account, network, round, state, post, idem_key, run_at, created_at,"
                     " updated_at, someone_elses) VALUES ('wahl', ?, 'mastodon', 1, 'queued', ?, ?, ?, ?, ?, ?)",
                     (account, json.dumps(post(account, "t").to_dict()),
                      job_key("wahl", account, 1), at, at, at, f"kept {i}"))
        conn.execute("INSERT INTO job_events (job_id, at, to_state, reason) VALUES (?, ?, 'queued', 'enqueued')",
                     (i, at))
    conn.execute("DELETE FROM jobs WHERE id = 3")  # its id must not be handed out again
    conn.close()

    with open_store(path) as migrated:
        assert migrated.is_current()
        jobs = migrated.list_jobs()
        assert [(j.id, j.account, j.kind, j.sequence, j.parent_id) for j in jobs] == [
            (1, "a", JobKind.POST, 0, None), (2, "b", JobKind.POST, 0, None)]
        assert [e.reason for e in migrated.events(1)] == ["enqueued"]
        answer = migrated.insert_answer(jobs[0], JobKind.EDIT, 1, post("a", "neu"), now=T0)
        assert answer is not None and answer.id == 4 and answer.round == 1
        assert migrated.insert_answer(jobs[0], JobKind.EDIT, 1, post("a", "neu"), now=T0) is None
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT someone_elses FROM jobs ORDER BY id").fetchall() == [("kept 1",), ("kept 2",), (None,)]
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}
    assert {"jobs_someone_elses", "jobs_state_run_at", "jobs_account_run_at", "job_events_job",
            "jobs_delivery"} <= indexes
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert not [r for r in conn.execute("SELECT name FROM sqlite_master") if "rebuilt" in r[0]]
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("DELETE FROM jobs WHERE id = 2")  # the events still belong to their job
    assert conn.execute("SELECT COUNT(*) FROM job_events WHERE job_id = 2").fetchone() == (0,)


def test_an_edit_and_a_reply_share_their_posts_round_each_once(store: Store):
    [original] = enqueue(store, "wahl", [post("a")], now=T0).added
    edit = store.insert_answer(original, JobKind.EDIT, 1, post("a", "korrigiert"), now=T0,
                               revision=post("a", "korrigiert"))
    reply = store.insert_answer(original, JobKind.REPLY, 1, post("a", "Korrektur"), now=T0)
    assert edit is not None and reply is not None
    assert (edit.round, edit.kind, edit.parent_id, edit.sequence, edit.state) == (1, JobKind.EDIT, original.id, 1,
                                                                                 S.QUEUED)
    assert edit.revision == post("a", "korrigiert") and reply.revision is None
    assert len({original.key, edit.key, reply.key}) == 3 and original.key == job_key("wahl", "a", 1)
    assert store.insert_answer(original, JobKind.REPLY, 1, post("a", "anders"), now=T0) is None  # taken
    assert store.get(edit.id) == edit
    assert [e.reason for e in store.events(reply.id)] == ["reply queued"]
    # publish (without --repost) still sees one job per account: the post
    again = enqueue(store, "wahl", [post("a")], now=T0)
    assert again.added == () and [j.id for j in again.existing] == [original.id]


# --- the worker -------------------------------------------------------------------------------------------
def test_the_worker_edits_and_replies_by_kind(store: Store, server: KeyedPostServer, clock: Clock):
    original = published(store, server, clock)
    edit = store.insert_answer(original, JobKind.EDIT, 1, post("a", "wahl für a, korrigiert"), now=clock())
    reply = store.insert_answer(original, JobKind.REPLY, 1, post("a", "Korrektur: wahl"), now=clock())
    assert edit is not None and reply is not None
    with worker(store, server, clock) as w:
        assert sorted(o.state for o in w.run_once()) == [S.PUBLISHED, S.PUBLISHED]
    made = server.by_id[original.remote_id or ""]
    assert made["text"] == "wahl für a, korrigiert" and made["history"] == ["wahl für a"]
    assert store.get(edit.id).remote_id == original.remote_id
    answer = server.by_id[store.get(reply.id).remote_id or ""]
    assert answer["in_reply_to"] == original.remote_id and answer["text"] == "Korrektur: wahl"
    assert len(server.created) == 2  # the post and the reply; the edit made nothing new


def test_a_reply_waits_for_its_parent_and_fails_with_it(store: Store, server: KeyedPostServer, clock: Clock):
    original = published(store, server, clock)
    first = store.insert_answer(original, JobKind.REPLY, 1, post("a", "eins"), now=clock())
    assert first is not None
    second = store.insert_answer(first, JobKind.REPLY, 2, post("a", "zwei"), now=clock())
    assert second is not None
    server.fail_next(503, {"error": "busy"}, method="POST")  # the first is certainly not sent: queued again
    with worker(store, server, clock) as w:
        outcomes = {o.job_id: o for o in w.run_once()}
        assert outcomes[first.id].state is S.QUEUED and outcomes[second.id].state is S.QUEUED
        assert f"waits for job {first.id}" in outcomes[second.id].detail
        assert store.get(second.id).attempts == 0  # waiting spends no attempt
        clock.advance(10)  # both due: the first goes out; the second, claimed with it, waits once more
        assert {o.job_id: o.state for o in w.run_once()} == {first.id: S.PUBLISHED, second.id: S.QUEUED}
        clock.advance(10)
        assert [o.state for o in w.run_once()] == [S.PUBLISHED]
    assert server.by_id[store.get(second.id).remote_id or ""]["in_reply_to"] == store.get(first.id).remote_id

    third = store.insert_answer(store.get(second.id), JobKind.REPLY, 3, post("a", "drei"), now=clock())
    fourth = store.insert_answer(store.get(second.id), JobKind.REPLY, 4, post("a", "vier"), now=clock())
    assert third is not None and fourth is not None
    fifth = store.insert_answer(third, JobKind.REPLY, 5, post("a", "fünf"), now=clock())
    assert fifth is not None
    store.transition(third.id, S.QUEUED, S.CANCELED, now=clock(), reason="by hand")
    with worker(store, server, clock) as w:
        outcomes = {o.job_id: o for o in w.run_once()}
    assert outcomes[fifth.id].state is S.FAILED and f"job {third.id}, which it answers, is canceled" in \
        outcomes[fifth.id].detail
    assert outcomes[fourth.id].state is S.PUBLISHED


def test_lost_answers_to_an_edit_and_a_reply_are_settled_by_looking(store: Store, server: KeyedPostServer,
                                                                   clock: Clock):
    original = published(store, server, clock)
    edit = store.insert_answer(original, JobKind.EDIT, 1, post("a", "korrigiert"), now=clock())
    reply = store.insert_answer(original, JobKind.REPLY, 1, post("a", "Korrektur"), now=clock())
    assert edit is not None and reply is not None
    server.drop_next(method="PUT", after=True)
    server.drop_next(method="POST", after=True)
    with worker(store, server, clock) as w:
        assert sorted(o.state for o in w.run_once()) == [S.UNKNOWN, S.UNKNOWN]
        clock.advance(10)
        outcomes = w.run_once()
    assert sorted(o.state for o in outcomes) == [S.PUBLISHED, S.PUBLISHED]
    assert {o.detail for o in outcomes} == {"check found the post"}
    assert server.by_id[original.remote_id or ""]["history"] == ["wahl für a"]
    assert len(server.created) == 2 and server.repeats == 0  # found: nothing was sent again


class Refusing(Adapters):
    """The keyed server's adapters, whose edits the network refuses as impossible."""

    def __call__(self, name: str) -> Any:
        adapter = super().__call__(name)

        def edit(*_: Any) -> Any:
            raise Unsupported("mastodon", "this post cannot be edited", capability="edit")

        adapter.edit = edit  # type: ignore[method-assign]
        return adapter


def test_an_edit_refused_as_impossible_fails_and_says_so_on_the_job(store: Store, server: KeyedPostServer,
                                                                     clock: Clock):
    original = published(store, server, clock)
    edit = store.insert_answer(original, JobKind.EDIT, 1, post("a", "korrigiert"), now=clock())
    assert edit is not None
    with worker(store, server, clock, Refusing(server.url)) as w:
        [outcome] = w.run_once()
    assert outcome.state is S.FAILED and "cannot be edited" in outcome.detail
    assert store.get(edit.id).data[CANNOT_EDIT] == "this post cannot be edited"
    assert server.by_id[original.remote_id or ""]["history"] == []
