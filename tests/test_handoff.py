"""`publish` hands its due posts to a running worker (`sharebot.handoff`), and posts them itself without one.

The worker runs in a thread of the test (`app.run_worker(listen=True)`), `publish` through the real CLI,
in-process or as a subprocess (to see which modules it loads). Every test here is bounded by a stop event
or a hand-off timeout, never by a sleep that races the code.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cli_support import NETWORK_MODULES, fresh_process
from cli_support import sharebot as run_sharebot
from conftest import ROOT
from standins import Newsroom

from sharebot import app
from sharebot.config import load_settings
from sharebot.handoff import listen, socket_path
from sharebot.jobs import JobState
from sharebot.storage import open_store

SLUG = "putin-xi-videogespraech-partnerschaft"
ONLY = "x,mastodon"  # two SDK-backed networks (tweepy, Mastodon.py) on local stand-ins


@pytest.fixture
def room(newsroom: Newsroom, tmp_path: Path) -> Newsroom:
    newsroom.write_site(tmp_path, [SLUG, SLUG + "-2"])
    newsroom.write_config(tmp_path, database="q.db")
    return newsroom


def settings_of(room: Newsroom, database: str | None = None, without: str = "\0"):
    assert room.config is not None
    env = {**{k: v for k, v in room.env().items() if not k.startswith(without)},
           **({"SHAREBOT_DATABASE_URL": database} if database else {})}
    return load_settings(room.config, env, dotenv_path=room.config.parent / "none.env")


@contextmanager
def running_worker(room: Newsroom, database: str | None = None, without: str = "\0") -> Iterator[threading.Thread]:
    """`sharebot worker` in a thread, listening for hand-offs, until the block ends; its environment lacks the
    variables starting with `without`."""
    settings = settings_of(room, database, without)
    stop = threading.Event()
    store = app.open_queue(settings)
    adapters = app.Adapters(settings)
    listener = app.handoff_listener(settings, store)
    assert listener is not None

    def work() -> None:
        app.run_worker(settings, store=store, adapters=adapters, clock=room.clock, owner="worker@test",
                       concurrency=4, burst=False, stop=stop, listen=listener)

    thread = threading.Thread(target=work)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(timeout=30)
        listener.close()
        adapters.close()
        store.close()


def publish(room: Newsroom, *args: str, env: dict[str, str] | None = None):
    return run_sharebot("--config", str(room.config), "publish", *args, env={**room.env(), **(env or {})},
                        now=room.clock())


def claimed_by(room: Newsroom, database: str | None = None) -> set[str]:
    with open_store(settings_of(room, database).database) as store:
        return {e.reason for j in store.list_jobs() for e in store.events(j.id) if e.reason.startswith("claimed by")}


# --- SQLite: a Unix socket next to the queue ----------------------------------------------------------
def test_publish_hands_its_posts_to_a_running_worker_and_prints_how_they_went(room: Newsroom) -> None:
    with running_worker(room):
        path = socket_path(settings_of(room).database)
        assert path is not None and stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_ISSOCK(path.stat().st_mode)
        result = publish(room, SLUG, "--network", ONLY, "--json")
    assert result.exit_code == 0, result.output
    states = {a["account"]: (a["state"], a["url"]) for a in json.loads(result.stdout)["accounts"]}
    assert {k: s for k, (s, _) in states.items()} == {"x": "published", "mastodon": "published"}
    assert all(url for _, url in states.values())
    assert room.posted()["x"] == 1 and room.posted()["mastodon"] == 1
    assert claimed_by(room) == {"claimed by worker@test"}  # the worker posted them, not publish
    assert not path.exists()  # the worker removed its socket on the way out


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_post_the_worker_has_no_credentials_for_is_refused_to_publish_which_posts_it(
        room: Newsroom, backend: str, request: pytest.FixtureRequest) -> None:
    database = request.getfixturevalue("pg_url") if backend == "postgres" else None
    env = {"SHAREBOT_DATABASE_URL": database} if database else {}
    with running_worker(room, database, without="SHAREBOT_X_"):
        result = publish(room, SLUG, "--network", ONLY, "--json", env=env)
    assert result.exit_code == 0, result.output
    states = {a["account"]: a["state"] for a in json.loads(result.stdout)["accounts"]}
    assert states == {"x": "published", "mastodon": "published"}
    assert room.posted()["x"] == 1 and room.posted()["mastodon"] == 1
    claims = claimed_by(room, database)  # mastodon by the worker, x by publish itself
    assert len(claims) == 2 and "claimed by worker@test" in claims and any(c.startswith("claimed by publish@")
                                                                           for c in claims)
    with open_store(settings_of(room, database).database) as store:
        assert store.account_flags() == {}  # the worker neither failed the post nor flagged the account


def test_publish_on_the_hand_off_path_loads_no_network_sdk(room: Newsroom) -> None:
    with running_worker(room):
        run = fresh_process([["--config", str(room.config), "publish", SLUG, "--network", ONLY]],
                            NETWORK_MODULES,
                            env={**os.environ, **room.env()}, cwd=ROOT)
    assert run.codes == [0], run.stdout + [run.stderr]
    assert run.loaded == []
    assert "published" in run.stdout[0]
    assert room.posted()["x"] == 1 and room.posted()["mastodon"] == 1
    assert claimed_by(room) == {"claimed by worker@test"}


def test_a_stale_socket_file_means_no_worker_publish_posts_itself(room: Newsroom) -> None:
    path = socket_path(settings_of(room).database)
    assert path is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))  # a worker that was killed: the file is there, nobody listens
    dead.close()
    result = publish(room, SLUG, "--network", ONLY)
    assert result.exit_code == 0, result.output
    assert room.posted()["x"] == 1 and room.posted()["mastodon"] == 1
    assert {c.split("@")[0] for c in claimed_by(room)} == {"claimed by publish"}
    # the next worker takes the file over
    with open_store(settings_of(room).database) as store:
        listener = listen(settings_of(room).database, store)
        assert listener is not None
        listener.close()


@contextmanager
def mute_listener(path: Path, *, hang_up: bool) -> Iterator[None]:
    """Something listening at the socket that never answers (a hung worker), or hangs up after reading the
    ids (a worker stopping)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(4)
    done = threading.Event()

    def serve() -> None:
        conn, _ = server.accept()
        conn.recv(4096)
        if hang_up:
            conn.close()
        else:
            done.wait(30)
            conn.close()

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=30)
        server.close()
        path.unlink(missing_ok=True)


def test_a_worker_that_does_not_answer_in_time_leaves_the_posts_queued_and_says_so(room: Newsroom) -> None:
    room.write_config(room.config.parent, database="q.db", extra="")
    text = room.config.read_text().replace("retry_base_seconds = 1", "retry_base_seconds = 1\nhandoff_seconds = 0.3")
    room.config.write_text(text)
    path = socket_path(settings_of(room).database)
    assert path is not None
    with mute_listener(path, hang_up=False):
        result = publish(room, SLUG, "--network", ONLY)
    assert result.exit_code == 4, result.output
    assert result.stdout.count("in progress") == 2 and f"sharebot status {SLUG}" in result.stdout
    assert room.posted()["x"] == 0 and room.posted()["mastodon"] == 0
    with open_store(settings_of(room).database) as store:
        assert {j.state for j in store.list_jobs()} == {JobState.QUEUED}
    # they are the worker's to send: the next one does, once
    burst = run_sharebot("--config", str(room.config), "worker", "--burst", env=room.env(), now=room.clock())
    assert burst.exit_code == 0, burst.output
    assert room.posted()["x"] == 1 and room.posted()["mastodon"] == 1


def test_a_worker_that_goes_away_before_claiming_leaves_the_posts_to_publish(room: Newsroom) -> None:
    path = socket_path(settings_of(room).database)
    assert path is not None
    with mute_listener(path, hang_up=True):
        result = publish(room, SLUG, "--network", ONLY)
    assert result.exit_code == 0, result.output
    assert result.stdout.count("published") == 2
    assert room.posted()["x"] == 1 and room.posted()["mastodon"] == 1


def test_a_second_worker_does_not_take_the_socket_of_a_live_one(room: Newsroom) -> None:
    with running_worker(room), open_store(settings_of(room).database) as store:
        assert listen(settings_of(room).database, store) is None


def test_handoff_seconds_must_be_positive(room: Newsroom) -> None:
    text = room.config.read_text().replace("retry_base_seconds = 1", "retry_base_seconds = 1\nhandoff_seconds = 0")
    room.config.write_text(text)
    result = publish(room, SLUG, "--network", ONLY)
    assert result.exit_code == 1 and "queue.handoff_seconds" in result.stderr, result.output
    assert room.posted()["x"] == 0


# --- PostgreSQL: LISTEN/NOTIFY ------------------------------------------------------------------------
def test_publish_hands_off_over_listen_notify(room: Newsroom, pg_url: str) -> None:
    with running_worker(room, pg_url):
        result = publish(room, SLUG, "--network", ONLY, env={"SHAREBOT_DATABASE_URL": pg_url})
    assert result.exit_code == 0, result.output
    assert result.stdout.count("published") == 2
    assert room.posted()["x"] == 1 and room.posted()["mastodon"] == 1
    assert claimed_by(room, pg_url) == {"claimed by worker@test"}


def test_new_due_jobs_wake_a_listening_worker_on_postgres(room: Newsroom, pg_url: str) -> None:
    from sharebot import pipeline
    from sharebot.queue import enqueue

    settings = settings_of(room, pg_url)
    with open_store(pg_url) as store:
        listener = listen(pg_url, store)
        assert listener is not None
        try:
            assert not listener.wait(0.05)
            article = pipeline.load_article(settings, SLUG)
            preview = pipeline.render_article(settings, article, pipeline.select_accounts(settings, networks=["x"]),
                                              now=room.clock())
            enqueue(store, SLUG, preview.posts, now=room.clock(), run_at=room.clock())
            assert listener.wait(10)  # the NOTIFY of the insert, not a poll
        finally:
            listener.close()
        with open_store(pg_url) as other:
            second = listen(pg_url, other)  # PostgreSQL: every worker listens
            assert second is not None
            second.close()


def test_without_a_worker_the_command_posts_itself_and_leaves_all_written_after_its_fast_exit(room: Newsroom) -> None:
    """The console script ends with os._exit once `main` returned: its output and the queue must be complete."""
    proc = subprocess.run([sys.executable, "-m", "sharebot", "--config", str(room.config), "publish", SLUG,
                           "--network", ONLY, "--json"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **room.env()}, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert {a["state"] for a in json.loads(proc.stdout)["accounts"]} == {"published"}
    with open_store(settings_of(room).database) as store:
        assert {j.state for j in store.list_jobs()} == {JobState.PUBLISHED}
    assert {c.split("@")[0] for c in claimed_by(room)} == {"claimed by publish"}


def test_watch_between_polls_takes_the_posts_publish_hands_over(room: Newsroom) -> None:
    settings = settings_of(room)
    stop = threading.Event()
    polled = threading.Event()
    store, adapters = app.open_queue(settings), app.Adapters(settings)

    def watch() -> None:
        app.run_watch(settings, store=store, adapters=adapters, clock=room.clock, owner="watch@test", stop=stop,
                      on_report=lambda report: polled.set(), interval=600)

    thread = threading.Thread(target=watch)
    thread.start()
    try:
        assert polled.wait(60)  # its first poll only records the articles there; now it waits 600 s for the next
        path = socket_path(settings.database)
        assert path is not None and path.exists()
        result = publish(room, SLUG, "--network", ONLY)
    finally:
        stop.set()
        thread.join(timeout=60)
        adapters.close()
        store.close()
    assert result.exit_code == 0, result.output
    assert result.stdout.count("published") == 2
    assert claimed_by(room) == {"claimed by watch@test"}
    assert not path.exists()


def test_a_handed_job_the_worker_cannot_claim_is_refused_and_not_posted(room: Newsroom) -> None:
    from sharebot import pipeline
    from sharebot.handoff import hand_off
    from sharebot.queue import cancel, enqueue

    settings = settings_of(room)
    with open_store(settings.database) as store:
        article = pipeline.load_article(settings, SLUG)
        preview = pipeline.render_article(settings, article, pipeline.select_accounts(settings, networks=["x"]),
                                          now=room.clock())
        [job] = enqueue(store, SLUG, preview.posts, now=room.clock(), run_at=room.clock()).added
        # Canceled after publish queued it (before the worker starts, so no poll of it can take it first).
        cancel(store, job.id, room.clock())
        with running_worker(room):
            handed = hand_off(settings.database, store, [job], timeout=30)
    assert handed is not None
    assert (handed.settled, handed.refused, handed.waiting) == ({}, [job.id], [])
    assert room.posted()["x"] == 0


def test_a_refused_job_another_worker_took_meanwhile_is_in_progress_not_refused(room: Newsroom) -> None:
    from datetime import timedelta

    from sharebot.handoff import Handed
    from sharebot.pipeline import PublishRequest, resolve
    from sharebot.scheduler import PublishMode

    settings = settings_of(room)

    def refused_then_taken(store, jobs):
        # One worker refuses them; before publish can claim them, another takes them.
        now = room.clock()
        store.claim("worker@elsewhere", now=now, lease_until=now + timedelta(minutes=2), limit=len(jobs),
                    ids=[j.id for j in jobs])
        return Handed({}, [j.id for j in jobs], [])

    chosen = resolve(settings, PublishRequest(SLUG, ("x",), mode=PublishMode.NOW), now=room.clock())
    with open_store(settings.database) as store:
        report = app.publish_article(settings, chosen.article, chosen.accounts, store=store,
                                     adapters=app.Adapters(settings), clock=room.clock, owner="publish@test",
                                     mode=chosen.mode, handoff=refused_then_taken)
    [line] = report.lines
    assert (line.state, line.detail) == (app.LineState.IN_PROGRESS, "being posted by worker@elsewhere")
    assert report.exit is app.Exit.UNSETTLED and room.posted()["x"] == 0  # nothing sent twice, none claimed here
