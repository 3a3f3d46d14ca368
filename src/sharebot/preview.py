"""The dry run: find the article, render it for the chosen accounts, and lay the result out as text or JSON.

Nothing here writes, sends or needs a credential.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping, NamedTuple

from sharebot import links
from sharebot.config import Settings
from sharebot.errors import ConfigError
from sharebot.models import Account, Article, Network, RenderedPost, Severity
from sharebot.networks import LINK_ONLY, NETWORKS, share_servers
from sharebot.render import add_utm, render
from sharebot.sources import Fetcher, open_source, read_page
from sharebot.sources.fetch import http_fetcher


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
                   now: datetime | None = None, mode: str = "schedule", at: datetime | None = None,
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
               mode: str = "schedule", at: datetime | None = None,
               taken: Callable[[str], list[datetime]] | None = None) -> dict[str, datetime]:
    """When each account's post goes out, by its schedule (or `mode` "now"/"at"/"next_slot").

    The article's future `published_at` is an embargo; accounts are staggered in config order; `taken`
    gives an account's other planned or sent posts, which its gap and hourly cap are kept against.
    """
    from sharebot.scheduler import plan

    embargo = article.published_at if article.published_at and article.published_at > now else None
    times = {}
    postable = [a for a in accounts if a.network not in LINK_ONLY]
    for order, account in enumerate(postable):
        schedule = settings.schedules[account.name]
        # --next-slot for an account that has no slots: its own earliest allowed time.
        account_mode = "schedule" if mode == "next_slot" and not schedule.has_slots else mode
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


def format_text(preview: Preview, *, width: int = 100) -> str:
    """The editor's view: each post exactly as it will go out, with its measure and everything around it."""
    import textwrap

    a = preview.article
    lines = [a.title, f"  {a.url}", f"  {a.language} · {a.section or 'no section'} · {len(a.tags)} tags", ""]
    for post in preview.posts:
        status = "BLOCKED" if post.blocked else "ok"
        head = f"── {post.account} ({post.network.value}) · {post.length}/{post.limit} {post.unit} · {status} "
        lines.append(head + "─" * max(0, width - len(head)))
        lines.extend(post.text.split("\n"))
        lines.append("")
        lines.append(f"  link      {post.link}")
        if post.card:
            c = post.card
            lines.append(f"  card      {c.title}")
            if c.description:  # wrapped, never shortened: the preview shows all that is sent
                lines += textwrap.wrap(c.description, width=width, initial_indent=" " * 12,
                                       subsequent_indent=" " * 12, break_long_words=False, break_on_hyphens=False)
            lines.append(f"            image: {c.image or 'none'}")
        lines.append(f"  language  {post.language}")
        if post.image and post.options.get("attach_image"):
            lines.append(f"  attached  {post.image} (alt: {post.image_alt or 'none'})")
        for key in ("visibility",):
            if post.options.get(key):
                lines.append(f"  {key:<9} {post.options[key]}")
        when = preview.times.get(post.account)
        if when is not None:
            lines.append(f"  when      {_when(when, preview)}")
        for f in post.facets:
            lines.append(f"  facet     {f.kind} bytes {f.byte_start}–{f.byte_end} → {f.value}")
        if post.share_url:
            lines.append(f"  share     {post.share_url}")
        for issue in post.issues:
            mark = "✗" if issue.severity is Severity.ERROR else "!"
            lines.append(f"  {mark} {issue.code}: {issue.message}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _when(when: datetime, preview: Preview) -> str:
    from sharebot.scheduler import describe

    if preview.now is not None and when <= preview.now:
        return "now"
    return describe(when, preview.zone)
