"""A site's RSS 2.0, Atom or JSON Feed (1.0/1.1) as articles, from a local path or an http(s) URL.

RSS and Atom go through feedparser (imported only here, and only when the feed is read); JSON Feed is
plain JSON (https://www.jsonfeed.org/version/1.1/). The feed is read once, on first use.

An item is known by its link's canonical URL (`Article.id`) and, where the feed gives one, its own id
(guid, Atom id, JSON Feed id: `Article.feed_id`). Its slug is made from the link (`slug_from_url`); when
two items of the feed would get the same slug, the oldest keeps it and the others get one with a suffix
made from their id (`disambiguated`), so each keeps its slug as newer items arrive. An item that cannot
be read (no link, no title, a date that is not one) is skipped by `scan()` and named; the others go on.
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
from sharebot.sources.common import (
    BadItem,
    Scan,
    canonical_url,
    clean,
    clean_tags,
    disambiguated,
    fingerprint,
    newest_first,
    parse_when,
    slug_from_url,
    unknown_slug,
)
from sharebot.sources.fetch import Fetcher, read_location

_JSON_FEED = "https://jsonfeed.org/version/"


class FeedSource:
    def __init__(self, location: str, *, base_url: str, language: str, fetch: Fetcher | None = None):
        self.location = location
        self.base_url = base_url
        self.language = language
        self.fetch = fetch
        self._scan: Scan | None = None

    def __repr__(self) -> str:
        return f"FeedSource({self.location!r})"

    def get(self, slug: str) -> Article:
        """The item with this slug, or with this slug's disambiguated form (what the queue may file it as)."""
        scan = self.scan()
        for article in scan.articles:
            if article.slug == slug:
                return article
        for article in scan.articles:
            if disambiguated(article.slug, article.id) == slug:
                return article
        error = unknown_slug(slug, self.location, (a.slug for a in scan.articles))
        if scan.bad:
            raise ArticleError(f"{error}; {len(scan.bad)} item(s) skipped, the first: {scan.bad[0].reason}")
        raise error

    def articles(self) -> list[Article]:
        """Every item, newest first; the first item that cannot be read is an ArticleError."""
        scan = self.scan()
        if scan.bad:
            raise ArticleError(scan.bad[0].reason)
        return scan.articles

    def scan(self) -> Scan:
        """The readable items, newest first, and each skipped item with why. A feed that cannot be read or
        is no feed at all is an ArticleError."""
        if self._scan is None:
            data = read_location(self.location, self.fetch)
            items = self._json_feed(data) if data.lstrip()[:1] == b"{" else self._xml_feed(data)
            articles = [item for item in items if isinstance(item, Article)]
            self._scan = Scan(newest_first(_distinct_slugs(articles)),
                              [item for item in items if isinstance(item, BadItem)])
        return Scan(list(self._scan.articles), list(self._scan.bad))

    def _fail(self, problem: str) -> ArticleError:
        return ArticleError(f"{self.location}: {one_line(problem)}")

    def _bad(self, number: int, raw: Any, error: ArticleError) -> BadItem:
        """A skipped item: its error, and a fingerprint of its content (not of its position, which shifts
        as items arrive)."""
        content = json.dumps(raw, sort_keys=True, default=str, ensure_ascii=False)
        return BadItem(f"{self.location} item {number}", str(error), fingerprint(self.location, content))

    def _identity(self, link: str, where: str) -> tuple[str, str]:
        """The item's slug and id from its link."""
        slug = slug_from_url(link)
        if not slug:
            raise self._fail(f"{where}: no slug in its link {link} (the link needs a path or a query)")
        return slug, canonical_url(link)

    # --- RSS / Atom --------------------------------------------------------------------------------
    def _xml_feed(self, data: bytes) -> list[Article | BadItem]:
        import feedparser

        parsed = feedparser.parse(data)
        # feedparser reads what it can and flags trouble in `bozo`; an empty version means it found
        # no RSS or Atom at all (an HTML error page, plain text, truncated XML).
        if not parsed.get("version"):
            reason = parsed.get("bozo_exception") or "no <rss>, <feed> or <rdf:RDF> element"
            raise self._fail(f"not an RSS or Atom feed ({reason})")
        language = clean(parsed.feed.get("language") or "") or self.language
        items: list[Article | BadItem] = []
        for number, entry in enumerate(parsed.entries, 1):
            try:
                items.append(self._xml_entry(number, entry, language))
            except ArticleError as exc:
                items.append(self._bad(number, entry, exc))
        return items

    def _xml_entry(self, number: int, entry: Any, language: str) -> Article:
        where = f"item {number}"
        title = strip_html(entry.get("title", ""))
        link = entry.get("link") or ""
        if not title:
            raise self._fail(f"{where} ({link or 'no link'}): missing field 'title'")
        if not link:
            raise self._fail(f"{where} ('{title}'): missing field 'link'")
        slug, article_id = self._identity(link, where)
        author = entry.get("author_detail", {}).get("name") or entry.get("author") or ""
        return Article(
            slug=slug,
            title=title,
            url=link,
            teaser=strip_html(entry.get("summary", "")),
            image=_xml_image(entry),
            tags=clean_tags(t.get("term") or t.get("label") or "" for t in entry.get("tags", [])),
            language=language,
            published_at=self._xml_date(entry, where),
            author=clean(author),
            source=self.location,
            id=article_id,
            feed_id=clean(str(entry.get("id") or "")),  # feedparser's name for the guid and the Atom id
            slug_derived=True,
        )

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
    def _json_feed(self, data: bytes) -> list[Article | BadItem]:
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
        author = _json_author(feed)
        read: list[Article | BadItem] = []
        for number, item in enumerate(items, 1):
            try:
                read.append(self._json_item(number, item, language, author))
            except ArticleError as exc:
                read.append(self._bad(number, item, exc))
        return read

    def _json_item(self, number: int, item: Any, language: str, feed_author: str) -> Article:
        where = f"item {number}"
        if not isinstance(item, dict):
            raise self._fail(f"{where} is not an object")
        link = str(item.get("url") or item.get("external_url") or "")
        title = clean(str(item.get("title") or ""))
        if not title:
            raise self._fail(f"{where} ({link or 'no url'}): missing field 'title'")
        if not link:
            raise self._fail(f"{where} ('{title}'): missing field 'url'")
        slug, article_id = self._identity(link, where)
        published_at = None
        if item.get("date_published"):
            try:
                published_at = parse_when(str(item["date_published"]).replace("Z", "+00:00"), None)
            except ValueError as exc:
                raise self._fail(f"{where}: field 'date_published': {exc}") from None
        tags = item.get("tags") or []
        return Article(
            slug=slug,
            title=title,
            url=link,
            teaser=strip_html(str(item.get("summary") or "")),
            image=str(item.get("image") or item.get("banner_image") or "") or None,
            tags=clean_tags(str(t) for t in tags) if isinstance(tags, list) else (),
            language=clean(str(item.get("language") or "")) or language,
            published_at=published_at,
            author=_json_author(item) or feed_author,
            source=self.location,
            id=article_id,
            feed_id=clean(str(item.get("id") or "")),
            slug_derived=True,
        )


def _distinct_slugs(articles: list[Article]) -> list[Article]:
    """One article per id (the first one listed: a feed that lists an item twice means one article), and one
    slug per article: of the items that would share a slug, the oldest keeps it and the others are
    `disambiguated`. Undated items count as older than dated ones, the last listed as the oldest."""
    first: dict[str, Article] = {}
    for article in articles:
        first.setdefault(article.id, article)
    sharing: dict[str, list[Article]] = {}
    for article in first.values():
        sharing.setdefault(article.slug, []).append(article)
    renamed = {}
    for slug, group in sharing.items():
        for article in newest_first(group)[:-1]:
            renamed[article.id] = disambiguated(slug, article.id)
    return [a._replace(slug=renamed[a.id]) if a.id in renamed else a for a in first.values()]


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
