"""The pipeline from an article to planned posts: find the article, choose the accounts, render a post
for each, and plan when each goes out. What a dry run shows and what `publish` enqueues both come from here.

Nothing here sends or needs a credential; the dry run reads the queue, if there is one, and writes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from sharebot import links
from sharebot.config import Settings
from sharebot.errors import ConfigError
from sharebot.models import Account, Article, Issue, Network, RenderedPost, Severity
from sharebot.networks import LINK_ONLY, NETWORKS, share_servers
from sharebot.render import add_utm, render
from sharebot.scheduler import PublishMode, plan
from sharebot.sources import Fetcher, open_source, read_page
from sharebot.sources.fetch import http_fetcher
from sharebot.when import UnreadableTime, parse_when

if TYPE_CHECKING:
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


class Preview(NamedTuple):
    article: Article
    posts: tuple[RenderedPost, ...]
    times: Mapping[str, datetime] = MappingProxyType({})  # account -> when its post would go out (UTC)
    now: datetime | None = None
    zone: str = "UTC"

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
        return {"article": self.article.to_dict(), "posts": posts}


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
        taken = taken_from(store, now) if store is not None else None
        preview = render_article(settings, chosen.article, chosen.accounts, now=now, mode=chosen.mode, at=chosen.at,
                                 taken=taken)
    # An account that would post but cannot (no credential) is an error here, not a surprise at publish time.
    accounts = {a.name: a for a in chosen.accounts}
    return preview._replace(posts=tuple(
        p._replace(issues=(*p.issues, Issue(Severity.ERROR, "missing-credential", f"not set: {', '.join(unset)}")))
        if (unset := missing_credentials(settings, accounts[p.account])) else p for p in preview.posts))


def missing_credentials(settings: Settings, account: Account) -> list[str]:
    """The environment variables of the credentials the account's network cannot post without that are
    not set (the registry's `secrets`)."""
    present, variables = settings.credentials(account), settings.secret_vars(account)
    return [variables.get(name, name) for name in NETWORKS[account.network].secrets if name not in present]


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
    """Share-intent links for the article `ref` names (a slug or an article page URL)."""
    return article_share_links(settings, load_article(settings, ref, fetch=fetch))


def load_article(settings: Settings, ref: str, *, fetch: Fetcher | None = None) -> Article:
    """A slug from the configured source, or an article page URL."""
    fetch = fetch or http_fetcher(policy=settings.fetch)
    if ref.startswith(("http://", "https://")):
        return read_page(ref, language=settings.site.language, fetch=fetch, timezone=settings.site.timezone)
    source = open_source(settings.source.kind, settings.source.location, base_url=settings.site.base_url,
                         language=settings.site.language, fetch=fetch, timezone=settings.site.timezone)
    return source.get(ref)


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


def taken_from(store: Any, now: datetime) -> Callable[[str], list[datetime]]:
    """An account's posts in the last day and from now on (from a queue `Store`): what its schedule keeps
    its gap and hourly cap against."""
    since = now - timedelta(days=1)
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
