"""Helpers the sources share: text and tag cleaning, slugs from URLs, dates, the site zone, errors.

They live apart from the package `__init__`, which imports the sources: a source never imports the package
that opens it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime, tzinfo
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sharebot.errors import ArticleError, ConfigError
from sharebot.models import Article

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
