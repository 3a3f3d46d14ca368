"""Bluesky under the worker, on the real PDS behind a counting proxy: no getRecord before a job's first send,
and one password login per account per process, however many jobs and threads share it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pds import PDS, PDSAccount, PDSProxy, create_account

from sharebot.adapters import make_adapter
from sharebot.adapters.base import Adapter, AdapterContext, Delivery, Secret
from sharebot.adapters.bluesky import BlueskyAdapter
from sharebot.jobs import JobState
from sharebot.models import Account, Network, RenderedPost
from sharebot.queue import RetryPolicy
from sharebot.storage import open_store
from sharebot.store import Store
from sharebot.worker import Worker

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
GET_RECORD = "com.atproto.repo.getRecord"
CREATE = "com.atproto.repo.createRecord"
LOGIN = "com.atproto.server.createSession"


@pytest.fixture()
def site(pds: PDS) -> Iterator[tuple[PDSAccount, PDSProxy]]:
    """A fresh account, and a proxy in front of its PDS that counts the calls."""
    account = create_account(pds, "worker")
    with PDSProxy(pds) as counting:
        yield account, counting


@pytest.fixture()
def store() -> Iterator[Store]:
    with open_store(":memory:") as s:
        yield s


def bluesky(user: PDSAccount, proxy: PDSProxy, state_dir: Path) -> BlueskyAdapter:
    account = Account("bsky", Network.BLUESKY, options={"handle": user.handle, "pds": proxy.url},
                      secrets={"app_password": "BSKY_APP_PASSWORD"})
    adapter = make_adapter(account, {"app_password": Secret(user.app_password)}, AdapterContext(state_dir, timeout=10))
    assert isinstance(adapter, BlueskyAdapter)
    return adapter


def text_post(text: str) -> RenderedPost:
    return RenderedPost(account="bsky", network=Network.BLUESKY, text=text, length=len(text), limit=300,
                        unit="graphemes", link=None, card=None, language="de")


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def worker(store: Store, adapter: Adapter, clock: Clock, concurrency: int = 4) -> Worker:
    return Worker(store, lambda name: adapter, owner="w", clock=clock, concurrency=concurrency,
                  policy=RetryPolicy(base=1, cap=1, max_attempts=5, jitter="none"))


def test_a_first_send_makes_no_getrecord_and_a_later_one_looks_first(
        site: tuple[PDSAccount, PDSProxy], store: Store, tmp_path: Path) -> None:
    user, proxy = site
    adapter, clock = bluesky(user, proxy, tmp_path), Clock()
    first = store.insert_jobs("a1", 1, [text_post("Erster Versuch, kein Nachsehen")], now=NOW, run_at=NOW)
    with worker(store, adapter, clock) as w:
        [outcome] = w.publish_now(first)
    assert outcome.state is JobState.PUBLISHED
    assert (proxy.calls(GET_RECORD), proxy.calls(CREATE)) == (0, 1)

    # An answer lost on the way back: the outcome is in doubt, checked, found missing, and sent again; that
    # second send looks at its record key first, since the first one was counted.
    second = store.insert_jobs("a2", 1, [text_post("Zweiter Versuch, mit Nachsehen")], now=NOW, run_at=NOW)
    proxy.drop_next(path=f"/xrpc/{CREATE}")
    with worker(store, adapter, clock) as w:
        [outcome] = w.publish_now(second)
        assert outcome.state is JobState.UNKNOWN
        looked = proxy.calls(GET_RECORD)
        assert looked == 1  # the adapter's own look right after the failed create
        clock.now += timedelta(seconds=2)
        w.run_once()  # the check: not there, queued again
        assert store.get(second[0].id).state is JobState.QUEUED
        assert proxy.calls(GET_RECORD) == looked + 1
        clock.now += timedelta(seconds=2)
        w.run_once()
    job = store.get(second[0].id)
    assert job.state is JobState.PUBLISHED and job.attempts == 2
    assert proxy.calls(GET_RECORD) == looked + 2  # the look before the second send
    assert proxy.calls(CREATE) == 3


def test_the_adapter_looks_first_unless_told_it_is_the_first_attempt(
        site: tuple[PDSAccount, PDSProxy], tmp_path: Path) -> None:
    user, proxy = site
    adapter = bluesky(user, proxy, tmp_path)
    for attempt, lookups in ((1, 0), (2, 1), (0, 1)):  # 0: not counted by a queue, so an earlier one may exist
        post = text_post(f"Versuch {attempt}")
        key = f"k-{attempt}-{tmp_path.name}"
        data = dict(adapter.prepare(post, Delivery(key, NOW)))
        before = proxy.calls(GET_RECORD)
        adapter.publish(post, Delivery(key, NOW, data, attempt=attempt))
        assert proxy.calls(GET_RECORD) - before == lookups, attempt


def test_one_login_per_account_for_many_jobs_on_many_threads(
        site: tuple[PDSAccount, PDSProxy], store: Store, tmp_path: Path) -> None:
    user, proxy = site
    adapter, clock = bluesky(user, proxy, tmp_path), Clock()  # no stored session: it must log in
    jobs = [j for i in range(8) for j in store.insert_jobs(f"m{i}", 1, [text_post(f"Meldung {i}")], now=NOW,
                                                           run_at=NOW)]
    with worker(store, adapter, clock, concurrency=4) as w:
        outcomes = w.publish_now(jobs[:4]) + w.publish_now(jobs[4:])
    assert {o.state for o in outcomes} == {JobState.PUBLISHED}
    assert proxy.calls(LOGIN) == 1


def test_threads_whose_token_died_together_log_in_again_once(
        site: tuple[PDSAccount, PDSProxy], tmp_path: Path) -> None:
    user, proxy = site
    adapter = bluesky(user, proxy, tmp_path)
    assert adapter.check().state == "ok"
    assert proxy.calls(LOGIN) == 1
    expired = {"error": "ExpiredToken", "message": "Token has expired"}
    path = "/xrpc/com.atproto.server.getSession"
    releases = []
    for _ in range(4):  # four calls in flight at once, each refused: the answers wait until all four are there
        proxy.fail_next(400, expired, path=path)
        releases.append(proxy.hold_next(path=path))
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(adapter.check().state)) for _ in range(4)]
    for t in threads:
        t.start()
    arrived = threading.Event()
    for _ in range(600):
        if proxy.calls("com.atproto.server.getSession") == 5 or arrived.wait(0.05):
            break
    for release in releases:
        release.set()
    for t in threads:
        t.join(timeout=60)
    assert results == ["ok"] * 4
    assert proxy.calls(LOGIN) == 2  # the first thread's fresh login served all four
