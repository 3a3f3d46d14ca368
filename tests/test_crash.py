"""Workers die at random moments (SIGKILL) while posting; the queue must still post each article exactly once.

The server honours Idempotency-Key, also drops some answers after making the post and refuses some posts
with 503, so every path through the except-ladder and the lease recovery is exercised.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from queue_support import T0, KeyedPostServer, post

from sharebot.jobs import JobKind, JobState
from sharebot.queue import enqueue
from sharebot.storage import open_store

SUPPORT = Path(__file__).with_name("queue_support.py")
SEED = 20261125
SLUGS, ACCOUNTS = 40, 8  # 320 jobs
CORRECTED_SLUGS = 16  # 128 posts, each with an edit, a correction line and a follow-up: 384 jobs
WORKERS, CONCURRENCY, LEASE = 2, 3, 1.0
KILL_ROUNDS, MAX_ROUNDS = 12, 60


def _start(db: str, url: str, owner: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(SUPPORT), "work", db, url, owner, str(CONCURRENCY), str(LEASE)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_sigkilled_workers_never_post_twice_and_lose_nothing(tmp_path, record_property):
    rng = random.Random(SEED)
    db = str(tmp_path / "crash.db")
    with open_store(db) as store:
        for s in range(SLUGS):
            enqueue(
                store,
                f"article-{s}",
                [post(f"acct{a}", text=f"article-{s} for acct{a}") for a in range(ACCOUNTS)],
                now=T0,
            )
    server = KeyedPostServer(seed=SEED, drop_rate=0.05, fail_rate=0.05).start()
    server.delay = 0.04  # slow enough that the queue outlives the kill rounds and kills land mid-request
    try:
        rounds, kills, elapsed = _kill_rounds(db, server, rng)
    finally:
        threading.Thread(target=server.stop, daemon=True).start()

    with open_store(db) as store:
        jobs = store.list_jobs()
        expired = sum(1 for j in jobs for e in store.events(j.id) if "expired mid-post" in e.reason)
    by_text: dict[str, set[str]] = defaultdict(set)
    for p in server.posts.values():
        by_text[p["text"]].add(p["id"])
    duplicates = sum(len(ids) - 1 for ids in by_text.values())
    job_by_key = {j.key: j for j in jobs}
    published = [j for j in jobs if j.state is JobState.PUBLISHED]
    unknown = [j for j in jobs if j.state is JobState.UNKNOWN]
    lost = [j.id for j in published if server.posts.get(j.key, {}).get("id") != j.remote_id]
    lost += [j.id for j in jobs if j.state not in (JobState.PUBLISHED, JobState.UNKNOWN)]
    lost += [k for k in server.posts if job_by_key[k].state not in (JobState.PUBLISHED, JobState.UNKNOWN)]
    figures = {
        "jobs": len(jobs),
        "rounds": rounds,
        "kills": kills,
        "lease_expiries": expired,
        "posts_made": len(server.created),
        "repeats_absorbed_by_key": server.repeats,
        "duplicates": duplicates,
        "lost": len(lost),
        "unknown": [j.id for j in unknown],
        "seconds": round(elapsed, 1),
    }
    print("crash figures:", json.dumps(figures))
    record_property("crash_figures", json.dumps(figures))

    assert len(jobs) == SLUGS * ACCOUNTS
    assert kills > 0
    assert duplicates == 0
    assert lost == []
    assert len(published) + len(unknown) == len(jobs)
    assert len(server.created) == len(published) + sum(1 for j in unknown if j.key in server.posts)


def _kill_rounds(db: str, server: KeyedPostServer, rng: random.Random) -> tuple[int, int, float]:
    """Start WORKERS worker processes a round; SIGKILL those still running at a random moment in each of the first
    KILL_ROUNDS rounds; then let rounds run out until nothing is queued, running or unknown.
    Returns (rounds, kills, seconds)."""
    kills = rounds = 0
    started = time.monotonic()
    while rounds < MAX_ROUNDS:
        rounds += 1
        procs = [_start(db, server.url, f"r{rounds}w{n}") for n in range(WORKERS)]
        kills += _kill_some_then_collect(procs, rng, kill=rounds <= KILL_ROUNDS)[0]
        with open_store(db) as store:
            counts = store.counts()
        if not counts.get(JobState.QUEUED) and not counts.get(JobState.RUNNING) and rounds > KILL_ROUNDS:
            if not _unknown_due(db):
                break
        if rounds > KILL_ROUNDS and not counts.get(JobState.QUEUED):
            threading.Event().wait(LEASE / 2)  # let a dead worker's lease run out before the next start
    return rounds, kills, time.monotonic() - started


@pytest.mark.slow
def test_sigkilled_workers_during_correction_rounds_never_send_twice_and_lose_nothing(tmp_path, record_property):
    """Every post out, then a correction round per post: an edit of it, a correction line under it and a
    follow-up under that line (which waits for it). Workers die at random moments while these go out."""
    rng = random.Random(SEED + 9)
    db = str(tmp_path / "corrections.db")
    server = KeyedPostServer(seed=SEED + 9).start()
    try:
        with open_store(db) as store:
            for s in range(CORRECTED_SLUGS):
                enqueue(store, f"article-{s}", [post(f"acct{a}", text=f"article-{s} for acct{a}")
                                                for a in range(ACCOUNTS)], now=T0)
        _settle(db, server.url)  # the posts, without faults or kills
        with open_store(db) as store:
            originals = store.list_jobs(state=JobState.PUBLISHED)
            assert len(originals) == CORRECTED_SLUGS * ACCOUNTS
            for original in originals:
                text = original.post.text
                store.insert_answer(original, JobKind.EDIT, 1, post(original.account, f"{text}, corrected"), now=T0)
                line = store.insert_answer(original, JobKind.REPLY, 1, post(original.account, f"Correction: {text}"),
                                           now=T0)
                assert line is not None
                store.insert_answer(line, JobKind.REPLY, 2, post(original.account, f"Update: {text}"), now=T0)
        server.drop_rate, server.fail_rate, server.delay = 0.05, 0.05, 0.04
        rounds, kills, elapsed = _kill_rounds(db, server, rng)
    finally:
        threading.Thread(target=server.stop, daemon=True).start()

    with open_store(db) as store:
        answers = [j for j in store.list_jobs() if j.kind is not JobKind.POST]
        by_id = {j.id: j for j in store.list_jobs()}
        in_doubt = sum(1 for j in answers if any(e.to_state is JobState.UNKNOWN for e in store.events(j.id)))
        expired = sum(1 for j in answers for e in store.events(j.id) if "expired mid-post" in e.reason)
    texts: dict[str, int] = defaultdict(int)
    for made in server.posts.values():
        texts[made["text"]] += 1
    duplicates = sum(n - 1 for n in texts.values())
    duplicates += sum(max(0, len(server.by_id[o.remote_id or ""]["history"]) - 1) for o in originals)
    lost, stuck = [], [j.id for j in answers if j.state is not JobState.PUBLISHED]
    for job in answers:
        parent = by_id[job.parent_id or 0]
        if job.kind is JobKind.EDIT:
            made = server.by_id[parent.remote_id or ""]
            if made["text"] != job.post.text or made["history"] != [parent.post.text]:
                lost.append(job.id)
        elif job.state is JobState.PUBLISHED:
            made = server.by_id[job.remote_id or ""]
            if made["text"] != job.post.text or made["in_reply_to"] != parent.remote_id:
                lost.append(job.id)
        elif texts.get(job.post.text, 0) == 0 and job.state is not JobState.UNKNOWN:
            lost.append(job.id)
    figures = {
        "jobs": len(answers), "edits": sum(1 for j in answers if j.kind is JobKind.EDIT),
        "replies": sum(1 for j in answers if j.kind is JobKind.REPLY), "rounds": rounds, "kills": kills,
        "lease_expiries": expired, "settled_after_doubt": in_doubt, "repeats_absorbed_by_key": server.repeats,
        "duplicates": duplicates, "lost": len(lost), "stuck": stuck,
        "seconds": round(elapsed, 1),
    }
    print("correction crash figures:", json.dumps(figures))
    record_property("correction_crash_figures", json.dumps(figures))

    assert len(answers) == 3 * CORRECTED_SLUGS * ACCOUNTS
    assert kills > 0
    assert duplicates == 0
    assert lost == []
    assert stuck == []


def _settle(db: str, url: str) -> None:
    proc = _start(db, url, "setup")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]


def _kill_some_then_collect(procs: list[subprocess.Popen[str]], rng: random.Random, *,
                            kill: bool) -> tuple[int, list[str]]:
    """With `kill`, SIGKILL those still running after a random 0.3-1.2 s; then wait for all. Returns how many
    were killed and each one's output; a process must end by itself (0) or by the kill."""
    killed = 0
    if kill:
        deadline = time.monotonic() + rng.uniform(0.3, 1.2)
        for p in procs:
            try:
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGKILL)
                killed += 1
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode in (0, -signal.SIGKILL), err[-2000:]
        outputs.append(out)
    return killed, outputs


def _unknown_due(db: str) -> bool:
    with open_store(db) as store:
        return bool(store.list_jobs(state=JobState.UNKNOWN))


RETRACT_SLUGS, RETRACTED = 16, 8  # 16 articles x 4 accounts; the first 8 are retracted while they go out
RETRACT_ACCOUNTS, PATIENCE = 4, 3.0


def _retract(db: str, url: str, owner: str, slugs: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(SUPPORT), "retract", db, url, owner, str(PATIENCE), *slugs],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_sigkills_during_a_retract_leave_nothing_of_it_out_and_post_the_rest_once(tmp_path, record_property):
    rng = random.Random(SEED + 1)
    db = str(tmp_path / "retract.db")
    slugs = [f"article-{s}" for s in range(RETRACT_SLUGS)]
    withdrawn = slugs[:RETRACTED]
    start = datetime.now(UTC)  # the worker processes run on the wall clock
    with open_store(db) as store:
        for slug in slugs:  # spread over the first seconds: some go out before the retract, some during, some after
            times = {f"acct{a}": start + timedelta(seconds=rng.uniform(0, 4)) for a in range(RETRACT_ACCOUNTS)}
            enqueue(store, slug, [post(f"acct{a}", text=f"{slug} for acct{a}") for a in range(RETRACT_ACCOUNTS)],
                    now=T0, run_at_for=times)
    server = KeyedPostServer(seed=SEED, drop_rate=0.05, fail_rate=0.05).start()
    server.delay = 0.04
    kills = rounds = 0
    try:
        while rounds < MAX_ROUNDS:
            rounds += 1
            killing = rounds <= KILL_ROUNDS // 2
            procs = [_start(db, server.url, f"r{rounds}w{n}") for n in range(WORKERS)]
            procs.append(_retract(db, server.url, f"r{rounds}retract", withdrawn))
            killed, outputs = _kill_some_then_collect(procs, rng, kill=killing)
            kills += killed
            if not killing and _settled(db, withdrawn) and _retract_clean(outputs[-1]):
                break
            threading.Event().wait(LEASE / 2)  # let a dead worker's lease run out before the next start
    finally:
        threading.Thread(target=server.stop, daemon=True).start()

    with open_store(db) as store:
        jobs = store.list_jobs()
    by_text: dict[str, set[str]] = defaultdict(set)
    for p in server.posts.values():
        by_text[p["text"]].add(p["id"])
    duplicates = sum(len(ids) - 1 for ids in by_text.values())
    gone = [j for j in jobs if j.slug in withdrawn]
    kept = [j for j in jobs if j.slug not in withdrawn]
    live_withdrawn = [p for p in server.live() if p["text"].split(" for ")[0] in withdrawn]
    lost = [j.id for j in kept if j.state is JobState.PUBLISHED and server.posts.get(j.key, {}).get("id") != j.remote_id]
    lost += [j.id for j in kept if j.state not in (JobState.PUBLISHED, JobState.UNKNOWN)]
    figures = {"rounds": rounds, "kills": kills, "posts_made": len(server.created), "deleted": len(server.deleted),
               "duplicates": duplicates, "live_withdrawn": len(live_withdrawn), "lost": len(lost),
               "withdrawn_states": sorted({str(j.state) for j in gone})}
    print("retract crash figures:", json.dumps(figures))
    record_property("retract_crash_figures", json.dumps(figures))

    assert kills > 0
    assert duplicates == 0
    assert live_withdrawn == []
    assert {j.state for j in gone} <= {JobState.CANCELED, JobState.DELETED}
    assert len(server.deleted) == len(set(server.deleted)) == sum(1 for j in gone if j.state is JobState.DELETED)
    assert lost == []


def _settled(db: str, withdrawn: list[str]) -> bool:
    with open_store(db) as store:
        jobs = store.list_jobs()
    waiting = [j for j in jobs if j.slug not in withdrawn and j.state in (JobState.QUEUED, JobState.RUNNING)]
    open_ = [j for j in jobs if j.slug in withdrawn and j.state not in (JobState.CANCELED, JobState.DELETED)]
    return not waiting and not open_ and not any(j.state is JobState.UNKNOWN for j in jobs)


def _retract_clean(output: str) -> bool:
    lines = [line for line in output.splitlines() if line.startswith("{")]
    return bool(lines) and not ({"NOT deleted", "in flight"} & set(json.loads(lines[-1])))
