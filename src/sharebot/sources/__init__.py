"""Where articles come from: a content directory, a feed, or a single article page.

Every source answers the same questions (`get(slug)`, `articles()`, and `scan()`: the articles it can
read and the items it had to skip), so the rest of sharebot never needs to know which one it is talking
to. The submodules are imported only when a source is opened, and feedparser/httpx only when a feed or
page is actually read, so a dry run over a content directory stays cheap.
"""

from __future__ import annotations

from typing import Protocol

from sharebot.errors import ArticleError
from sharebot.models import Article
from sharebot.sources.common import BadItem, Scan
from sharebot.sources.fetch import Fetcher

__all__ = ["BadItem", "Fetcher", "Scan", "Source", "open_source", "read_page"]

KINDS = ("content", "feed")


class Source(Protocol):
    def get(self, slug: str) -> Article: ...

    def articles(self) -> list[Article]: ...

    def scan(self) -> Scan: ...


def open_source(kind: str, location: str, *, base_url: str, language: str, fetch: Fetcher | None = None,
                timezone: str | None = None) -> Source:
    """A source of `kind` ("content" or "feed") at `location` (a directory, a feed path or URL).

    `timezone` (an IANA name such as "Europe/Berlin") is the zone for front-matter times written without
    an offset; without it such times are an error.
    """
    source: Source
    if kind == "content":
        from sharebot.sources.content import ContentSource

        source = ContentSource(location, base_url=base_url, language=language, timezone=timezone)
    elif kind == "feed":
        from sharebot.sources.feed import FeedSource

        source = FeedSource(location, base_url=base_url, language=language, fetch=fetch)
    else:
        raise ArticleError(f"unknown source kind '{kind}'; use one of: {', '.join(KINDS)}")
    return Normalised(source, language)


class Normalised:
    """A source whose every article has been through input normalisation (`sharebot.normalise`): the one
    place articles enter."""

    def __init__(self, source: Source, language: str) -> None:
        self.source, self.language = source, language

    def __repr__(self) -> str:
        return repr(self.source)

    def _normalised(self, article: Article) -> Article:
        from sharebot.normalise import normalise_article

        return normalise_article(article, site_language=self.language)

    def get(self, slug: str) -> Article:
        return self._normalised(self.source.get(slug))

    def articles(self) -> list[Article]:
        return [self._normalised(a) for a in self.source.articles()]

    def scan(self) -> Scan:
        scan = self.source.scan()
        return Scan([self._normalised(a) for a in scan.articles], scan.bad)


def read_page(url: str, *, language: str, fetch: Fetcher | None = None,
              timezone: str | None = None, site: str | None = None) -> Article:
    """One article from its page's og:, twitter: and JSON-LD metadata."""
    from sharebot.normalise import normalise_article
    from sharebot.sources.page import read_page as _read_page

    article = _read_page(url, language=language, fetch=fetch, timezone=timezone, site=site)
    return normalise_article(article, site_language=language)
