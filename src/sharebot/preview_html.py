"""The preview as a page: each account's post laid out as its network shows it, in one self-contained HTML
document (inline CSS, no scripts, fonts or images from anywhere: opening it makes no request).

Honest by construction: the page is drawn from `pipeline.dry_run`'s `Preview`, the very `RenderedPost`s that
`publish` enqueues and the worker sends. Links, hashtags and mentions are marked where the network finds them:
Bluesky's from the post's own facets, the others' by `entities` in the network's style. The article image is
a URL from content and is not fetched: the card shows a placeholder with the image's host and alt text.

Jinja2 (autoescaping every value) is imported only here, and this module only by `sharebot preview` and
`sharebot serve`: a dry run stays as light as it was.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlsplit

from sharebot import entities, facets
from sharebot.config import Settings
from sharebot.models import Account, Card, RenderedPost
from sharebot.networks import NETWORKS
from sharebot.pipeline import Preview, PublishRequest, dry_run
from sharebot.scheduler import describe

if TYPE_CHECKING:
    import jinja2

    from sharebot.pipeline import Correction

_KIND = {"url": "link", "hashtag": "tag", "cashtag": "tag", "mention": "mention"}
_SHORT_URL = 30  # characters of a shortened link shown before the "…"


class Segment(NamedTuple):
    """A run of the post text: plain (`kind` ""), or a link, tag or mention as the network marks it."""

    text: str
    kind: str = ""
    href: str | None = None  # a link's target
    full: str = ""  # a shortened link's whole text


class CardView(NamedTuple):
    title: str
    description: str
    domain: str
    image: str | None  # the image URL as the post carries it (not fetched)
    image_host: str
    image_alt: str


class PostView(NamedTuple):
    """One account's post as the page shows it."""

    post: RenderedPost
    label: str  # the network as people write it
    handle: str  # the account as its network names it (handle, page, channel), or the account's name
    segments: tuple[Segment, ...]
    card: CardView | None
    photo: CardView | None  # an attached photo, which takes the card's place
    when: str  # when it goes out, in the site's zone; "" for a share link
    status: str  # "ok" | "blocked" (the network would refuse it) | "cannot-post" (the account cannot send it)
    stamp: str = ""  # the time as the network shows it on the post: "now", or day and local time
    correction: Correction | None = None
    share_only: bool = False  # no posting API: the share link is the result

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.post.length / self.post.limit)) if self.post.limit else 0


class PreviewPage(NamedTuple):
    html: str
    preview: Preview


def render_preview(settings: Settings, request: PublishRequest, *, now: datetime) -> PreviewPage:
    """`sharebot preview`: the dry run for `request`, as one self-contained HTML page."""
    preview = dry_run(settings, request, now=now)
    return PreviewPage(preview_page(settings, preview), preview)


def preview_page(settings: Settings, preview: Preview) -> str:
    return environment().get_template("preview.html").render(
        title=f"Preview: {preview.article.title}", article=preview.article, site=settings.site.name,
        views=post_views(settings, preview), generated=describe(preview.now, preview.zone) if preview.now else "")


def post_views(settings: Settings, preview: Preview) -> list[PostView]:
    accounts = {a.name: a for a in settings.accounts}
    return [post_view(p, accounts[p.account], when=preview.times.get(p.account), now=preview.now, zone=preview.zone,
                      correction=preview.corrections.get(p.account)) for p in preview.posts]


def post_view(post: RenderedPost, account: Account, *, when: datetime | None, now: datetime | None, zone: str,
              correction: Correction | None = None) -> PostView:
    spec = NETWORKS[post.network]
    text = shown_text(post)
    attached = bool(post.image and post.options.get("attach_image"))
    photo = _card_view(Card(post.link or "", "", "", post.image, post.image_alt)) if attached else None
    card = _card_view(post.card) if post.card and not attached else None
    status = "blocked" if post.refused else "cannot-post" if post.blocked else "ok"
    shown_when = stamp = ""
    if when is not None and now is not None and when <= now:
        shown_when = stamp = "now"
    elif when is not None:
        shown_when = describe(when, zone)
        day, _, clock, *_ = shown_when.split()
        stamp = f"{day} {clock}"
    return PostView(post, spec.label, handle(account), tuple(segments(post, text)), card, photo, shown_when, status,
                    stamp, correction, spec.link_only)


def handle(account: Account) -> str:
    """How the network names the account: its first required setting (the Bluesky handle, the Mastodon
    instance, the LinkedIn author, the page, user or channel id), else the account's name in the config."""
    spec = NETWORKS[account.network]
    for name, option in spec.options.items():
        if option.required and account.options.get(name) not in (None, ""):
            return str(account.options[name])
    return account.name


def shown_text(post: RenderedPost) -> str:
    """The text as the network's readers see it. LinkedIn's "little text" is sent with its reserved
    characters backslash-escaped and shown without the backslashes
    (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/little-text-format)."""
    if NETWORKS[post.network].escape is None:
        return post.text
    out, chars = [], iter(post.text)
    for ch in chars:
        out.append(next(chars, "\\") if ch == "\\" else ch)
    return "".join(out)


def segments(post: RenderedPost, text: str) -> list[Segment]:
    """`text` cut into plain runs and the links, tags and mentions the network marks: Bluesky's are the
    post's facets (byte offsets into the text sent), the others' are found in the network's own style."""
    spec = NETWORKS[post.network]
    if spec.facets:
        index = {offset: i for i, offset in enumerate(facets.byte_offsets(text))}
        spans = [(index[f.byte_start], index[f.byte_end], f.kind, f.value) for f in post.facets
                 if f.byte_start in index and f.byte_end in index]
    else:
        found = entities.find_entities(text, style=spec.entity_style, require_protocol=spec.links_need_scheme)
        spans = [(s.start, s.end, _KIND[s.kind], s.value) for s in found if s.kind in _KIND]
    out, pos = [], 0
    for start, end, kind, value in sorted(spans):
        if start < pos:
            continue
        if start > pos:
            out.append(Segment(text[pos:start]))
        piece = text[start:end]
        if kind == "link":
            href = value if value.startswith(("http://", "https://")) else f"https://{value}"
            shown = _short_url(piece) if spec.shortens_links else piece
            out.append(Segment(shown, "link", href, piece if shown != piece else ""))
        else:
            out.append(Segment(piece, kind))
        pos = end
    if pos < len(text):
        out.append(Segment(text[pos:]))
    return out


def _short_url(url: str) -> str:
    bare = url.split("://", 1)[-1]
    bare = bare[4:] if bare.startswith("www.") else bare
    return bare if len(bare) <= _SHORT_URL else bare[:_SHORT_URL] + "…"


def _host(url: str | None) -> str:
    host = urlsplit(url or "").hostname or ""
    return host[4:] if host.startswith("www.") else host


def _card_view(card: Card) -> CardView:
    return CardView(card.title, card.description, _host(card.uri), card.image, _host(card.image), card.image_alt)


@functools.cache
def environment() -> jinja2.Environment:
    """The templates (package data), every value HTML-escaped unless marked safe."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("sharebot", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env
