"""One article from its web page: Open Graph, twitter: and JSON-LD metadata, read with html.parser.

Open Graph wins over JSON-LD because it is what the networks' own card scrapers read, so the post then
matches the card they build (https://ogp.me/). twitter: tags fill gaps, then JSON-LD NewsArticle
(https://schema.org/NewsArticle), then plain `<meta name=...>`.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

from sharebot.errors import ArticleError
from sharebot.models import Article
from sharebot.sources.common import canonical_url, clean, clean_tags, parse_when, slug_from_url, zone_named
from sharebot.sources.fetch import Fetcher, read_location

_ARTICLE_TYPES = {"NewsArticle", "Article", "ReportageNewsArticle", "AnalysisNewsArticle", "BlogPosting",
                  "OpinionNewsArticle", "ReviewNewsArticle", "BackgroundNewsArticle", "LiveBlogPosting"}
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w-]+)""", re.IGNORECASE)


def read_page(url: str, *, language: str, fetch: Fetcher | None = None,
              timezone: str | None = None, site: str | None = None) -> Article:
    """The article at `url`. With `site` (the newsroom's base URL), an og:url or canonical link on neither the
    page's site nor `site` is not believed: the page's own address is used, with a note."""
    html = _decode(read_location(url, fetch))
    page = _PageParser()
    page.feed(html)
    page.close()
    meta, ld = page.meta, _news_article(page.scripts)

    def first(*candidates: Any) -> str:
        for value in candidates:
            if isinstance(value, str) and clean(value):
                return clean(value)
        return ""

    title = first(meta.get("og:title"), meta.get("twitter:title"), ld.get("headline"), ld.get("name"))
    if not title:
        raise ArticleError(f"{url}: missing field 'title' (no og:title, twitter:title or JSON-LD headline)")
    canonical = first(meta.get("og:url"), page.canonical, _ld_url(ld.get("url")), url)
    canonical = urljoin(url, canonical)
    notes: tuple[str, ...] = ()
    if site is not None and not (same_site(canonical, url) or same_site(canonical, site)):
        # A page may name its own canonical address, not another site's: the post would link there.
        notes = (f"url: the page names {canonical} as its address, on another site; its own address is used",)
        canonical = url
    image = first(meta.get("og:image"), meta.get("og:image:url"), meta.get("og:image:secure_url"),
                  meta.get("twitter:image"), meta.get("twitter:image:src"), _ld_url(ld.get("image")))
    published = first(meta.get("article:published_time"), ld.get("datePublished"))
    published_at = None
    if published:
        try:
            published_at = parse_when(published.replace("Z", "+00:00"), zone_named(timezone))
        except ValueError as exc:
            raise ArticleError(f"{url}: field 'article:published_time': {exc}") from None
    tags = page.tags or _ld_keywords(ld.get("keywords"))
    locale = first(meta.get("og:locale")).replace("_", "-")
    slug = slug_from_url(canonical) or slug_from_url(url)
    if not slug:
        raise ArticleError(f"{url}: no slug in the page's address {canonical} (it needs a path or a query)")
    return Article(
        slug=slug,
        title=title,
        url=canonical,
        teaser=first(meta.get("og:description"), meta.get("twitter:description"), ld.get("description"),
                     meta.get("description")),
        image=urljoin(url, image) if image else None,
        image_alt=first(meta.get("og:image:alt"), meta.get("twitter:image:alt"),
                        _ld_caption(ld.get("image"))),
        tags=clean_tags(tags),
        section=first(meta.get("article:section"), _first_text(ld.get("articleSection"))),
        language=first(page.lang, _first_text(ld.get("inLanguage")), locale) or language,
        published_at=published_at,
        author=first(_ld_author(ld.get("author")), meta.get("author")),
        source=url,
        id=canonical_url(canonical),
        slug_derived=True,
        notes=notes,
    )


def same_site(one: str, other: str) -> bool:
    """Do two http(s) URLs name one site: the same host, or one a subdomain of the other, "www." aside?"""
    a, b = (urlsplit(u).hostname or "" for u in (one, other))
    a, b = (h.removeprefix("www.") for h in (a, b))
    return a == b or a.endswith("." + b) or b.endswith("." + a)


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.tags: list[str] = []
        self.scripts: list[str] = []
        self.lang = ""
        self.canonical = ""
        self._in_ld = False
        self._ld_parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): v or "" for k, v in attrs}
        if tag == "html":
            self.lang = a.get("lang", "")
        elif tag == "meta":
            key = (a.get("property") or a.get("name") or "").strip().lower()
            if key == "article:tag":
                self.tags.append(a.get("content", ""))
            elif key and "content" in a:
                self.meta.setdefault(key, a["content"])  # the first one counts, as for the scrapers
        elif tag == "link" and "canonical" in a.get("rel", "").lower().split():
            self.canonical = self.canonical or a.get("href", "")
        elif tag == "script" and a.get("type", "").strip().lower() == "application/ld+json":
            self._in_ld, self._ld_parts = True, []

    def handle_data(self, data: str) -> None:
        if self._in_ld:
            self._ld_parts.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in_ld:
            self._in_ld = False
            self.scripts.append("".join(self._ld_parts))


def _decode(data: bytes) -> str:
    match = _CHARSET.search(data[:4096])
    for encoding in ([match.group(1).decode("ascii")] if match else []) + ["utf-8"]:
        try:
            return data.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("cp1252", errors="replace")


def _news_article(scripts: list[str]) -> dict[str, Any]:
    """The first article-typed object in the page's JSON-LD blocks; broken blocks are skipped."""
    candidates: list[Any] = []
    for text in scripts:
        try:
            data = json.loads(text)
        except ValueError:
            continue  # pages often ship broken JSON-LD; the og: tags still count
        candidates.extend(data if isinstance(data, list) else [data])
    while candidates:
        obj = candidates.pop(0)
        if not isinstance(obj, dict):
            continue
        kinds = obj.get("@type")
        kinds = set(kinds) if isinstance(kinds, list) else {kinds}
        if kinds & _ARTICLE_TYPES:
            return obj
        if isinstance(obj.get("@graph"), list):
            candidates.extend(obj["@graph"])
    return {}


def _first_text(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    return value if isinstance(value, str) else ""


def _ld_url(value: Any) -> str:
    """A URL from a JSON-LD string, ImageObject, or a list of either."""
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, dict):
        value = value.get("url") or value.get("contentUrl") or value.get("@id") or ""
    return value if isinstance(value, str) and urlsplit(value).scheme in ("http", "https", "") else ""


def _ld_caption(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value.get("caption") or "") if isinstance(value, dict) else ""


def _ld_keywords(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split(",")
    return [str(v) for v in value] if isinstance(value, list) else []


def _ld_author(value: Any) -> str:
    people = value if isinstance(value, list) else [value]
    names = [p.get("name") if isinstance(p, dict) else p for p in people]
    return ", ".join(clean(n) for n in names if isinstance(n, str) and clean(n))

