"""The worker against a local keyed-post server over real HTTP, on both store backends."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
import queue_support
from fakes.base import Request
from queue_support import T0, TOKEN, Adapters, Clock, KeyedPostServer, post

from sharebot import app
from sharebot.adapters.base import AccountStatus
from sharebot.handoff import Listener
from sharebot.jobs import JobState
from sharebot.queue import RetryPolicy, enqueue, record_check
from sharebot.storage import open_store
from sharebot.store import Store
from sharebot.worker import Worker, first_done

S = JobState

store = queue_support.store  # fixture
store_url = queue_support.store_url  # fixture


@pytest.fixture
def server() -> Iterator[KeyedPostServer]:
    s = KeyedPostServer().start()
    yield s
    # FakeAPI.stop waits out serve_forever's 0.5 s poll; let that happen off the test's clock.
    threading.Thread(target=s.stop, daemon=True).start()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_worker(store: Store, server: KeyedPostServer, clock: Clock, **kw) -> Worker:
    adapters = kw.pop("adapters", None) or Adapters(server.url)
    policy = kw.pop("policy", None) or RetryPolicy(base=10, cap=100, max_attempts=3, jitter="none")
    return Worker(store, adapters, owner=kw.pop("owner", "w1"), clock=clock, policy=policy, **kw)


def test_due_jobs_are_posted_once_with_their_key(store, server, clock):
    jobs = enqueue(store, "wahl", [post("a"), post("b"), post("c")], now=clock()).added
    with make_worker(store, server, clock) as worker:
        outcomes = worker.run_once()
        assert sorted(o.state for o in outcomes) == [S.PUBLISHED] * 3
        assert worker.run_once() == []
    assert set(server.posts) == {j.key for j in jobs}
    for job in store.list_jobs():
        assert (
            job.remote_url == server.posts[job.key]["url"] and job.attempts == 1 and job.lease_owner is None
        )
        assert [e.to_state for e in store.events(job.id)] == [S.QUEUED, S.RUNNING, S.PUBLISHED]


def test_scheduled_job_waits_for_its_time(store, server, clock):
    enqueue(store, "a", [post()], now=clock(), run_at=clock() + timedelta(minutes=5))
    with make_worker(store, server, clock) as worker:
        assert worker.run_once() == []
        clock.advance(300)
        assert [o.state for o in worker.run_once()] == [S.PUBLISHED]


def test_rate_limit_requeues_after_retry_after(store, server, clock):
    [job] = enqueue(store, "a", [post()], now=clock()).added
    server.fail_next(429, {"error": "slow down"}, {"Retry-After": "90"}, method="POST")
    with make_worker(store, server, clock) as worker:
        [out] = worker.run_once()
        assert out.state is S.QUEUED and "slow down" in out.detail
        assert store.get(job.id).run_at == clock() + timedelta(seconds=90)
        clock.advance(89)
        assert worker.run_once() == []
        clock.advance(1)
        assert [o.state for o in worker.run_once()] == [S.PUBLISHED]


def test_rate_limits_do_not_use_up_the_attempts(store, server, clock):
    [job] = enqueue(store, "a", [post()], now=clock()).added  # max_attempts is 3 in make_worker
    with make_worker(store, server, clock) as worker:
        for _ in range(5):
            server.fail_next(429, {"error": "slow down"}, {"Retry-After": "60"}, method="POST")
            assert [o.state for o in worker.run_once()] == [S.QUEUED]
            assert store.get(job.id).attempts == 0
            clock.advance(60)
        assert [o.state for o in worker.run_once()] == [S.PUBLISHED]


def test_not_sent_backs_off_then_fails_when_attempts_are_used_up(store, server, clock):
    [job] = enqueue(store, "a", [post()], now=clock()).added
    for _ in range(2):
        server.fail_next(503, {"error": "busy"}, method="POST")
    policy = RetryPolicy(base=10, cap=100, max_attempts=2, jitter="none")
    with make_worker(store, server, clock, policy=policy) as worker:
        assert [o.state for o in worker.run_once()] == [S.QUEUED]
        assert store.get(job.id).run_at == clock() + timedelta(seconds=10)
        clock.advance(10)
        [out] = worker.run_once()
    assert out.state is S.FAILED
    assert store.get(job.id).last_error == "gave up after 2 attempts: mastodon: HTTP 503: busy"
    assert server.posts == {}


def test_rejected_fails_with_the_adapter_message(store, server, clock):
    [job] = enqueue(store, "a", [post()], now=clock()).added
    server.fail_next(422, {"error": "Validation failed: Text too long"}, method="POST")
    with make_worker(store, server, clock) as worker:
        assert [o.state for o in worker.run_once()] == [S.FAILED]
    assert store.get(job.id).last_error == "mastodon: HTTP 422: Validation failed: Text too long"


def test_auth_error_fails_and_flags_the_account_without_leaking_the_token(store, server, clock, caplog):
    caplog.set_level(logging.INFO, logger="sharebot.worker")
    enqueue(store, "one", [post("bad"), post("good")], now=clock())
    enqueue(store, "two", [post("bad"), post("good")], now=clock())
    adapters = Adapters(server.url, tokens={"bad": "revoked-token-0123456789abcdef"})
    with make_worker(store, server, clock, adapters=adapters, concurrency=1) as worker:
        [first] = worker.run_once()
        assert (first.account, first.state) == ("bad", S.FAILED)
        assert set(store.flagged_accounts()) == {"bad"}
        assert worker.run(burst=True) == 2  # the good account's two jobs; "two"/"bad" is held back
        assert {(j.slug, j.account): j.state for j in store.list_jobs()} == {
            ("one", "bad"): S.FAILED,
            ("one", "good"): S.PUBLISHED,
            ("two", "bad"): S.QUEUED,
            ("two", "good"): S.PUBLISHED,
        }
        adapters.tokens["bad"] = TOKEN
        adapters.cache.clear()
        record_check(store, AccountStatus("bad", "ok"), clock())
        assert [o.state for o in worker.run_once()] == [S.PUBLISHED]
    stored = [j.last_error or "" for j in store.list_jobs()] + list(store.flagged_accounts().values())
    stored += [e.reason for j in store.list_jobs() for e in store.events(j.id)]
    stored += [r.getMessage() for r in caplog.records]
    assert any("re…ef" in s for s in stored)
    assert not any("revoked-token-0123456789abcdef" in s or TOKEN in s for s in stored)


def test_missing_credentials_fail_and_flag(store, server, clock):
    enqueue(store, "a", [post("nokey")], now=clock())
    with make_worker(store, server, clock, adapters=Adapters(server.url, tokens={"nokey": ""})) as worker:
        [out] = worker.run_once()
    assert out.state is S.FAILED and "TEST_TOKEN" in out.detail
    assert "nokey" in store.flagged_accounts()


def test_dropped_answer_becomes_unknown_and_the_check_finds_the_post(store, server, clock):
    [job] = enqueue(store, "a", [post()], now=clock()).added
    server.drop_next(method="POST", after=True)  # the post is made, the answer never arrives
    with make_worker(store, server, clock) as worker:
        assert [o.state for o in worker.run_once()] == [S.UNKNOWN]
        assert worker.run_once() == []  # first check waits policy.base seconds
        clock.advance(10)
        [out] = worker.run_once()
    assert out.state is S.PUBLISHED and out.detail == "check found the post"
    assert len(server.created) == 1 and store.get(job.id).remote_id == server.created[0][0]
    assert [e.to_state for e in store.events(job.id)] == [S.QUEUED, S.RUNNING, S.UNKNOWN, S.PUBLISHED]


def test_unknown_not_found_is_sent_again(store, server, clock):
    [job] = enqueue(store, "a", [post()], now=clock()).added
    server.drop_next(method="POST")  # dropped before the server made the post
    with make_worker(store, server, clock) as worker:
        worker.run_once()
        clock.advance(10)
        assert [o.state for o in worker.run_once()] == [S.QUEUED]
        assert [o.state for o in worker.run_once()] == [S.PUBLISHED]
    assert len(server.created) == 1 and store.get(job.id).attempts == 2


def test_unknown_not_found_with_the_attempts_used_up_fails_instead_of_sending_again(store, server, clock):
    [job] = enqueue(store, "a", [post()], now=clock()).added
    server.drop_next(method="POST")  # no answer, and no post made
    policy = RetryPolicy(base=10, cap=100, max_attempts=1, jitter="none")
    with make_worker(store, server, clock, policy=policy) as worker:
        assert [o.state for o in worker.run_once()] == [S.UNKNOWN]
        clock.advance(10)
        [out] = worker.run_once()
        assert out.state is S.FAILED and out.detail.startswith("gave up after 1 attempts: no answer")
        clock.advance(1000)
        assert worker.run_once() == []
    assert server.created == [] and store.get(job.id).lease_owner is None
    assert [e.to_state for e in store.events(job.id)] == [S.QUEUED, S.RUNNING, S.UNKNOWN, S.FAILED]


def test_failed_check_keeps_the_job_unknown_with_the_reason(store, server, clock):
    [job] = enqueue(store, "a", [post()], now=clock()).added
    server.drop_next(method="POST", after=True)
    server.fail_next(500, {"error": "lookup down"}, method="GET")
    with make_worker(store, server, clock) as worker:
        worker.run_once()
        clock.advance(10)
        [out] = worker.run_once()
        assert out.state is S.UNKNOWN
        assert store.get(job.id).last_error == "check failed: mastodon: HTTP 500: lookup down"
        assert store.get(job.id).run_at > clock()
        clock.advance(100)
        assert [o.state for o in worker.run_once()] == [S.PUBLISHED]
    assert len(server.created) == 1


def test_garbled_answer_is_unknown_not_failed(store, server, clock):
    enqueue(store, "a", [post()], now=clock())
    server.fail_next(200, "<html>proxy error</html>", method="POST", after=True)
    with make_worker(store, server, clock) as worker:
        [out] = worker.run_once()
        assert out.state is S.UNKNOWN and out.detail.startswith("unexpected JSONDecodeError")
        clock.advance(10)
        assert [o.state for o in worker.run_once()] == [S.PUBLISHED]
    assert len(server.created) == 1


@pytest.mark.parametrize("posted_before_dying", [True, False])
def test_expired_lease_is_settled_by_find(store, server, clock, posted_before_dying):
    [job] = enqueue(store, "a", [post()], now=clock()).added
    store.claim("dead-worker", now=clock(), lease_until=clock() + timedelta(seconds=120), limit=1)
    adapters = Adapters(server.url)
    if posted_before_dying:
        from sharebot.adapters.base import Delivery

        adapters("acct").publish(job.post, Delivery(job.key, clock()))
    with make_worker(store, server, clock, adapters=adapters, lease_seconds=120) as worker:
        assert worker.run_once() == []  # the lease still holds
        clock.advance(121)
        assert worker.run_once() == []  # now unknown; a request the dead worker had in the air may still land
        assert store.get(job.id).state is S.UNKNOWN
        clock.advance(10)  # policy.base later, it is looked for
        first = worker.run_once()
        assert [o.state for o in first] == [S.PUBLISHED if posted_before_dying else S.QUEUED]
        worker.run(burst=True)
    assert len(server.created) == 1 and store.get(job.id).state is S.PUBLISHED
    reasons = [e.reason for e in store.events(job.id)]
    assert "lease of dead-worker expired mid-post" in reasons


def test_a_slow_post_keeps_its_lease_so_no_other_worker_takes_it_for_dead(store, server, clock):
    [job] = enqueue(store, "a", [post()], now=clock()).added
    answer = threading.Event()
    server.hold_posts = lambda: answer.wait(10)
    second = make_worker(store, server, clock, owner="w2")
    seen = []

    def wait(futures, timeout):
        if answer.is_set():
            return first_done(futures, timeout)
        clock.advance(timeout)  # no answer yet: the post stays in flight that long on the clock
        seen.append((clock(), store.get(job.id)))
        assert second.run_once() == []  # w2 finds the lease alive and leaves the post alone
        if clock() >= T0 + timedelta(minutes=10):
            answer.set()
        return set()

    with make_worker(store, server, clock, lease_seconds=120, wait=wait) as first:  # renews every 40 s
        [out] = first.run_once()
    second.close()
    assert out.state is S.PUBLISHED and len(server.created) == 1
    assert [now for now, _ in seen] == [T0 + timedelta(seconds=40 * n) for n in range(1, 16)]
    # renewed each time a third of the lease is gone, so two thirds are always left
    assert all(held.lease_until - now == timedelta(seconds=80) and held.lease_owner == "w1" for now, held in seen)
    assert S.UNKNOWN not in [e.to_state for e in store.events(job.id)]


def test_leases_are_not_renewed_while_the_clock_stands_still(store, server, clock):
    [job] = enqueue(store, "a", [post()], now=clock()).added
    answer = threading.Event()
    server.hold_posts = lambda: answer.wait(10)
    leases = []

    def wait(futures, timeout):
        leases.append((timeout, store.get(job.id).lease_until))
        if len(leases) == 3:
            answer.set()
            return first_done(futures, 10)
        return set()  # woken early: no time passed on the clock

    with make_worker(store, server, clock, lease_seconds=120, wait=wait) as worker:
        assert [o.state for o in worker.run_once()] == [S.PUBLISHED]
    assert leases == [(40.0, T0 + timedelta(seconds=120))] * 3


def test_the_lease_length_comes_from_the_queue_settings(store, server, clock, example_settings):
    [job] = enqueue(store, "a", [post()], now=clock()).added
    queue_raw = {**example_settings.raw.get("queue", {}), "lease_seconds": 45}
    settings = example_settings._replace(raw={**example_settings.raw, "queue": queue_raw})
    leases = []
    server.hold_posts = lambda: leases.append(store.get(job.id).lease_until)
    handled = app.run_worker(settings, store=store, adapters=Adapters(server.url), clock=clock, owner="w",
                             concurrency=1, burst=True, stop=threading.Event())
    assert handled == 1 and leases == [T0 + timedelta(seconds=45)]


def test_prepared_data_is_stored_before_the_first_post_and_reused(store_url, server, clock):
    store, spy_store = open_store(store_url), open_store(store_url)
    seen_at_post_time = []
    original = server._create

    def spy(req: Request, m: re.Match[str]):
        [job] = spy_store.list_jobs()
        seen_at_post_time.append(dict(job.data))
        return original(req, m)

    server.routes.insert(0, ("POST", re.compile("/posts$"), spy))
    [job] = enqueue(store, "a", [post()], now=clock()).added
    server.fail_next(503, {"error": "busy"}, method="POST", after=True)
    with make_worker(
        store, server, clock, adapters=Adapters(server.url, options={"prepare": True})
    ) as worker:
        worker.run_once()
        clock.advance(100)
        worker.run_once()
    expected = {"rkey": job.key[:13]}
    assert seen_at_post_time == [expected, expected]
    assert store.get(job.id).data == expected and server.posts[job.key]["data"] == expected
    store.close()
    spy_store.close()


def test_publish_now_posts_in_parallel_and_skips_taken_jobs(store, server, clock):
    later = clock() + timedelta(days=1)  # publish_now does not wait for run_at
    jobs = enqueue(store, "a", [post(f"acct{i}") for i in range(4)], now=clock(), run_at=later).added
    store.transition(jobs[3].id, S.QUEUED, S.CANCELED, now=clock(), reason="t")
    all_three_in_flight = threading.Barrier(3, timeout=10)  # posted one after another, it would break
    server.hold_posts = all_three_in_flight.wait
    with make_worker(store, server, clock, concurrency=4) as worker:
        outcomes = worker.publish_now(jobs)
    assert sorted(o.state for o in outcomes) == sorted([S.PUBLISHED] * 3 + [S.CANCELED])
    assert not all_three_in_flight.broken


def test_publish_now_says_why_it_did_not_take_a_job(store, server, clock):
    jobs = enqueue(store, "a", [post(f"acct{i}") for i in range(3)], now=clock()).added
    [held] = store.claim("worker@elsewhere", now=clock(), lease_until=clock() + timedelta(minutes=2), limit=1,
                         ids=[jobs[0].id])
    store.transition(jobs[1].id, S.QUEUED, S.CANCELED, now=clock(), reason="canceled by hand")
    store.flag_account("acct2", "token rejected", now=clock())
    with make_worker(store, server, clock) as worker:
        said = {o.job_id: (o.state, o.detail) for o in worker.publish_now(jobs)}
    assert said == {held.id: (S.RUNNING, "being posted by worker@elsewhere"),
                    jobs[1].id: (S.CANCELED, "not posted now: canceled meanwhile"),
                    jobs[2].id: (S.QUEUED, "not posted now: its account is flagged")}


def test_one_log_line_per_transition(store, server, clock, caplog):
    caplog.set_level(logging.INFO, logger="sharebot.worker")
    enqueue(store, "a", [post("x"), post("y")], now=clock())
    with make_worker(store, server, clock) as worker:
        worker.run_once()
    lines = [r.getMessage() for r in caplog.records if r.name == "sharebot.worker"]
    assert len(lines) == 4
    assert (
        sum("queued -> running" in m for m in lines) == 2
        and sum("running -> published" in m for m in lines) == 2
    )


def test_run_stops_when_told_and_burst_drains(store, server, clock):
    enqueue(store, "a", [post(f"a{i}") for i in range(6)], now=clock())
    stop = threading.Event()
    stop.set()
    with make_worker(store, server, clock, concurrency=2) as worker:
        assert worker.run(burst=False, stop=stop) == 0
        assert worker.run(burst=True) == 6
    assert store.counts() == {S.PUBLISHED: 6}


class ListenerOnTheClock(Listener):
    """A listening worker's wake-up that no one rings: each wait passes its time on the test's clock."""

    poll_seconds = 5.0

    def __init__(self, clock: Clock, stop: threading.Event, waits: int = 1_000) -> None:
        super().__init__()
        self.clock, self.stop, self.waits = clock, stop, waits

    def wait(self, timeout: float) -> bool:
        self.clock.advance(timeout)
        self.waits -= 1
        if self.waits <= 0:
            self.stop.set()
        return False

    def answer(self, *, settled=(), refused=()) -> None:
        self.refused = [*getattr(self, "refused", []), *refused]

    def hand(self, ids: list[int]) -> None:
        self._hand(ids)


def test_a_listening_worker_wakes_when_the_next_job_is_due_not_at_its_next_poll(store, server, clock):
    [job] = enqueue(store, "a", [post()], now=clock(), run_at=clock() + timedelta(seconds=2)).added
    stop = threading.Event()
    with make_worker(store, server, clock, handoffs=ListenerOnTheClock(clock, stop),
                     on_outcome=lambda outcome: stop.set()) as worker:
        assert worker.run(stop=stop) == 1
    [claimed] = [e.at for e in store.events(job.id) if e.to_state is S.RUNNING]
    assert claimed <= T0 + timedelta(seconds=2.5)  # waits are 0.5 s steps; the poll alone would be at 5 s


@pytest.mark.parametrize("held", ["flagged", "no credentials here"])
def test_an_overdue_job_the_worker_cannot_claim_does_not_hide_the_next_one_due(store, server, clock, held):
    enqueue(store, "x", [post("held")], now=clock())  # overdue, and this worker cannot take it
    if held == "flagged":
        store.flag_account("held", "token rejected", now=clock())
    [job] = enqueue(store, "a", [post("ok")], now=clock(), run_at=clock() + timedelta(seconds=2)).added
    stop = threading.Event()
    with make_worker(store, server, clock, handoffs=ListenerOnTheClock(clock, stop),
                     unpostable={"held": "left by w1: X not set there"},
                     on_outcome=lambda outcome: stop.set()) as worker:
        assert worker.run(stop=stop) == 1
    [claimed] = [e.at for e in store.events(job.id) if e.to_state is S.RUNNING]
    assert claimed <= T0 + timedelta(seconds=2.5)


def test_a_handed_id_that_is_no_job_is_refused_not_fatal(store, server, clock):
    stop = threading.Event()
    listener = ListenerOnTheClock(clock, stop, waits=4)
    listener.hand([987654])
    with make_worker(store, server, clock, handoffs=listener,
                     unpostable={"nocreds": "left by w1: X not set there"}) as worker:
        assert worker.run(stop=stop) == 0
    assert listener.refused == [987654]


def test_an_overdue_job_the_worker_cannot_claim_does_not_keep_it_awake(store, server, clock):
    enqueue(store, "a", [post("acct")], now=clock())
    store.flag_account("acct", "token rejected", now=clock())
    stop = threading.Event()
    looks: list[object] = []
    with make_worker(store, server, clock, handoffs=ListenerOnTheClock(clock, stop, waits=40),
                     housekeeping=looks.append) as worker:
        assert worker.run(stop=stop) == 0
    assert clock() == T0 + timedelta(seconds=20) and len(looks) == 4  # one look at the queue per 5 s poll


def test_jobs_of_an_account_the_worker_has_no_credentials_for_are_left_to_others(store, server, clock):
    [handed] = enqueue(store, "a", [post("acct")], now=clock()).added
    [scheduled] = enqueue(store, "b", [post("acct")], now=clock()).added
    [other] = enqueue(store, "c", [post("other")], now=clock()).added
    stop = threading.Event()
    listener = ListenerOnTheClock(clock, stop, waits=2 * 300)  # ten minutes on the clock
    listener.hand([handed.id])
    with make_worker(store, server, clock, handoffs=listener,
                     unpostable={"acct": "left by w1: SHAREBOT_X not set there"}) as worker:
        assert worker.run(stop=stop) == 1  # the other account's job only
    assert listener.refused == [handed.id]  # `publish` posts it itself
    assert {j.id: j.state for j in store.list_jobs()} == {handed.id: S.QUEUED, scheduled.id: S.QUEUED,
                                                          other.id: S.PUBLISHED}
    assert store.account_flags() == {}  # nothing failed, nothing flagged: another worker may have them
    assert store.due_counts(["acct", "other", "nobody"], clock()) == {"acct": 2}
    # each waiting job says why (`status`, `queue`), and the mark is written once, not at every poll
    assert {j.last_error for j in store.list_jobs(account="acct")} == {"left by w1: SHAREBOT_X not set there"}
    assert store.note_waiting({"acct": "left by w1: SHAREBOT_X not set there"}, now=clock()) == 0
    with make_worker(store, server, clock) as worker:  # a worker that has them
        assert worker.run(burst=True) == 2
    assert {(j.state, j.last_error) for j in store.list_jobs(account="acct")} == {(S.PUBLISHED, None)}


def test_the_worker_report_says_how_its_jobs_ended(store, server, clock, example_settings):
    from sharebot.exits import Exit

    enqueue(store, "a", [post("ok"), post("lost")], now=clock())
    server.drop_next(method="POST", after=True)  # one answer is lost: in doubt
    reports = []
    handled = app.run_worker(example_settings, store=store, adapters=Adapters(server.url), clock=clock, owner="w",
                             concurrency=1, burst=True, stop=threading.Event(), on_done=reports.append)
    [report] = reports
    assert handled == 2 and report.states == {S.PUBLISHED: 1, S.UNKNOWN: 1} and report.exit is Exit.UNSETTLED
    enqueue(store, "b", [post("refused")], now=clock())
    server.fail_next(422, {"error": "Validation failed"}, method="POST")
    app.run_worker(example_settings, store=store, adapters=Adapters(server.url), clock=clock, owner="w",
                   concurrency=1, burst=True, stop=threading.Event(), on_done=reports.append)
    assert reports[-1].states == {S.FAILED: 1} and reports[-1].exit is Exit.FAILED
