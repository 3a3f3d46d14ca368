"""Every command's exit status says what happened, the same way (sharebot.exits, README "Exit status")."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_support import Result
from cli_support import in_room as sharebot
from conftest import ROOT
from standins import Newsroom

from sharebot.cli import main
from sharebot.exits import Exit, worst

SLUG = "putin-xi-videogespraech-partnerschaft"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
FB_REFUSAL = {"error": {"message": "(#100) Invalid parameter", "type": "OAuthException", "code": 100}}


@pytest.fixture
def room(newsroom: Newsroom, tmp_path: Path) -> Newsroom:
    newsroom.write_site(tmp_path, [SLUG, "zweiter-artikel"])
    newsroom.write_config(tmp_path)
    return newsroom


def test_the_readme_table_is_the_enum():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = re.search(r"### Exit status\n(.*?)\n\n(.*?)\n\n", readme, re.S)
    assert table, "README.md has no 'Exit status' table"
    codes = [int(m) for m in re.findall(r"^\| (\d+) \|", table.group(2), re.M)]
    assert codes == [int(e) for e in Exit]


def test_worst_prefers_failed_over_unsettled():
    assert worst([Exit.OK, Exit.UNSETTLED, Exit.FAILED]) is Exit.FAILED
    assert worst([Exit.UNSETTLED, Exit.OK]) is Exit.UNSETTLED and worst([]) is Exit.OK


def test_publish_dry_run_status_worker_retract_and_accounts(room: Newsroom):
    walk: list[tuple[str, int, int]] = []

    def expect(code: Exit, *args: str, env: dict[str, str] | None = None) -> Result:
        result = sharebot(room, *args, env=env)
        walk.append((" ".join(args), result.exit_code, code))
        return result

    # 0: all went through, or nothing to do
    expect(Exit.OK, "publish", SLUG, "--dry-run")
    expect(Exit.OK, "publish", SLUG, "--network", "mastodon")
    expect(Exit.OK, "publish", SLUG, "--network", "mastodon")  # again: nothing to do
    expect(Exit.OK, "status", SLUG)
    expect(Exit.OK, "worker", "--burst")
    expect(Exit.OK, "accounts")
    # 1: could not run
    expect(Exit.ERROR, "publish", "gibt-es-nicht")
    expect(Exit.ERROR, "status", "gibt-es-nicht")
    expect(Exit.ERROR, "queue", "show", "999")
    # 2: usage
    expect(Exit.USAGE, "publish")
    expect(Exit.USAGE, "queue", "resolve", "1")
    expect(Exit.USAGE, "retract", SLUG)  # no terminal to ask, no --yes
    expect(Exit.USAGE, "publish", SLUG, "--at", "tomorrowish")
    # 3: ran, but some posts failed or some accounts cannot post
    expect(Exit.FAILED, "publish", SLUG, "--dry-run", env={"SHAREBOT_THREADS_ACCESS_TOKEN": ""})
    room.facebook.fail_next(400, FB_REFUSAL, method="POST")
    expect(Exit.FAILED, "publish", SLUG, "--network", "facebook")
    expect(Exit.FAILED, "status", SLUG)
    expect(Exit.FAILED, "publish", SLUG, "--network", "threads", env={"SHAREBOT_THREADS_ACCESS_TOKEN": ""})
    expect(Exit.FAILED, "accounts", "check", env={"SHAREBOT_THREADS_ACCESS_TOKEN": ""})
    expect(Exit.OK, "publish", "zweiter-artikel", "--network", "facebook", "--at", "+1h")
    room.clock.advance(2 * 3600)
    room.facebook.fail_next(400, FB_REFUSAL, method="POST")
    expect(Exit.FAILED, "worker", "--burst")  # a job failed: not 0 any more
    # 4: ran, but some outcomes are unknown or wait for a person
    room.telegram.drop_next(method="POST", after=True)
    expect(Exit.UNSETTLED, "publish", "zweiter-artikel", "--network", "telegram")
    expect(Exit.FAILED, "status", "zweiter-artikel")  # facebook failed there too: 3 wins over 4
    room.mastodon.drop_next(method="POST", path="/api/v1/statuses", after=True)
    expect(Exit.UNSETTLED, "publish", "zweiter-artikel", "--network", "mastodon")
    # retract: deletes what it can (0); a post it cannot settle itself is 3
    expect(Exit.OK, "retract", SLUG, "--yes")
    expect(Exit.FAILED, "retract", "zweiter-artikel", "--yes")  # telegram: in doubt, cannot look
    assert [(cmd, got) for cmd, got, want in walk if got != want] == []


def test_watch_once_says_how_its_posts_went(room: Newsroom):
    assert sharebot(room, "publish", SLUG, "--network", "facebook", "--at", "+1h").exit_code == Exit.OK
    room.clock.advance(2 * 3600)
    room.facebook.fail_next(400, FB_REFUSAL, method="POST")
    result = sharebot(room, "watch", "--once")
    assert result.exit_code == Exit.FAILED, result.output
    assert "some jobs did not go through" in result.stderr
    assert sharebot(room, "watch", "--once").exit_code == Exit.OK  # nothing left to post


def test_interrupted_is_130():
    def interrupted() -> datetime:
        raise KeyboardInterrupt

    err = io.StringIO()
    code = main(["publish", SLUG, "--dry-run"], stdout=io.StringIO(), stderr=err, clock=interrupted)
    assert code == Exit.INTERRUPTED == 130 and "interrupted" in err.getvalue()
