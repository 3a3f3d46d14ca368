"""`sharebot publish` end to end: the real CLI, the real queue, every adapter, local stand-ins and the real PDS."""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_support import sharebot as run_sharebot
from pds import get_record
from standins import Newsroom

from sharebot import app, pipeline
from sharebot.config import load_settings
from sharebot.queue import enqueue

SLUG = "putin-xi-videogespraech-partnerschaft"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def room(newsroom: Newsroom, pds, tmp_path: Path) -> Newsroom:
    """Every network, Bluesky on the real PDS, the seed article, and a config for them all."""
    newsroom.add_bluesky(pds)
    newsroom.write_site(tmp_path, [SLUG])
    newsroom.write_config(tmp_path)
    return newsroom


def sharebot(room: Newsroom, *args: str, env: dict[str, str] | None = None):
    """The CLI on the room's config and clock; `env` instead of the room's whole environment."""
    return run_sharebot("--config", str(room.config), *args, env=room.env() if env is None else env,
                        now=room.clock())


def test_publish_posts_everywhere_once_and_a_second_run_posts_nothing(room: Newsroom, pds, caplog):
    caplog.set_level(logging.DEBUG)
    first = sharebot(room, "publish", SLUG, "--json")
    assert first.exit_code == 0, first.output
    report = json.loads(first.output)
    states = {a["account"]: a["state"] for a in report["accounts"]}
    assert states == {"x": "published", "bluesky": "published", "mastodon": "published", "linkedin": "published",
                      "facebook": "published", "threads": "published", "telegram": "published",
                      "whatsapp": "share link"}
    assert room.posted() == {"x": 1, "mastodon": 1, "linkedin": 1, "facebook": 1, "threads": 1, "telegram": 1}
    urls = {a["account"]: a["url"] for a in report["accounts"]}
    assert all(urls.values())
    assert urls["whatsapp"].startswith("https://wa.me/?text=")

    # Bluesky: the record on the PDS has the card with a JPEG thumbnail, the language and the tag facets
    rkey = urls["bluesky"].rsplit("/", 1)[-1]
    record = get_record(pds, room.bluesky.did, rkey)["value"]
    assert record["langs"] == ["de"]
    card = record["embed"]["external"]
    assert card["uri"].endswith("utm_source=bluesky&utm_medium=social&utm_campaign=" + SLUG)
    assert card["thumb"]["mimeType"] == "image/jpeg" and card["thumb"]["size"] <= 1_000_000
    tags = [f for f in record["facets"] if f["features"][0]["$type"] == "app.bsky.richtext.facet#tag"]
    for facet in tags:
        start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
        assert record["text"].encode()[start:end].decode() == "#" + facet["features"][0]["tag"]

    # what went out is exactly what the dry run shows
    preview = json.loads(sharebot(room, "publish", SLUG, "--dry-run", "--json").output)
    texts = {p["account"]: p["text"] for p in preview["posts"]}
    assert record["text"] == texts["bluesky"]
    assert next(iter(room.x.tweets.values())).sent == texts["x"]
    assert room.telegram.messages[0].params["text"] == texts["telegram"]
    assert next(iter(room.mastodon.statuses.values()))["text"] == texts["mastodon"]

    second = sharebot(room, "publish", SLUG)
    assert second.exit_code == 0, second.output
    assert "earlier run" in second.output
    assert room.posted() == {"x": 1, "mastodon": 1, "linkedin": 1, "facebook": 1, "threads": 1, "telegram": 1}

    status = sharebot(room, "status", SLUG)
    assert status.exit_code == 0 and status.output.count("published") == 7

    # no secret anywhere: output, logs, the queue database, session files
    secrets = [v for v in room.env().values() if len(v) >= 8]
    db = Path(room.config.parent, "var", "sharebot.db")
    dumped = "\n".join(sqlite3.connect(db).iterdump())
    state = "".join(p.read_text(errors="replace") for p in db.parent.rglob("*") if p.is_file() and p.suffix != ".db"
                    and "session" not in p.name)
    logs = "\n".join(r.getMessage() for r in caplog.records)
    for secret in secrets:
        for where, text in (("stdout", first.output + second.output + status.output), ("logs", logs),
                            ("database", dumped), ("state files", state)):
            assert secret not in text, f"a secret leaked into the {where}"


def test_repost_starts_a_new_round(room: Newsroom):
    assert sharebot(room, "publish", SLUG, "--network", "mastodon,telegram").exit_code == 0
    again = sharebot(room, "publish", SLUG, "--network", "mastodon,telegram", "--repost")
    assert again.exit_code == 0, again.output
    assert "round 2" in again.output
    assert len(room.mastodon.statuses) == 2 and len(room.telegram.messages) == 2


def test_a_failing_network_fails_only_its_account_and_exits_non_zero(room: Newsroom):
    room.facebook.fail_next(400, {"error": {"message": "(#100) Invalid parameter", "type": "OAuthException",
                                                "code": 100, "fbtrace_id": "x"}}, method="POST")
    result = sharebot(room, "publish", SLUG, "--network", "facebook,mastodon")
    assert result.exit_code == 3  # it ran, but a post failed (exits.Exit.FAILED)
    assert "facebook" in result.output and "failed" in result.output
    assert len(room.mastodon.statuses) == 1
    listing = sharebot(room, "queue", "--state", "failed")
    assert "facebook" in listing.output and "Invalid parameter" in listing.output
    job_id = listing.output.split()[0]
    assert sharebot(room, "queue", "retry", job_id).exit_code == 0
    assert sharebot(room, "worker", "--burst").exit_code == 0
    assert len(room.facebook.live) == 1
    history = sharebot(room, "queue", "show", job_id).output
    assert "running -> failed" in history and "failed -> queued" in history and "running -> published" in history


def test_scheduled_with_at_is_posted_by_the_worker_not_now(room: Newsroom):
    result = sharebot(room, "publish", SLUG, "--network", "telegram", "--at", "+2h")
    assert result.exit_code == 0 and "scheduled" in result.output
    assert room.telegram.messages == []
    assert sharebot(room, "worker", "--burst").exit_code == 0
    assert room.telegram.messages == []  # not due yet


def test_retract_deletes_everywhere_and_records_it(room: Newsroom, pds):
    assert sharebot(room, "publish", SLUG).exit_code == 0
    result = sharebot(room, "retract", SLUG, "--yes")  # no terminal to ask: --yes says go ahead
    assert result.exit_code == 0, result.output
    assert result.output.count("deleted") == 7
    assert room.posted() == {"x": 0, "mastodon": 0, "linkedin": 0, "facebook": 0, "threads": 0, "telegram": 0}
    assert sharebot(room, "status", SLUG).output.count("deleted") == 7


def test_accounts_lists_masked_and_check_verifies(room: Newsroom):
    listing = sharebot(room, "accounts")
    assert listing.exit_code == 0
    for secret in room.env().values():
        assert secret not in listing.output
    assert "SHAREBOT_X_CONSUMER_KEY=" in listing.output
    check = sharebot(room, "accounts", "check")
    assert check.exit_code == 0, check.output
    assert check.output.count(" ok ") + check.output.count(" ok\n") >= 7


def test_accounts_check_reports_a_missing_credential(room: Newsroom):
    env = {k: v for k, v in room.env().items() if k != "SHAREBOT_TELEGRAM_BOT_TOKEN"}
    result = sharebot(room, "accounts", "check", env={**env, "SHAREBOT_TELEGRAM_BOT_TOKEN": ""})
    assert result.exit_code == 3  # it ran, but an account cannot post (exits.Exit.FAILED)
    line = next(line for line in result.output.splitlines() if line.startswith("telegram"))
    assert "missing" in line and "SHAREBOT_TELEGRAM_BOT_TOKEN" in line


@pytest.mark.slow
def test_sigterm_lets_the_worker_finish_the_post_in_hand(newsroom: Newsroom, tmp_path: Path):
    newsroom.write_site(tmp_path, [SLUG])
    config = newsroom.write_config(tmp_path)
    answer = newsroom.mastodon.hold_next(method="POST", path="/api/v1/statuses")
    settings = load_settings(config, newsroom.env(), dotenv_path=tmp_path / "none")
    store = app.open_queue(settings)
    article = pipeline.load_article(settings, SLUG)
    post = pipeline.render_article(settings, article, [settings.account("mastodon")]).posts[0]
    # The worker runs in a process of its own, on the wall clock: the job must be due by that clock, even
    # should the two processes' clocks differ a little (faketime starts each process's clock afresh).
    enqueue(store, SLUG, [post], now=datetime.now(UTC) - timedelta(hours=1))
    store.close()
    env = {**os.environ, **newsroom.env()}
    worker = subprocess.Popen([sys.executable, "-m", "sharebot", "--config", str(config), "worker"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not any(r.path == "/api/v1/statuses" for r in newsroom.mastodon.requests):
        assert time.monotonic() < deadline and worker.poll() is None, "the worker never posted"
        time.sleep(0.05)
    worker.send_signal(signal.SIGTERM)  # mid-post: the stand-in holds the answer until now
    answer.set()
    out, err = worker.communicate(timeout=20)
    assert worker.returncode == 0, err
    assert "worker handled 1 job(s)" in out
    store = app.open_queue(settings)
    [job] = store.list_jobs(slug=SLUG)
    store.close()
    assert job.state == "published" and len(newsroom.mastodon.statuses) == 1
