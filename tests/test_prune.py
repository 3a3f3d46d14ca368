"""History retention: `queue.prune` (and `sharebot queue prune`) deletes finished jobs and their events older
than a cutoff, in batches, and never a job that is waiting, in flight, in doubt or otherwise not done with;
`[queue] keep_history` has the worker do it once a day on its clock."""

from __future__ import annotations

from collections import deque
from datetime import timedelta
from pathlib import Path

import pytest
import queue_support
from cli_support import sharebot
from conftest import EXAMPLE_CONFIG
from queue_support import T0, Clock, post

from sharebot.config import load_settings
from sharebot.errors import ConfigError, ValidationError
from sharebot.jobs import TRANSITIONS, JobKind, JobState
from sharebot.queue import HistoryRetention, RetryPolicy, prune
from sharebot.storage import open_store
from sharebot.store import Store
from sharebot.worker import Worker

S = JobState
store = queue_support.store  # fixture
store_url = queue_support.store_url  # fixture

OLD = T0 - timedelta(days=200)
NOW = T0
FINISHED = (S.PUBLISHED, S.DELETED, S.CANCELED, S.FAILED)


def route_to(target: JobState) -> list[JobState]:
    """The shortest way from queued to `target` through the transition table (each move logs one event)."""
    routes, todo = {S.QUEUED: [S.QUEUED]}, deque([S.QUEUED])
    while todo:
        state = todo.popleft()
        for nxt in sorted(TRANSITIONS[state]):
            if nxt not in routes:
                routes[nxt] = routes[state] + [nxt]
                todo.append(nxt)
    return routes[target]


def move(store: Store, job_id: int, state: JobState, at) -> int:
    """Take the queued job `job_id` to `state` at `at`."""
    route = route_to(state)
    for current, step in zip(route, route[1:], strict=False):
        if step is S.RUNNING:
            store.claim("w", now=at, lease_until=at + timedelta(minutes=2), limit=1, ids=[job_id])
        else:
            store.transition(job_id, current, step, now=at, reason="setup",
                             owner="w" if current is S.RUNNING else None)
    assert store.get(job_id).state is state
    return job_id


def job_in(store: Store, state: JobState, at, slug: str) -> int:
    """A job that reached `state` at `at` (queued, too, at `at`)."""
    [job] = store.insert_jobs(slug, 1, [post()], now=at, run_at=at)
    return move(store, job.id, state, at)


def a_bit_of_everything(store: Store) -> dict[str, int]:
    """One old and one recent job in every state (all those a person may still have to act on, too)."""
    return {f"{age} {state}": job_in(store, state, at, f"{age}-{state}")
            for age, at in (("old", OLD), ("new", NOW - timedelta(days=2))) for state in S}


def test_prune_deletes_only_old_finished_jobs_with_their_events(store: Store):
    ids = a_bit_of_everything(store)
    report = prune(store, now=NOW, older_than=timedelta(days=90))
    assert report.jobs == {S.PUBLISHED: 1, S.DELETED: 1, S.CANCELED: 1, S.FAILED: 1}
    assert report.events == sum(len(route_to(s)) for s in FINISHED)  # "enqueued", then one per move
    assert report.before == NOW - timedelta(days=90) and not report.dry_run and not report.more
    left = {job.id for job in store.list_jobs()}
    gone = {ids[f"old {s}"] for s in FINISHED}
    assert left == set(ids.values()) - gone
    assert all(store.events(i) == [] for i in gone)
    assert all(store.events(i) for i in left)  # the others keep their history


def test_a_dry_run_counts_the_same_and_deletes_nothing(store: Store):
    a_bit_of_everything(store)
    before = store.counts()
    dry = prune(store, now=NOW, older_than=timedelta(days=90), dry_run=True)
    assert store.counts() == before
    real = prune(store, now=NOW, older_than=timedelta(days=90))
    assert (dry.jobs, dry.events, dry.dry_run) == (real.jobs, real.events, True)


def test_prune_works_in_batches_and_can_stop_after_some(store: Store):
    for i in range(7):
        job_in(store, S.PUBLISHED if i % 2 else S.FAILED, OLD + timedelta(minutes=i), f"s{i}")
    first = prune(store, now=NOW, older_than=timedelta(days=90), batch=2, max_batches=1)  # 2 of each state
    assert first.more and first.jobs[S.PUBLISHED] == 2 and first.jobs[S.FAILED] == 2
    rest = prune(store, now=NOW, older_than=timedelta(days=90), batch=2)
    assert not rest.more and sum(rest.jobs.values()) == 3
    assert store.list_jobs() == []


def answer_in(store: Store, parent: int, state: JobState, at, kind: JobKind = JobKind.REPLY) -> int:
    """An edit or reply of job `parent` that reached `state` (by the same route as a post) at `at`."""
    answer = store.insert_answer(store.get(parent), kind, 1, post(text="Nachtrag"), now=at)
    assert answer is not None
    return move(store, answer.id, state, at)


def test_a_job_goes_with_its_answers_and_stays_while_one_of_them_does(store: Store):
    done = job_in(store, S.PUBLISHED, OLD, "done")
    edit = answer_in(store, done, S.PUBLISHED, OLD + timedelta(hours=1), JobKind.EDIT)
    reply = answer_in(store, edit, S.PUBLISHED, OLD + timedelta(hours=2))  # a thread: a reply to the edit
    waiting = job_in(store, S.PUBLISHED, OLD, "waiting")
    answer_in(store, waiting, S.QUEUED, OLD + timedelta(hours=1))  # a reply still to go out
    dry = prune(store, now=NOW, older_than=timedelta(days=90), dry_run=True)
    report = prune(store, now=NOW, older_than=timedelta(days=90))
    assert report.jobs[S.PUBLISHED] == dry.jobs[S.PUBLISHED] == 3 and report.events == dry.events
    left = {job.id for job in store.list_jobs()}
    assert waiting in left and not left & {done, edit, reply}


def test_prune_keeps_at_least_a_day():
    with pytest.raises(ValidationError, match="at least 1 day"):
        prune(open_store(":memory:"), now=NOW, older_than=timedelta(hours=23))


def test_the_worker_prunes_when_it_starts_and_then_once_a_day(store: Store):
    for i in range(3):
        job_in(store, S.PUBLISHED, OLD + timedelta(minutes=i), f"s{i}")
    clock = Clock(NOW)
    retention = HistoryRetention(store, timedelta(days=90), batch=2)
    with Worker(store, lambda name: None, owner="w", clock=clock, policy=RetryPolicy(),  # type: ignore[arg-type]
                housekeeping=retention) as worker:
        worker.run_once()  # one batch per round while there is more, so posting is never held up for long
        assert len(store.list_jobs()) == 1
        worker.run_once()
        assert store.list_jobs() == []
        job_in(store, S.PUBLISHED, NOW - timedelta(days=90, minutes=1), "late")
        clock.now = NOW + timedelta(hours=23)
        worker.run_once()
        assert len(store.list_jobs()) == 1  # not yet a day since the last prune
        clock.now = NOW + timedelta(days=1)
        worker.run_once()
        assert store.list_jobs() == []


def test_keep_history_is_read_and_checked_with_the_config(tmp_path: Path):
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    config = tmp_path / "sharebot.toml"
    for keep, error in (('"90d"', None), ('"12h"', "at least 1d"), ('"soon"', "keep_history")):
        config.write_text(text.replace("[queue]", f"[queue]\nkeep_history = {keep}", 1), encoding="utf-8")
        if error:
            with pytest.raises(ConfigError, match=error):
                load_settings(config, {}, dotenv_path=tmp_path / "none.env")
            continue
        settings = load_settings(config, {}, dotenv_path=tmp_path / "none.env")
        retention = retention_for(settings)
        assert retention is not None and retention.keep == timedelta(days=90)


def retention_for(settings):
    from sharebot import app

    with open_store(":memory:") as s:
        return app.history_retention(settings, s)


def test_sharebot_queue_prune(tmp_path: Path):
    db = tmp_path / "queue.db"
    with open_store(db) as s:
        a_bit_of_everything(s)
    env = {"SHAREBOT_DATABASE_URL": str(db)}
    args = ("--config", str(EXAMPLE_CONFIG), "queue", "prune", "--older-than")
    dry = sharebot(*args, "90d", "--dry-run", env=env, now=NOW)
    assert dry.exit_code == 0, dry.output
    assert dry.stdout == ("would delete 4 finished job(s) (1 published, 1 deleted, 1 canceled, 1 failed) and 12 "
                          "event(s), last changed before 2025-12-01 10:00:00 CET\n")  # the site's zone
    done = sharebot(*args, "90d", env=env, now=NOW)
    assert done.stdout.startswith("deleted 4 finished job(s)")
    assert sharebot(*args, "90d", env=env, now=NOW).stdout.startswith("deleted 0 finished job(s) and 0 event(s)")
    assert sharebot(*args, "ninety", env=env, now=NOW).exit_code == 2
    short = sharebot(*args, "2h", env=env, now=NOW)
    assert short.exit_code == 1 and "at least 1 day" in short.stderr


def test_prune_never_takes_a_state_that_is_not_finished(store: Store):
    for state in (S.QUEUED, S.RUNNING, S.UNKNOWN):
        with pytest.raises(ValueError, match="never pruned"):
            store.prune_finished(state, before=NOW, limit=10)
