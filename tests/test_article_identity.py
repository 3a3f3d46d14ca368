"""An article is its canonical URL: two pages whose addresses end alike are two articles, feeds linking
`?p=123` work, a slug two sources claim for different articles is an error, and queues made before all
this keep working."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from cli_support import sharebot
from fakes.base import FakeAPI, Response
from standins import Newsroom

from sharebot.config import load_settings
from sharebot.migrations import MIGRATIONS
from sharebot.pipeline import load_article, render_article, select_accounts
from sharebot.sources.common import canonical_url, disambiguated, slug_from_url
from sharebot.sources.feed import FeedSource
from sharebot.store import SQLiteStore

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
SITE = "https://nachrichten.sharebot-demo.de/"


@pytest.mark.parametrize(("url", "canonical"), [
    ("HTTPS://Nachrichten.Example.DE:443/Politik/Meldung/index.html#kommentare",
     "https://nachrichten.example.de/Politik/Meldung"),
    ("https://site.example/politik/meldung/", "https://site.example/politik/meldung"),
    ("https://site.example/politik/meldung/index.htm", "https://site.example/politik/meldung"),
    ("https://site.example/index.php?p=123&utm_source=x&UTM_Medium=y", "https://site.example/?p=123"),
    ("https://site.example/article.php?id=7&page=2", "https://site.example/article.php?id=7&page=2"),
    ("http://site.example:80", "http://site.example/"),
    ("http://site.example:8080/a", "http://site.example:8080/a"),
    ("https://site.example/a?b=1&a=2", "https://site.example/a?b=1&a=2"),  # parameter order is kept
    ("http://site.example/a", "http://site.example/a"),  # http and https stay apart
])
def test_canonical_urls(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


@pytest.mark.parametrize(("url", "slug"), [
    ("https://site.example/politik/meldung/index.html", "meldung"),
    ("https://site.example/sport/meldung/", "meldung"),
    ("https://site.example/?p=123", "p-123"),
    ("https://site.example/index.php?p=123&utm_campaign=feed", "p-123"),
    ("https://site.example/article.php?id=7", "article-id-7"),
    ("https://site.example/en/ferry-service-resumes.html", "ferry-service-resumes"),
    ("https://site.example/", ""),
])
def test_slugs_from_urls(url: str, slug: str) -> None:
    assert slug_from_url(url) == slug


def test_a_disambiguated_slug_depends_only_on_the_slug_and_the_article() -> None:
    one = disambiguated("meldung", "https://site.example/sport/meldung")
    assert one == disambiguated("meldung", "https://site.example/sport/meldung") != "meldung"
    assert one.startswith("meldung-") and one != disambiguated("meldung", "https://site.example/politik/meldung")


# --- pages ------------------------------------------------------------------------------------------
def page(title: str, url: str, image: str) -> str:
    return (f'<html lang="de"><head><meta property="og:title" content="{title}">'
            f'<meta property="og:description" content="Worum es geht: {title}.">'
            f'<meta property="og:url" content="{url}"><meta property="og:image" content="{image}">'
            "</head><body></body></html>")


@pytest.fixture
def pages() -> Iterator[FakeAPI]:
    server = FakeAPI()
    server.start()
    yield server
    server.stop()


def serve(server: FakeAPI, path: str, html: str) -> str:
    server.route("GET", path, lambda req, m: Response(200, html, {"Content-Type": "text/html; charset=utf-8"}))
    return server.url + path


@pytest.fixture
def room(newsroom: Newsroom, tmp_path: Path) -> Newsroom:
    newsroom.write_site(tmp_path, ["eins"])
    newsroom.write_config(tmp_path)
    return newsroom


def cli(room: Newsroom, *args: str, now: datetime = NOW):
    return sharebot("--config", str(room.config), *args, env=room.env(), now=now)


def test_two_pages_whose_addresses_end_alike_are_two_articles(room: Newsroom, pages: FakeAPI) -> None:
    image = room.image_url("meldung")
    politik = serve(pages, "/politik/meldung/index.html", page("Politik meldet", SITE + "politik/meldung/", image))
    sport = serve(pages, "/sport/meldung/index.html", page("Sport meldet", SITE + "sport/meldung/index.html", image))

    first = cli(room, "publish", politik, "--network", "mastodon")
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines()[0] == "meldung (round 1)"

    sport_slug = disambiguated("meldung", SITE + "sport/meldung")
    preview = json.loads(cli(room, "publish", sport, "--dry-run", "--json", "--network", "mastodon").stdout)
    assert preview["article"]["slug"] == sport_slug and preview["article"]["id"] == SITE + "sport/meldung"
    second = cli(room, "publish", sport, "--network", "mastodon")
    assert second.exit_code == 0, second.output
    assert second.stdout.splitlines()[0] == f"{sport_slug} (round 1)" and "earlier run" not in second.output
    texts = sorted(status["text"] for status in room.mastodon.statuses.values())
    assert len(texts) == 2 and texts[0].startswith("Politik meldet") and texts[1].startswith("Sport meldet")
    assert f"utm_campaign={sport_slug}" in texts[1] and "sport/meldung" in texts[1]
    shared = json.loads(cli(room, "links", sport, "--json").stdout)  # share links carry the posts' campaign
    assert shared["links"] and all(f"utm_campaign%3D{sport_slug}" in link["url"] or
                                   f"utm_campaign={sport_slug}" in link["url"] for link in shared["links"])

    # each is still itself on the next run: nothing more is sent
    for url, slug in ((politik, "meldung"), (sport, sport_slug)):
        again = cli(room, "publish", url, "--network", "mastodon")
        assert again.stdout.splitlines()[0] == f"{slug} (round 1)" and "(earlier run)" in again.stdout
    assert len(room.mastodon.statuses) == 2
    assert cli(room, "status", sport_slug).stdout.count("published") == 1


def test_a_slug_two_sources_claim_for_different_articles_is_a_one_line_error(room: Newsroom, pages: FakeAPI,
                                                                             tmp_path: Path) -> None:
    sport = serve(pages, "/sport/eins", page("Sport eins", SITE + "sport/eins", room.image_url("eins")))
    assert cli(room, "publish", sport, "--network", "mastodon").stdout.startswith("eins (round 1)")

    for args in (("publish", "eins", "--network", "mastodon"), ("publish", "eins", "--dry-run")):
        refused = cli(room, *args)
        assert refused.exit_code == 1 and refused.stdout == ""
        assert refused.stderr.count("\n") == 1
        assert "two articles claim the slug 'eins'" in refused.stderr
        assert f"{SITE}sport/eins (from {sport})" in refused.stderr
        assert f"{SITE}eins (from {tmp_path / 'content' / 'eins.md'})" in refused.stderr
    assert len(room.mastodon.statuses) == 1


def test_an_editor_who_corrects_a_files_url_keeps_its_slug(room: Newsroom, tmp_path: Path) -> None:
    assert cli(room, "publish", "eins", "--network", "mastodon").exit_code == 0
    path = tmp_path / "content" / "eins.md"
    path.write_text(path.read_text().replace("section: Geopolitik", f"section: Geopolitik\nurl: {SITE}welt/eins"))
    again = cli(room, "publish", "eins", "--network", "mastodon")
    assert again.exit_code == 0, again.output
    assert "(earlier run)" in again.stdout and len(room.mastodon.statuses) == 1


# --- feeds --------------------------------------------------------------------------------------------
def rss(items: list[tuple[str, str]]) -> str:
    body = "".join(f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
                   f"<description>Worum es geht: {escape(title)}.</description></item>" for title, link in items)
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>T</title>'
            f"<link>{SITE}</link>{body}</channel></rss>")


def test_a_feed_whose_links_are_query_strings_can_be_watched_and_published(room: Newsroom, pages: FakeAPI,
                                                                            tmp_path: Path) -> None:
    items: list[tuple[str, str]] = [("Alt", SITE + "?p=100")]
    pages.route("GET", "/feed.xml", lambda req, m: Response(200, rss(items), {"Content-Type": "application/rss+xml"}))
    config = room.write_config(tmp_path, extra=f'[watch]\nfeeds = ["{pages.url}/feed.xml"]\n')
    assert cli(room, "watch", "--once").exit_code == 0
    items[:0] = [("Zweite Meldung", SITE + "?p=102&utm_source=feed"), ("Erste Meldung", SITE + "?p=101")]
    second = cli(room, "watch", "--once", now=NOW + timedelta(minutes=1))
    assert second.exit_code == 0, second.output
    assert "new: p-101" in second.stdout and "new: p-102" in second.stdout and "new: p-100" not in second.stdout
    assert [m.params["text"].split("\n")[0] for m in room.telegram.messages] == ["Erste Meldung", "Zweite Meldung"]
    assert "?p=101&utm_source=telegram" in room.telegram.messages[0].params["text"]

    feed = FeedSource(f"{pages.url}/feed.xml", base_url=SITE, language="de", fetch=lambda url: rss(items).encode())
    assert feed.get("p-102").url == SITE + "?p=102&utm_source=feed" and feed.get("p-102").id == SITE + "?p=102"
    as_source = config.read_text().replace('content = "content"', f'feed = "{pages.url}/feed.xml"')
    config.write_text(as_source)
    preview = cli(room, "publish", "p-100", "--dry-run", "--json", "--network", "mastodon")
    assert preview.exit_code == 0, preview.output
    assert json.loads(preview.stdout)["article"]["title"] == "Alt"


def test_a_feed_item_is_found_by_the_slug_the_queue_gave_it() -> None:
    items = [("Sport", SITE + "sport/meldung"), ("Politik", SITE + "politik/meldung")]
    feed = FeedSource(SITE + "feed.xml", base_url=SITE, language="de", fetch=lambda url: rss(items).encode())
    sport, politik = feed.articles()
    assert politik.slug == "meldung" and sport.slug == disambiguated("meldung", SITE + "sport/meldung")
    assert feed.get(sport.slug) == sport
    # the queue may have given the plain slug's suffixed form to the item that holds the plain one here
    assert feed.get(disambiguated("meldung", SITE + "politik/meldung")) == politik


# --- queues made before article ids -------------------------------------------------------------------
def legacy_queue(path: Path) -> SQLiteStore:
    """A queue as sharebot left it before articles had ids: the first three migrations only."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        for migration in MIGRATIONS[:3]:
            for statement in migration.sqlite:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations VALUES (?, CURRENT_TIMESTAMP)", (migration.name,))
    return SQLiteStore(path, migrate=False)


def test_a_queue_from_before_article_ids_keeps_its_jobs(room: Newsroom, tmp_path: Path) -> None:
    settings = load_settings(room.config, room.env(), dotenv_path=tmp_path / "none")
    (tmp_path / "var").mkdir()
    old = legacy_queue(tmp_path / "var" / "sharebot.db")
    article = load_article(settings, "eins")
    posts = render_article(settings, article, select_accounts(settings, networks=["mastodon"])).posts
    old.insert_jobs("eins", 1, posts, now=NOW, run_at=NOW + timedelta(hours=3))
    old.close()

    again = cli(room, "publish", "eins", "--network", "mastodon")
    assert again.exit_code == 0, again.output
    assert "(earlier run)" in again.stdout and room.mastodon.statuses == {}
    listing = cli(room, "queue").stdout
    assert listing.strip().endswith("queued: 1")


def test_share_links_need_no_queue(room: Newsroom) -> None:
    # A PostgreSQL queue that cannot be reached: the links still come, tagged with the article's own slug.
    unreachable = {**room.env(), "SHAREBOT_DATABASE_URL": "postgresql://sharebot@127.0.0.1:9/nowhere?connect_timeout=2"}
    shared = sharebot("--config", str(room.config), "links", "eins", "--json", env=unreachable, now=NOW)
    assert shared.exit_code == 0, shared.output
    assert all("utm_campaign%3Deins" in link["url"] or "utm_campaign=eins" in link["url"]
               for link in json.loads(shared.stdout)["links"])
    assert "queue not read" in shared.stderr
