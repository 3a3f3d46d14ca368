"""Handing `publish`'s due jobs to a running worker, so the editor's command never loads a network SDK.

A `sharebot worker` (or `watch`) listens; `publish` enqueues as always, then passes the new jobs' ids to it
and waits for them to settle. Only ids cross: the worker claims them with the queue's own compare-and-set
(`Store.claim`), exactly as it claims anything else, and what happened is read back from the queue's history.
Without a live listener `publish` posts in-process, as before.

- SQLite: a Unix domain socket next to the queue file (`queue.db.sock`, mode 0600). `publish` connects and
  writes one id per line; the worker writes back `ID settled` when the job left `running`, or `ID refused`
  when it could not claim it. A socket file nobody listens on (a worker that was killed) refuses the
  connection: `publish` then posts in-process and the next worker replaces the file.
- PostgreSQL: LISTEN/NOTIFY (https://www.postgresql.org/docs/current/sql-notify.html). Workers LISTEN on
  `sharebot_jobs` on a connection named `sharebot-worker` (which is how `publish` sees one is live, in
  pg_stat_activity); `publish` LISTENs on `sharebot_settled` and NOTIFYs the ids; the worker that wins the
  claim NOTIFYs them back as they settle, and a worker that cannot claim one NOTIFYs `refused:ID`. New jobs
  also NOTIFY `sharebot_jobs`, so idle workers wake at once instead of polling the table every second.

Either way `publish` posts a handed job itself when a worker refused it and it is still queued (the worker
lacks the account's credentials), or refuses it likewise (the account is flagged, the job was canceled).
"""

from __future__ import annotations

import logging
import os
import selectors
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple

from sharebot.jobs import Job, JobState
from sharebot.store import Store, is_postgres

log = logging.getLogger("sharebot.handoff")

JOBS_CHANNEL = "sharebot_jobs"
SETTLED_CHANNEL = "sharebot_settled"
WORKER_APP_NAME = "sharebot-worker"
_SUN_PATH_MAX = 107  # bytes in sockaddr_un.sun_path, less the terminating NUL (Linux)
_POLL = 0.25  # seconds between looks at the queue while waiting, whatever the channel says


def pg_names(schema: str) -> tuple[str, str, str]:
    """The channels and the worker connections' application_name for a queue in this schema. Notifications
    are per database, not per schema: two queues in one database must not hear each other's job ids."""
    suffix = "" if schema == "public" else f":{schema}"
    return (JOBS_CHANNEL + suffix)[:63], (SETTLED_CHANNEL + suffix)[:63], (WORKER_APP_NAME + suffix)[:63]


def _schema(conn: Any) -> str:
    row = conn.execute("SELECT current_schema()").fetchone()
    return str(row[0] if row else "public")


def socket_path(database: str) -> Path | None:
    """Where a worker on this SQLite queue listens; None for PostgreSQL, an in-memory queue, or a path too
    long for a Unix socket address."""
    if is_postgres(database) or database in (":memory:", "") or not hasattr(socket, "AF_UNIX"):
        return None
    path = Path(database + ".sock")
    return path if len(os.fsencode(path)) <= _SUN_PATH_MAX else None


# --- the worker's side ----------------------------------------------------------------------------------------
class Listener(ABC):
    """Job ids `publish` handed over, and a wake-up for the worker's idle wait. Thread-safe."""

    poll_seconds: float = 1.0  # how often an idle worker still looks at the queue by itself

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._asked: list[int] = []
        self._wake = threading.Event()
        self._stopped = threading.Event()

    def take(self) -> list[int]:
        """The ids handed over since the last call."""
        with self._lock:
            asked, self._asked = self._asked, []
        return asked

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for a hand-off or new jobs; True if one came."""
        woke = self._wake.wait(timeout)
        self._wake.clear()
        return woke

    def _hand(self, ids: Iterable[int]) -> None:
        with self._lock:
            self._asked.extend(ids)
        self._wake.set()

    @abstractmethod
    def answer(self, *, settled: Iterable[int] = (), refused: Iterable[int] = ()) -> None:
        """Tell whoever handed these ids over: they settled, or this worker could not claim them."""

    def close(self) -> None:
        self._stopped.set()
        self._wake.set()

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class SocketListener(Listener):
    """A Unix domain socket next to the SQLite queue."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._interest: dict[int, set[socket.socket]] = {}
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # Bound under a temporary name, made private, then renamed into place: no moment where the socket is
        # reachable with the umask's mode, and a stale file from a dead worker is replaced in one step.
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}")
        try:
            tmp.unlink(missing_ok=True)
            self._server.bind(str(tmp))
            os.chmod(tmp, 0o600)
            self._server.listen(16)
            os.replace(tmp, path)
        except OSError:
            self._server.close()
            tmp.unlink(missing_ok=True)
            raise
        self._inode = path.stat().st_ino
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._server, selectors.EVENT_READ)
        self._buffers: dict[socket.socket, bytes] = {}
        self._thread = threading.Thread(target=self._serve, name="sharebot-handoff", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopped.is_set():
            for key, _ in self._selector.select(timeout=0.2):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self._server:
                    conn, _ = self._server.accept()
                    conn.settimeout(1.0)
                    self._buffers[conn] = b""
                    self._selector.register(conn, selectors.EVENT_READ)
                    continue
                try:
                    data = sock.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    self._drop(sock)
                    continue
                lines = (self._buffers[sock] + data).split(b"\n")
                self._buffers[sock] = lines.pop()
                ids = [int(line) for line in lines if line.strip().isdigit()]
                with self._lock:
                    for job_id in ids:
                        self._interest.setdefault(job_id, set()).add(sock)
                self._hand(ids)
        for key in list(self._selector.get_map().values()):
            if key.fileobj is not self._server:
                self._drop(key.fileobj)  # type: ignore[arg-type]

    def _drop(self, sock: socket.socket) -> None:
        self._selector.unregister(sock)
        self._buffers.pop(sock, None)
        with self._lock:
            for job_id in [i for i, socks in self._interest.items() if sock in socks]:
                self._interest[job_id].discard(sock)
                if not self._interest[job_id]:
                    del self._interest[job_id]
        sock.close()

    def answer(self, *, settled: Iterable[int] = (), refused: Iterable[int] = ()) -> None:
        messages: dict[socket.socket, list[str]] = {}
        with self._lock:
            for word, ids in (("settled", settled), ("refused", refused)):
                for job_id in ids:
                    for sock in self._interest.pop(job_id, ()):
                        messages.setdefault(sock, []).append(f"{job_id} {word}\n")
        for sock, lines in messages.items():
            try:
                sock.sendall("".join(lines).encode())
            except OSError:  # that publish went away; its jobs are posted all the same
                pass

    def close(self) -> None:
        super().close()
        self._thread.join()
        self._selector.unregister(self._server)
        self._server.close()
        self._selector.close()
        try:  # only our own file: a later worker may have replaced it
            if self.path.stat().st_ino == self._inode:
                self.path.unlink()
        except OSError:
            pass


REFUSED_PREFIX = "refused:"  # on the settled channel: ids a worker could not claim


class NotifyListener(Listener):
    """LISTEN on PostgreSQL, on a connection of its own (a connection waiting for notifications is busy)."""

    poll_seconds = 5.0  # new jobs NOTIFY, so the queue is polled only for jobs whose time came

    def __init__(self, url: str, store: Store) -> None:
        import psycopg
        from psycopg import sql

        super().__init__()
        self._store = store
        self._conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        jobs, self._settled_channel, name = pg_names(_schema(self._conn))
        self._conn.execute("SELECT set_config('application_name', %s, false)", (name,))
        self._conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(jobs)))
        self._thread = threading.Thread(target=self._serve, name="sharebot-listen", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        import psycopg

        try:
            while not self._stopped.is_set():
                for note in self._conn.notifies(timeout=0.2):
                    self._hand(int(i) for i in note.payload.split(",") if i.isdigit())
        except psycopg.Error as exc:  # the worker goes on polling; publish sees no listener and posts itself
            log.warning("stopped listening for new jobs: %s", str(exc).splitlines()[0] if str(exc) else exc)

    def answer(self, *, settled: Iterable[int] = (), refused: Iterable[int] = ()) -> None:
        # A refusal is said too (`refused:` before the ids): `publish` takes it as final only for a job no other
        # worker holds by then, and posts a job still queued itself (its claim is the compare-and-set).
        notify = getattr(self._store, "notify", None)
        for prefix, ids in (("", settled), (REFUSED_PREFIX, refused)):
            payload = ",".join(str(i) for i in ids)
            if payload and notify is not None:
                notify(self._settled_channel, prefix + payload)

    def close(self) -> None:
        super().close()
        self._thread.join()
        self._conn.close()


def listen(database: str, store: Store) -> Listener | None:
    """Start listening for hand-offs on this queue; None when another worker already does (SQLite: one
    listener per queue file), or it cannot be done here."""
    if is_postgres(database):
        try:
            return NotifyListener(database, store)
        except Exception as exc:  # noqa: BLE001 - polling still works; hand-off is an optimisation
            log.warning("not listening for hand-offs: %s", str(exc).splitlines()[0] if str(exc) else exc)
            return None
    path = socket_path(database)
    if path is None:
        return None
    if _connect(path) is not None:
        return None  # another live worker listens: it takes the hand-offs, this one polls
    try:
        return SocketListener(path)
    except OSError as exc:
        log.warning("not listening for hand-offs on %s: %s", path, exc)
        return None


def _connect(path: Path) -> socket.socket | None:
    """A connection to the worker listening at `path`, or None when none does (no file, or a stale one)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
    except OSError:
        sock.close()
        return None
    return sock


# --- publish's side -------------------------------------------------------------------------------------------
class Handed(NamedTuple):
    """What became of the jobs handed to a worker."""

    settled: dict[int, str]  # job id -> what the worker recorded when it left `running`
    refused: list[int]  # the worker could not claim them (no longer queued, or the account is flagged)
    waiting: list[int]  # not settled when the wait ran out: still queued or being posted
    lost: bool = False  # the worker went away before answering for all of them


class _Channel(ABC):
    @abstractmethod
    def send(self, ids: list[int]) -> None: ...

    @abstractmethod
    def receive(self, timeout: float) -> list[tuple[int, str]] | None:
        """(id, "settled" | "refused") pairs that arrived within `timeout`; None when the worker is gone."""

    @abstractmethod
    def close(self) -> None: ...


class _SocketChannel(_Channel):
    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = b""

    def send(self, ids: list[int]) -> None:
        self._sock.sendall("".join(f"{i}\n" for i in ids).encode())

    def receive(self, timeout: float) -> list[tuple[int, str]] | None:
        self._sock.settimeout(max(timeout, 0.001))
        try:
            data = self._sock.recv(4096)
        except TimeoutError:
            return []
        except OSError:
            return None
        if not data:
            return None
        lines = (self._buffer + data).split(b"\n")
        self._buffer = lines.pop()
        found = []
        for line in lines:
            job_id, _, word = line.decode().partition(" ")
            if job_id.isdigit():
                found.append((int(job_id), word.strip()))
        return found

    def close(self) -> None:
        self._sock.close()


class _NotifyChannel(_Channel):
    def __init__(self, conn: Any, jobs_channel: str) -> None:
        self._conn = conn
        self._jobs_channel = jobs_channel

    def send(self, ids: list[int]) -> None:
        self._conn.execute("SELECT pg_notify(%s, %s)", (self._jobs_channel, ",".join(str(i) for i in ids)))

    def receive(self, timeout: float) -> list[tuple[int, str]] | None:
        import psycopg

        try:
            notes = list(self._conn.notifies(timeout=max(timeout, 0.001), stop_after=1))
        except psycopg.Error:
            return None
        found = []
        for note in notes:
            refused = note.payload.startswith(REFUSED_PREFIX)
            ids = note.payload.removeprefix(REFUSED_PREFIX).split(",")
            found += [(int(i), "refused" if refused else "settled") for i in ids if i.isdigit()]
        return found

    def close(self) -> None:
        self._conn.close()


def _open_channel(database: str) -> _Channel | None:
    if not is_postgres(database):
        path = socket_path(database)
        sock = _connect(path) if path is not None else None  # no file: the connect fails
        return _SocketChannel(sock) if sock is not None else None
    import psycopg
    from psycopg import sql

    try:
        conn = psycopg.connect(database, autocommit=True, connect_timeout=10)
    except psycopg.Error:
        return None
    try:
        jobs, settled, name = pg_names(_schema(conn))
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(settled)))
        live = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
                            " AND datname = current_database()", (name,)).fetchone()
    except psycopg.Error:
        conn.close()
        return None
    if not live or not live[0]:
        conn.close()
        return None
    return _NotifyChannel(conn, jobs)


def _settled(store: Store, job_id: int, seen: int) -> str | None:
    """What its worker recorded if the job has left `running` since its first `seen` history events; else None."""
    events = store.events(job_id)[seen:]
    return next((e.reason for e in events if e.from_state is JobState.RUNNING), None)


def hand_off(database: str, store: Store, jobs: list[Job], *, timeout: float,
             monotonic: Callable[[], float] = time.monotonic) -> Handed | None:
    """Pass these queued jobs to a live worker and wait up to `timeout` seconds for them to settle.

    None when no worker listens on this queue: nothing was handed over, the caller posts them itself.
    """
    channel = _open_channel(database)
    if channel is None:
        return None
    try:
        seen = {j.id: len(store.events(j.id)) for j in jobs}
        try:
            channel.send(list(seen))
        except OSError:  # it went away between connecting and sending: nothing was handed over
            return None
        settled: dict[int, str] = {}
        refused: list[int] = []
        open_ids = set(seen)
        deadline = monotonic() + timeout
        lost = False
        while open_ids:
            left = deadline - monotonic()
            if left <= 0:
                break
            messages = [] if lost else channel.receive(min(left, _POLL))
            if messages is None:  # the worker stopped: what it had not claimed is for the caller to post
                lost = True
                messages = []
            for job_id, word in messages:
                if word == "refused" and job_id in open_ids and _settled(store, job_id, seen[job_id]) is None \
                        and store.get(job_id).state is not JobState.RUNNING:
                    refused.append(job_id)
                    open_ids.discard(job_id)
            for job_id in sorted(open_ids):
                detail = _settled(store, job_id, seen[job_id])
                if detail is not None:
                    settled[job_id] = detail
                    open_ids.discard(job_id)
            if lost and all(store.get(i).state is not JobState.RUNNING for i in open_ids):
                break
            if lost:
                time.sleep(_POLL)  # someone else's worker may still hold one: look again shortly
        return Handed(settled, refused, sorted(open_ids), lost)
    finally:
        channel.close()
