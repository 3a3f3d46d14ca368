"""Corrections before sending: an article changed after its posts were queued gets its queued posts
rendered again, and the corrected one is what goes out; a post already in a worker's hands is never
changed under it."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_support import sharebot
from standins import Newsroom

from sharebot import app
from sharebot.config import load_settings
from sharebot.queue import RetryPolicy
from sharebot.worker import Worker

NOW = datetime(2026, 11, 25, 9, 17, tzinfo=UTC)  # Wed 10:17 in Berlin
LATER = NOW + timedelta(hours=3, minutes=14)  # 13:31: past mastodon's 12:30 slot
SCHEDULES = """
[schedule]
slots = { weekdays = ["07:30", "12:30", "18:30"] }
[accounts.x.schedule]
immediate = true
"""
TYPO = "Putin und Xi stärken strategische Partnerschft in Videogespräch"
FIXED = "Putin und Xi stärken strategische Partnerschaft in Videogespräch"


@pytest.fixture
def room(newsroom: Newsroom, tmp_path: Path) -> Newsroom:
    newsroom.write_site(tmp_path, ["eins"])
    newsroom.write_config(tmp_path, extra=SCHEDULES)
    retitle(newsroom, FIXED, TYPO)
    return newsroom


def retitle(room: Newsroom, old: str, new: str) -> None:
    assert room.config is not None
    path = room.config.parent / "content" / "eins.md"
    text = path.read_text(encoding="utf-8")
    assert f"title: {old}\n" in text
    path.write_text(text.replace(f"title: {old}\n", f"title: {new}\n"), encoding="utf-8")


def cli(room: Newsroom, *args: str, now: datetime = NOW):
    return sharebot("--config", str(room.config), *args, env=room.env(), now=now)


def open_queue(room: Newsroom):
    return app.open_queue(load_settings(room.config, room.env(), dotenv_path=room.config.parent / "none"))


def test_a_fixed_typo_reaches_the_queued_post_and_goes_out(room: Newsroom):
    first = cli(room, "publish", "eins", "--network", "x,mastodon")
    assert first.exit_code == 0, first.output
    assert [line.split()[:3] for line in first.stdout.splitlines()[1:3]] == [
        ["x", "x", "published"], ["mastodon", "mastodon", "scheduled"]]
    retitle(room, TYPO, FIXED)

    dry = cli(room, "publish", "eins", "--dry-run", "--network", "x,mastodon")
    assert dry.exit_code == 0, dry.output
    assert "  queue     job 2 holds an older post: publish updates it\n" in dry.stdout
    assert f"            - {TYPO}\n            + {FIXED}\n" in dry.stdout
    assert "  queue     job 1 holds an older post: not updated, it went out as it was\n" in dry.stdout
    preview = json.loads(cli(room, "publish", "eins", "--dry-run", "--json", "--network", "mastodon").stdout)
    changes = [f"- {TYPO}", f"+ {FIXED}", f"- card title: {TYPO}", f"+ card title: {FIXED}"]
    assert preview["corrections"] == [{"account": "mastodon", "job": 2, "state": "queued", "updated": False,
                                       "changes": changes}]

    again = cli(room, "publish", "eins", "--network", "x,mastodon")
    assert again.exit_code == 0, again.output
    lines = again.stdout.splitlines()
    assert lines[1].split()[:4] == ["x", "x", "published", "(earlier"]
    assert lines[2:5] == ["      post not updated, it went out as it was:", f"        - {TYPO}", f"        + {FIXED}"]
    mastodon = next(i for i, line in enumerate(lines) if line.startswith("  mastodon"))
    assert lines[mastodon].split()[:4] == ["mastodon", "mastodon", "queued", "(earlier"]
    assert lines[mastodon + 1:mastodon + 6] == ["      post updated:"] + [f"        {change}" for change in changes]
    assert cli(room, "publish", "eins", "--network", "mastodon").stdout.count("post updated") == 0  # once

    shown = cli(room, "queue", "show", "2").stdout
    assert FIXED in shown and TYPO not in shown and "queued -> queued  post updated: text" in shown

    assert cli(room, "worker", "--burst", now=LATER).exit_code == 0
    [status] = room.mastodon.statuses.values()
    with open_queue(room) as store:
        job = store.get(2)
    assert job.state == "published" and status["text"] == job.post.text and status["text"].startswith(FIXED)
    assert next(iter(room.x.tweets.values())).sent.startswith(TYPO)  # it went out before the fix


def test_a_config_change_corrects_queued_posts_too(room: Newsroom):
    assert cli(room, "publish", "eins", "--network", "mastodon").exit_code == 0
    room.config.write_text(room.config.read_text() + '\n[templates]\nmastodon = "{title}\\n\\n{link}"\n')
    again = cli(room, "publish", "eins", "--network", "mastodon", "--json")
    [line] = json.loads(again.stdout)["accounts"]
    assert line["post_updated"] and any(change.startswith("- #") for change in line["changes"])
    with open_queue(room) as store:
        assert "#" not in store.get(line["job"]).post.text


def test_a_post_a_worker_is_sending_is_not_corrected_under_it(room: Newsroom):
    assert cli(room, "publish", "eins", "--network", "mastodon").exit_code == 0
    release = room.mastodon.hold_next(method="POST", path=r"/api/v1/statuses$")
    settings = load_settings(room.config, room.env(), dotenv_path=room.config.parent / "none")
    store, adapters = app.open_queue(settings), app.Adapters(settings)
    worker = Worker(store, adapters, owner="w", clock=lambda: LATER, policy=RetryPolicy())
    sent = threading.Thread(target=worker.run, kwargs={"burst": True}, daemon=True)
    sent.start()
    try:
        waited = time.monotonic()
        while not any(r.method == "POST" and r.path.endswith("/statuses") for r in room.mastodon.requests):
            assert time.monotonic() - waited < 10, "the worker never reached the stand-in"
            time.sleep(0.01)
        assert store.get(1).state == "running"
        retitle(room, TYPO, FIXED)
        during = cli(room, "publish", "eins", "--network", "mastodon", now=LATER)
        assert during.exit_code == 0, during.output
        assert during.stdout.splitlines()[1:5] == [
            "  mastodon     mastodon  running    (earlier run)",
            "      post not updated, it is being sent as it was:", f"        - {TYPO}", f"        + {FIXED}"]
        assert "queued" not in during.stdout
        assert store.get(1).post.text.startswith(TYPO)
    finally:
        release.set()
        sent.join(timeout=30)
        worker.close()
        adapters.close()
    [status] = room.mastodon.statuses.values()
    job, events = store.get(1), store.events(1)
    store.close()
    assert job.state == "published" and status["text"] == job.post.text and status["text"].startswith(TYPO)
    assert [e.reason for e in events if "post updated" in e.reason] == []
