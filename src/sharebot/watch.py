"""Automatic posting: poll the configured sources, enqueue each new article once by each account's schedule
and filter, and correct the queued posts of articles that changed.

An article is known by its id (its canonical URL) and, in a feed, also by the feed's own id for the item.
The store remembers every one met per source, so an edited, re-dated or re-ordered item is never new
again, and an item that drops out of a feed and comes back is not either. The first poll of a source only
records what is already there (so connecting an archive does not flood followers), unless `backfill` asks
for the newest N.

Failures stay small. A source that cannot be read is reported and tried again next poll. A file or feed
item that cannot be read is reported once and skipped while the rest of its source goes on; its
fingerprint is remembered, and it is tried again when it changes. Every feed is fetched with a deadline
for the whole answer, so a server that drips its feed a byte at a time cannot hold a poll up.

When what a source says about an article changes, or the config that renders it does, the posts of its
jobs still queued are rendered again and replaced (`pipeline.apply_corrections`). A change is judged per
source, against the post that source rendered last time: two sources that describe one article in
different words do not take turns overwriting it, and a correction made with `publish` stands until the
source changes again. A source's first look at a job counts as a change only when the queue first met
the article there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import NamedTuple

from sharebot.config import Settings
from sharebot.errors import ArticleError, ConfigError, SharebotError
from sharebot.jobs import Job, JobState
from sharebot.models import Article, RenderedPost
from sharebot.networks import LINK_ONLY
from sharebot.pipeline import (
    Correction,
    apply_corrections,
    article_id,
    file_article,
    find_corrections,
    queue_slug,
    render_article,
    taken_from,
)
from sharebot.progress import OnProgress, Progress, Stage
from sharebot.queue import enqueue
from sharebot.sources import BadItem, Fetcher, Source, open_source
from sharebot.sources.common import disambiguated, legacy_slug
from sharebot.sources.fetch import http_fetcher
from sharebot.store import Store

# What the store's `seen` rows of a source hold besides the ids of the articles met there:
INITIALISED = ""  # no article has it: the source's first poll is done, even when it was empty
BY_ID = "#by-id"  # articles are recorded by id; a source without it recorded them by slug (legacy)
_FEED_ID = "feed-id:"  # + a feed's own id for an item
_BAD = "bad:"  # + the fingerprint of a bad file or item that was reported
_POST = "post:"  # + "job id:n:digest": the n-th post this source rendered for a queued job

MIN_INTERVAL = 10.0  # seconds between polls: more often only loads the sources
FEED_DEADLINE = 10.0  # seconds for a whole feed answer, however slowly its bytes arrive


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


class Skipped(NamedTuple):
    source: str
    item: BadItem


class Corrected(NamedTuple):
    source: str
    article: Article
    correction: Correction


class WatchReport(NamedTuple):
    enqueued: list[Enqueued]
    recorded: dict[str, int]  # source -> articles recorded as seen without posting (first poll)
    errors: dict[str, str]  # source (or "source: slug") -> what went wrong
    skipped: list[Skipped]  # files and items that cannot be read, each reported once until it changes
    still_skipped: dict[str, int]  # source -> bad items reported before and unchanged since
    corrected: list[Corrected]  # queued posts of changed articles: updated, or too late to be


def watch_sources(settings: Settings) -> list[WatchSource]:
    sources = [WatchSource(f"{settings.source.kind}:{settings.source.location}", settings.source.kind,
                           settings.source.location)]
    feeds = settings.watch.feeds if settings.watch else ()
    sources += [WatchSource(f"feed:{feed}", "feed", feed) for feed in feeds]
    return sources


def open_watch_source(settings: Settings, source: WatchSource, fetch: Fetcher | None = None) -> Source:
    return open_source(source.kind, source.location, base_url=settings.site.base_url,
                       language=settings.site.language, timezone=settings.site.timezone,
                       fetch=fetch or http_fetcher(timeout=FEED_DEADLINE, policy=settings.fetch))


def check_interval(seconds: float, where: str) -> float:
    """`seconds` between polls, or a ConfigError naming `where` when it is below MIN_INTERVAL."""
    if seconds < MIN_INTERVAL:
        raise ConfigError(f"{where}: {seconds:g} s is too short; poll at most every {MIN_INTERVAL:g} s")
    return seconds


def watch_once(settings: Settings, store: Store, *, now: datetime, backfill: int = 0,
               sources: list[WatchSource] | None = None,
               open_watched: Callable[[WatchSource], Source] | None = None,
               fetch: Fetcher | None = None, progress: OnProgress | None = None) -> WatchReport:
    """One poll of every source: enqueue new articles (their jobs carry each account's planned time),
    correct the queued posts of changed ones, report what could not be read. `fetch` reads feeds (default:
    the safe fetcher with FEED_DEADLINE). `progress` hears of each source read (Stage.POLL) and each new
    article queued (Stage.ENQUEUE: a backfill of thousands takes minutes)."""
    report = WatchReport([], {}, {}, [], {}, [])
    opener = open_watched or (lambda s: open_watch_source(settings, s, fetch))
    held: dict[str, list[Job]] | None = None  # queued jobs by slug, read once a source has articles
    polled = sources if sources is not None else watch_sources(settings)
    for done, source in enumerate(polled):
        if progress is not None:
            progress(Progress(Stage.POLL, done, len(polled), source.name))
        try:
            scan = opener(source).scan()  # newest first
        except ArticleError as exc:
            report.errors[source.name] = str(exc)
            continue
        seen = store.seen(source.name)
        _report_bad(store, source.name, scan.bad, seen, report, now)
        new = [a for a in scan.articles if not _met(source, a, seen)]
        marks = [] if BY_ID in seen else [BY_ID]
        if INITIALISED not in seen:
            report.recorded[source.name] = max(0, len(new) - backfill)
            new = new[:backfill]
            marks.append(INITIALISED)
        # first poll: what is there; legacy source: what it recorded by slug, now by id
        marks += [key for a in scan.articles if a not in new and not _keys(a) & seen for key in _keys(a)]
        store.mark_seen(source.name, marks, now=now)
        for done, article in enumerate(reversed(new)):  # oldest first, so schedules fill in publication order
            if progress is not None:
                progress(Progress(Stage.ENQUEUE, done, len(new), source.name))
            try:
                item = _enqueue(settings, store, source.name, article, now)
            except SharebotError as exc:
                report.errors[f"{source.name}: {article.slug}"] = str(exc)
                continue
            report.enqueued.append(item)
            if item.blocked:  # not marked seen: once the config is fixed, the next poll gives it to them
                report.errors[f"{source.name}: {item.article.slug}"] = "; ".join(
                    f"{account}: {why}" for account, why in item.blocked.items())
                continue
            store.mark_seen(source.name, _keys(article), now=now)
        if scan.articles:
            if held is None:
                held = {}
                for job in store.upcoming():
                    held.setdefault(job.slug, []).append(job)
            _correct(settings, store, source.name, scan.articles, held, seen, report, now)
    if progress is not None:
        progress(Progress(Stage.POLL, len(polled), len(polled), ""))
    return report


def _keys(article: Article) -> set[str]:
    """What a source records an article by: its id, and the feed's own id for it."""
    return {article_id(article)} | ({_FEED_ID + article.feed_id} if article.feed_id else set())


def _met(source: WatchSource, article: Article, seen: set[str]) -> bool:
    if _keys(article) & seen:
        return True
    if INITIALISED not in seen or BY_ID in seen:
        return False
    # Recorded before articles had ids: by the slug the source gave it then.
    return (article.slug if source.kind == "content" else legacy_slug(article.url)) in seen


def _report_bad(store: Store, source: str, bad: list[BadItem], seen: set[str], report: WatchReport,
                now: datetime) -> None:
    """Report each bad item once: again only when it has changed (and is still bad)."""
    fresh = [item for item in bad if _BAD + item.fingerprint not in seen]
    report.skipped.extend(Skipped(source, item) for item in fresh)
    if len(bad) > len(fresh):
        report.still_skipped[source] = len(bad) - len(fresh)
    if fresh:
        store.mark_seen(source, [_BAD + item.fingerprint for item in fresh], now=now)


def _enqueue(settings: Settings, store: Store, source: str, article: Article, now: datetime) -> Enqueued:
    article = queue_slug(store, article, now=now)
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
    preview = render_article(settings, article, accounts, now=now,
                             taken=taken_from(store, now, settings.schedules.values()))
    blocked = {p.account: "; ".join(i.message for i in p.issues if i.severity == "error") for p in preview.blocked}
    postable = [p for p in preview.posts if not p.blocked]
    if postable:
        enqueue(store, article.slug, postable, now=now, run_at=now, run_at_for=preview.times)
    return Enqueued(source, article, {p.account: preview.times[p.account] for p in postable}, skipped, blocked)


def _correct(settings: Settings, store: Store, source: str, articles: Iterable[Article],
             held: dict[str, list[Job]], seen: set[str], report: WatchReport, now: datetime) -> None:
    """Render again each article of `source` that has jobs in `held` (queued jobs by slug); correct the
    jobs whose post from this source changed since the source's last look."""
    if not held:
        return
    last = _last_posts(seen)
    for article in articles:
        if not {article.slug, disambiguated(article.slug, article_id(article))} & held.keys():
            continue
        try:
            filed = file_article(store, article)
        except ArticleError:
            continue  # two sources claim its slug: reported where it would be enqueued
        jobs = held.get(filed.article.slug, [])
        accounts = [a for a in settings.accounts if a.enabled and a.name in {j.account for j in jobs}]
        if not accounts:
            continue
        preview = render_article(settings, filed.article, accounts)
        posts = {p.account: p for p in preview.posts}
        looked, changed = [], []
        for job in jobs:
            post = posts.get(job.account)
            if post is None:
                continue
            if post.blocked:  # not recorded as looked at: tried again next poll, as a blocked new article is
                reasons = "; ".join(i.message for i in post.issues if i.severity == "error")
                report.errors[f"{source}: {filed.article.slug}"] = (
                    f"{post.account}: the corrected post would be refused, the queued one stays: {reasons}")
                continue
            count, before = last.get(job.id, (0, ""))
            digest = _digest(post)
            if digest == before:
                continue
            looked.append(f"{_POST}{job.id}:{count + 1}:{digest}")
            if before or filed.first_source == article.source:
                changed.append(job)
        applied = apply_corrections(store, find_corrections(changed, preview.posts), preview.posts, now=now)
        report.corrected.extend(Corrected(source, filed.article, c) for c in applied)
        # What the next source of this poll compares with: the posts as they are now, of jobs still queued.
        fresh = {c.job.id: c.job for c in applied}
        held[filed.article.slug] = [job for job in (fresh.get(j.id, j) for j in jobs) if job.state is JobState.QUEUED]
        store.mark_seen(source, looked, now=now)


def _last_posts(seen: set[str]) -> dict[int, tuple[int, str]]:
    """Job id -> (how many posts this source has rendered for it, the digest of the latest)."""
    last: dict[int, tuple[int, str]] = {}
    for key in seen:
        if key.startswith(_POST):
            job, count, digest = key[len(_POST):].split(":")
            if int(count) > last.get(int(job), (0, ""))[0]:
                last[int(job)] = (int(count), digest)
    return last


def _digest(post: RenderedPost) -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps(post.to_dict(), sort_keys=True).encode()).hexdigest()[:16]
