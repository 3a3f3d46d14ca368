"""A small threaded HTTP server that network stand-ins build on.

A stand-in subclasses `FakeAPI`, registers handlers with `route`, and keeps its own state (posts, ids).
Tests steer failures per call with `fail_next` (a status and body, optionally after a delay), `drop_next`
(close the connection without answering, after the request was read), `stall_next` (no answer until the
client gives up), `hold_next` (the answer waits for the test) and `delay` (slow answers), and read what
arrived from `requests`.

A network stand-in is given the test's clock: it stamps posts, rate-limit resets and the Date header with
it, so a test on a fixed time sees the same time from both sides of the wire. `delay` and fault delays
really sleep: they simulate a slow network. A test that needs the client to time out uses `stall_next`
instead, so no sleep races the client's timer.
"""

from __future__ import annotations

import email.utils
import json
import re
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list -> JSON, bytes/str as is
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Fault:
    method: str | None
    pattern: str | None
    response: Response | None  # None: drop the connection
    delay: float
    after: bool  # True: let the handler run (the post is made), then fail or drop
    stall: bool = False  # True: before failing or dropping, wait until the client closes the connection


Handler = Callable[[Request, re.Match[str]], Response]
# The longest a stalled or held request waits: far beyond any client timeout a test sets, short enough
# that a test that forgot to release one fails instead of hanging.
WAIT_LIMIT = 30.0


@dataclass
class Clock:
    """The time a test runs at, fixed until the test moves it."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


class FakeAPI:
    def __init__(self, *, clock: Callable[[], datetime] | None = None) -> None:
        # None only for servers whose answers carry no time (image hosts, the PDS proxy): the Date header
        # then reads the real clock, as http.server's does.
        self.clock = clock
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.requests: list[Request] = []
        self.delay = 0.0
        self._faults: list[_Fault] = []
        self._holds: list[tuple[str | None, str | None, threading.Event]] = []
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None

    # --- configuration -------------------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(pattern + r"$"), handler))

    def fail_next(self, status: int, body: Any = None, headers: dict[str, str] | None = None, *,
                  method: str | None = None, path: str | None = None, after: bool = False,
                  delay: float = 0.0) -> None:
        """The next matching request gets this answer; with after=True the handler runs first."""
        self._faults.append(_Fault(method, path, Response(status, body, headers or {}), delay, after))

    def drop_next(self, *, method: str | None = None, path: str | None = None, after: bool = False,
                  delay: float = 0.0) -> None:
        """Close the next matching request's connection without answering."""
        self._faults.append(_Fault(method, path, None, delay, after))

    def stall_next(self, *, method: str | None = None, path: str | None = None, after: bool = False) -> None:
        """Do not answer the next matching request until the client gives up on it (its timeout), then close
        the connection; with after=True the handler runs first (the post is made)."""
        self._faults.append(_Fault(method, path, None, 0.0, after, stall=True))

    def hold_next(self, *, method: str | None = None, path: str | None = None) -> threading.Event:
        """The next matching request is handled and answered once the test sets the returned event."""
        release = threading.Event()
        self._holds.append((method, path, release))
        return release

    # --- lifecycle -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeAPI:
        api = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def log_message(self, *args: Any) -> None:
                pass

            def date_time_string(self, timestamp: float | None = None) -> str:
                if api.clock is None:
                    return super().date_time_string(timestamp)
                return email.utils.format_datetime(api.clock().astimezone(UTC), usegmt=True)

            def _serve(self) -> None:
                api._dispatch(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeAPI:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # --- dispatch ------------------------------------------------------------------------------
    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for i, fault in enumerate(self._faults):
                if (fault.method in (None, method)) and (fault.pattern is None or re.search(fault.pattern, path)):
                    return self._faults.pop(i)
        return None

    def _take_hold(self, method: str, path: str) -> threading.Event | None:
        with self._lock:
            for i, (want, pattern, release) in enumerate(self._holds):
                if want in (None, method) and (pattern is None or re.search(pattern, path)):
                    del self._holds[i]
                    return release
        return None

    @staticmethod
    def _wait(h: BaseHTTPRequestHandler, fault: _Fault) -> None:
        if not fault.stall:
            time.sleep(fault.delay)
            return
        deadline = time.monotonic() + WAIT_LIMIT
        while time.monotonic() < deadline:
            readable, _, _ = select.select([h.connection], [], [], 0.05)
            if readable:  # the client closed its end (or, unexpectedly, sent more): stop waiting
                return

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        req = Request(h.command, parts.path, parse_qs(parts.query), {k.lower(): v for k, v in h.headers.items()}, body)
        with self._lock:
            self.requests.append(req)
        fault = self._take_fault(req.method, req.path)
        if self.delay:
            time.sleep(self.delay)
        if release := self._take_hold(req.method, req.path):
            release.wait(WAIT_LIMIT)
        response: Response | None
        if fault and not fault.after:
            self._wait(h, fault)
            response = fault.response
        else:
            response = self._handle(req)
            if fault:
                self._wait(h, fault)
                response = fault.response
        if response is None:  # dropped: the client sees the connection close with no answer
            try:
                h.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            h.close_connection = True
            return
        self._write(h, response)

    def _handle(self, req: Request) -> Response:
        for method, pattern, handler in self.routes:
            match = pattern.match(req.path)
            if match and method == req.method:
                with self._lock:
                    return handler(req, match)
        return Response(404, {"error": f"no route for {req.method} {req.path}"})

    @staticmethod
    def _write(h: BaseHTTPRequestHandler, response: Response) -> None:
        body = response.body
        headers = dict(response.headers)
        if isinstance(body, (dict, list)):
            payload = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        elif isinstance(body, str):
            payload = body.encode()
        else:
            payload = body or b""
        try:
            h.send_response(response.status)
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass
