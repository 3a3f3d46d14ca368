"""Reading one article from its page over real HTTP: og:, twitter:, JSON-LD and their precedence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fakes.base import FakeAPI, Response

from sharebot.errors import ArticleError
from sharebot.fetch import FetchPolicy
from sharebot.sources import read_page
from sharebot.sources.fetch import http_fetcher

SITE = Path(__file__).resolve().parents[1] / "examples" / "site"
BASE = "https://nachrichten.sharebot-demo.de/"
SEED = "putin-xi-videogespraech-partnerschaft"
LOCAL = http_fetcher(policy=FetchPolicy(allow_private=("127.0.0.1",)))  # the page server listens on loopback


class Pages(FakeAPI):
    """Serves HTML pages by path; tests add pages as they go."""

    def __init__(self) -> None:
        super().__init__()
        self.pages: dict[str, bytes] = {}
        self.route("GET", r"/(.+)", self._page)

    def _page(self, _req: object, match: object) -> Response:
        body = self.pages.get(match.group(1))  # type: ignore[attr-defined]
        if body is None:
            return Response(404, "<html><title>404</title></html>", {"Content-Type": "text/html"})
        return Response(200, body, {"Content-Type": "text/html; charset=utf-8"})

    def add(self, name: str, html: str | bytes) -> str:
        self.pages[name] = html.encode() if isinstance(html, str) else html
        return f"{self.url}/{name}"


@pytest.fixture(scope="module")  # one server for the module: each shutdown waits out a 0.5 s poll
def pages() -> Iterator[Pages]:
    with Pages() as api:
        yield api  # type: ignore[misc]


def page(head: str, *, lang: str = "", body: str = "") -> str:
    lang_attr = f' lang="{lang}"' if lang else ""
    return f"<!DOCTYPE html><html{lang_attr}><head>{head}</head><body>{body}</body></html>"


def ld(obj: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(obj)}</script>'


def test_example_page(pages: Pages) -> None:
    url = pages.add(f"artikel/{SEED}.html", (SITE / "pages" / f"{SEED}.html").read_bytes())
    article = read_page(url, language="en", fetch=LOCAL)
    assert article.slug == SEED
    assert article.url == BASE + SEED  # og:url, not the address it was fetched from
    assert article.title == "Putin und Xi stärken strategische Partnerschaft in Videogespräch"
    # og: beats twitter: and JSON-LD
    assert article.teaser.startswith("Putin und Xi führten ein Videogespräch")
    assert article.image == BASE + "bilder/putin-xi-videogespraech.jpg"
    assert article.image_alt == "Wladimir Putin sitzt vor einem Bildschirm, auf dem Xi Jinping zu sehen ist."
    assert article.section == "Geopolitik"
    assert article.tags == ("Russland", "China", "Wladimir Putin", "Xi Jinping", "Außenpolitik")
    assert article.published_at == datetime(2026, 2, 4, 18, 30, tzinfo=timezone(timedelta(hours=1)))
    assert article.language == "de"  # <html lang>, not the fallback passed in
    assert article.author == "Redaktion Außenpolitik"
    assert article.source == url


def test_example_page_agrees_with_the_example_content() -> None:
    from sharebot.sources import open_source

    content = open_source("content", str(SITE / "content"), base_url=BASE, language="de").get(SEED)
    from_page = read_page(str(SITE / "pages" / f"{SEED}.html"), language="de")
    for field in ("slug", "title", "url", "teaser", "image", "image_alt", "section", "tags", "published_at"):
        assert getattr(from_page, field) == getattr(content, field), field


def test_twitter_tags_fill_in_for_missing_og(pages: Pages) -> None:
    url = pages.add("nur-twitter", page(
        '<meta name="twitter:title" content="Nur &quot;Twitter&quot;-Karte">'
        '<meta name="twitter:description" content="Beschreibung">'
        '<meta name="twitter:image" content="/bilder/t.jpg">'
        '<meta name="twitter:image:alt" content="Alt-Text">'
        '<link rel="canonical" href="https://nachrichten.sharebot-demo.de/politik/nur-twitter/">'
    ))
    article = read_page(url, language="de", fetch=LOCAL)
    assert article.title == 'Nur "Twitter"-Karte'
    assert article.teaser == "Beschreibung"
    assert article.image == f"{pages.url}/bilder/t.jpg"  # resolved against the page address
    assert article.image_alt == "Alt-Text"
    assert article.url == BASE + "politik/nur-twitter/" and article.slug == "nur-twitter"
    assert article.language == "de" and article.tags == () and article.published_at is None


def test_json_ld_alone_is_enough(pages: Pages) -> None:
    graph = {"@context": "https://schema.org", "@graph": [
        {"@type": "WebSite", "name": "Demo"},
        {"@type": ["NewsArticle"], "headline": "Nur JSON-LD", "description": "Aus dem Graphen",
         "image": {"@type": "ImageObject", "url": "https://nachrichten.sharebot-demo.de/bilder/ld.jpg",
                   "caption": "Bildunterschrift"},
         "datePublished": "2026-11-24T12:00:00Z", "keywords": ["Eins", "Zwei"], "inLanguage": "en-GB",
         "articleSection": ["Welt"], "author": [{"@type": "Person", "name": "A. Autorin"}, "B. Autor"],
         "url": "https://nachrichten.sharebot-demo.de/welt/nur-json-ld"},
    ]}
    broken = "<script type='application/ld+json'>{broken</script>"
    url = pages.add("artikel", page(broken + ld(graph))) + "?id=1"
    article = read_page(url, language="de", fetch=LOCAL)
    assert (article.title, article.teaser) == ("Nur JSON-LD", "Aus dem Graphen")
    assert article.image == BASE + "bilder/ld.jpg" and article.image_alt == "Bildunterschrift"
    assert article.published_at == datetime(2026, 11, 24, 12, tzinfo=UTC)
    assert article.tags == ("Eins", "Zwei") and article.section == "Welt"
    assert article.language == "en-GB" and article.author == "A. Autorin, B. Autor"
    assert article.slug == "nur-json-ld"


def test_language_falls_back_to_og_locale_then_the_site(pages: Pages) -> None:
    locale = pages.add("locale", page('<meta property="og:title" content="T">'
                                      '<meta property="og:locale" content="fr_FR">'))
    bare = pages.add("bare", page('<meta property="og:title" content="T">'))
    assert read_page(locale, language="de", fetch=LOCAL).language == "fr-FR"
    assert read_page(bare, language="de", fetch=LOCAL).language == "de"
    assert read_page(bare, language="de", fetch=LOCAL).url == bare  # no og:url or canonical: the address itself


def test_legacy_charset_and_nfc(pages: Pages) -> None:
    html = page('<meta charset="iso-8859-1"><meta property="og:title" content="Grüße aus Köln">', lang="de")
    url = pages.add("latin1", html.encode("iso-8859-1"))
    assert read_page(url, language="de", fetch=LOCAL).title == "Grüße aus Köln"
    decomposed = "Gru\u0308ße"
    url = pages.add("nfd", page(f'<meta property="og:title" content="{decomposed}">'))
    assert read_page(url, language="de", fetch=LOCAL).title == "Grüße"


def test_naive_published_time(pages: Pages) -> None:
    url = pages.add("naiv", page('<meta property="og:title" content="T">'
                                 '<meta property="article:published_time" content="2026-11-24T08:00:00">'))
    with pytest.raises(ArticleError) as info:
        read_page(url, language="de", fetch=LOCAL)
    expected = f"{url}: field 'article:published_time': '2026-11-24T08:00:00' has no time zone"
    assert str(info.value).startswith(expected)
    berlin = read_page(url, language="de", fetch=LOCAL, timezone="Europe/Berlin")
    assert berlin.published_at == datetime(2026, 11, 24, 8, tzinfo=ZoneInfo("Europe/Berlin"))


def test_page_without_title_names_url_and_field(pages: Pages) -> None:
    url = pages.add("ohne-titel", page('<title>Ein title-Element zählt nicht</title>'
                                       '<meta property="og:description" content="Nur Beschreibung">'))
    with pytest.raises(ArticleError) as info:
        read_page(url, language="de", fetch=LOCAL)
    assert str(info.value) == (
        f"{url}: missing field 'title' (no og:title, twitter:title or JSON-LD headline)")


def test_missing_page_and_refused_connection(pages: Pages) -> None:
    url = f"{pages.url}/gibt-es-nicht"
    with pytest.raises(ArticleError, match=rf"^cannot read {url}: HTTP 404 Not Found$"):
        read_page(url, language="de", fetch=LOCAL)
    with pytest.raises(ArticleError, match=rf"^cannot read {url}: refused: 127.0.0.1 is a loopback address"):
        read_page(url, language="de")  # the default fetcher reaches public addresses only
    seen: list[str] = []

    def offline(u: str) -> bytes:
        seen.append(u)
        raise ArticleError(f"cannot read {u}: offline")

    with pytest.raises(ArticleError, match="offline"):
        read_page("https://nachrichten.sharebot-demo.de/a", language="de", fetch=offline)
    assert seen == ["https://nachrichten.sharebot-demo.de/a"]
