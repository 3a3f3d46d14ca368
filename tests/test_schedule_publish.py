"""`sharebot publish` follows each account's schedule; --now, --at and --next-slot override it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cli_support import sharebot
from standins import Newsroom

from sharebot import app, pipeline
from sharebot.config import load_settings
from sharebot.queue import RetryPolicy
from sharebot.worker import Worker

NOW = datetime(2026, 11, 25, 9, 17, tzinfo=UTC)  # Wed 10:17 in Berlin
FAR = datetime(2031, 6, 4, 8, 0, tzinfo=UTC)  # Wed 10:00 CEST: years after every date the tests use
SCHEDULES = """
[schedule]
slots = { weekdays = ["07:30", "12:30", "18:30"], weekend = ["10:00"] }
min_gap = "45m"
quiet_hours = ["22:30-06:30"]
[accounts.x.schedule]
min_gap = "30m"
max_per_hour = 2
"""


@pytest.fixture
def room(newsroom: Newsroom, tmp_path: Path):
    room = newsroom
    room.write_site(tmp_path, ["eins", "zwei", "drei", "sperre"])
    embargoed = tmp_path / "content" / "sperre.md"
    embargoed.write_text(embargoed.read_text().replace("published_at: 2026-02-04T14:30:00+01:00",
                                                       "published_at: 2026-11-26T06:00:00+01:00"))
    room.write_config(tmp_path, extra=SCHEDULES)
    return room


def publish(room: Newsroom, slug: str, *, now: datetime, networks=("x", "mastodon"), **kw):
    settings = load_settings(room.config, room.env(), dotenv_path=room.config.parent / "none")
    store, adapters = app.open_queue(settings), app.Adapters(settings)
    try:
        chosen = pipeline.select_accounts(settings, networks=networks)
        article = pipeline.load_article(settings, slug)
        return app.publish_article(settings, article, chosen, store=store, adapters=adapters, clock=lambda: now,
                                   owner="t", **kw), store.list_jobs(slug=slug)
    finally:
        adapters.close()
        store.close()


def local(job) -> str:
    return job.run_at.astimezone(timezone(timedelta(hours=1))).strftime("%a %H:%M")


def test_slot_accounts_wait_for_their_slot_and_immediate_ones_post_now(room: Newsroom):
    report, jobs = publish(room, "eins", now=NOW)
    states = {line.account: line.state for line in report.lines}
    assert states == {"x": "published", "mastodon": "scheduled"}
    assert len(room.x.tweets) == 1 and room.mastodon.statuses == {}
    assert local(next(j for j in jobs if j.account == "mastodon")) == "Wed 12:30"

    # the worker, at 12:31 on a fake clock, posts it
    settings = load_settings(room.config, room.env(), dotenv_path=room.config.parent / "none")
    store, adapters = app.open_queue(settings), app.Adapters(settings)
    later = NOW + timedelta(hours=3, minutes=14)
    with Worker(store, adapters, owner="w", clock=lambda: later, policy=RetryPolicy()) as worker:
        assert worker.run(burst=True) == 1
    adapters.close()
    store.close()
    assert len(room.mastodon.statuses) == 1


def test_the_gap_and_cap_hold_across_articles(room: Newsroom):
    _, first = publish(room, "eins", now=NOW, networks=("x",))
    _, second = publish(room, "zwei", now=NOW, networks=("x",))
    _, third = publish(room, "drei", now=NOW, networks=("x",))
    times = [first[0].run_at, second[0].run_at, third[0].run_at]
    assert times[0] == NOW and times[1] == NOW + timedelta(minutes=30) and times[2] == NOW + timedelta(minutes=60)
    assert len(room.x.tweets) == 1  # the other two are queued for later, not dropped


def test_slot_accounts_keep_their_gap_and_skip_quiet_hours(room: Newsroom):
    slots = [publish(room, slug, now=NOW, networks=("mastodon",))[1][0] for slug in ("eins", "zwei", "drei")]
    assert [local(j) for j in slots] == ["Wed 12:30", "Wed 18:30", "Thu 07:30"]


def test_an_embargoed_article_waits_for_its_publication_time(room: Newsroom):
    _, jobs = publish(room, "sperre", now=NOW, networks=("x",))
    assert jobs[0].run_at == datetime(2026, 11, 26, 5, 0, tzinfo=UTC)
    _, jobs = publish(room, "sperre", now=NOW, networks=("mastodon",), mode="now")
    assert jobs[-1].run_at == datetime(2026, 11, 26, 5, 0, tzinfo=UTC)  # even breaking news waits
    assert room.x.tweets == {} and room.mastodon.statuses == {}


def test_now_ignores_slots_at_and_next_slot_choose_the_time(room: Newsroom):
    report, _ = publish(room, "eins", now=NOW, networks=("mastodon",), mode="now")
    assert report.lines[0].state == "published"
    _, jobs = publish(room, "zwei", now=NOW, networks=("mastodon",), mode="at", at=NOW + timedelta(hours=2))
    assert jobs[0].run_at == NOW + timedelta(hours=2)
    report, jobs = publish(room, "drei", now=NOW, networks=("x", "linkedin"), mode="next_slot")
    times = {j.account: j for j in jobs}
    assert local(times["linkedin"]) == "Wed 12:30"
    assert times["x"].run_at == NOW  # x has no slots: its earliest allowed time


def test_dry_run_shows_when_each_post_would_go_out(room: Newsroom):
    result = sharebot("--config", str(room.config), "publish", "eins", "--dry-run", "--json", env=room.env(), now=NOW)
    assert result.exit_code == 0, result.output
    times = {p["account"]: p["scheduled_at"] for p in json.loads(result.stdout)["posts"]}
    assert times["whatsapp"] is None and times["telegram"] and times["mastodon"]
    text = sharebot("--config", str(room.config), "publish", "eins", "--dry-run", "--network", "mastodon",
                    env=room.env(), now=NOW).stdout
    assert "  when      " in text and ("CET" in text or "CEST" in text)
    assert not (room.config.parent / "var").exists()  # the dry run created no queue


def test_bad_at_is_a_usage_error(room: Newsroom):
    result = sharebot("--config", str(room.config), "publish", "eins", "--at", "tomorrowish", env=room.env(), now=NOW)
    assert result.exit_code == 2 and "--at: 'tomorrowish' is not a time" in result.stderr
    skipped = sharebot("--config", str(room.config), "publish", "eins", "--at", "2026-03-29 02:30", env=room.env(),
                       now=NOW)
    assert skipped.exit_code == 2 and "does not exist in Europe/Berlin" in skipped.stderr


def test_upcoming_lists_planned_posts_per_account_in_local_time(room: Newsroom):
    for slug in ("eins", "zwei"):
        publish(room, slug, now=NOW, networks=("mastodon", "linkedin"))
    result = sharebot("--config", str(room.config), "queue", "--upcoming", env=room.env(), now=NOW)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "mastodon"
    assert "Wed 2026-11-25 12:30 CET" in lines[1] and lines[1].split()[-3] == "eins"
    assert "Wed 2026-11-25 18:30 CET" in lines[2] and lines[2].split()[-3] == "zwei"
    assert "linkedin" in lines


def test_now_moves_a_post_already_waiting_for_its_slot(room: Newsroom):
    report, _ = publish(room, "eins", now=NOW, networks=("mastodon",))
    assert report.lines[0].state == "scheduled" and room.mastodon.statuses == {}
    again, jobs = publish(room, "eins", now=NOW, networks=("mastodon",), mode="now")
    assert again.lines[0].state == "published" and len(room.mastodon.statuses) == 1 and len(jobs) == 1
    assert "publish --now" in [e.reason for e in _events(room, jobs[0].id)]


def test_a_later_plain_publish_says_when_in_local_time(room: Newsroom):
    publish(room, "eins", now=NOW, networks=("mastodon",))
    again, _ = publish(room, "eins", now=NOW, networks=("mastodon",))
    assert again.lines[0].already and again.lines[0].detail == "due Wed 2026-11-25 12:30 CET"


def test_a_run_on_a_clock_years_ahead_plans_and_lists_by_that_clock(room: Newsroom):
    def run(*args: str, now: datetime = FAR):
        return sharebot("--config", str(room.config), *args, env=room.env(), now=now)

    preview = json.loads(run("publish", "eins", "--dry-run", "--json", "--network", "x,mastodon").stdout)
    planned = {p["account"]: p["scheduled_at"] for p in preview["posts"]}
    assert planned == {"x": "2031-06-04T08:00:00+00:00", "mastodon": "2031-06-04T10:30:00+00:00"}

    published = run("publish", "eins", "--network", "x,mastodon")
    assert published.exit_code == 0, published.output
    lines = {line.split()[0]: line.split()[2:] for line in published.stdout.splitlines()[1:-1]}
    assert lines["x"][0] == "published" and len(room.x.tweets) == 1
    assert lines["mastodon"] == ["scheduled", "Wed", "2031-06-04", "12:30", "CEST"] and room.mastodon.statuses == {}
    at = run("publish", "zwei", "--network", "mastodon", "--at", "+2h")
    assert at.stdout.splitlines()[1].split()[2:] == ["scheduled", "Wed", "2031-06-04", "12:00", "CEST"]

    listing = run("queue").stdout.splitlines()
    # in the site's zone: when a post went out, or when a queued one is planned to
    assert sorted(" ".join(line.split()[1:9]) for line in listing[:-1]) == [
        "mastodon queued r1 due Wed 2031-06-04 12:00 CEST", "mastodon queued r1 due Wed 2031-06-04 12:30 CEST",
        "x published r1 Wed 2031-06-04 10:00 CEST post"]
    assert listing[-1] == "queued: 2  published: 1" or listing[-1] == "published: 1  queued: 2"

    upcoming = run("queue", "--upcoming", "--hours", "3").stdout.splitlines()
    assert upcoming[0] == "mastodon"
    assert [line.split()[:5] for line in upcoming[1:]] == [["Wed", "2031-06-04", "12:00", "CEST", "zwei"],
                                                           ["Wed", "2031-06-04", "12:30", "CEST", "eins"]]
    assert run("queue", "--upcoming", "--hours", "1").stdout == "nothing is planned in the next 1.0 h\n"

    later = FAR + timedelta(hours=3)
    assert run("queue", "--upcoming", now=later).stdout.count("due now") == 2
    # One at a time: two threads' first posts to an instance race on writing its limits cache (adapter issue).
    assert run("worker", "--burst", "--concurrency", "1", now=later).exit_code == 0
    assert len(room.mastodon.statuses) == 2


def _events(room: Newsroom, job_id: int):
    settings = load_settings(room.config, room.env(), dotenv_path=room.config.parent / "none")
    store = app.open_queue(settings)
    try:
        return store.events(job_id)
    finally:
        store.close()
