"""Automatic posting: poll the configured sources and enqueue each new article once, by each account's
schedule and filter.

An article is new to a source the first time its slug is seen there; the store remembers every slug met
per source, so an edited, re-dated or re-ordered item is never new again, and an item that drops out of a
feed and comes back is not either. The first poll of a source only records what is already there (so
connecting an archive does not flood followers), unless `backfill` asks for the newest N. A source that
cannot be read is reported and tried again next time; the others go on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple

from sharebot.config import Settings
from sharebot.errors import ArticleError, SharebotError
from sharebot.models import Article
from sharebot.networks import LINK_ONLY
from sharebot.pipeline import render_article, taken_from
from sharebot.queue import enqueue
from sharebot.sources import Fetcher, Source, open_source
from sharebot.sources.fetch import http_fetcher
from sharebot.store import Store

INITIALISED = ""  # a slug no article has: marks a source whose first poll is done, even when it was empty


class WatchSource(NamedTuple):
    name: str  # what the store keys seen articles by: "content:<dir>" or "feed:<location>"
    kind: str
    location: str


class Enqueued(NamedTuple):
    source: str
    article: Article
    times: dict[str, datetime]  # account -> planned run time; empty when every account filtered it out
    skipped: dict[str, str]  # account -> why its filter left the article out
    blocked: dict[str, str]  # account -> why its post would be refused (reported, and tried again next poll)


class WatchReport(NamedTuple):
    enqueued: list[Enqueued]
    recorded: dict[str, int]  # source -> articles recorded as seen without posting (first poll)
    errors: dict[str, str]  # source -> what went wrong


def watch_sources(settings: Settings) -> list[WatchSource]:
    sources = [WatchSource(f"{settings.source.kind}:{settings.source.location}", settings.source.kind,
                           settings.source.location)]
    feeds = settings.watch.feeds if settings.watch else ()
    sources += [WatchSource(f"feed:{feed}", "feed", feed) for feed in feeds]
    return sources


def open_watch_source(settings: Settings, source: WatchSource, fetch: Fetcher | None = None) -> Source:
    return open_source(source.kind, source.location, base_url=settings.site.base_url,
                       language=settings.site.language, timezone=settings.site.timezone,
                       fetch=fetch or http_fetcher(policy=settings.fetch))


def watch_once(settings: Settings, store: Store, *, now: datetime, backfill: int = 0,
               sources: list[WatchSource] | None = None,
               open_watched: Callable[[WatchSource], Source] | None = None) -> WatchReport:
    """One poll of every source. Enqueues new articles (their jobs carry each account's planned time)."""
    report = WatchReport([], {}, {})
    opener = open_watched or (lambda s: open_watch_source(settings, s))
    for source in sources if sources is not None else watch_sources(settings):
        try:
            articles = opener(source).articles()  # newest first
        except ArticleError as exc:
            report.errors[source.name] = str(exc)
            continue
        seen = store.seen(source.name)
        new = [a for a in articles if a.slug not in seen]
        if INITIALISED not in seen:
            report.recorded[source.name] = max(0, len(new) - backfill)
            new = new[:backfill]
            store.mark_seen(source.name, [INITIALISED] + [a.slug for a in articles if a not in new], now=now)
        for article in reversed(new):  # oldest first, so schedules fill in publication order
            try:
                item = _enqueue(settings, store, source.name, article, now)
            except SharebotError as exc:
                report.errors[f"{source.name}: {article.slug}"] = str(exc)
                continue
            report.enqueued.append(item)
            if item.blocked:  # not marked seen: once the config is fixed, the next poll gives it to them
                report.errors[f"{source.name}: {article.slug}"] = "; ".join(
                    f"{account}: {why}" for account, why in item.blocked.items())
                continue
            store.mark_seen(source.name, [article.slug], now=now)
    return report


def _enqueue(settings: Settings, store: Store, source: str, article: Article, now: datetime) -> Enqueued:
    accounts, skipped = [], {}
    for account in settings.accounts:
        if not account.enabled or account.network in LINK_ONLY:
            continue
        reason = settings.filters[account.name].why_not(article)
        if reason:
            skipped[account.name] = reason
        else:
            accounts.append(account)
    if not accounts:
        return Enqueued(source, article, {}, skipped, {})
    preview = render_article(settings, article, accounts, now=now, taken=taken_from(store, now))
    blocked = {p.account: "; ".join(i.message for i in p.issues if i.severity == "error") for p in preview.blocked}
    postable = [p for p in preview.posts if not p.blocked]
    if postable:
        enqueue(store, article.slug, postable, now=now, run_at=now, run_at_for=preview.times)
    return Enqueued(source, article, {p.account: preview.times[p.account] for p in postable}, skipped, blocked)
