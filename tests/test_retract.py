"""`sharebot retract SLUG`: the article's whole life ends everywhere, with nothing sent afterwards, on the
real CLI, the real queue, the adapters and the local stand-ins, on the test's clock."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_support import Result
from cli_support import in_room as sharebot
from standins import Newsroom

from sharebot import app
from sharebot.cli import main
from sharebot.config import load_settings
from sharebot.jobs import JobState
from sharebot.queue import RetractResult

S = JobState
SLUG = "putin-xi-videogespraech-partnerschaft"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def room(newsroom: Newsroom, tmp_path: Path) -> Newsroom:
    newsroom.write_site(tmp_path, [SLUG])
    newsroom.write_config(tmp_path)
    return newsroom


class Terminal(io.StringIO):
    """stdin as a person at a terminal would give it."""

    def isatty(self) -> bool:
        return True


def at_terminal(room: Newsroom, answer: str, *args: str) -> Result:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--config", str(room.config), *args], environ=room.env(), stdout=out, stderr=err,
                stdin=Terminal(answer), clock=room.clock)
    return Result(code, out.getvalue(), err.getvalue())


def jobs(room: Newsroom) -> dict[str, JobState]:
    settings = load_settings(room.config, room.env(), dotenv_path=room.config.parent / "none")
    with app.open_queue(settings) as store:
        return {j.account: j.state for j in store.list_jobs(slug=SLUG)}


def lines(result: Result) -> dict[str, str]:
    return {line.split()[0]: line.split(None, 1)[1] for line in result.stdout.splitlines() if line.startswith("  ")}


def test_retract_deletes_posted_cancels_waiting_and_nothing_goes_out_afterwards(room: Newsroom):
    assert sharebot(room, "publish", SLUG, "--network", "mastodon,telegram").exit_code == 0
    assert sharebot(room, "publish", SLUG, "--network", "x", "--at", "+2h").exit_code == 0
    room.facebook.fail_next(400, {"error": {"message": "(#100) Invalid parameter", "type": "OAuthException",
                                            "code": 100}}, method="POST")
    assert sharebot(room, "publish", SLUG, "--network", "facebook").exit_code == 3
    result = sharebot(room, "retract", SLUG, "--yes")
    assert result.exit_code == 0, result.output
    assert lines(result) == {"mastodon": "deleted: " + lines(result)["mastodon"].split(": ", 1)[1],
                             "telegram": lines(result)["telegram"], "x": "canceled", "facebook": "canceled"}
    assert lines(result)["telegram"].startswith("deleted")
    assert room.posted()["mastodon"] == 0 and room.posted()["telegram"] == 0
    room.clock.advance(3 * 3600)
    assert sharebot(room, "worker", "--burst").exit_code == 0
    assert room.x.tweets == {} or len(room.x.tweets) == 0
    assert room.posted() == {"x": 0, "mastodon": 0, "linkedin": 0, "facebook": 0, "threads": 0, "telegram": 0}
    assert jobs(room) == {"mastodon": S.DELETED, "telegram": S.DELETED, "x": S.CANCELED, "facebook": S.CANCELED}
    again = sharebot(room, "retract", SLUG, "--yes")
    assert again.exit_code == 0 and set(lines(again).values()) == {"already gone: deleted", "already gone: canceled"}
    # A retracted job is not retried; a corrected article goes out as a new round.
    listing = sharebot(room, "queue", "--state", "canceled", "--account", "x")
    refused = sharebot(room, "queue", "retry", listing.stdout.split()[0])
    assert refused.exit_code == 1 and "--repost" in refused.stderr
    assert sharebot(room, "publish", SLUG, "--network", "x", "--now", "--repost").exit_code == 0
    assert len(room.x.tweets) == 1


def test_dry_run_says_what_it_would_do_and_changes_nothing(room: Newsroom):
    assert sharebot(room, "publish", SLUG, "--network", "mastodon").exit_code == 0
    assert sharebot(room, "publish", SLUG, "--network", "x", "--at", "+2h").exit_code == 0
    before = jobs(room)
    result = sharebot(room, "retract", SLUG, "--dry-run")
    assert result.exit_code == 0, result.output
    assert lines(result)["mastodon"].startswith("delete: ") and lines(result)["x"] == "cancel: not sent"
    assert jobs(room) == before and room.posted()["mastodon"] == 1


def test_without_a_terminal_it_refuses_unless_told_yes(room: Newsroom):
    assert sharebot(room, "publish", SLUG, "--network", "mastodon").exit_code == 0
    refused = sharebot(room, "retract", SLUG)
    assert refused.exit_code == 2 and len(refused.stderr.strip().splitlines()) == 1 and "--yes" in refused.stderr
    no = at_terminal(room, "n\n", "retract", SLUG)
    assert no.exit_code == 1 and "mastodon" in no.stdout and "nothing changed" in no.stderr
    assert room.posted()["mastodon"] == 1
    yes = at_terminal(room, "y\n", "retract", SLUG)
    assert yes.exit_code == 0 and "[y/N]" in yes.stdout and room.posted()["mastodon"] == 0


def test_network_and_account_narrow_the_retraction(room: Newsroom):
    assert sharebot(room, "publish", SLUG, "--network", "mastodon,telegram,x").exit_code == 0
    result = sharebot(room, "retract", SLUG, "--yes", "--network", "mastodon,telegram")
    assert set(lines(result)) == {"mastodon", "telegram"}
    assert room.posted()["x"] == 1 and room.posted()["mastodon"] == 0 and room.posted()["telegram"] == 0
    assert set(lines(sharebot(room, "retract", SLUG, "--yes", "--account", "x"))) == {"x"}
    assert room.posted()["x"] == 0
    assert sharebot(room, "retract", SLUG, "--yes", "--account", "nobody").exit_code == 1


def test_an_unknown_post_is_looked_for_first_then_deleted_or_canceled(room: Newsroom):
    room.mastodon.drop_next(method="POST", path="/api/v1/statuses", after=True)  # made, answer lost
    room.threads.drop_next(method="POST", path=r"/threads_publish$")  # never made
    published = sharebot(room, "publish", SLUG, "--network", "mastodon,threads")
    assert published.exit_code == 4 and jobs(room) == {"mastodon": S.UNKNOWN, "threads": S.UNKNOWN}
    result = sharebot(room, "retract", SLUG, "--yes")
    assert result.exit_code == 0, result.output
    assert lines(result)["mastodon"].startswith("deleted") and lines(result)["threads"].startswith("canceled")
    assert room.posted()["mastodon"] == 0 and room.posted()["threads"] == 0


def test_where_it_cannot_look_it_says_what_a_person_must_do(room: Newsroom):
    room.telegram.drop_next(method="POST", after=True)
    assert sharebot(room, "publish", SLUG, "--network", "telegram").exit_code == 4
    assert jobs(room) == {"telegram": S.ATTENTION}
    result = sharebot(room, "retract", SLUG, "--yes")
    assert result.exit_code == 3
    line = lines(result)["telegram"]
    assert line.startswith("NOT deleted") and "--not-posted" in line and "--posted URL" in line
    job_id = line.split("sharebot queue resolve ")[1].split()[0]
    settled = sharebot(room, "queue", "resolve", job_id, "--not-posted")
    assert settled.exit_code == 0 and "canceled" in settled.stdout  # retracted: never sent again


# --- a post in flight while the article is retracted -------------------------------------------------
def _in_flight(room: Newsroom, *, fail: bool) -> tuple[list[app.Retracted], dict[str, int]]:
    """Publish to Mastodon with the answer held, retract meanwhile, and let the answer land while retract
    waits: it must end deleted (posted) or canceled (not sent), never out."""
    settings = load_settings(room.config, room.env(), dotenv_path=room.config.parent / "none")
    release = room.mastodon.hold_next(method="POST", path="/api/v1/statuses")
    if fail:
        room.mastodon.fail_next(503, {"error": "busy"}, method="POST", path="/api/v1/statuses")
    from sharebot import pipeline
    from sharebot.queue import enqueue
    from sharebot.worker import Worker

    store, adapters = app.open_queue(settings), app.Adapters(settings)
    try:
        article = pipeline.load_article(settings, SLUG)
        post = pipeline.render_article(settings, article, [settings.account("mastodon")]).posts[0]
        enqueue(store, SLUG, [post], now=room.clock())
        worker = Worker(store, adapters, owner="w", clock=room.clock, policy=app.retry_policy(settings))
        posting = threading.Thread(target=worker.run_once)
        posting.start()
        while not any(r.path == "/api/v1/statuses" for r in room.mastodon.requests):
            threading.Event().wait(0.01)  # until the post is in the air (held by the stand-in)
        assert store.list_jobs(slug=SLUG)[0].state is S.RUNNING

        def wait(seconds: float) -> None:  # retract waits: the answer lands, the worker records it
            release.set()
            posting.join()
            room.clock.advance(seconds)

        report = app.retract(store, SLUG, adapters=adapters, clock=room.clock, wait=wait)
        worker.close()
        counts = store.counts()
    finally:
        adapters.close()
        store.close()
    return report.results, {str(k): v for k, v in counts.items()}


def test_a_post_that_lands_while_retract_waits_is_deleted(room: Newsroom):
    [result], counts = _in_flight(room, fail=False)
    assert result.result is RetractResult.DELETED and counts == {"deleted": 1}
    assert room.posted()["mastodon"] == 0


def test_a_post_that_fails_while_retract_waits_is_canceled_not_retried(room: Newsroom):
    [result], counts = _in_flight(room, fail=True)
    assert result.result is RetractResult.CANCELED and counts == {"canceled": 1}
    room.clock.advance(3600)
    assert sharebot(room, "worker", "--burst").exit_code == 0
    assert room.posted()["mastodon"] == 0
