"""The storage contract, run against SQLite always and PostgreSQL when SHAREBOT_TEST_DATABASE_URL is set."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import queue_support
from queue_support import PG_URL, T0, PgSchema, post

from sharebot.errors import JobStateError, NotFound
from sharebot.jobs import JobEvent, JobKind, JobState, job_key
from sharebot.migrations import MIGRATIONS
from sharebot.models import Card, Facet, Issue, Network, RenderedPost, Severity
from sharebot.queue import enqueue
from sharebot.storage import open_store
from sharebot.store import Store

SUPPORT = Path(__file__).with_name("queue_support.py")
LEASE = timedelta(seconds=60)
SECOND = timedelta(seconds=1)

store = queue_support.store  # fixture
store_url = queue_support.store_url  # fixture


def test_migrations_are_recorded_once_and_reopening_applies_nothing(store_url):
    with open_store(store_url) as first:
        assert first.applied_migrations() == sorted(m.name for m in MIGRATIONS)
    with open_store(store_url) as again:
        assert again.migrate() == []
        assert again.applied_migrations() == sorted(m.name for m in MIGRATIONS)


def test_sqlite_file_is_private_and_in_wal_mode(tmp_path):
    path = tmp_path / "q.db"
    with open_store(path) as s:
        enqueue(s, "a", [post()], now=T0)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with open_store(f"sqlite:///{path}") as s:
        assert len(s.list_jobs()) == 1


def test_memory_store_works(tmp_path):
    with open_store(":memory:") as s:
        assert enqueue(s, "a", [post()], now=T0).added[0].state is JobState.QUEUED


def test_post_snapshot_round_trips_exactly(store: Store):
    text = "Größer 🇩🇪👩🏽‍💻 #Wahl https://example.org/a"
    snap = RenderedPost(
        account="bsky",
        network=Network.BLUESKY,
        text=text,
        length=37,
        limit=300,
        unit="graphemes",
        link="https://example.org/a",
        card=Card("https://example.org/a", "T", "D", "https://i/x.jpg", "alt"),
        language="de",
        facets=(Facet(30, 35, "tag", "Wahl"), Facet(36, 57, "link", "https://example.org/a")),
        share_url=None,
        issues=(Issue(Severity.WARNING, "long", "nearly full"),),
        image="https://i/x.jpg",
        image_alt="Alt",
        options={"visibility": "unlisted", "langs": ["de"]},
    )
    job = store.insert_jobs("wahl", 1, [snap], now=T0, run_at=T0)[0]
    assert store.get(job.id).post == snap
    assert store.get(job.id).post.to_dict() == snap.to_dict()
    assert job.key == job_key("wahl", "bsky", 1) and len(job.key) == 64


def test_insert_skips_existing_slug_account_round(store: Store):
    assert len(store.insert_jobs("a", 1, [post("x"), post("y")], now=T0, run_at=T0)) == 2
    assert [j.account for j in store.insert_jobs("a", 1, [post("x"), post("z")], now=T0, run_at=T0)] == ["z"]
    assert len(store.insert_jobs("a", 2, [post("x")], now=T0, run_at=T0)) == 1
    assert store.latest_round("a") == 2 and store.latest_round("nope") == 0


def test_list_filters_counts_and_not_found(store: Store):
    store.insert_jobs("a", 1, [post("x"), post("y")], now=T0, run_at=T0)
    store.insert_jobs("b", 1, [post("x")], now=T0, run_at=T0)
    assert [j.slug for j in store.list_jobs(account="x")] == ["a", "b"]
    assert [j.account for j in store.list_jobs(slug="a")] == ["x", "y"]
    assert len(store.list_jobs(state=JobState.QUEUED, limit=2)) == 2
    assert store.list_jobs(state=JobState.FAILED) == []
    assert store.counts() == {JobState.QUEUED: 3}
    with pytest.raises(NotFound):
        store.get(999)


def test_claim_takes_due_jobs_in_run_at_order_up_to_the_limit(store: Store):
    store.insert_jobs("late", 1, [post("x")], now=T0, run_at=T0 + timedelta(minutes=5))
    store.insert_jobs("b", 1, [post("x")], now=T0, run_at=T0 + timedelta(seconds=2))
    store.insert_jobs("a", 1, [post("x")], now=T0, run_at=T0 + timedelta(seconds=1))
    now = T0 + timedelta(seconds=10)
    first = store.claim("w", now=now, lease_until=now + LEASE, limit=1)
    assert [j.slug for j in first] == ["a"]
    # A claim spends no attempt (the worker may die before sending); begin_attempt, right before sending, does.
    assert first[0].state is JobState.RUNNING and first[0].attempts == 0
    assert first[0].lease_owner == "w" and first[0].lease_until == now + LEASE
    assert store.begin_attempt(first[0].id, owner="w") == 1
    with pytest.raises(JobStateError):
        store.begin_attempt(first[0].id, owner="someone else")
    assert [j.slug for j in store.claim("w", now=now, lease_until=now + LEASE, limit=5)] == ["b"]
    assert store.claim("w", now=now, lease_until=now + LEASE, limit=5) == []
    ev = store.events(first[0].id)
    assert [(e.from_state, e.to_state) for e in ev] == [
        (None, JobState.QUEUED),
        (JobState.QUEUED, JobState.RUNNING),
    ]


def test_every_job_a_claim_takes_gets_its_event_and_the_rest_none(store: Store):
    jobs = store.insert_jobs("a", 1, [post(f"a{i}") for i in range(5)], now=T0, run_at=T0)
    now = T0 + timedelta(seconds=3)
    claimed = store.claim("w7", now=now, lease_until=now + LEASE, limit=3)
    for job in jobs:
        [enqueued, *rest] = store.events(job.id)
        assert (enqueued.from_state, enqueued.to_state, enqueued.at) == (None, JobState.QUEUED, T0)
        if job.id in {j.id for j in claimed}:
            assert [(e.from_state, e.to_state, e.reason, e.at) for e in rest] == [
                (JobState.QUEUED, JobState.RUNNING, "claimed by w7", now)
            ]
        else:
            assert rest == []
    assert store.claim("w8", now=now, lease_until=now + LEASE, limit=5, ids=[claimed[0].id]) == []
    assert len(store.events(claimed[0].id)) == 2  # a claim that takes nothing logs nothing


def test_flagged_account_is_not_claimed_until_cleared(store: Store):
    store.insert_jobs("a", 1, [post("bad"), post("good")], now=T0, run_at=T0)
    store.flag_account("bad", "token revoked", now=T0)
    assert store.flagged_accounts() == {"bad": "token revoked"}
    assert [j.account for j in store.claim("w", now=T0, lease_until=T0 + LEASE, limit=5)] == ["good"]
    assert store.clear_account_flag("bad") is True
    assert store.clear_account_flag("bad") is False
    assert [j.account for j in store.claim("w", now=T0, lease_until=T0 + LEASE, limit=5)] == ["bad"]


def test_claim_by_ids_ignores_others(store: Store):
    jobs = store.insert_jobs(
        "a", 1, [post("x"), post("y"), post("z")], now=T0, run_at=T0 + timedelta(hours=1)
    )
    got = store.claim("w", now=T0, lease_until=T0 + LEASE, limit=3, ids=[jobs[0].id, jobs[2].id])
    assert sorted(j.account for j in got) == ["x", "z"]


def test_expired_lease_becomes_unknown_and_unknown_jobs_are_leased_for_checks(store: Store):
    store.insert_jobs("a", 1, [post("x")], now=T0, run_at=T0)
    job = store.claim("dead", now=T0, lease_until=T0 + LEASE, limit=1)[0]
    assert store.expire_leases(T0 + LEASE) == []  # not yet: the lease runs until lease_until
    later = T0 + LEASE + timedelta(seconds=1)
    [gone] = store.expire_leases(later, recheck_at=later)
    assert gone.state is JobState.UNKNOWN and gone.lease_owner is None and "dead" in gone.last_error
    assert (gone.updated_at, gone.run_at) == (later, later)
    assert store.expire_leases(later + LEASE) == []
    expiry = store.events(job.id)[-1]
    assert (expiry.from_state, expiry.to_state, expiry.reason, expiry.at) == (
        JobState.RUNNING,
        JobState.UNKNOWN,
        "lease of dead expired mid-post",
        later,
    )
    [checked] = store.claim_unknown("w2", now=later, lease_until=later + LEASE, limit=5)
    assert checked.id == job.id and checked.state is JobState.UNKNOWN and checked.lease_owner == "w2"
    assert store.claim_unknown("w3", now=later, lease_until=later + LEASE, limit=5) == []
    assert store.events(job.id)[-1] == expiry  # leasing a check writes no state, so no event
    done = store.transition(
        job.id,
        JobState.UNKNOWN,
        JobState.PUBLISHED,
        now=later,
        reason="found",
        owner="w2",
        remote_id="9",
        remote_url="https://x/9",
    )
    assert (done.remote_id, done.remote_url, done.lease_owner) == ("9", "https://x/9", None)


def test_expiry_logs_each_lapsed_lease_and_leaves_live_ones(store: Store):
    store.insert_jobs("a", 1, [post("x"), post("y"), post("z")], now=T0, run_at=T0)
    [x] = store.claim("w1", now=T0, lease_until=T0 + timedelta(seconds=10), limit=1)
    [y] = store.claim("w2", now=T0, lease_until=T0 + timedelta(seconds=20), limit=1)
    [z] = store.claim("w3", now=T0, lease_until=T0 + timedelta(seconds=90), limit=1)
    now = T0 + timedelta(seconds=30)
    gone = store.expire_leases(now, recheck_at=now + timedelta(seconds=5))
    assert [(j.id, j.last_error, j.run_at) for j in gone] == [
        (x.id, "lease of w1 expired mid-post", now + timedelta(seconds=5)),
        (y.id, "lease of w2 expired mid-post", now + timedelta(seconds=5)),
    ]
    for job, owner in ((x, "w1"), (y, "w2")):
        last = store.events(job.id)[-1]
        assert (last.from_state, last.to_state, last.reason, last.at) == (
            JobState.RUNNING,
            JobState.UNKNOWN,
            f"lease of {owner} expired mid-post",
            now,
        )
    assert store.get(z.id).state is JobState.RUNNING
    assert [e.to_state for e in store.events(z.id)] == [JobState.QUEUED, JobState.RUNNING]


def test_transition_is_compare_and_set_on_state_and_lease_owner(store_url):
    a, b = open_store(store_url), open_store(store_url)
    try:
        [job] = a.insert_jobs("a", 1, [post("x")], now=T0, run_at=T0)
        a.claim("w1", now=T0, lease_until=T0 + LEASE, limit=1)
        with pytest.raises(JobStateError, match="lease held by w1"):
            b.transition(job.id, JobState.RUNNING, JobState.PUBLISHED, now=T0, reason="x", owner="w2")
        b.transition(job.id, JobState.RUNNING, JobState.QUEUED, now=T0, reason="x", owner="w1")
        with pytest.raises(JobStateError, match="expected running, found queued"):
            a.transition(job.id, JobState.RUNNING, JobState.PUBLISHED, now=T0, reason="late", owner="w1")
        assert [e.reason for e in a.events(job.id)][-1] == "x"
        with pytest.raises(NotFound):
            a.transition(12345, JobState.QUEUED, JobState.CANCELED, now=T0, reason="x")
    finally:
        a.close()
        b.close()


def test_set_data_needs_the_lease(store: Store):
    store.insert_jobs("a", 1, [post("x")], now=T0, run_at=T0)
    [job] = store.claim("w", now=T0, lease_until=T0 + LEASE, limit=1)
    assert store.set_data(job.id, {"rkey": "3k2"}, owner="w").data == {"rkey": "3k2"}
    with pytest.raises(JobStateError):
        store.set_data(job.id, {"rkey": "other"}, owner="intruder")
    assert store.get(job.id).data == {"rkey": "3k2"}


def test_replace_post_is_a_compare_and_set_on_queued(store_url):
    a, b = open_store(store_url), open_store(store_url)
    try:
        [job] = a.insert_jobs("a", 1, [post("x", "Tippfeler")], now=T0, run_at=T0 + LEASE)
        fixed = post("x", "Tippfehler")
        updated = b.replace_post(job.id, fixed, now=T0 + SECOND, reason="post updated: text")
        assert updated is not None and updated.post == fixed == a.get(job.id).post
        assert (updated.state, updated.run_at, updated.key, updated.attempts) == (JobState.QUEUED, T0 + LEASE, job.key, 0)
        assert a.events(job.id)[-1] == JobEvent(job.id, T0 + SECOND, JobState.QUEUED, JobState.QUEUED,
                                                "post updated: text")
        [claimed] = a.claim("w", now=T0 + LEASE, lease_until=T0 + 2 * LEASE, limit=1)
        assert claimed.post == fixed
        # A worker holds it now: a later correction is refused, and what the worker sends stays as stored.
        assert b.replace_post(job.id, post("x", "Zu spät"), now=T0 + LEASE, reason="post updated: text") is None
        assert a.get(job.id).post == fixed and a.get(job.id).state is JobState.RUNNING
        assert [e.to_state for e in a.events(job.id)] == [JobState.QUEUED, JobState.QUEUED, JobState.RUNNING]
    finally:
        a.close()
        b.close()


def test_each_slug_stands_for_one_article(store: Store):
    first, second, third = "https://site.example/politik/x", "https://site.example/sport/x", "https://site.example/x"
    # a look writes nothing
    assert store.article_slug(first, ["x"], source="politik.xml") == ("x", first, "politik.xml")
    assert store.article_slug(second, ["x"], source="sport.xml") == ("x", second, "sport.xml")
    assert store.article_slug(first, ["x"], source="politik.xml", now=T0) == ("x", first, "politik.xml")
    # another article asking for a held slug gets its next choice; an article keeps the slug it got
    assert store.article_slug(second, ["x", "x-2"], source="sport.xml", now=T0) == ("x-2", second, "sport.xml")
    assert store.article_slug(second, ["x"], source="elsewhere", now=T0) == ("x-2", second, "sport.xml")
    assert store.article_slug(first, ["y"], source="elsewhere") == ("x", first, "politik.xml")
    # every choice held: the holder of the first comes back, and nothing is recorded
    assert store.article_slug(third, ["x", "x-2"], source="x.md", now=T0) == ("x", first, "politik.xml")
    assert store.article_slug(third, ["x-2"], source="x.md") == ("x-2", second, "sport.xml")
    assert store.article_slug(third, ["z"], source="x.md") == ("z", third, "x.md")


def test_sqlite_claim_uses_the_state_run_at_index(tmp_path):
    with open_store(tmp_path / "q.db") as s:
        plan = s._conn.execute(  # type: ignore[attr-defined]
            "EXPLAIN QUERY PLAN SELECT id FROM jobs WHERE state = 'queued' AND run_at <= '9'"
            " ORDER BY run_at, id LIMIT 4"
        ).fetchall()
    detail = " ".join(row["detail"] for row in plan)
    assert "jobs_state_run_at" in detail and "TEMP B-TREE" not in detail


def _concurrent_claims(url: str, processes: int, jobs: int) -> list[list[int]]:
    with open_store(url) as s:
        for i in range(jobs // 50):
            s.insert_jobs(f"s{i}", 1, [post(f"a{k}") for k in range(50)], now=T0, run_at=T0)
    procs = [
        subprocess.Popen(
            [sys.executable, str(SUPPORT), "claim", url, f"p{n}", "3"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(processes)
    ]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    claimed = []
    for p in procs:
        out, _ = p.communicate(timeout=60)
        assert p.returncode == 0
        claimed.append([int(x) for x in out.split()])
    return claimed


@pytest.mark.slow
def test_two_sqlite_processes_never_claim_the_same_job(tmp_path):
    claimed = _concurrent_claims(str(tmp_path / "q.db"), 2, 600)
    every = [i for ids in claimed for i in ids]
    assert len(every) == len(set(every)) == 600
    assert all(ids for ids in claimed), "both processes should have won some claims"


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="PostgreSQL tests need SHAREBOT_TEST_DATABASE_URL")
def test_four_postgres_processes_never_claim_the_same_job():
    schema = PgSchema(PG_URL)
    try:
        claimed = _concurrent_claims(schema.url, 4, 800)
    finally:
        schema.drop()
    every = [i for ids in claimed for i in ids]
    assert len(every) == len(set(every)) == 800
    assert sum(1 for ids in claimed if ids) >= 2


def test_each_account_can_get_its_own_run_at(store: Store):
    later = T0 + timedelta(hours=3)
    result = enqueue(store, "s", [post("a"), post("b")], now=T0, run_at_for={"b": later})
    assert {j.account: j.run_at for j in result.added} == {"a": T0, "b": later}


def test_post_times_and_upcoming(store: Store):
    enqueue(store, "one", [post("a")], now=T0, run_at=T0 + timedelta(hours=1))
    enqueue(store, "two", [post("a"), post("b")], now=T0, run_at=T0 + timedelta(hours=2))
    [job] = store.claim("w", now=T0 + timedelta(hours=1), lease_until=T0 + timedelta(hours=2), limit=1)
    store.transition(job.id, JobState.RUNNING, JobState.PUBLISHED, now=T0 + timedelta(hours=1, minutes=5),
                     reason="posted", owner="w", remote_id="r")
    assert store.post_times("a", since=T0) == [T0 + timedelta(hours=1, minutes=5), T0 + timedelta(hours=2)]
    assert store.post_times("a", since=T0 + timedelta(hours=1, minutes=30)) == [T0 + timedelta(hours=2)]
    assert [(j.slug, j.account) for j in store.upcoming()] == [("two", "a"), ("two", "b")]
    assert store.upcoming(until=T0 + timedelta(hours=2)) == []


def test_post_times_count_replies_but_not_edits(store: Store):
    enqueue(store, "one", [post("a")], now=T0, run_at=T0)
    [job] = store.claim("w", now=T0, lease_until=T0 + timedelta(hours=1), limit=1)
    out = store.transition(job.id, JobState.RUNNING, JobState.PUBLISHED, now=T0, reason="posted", owner="w",
                           remote_id="r")
    later = T0 + timedelta(minutes=30)
    edit = store.insert_answer(out, JobKind.EDIT, 1, post("a"), now=later)
    reply = store.insert_answer(out, JobKind.REPLY, 1, post("a"), now=later + timedelta(minutes=5))
    assert edit and reply
    assert store.post_times("a", since=T0) == [T0, later + timedelta(minutes=5)]  # queued: the reply only
    for answer, at in ((edit, later), (reply, later + timedelta(minutes=5))):
        [claimed] = store.claim("w", now=at, lease_until=at + timedelta(hours=1), limit=1)
        assert claimed.id == answer.id
        store.transition(answer.id, JobState.RUNNING, JobState.PUBLISHED, now=at, reason="posted", owner="w",
                         remote_id="r2")
    assert store.post_times("a", since=T0) == [T0, later + timedelta(minutes=5)]  # and once out


def test_next_due_is_the_earliest_job_waiting_to_be_claimed_after_now(store: Store):
    assert store.next_due(after=T0) is None
    enqueue(store, "one", [post("a")], now=T0, run_at=T0 + timedelta(hours=1))
    enqueue(store, "two", [post("b")], now=T0, run_at=T0 + timedelta(hours=2))
    assert store.next_due(after=T0) == T0 + timedelta(hours=1)
    [job] = store.claim("w", now=T0 + timedelta(hours=1), lease_until=T0 + timedelta(hours=3), limit=1)
    assert store.next_due(after=T0) == T0 + timedelta(hours=2)  # running: not waiting
    store.transition(job.id, JobState.RUNNING, JobState.UNKNOWN, now=T0 + timedelta(hours=1), reason="timeout",
                     owner="w", run_at=T0 + timedelta(minutes=90))
    assert store.next_due(after=T0) == T0 + timedelta(minutes=90)  # unknown: waiting for its check
    # Due already (overdue, or exactly now): the claim's business, not a time to wake for.
    assert store.next_due(after=T0 + timedelta(minutes=90)) == T0 + timedelta(hours=2)
    assert store.next_due(after=T0 + timedelta(hours=2)) is None


def test_seen_articles_are_kept_per_source(store: Store):
    assert store.seen("feed") == set()
    store.mark_seen("feed", ["x", "y"], now=T0)
    store.mark_seen("feed", ["y", "z"], now=T0)
    assert store.seen("feed") == {"x", "y", "z"} and store.seen("content") == set()


def test_opening_without_migrating_writes_no_schema(tmp_path):
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    store = open_store(path, migrate=False)
    assert not store.is_current()
    store.close()
    tables = sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    assert tables == []
    with open_store(path) as migrated:
        assert migrated.is_current()


def test_postgres_urls_are_shown_without_their_password():
    from sharebot.scrub import redact_url as _redact

    assert _redact("postgresql://u@h/db?password=hunter2secret") == "postgresql://u@h/db?password=****"
    assert _redact("postgresql://u:p@ss:w0rd@h:5432/db") == "postgresql://u:****@h:5432/db"
    assert _redact("postgresql://postgres@127.0.0.1:5432/test") == "postgresql://postgres@127.0.0.1:5432/test"


def test_a_retracted_articles_jobs_are_never_claimed(store: Store):
    store.insert_jobs("weg", 1, [post("x"), post("y")], now=T0, run_at=T0)
    store.insert_jobs("bleibt", 1, [post("x")], now=T0, run_at=T0)
    [running] = store.claim("w", now=T0, lease_until=T0 + LEASE, limit=1, ids=[1])
    marked = store.mark_retracted("weg", now=T0, accounts=["x", "y"])
    assert [(j.id, j.state) for j in marked] == [(1, JobState.RUNNING), (2, JobState.QUEUED)]
    assert all(j.retracted_at == T0 for j in marked)
    assert store.mark_retracted("weg", now=T0) == []  # marked once
    assert [j.slug for j in store.claim("w", now=T0, lease_until=T0 + LEASE, limit=5)] == ["bleibt"]
    assert store.claim("w", now=T0, lease_until=T0 + LEASE, limit=5, ids=[2]) == []
    # The worker's own compare-and-set returns the mark, so it learns of the retraction with its write.
    done = store.transition(running.id, JobState.RUNNING, JobState.QUEUED, now=T0, reason="503", owner="w")
    assert done.retracted_at == T0


def test_flags_keep_reason_time_and_fingerprint_and_clear_by_compare_and_set(store: Store):
    store.flag_account("bad", "token revoked", now=T0, fingerprint="salt$one")
    [flag] = store.account_flags().values()
    assert (flag.account, flag.reason, flag.at, flag.fingerprint) == ("bad", "token revoked", T0, "salt$one")
    assert store.clear_account_flag("bad", fingerprint="salt$other") is False  # raised for other credentials
    store.insert_jobs("a", 1, [post("bad"), post("good")], now=T0, run_at=T0)
    assert store.waiting_on_flags(T0) == {"bad": 1}
    assert store.clear_account_flag("bad", fingerprint="salt$one") is True
    assert store.account_flags() == {} and store.waiting_on_flags(T0) == {}


def test_unknown_jobs_can_be_leased_by_id_for_a_look(store: Store):
    [job] = store.insert_jobs("a", 1, [post("x")], now=T0, run_at=T0)
    store.claim("w", now=T0, lease_until=T0 + LEASE, limit=1)
    store.transition(job.id, JobState.RUNNING, JobState.UNKNOWN, now=T0, reason="t", run_at=T0 + LEASE)
    [held] = store.claim_unknown("retract", now=T0, lease_until=T0 + LEASE, limit=1, ids=[job.id])  # not due: still
    assert held.lease_owner == "retract"
    assert store.claim_unknown("w", now=T0 + LEASE, lease_until=T0 + 2 * LEASE, limit=5) == []  # leased
