"""No stuck states: what fails before a request leaves is not in doubt, a network that cannot look waits for
a person instead of being checked in a loop, only real sends spend attempts, and one login per account."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import queue_support
from cli_support import sharebot as run_sharebot
from fakes.base import FakeAPI, Response
from pds import PDS, PDSProxy
from queue_support import T0, Adapters, Clock, KeyedPostServer, post
from standins import Newsroom

from sharebot import app, pipeline
from sharebot.adapters.base import AdapterContext
from sharebot.config import load_settings
from sharebot.errors import NotSent, Rejected
from sharebot.fetch import FetchPolicy
from sharebot.images import article_image
from sharebot.jobs import JobState
from sharebot.models import Network
from sharebot.queue import RetryPolicy, enqueue
from sharebot.storage import open_store
from sharebot.worker import Worker

S = JobState
store = queue_support.store  # fixture
store_url = queue_support.store_url  # fixture
SLUG = "putin-xi-videogespraech-partnerschaft"
LOOPBACK = FetchPolicy(allow_private=("127.0.0.1",))


@pytest.fixture
def server() -> Iterator[KeyedPostServer]:
    s = KeyedPostServer().start()
    yield s
    threading.Thread(target=s.stop, daemon=True).start()


def make_worker(store, server, clock, **kw) -> Worker:
    policy = kw.pop("policy", None) or RetryPolicy(base=10, cap=100, max_attempts=3, jitter="none")
    return Worker(store, kw.pop("adapters", None) or Adapters(server.url), owner=kw.pop("owner", "w1"), clock=clock,
                  policy=policy, **kw)


# --- errors before the request leaves ---------------------------------------------------------------
@pytest.fixture
def odd_images() -> Iterator[FakeAPI]:
    host = FakeAPI()
    # A PNG header declaring 30000 x 30000 pixels: a decompression bomb if decoded.
    bomb = (b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (30000).to_bytes(4, "big") * 2
            + b"\x08\x02\x00\x00\x00" + b"\x00" * 4)
    host.route("GET", "/bomb.png", lambda req, m: Response(200, bomb, {"Content-Type": "image/png"}))
    host.route("GET", "/missing.png", lambda req, m: Response(404, "gone"))
    host.route("GET", "/busy.png", lambda req, m: Response(503, "busy"))
    host.route("GET", "/length.png", lambda req, m: Response(200, b"x", {"Content-Length": "12abc"}))
    host.route("GET", "/junk.png", lambda req, m: Response(200, b"\x00" * 100, {"Content-Type": "image/png"}))
    with host:
        yield host


@pytest.mark.parametrize("name, error", [
    ("bomb.png", Rejected), ("missing.png", Rejected), ("busy.png", NotSent), ("length.png", Rejected),
    ("junk.png", Rejected),
])
def test_every_image_failure_is_not_sent_or_rejected(odd_images: FakeAPI, tmp_path: Path, name, error):
    context = AdapterContext(tmp_path, timeout=2, fetch_policy=LOOPBACK)
    with pytest.raises(error):
        article_image(f"{odd_images.url}/{name}", 1_000_000, network="x", context=context)


def test_a_fetch_error_escaping_an_adapter_is_not_an_outcome_in_doubt(store, server, clock=None):
    from sharebot.fetch import FetchError

    clock = Clock()
    adapters = Adapters(server.url)

    class Fetching(queue_support.KeyedAdapter):
        def publish(self, post, delivery):
            raise FetchError("http://pictures/a.png", "malformed Content-Length header", lasting=True)

    base = adapters("acct")
    adapters.cache["acct"] = Fetching(base.account, base.credentials, base.context)
    [job] = enqueue(store, "a", [post()], now=clock()).added
    with make_worker(store, server, clock, adapters=adapters) as worker:
        [out] = worker.run_once()
    assert out.state is S.FAILED and "malformed Content-Length" in out.detail
    assert server.created == []


# --- attention: a network that cannot look --------------------------------------------------------
def test_an_unconfirmed_telegram_post_waits_for_a_person_and_is_never_rechecked(store, server):
    clock = Clock()
    adapters = Adapters(server.url)
    [job] = enqueue(store, "a", [post("tg", network=Network.TELEGRAM)], now=clock()).added
    server.drop_next(method="POST", after=True)  # made, but the answer is lost
    with make_worker(store, server, clock, adapters=adapters) as worker:
        [out] = worker.run_once()
        assert out.state is S.ATTENTION
        assert f"sharebot queue resolve {job.id} --posted URL" in out.detail
        clock.advance(7 * 24 * 3600)
        assert worker.run_once() == []  # never checked in a loop
    assert [r.method for r in server.requests] == ["POST"]
    assert store.get(job.id).state is S.ATTENTION


def test_a_dead_workers_telegram_job_goes_to_attention_not_to_a_check(store, server):
    clock = Clock()
    [job] = enqueue(store, "a", [post("tg", network=Network.TELEGRAM)], now=clock()).added
    store.claim("dead", now=clock(), lease_until=clock() + timedelta(seconds=60), limit=1)
    clock.advance(61)
    with make_worker(store, server, clock, policy=RetryPolicy(base=0, cap=0, jitter="none")) as worker:
        outcomes = worker.run_once()
    assert [o.state for o in outcomes] == [S.ATTENTION]
    assert server.requests == []
    events = [(e.from_state, e.to_state) for e in store.events(job.id)]
    assert events[-2:] == [(S.RUNNING, S.UNKNOWN), (S.UNKNOWN, S.ATTENTION)]


def test_queue_show_and_status_print_the_command_that_settles_it(tmp_path: Path):
    from conftest import EXAMPLE_CONFIG as config

    db = tmp_path / "q.db"
    env = {"SHAREBOT_DATABASE_URL": str(db)}
    with open_store(str(db)) as s:
        [job] = enqueue(s, "a", [post("telegram", network=Network.TELEGRAM)], now=T0).added
        s.transition(job.id, S.QUEUED, S.RUNNING, now=T0, reason="t")
        s.transition(job.id, S.RUNNING, S.ATTENTION, now=T0, reason="no answer")
    shown = run_sharebot("--config", str(config), "queue", "show", str(job.id), env=env, now=T0)
    assert f"sharebot queue resolve {job.id} --posted URL" in shown.stdout and "--not-posted" in shown.stdout
    status = run_sharebot("--config", str(config), "status", "a", env=env, now=T0)
    assert status.exit_code == 4
    assert f"sharebot queue resolve {job.id} --posted URL" in status.stdout
    resolved = run_sharebot("--config", str(config), "queue", "resolve", str(job.id), "--posted",
                            "https://t.me/news/7", env=env, now=T0)
    assert resolved.exit_code == 0 and "published" in resolved.stdout


def test_each_check_of_an_unknown_job_is_an_event(store, server):
    clock = Clock()
    [job] = enqueue(store, "a", [post()], now=clock()).added
    server.drop_next(method="POST", after=True)
    with make_worker(store, server, clock) as worker:
        worker.run_once()
        server.fail_next(500, {"error": "lookup broke"}, method="GET")
        clock.advance(10)
        worker.run_once()
        clock.advance(100)
        worker.run_once()
    reasons = [e.reason for e in store.events(job.id) if e.from_state is S.UNKNOWN]
    assert len(reasons) == 2 and "check failed" in reasons[0] and reasons[1] == "check found the post"


# --- attempts are real sends ------------------------------------------------------------------------
def test_a_claim_that_never_reached_the_network_spends_no_attempt(store, server):
    clock = Clock()
    [job] = enqueue(store, "a", [post()], now=clock()).added
    for _ in range(5):  # five workers die between claim and send
        store.claim("dead", now=clock(), lease_until=clock() + timedelta(seconds=30), limit=1)
        clock.advance(31)
        with make_worker(store, server, clock, policy=RetryPolicy(base=0, cap=0, max_attempts=2,
                                                                   jitter="none")) as worker:
            [out] = worker.run_once()  # expired, checked: not there, sent again... by no one yet
            assert out.state is S.QUEUED
        assert store.get(job.id).attempts == 0
    with make_worker(store, server, clock) as worker:
        [out] = worker.run_once()
    assert out.state is S.PUBLISHED and store.get(job.id).attempts == 1


def test_a_lease_lost_before_sending_sends_nothing(store, server):
    clock = Clock()
    [job] = enqueue(store, "a", [post()], now=clock()).added
    with make_worker(store, server, clock) as worker:
        [claimed] = store.claim("w1", now=clock(), lease_until=clock() + timedelta(seconds=30), limit=1)
        store.transition(job.id, S.RUNNING, S.UNKNOWN, now=clock(), reason="taken for dead")
        fut = worker._pool.submit(worker._send, claimed, Adapters(server.url)("acct"), None, [])
        with pytest.raises(Exception, match="not running under w1"):
            fut.result()
    assert server.requests == []


# --- one login per account per process ---------------------------------------------------------------
def test_eight_threads_posting_to_one_bluesky_account_log_in_once(newsroom: Newsroom, pds: PDS, tmp_path: Path):
    newsroom.add_bluesky(pds)
    with PDSProxy(pds) as proxy:
        newsroom.pds = PDS(proxy.url, pds.admin_password)
        slugs = [f"artikel-{i}" for i in range(8)]
        newsroom.write_site(tmp_path, slugs)
        config = newsroom.write_config(tmp_path)
        settings = load_settings(config, newsroom.env(), dotenv_path=tmp_path / "none")
        account = settings.account("bluesky")
        store = app.open_queue(settings)
        adapters = app.Adapters(settings)
        try:
            for slug in slugs:
                article = pipeline.load_article(settings, slug)
                rendered = pipeline.render_article(settings, article, [account]).posts
                enqueue(store, slug, rendered, now=newsroom.clock())
            with Worker(store, adapters, owner="w", clock=newsroom.clock, policy=app.retry_policy(settings),
                        concurrency=8) as worker:
                outcomes = worker.run_once()
        finally:
            adapters.close()
            store.close()
        assert [o.state for o in outcomes] == [S.PUBLISHED] * 8, [o.detail for o in outcomes]
        assert proxy.calls("com.atproto.server.createSession") == 1
