"""The state table, the retry policy and the queue operations the CLI calls."""

from __future__ import annotations

import random
from collections import deque
from datetime import timedelta

import pytest
import queue_support
from queue_support import T0, Adapters, KeyedPostServer, post

from sharebot import jobs, queue
from sharebot.errors import JobStateError, NotFound, Rejected, ValidationError
from sharebot.jobs import TRANSITIONS, JobState, job_key
from sharebot.models import Issue, Severity
from sharebot.queue import RetryPolicy, cancel, enqueue, reschedule, retry
from sharebot.store import Store

S = JobState
PAIRS = [(a, b) for a in S for b in S]

store = queue_support.store  # fixture
store_url = queue_support.store_url  # fixture


def _path_to(target: JobState) -> list[JobState]:
    """The shortest route from queued to `target` through the table."""
    seen, todo = {S.QUEUED: [S.QUEUED]}, deque([S.QUEUED])
    while todo:
        state = todo.popleft()
        for nxt in sorted(TRANSITIONS[state]):
            if nxt not in seen:
                seen[nxt] = seen[state] + [nxt]
                todo.append(nxt)
    return seen[target]


def test_every_state_is_reachable_and_deleted_is_final():
    assert all(_path_to(s)[-1] is s for s in S)
    assert jobs.TERMINAL == {S.DELETED}


@pytest.mark.parametrize("from_state,to_state", PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_transition_table_is_enforced(store: Store, from_state, to_state):
    [job] = store.insert_jobs("a", 1, [post()], now=T0, run_at=T0)
    route = _path_to(from_state)
    for a, b in zip(route, route[1:], strict=False):
        store.transition(job.id, a, b, now=T0, reason="setup")
    before = store.events(job.id)
    later = T0 + timedelta(seconds=1)
    if to_state in TRANSITIONS[from_state]:
        done = store.transition(job.id, from_state, to_state, now=later, reason="under test")
        assert done.state is to_state and done.updated_at == later
        last = store.events(job.id)[-1]
        assert (last.from_state, last.to_state, last.reason, last.at) == (
            from_state,
            to_state,
            "under test",
            later,
        )
    else:
        with pytest.raises(JobStateError, match=f"cannot go from {from_state} to {to_state}"):
            store.transition(job.id, from_state, to_state, now=later, reason="under test")
        assert store.get(job.id).state is from_state
        assert store.events(job.id) == before


def test_full_jitter_schedule_is_deterministic_and_capped():
    a = RetryPolicy(base=10, cap=100, rng=random.Random(7))
    b = RetryPolicy(base=10, cap=100, rng=random.Random(7))
    schedule = [a.delay(n) for n in range(1, 9)]
    assert schedule == [b.delay(n) for n in range(1, 9)]
    for n, d in enumerate(schedule, start=1):
        assert 0 <= d <= min(100, 10 * 2 ** (n - 1))
    assert max(RetryPolicy(base=10, cap=100, rng=random.Random(n)).delay(30) for n in range(200)) <= 100


def test_exponential_without_jitter_doubles_up_to_the_cap():
    p = RetryPolicy(base=2, cap=20, jitter="none")
    assert [p.delay(n) for n in range(1, 7)] == [2, 4, 8, 16, 20, 20]


def test_decorrelated_jitter_grows_from_the_previous_wait_and_is_capped():
    p = RetryPolicy(base=5, cap=60, jitter="decorrelated", rng=random.Random(1))
    for previous in (5, 10, 40, 1000):
        for _ in range(50):
            d = p.delay(3, previous=previous)
            assert 5 <= d <= min(60, previous * 3)


def test_retry_after_wins_over_backoff():
    for jitter in ("full", "decorrelated", "none"):
        p = RetryPolicy(base=1, cap=10, jitter=jitter, rng=random.Random(3))
        assert p.delay(1, retry_after=42.5) == 42.5  # longer than the cap: the server knows best
        assert p.delay(4, retry_after=0) == 0


def test_attempt_budget_and_bad_jitter():
    p = RetryPolicy(max_attempts=3)
    assert [p.may_retry(n) for n in (1, 2, 3)] == [True, True, False]
    with pytest.raises(ValueError):
        RetryPolicy(jitter="equal")


def test_enqueue_is_idempotent_per_slug_and_account(store: Store):
    first = enqueue(store, "wahl", [post("x"), post("y")], now=T0)
    assert first.round == 1 and [j.account for j in first.added] == ["x", "y"] and first.existing == ()
    again = enqueue(store, "wahl", [post("x"), post("y"), post("z")], now=T0 + timedelta(hours=1))
    assert again.round == 1
    assert [j.account for j in again.added] == ["z"]
    assert [j.account for j in again.existing] == ["x", "y"]
    assert len(store.list_jobs(slug="wahl")) == 3


def test_enqueue_reports_where_it_already_went(store: Store):
    [job] = enqueue(store, "wahl", [post("x")], now=T0).added
    store.transition(job.id, S.QUEUED, S.RUNNING, now=T0, reason="t")
    store.transition(
        job.id, S.RUNNING, S.PUBLISHED, now=T0, reason="t", remote_id="1", remote_url="https://m/1"
    )
    [existing] = enqueue(store, "wahl", [post("x")], now=T0).existing
    assert (existing.state, existing.remote_url) == (S.PUBLISHED, "https://m/1")


def test_repost_starts_a_new_round_for_all_accounts_with_new_keys(store: Store):
    enqueue(store, "wahl", [post("x"), post("y")], now=T0)
    second = enqueue(store, "wahl", [post("x"), post("y")], now=T0, repost=True)
    assert second.round == 2 and len(second.added) == 2 and second.existing == ()
    assert {j.key for j in second.added} == {job_key("wahl", "x", 2), job_key("wahl", "y", 2)}
    assert job_key("wahl", "x", 1) != job_key("wahl", "x", 2)
    assert enqueue(store, "wahl", [post("x")], now=T0).round == 2


def test_a_repost_of_one_account_opens_no_round_for_the_others(store: Store):
    enqueue(store, "wahl", [post("x"), post("y")], now=T0)
    enqueue(store, "wahl", [post("x")], now=T0, repost=True)  # round 2, for x only
    plain = enqueue(store, "wahl", [post("x"), post("y")], now=T0)
    assert plain.added == ()
    assert {(j.account, j.round) for j in plain.existing} == {("x", 2), ("y", 1)}
    assert len(store.list_jobs(slug="wahl")) == 3


def test_an_unknown_job_cannot_be_canceled_and_then_retried_blind(store: Store):
    [job] = enqueue(store, "wahl", [post("x")], now=T0).added
    store.transition(job.id, S.QUEUED, S.RUNNING, now=T0, reason="t")
    store.transition(job.id, S.RUNNING, S.UNKNOWN, now=T0, reason="read timeout")
    with pytest.raises(JobStateError):
        cancel(store, job.id, T0)
    with pytest.raises(JobStateError, match="resolve"):
        retry(store, job.id, T0)


def test_a_waiting_job_can_be_rescheduled(store: Store):
    [job] = enqueue(store, "wahl", [post("x")], now=T0, run_at=T0 + timedelta(hours=3)).added
    moved = reschedule(store, job, T0, T0, reason="publish --now")
    assert moved.run_at == T0 and moved.state is S.QUEUED
    assert store.events(job.id)[-1].reason == "publish --now"


def test_enqueue_schedules_and_refuses_blocked_posts(store: Store):
    at = T0 + timedelta(hours=3)
    assert enqueue(store, "a", [post("x")], now=T0, run_at=at).added[0].run_at == at
    bad = post("y")._replace(issues=(Issue(Severity.ERROR, "too_long", "over"),))
    with pytest.raises(ValidationError, match="too_long"):
        enqueue(store, "b", [post("x"), bad], now=T0)
    assert store.list_jobs(slug="b") == []


def _job_in(store: Store, state: JobState):
    [job] = store.insert_jobs(f"s{len(store.list_jobs())}", 1, [post()], now=T0, run_at=T0)
    route = _path_to(state)
    for a, b in zip(route, route[1:], strict=False):
        store.transition(job.id, a, b, now=T0, reason="setup", attempts=3)
    return job


def test_retry_requeues_failed_with_a_fresh_budget_but_not_unknown(store: Store):
    job = _job_in(store, S.FAILED)
    later = T0 + timedelta(minutes=1)
    done = queue.retry(store, job.id, later)
    assert (done.state, done.attempts, done.run_at) == (S.QUEUED, 0, later)
    with pytest.raises(JobStateError):
        queue.retry(store, job.id, later)  # queued -> queued is not a transition
    unknown = _job_in(store, S.UNKNOWN)
    with pytest.raises(JobStateError, match="resolve"):
        queue.retry(store, unknown.id, later)


def test_cancel_and_mark_deleted(store: Store):
    job = _job_in(store, S.QUEUED)
    assert queue.cancel(store, job.id, T0).state is S.CANCELED
    assert queue.retry(store, job.id, T0).state is S.QUEUED
    published = _job_in(store, S.PUBLISHED)
    with pytest.raises(JobStateError):
        queue.cancel(store, published.id, T0)
    assert queue.mark_deleted(store, published.id, T0).state is S.DELETED
    with pytest.raises(NotFound):
        queue.cancel(store, 4242, T0)


def test_resolve_settles_unknown_either_way(store: Store):
    posted = _job_in(store, S.UNKNOWN)
    done = queue.resolve(store, posted.id, T0, posted_url="https://m/@a/77")
    # no network id was given: none is invented from the URL (retract would send a URL as an id)
    assert (done.state, done.remote_url, done.remote_id) == (S.PUBLISHED, "https://m/@a/77", None)
    with_id = _job_in(store, S.UNKNOWN)
    assert queue.resolve(store, with_id.id, T0, posted_url="https://m/@a/78", remote_id="78").remote_id == "78"
    with pytest.raises(ValidationError, match="not an http"):
        queue.resolve(store, _job_in(store, S.UNKNOWN).id, T0, posted_url="not a url")
    not_posted = store.insert_jobs("t", 1, [post()], now=T0, run_at=T0)[0]
    store.transition(not_posted.id, S.QUEUED, S.RUNNING, now=T0, reason="t")
    store.transition(not_posted.id, S.RUNNING, S.UNKNOWN, now=T0, reason="t")
    assert queue.resolve(store, not_posted.id, T0, not_posted=True).state is S.QUEUED
    with pytest.raises(JobStateError):
        queue.resolve(store, not_posted.id, T0, not_posted=True)
    with pytest.raises(ValueError):
        queue.resolve(store, not_posted.id, T0)


def test_retract_asks_the_network_first(store: Store):
    job = _job_in(store, S.UNKNOWN)
    queue.resolve(store, job.id, T0, posted_url="https://m/1", remote_id="1")
    with KeyedPostServer() as server:
        adapters = Adapters(server.url)
        with pytest.raises(Rejected):  # the test server offers no delete: the job must stay published
            queue.retract(store, adapters("acct"), job.id, T0)
        adapters.close()
    assert store.get(job.id).state is S.PUBLISHED


def test_queries_and_event_history(store: Store):
    enqueue(store, "a", [post("x"), post("y")], now=T0)
    enqueue(store, "b", [post("x")], now=T0)
    assert [j.slug for j in queue.list_jobs(store, account="x")] == ["a", "b"]
    assert [j.account for j in queue.jobs_for_slug(store, "a")] == ["x", "y"]
    [first] = queue.list_jobs(store, state="queued", limit=1)
    queue.cancel(store, first.id, T0, reason="editor changed their mind")
    assert [(e.to_state, e.reason) for e in queue.job_events(store, first.id)] == [
        (S.QUEUED, "enqueued"),
        (S.CANCELED, "editor changed their mind"),
    ]
    with pytest.raises(NotFound):
        queue.job_events(store, 999)


def test_attention_waits_for_a_person_and_is_settled_either_way(store: Store):
    job = _job_in(store, S.ATTENTION)
    with pytest.raises(JobStateError, match="resolve"):
        cancel(store, job.id, T0)
    with pytest.raises(JobStateError, match="resolve"):
        retry(store, job.id, T0)
    assert queue.resolve(store, job.id, T0, not_posted=True).state is S.QUEUED
    other = _job_in(store, S.ATTENTION)
    done = queue.resolve(store, other.id, T0, posted_url="https://t.me/news/7", remote_id="7")
    assert (done.state, done.remote_id) == (S.PUBLISHED, "7")


def test_a_retracted_job_is_never_sent_again(store: Store):
    failed, unknown = _job_in(store, S.FAILED), _job_in(store, S.UNKNOWN)
    for job in (failed, unknown):
        store.mark_retracted(job.slug, now=T0)
    with pytest.raises(JobStateError, match="--repost"):
        retry(store, failed.id, T0)
    settled = queue.resolve(store, unknown.id, T0, not_posted=True)
    assert settled.state is S.CANCELED and store.events(unknown.id)[-1].reason.endswith("article retracted")


def test_retract_step_follows_the_state():
    A = queue.RetractAction

    def step(state: JobState, network=None, **kw):
        job = jobs.Job(1, "a", "acct", network or post().network, 1, state, post(), "k", 0, T0, T0, T0, **kw)
        return queue.retract_step(job).action

    from sharebot.models import Network

    assert step(S.PUBLISHED, remote_id="9") is A.DELETE and step(S.PUBLISHED, remote_url="https://m/9") is A.BY_HAND
    assert step(S.QUEUED) is A.CANCEL and step(S.FAILED) is A.CANCEL and step(S.RUNNING) is A.WAIT
    assert step(S.UNKNOWN) is A.LOOK and step(S.UNKNOWN, Network.TELEGRAM) is A.BY_HAND
    assert step(S.ATTENTION) is A.BY_HAND and step(S.CANCELED) is A.GONE and step(S.DELETED) is A.GONE
