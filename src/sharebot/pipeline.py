"""The pipeline from an article to planned posts: find the article, choose the accounts, render a post
for each, and plan when each goes out. What a dry run shows and what `publish` enqueues both come from here,
and so do the two things `publish` and `watch` settle with the queue before enqueueing:

- the slug the queue files the article under (`queue_slug`): one slug per article, so two articles never
  share a job;
- corrections (`find_corrections`, `apply_corrections`): when the post rendered now differs from the one a
  job holds, a job still queued gets the new one.

Nothing here sends or needs a credential; the dry run reads the queue, if there is one, and writes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from sharebot import links
from sharebot.config import Settings
from sharebot.errors import ArticleError, ConfigError, StoreError
from sharebot.models import Account, Article, Issue, Network, RenderedPost, Severity
from sharebot.networks import LINK_ONLY, NETWORKS, share_servers
from sharebot.render import add_utm, render
from sharebot.scheduler import PublishMode, Schedule, lookback, plan
from sharebot.sources import Fetcher, open_source, read_page
from sharebot.sources.common import canonical_url, disambiguated
from sharebot.sources.fetch import http_fetcher, is_url
from sharebot.when import UnreadableTime, parse_when

if TYPE_CHECKING:
    from sharebot.jobs import Job
    from sharebot.store import Store


class PublishRequest(NamedTuple):
    """What someone asked `publish` for: an article, optionally only some networks or accounts, and when."""

    article: str  # a slug, or an article page URL
    networks: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    mode: PublishMode = PublishMode.SCHEDULE
    at: str | None = None  # a time as typed (+2h, "2026-12-01 08:00", ISO 8601): PublishMode.AT
    repost: bool = False


class Resolved(NamedTuple):
    """A request with its names looked up: the article, the accounts, and when (`at` for PublishMode.AT)."""

    article: Article
    accounts: list[Account]
    mode: PublishMode
    at: datetime | None


class Correction(NamedTuple):
    """A job the queue holds for the article whose post differs from the one rendered now."""

    job: Job  # as it stands: with the new post when `updated`
    changes: tuple[str, ...]  # what differs, as "- old" / "+ new" lines
    updated: bool = False  # the job now holds the new post (it was still queued)

    def to_dict(self) -> dict[str, Any]:
        return {"account": self.job.account, "job": self.job.id, "state": str(self.job.state),
                "changes": list(self.changes), "updated": self.updated}


class Preview(NamedTuple):
    article: Article
    posts: tuple[RenderedPost, ...]
    times: Mapping[str, datetime] = MappingProxyType({})  # account -> when its post would go out (UTC)
    now: datetime | None = None
    zone: str = "UTC"
    corrections: Mapping[str, Correction] = MappingProxyType({})  # account -> its job's older post

    @property
    def blocked(self) -> list[RenderedPost]:
        return [p for p in self.posts if p.blocked]

    def to_dict(self) -> dict[str, Any]:
        posts = []
        for post in self.posts:
            data = _post_json(post)
            when = self.times.get(post.account)
            data["scheduled_at"] = when.isoformat() if when else None
            posts.append(data)
        return {"article": self.article.to_dict(), "posts": posts,
                "corrections": [c.to_dict() for c in self.corrections.values()]}


def resolve(settings: Settings, request: PublishRequest, *, now: datetime,
            fetch: Fetcher | None = None) -> Resolved:
    """Look up what `request` names. A time that cannot be read raises UnreadableTime naming `--at`."""
    accounts = select_accounts(settings, networks=request.networks, accounts=request.accounts)
    article = load_article(settings, request.article, fetch=fetch)
    if request.at is None:
        return Resolved(article, accounts, PublishMode(request.mode), None)
    try:
        at = parse_when(request.at, now=now, zone=settings.site.timezone)
    except UnreadableTime as exc:
        raise UnreadableTime(f"--at: {exc}") from None
    return Resolved(article, accounts, PublishMode.AT, at)


def dry_run(settings: Settings, request: PublishRequest, *, now: datetime,
            fetch: Fetcher | None = None) -> Preview:
    """Each chosen account's post and when it would go out, planned against the queue as it stands (if
    there is one: a dry run creates, upgrades and writes nothing)."""
    chosen = resolve(settings, request, now=now, fetch=fetch)
    with _existing_queue(settings) as store:
        if store is None:
            article = chosen.article._replace(id=article_id(chosen.article))
            preview = render_article(settings, article, chosen.accounts, now=now, mode=chosen.mode, at=chosen.at)
        else:
            article = queue_slug(store, chosen.article)
            preview = render_article(settings, article, chosen.accounts, now=now, mode=chosen.mode, at=chosen.at,
                                     taken=taken_from(store, now, settings.schedules.values()))
            if not request.repost:  # a repost is a new round: new jobs, nothing held to correct
                held = newest_jobs(store.list_jobs(slug=article.slug))
                found = find_corrections([held[p.account] for p in preview.posts if p.account in held],
                                         preview.posts)
                preview = preview._replace(corrections=MappingProxyType({c.job.account: c for c in found}))
    # An account that would post but cannot (no credential) is an error here, not a surprise at publish time.
    accounts = {a.name: a for a in chosen.accounts}
    return preview._replace(posts=tuple(
        p._replace(issues=(*p.issues, Issue(Severity.ERROR, "missing-credential",
                                                f"credential not set: {', '.join(unset)}")))
        if (unset := missing_credentials(settings, accounts[p.account])) else p for p in preview.posts))


def missing_credentials(settings: Settings, account: Account) -> list[str]:
    """The environment variables of the credentials the account's network cannot post without that are
    not set (the registry's `secrets`, and a complete one of its `secret_sets`)."""
    present, variables = settings.credentials(account), settings.secret_vars(account)
    return [variables.get(name, name) for name in NETWORKS[account.network].missing_secrets(present)]


@contextmanager
def _existing_queue(settings: Settings) -> Iterator[Store | None]:
    """The queue, opened as it is; None when there is none yet, or one an upgrade has not migrated."""
    database = settings.database
    if "://" not in database and not os.path.isfile(database):
        yield None
        return
    from sharebot.storage import open_store

    store = open_store(database, migrate=False)
    try:
        yield store if store.is_current() else None
    finally:
        store.close()


def share_links(settings: Settings, ref: str, *, fetch: Fetcher | None = None) -> list[links.ShareLink]:
    """Share-intent links for the article `ref` names (a slug or an article page URL), tagged with the slug
    its posts carry: the queue's, when it files the article under another (read, never written)."""
    article = load_article(settings, ref, fetch=fetch)
    try:
        with _existing_queue(settings) as store:
            if store is not None:
                article = queue_slug(store, article)
    except StoreError as exc:  # share links need no queue: without it they carry the article's own slug
        import logging  # only here: the dry run, which imports this module, loads no logging

        logging.getLogger("sharebot.links").warning("queue not read (%s): links are tagged with the slug %r",
                                                    exc, article.slug)
    return article_share_links(settings, article)


def load_article(settings: Settings, ref: str, *, fetch: Fetcher | None = None) -> Article:
    """A slug from the configured source, or an article page URL."""
    fetch = fetch or http_fetcher(policy=settings.fetch)
    if ref.startswith(("http://", "https://")):
        return read_page(ref, language=settings.site.language, fetch=fetch, timezone=settings.site.timezone,
                         site=settings.site.base_url)
    source = open_source(settings.source.kind, settings.source.location, base_url=settings.site.base_url,
                         language=settings.site.language, fetch=fetch, timezone=settings.site.timezone)
    return source.get(ref)


def article_id(article: Article) -> str:
    """What makes `article` this article: its id, or for one made by hand without, its URL's canonical form."""
    return article.id or canonical_url(article.url)


class Filed(NamedTuple):
    article: Article  # with its id, and the slug the queue files it under
    first_source: str  # where the queue first met the article (a file, feed or page)


def queue_slug(store: Store, article: Article, *, now: datetime | None = None) -> Article:
    """`article` with its id, and the slug the queue files it under: its own slug, unless another article
    holds it. Then a slug sharebot made from the URL (a feed item's, a page's) gets a suffix made from the
    article's id (`disambiguated`); one an editor chose stays, and two sources claiming it for different
    articles are an ArticleError naming both. With `now`, a slug new to the queue is recorded as the
    article's; without, it is only looked up (the dry run).

    In one content directory a slug names one article: a file whose `url` was corrected keeps its slug.
    """
    return file_article(store, article, now=now).article


def file_article(store: Store, article: Article, *, now: datetime | None = None) -> Filed:
    """`queue_slug`, and where the queue first met the article."""
    ident = article_id(article)
    slugs = [article.slug] + ([disambiguated(article.slug, ident)] if article.slug_derived else [])
    slug, holder, holder_source = store.article_slug(ident, slugs, source=article.source, now=now)
    if holder == ident:
        return Filed(article._replace(slug=slug, id=ident), holder_source)
    if not article.slug_derived and _same_directory(holder_source, article.source):
        return Filed(article._replace(id=ident), holder_source)
    raise ArticleError(f"two articles claim the slug '{slug}': {holder} (from {holder_source}) and {ident} "
                       f"(from {article.source or 'here'}); give one of them another slug")


def _same_directory(one: str, other: str) -> bool:
    """Are `one` and `other` files in one directory (not URLs)?"""
    files = bool(one and other) and not is_url(one) and not is_url(other)
    return files and os.path.dirname(one) == os.path.dirname(other)


def newest_jobs(jobs: Iterable[Job]) -> dict[str, Job]:
    """Each account's job in its newest round: the one a new post for the account would correct."""
    from sharebot.jobs import JobKind  # the queue's types load only where a queue is read

    newest: dict[str, Job] = {}
    for job in jobs:
        if job.kind is not JobKind.POST:  # an edit or reply of a post (`sharebot correct`, `follow-up`)
            continue
        if job.account not in newest or job.round > newest[job.account].round:
            newest[job.account] = job
    return newest


def find_corrections(jobs: Iterable[Job], posts: Iterable[RenderedPost]) -> list[Correction]:
    """The jobs whose post differs from the new post for their account, with what differs."""
    fresh = {p.account: p for p in posts}
    found = []
    for job in jobs:
        post = fresh.get(job.account)
        changes = post_changes(job.post, post) if post is not None else ()
        if changes:
            found.append(Correction(job, changes))
    return found


def apply_corrections(store: Store, corrections: Iterable[Correction], posts: Iterable[RenderedPost], *,
                      now: datetime) -> list[Correction]:
    """Give each corrected job that is still queued its new post (a compare-and-set on its state: a job a
    worker has claimed keeps the post it is sending), with a "post updated: …" event."""
    from sharebot.jobs import JobState

    fresh = {p.account: p for p in posts}
    done = []
    for correction in corrections:
        job = correction.job
        if job.state is JobState.QUEUED:
            fields = ", ".join(name for name, _, _ in _differences(job.post, fresh[job.account]))
            updated = store.replace_post(job.id, fresh[job.account], now=now, reason=f"post updated: {fields}")
            if updated is not None:
                done.append(correction._replace(job=updated, updated=True))
                continue
            job = store.get(job.id)
        done.append(correction._replace(job=job))
    return done


def post_changes(old: RenderedPost, new: RenderedPost) -> tuple[str, ...]:
    """What of a post that goes out differs, as "- old" / "+ new" lines: the text's changed lines, then
    each other changed field as "- name: value"; () when nothing that goes out differs."""
    lines: list[str] = []
    for name, before, after in _differences(old, new):
        if name != "text":
            lines += [f"- {name}: {_shown(before)}", f"+ {name}: {_shown(after)}"]
            continue
        import difflib  # only when a text changed

        was, now = str(before).split("\n"), str(after).split("\n")
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=was, b=now, autojunk=False).get_opcodes():
            if tag != "equal":
                lines += [f"- {line}" for line in was[i1:i2]] + [f"+ {line}" for line in now[j1:j2]]
    return tuple(lines)


def _differences(old: RenderedPost, new: RenderedPost) -> list[tuple[str, Any, Any]]:
    """(field, old value, new value) for each field that goes out and differs. Facets count only when the
    text is the same: otherwise they follow from it."""
    found = [(name, getattr(old, name), getattr(new, name))
             for name in ("text", "link", "image", "image_alt", "language")]
    old_card = old.card.to_dict() if old.card else {}
    new_card = new.card.to_dict() if new.card else {}
    found += [(f"card {name}", old_card.get(name), new_card.get(name))
              for name in ("uri", "title", "description", "image", "image_alt")]
    found += [("options", dict(old.options), dict(new.options))]
    if old.text == new.text:
        found += [("facets", [f.to_dict() for f in old.facets], [f.to_dict() for f in new.facets])]
    return [(name, before, after) for name, before, after in found if before != after]


def _shown(value: object) -> str:
    return "(none)" if value in (None, "", {}, []) else str(value)


def select_accounts(settings: Settings, *, networks: Iterable[str] = (), accounts: Iterable[str] = ()) -> list[Account]:
    wanted_networks, wanted_accounts = set(networks), set(accounts)
    for name in wanted_networks:
        if name not in {n.value for n in Network}:
            raise ConfigError(f"--network: unknown network {name!r} (one of {', '.join(n.value for n in Network)})")
    for name in wanted_accounts:
        settings.account(name)  # raises with the configured names
    chosen = [
        a for a in settings.accounts
        if a.enabled
        and (not wanted_networks or a.network.value in wanted_networks)
        and (not wanted_accounts or a.name in wanted_accounts)
    ]
    if not chosen:
        raise ConfigError("no configured account matches --network/--account")
    return chosen


def taken_from(store: Any, now: datetime, schedules: Iterable[Schedule]) -> Callable[[str], list[datetime]]:
    """An account's posts from now on, and those recent enough to still count (from a queue `Store`): what its
    schedule keeps its gap and hourly cap against. `schedules` are those of the accounts planned: how far
    back a post still counts is the longest of their gaps, or the hour a cap counts over (`lookback`); older
    ones cannot change a plan, and reading them would make a long history slow every plan."""
    since = now - lookback(schedules)
    every: dict[str, list[datetime]] = {}

    def taken(account: str) -> list[datetime]:
        if not every:  # one query for all accounts, on first use
            every.update(store.all_post_times(since=since) or {"": []})
        return every.get(account, [])

    return taken


def render_article(settings: Settings, article: Article, accounts: Iterable[Account], *,
                   now: datetime | None = None, mode: PublishMode = PublishMode.SCHEDULE, at: datetime | None = None,
                   taken: Callable[[str], list[datetime]] | None = None) -> Preview:
    """Render for each account and, given `now`, plan when each post goes out (see `plan_times`)."""
    accounts = list(accounts)
    servers = share_servers(settings.accounts)
    posts = tuple(
        render(article, account, templates=settings.templates, utm=settings.utm, site_name=settings.site.name,
               share_base=servers.get(account.network))
        for account in accounts
    )
    times = plan_times(settings, article, accounts, now=now, mode=mode, at=at, taken=taken) if now else {}
    return Preview(article, posts, MappingProxyType(times), now, settings.site.timezone)


def plan_times(settings: Settings, article: Article, accounts: Iterable[Account], *, now: datetime,
               mode: PublishMode = PublishMode.SCHEDULE, at: datetime | None = None,
               taken: Callable[[str], list[datetime]] | None = None) -> dict[str, datetime]:
    """When each account's post goes out, by its schedule or by `mode`.

    The article's future `published_at` is an embargo; accounts are staggered in config order; `taken`
    gives an account's other planned or sent posts, which its gap and hourly cap are kept against.
    """
    embargo = article.published_at if article.published_at and article.published_at > now else None
    times = {}
    postable = [a for a in accounts if a.network not in LINK_ONLY]
    for order, account in enumerate(postable):
        schedule = settings.schedules[account.name]
        # --next-slot for an account that has no slots: its own earliest allowed time.
        account_mode = PublishMode.SCHEDULE if mode == PublishMode.NEXT_SLOT and not schedule.has_slots else mode
        try:
            times[account.name] = plan(schedule, now=now, mode=account_mode, at=at,
                                       embargo=embargo, order=order,
                                       taken=taken(account.name) if taken else [])
        except ValueError as exc:
            raise ConfigError(f"accounts.{account.name}: {exc}") from None
    return times


def article_share_links(settings: Settings, article: Article) -> list[links.ShareLink]:
    """Share-intent links for every network, each URL tagged for its network as posts are."""
    out = []
    for network, spec in NETWORKS.items():
        url = add_utm(article.url, settings.utm, network=network.value, slug=article.slug)
        # Readers are on many instances: the site's Mastodon button goes to a chooser, not the newsroom's own.
        out.append(links.ShareLink(network, spec.label, links.share_url(network, url=url, title=article.title)))
    return out


def _post_json(post: RenderedPost) -> dict[str, Any]:
    data = post.to_dict()
    keys = ("account", "network", "text", "length", "limit", "unit", "link", "card", "language", "facets",
            "share_url", "issues", "image", "options")
    return {k: data[k] for k in keys}
