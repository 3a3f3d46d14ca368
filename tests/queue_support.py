"""Test helpers for the queue: a keyed-post server, an adapter for it, store fixtures, subprocess workers.

Run as a script it is a worker process for the concurrency and crash tests:
    python tests/queue_support.py claim STORE OWNER BATCH
    python tests/queue_support.py work STORE SERVER_URL OWNER CONCURRENCY LEASE_SECONDS
    python tests/queue_support.py retract STORE SERVER_URL OWNER PATIENCE SLUG...
"""

from __future__ import annotations

import json
import os
import random
import socket
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fakes.base import Clock as _Clock  # noqa: E402
from fakes.base import FakeAPI, Request, Response, _Fault

from sharebot.adapters.base import AccountStatus, Adapter, AdapterContext, Delivery, RemotePost, Secret  # noqa: E402
from sharebot.errors import AuthError, NotSent, RateLimited, Rejected, Unconfirmed  # noqa: E402
from sharebot.jobs import JobState, PublishResult  # noqa: E402
from sharebot.models import Account, Network, RenderedPost  # noqa: E402
from sharebot.queue import RetryPolicy  # noqa: E402
from sharebot.storage import open_store  # noqa: E402
from sharebot.store import Store  # noqa: E402

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
TOKEN = "tok-9f8e7d6c5b4a39281706"
PG_URL = os.environ.get("SHAREBOT_TEST_DATABASE_URL")


def post(
    account: str = "acct", text: str = "Hallo Welt", network: Network = Network.MASTODON
) -> RenderedPost:
    return RenderedPost(
        account=account,
        network=network,
        text=text,
        length=len(text),
        limit=500,
        unit="chars",
        link="https://example.org/a",
        card=None,
        language="de",
    )


@dataclass
class Clock(_Clock):
    now: datetime = T0


# --- store fixtures (import them into a test module to use them) ------------------------------------
def pg_schema_url(base: str, schema: str) -> str:
    return base + ("&" if "?" in base else "?") + f"options=-csearch_path%3D{schema}"


class PgSchema:
    """A throwaway schema on the test database, dropped on exit."""

    def __init__(self, base: str) -> None:
        import psycopg

        self.base, self.name = base, f"sharebot_test_{uuid.uuid4().hex[:12]}"
        self._psycopg = psycopg
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {self.name}")
        self.url = pg_schema_url(base, self.name)

    def drop(self) -> None:
        with self._psycopg.connect(self.base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {self.name} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "queue.db")
        return
    yield request.getfixturevalue("pg_url")  # conftest.py: the session's schema, emptied for this test


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    yield s
    s.close()


# --- a server that honours Idempotency-Key ------------------------------------------------------------
class KeyedPostServer(FakeAPI):
    """POST /posts creates a post (a reply with `in_reply_to`), or with a known Idempotency-Key returns the
    earlier one; GET /posts?key= looks one up; PUT /posts/ID changes a post's text (keeping the earlier ones in
    its `history`; the same text again changes nothing), GET /posts/ID reads it and DELETE /posts/ID deletes it
    (404 when it is not there). `drop_rate`/`fail_rate` inject faults at random (seeded) into POSTs and PUTs: a
    drop happens after the post was made or changed (the client cannot know), a 503 before (certainly not).
    `hold_posts`, when set, is called as each POST arrives and the post is handled once it returns: a test keeps
    posts in flight with it."""

    def __init__(self, *, token: str = TOKEN, seed: int = 0, drop_rate: float = 0.0, fail_rate: float = 0.0):
        super().__init__()
        self.token = token
        self.posts: dict[str, dict[str, Any]] = {}  # idempotency key -> post
        self.created: list[tuple[str, str]] = []  # (post id, key) in creation order
        self.repeats = 0  # POSTs answered with an existing post
        self.deleted: list[str] = []  # post ids, in the order DELETE removed them
        self.rng = random.Random(seed)
        self.drop_rate, self.fail_rate = drop_rate, fail_rate
        self.hold_posts: Callable[[], object] | None = None
        self.by_id: dict[str, dict[str, Any]] = {}  # post id -> post
        self.route("POST", "/posts", self._create)
        self.route("GET", "/posts", self._lookup)
        self.route("PUT", r"/posts/(?P<id>\d+)", self._edit)
        self.route("GET", r"/posts/(?P<id>\d+)", self._read)
        self.route("DELETE", r"/posts/(?P<id>\d+)", self._delete)

    def live(self) -> list[dict[str, Any]]:
        """The posts made and not deleted."""
        return [p for p in self.posts.values() if p["id"] not in self.deleted]

    def _dispatch(self, h: Any) -> None:
        # Before FakeAPI takes its lock, so held posts do not hold up each other or other requests.
        if self.hold_posts is not None and h.command == "POST" and h.path.startswith("/posts"):
            self.hold_posts()
        super()._dispatch(h)

    def _authorised(self, req: Request) -> bool:
        return req.headers.get("authorization") == f"Bearer {self.token}"

    def _create(self, req: Request, _m: Any) -> Response:
        if not self._authorised(req):
            return Response(401, {"error": "The access token is invalid"})
        key = req.headers.get("idempotency-key") or uuid.uuid4().hex
        if key in self.posts:
            self.repeats += 1
            return Response(200, self.posts[key])
        post_id = str(len(self.created) + 1)
        body = req.json()
        self.posts[key] = {
            "id": post_id,
            "url": f"{self.url}/@acct/{post_id}",
            "text": body["text"],
            "data": body.get("data") or {},
            "in_reply_to": body.get("in_reply_to"),
            "history": [],
        }
        self.by_id[post_id] = self.posts[key]
        self.created.append((post_id, key))
        return Response(200, self.posts[key])

    def _edit(self, req: Request, m: Any) -> Response:
        if not self._authorised(req):
            return Response(401, {"error": "The access token is invalid"})
        post = None if m["id"] in self.deleted else self.by_id.get(m["id"])
        if post is None:
            return Response(404, {"error": "Record not found"})
        text = req.json()["text"]
        if text != post["text"]:
            post["history"].append(post["text"])
            post["text"] = text
        return Response(200, post)

    def _read(self, req: Request, m: Any) -> Response:
        if not self._authorised(req):
            return Response(401, {"error": "The access token is invalid"})
        post = None if m["id"] in self.deleted else self.by_id.get(m["id"])
        return Response(200, post) if post else Response(404, {"error": "Record not found"})

    def _lookup(self, req: Request, _m: Any) -> Response:
        if not self._authorised(req):
            return Response(401, {"error": "The access token is invalid"})
        found = self.posts.get(req.query.get("key", [""])[0])
        return Response(200, found) if found else Response(404, {"error": "Record not found"})

    def _delete(self, req: Request, match: Any) -> Response:
        if not self._authorised(req):
            return Response(401, {"error": "The access token is invalid"})
        if match["id"] in self.deleted or not any(p["id"] == match["id"] for p in self.posts.values()):
            return Response(404, {"error": "Record not found"})
        self.deleted.append(match["id"])
        return Response(200, {})

    @staticmethod
    def _write(h: Any, response: Response) -> None:
        # FakeAPI writes headers and body in two sends; with Nagle on, the body waits for the client's
        # delayed ACK (~40 ms on Linux), which would swamp the latencies the benchmark sets on purpose.
        h.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        FakeAPI._write(h, response)

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        fault = super()._take_fault(method, path)
        if fault or not ((method == "POST" and path == "/posts") or (method == "PUT" and path.startswith("/posts/"))):
            return fault
        with self._lock:
            roll = self.rng.random()
        if roll < self.drop_rate:
            return _Fault(None, None, None, 0.0, True)
        if roll < self.drop_rate + self.fail_rate:
            return _Fault(None, None, Response(503, {"error": "busy"}), 0.0, False)
        return None


class KeyedAdapter(Adapter):
    """Talks to KeyedPostServer over real HTTP and maps its failures the way real adapters must."""

    network = Network.MASTODON
    required_secrets = ("token",)
    dedupe = "key"

    def __init__(self, account: Account, credentials: Any, context: AdapterContext) -> None:
        super().__init__(account, credentials, context)
        self.http = httpx.Client(
            base_url=account.options["base_url"],
            timeout=context.timeout,
            headers={"Authorization": f"Bearer {credentials['token']}"},
        )

    def prepare(self, post: RenderedPost, delivery: Delivery) -> dict[str, Any]:
        return {"rkey": delivery.key[:13]} if self.account.options.get("prepare") else {}

    def _call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            return self.http.request(method, path, **kw)
        except httpx.ConnectError as e:
            raise NotSent("mastodon", f"cannot connect: {type(e).__name__}") from None
        except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError) as e:
            raise Unconfirmed("mastodon", f"no answer: {type(e).__name__}") from None

    def _raise_for(self, r: httpx.Response) -> None:
        detail = r.json().get("error", "") if r.content else ""
        if r.status_code in (401, 403):
            # Deliberately careless, like some SDK messages: the worker must mask it before storing/logging.
            raise AuthError("mastodon", f"{detail} (token {self.credentials['token']})", r.status_code)
        if r.status_code == 429:
            after = r.headers.get("retry-after")
            raise RateLimited("mastodon", detail, 429, float(after) if after else None)
        if r.status_code == 503:
            raise NotSent("mastodon", detail, 503)
        if r.status_code >= 500:
            raise Unconfirmed("mastodon", detail, r.status_code)
        raise Rejected("mastodon", detail, r.status_code)

    def publish(self, post: RenderedPost, delivery: Delivery) -> PublishResult:
        r = self._call(
            "POST",
            "/posts",
            json={"text": post.text, "data": dict(delivery.data)},
            headers={"Idempotency-Key": delivery.key},
        )
        if r.status_code != 200:
            self._raise_for(r)
        return PublishResult(r.json()["id"], r.json()["url"])

    def find(self, post: RenderedPost, delivery: Delivery) -> PublishResult | None:
        r = self._call("GET", "/posts", params={"key": delivery.key})
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            self._raise_for(r)
        return PublishResult(r.json()["id"], r.json()["url"])

    def edit(self, original: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult:
        r = self._call("PUT", f"/posts/{original.remote_id}", json={"text": post.text})
        if r.status_code != 200:
            self._raise_for(r)
        return PublishResult(r.json()["id"], r.json()["url"])

    def find_edit(self, original: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult | None:
        r = self._call("GET", f"/posts/{original.remote_id}")
        if r.status_code != 200:
            self._raise_for(r)
        return PublishResult(r.json()["id"], r.json()["url"]) if r.json()["text"] == post.text else None

    def reply(self, parent: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult:
        r = self._call("POST", "/posts", json={"text": post.text, "data": dict(delivery.data),
                                               "in_reply_to": parent.remote_id},
                       headers={"Idempotency-Key": delivery.key})
        if r.status_code != 200:
            self._raise_for(r)
        return PublishResult(r.json()["id"], r.json()["url"])

    def find_reply(self, parent: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult | None:
        found = self.find(post, delivery)
        if found is None:
            return None
        r = self._call("GET", f"/posts/{found.remote_id}")
        return found if r.status_code == 200 and r.json()["in_reply_to"] == parent.remote_id else None

    def delete(self, remote_id: str) -> None:
        if not self.account.options.get("delete"):
            raise Rejected("mastodon", "delete is not offered by this test server")
        r = self._call("DELETE", f"/posts/{remote_id}")
        if r.status_code not in (200, 404):  # 404: already gone, which is what we wanted
            self._raise_for(r)

    def check(self) -> AccountStatus:
        return AccountStatus(self.account.name, "ok")

    def close(self) -> None:
        self.http.close()


@dataclass
class Adapters:
    """adapter_for: one cached KeyedAdapter per account name, all aimed at one server."""

    base_url: str
    tokens: dict[str, str] = field(default_factory=dict)  # account -> token; default TOKEN
    options: dict[str, Any] = field(default_factory=dict)
    timeout: float = 5.0
    cache: dict[str, KeyedAdapter] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, name: str) -> KeyedAdapter:
        with self._lock:
            if name not in self.cache:
                account = Account(
                    name,
                    Network.MASTODON,
                    options={"base_url": self.base_url, **self.options},
                    secrets={"token": "TEST_TOKEN"},
                )
                creds = {"token": Secret(self.tokens.get(name, TOKEN))}
                self.cache[name] = KeyedAdapter(
                    account, creds, AdapterContext(Path("."), timeout=self.timeout)
                )
            return self.cache[name]

    def close(self) -> None:
        for adapter in self.cache.values():
            adapter.close()


# --- subprocess entry points ------------------------------------------------------------------------
def _claim_main(url: str, owner: str, batch: int) -> None:
    store = open_store(url)
    print("ready", flush=True)
    sys.stdin.readline()  # the parent releases all claimers at once
    while True:
        now = datetime.now(UTC)
        jobs = store.claim(owner, now=now, lease_until=now + timedelta(seconds=60), limit=batch)
        if not jobs:
            break
        for job in jobs:
            store.transition(
                job.id, JobState.RUNNING, JobState.PUBLISHED, now=now, reason="done", owner=owner
            )
            print(job.id, flush=True)
    store.close()


def _work_main(url: str, server: str, owner: str, concurrency: int, lease: float) -> None:
    from sharebot.worker import Worker

    store = open_store(url)
    adapters = Adapters(server, timeout=2.0)
    policy = RetryPolicy(base=0.05, cap=0.5, max_attempts=1000, rng=random.Random(owner))
    with Worker(
        store,
        adapters,
        owner=owner,
        clock=lambda: datetime.now(UTC),
        policy=policy,
        concurrency=concurrency,
        lease_seconds=lease,
    ) as worker:
        handled = worker.run(burst=True)
    print(json.dumps({"owner": owner, "handled": handled}), flush=True)


def _retract_main(url: str, server: str, owner: str, patience: float, slugs: list[str]) -> None:
    import time

    from sharebot import app

    store = open_store(url)
    adapters = Adapters(server, options={"delete": True}, timeout=2.0)
    print("ready", flush=True)
    results: dict[str, int] = {}
    for slug in slugs:
        report = app.retract(store, slug, adapters=adapters, clock=lambda: datetime.now(UTC), owner=owner,
                             wait=time.sleep, patience=patience)
        for r in report.results:
            results[str(r.result)] = results.get(str(r.result), 0) + 1
    print(json.dumps(results), flush=True)


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "claim":
        _claim_main(args[0], args[1], int(args[2]))
    elif command == "work":
        _work_main(args[0], args[1], args[2], int(args[3]), float(args[4]))
    elif command == "retract":
        _retract_main(args[0], args[1], args[2], float(args[3]), args[4:])
    else:
        raise SystemExit(f"unknown command {command!r}")
