"""Where articles come from: a content directory, a feed, or a single article page.

Every source answers the same two questions (`get(slug)`, `articles()`), so the rest of sharebot never
needs to know which one it is talking to. The submodules are imported only when a source is opened, and
feedparser/httpx only when a feed or page is actually read, so a dry run over a content directory stays
cheap.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, tzinfo
from typing import Iterable, Protocol
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sharebot.errors import ArticleError, ConfigError
from sharebot.models import Article
from sharebot.sources.fetch import Fetcher

__all__ = ["Source", "Fetcher", "open_source", "read_page"]

KINDS = ("content", "feed")


class Source(Protocol):
    def get(self, slug: str) -> Article: ...

    def articles(self) -> list[Article]: ...


def open_source(kind: str, location: str, *, base_url: str, language: str, fetch: Fetcher | None = None,
                timezone: str | None = None) -> Source:
    """A source of `kind` ("content" or "feed") at `location` (a directory, a feed path or URL).

    `timezone` (an IANA name such as "Europe/Berlin") is the zone for front-matter times written without
    an offset; without it such times are an error.
    """
    if kind == "content":
        from sharebot.sources.content import ContentSource

        return ContentSource(location, base_url=base_url, language=language, timezone=timezone)
    if kind == "feed":
        from sharebot.sources.feed import FeedSource

        return FeedSource(location, base_url=base_url, language=language, fetch=fetch)
    raise ArticleError(f"unknown source kind '{kind}'; use one of: {', '.join(KINDS)}")


def read_page(url: str, *, language: str, fetch: Fetcher | None = None,
              timezone: str | None = None) -> Article:
    """One article from its page's og:, twitter: and JSON-LD metadata."""
    from sharebot.sources.page import read_page as _read_page

    return _read_page(url, language=language, fetch=fetch, timezone=timezone)


# --- helpers shared by the sources -------------------------------------------------------------

_SPACE = re.compile(r"\s+")


def clean(text: str, *, collapse: bool = True) -> str:
    """NFC-normalised and stripped; with `collapse`, every whitespace run becomes one space.

    NFC matters because the same "ä" may arrive as one code point or as "a" + combining mark, and the
    networks count (and some reject) the two differently.
    """
    text = unicodedata.normalize("NFC", text).strip()
    return _SPACE.sub(" ", text) if collapse else text


def clean_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Cleaned tags without empties or exact repeats; case variants are kept for the hashtag rules."""
    seen: dict[str, None] = {}
    for tag in tags:
        tag = clean(tag)
        if tag:
            seen.setdefault(tag, None)
    return tuple(seen)


def slug_from_url(url: str) -> str:
    """The last non-empty path segment of `url`, percent-decoded, without a file extension."""
    segments = [s for s in urlsplit(url).path.split("/") if s]
    if not segments:
        return ""
    last = clean(unquote(segments[-1]))
    stem, dot, ext = last.rpartition(".")
    return stem if dot and stem and ext.isalnum() and len(ext) <= 5 else last


def parse_when(value: object, zone: tzinfo | None) -> datetime:
    """An aware datetime from an ISO 8601 string, date or datetime; ValueError says what is wrong."""
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, date):
        when = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"'{text}' is not an ISO 8601 date or datetime") from None
    else:
        raise ValueError(f"expected an ISO 8601 date or datetime, got {type(value).__name__}")
    if when.tzinfo is None or when.utcoffset() is None:
        if zone is None:
            raise ValueError(f"'{value}' has no time zone; add an offset such as +01:00 "
                             "or set the site's timezone")
        when = when.replace(tzinfo=zone)
    return when


def newest_first(articles: Iterable[Article]) -> list[Article]:
    """Newest first; undated articles keep their order after the dated ones."""
    items = list(articles)
    dated = [a for a in items if a.published_at is not None]
    dated.sort(key=lambda a: a.published_at or datetime.min, reverse=True)
    return dated + [a for a in items if a.published_at is None]


def unknown_slug(slug: str, where: str, known: Iterable[str]) -> ArticleError:
    import difflib

    close = difflib.get_close_matches(slug, sorted(set(known)), n=3, cutoff=0.5)
    hint = f"; did you mean: {', '.join(close)}?" if close else ""
    return ArticleError(f"no article '{slug}' in {where}{hint}")


def zone_named(name: str | None) -> tzinfo | None:
    """The IANA zone `name` ("Europe/Berlin"), or None for no site zone."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown timezone '{name}'; use an IANA name such as Europe/Berlin") from None
