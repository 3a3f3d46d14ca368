"""Feed sources (RSS, Atom, JSON Feed) from files and over real HTTP, and the HTTP fetcher itself."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from fakes.base import FakeAPI, Request, Response

from sharebot.errors import ArticleError
from sharebot.fetch import FetchPolicy
from sharebot.sources import open_source
from sharebot.sources.common import disambiguated
from sharebot.sources.feed import FeedSource, strip_html
from sharebot.sources.fetch import http_fetcher, read_location

SITE = Path(__file__).resolve().parents[1] / "examples" / "site"
BASE = "https://nachrichten.sharebot-demo.de/"
CET = timezone(timedelta(hours=1))
LOOPBACK = FetchPolicy(allow_private=("127.0.0.1",))  # the feed server listens on loopback

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <title>Demo</title>
  <id>urn:demo</id>
  <updated>2026-11-24T10:00:00Z</updated>
  <entry>
    <title type="html">Ferry &lt;em&gt;service&lt;/em&gt; resumes</title>
    <link rel="alternate" href="https://nachrichten.sharebot-demo.de/en/ferry-service-resumes.html"/>
    <id>urn:demo:1</id>
    <published>2026-11-24T09:30:00-05:00</published>
    <updated>2026-11-24T10:00:00Z</updated>
    <summary type="html">&lt;p&gt;Boats run again &amp;amp; on time.&lt;/p&gt;</summary>
    <author><name>Harbour desk</name></author>
    <category term="Ferries"/>
    <category term="Transport"/>
    <link rel="enclosure" type="image/jpeg" href="https://nachrichten.sharebot-demo.de/bilder/faehre.jpg"/>
  </entry>
</feed>
"""


def feed(location: str | Path, **kw: object) -> FeedSource:
    kw.setdefault("fetch", http_fetcher(policy=LOOPBACK))
    return FeedSource(str(location), base_url=BASE, language="de", **kw)  # type: ignore[arg-type]


def error_of(fn: object, *args: object) -> str:
    with pytest.raises(ArticleError) as info:
        fn(*args)  # type: ignore[operator]
    message = str(info.value)
    assert "\n" not in message
    return message


class StaticSite(FakeAPI):
    """Serves fixed bodies by path over real HTTP."""

    def __init__(self, files: dict[str, tuple[bytes | str, str]]) -> None:
        super().__init__()
        for path, (body, ctype) in files.items():
            self.route("GET", path, lambda _r, _m, b=body, c=ctype: Response(200, b, {"Content-Type": c}))


@pytest.fixture(scope="module")  # one server for the module: each shutdown waits out a 0.5 s poll
def server() -> Iterator[StaticSite]:
    with StaticSite({
        "/feed.xml": ((SITE / "feed.xml").read_bytes(), "application/rss+xml"),
        "/feed.json": ((SITE / "feed.json").read_bytes(), "application/feed+json"),
        "/atom": (ATOM, "application/atom+xml"),
        "/page.html": ("<html><body><h1>Nicht gefunden</h1></body></html>", "text/html"),
    }) as api:
        yield api  # type: ignore[misc]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- RSS / Atom / JSON Feed ----------------------------------------------------------------------


def test_example_rss_feed_from_a_file() -> None:
    source = open_source("feed", str(SITE / "feed.xml"), base_url=BASE, language="en")
    articles = source.articles()
    assert len(articles) >= 3
    seed = source.get("putin-xi-videogespraech-partnerschaft")
    assert seed.title == "Putin und Xi stärken strategische Partnerschaft in Videogespräch"
    assert seed.url == BASE + "putin-xi-videogespraech-partnerschaft"
    assert seed.image == BASE + "bilder/putin-xi-videogespraech.jpg"  # from <enclosure>
    assert seed.tags == ("Russland", "China", "Außenpolitik")
    assert seed.published_at == datetime(2026, 2, 4, 18, 30, tzinfo=CET)
    assert seed.published_at.utcoffset() == timedelta(hours=1)  # type: ignore[union-attr]
    assert seed.language == "de"  # the feed's <language>, not the site default passed in
    assert seed.author == "Redaktion Außenpolitik" and seed.source == str(SITE / "feed.xml")
    klima = source.get("klimakonferenz-hamburg-ergebnisse")
    assert klima.image == BASE + "bilder/klimakonferenz-hamburg.jpg"  # from <media:content>
    assert "Länder & Kommunen" in klima.teaser
    bundesrat = source.get("bundesrat-haushalt-abstimmung")
    assert bundesrat.image is None
    assert bundesrat.teaser.startswith("Die Länderkammer billigte das Gesetz mit knapper Mehrheit. Drei")
    assert "<" not in bundesrat.teaser and "  " not in bundesrat.teaser
    dates = [a.published_at for a in articles]
    assert dates == sorted(dates, reverse=True)  # type: ignore[type-var]


def test_example_rss_feed_over_http_matches_the_file(server: StaticSite) -> None:
    before = len(server.requests)
    over_http = feed(server.url + "/feed.xml").articles()
    from_file = feed(SITE / "feed.xml").articles()
    def same(a: object) -> dict[str, object]:
        return a.to_dict() | {"source": ""}  # type: ignore[attr-defined]

    assert [same(a) for a in over_http] == [same(a) for a in from_file]
    assert over_http[0].source == server.url + "/feed.xml"
    assert [r.path for r in server.requests[before:]] == ["/feed.xml"]


def test_feed_is_read_once(server: StaticSite) -> None:
    before = len(server.requests)
    source = feed(server.url + "/feed.json")
    source.articles()
    source.get("rail-strike-europe")
    assert len(server.requests) == before + 1


def test_json_feed(server: StaticSite) -> None:
    source = feed(server.url + "/feed.json")
    rail = source.get("rail-strike-europe")
    assert rail.language == "en" and rail.author == "Europe desk"
    assert rail.image == BASE + "bilder/nachtzug-streik.jpg"
    assert rail.published_at == datetime(2026, 11, 23, 6, 45, tzinfo=CET)
    fest = source.get("stadtfest-familien-rekord")
    assert fest.language == "de" and fest.author == "Redaktion"  # feed-level language and author
    assert "👨\u200d👩\u200d👧\u200d👦" in fest.title
    tokio = source.get("tokio-kirschbluete-rekord")
    assert tokio.published_at == datetime(2026, 3, 12, 5, tzinfo=UTC) and tokio.image is None


def test_atom_feed(server: StaticSite) -> None:
    article = feed(server.url + "/atom").get("ferry-service-resumes")
    assert article.title == "Ferry service resumes"
    assert article.teaser == "Boats run again & on time."
    assert article.url == BASE + "en/ferry-service-resumes.html"
    assert article.image == BASE + "bilder/faehre.jpg"
    assert article.tags == ("Ferries", "Transport")
    assert article.language == "en" and article.author == "Harbour desk"
    assert article.published_at == datetime(2026, 11, 24, 9, 30, tzinfo=timezone(timedelta(hours=-5)))


def test_unknown_slug_in_a_feed_suggests(server: StaticSite) -> None:
    url = server.url + "/feed.xml"
    assert error_of(feed(url).get, "bundesrat-haushalt") == (
        f"no article 'bundesrat-haushalt' in {url}; did you mean: bundesrat-haushalt-abstimmung?")


def test_strip_html() -> None:
    # A no-break space stays one: "S.&nbsp;5" must not become a place to cut.
    assert strip_html("<p>Eins&nbsp;<b>zwei</b></p><p>drei &amp; vier</p>") == "Eins\u00a0zwei drei & vier"
    assert strip_html("  kein   HTML ") == "kein HTML"


# --- unreadable or invalid feeds -----------------------------------------------------------------


def test_feed_404(server: StaticSite) -> None:
    url = server.url + "/missing.xml"
    assert error_of(feed(url).articles) == f"cannot read {url}: HTTP 404 Not Found"


def test_feed_that_is_not_xml(server: StaticSite) -> None:
    url = server.url + "/page.html"
    message = error_of(feed(url).articles)
    assert message.startswith(f"{url}: not an RSS or Atom feed (")


def test_feed_connection_refused() -> None:
    url = f"http://127.0.0.1:{free_port()}/feed.xml"
    message = error_of(feed(url).articles)
    assert message.startswith(f"cannot read {url}: cannot connect (")


def test_feed_file_missing_or_garbage(tmp_path: Path) -> None:
    missing = tmp_path / "nope.xml"
    assert error_of(feed(missing).articles) == f"cannot read {missing}: no such file"
    garbage = tmp_path / "feed.xml"
    garbage.write_bytes(b"\x00\x01 not a feed at all")
    assert error_of(feed(garbage).articles).startswith(f"{garbage}: not an RSS or Atom feed (")


@pytest.mark.parametrize(("body", "problem"), [
    ('{"version": "https://jsonfeed.org/version/1.1", "items": [', "not a JSON Feed (invalid JSON: "),
    ('{"title": "no version", "items": []}', "not a JSON Feed (no \"version\" starting with"),
    ('{"version": "https://jsonfeed.org/version/1.1", "items": {}}',
     "not a JSON Feed (\"items\" is not a list)"),
    ('{"version": "https://jsonfeed.org/version/1.1", "items": [{"url": "https://x.de/a"}]}',
     "item 1 (https://x.de/a): missing field 'title'"),
    ('{"version": "https://jsonfeed.org/version/1.1", "items": [{"url": "https://x.de/a", "title": "A",'
     ' "date_published": "gestern"}]}', "item 1: field 'date_published': 'gestern' is not an ISO 8601"),
    ('{"version": "https://jsonfeed.org/version/1.1", "items": [{"url": "https://x.de/", "title": "A"}]}',
     "item 1: no slug in its link https://x.de/"),
])
def test_invalid_json_feeds_name_the_path_and_problem(tmp_path: Path, body: str, problem: str) -> None:
    path = tmp_path / "feed.json"
    path.write_text(body, encoding="utf-8")
    assert error_of(feed(path).articles).startswith(f"{path}: {problem}")


def test_rss_item_without_title_or_sharing_a_slug(tmp_path: Path) -> None:
    def rss(items: str) -> Path:
        path = tmp_path / "feed.xml"
        text = f'<rss version="2.0"><channel><title>T</title>{items}</channel></rss>'
        path.write_text(text, encoding="utf-8")
        return path

    path = rss("<item><link>https://x.de/a</link></item>")
    assert error_of(feed(path).articles) == f"{path}: item 1 (https://x.de/a): missing field 'title'"
    # Two articles whose links end alike: the oldest (undated: the last listed) keeps the slug.
    path = rss("<item><title>A</title><link>https://x.de/a</link></item>"
               "<item><title>B</title><link>https://x.de/b/a.html</link></item>")
    first, second = feed(path).articles()
    assert (second.title, second.slug) == ("B", "a")
    assert first.title == "A" and first.slug == disambiguated("a", "https://x.de/a") != "a"


# --- the fetcher ---------------------------------------------------------------------------------


def test_fetcher_follows_redirects_and_caps_size(server: StaticSite) -> None:
    server.route("GET", "/old", lambda _r, _m: Response(301, b"", {"Location": "/feed.json"}))
    assert http_fetcher(policy=LOOPBACK)(server.url + "/old") == (SITE / "feed.json").read_bytes()
    url = server.url + "/feed.xml"
    message = error_of(http_fetcher(max_bytes=100, policy=LOOPBACK), url)
    assert message.startswith(f"cannot read {url}: ") and "limit of 100" in message


def test_fetcher_timeout_and_non_http(server: StaticSite) -> None:
    server.fail_next(200, b"late", delay=0.5, path="/slow")
    url = server.url + "/slow"
    assert error_of(http_fetcher(timeout=0.1, policy=LOOPBACK), url) == f"cannot read {url}: no answer within 0.1 s"
    assert error_of(http_fetcher(), "ftp://example.org/feed.xml").endswith("not an http(s) URL")


def test_fetcher_is_pluggable_and_local_paths_work(tmp_path: Path) -> None:
    seen: list[str] = []

    def fetch(url: str) -> bytes:
        seen.append(url)
        return (SITE / "feed.json").read_bytes()

    source = open_source("feed", BASE + "feed.json", base_url=BASE, language="de", fetch=fetch)
    assert source.get("rail-strike-europe").language == "en"
    assert seen == [BASE + "feed.json"]
    path = tmp_path / "a b.xml"
    path.write_text(ATOM, encoding="utf-8")
    assert read_location(path.as_uri()) == ATOM.encode()
    assert error_of(read_location, str(tmp_path)) == f"cannot read {tmp_path}: is a directory, not a file"


def test_the_default_fetcher_refuses_a_feed_on_a_private_address(server: StaticSite) -> None:
    url = server.url + "/feed.xml"
    assert error_of(feed(url, fetch=None).articles) == (
        f"cannot read {url}: refused: 127.0.0.1 is a loopback address, which the fetch policy does not allow")


def test_request_sends_a_user_agent(server: StaticSite) -> None:
    feed(server.url + "/feed.xml").articles()
    request: Request = server.requests[-1]
    assert request.headers["user-agent"].startswith("sharebot/")


def test_rss_dates_keep_their_offset_and_minus_zero_is_utc(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_text('<rss version="2.0"><channel><title>T</title>'
                    "<item><title>A</title><link>https://x.de/a</link>"
                    "<pubDate>Tue, 24 Nov 2026 09:30:00 -0000</pubDate></item>"
                    "<item><title>B</title><link>https://x.de/b</link>"
                    "<pubDate>Tue, 24 Nov 2026 09:30:00 +0530</pubDate></item>"
                    "<item><title>C</title><link>https://x.de/c</link></item>"
                    "</channel></rss>", encoding="utf-8")
    source = feed(path)
    assert source.get("a").published_at == datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    india = timezone(timedelta(hours=5, minutes=30))
    assert source.get("b").published_at == datetime(2026, 11, 24, 9, 30, tzinfo=india)
    assert str(source.get("b").published_at).endswith("+05:30")
    assert source.get("c").published_at is None
    # newest first (b is 04:00 UTC), undated last
    assert [a.slug for a in source.articles()] == ["a", "b", "c"]
    assert source.get("a").language == "de"  # no <language>: the site's
