"""A site's RSS 2.0, Atom or JSON Feed (1.0/1.1) as articles, from a local path or an http(s) URL.

RSS and Atom go through feedparser (imported only here, and only when the feed is read); JSON Feed is
plain JSON (https://www.jsonfeed.org/version/1.1/). The feed is read once, on first use.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any

from sharebot.errors import ArticleError
from sharebot.models import Article
from sharebot.scrub import one_line
from sharebot.sources.common import clean, clean_tags, newest_first, parse_when, slug_from_url, unknown_slug
from sharebot.sources.fetch import Fetcher, read_location

_JSON_FEED = "https://jsonfeed.org/version/"


class FeedSource:
    def __init__(self, location: str, *, base_url: str, language: str, fetch: Fetcher | None = None):
        self.location = location
        self.base_url = base_url
        self.language = language
        self.fetch = fetch
        self._articles: list[Article] | None = None

    def __repr__(self) -> str:
        return f"FeedSource({self.location!r})"

    def get(self, slug: str) -> Article:
        articles = self.articles()
        for article in articles:
            if article.slug == slug:
                return article
        raise unknown_slug(slug, self.location, (a.slug for a in articles))

    def articles(self) -> list[Article]:
        if self._articles is None:
            data = read_location(self.location, self.fetch)
            items = self._json_feed(data) if data.lstrip()[:1] == b"{" else self._xml_feed(data)
            seen: dict[str, Article] = {}
            for article in items:
                if article.slug in seen:
                    raise ArticleError(f"{self.location}: duplicate slug '{article.slug}' in items "
                                       f"{seen[article.slug].url} and {article.url}")
                seen[article.slug] = article
            self._articles = newest_first(items)
        return list(self._articles)

    def _fail(self, problem: str) -> ArticleError:
        return ArticleError(f"{self.location}: {one_line(problem)}")

    # --- RSS / Atom --------------------------------------------------------------------------------
    def _xml_feed(self, data: bytes) -> list[Article]:
        import feedparser

        parsed = feedparser.parse(data)
        # feedparser reads what it can and flags trouble in `bozo`; an empty version means it found
        # no RSS or Atom at all (an HTML error page, plain text, truncated XML).
        if not parsed.get("version"):
            reason = parsed.get("bozo_exception") or "no <rss>, <feed> or <rdf:RDF> element"
            raise self._fail(f"not an RSS or Atom feed ({reason})")
        feed = parsed.feed
        language = clean(feed.get("language") or "") or self.language
        articles = []
        for number, entry in enumerate(parsed.entries, 1):
            where = f"item {number}"
            title = strip_html(entry.get("title", ""))
            link = entry.get("link") or ""
            if not title:
                raise self._fail(f"{where} ({link or 'no link'}): missing field 'title'")
            if not link:
                raise self._fail(f"{where} ('{title}'): missing field 'link'")
            author = entry.get("author_detail", {}).get("name") or entry.get("author") or ""
            articles.append(Article(
                slug=self._slug(link, where),
                title=title,
                url=link,
                teaser=strip_html(entry.get("summary", "")),
                image=_xml_image(entry),
                tags=clean_tags(t.get("term") or t.get("label") or "" for t in entry.get("tags", [])),
                language=language,
                published_at=self._xml_date(entry, where),
                author=clean(author),
                source=self.location,
            ))
        return articles

    def _xml_date(self, entry: Any, where: str) -> datetime | None:
        raw = entry.get("published") or entry.get("updated")
        if not raw:
            return None
        # Parse the original text to keep the publisher's UTC offset; feedparser's *_parsed is UTC only.
        try:
            when = parsedate_to_datetime(raw)  # RFC 822, as in RSS
            # "-0000" (and a missing zone) come back naive; RFC 5322 reads -0000 as UTC.
            return when if when.tzinfo else when.replace(tzinfo=UTC)
        except (TypeError, ValueError):
            pass
        try:
            return parse_when(raw.replace("Z", "+00:00"), None)  # RFC 3339, as in Atom
        except ValueError:
            pass
        parsed = entry.get("published_parsed") or entry.get("updated_parsed")
        if parsed:
            year, month, day, hour, minute, second = parsed[:6]
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        raise self._fail(f"{where}: cannot read the date '{raw}'")

    # --- JSON Feed ---------------------------------------------------------------------------------
    def _json_feed(self, data: bytes) -> list[Article]:
        try:
            feed = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise self._fail(f"not a JSON Feed (invalid JSON: {exc})") from None
        if not isinstance(feed, dict) or not str(feed.get("version", "")).startswith(_JSON_FEED):
            raise self._fail(f"not a JSON Feed (no \"version\" starting with {_JSON_FEED})")
        items = feed.get("items")
        if not isinstance(items, list):
            raise self._fail("not a JSON Feed (\"items\" is not a list)")
        language = clean(str(feed.get("language") or "")) or self.language
        feed_author = _json_author(feed)
        articles = []
        for number, item in enumerate(items, 1):
            if not isinstance(item, dict):
                raise self._fail(f"item {number} is not an object")
            where = f"item {number}"
            link = str(item.get("url") or item.get("external_url") or "")
            title = clean(str(item.get("title") or ""))
            if not title:
                raise self._fail(f"{where} ({link or 'no url'}): missing field 'title'")
            if not link:
                raise self._fail(f"{where} ('{title}'): missing field 'url'")
            published_at = None
            if item.get("date_published"):
                try:
                    published_at = parse_when(str(item["date_published"]).replace("Z", "+00:00"), None)
                except ValueError as exc:
                    raise self._fail(f"{where}: field 'date_published': {exc}") from None
            tags = item.get("tags") or []
            articles.append(Article(
                slug=self._slug(link, where),
                title=title,
                url=link,
                teaser=strip_html(str(item.get("summary") or "")),
                image=str(item.get("image") or item.get("banner_image") or "") or None,
                tags=clean_tags(str(t) for t in tags) if isinstance(tags, list) else (),
                language=clean(str(item.get("language") or "")) or language,
                published_at=published_at,
                author=_json_author(item) or feed_author,
                source=self.location,
            ))
        return articles

    def _slug(self, link: str, where: str) -> str:
        slug = slug_from_url(link)
        if not slug:
            raise self._fail(f"{where}: no slug in its link {link} (the link needs a path)")
        return slug


def _xml_image(entry: Any) -> str | None:
    """The first image among enclosures, media:content and media:thumbnail."""
    for enclosure in entry.get("enclosures", []):
        if str(enclosure.get("type", "")).startswith("image/") and enclosure.get("href"):
            return str(enclosure["href"])
    for media in entry.get("media_content", []):
        is_image = media.get("medium") == "image" or str(media.get("type", "")).startswith("image/")
        if is_image and media.get("url"):
            return str(media["url"])
    for thumb in entry.get("media_thumbnail", []):
        if thumb.get("url"):
            return str(thumb["url"])
    image = entry.get("image")
    return str(image["href"]) if isinstance(image, dict) and image.get("href") else None


def _json_author(obj: dict[str, Any]) -> str:
    authors = obj.get("authors")  # 1.1
    if not isinstance(authors, list):
        authors = [obj["author"]] if isinstance(obj.get("author"), dict) else []  # 1.0
    names = [clean(str(a.get("name"))) for a in authors if isinstance(a, dict) and a.get("name")]
    return ", ".join(names)


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("br", "p", "div", "li"):
            self.parts.append(" ")


def strip_html(text: str) -> str:
    """Plain text from an HTML fragment, entities decoded, whitespace collapsed."""
    if "<" not in text and "&" not in text:
        return clean(text)
    parser = _TextOnly()
    parser.feed(text)
    parser.close()
    return clean("".join(parser.parts))
