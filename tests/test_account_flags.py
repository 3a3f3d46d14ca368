"""Accounts that cannot post are visible and never silent: flags are shown with reason and time, make
`publish` and `worker --burst` exit 3 naming the account, and clear when the credentials change or by hand."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_support import in_room as sharebot
from cli_support import sharebot as run_sharebot
from standins import Newsroom

from sharebot.credentials import fingerprint, same_credentials

SLUG = "putin-xi-videogespraech-partnerschaft"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
UNAUTHORIZED = {"error": "The access token is invalid"}


@pytest.fixture
def room(newsroom: Newsroom, tmp_path: Path) -> Newsroom:
    newsroom.write_site(tmp_path, [SLUG])
    newsroom.write_config(tmp_path)
    return newsroom


def flag_rows(room: Newsroom) -> list[tuple[str, str, str]]:
    assert room.config is not None
    with sqlite3.connect(room.config.parent / "var" / "sharebot.db") as db:
        return db.execute("SELECT name, flag_reason, credential_fingerprint FROM accounts"
                          " WHERE flagged_at IS NOT NULL").fetchall()


def flag_mastodon(room: Newsroom) -> str:
    """A post refused for its credentials: the account is flagged. Returns the failed job's id."""
    room.mastodon.fail_next(401, UNAUTHORIZED, method="POST", path="/api/v1/statuses")
    first = sharebot(room, "publish", SLUG, "--network", "mastodon")
    assert first.exit_code == 3 and "mastodon" in first.stderr
    return sharebot(room, "queue", "--state", "failed").stdout.split()[0]


def test_a_flag_is_shown_everywhere_with_its_reason_and_time(room: Newsroom):
    flag_mastodon(room)
    for args in (("accounts",), ("status", SLUG), ("queue",)):
        shown = sharebot(room, *args)
        line = next(line for line in shown.stdout.splitlines() if "FLAGGED" in line or "cannot post" in line)
        assert "Wed 2026-11-25 10:00 CET" in line and "access token is invalid" in line, args  # 09:00 UTC
        assert "sharebot accounts clear mastodon" in line
    assert sharebot(room, "accounts").exit_code == 3
    assert sharebot(room, "status", SLUG).exit_code == 3


def test_publish_and_the_worker_name_a_flagged_account_and_exit_3(room: Newsroom):
    job_id = flag_mastodon(room)
    again = sharebot(room, "publish", SLUG, "--network", "mastodon,telegram", "--now")
    assert again.exit_code == 3 and "mastodon" in again.stderr
    line = next(line for line in again.stdout.splitlines() if line.strip().startswith("mastodon"))
    assert "cannot post" in line and "flagged" in line
    assert room.posted()["telegram"] == 1  # the others still go out
    assert sharebot(room, "queue", "retry", job_id).exit_code == 0
    burst = sharebot(room, "worker", "--burst")
    assert burst.exit_code == 3 and "1 due job(s) wait: account mastodon cannot post" in burst.stdout
    assert room.posted()["mastodon"] == 0


def test_changed_credentials_clear_the_flag_at_the_next_use(room: Newsroom):
    job_id = flag_mastodon(room)
    [(name, _, stored)] = flag_rows(room)
    assert name == "mastodon" and room.mastodon.token not in stored  # a salted hash, never the secret
    assert same_credentials(stored, {"access_token": room.mastodon.token})
    assert sharebot(room, "queue", "retry", job_id).exit_code == 0
    assert sharebot(room, "worker", "--burst").exit_code == 3  # the same credentials: still flagged
    room.mastodon.token = "FAKE-mastodon-access-token-rotated-7"
    burst = sharebot(room, "worker", "--burst", env={"SHAREBOT_MASTODON_ACCESS_TOKEN": room.mastodon.token})
    assert burst.exit_code == 0, burst.output
    assert room.posted()["mastodon"] == 1 and flag_rows(room) == []


def test_accounts_clear_lifts_a_flag_by_hand(room: Newsroom):
    job_id = flag_mastodon(room)
    cleared = sharebot(room, "accounts", "clear", "mastodon")
    assert cleared.exit_code == 0 and "flag cleared" in cleared.stdout and flag_rows(room) == []
    assert "not flagged" in sharebot(room, "accounts", "clear", "mastodon").stdout
    assert sharebot(room, "accounts", "clear", "nobody").exit_code == 1
    assert sharebot(room, "queue", "retry", job_id).exit_code == 0
    assert sharebot(room, "worker", "--burst").exit_code == 0
    assert room.posted()["mastodon"] == 1


def test_publish_names_an_account_whose_credential_is_missing(room: Newsroom):
    result = sharebot(room, "publish", SLUG, "--network", "mastodon,telegram",
                      env={"SHAREBOT_TELEGRAM_BOT_TOKEN": ""})
    assert result.exit_code == 3 and "telegram" in result.stderr
    line = next(line for line in result.stdout.splitlines() if line.strip().startswith("telegram"))
    assert "cannot post" in line and "SHAREBOT_TELEGRAM_BOT_TOKEN" in line
    assert room.posted() == {"x": 0, "mastodon": 1, "linkedin": 0, "facebook": 0, "threads": 0, "telegram": 0}
    listing = sharebot(room, "accounts", env={"SHAREBOT_TELEGRAM_BOT_TOKEN": ""})
    assert listing.exit_code == 3 and "cannot post: not set: SHAREBOT_TELEGRAM_BOT_TOKEN" in listing.stdout


def test_publish_names_an_account_missing_a_required_option(room: Newsroom):
    assert room.config is not None
    room.config.write_text(room.config.read_text().replace('chat_id = "@sharebot_news"\n', ""))
    result = sharebot(room, "publish", SLUG, "--network", "telegram")
    assert result.exit_code == 1 and "accounts.telegram.chat_id: missing" in result.stderr


def test_fingerprints_are_salted():
    values = {"access_token": "same-secret-value-1234"}
    one, two = fingerprint(values), fingerprint(values)
    assert one != two and same_credentials(one, values) and same_credentials(two, values)
    assert not same_credentials(one, {"access_token": "another-secret-5678"})
    assert "same-secret" not in one


@pytest.mark.parametrize("url", [None, "sqlite:///{dir}/q/queue.db"])
def test_listing_or_clearing_accounts_before_anything_was_queued_leaves_no_queue_behind(room: Newsroom,
                                                                                        url: str | None):
    assert room.config is not None
    queue = room.config.parent / ("q/queue.db" if url else "var/sharebot.db")
    env = {"SHAREBOT_DATABASE_URL": url.format(dir=room.config.parent)} if url else {}
    listing = sharebot(room, "accounts", env=env)
    assert listing.exit_code == 0 and "mastodon" in listing.stdout
    assert "not flagged" in sharebot(room, "accounts", "clear", "mastodon", env=env).stdout
    assert not queue.exists() and not queue.parent.exists()
    assert sharebot(room, "publish", SLUG, "--network", "telegram", env=env).exit_code == 0
    assert queue.exists()  # the URL form names that file


def test_a_worker_without_an_accounts_credentials_leaves_its_posts_and_says_so(room: Newsroom):
    from datetime import timedelta

    queued = sharebot(room, "publish", SLUG, "--network", "mastodon,telegram", "--at", "+1h")
    assert queued.exit_code == 0, queued.output
    here = {"SHAREBOT_MASTODON_ACCESS_TOKEN": ""}  # this machine has no Mastodon token
    burst = run_sharebot("--config", str(room.config), "worker", "--burst", env={**room.env(), **here},
                         now=room.clock() + timedelta(hours=2))
    assert burst.exit_code == 3, burst.output
    assert ("1 due job(s) wait: account mastodon has no credentials here (SHAREBOT_MASTODON_ACCESS_TOKEN not set)"
            in burst.stdout)
    assert "SHAREBOT_MASTODON_ACCESS_TOKEN not set" in burst.stderr  # logged when the worker starts
    assert room.posted()["telegram"] == 1 and room.posted()["mastodon"] == 0
    assert flag_rows(room) == []  # not failed, not flagged: a worker that has the token posts it
    status = sharebot(room, "status", SLUG)
    line = next(line for line in status.stdout.splitlines() if " mastodon " in line)
    assert "left by worker@" in line and "SHAREBOT_MASTODON_ACCESS_TOKEN not set there" in line, status.stdout
    later = run_sharebot("--config", str(room.config), "worker", "--burst", env=room.env(),
                         now=room.clock() + timedelta(hours=2))
    assert later.exit_code == 0 and room.posted()["mastodon"] == 1
