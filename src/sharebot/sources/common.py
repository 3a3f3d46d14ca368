"""Helpers the sources share: text and tag cleaning, an article's identity and slug from its URL, dates,
the site zone, errors, and what a scan that skips bad items returns.

They live apart from the package `__init__`, which imports the sources: a source never imports the package
that opens it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime, tzinfo
from typing import NamedTuple
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sharebot.errors import ArticleError, ConfigError
from sharebot.models import Article

_SPACE = re.compile(r"[ \t\n\r\f\v]+")


def clean(text: str, *, collapse: bool = True) -> str:
    """Stripped; with `collapse`, every run of ASCII whitespace becomes one space.

    Nothing else: NFC, invisible and control characters are input normalisation's (`sharebot.normalise`),
    which notes each change, and a no-break space stays one.
    """
    text = text.strip()
    return _SPACE.sub(" ", text) if collapse else text


def clean_slug(text: str) -> str:
    """A slug as typed or taken from a URL: cleaned and NFC, so one "ä" is one slug whichever way it came."""
    return unicodedata.normalize("NFC", clean(text))


def clean_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Cleaned tags without empties or exact repeats; case variants are kept for the hashtag rules."""
    seen: dict[str, None] = {}
    for tag in tags:
        tag = clean(tag)
        if tag:
            seen.setdefault(tag, None)
    return tuple(seen)


_DEFAULT_PORTS = {"http": 80, "https": 443}
# A server answers /a/ with /a/index.html (or index.php, which also serves WordPress's /?p=N), so all three
# name one page.
_INDEX_FILES = frozenset({"index.html", "index.htm", "index.php"})
_NOT_IN_SLUGS = re.compile(r"[\s/\\?#&=]+")


def canonical_url(url: str) -> str:
    """`url` as an article's identity, so that two spellings of one address are one article:

    - the scheme and host in lower case, the default port (80 for http, 443 for https) dropped;
    - the fragment dropped: it names a place in the page, not another page;
    - tracking parameters (`utm_*`, any case) dropped, the other parameters kept in their order;
    - a last path segment `index.html`, `index.htm` or `index.php` dropped, and then a trailing slash:
      `/a/index.html`, `/a/` and `/a` are one article; an empty path is `/`.

    http and https stay apart, as do parameters in another order. Anything but an http(s) URL with a
    host comes back stripped and otherwise as it was.
    """
    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return url
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if "@" in parts.netloc:
        netloc = parts.netloc.rpartition("@")[0] + "@" + netloc
    path = parts.path
    head, _, last = path.rpartition("/")
    if last.lower() in _INDEX_FILES:
        path = head + "/"
    path = path.rstrip("/") or "/"
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.lower().startswith("utm_")]
    return urlunsplit((scheme, netloc, path, urlencode(pairs, safe="/:@!$'()*+,;~"), ""))


def slug_from_url(url: str) -> str:
    """A readable slug for the article at `url`: the last segment of its canonical path (percent-decoded,
    without a file extension), then its query parameters as `key-value`. "" when the URL has neither.

        https://site/politik/meldung/index.html  ->  meldung
        https://site/?p=123                       ->  p-123
        https://site/article.php?id=7             ->  article-id-7

    Two articles can share one (`/politik/meldung/` and `/sport/meldung/`); `disambiguated` tells them apart.
    """
    parts = urlsplit(canonical_url(url))
    words = []
    segments = [s for s in parts.path.split("/") if s]
    if segments:
        last = clean_slug(unquote(segments[-1]))
        stem, dot, ext = last.rpartition(".")
        words.append(stem if dot and stem and ext.isalnum() and len(ext) <= 5 else last)
    words += [f"{key}-{value}" if value else key for key, value in parse_qsl(parts.query, keep_blank_values=True)]
    return _NOT_IN_SLUGS.sub("-", clean_slug("-".join(w for w in words if w))).strip("-")


def legacy_slug(url: str) -> str:
    """The slug a feed item had before articles were known by their canonical URL: the last path segment
    of the URL as written. `watch` still recognises the items it recorded under it."""
    segments = [s for s in urlsplit(url).path.split("/") if s]
    if not segments:
        return ""
    last = clean_slug(unquote(segments[-1]))
    stem, dot, ext = last.rpartition(".")
    return stem if dot and stem and ext.isalnum() and len(ext) <= 5 else last


def disambiguated(slug: str, article_id: str) -> str:
    """`slug` with a suffix made from `article_id`: the slug an article gets when another one holds `slug`.
    The same for the same article, whichever order the two are met in."""
    import zlib  # crc32: stable across runs and machines, unlike hash(); not for security

    return f"{slug}-{zlib.crc32(article_id.encode()):08x}"


class BadItem(NamedTuple):
    """A file or feed item a scan skipped."""

    where: str  # the file, or the feed and the item's number
    reason: str  # one line, naming `where`
    fingerprint: str  # changes when the file or item does: a skipped item is tried again then


class Scan(NamedTuple):
    """What a source holds: its readable articles (newest first) and the items it had to skip."""

    articles: list[Article]
    bad: list[BadItem]


def fingerprint(*parts: bytes | str) -> str:
    import hashlib

    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()[:32]


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
