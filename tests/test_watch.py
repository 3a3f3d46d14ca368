"""`sharebot watch`: new articles from the configured sources are enqueued exactly once, by schedule."""

from __future__ import annotations

import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from cli_support import sharebot
from fakes.base import FakeAPI, Response
from standins import Newsroom, example_schedules

from sharebot import app, output
from sharebot.config import load_settings
from sharebot.fetch import FetchPolicy
from sharebot.sources.fetch import http_fetcher
from sharebot.storage import open_store
from sharebot.watch import WatchSource, watch_once

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # Wed 10:00 in Berlin


class FeedServer(FakeAPI):
    """An RSS feed whose items a test changes between polls."""

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[str, dict[str, str]] = {}
        self.route("GET", r"/feed\.xml", lambda req, m: Response(200, self.xml(), {"Content-Type": "application/rss+xml"}))

    def add(self, slug: str, title: str, section: str = "Politik", hours_ago: int = 1) -> None:
        self.items[slug] = {"title": title, "section": section,
                            "date": format_datetime(NOW - timedelta(hours=hours_ago))}

    def xml(self) -> str:
        items = "".join(
            f"<item><title>{escape(i['title'])}</title><link>https://nachrichten.sharebot-demo.de/{slug}</link>"
            f"<description>Worum es geht: {escape(i['title'])}.</description><category>{i['section']}</category>"
            f"<pubDate>{i['date']}</pubDate></item>"
            for slug, i in self.items.items())
        return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>T</title>'
                f"<link>https://nachrichten.sharebot-demo.de/</link><language>de</language>{items}</channel></rss>")


@pytest.fixture
def feed():
    server = FeedServer().start()
    yield server
    server.stop()


def config(tmp_path: Path, feed_url: str, extra: str = "") -> Path:
    path = tmp_path / "sharebot.toml"
    path.write_text(textwrap.dedent(f"""
        [site]
        name = "Demo"
        base_url = "https://nachrichten.sharebot-demo.de/"
        [source]
        feed = "{feed_url}"
        [fetch]
        allow_private = ["127.0.0.1"]
        [queue]
        database = "queue.db"
        [schedule]
        slots = {{ daily = ["08:00", "12:00", "18:00"] }}
        min_gap = "1h"
        [accounts.masto]
        network = "mastodon"
        instance = "https://social.example"
        [accounts.tg]
        network = "telegram"
        chat_id = "@news"
        schedule = "immediate"
        filter = {{ tags = ["Politik"] }}
        """) + textwrap.dedent(extra), encoding="utf-8")
    return path


def setup(tmp_path: Path, feed: FeedServer, extra: str = ""):
    settings = load_settings(config(tmp_path, f"{feed.url}/feed.xml", extra), {}, dotenv_path=tmp_path / "none")
    store = open_store(settings.database)
    return settings, store


def jobs_by_slug(store) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for job in store.list_jobs():
        out.setdefault(job.slug, []).append(job.account)
    return out


def test_first_poll_records_what_is_there_and_later_polls_enqueue_only_new_articles(tmp_path, feed):
    settings, store = setup(tmp_path, feed)
    for n in range(3):
        feed.add(f"alt-{n}", f"Alte Meldung {n}", hours_ago=10 + n)
    first = watch_once(settings, store, now=NOW)
    assert first.enqueued == [] and list(first.recorded.values()) == [3]
    assert store.list_jobs() == []

    feed.add("neu-1", "Neue Meldung")
    second = watch_once(settings, store, now=NOW + timedelta(minutes=2))
    assert [e.article.slug for e in second.enqueued] == ["neu-1"]
    assert jobs_by_slug(store) == {"neu-1": ["masto", "tg"]}

    # edited, re-dated, dropped and returning items are never new again
    feed.items["neu-1"]["title"] = "Neue Meldung (aktualisiert)"
    feed.items["alt-0"]["date"] = format_datetime(NOW)
    del feed.items["alt-1"]
    for minutes in (4, 6):
        assert watch_once(settings, store, now=NOW + timedelta(minutes=minutes)).enqueued == []
    feed.add("alt-1", "Alte Meldung 1 ist zurück")
    assert watch_once(settings, store, now=NOW + timedelta(minutes=8)).enqueued == []
    assert jobs_by_slug(store) == {"neu-1": ["masto", "tg"]}


def test_new_articles_follow_each_accounts_schedule(tmp_path, feed):
    settings, store = setup(tmp_path, feed)
    watch_once(settings, store, now=NOW)
    for n in range(3):
        feed.add(f"neu-{n}", f"Neue Meldung {n}", hours_ago=0)
    watch_once(settings, store, now=NOW)
    times = {(j.slug, j.account): j.run_at for j in store.list_jobs()}
    berlin = settings.schedules["masto"].zone
    masto = sorted(t for (s, a), t in times.items() if a == "masto")
    assert [t.astimezone(berlin).strftime("%a %H:%M") for t in masto] == ["Wed 12:00", "Wed 18:00", "Thu 08:00"]
    assert all(t == NOW for (s, a), t in times.items() if a == "tg")  # immediate


def test_filters_decide_which_accounts_take_an_article(tmp_path, feed):
    settings, store = setup(tmp_path, feed)
    watch_once(settings, store, now=NOW)
    feed.add("sport-1", "Pokalfinale", section="Sport")
    report = watch_once(settings, store, now=NOW)
    assert jobs_by_slug(store) == {"sport-1": ["masto"]}
    assert "filtered out" in report.enqueued[0].skipped["tg"]


def test_backfill_enqueues_the_newest_n_on_the_first_poll(tmp_path, feed):
    settings, store = setup(tmp_path, feed)
    for n in range(5):
        feed.add(f"a-{n}", f"Meldung {n}", hours_ago=n + 1)
    report = watch_once(settings, store, now=NOW, backfill=2)
    assert sorted(e.article.slug for e in report.enqueued) == ["a-0", "a-1"]
    assert list(report.recorded.values()) == [3]


def test_a_failing_source_is_reported_and_the_others_go_on(tmp_path, feed):
    settings, store = setup(tmp_path, feed)
    broken = WatchSource("feed:broken", "feed", f"{feed.url}/missing.xml")
    good = WatchSource("feed:good", "feed", f"{feed.url}/feed.xml")
    watch_once(settings, store, now=NOW, sources=[broken, good])
    feed.add("neu", "Neue Meldung")
    report = watch_once(settings, store, now=NOW, sources=[broken, good])
    assert "missing.xml" in report.errors["feed:broken"] and "404" in report.errors["feed:broken"]
    assert [e.article.slug for e in report.enqueued] == ["neu"]


def test_an_article_in_two_sources_is_enqueued_once(tmp_path, feed):
    settings, store = setup(tmp_path, feed)
    a = WatchSource("feed:a", "feed", f"{feed.url}/feed.xml")
    b = WatchSource("feed:b", "feed", f"{feed.url}/feed.xml")
    watch_once(settings, store, now=NOW, sources=[a, b])
    feed.add("neu", "Neue Meldung")
    watch_once(settings, store, now=NOW, sources=[a, b])
    assert jobs_by_slug(store) == {"neu": ["masto", "tg"]}


def test_watch_over_the_site_and_a_feed_posts_by_the_example_schedule_into_the_stand_ins(tmp_path: Path,
                                                                                         newsroom: Newsroom):
    room = newsroom
    feed = FeedServer().start()
    try:
        content = room.write_site(tmp_path, ["alt"])
        feed.add("aus-dem-feed-alt", "Altes aus dem Feed", hours_ago=5)
        accounts = ["x", "mastodon", "linkedin", "facebook", "threads", "telegram"]
        cfg = room.write_config(tmp_path, extra=f'[watch]\nfeeds = ["{feed.url}/feed.xml"]\n'
                                + example_schedules(accounts))
        first = sharebot("--config", str(cfg), "watch", "--once", env=room.env(), now=NOW)
        assert first.exit_code == 0, first.output
        assert first.output.count("first look") == 2 and sum(room.posted().values()) == 0

        (content / "neu-im-ordner.md").write_text(
            "---\ntitle: Neu im Ordner\nteaser: Frisch geschrieben.\nsection: Politik\n---\nText\n", encoding="utf-8")
        feed.add("neu-im-feed", "Neu im Feed", hours_ago=0)
        second = sharebot("--config", str(cfg), "watch", "--once", env=room.env(), now=NOW + timedelta(minutes=1))
        assert second.exit_code == 0, second.output
        assert "new: neu-im-ordner" in second.output and "new: neu-im-feed" in second.output
        # telegram posts at once in the example config, but keeps 5 minutes between posts: one went out now
        texts = [m.params["text"] for m in room.telegram.messages]
        assert len(texts) == 1 and texts[0].split("\n")[0] in ("Neu im Feed", "Neu im Ordner")

        # every other account: posted if its plan said now, otherwise waiting in the queue at a planned time
        settings = load_settings(cfg, room.env(), dotenv_path=tmp_path / "none")
        store = open_store(settings.database)
        jobs = store.list_jobs()
        store.close()
        assert {(j.slug, j.account) for j in jobs} == {(s, a) for s in ("neu-im-ordner", "neu-im-feed") for a in accounts}
        for job in jobs:
            assert job.state in ("published", "queued"), (job.account, job.state, job.last_error)
            if job.state == "queued":
                assert job.run_at > job.created_at
        posted = room.posted()
        for network in accounts:
            assert posted[network] == sum(1 for j in jobs if j.account == network and j.state == "published")

        third = sharebot("--config", str(cfg), "watch", "--once", env=room.env(), now=NOW + timedelta(minutes=2))
        assert "new:" not in third.output and len(room.telegram.messages) == 1

        upcoming = sharebot("--config", str(cfg), "queue", "--upcoming", now=NOW + timedelta(minutes=2))
        assert upcoming.exit_code == 0
        for job in (j for j in jobs if j.state == "queued"):
            assert job.account in upcoming.stdout.splitlines() and f"(job {job.id})" in upcoming.stdout
    finally:
        feed.stop()


def test_an_account_whose_post_is_blocked_is_reported_and_gets_the_article_once_fixed(tmp_path, feed):
    settings, store = setup(tmp_path, feed)
    watch_once(settings, store, now=NOW)
    feed.add("neu", "Neue Meldung")
    # the last account table is tg's: a template without {link} makes its post refused
    bad = load_settings(config(tmp_path, f"{feed.url}/feed.xml", 'template = "{title}"\n'), {},
                        dotenv_path=tmp_path / "none")
    report = watch_once(bad, store, now=NOW)
    error = report.errors[f"feed:{feed.url}/feed.xml: neu"]
    assert error.startswith("tg: ") and "no link" in error
    assert jobs_by_slug(store) == {"neu": ["masto"]}
    again = watch_once(settings, store, now=NOW + timedelta(minutes=2))  # the config is fixed
    assert again.errors == {} and jobs_by_slug(store) == {"neu": ["masto", "tg"]}
    assert watch_once(settings, store, now=NOW + timedelta(minutes=4)).enqueued == []


class FakeTime(threading.Event):
    """A stop event on a fake clock: `wait(seconds)` returns at once, moving the clock on by `seconds`; it is
    set after `rounds` waits."""

    def __init__(self, now: datetime, rounds: int) -> None:
        super().__init__()
        self.now, self.rounds, self.waits = now, rounds, []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        self.now += timedelta(seconds=timeout or 0)
        if len(self.waits) >= self.rounds:
            self.set()
        return self.is_set()


def no_adapters(name: str):
    raise AssertionError(f"nothing is posted here, yet an adapter for {name} was asked for")


def test_the_watch_loop_polls_reports_and_waits_on_its_stop_event(tmp_path, feed):
    settings, store = setup(tmp_path, feed)
    feed.add("alt", "Alte Meldung", hours_ago=3)
    time, reports = FakeTime(NOW, rounds=3), []

    def on_report(report):
        reports.append((time.now, report))
        if len(reports) == 1:
            feed.add("neu", "Neue Meldung", hours_ago=0)

    last = app.run_watch(settings, store=store, adapters=no_adapters, clock=lambda: time.now, owner="t", stop=time,
                         on_report=on_report, post=False)
    assert time.waits == [300.0] * 3  # [watch] interval's default: the config has no [watch] table
    assert [at for at, _ in reports] == [NOW, NOW + timedelta(minutes=5), NOW + timedelta(minutes=10)]
    first, second, third = (report for _, report in reports)
    assert list(first.recorded.values()) == [1] and first.enqueued == []
    assert [e.article.slug for e in second.enqueued] == ["neu"] and third.enqueued == [] and last is third
    tg = next(j for j in store.list_jobs() if j.account == "tg")
    assert tg.created_at == tg.run_at == NOW + timedelta(minutes=5)  # the fake clock, not the real one


def test_once_polls_one_round_without_waiting_and_a_set_stop_event_polls_none(tmp_path, feed):
    settings, store = setup(tmp_path, feed)
    for n in range(3):
        feed.add(f"a-{n}", f"Meldung {n}", hours_ago=n + 1)
    time = FakeTime(NOW, rounds=1)
    once = app.run_watch(settings, store=store, adapters=no_adapters, clock=lambda: time.now, owner="t", stop=time,
                         on_report=lambda report: None, interval=90, backfill=1, once=True, post=False)
    assert time.waits == [] and [e.article.slug for e in once.enqueued] == ["a-0"]
    stopped = threading.Event()
    stopped.set()
    assert app.run_watch(settings, store=store, adapters=no_adapters, clock=lambda: NOW, owner="t", stop=stopped,
                         on_report=no_adapters) is None


# --- one bad file or item does not stop the rest ----------------------------------------------------
def content_setup(tmp_path: Path):
    (tmp_path / "content").mkdir()
    path = tmp_path / "sharebot.toml"
    path.write_text(config(tmp_path, "unused").read_text().replace('feed = "unused"', 'content = "content"'),
                    encoding="utf-8")
    settings = load_settings(path, {}, dotenv_path=tmp_path / "none")
    return settings, open_store(settings.database)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / "content" / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_broken_file_is_reported_once_skipped_and_tried_again_when_it_changes(tmp_path):
    settings, store = content_setup(tmp_path)
    assert watch_once(settings, store, now=NOW).recorded == {f"content:{tmp_path / 'content'}": 0}
    broken = write(tmp_path, "kaputt.md", "---\ntitle: [nicht zu\n---\n")
    write(tmp_path, "neu.md", "---\ntitle: Neue Meldung\ntags: [Politik]\n---\n")

    report = watch_once(settings, store, now=NOW + timedelta(minutes=1))
    assert [e.article.slug for e in report.enqueued] == ["neu"] and report.errors == {}
    [skipped] = report.skipped
    assert skipped.item.where == str(broken) and skipped.item.reason.startswith(f"{broken}:")
    assert "invalid YAML front matter" in skipped.item.reason
    assert jobs_by_slug(store) == {"neu": ["masto", "tg"]}

    quiet = watch_once(settings, store, now=NOW + timedelta(minutes=2))  # unchanged: not reported again
    assert quiet.skipped == [] and list(quiet.still_skipped.values()) == [1] and quiet.enqueued == []
    broken.write_text("---\ntitle: Immer noch\npublished_at: gestern\n---\n", encoding="utf-8")
    changed = watch_once(settings, store, now=NOW + timedelta(minutes=3))
    assert [s.item.reason for s in changed.skipped] == [
        f"{broken}:3: field 'published_at': 'gestern' is not an ISO 8601 date or datetime"]
    broken.write_text("---\ntitle: Repariert\ntags: [Politik]\n---\n", encoding="utf-8")
    fixed = watch_once(settings, store, now=NOW + timedelta(minutes=4))
    assert [e.article.slug for e in fixed.enqueued] == ["kaputt"]
    assert fixed.skipped == [] and fixed.still_skipped == {}
    assert jobs_by_slug(store) == {"neu": ["masto", "tg"], "kaputt": ["masto", "tg"]}


def test_a_feed_item_without_a_link_is_skipped_and_the_item_next_to_it_enqueued(tmp_path, feed):
    settings, store = setup(tmp_path, feed)
    watch_once(settings, store, now=NOW)
    feed.add("neu", "Neue Meldung")
    plain = feed.xml
    feed.xml = lambda: plain().replace("<item>", "<item><title>Ohne Link</title><pubDate>x</pubDate></item><item>", 1)
    report = watch_once(settings, store, now=NOW + timedelta(minutes=1))
    assert [e.article.slug for e in report.enqueued] == ["neu"] and report.errors == {}
    [skipped] = report.skipped
    assert skipped.item.reason == f"{feed.url}/feed.xml: item 1 ('Ohne Link'): missing field 'link'"
    assert watch_once(settings, store, now=NOW + timedelta(minutes=2)).skipped == []


def test_watch_once_reports_a_skipped_file_with_its_reason_and_exit_status_1_then_0(tmp_path):
    settings, store = content_setup(tmp_path)
    store.close()
    cfg = tmp_path / "sharebot.toml"
    write(tmp_path, "kaputt.md", "kein front matter\n")
    first = sharebot("--config", str(cfg), "watch", "--once", "--no-post", now=NOW)
    assert first.exit_code == 3 and first.stderr == "sharebot: some articles could not be read\n"
    assert (f"skipped {tmp_path / 'content' / 'kaputt.md'}:1: no front matter; the file must start with a '---' "
            "line (tried again when it changes)") in first.stdout
    second = sharebot("--config", str(cfg), "watch", "--once", "--no-post", now=NOW)
    assert second.exit_code == 0, second.output
    assert "1 item(s) still skipped, unchanged since reported" in second.stdout


class Drip(BaseHTTPRequestHandler):
    """A feed server that sends its answer a byte every 0.1 s: no single read waits long, the whole takes 20 s."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", "200")
        self.end_headers()
        try:
            for _ in range(200):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.1)
        except OSError:
            pass  # the client hung up at its deadline


def test_a_feed_server_dripping_its_answer_is_cut_at_the_deadline_and_the_others_go_on(tmp_path, feed):
    settings, store = setup(tmp_path, feed)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Drip)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    drip = WatchSource("feed:drip", "feed", f"http://127.0.0.1:{server.server_address[1]}/feed.xml")
    good = WatchSource("feed:good", "feed", f"{feed.url}/feed.xml")
    fetch = http_fetcher(timeout=0.5, policy=FetchPolicy(("127.0.0.1",)))
    try:
        watch_once(settings, store, now=NOW, sources=[good], fetch=fetch)
        feed.add("neu", "Neue Meldung")
        started = time.monotonic()
        report = watch_once(settings, store, now=NOW, sources=[drip, good], fetch=fetch)
        took = time.monotonic() - started
    finally:
        server.shutdown()
        server.server_close()
    assert report.errors == {"feed:drip": f"cannot read {drip.location}: no answer within 0.5 s"}
    assert [e.article.slug for e in report.enqueued] == ["neu"]
    assert took < 10  # the drip alone would take 20 s


@pytest.mark.parametrize("interval", ["0", "5", "9s", "0.1m"])
def test_an_interval_under_ten_seconds_is_a_usage_error(tmp_path, feed, interval, capsys):
    result = sharebot("--config", str(config(tmp_path, f"{feed.url}/feed.xml")), "watch", "--interval", interval)
    assert result.exit_code == 2 and result.stdout == ""
    usage = capsys.readouterr().err  # argparse writes usage errors itself
    assert usage.splitlines()[-1] == f"sharebot watch: error: argument --interval: '{interval}': poll at most every 10 seconds"


def test_a_configured_interval_under_ten_seconds_is_a_config_error(tmp_path, feed):
    cfg = config(tmp_path, f"{feed.url}/feed.xml", '[watch]\ninterval = "2s"\n')
    result = sharebot("--config", str(cfg), "watch", now=NOW)
    assert result.exit_code == 1
    assert result.stderr == "sharebot: watch.interval: 2 s is too short; poll at most every 10 s\n"


def test_a_source_recorded_by_slug_before_article_ids_is_not_new_again(tmp_path, feed):
    settings, store = setup(tmp_path, feed)
    feed.add("alt", "Alte Meldung", hours_ago=3)
    plain = feed.xml
    feed.xml = lambda: plain().replace("/alt</link>", "/alt/index.html</link>")  # recorded then as "index"
    source = f"feed:{feed.url}/feed.xml"
    store.mark_seen(source, ["", "index"], now=NOW)
    assert watch_once(settings, store, now=NOW).enqueued == []
    assert "https://nachrichten.sharebot-demo.de/alt" in store.seen(source)
    feed.add("neu", "Neue Meldung")
    assert [e.article.slug for e in watch_once(settings, store, now=NOW).enqueued] == ["neu"]


# --- corrections of queued posts ----------------------------------------------------------------------
def masto_job(store):
    return next(j for j in store.list_jobs() if j.account == "masto")


def test_an_edited_item_corrects_its_queued_post_once(tmp_path, feed):
    settings, store = setup(tmp_path, feed)
    watch_once(settings, store, now=NOW)
    feed.add("neu", "Neue Meldnug")
    watch_once(settings, store, now=NOW + timedelta(minutes=1))
    assert masto_job(store).state == "queued" and "Meldnug" in masto_job(store).post.text  # waits for 12:00

    feed.items["neu"]["title"] = "Neue Meldung"
    report = watch_once(settings, store, now=NOW + timedelta(minutes=2))
    assert sorted(c.correction.job.account for c in report.corrected) == ["masto", "tg"]  # tg: not yet sent either
    fixed = next(c for c in report.corrected if c.correction.job.account == "masto")
    assert fixed.correction.updated
    assert "- Neue Meldnug" in fixed.correction.changes and "+ Neue Meldung" in fixed.correction.changes
    job = masto_job(store)
    assert "Neue Meldung" in job.post.text and "Meldnug" not in job.post.text
    assert store.events(job.id)[-1].reason.startswith("post updated: text")
    text = output.watch_text(report, zone="Europe/Berlin")
    assert f"changed: neu: masto (job {job.id})\n  post updated:\n" in text and "    + Neue Meldung\n" in text
    assert watch_once(settings, store, now=NOW + timedelta(minutes=3)).corrected == []


def test_two_feeds_that_word_one_article_differently_do_not_take_turns(tmp_path, feed):
    settings, store = setup(tmp_path, feed)
    other = FeedServer().start()
    try:
        a = WatchSource("feed:a", "feed", f"{feed.url}/feed.xml")
        b = WatchSource("feed:b", "feed", f"{other.url}/feed.xml")
        watch_once(settings, store, now=NOW, sources=[a, b])
        feed.add("neu", "Neue Meldung")
        other.add("neu", "Neue Meldung, anders gesagt")
        watch_once(settings, store, now=NOW + timedelta(minutes=1), sources=[a, b])
        for minutes in (2, 3):
            assert watch_once(settings, store, now=NOW + timedelta(minutes=minutes), sources=[a, b]).corrected == []
        assert masto_job(store).post.text.startswith("Neue Meldung\n")  # as the feed it was first met in says
        other.items["neu"]["title"] = "Neue Meldung, nochmal anders"  # b changed: b's word counts now
        fixed = watch_once(settings, store, now=NOW + timedelta(minutes=4), sources=[a, b]).corrected
        assert {c.source for c in fixed} == {"feed:b"} and len(fixed) == 2
        assert masto_job(store).post.text.startswith("Neue Meldung, nochmal anders")
    finally:
        other.stop()
