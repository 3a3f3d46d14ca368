"""The network registry: one declaration per network, and the one place in sharebot that names a network.

A `NetworkSpec` holds what sharebot knows about a network: how its text is counted (its `Rules`), which
credentials and account settings it takes, how a post is written for it (escaping, mentions, link and card),
the link that shares an article there, the adapter that posts to it, and what its API can do with a post
afterwards. The config loader, the renderer, the dry run and the adapters read these declarations rather
than asking "is this Mastodon?".

Pure and cheap to import (a dry run reads all of it): no I/O and no SDKs. Adapters are named as
"module:Class" and imported only to post. Adding a network means a `Network` member, its `Rules` and its
`NetworkSpec` here, plus its adapter module, its test stand-in and its tests.

Plain classes and NamedTuples, not dataclasses: a dry run imports every one of them (see models.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Any, ClassVar, NamedTuple, Protocol
from urllib.parse import quote

from sharebot import counting, fitting


class Network(StrEnum):
    X = "x"
    BLUESKY = "bluesky"
    MASTODON = "mastodon"
    LINKEDIN = "linkedin"
    FACEBOOK = "facebook"
    THREADS = "threads"
    TELEGRAM = "telegram"
    WHATSAPP = "whatsapp"


class Capability(StrEnum):
    """What a network's API lets sharebot do with a post once it is out."""

    FIND = "find"  # look up our own post, to settle an attempt whose outcome a timeout left unknown
    DELETE = "delete"
    EDIT = "edit"
    REPLY = "reply"  # answer under the post (a comment, where the network calls it that)


# --- counting -------------------------------------------------------------------------------------------
class Rules:
    """What a network counts and accepts. Each account gets an instance (`for_options`): some limits
    depend on the account's settings."""

    unit: ClassVar[str]
    default_limit: ClassVar[int]
    default_template: ClassVar[str]
    default_max_hashtags: ClassVar[int] = 2
    # "text": the link goes in the post text and the network's crawler builds the card;
    # "field": the link travels in its own API field (card built by us or by the network).
    link_placement: ClassVar[str] = "text"
    # True where sharebot must send title/description/thumbnail itself (no crawler).
    builds_card: ClassVar[bool] = False
    # The most code points one unit of `limit` can stand for; None where a unit has no such bound (a grapheme
    # may carry any number of combining marks).
    max_code_points_per_unit: ClassVar[float | None] = None

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit or self.default_limit
        self._lengths: dict[str, int] = {}

    @classmethod
    def for_options(cls, options: Mapping[str, Any]) -> Rules:
        """The rules for an account with these settings (checked by the config loader)."""
        return cls()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(limit={self.limit})"

    def length(self, text: str) -> int:
        raise NotImplementedError

    def measured(self, text: str) -> int:
        """`length`, remembered for the last few texts: rendering measures the post that fitted again to
        decide the next step, and once more to report it."""
        if text not in self._lengths:
            self._remember(text, self.length(text))
        return self._lengths[text]

    def _remember(self, text: str, length: int) -> None:
        if len(self._lengths) >= 8:
            del self._lengths[next(iter(self._lengths))]
        self._lengths[text] = length

    def length_within(self, text: str, bound: int) -> int:
        """`length(text)` if it is at most `bound`, else any number above `bound`: all that deciding whether a
        text fits needs. Rules that can stop counting at the bound do."""
        return self.measured(text)

    def fits(self, text: str) -> bool:
        # A text with more code points than any post can hold is refused before it is measured, so fitting a
        # 5 MB teaser never counts all of it.
        if self.max_code_points_per_unit is not None and len(text) > self.limit * self.max_code_points_per_unit:
            return False
        # Every network counts each space and line break at least once (none is part of a URL, a mention or
        # an emoji, and no grapheme holds two): a text of 93,000 characters of links is refused uncounted.
        if text.count(" ") + text.count("\n") > self.limit:
            return False
        return 0 < self.length_within(text, self.limit) <= self.limit

    def problems(self, text: str) -> list[tuple[str, str]]:
        """(code, message) for each reason the network would refuse this final text."""
        found = []
        if not text.strip():
            found.append(("empty", "the post text is empty"))
        length = self.measured(text)
        if length > self.limit:
            found.append(("too-long", f"{length} {self.unit}, limit {self.limit}"))
        return found


class XRules(Rules):
    unit = "weighted characters"
    max_code_points_per_unit = 4096 / 23  # a URL of up to 4,096 characters counts 23
    default_template = "{title}\n\n{teaser}\n\n{link}\n\n{hashtags}"
    default_limit = 280

    def length(self, text: str) -> int:
        return counting.x_weighted_length(text)

    def fits(self, text: str) -> bool:
        return counting.x_weight_at_least(text) <= self.limit and super().fits(text)

    def problems(self, text: str) -> list[tuple[str, str]]:
        found = super().problems(text)
        if any(c in text for c in "\ufffe\ufeff\uffff"):
            found.append(("invalid-character", "X refuses U+FEFF, U+FFFE and U+FFFF"))
        return found


class _GraphemeRules(Rules):
    """Rules that count the grapheme clusters of a text as the network rewrites it for counting."""

    def countable(self, text: str) -> str:
        return text

    def length(self, text: str) -> int:
        return counting.graphemes(self.countable(text))

    def length_within(self, text: str, bound: int) -> int:
        # Segmenting stops past the bound: a teaser of 10,000 emoji is refused after 501 of them. A count past
        # the bound is not remembered, as it is not the length.
        if text in self._lengths:
            return self._lengths[text]
        length = counting.graphemes_within(self.countable(text), bound)
        if length <= bound:
            self._remember(text, length)
        return length


class BlueskyRules(_GraphemeRules):
    unit = "graphemes"
    max_code_points_per_unit = 10  # 3,000 UTF-8 bytes at most, and each code point takes one or more
    default_template = "{title}\n\n{teaser}\n\n{hashtags}"
    link_placement = "field"  # the link travels in the app.bsky.embed.external card we build
    builds_card = True
    default_max_hashtags = 3
    default_limit = 300
    max_bytes: ClassVar[int] = 3000  # app.bsky.feed.post text maxLength counts UTF-8 bytes

    def fits(self, text: str) -> bool:
        return super().fits(text) and counting.utf8_length(text) <= self.max_bytes

    def problems(self, text: str) -> list[tuple[str, str]]:
        found = super().problems(text)
        size = counting.utf8_length(text)
        if size > self.max_bytes:
            found.append(("too-long", f"{size} UTF-8 bytes, limit {self.max_bytes}"))
        return found


class MastodonRules(_GraphemeRules):
    unit = "characters"
    max_code_points_per_unit = 4096 / 23  # each URL counts 23; a mention counts its local part only
    default_template = "{title}\n\n{teaser}\n\n{link}\n\n{hashtags}"
    default_max_hashtags = 4
    default_limit = 500  # each instance sets its own: the account's max_characters
    default_url_length: ClassVar[int] = 23

    def __init__(self, limit: int | None = None, url_length: int | None = None) -> None:
        super().__init__(limit)
        self.url_length = url_length or self.default_url_length

    @classmethod
    def for_options(cls, options: Mapping[str, Any]) -> Rules:
        return cls(limit=options.get("max_characters"), url_length=options.get("characters_reserved_per_url"))

    def countable(self, text: str) -> str:
        return counting.mastodon_countable_text(text, self.url_length)


class LinkedInRules(Rules):
    unit = "UTF-16 code units"
    max_code_points_per_unit = 1  # a code point is one or two UTF-16 units
    # The Posts API does not scrape links: the URL goes in content.article and stays out of the commentary,
    # where little-text escaping would break it (platforms.md §4.3).
    default_template = "{title}\n\n{teaser}\n\n{hashtags}"
    link_placement = "field"
    builds_card = True
    default_max_hashtags = 3
    default_limit = 3000

    def length(self, text: str) -> int:
        return counting.utf16_length(text)


class FacebookRules(Rules):
    unit = "characters"
    max_code_points_per_unit = 1  # counted in UTF-16 units, one or two per code point
    default_template = "{title}\n\n{teaser}"
    link_placement = "field"  # Graph API `link`; Facebook's crawler builds the card from og: tags
    default_max_hashtags = 0
    default_limit = 63206

    def length(self, text: str) -> int:
        return counting.utf16_length(text)


class ThreadsRules(Rules):
    unit = "characters (emoji as UTF-8 bytes)"
    max_code_points_per_unit = 1  # a code point counts one or more (UTF-16 units, or bytes of an emoji)
    default_template = "{title}\n\n{teaser}\n\n{hashtags}"
    link_placement = "field"  # link_attachment gives the card
    default_max_hashtags = 1  # Threads links one topic tag per post
    default_limit = 500

    def length(self, text: str) -> int:
        return counting.threads_length(text)


class TelegramRules(Rules):
    unit = "UTF-16 code units"
    max_code_points_per_unit = 1  # a code point is one or two UTF-16 units
    default_template = "{title}\n\n{teaser}\n\n{link}"
    default_max_hashtags = 0
    default_limit = 4096
    caption_limit: ClassVar[int] = 1024  # the text of a sendPhoto is a caption

    @classmethod
    def for_options(cls, options: Mapping[str, Any]) -> Rules:
        return cls(limit=cls.caption_limit) if options.get("attach_image") else cls()

    def length(self, text: str) -> int:
        return counting.utf16_length(text)


class WhatsAppRules(Rules):
    unit = "characters"
    max_code_points_per_unit = 1
    default_template = "{title}\n\n{link}"
    default_max_hashtags = 0
    default_limit = 65536

    def length(self, text: str) -> int:
        return len(text)


# --- account settings ---------------------------------------------------------------------------------
_KIND_NAMES = {str: "a string", int: "a whole number", float: "a number", bool: "true or false"}


class Option(NamedTuple):
    """A setting an account of the network takes in its config table."""

    kind: type | tuple[type, ...]  # as TOML gives it: str, int, float or bool (a whole number is a fine float)
    default: Any = None  # what applies when the account leaves it out; None: the adapter's own (an API version)
    required: bool = False
    positive: bool = False  # a number that must be above 0
    on_post: bool = False  # travels on each rendered post, so the worker sends what the dry run showed
    # What a good value looks like (a regular expression its text must match) and says so in words; checked by
    # `sharebot doctor` and `sharebot init`, not on load.
    pattern: str | None = None
    looks_like: str = ""

    def problem(self, value: Any) -> str | None:
        """Why `value` will not do, or None."""
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        if any(_is_kind(value, kind) for kind in kinds) and not (self.positive and value <= 0):
            return None
        return f"expected {self.describe()}, got {value!r}"

    def unlike(self, value: Any) -> str | None:
        """Why `value`, of the right kind, does not look like what the network takes; or None."""
        if self.pattern and not re.fullmatch(self.pattern, str(value)):
            return f"{value!r} is not {self.looks_like or 'a valid value'}"
        return None

    def describe(self) -> str:
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        names = " or ".join(_KIND_NAMES[kind] for kind in kinds)
        return names.replace("a ", "a positive ", 1) if self.positive else names


def _is_kind(value: Any, kind: type) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


TEXT = Option(str)
API_BASE = Option(str)  # the API's address, for a self-hosted server or a test stand-in; default: the public API
ATTACH_IMAGE = Option(bool, False, on_post=True)  # send the article image as a photo (it replaces the card)


# --- share links ----------------------------------------------------------------------------------------
# Each value is URL-encoded with quote (spaces as %20: wa.me and bsky.app do not read '+' as a space). Forms:
# platforms.md §10. Every builder takes the same keywords: url, title, text (a full post text), hashtags, server.

# Without a configured instance, Mastodon sharing goes through Share₂Fedi, which asks the reader for theirs.
MASTODON_CHOOSER = "https://s2f.kytta.dev/"


def _q(value: str) -> str:
    return quote(value, safe="")


def _fit_title(title: str, fits: Callable[[str], bool]) -> str:
    """A composer opened over the network's limit cannot be sent as it is: shorten the title to fit."""
    return title if fits(title) else fitting.shorten(title, fits)


def _x_share(*, url: str, title: str, hashtags: tuple[str, ...] = (), **_: Any) -> str:
    extra = f"&hashtags={_q(','.join(hashtags))}" if hashtags else ""
    tags = "".join(f" #{t}" for t in hashtags)
    short = _fit_title(title, lambda t: counting.x_weighted_length(f"{t} {url}{tags}") <= XRules.default_limit)
    return f"https://x.com/intent/tweet?text={_q(short)}&url={_q(url)}{extra}"


def _bluesky_share(*, url: str, title: str, **_: Any) -> str:  # only `text` exists; the URL goes inside it
    short = _fit_title(title, lambda t: counting.bluesky_graphemes(f"{t} {url}") <= BlueskyRules.default_limit)
    return f"https://bsky.app/intent/compose?text={_q(f'{short} {url}')}"


def _linkedin_share(*, url: str, **_: Any) -> str:  # only `url` is honoured; LinkedIn reads the page's og: tags
    return f"https://www.linkedin.com/sharing/share-offsite/?url={_q(url)}"


def _facebook_share(*, url: str, **_: Any) -> str:
    return f"https://www.facebook.com/sharer/sharer.php?u={_q(url)}"


def _whatsapp_share(*, url: str, title: str, text: str | None = None, **_: Any) -> str:
    message = text if text and url in text else f"{text or title}\n\n{url}"
    return f"https://wa.me/?text={_q(message)}"


def _telegram_share(*, url: str, title: str, **_: Any) -> str:
    return f"https://t.me/share/url?url={_q(url)}&text={_q(title)}"


def _threads_share(*, url: str, title: str, **_: Any) -> str:
    return f"https://www.threads.com/intent/post?text={_q(title)}&url={_q(url)}"


def _mastodon_share(*, url: str, title: str, server: str | None = None, **_: Any) -> str:
    base = (server or "").rstrip("/")
    target = f"{base}/share" if base else MASTODON_CHOOSER
    return f"{target}?text={_q(f'{title} {url}')}"


# --- pinned API versions ---------------------------------------------------------------------------------
class ApiVersions(NamedTuple):
    """A network whose API versions retire on a date: the account option that pins one, what the adapter sends
    when the account pins none, and the announced last day of each version (`sharebot doctor` warns before it)."""

    option: str
    default: str  # the adapter's own (a test keeps the two equal)
    retires: Mapping[str, date]  # version -> the day it stops answering, as announced
    source: str  # where the dates come from
    # A version the table does not list retires about this many months after the month its name gives (None: the
    # name gives no date, so nothing can be estimated).
    months: int | None = None

    def retirement(self, version: str) -> tuple[date | None, bool]:
        """(the day `version` retires, True if announced / False if estimated); (None, False) when unknown."""
        if version in self.retires:
            return self.retires[version], True
        if self.months and len(version) == 6 and version.isdigit() and 1 <= int(version[4:]) <= 12:
            month = int(version[:4]) * 12 + int(version[4:]) - 1 + self.months
            return date(month // 12, month % 12 + 1, 15), False
        return None, False


# LinkedIn serves each monthly version for at least a year, then answers 426; the announced days are on the
# migrations page (https://learn.microsoft.com/en-us/linkedin/marketing/integrations/migrations, policy:
# https://learn.microsoft.com/en-us/linkedin/marketing/versioning). Others: the 15th, a year after the month.
LINKEDIN_VERSIONS = ApiVersions(
    "version", "202607",
    MappingProxyType({
        "202410": date(2025, 10, 15), "202411": date(2025, 11, 17), "202510": date(2026, 10, 15),
        "202511": date(2026, 11, 16), "202601": date(2027, 1, 15), "202602": date(2027, 2, 15),
        "202603": date(2027, 3, 16),
    }),
    "https://learn.microsoft.com/en-us/linkedin/marketing/integrations/migrations", months=12)

# Graph API versions are available about two years; each one's end is announced when the next one is released
# (https://developers.facebook.com/docs/graph-api/changelog/versions/, as of v26.0, 29 Jul 2026: v26.0 open).
GRAPH_VERSIONS = ApiVersions(
    "api_version", "v25.0",
    MappingProxyType({
        "v17.0": date(2025, 9, 12), "v18.0": date(2026, 1, 26), "v19.0": date(2026, 5, 21),
        "v20.0": date(2026, 9, 24), "v21.0": date(2027, 1, 21), "v22.0": date(2027, 5, 20),
        "v23.0": date(2027, 10, 8), "v24.0": date(2028, 2, 18), "v25.0": date(2028, 7, 29),
    }),
    "https://developers.facebook.com/docs/graph-api/changelog/versions/")


# --- the declarations -----------------------------------------------------------------------------------
class NetworkSpec(NamedTuple):
    """Everything sharebot knows about one network."""

    network: Network
    label: str  # the name as people write it
    rules: type[Rules]  # how its text is counted; `rules.for_options` makes an account's
    share: Callable[..., str]  # a link that opens its composer prefilled with an article
    adapter: str | None = None  # "module:Class" that posts, imported only to post; None: share links only
    secrets: tuple[str, ...] = ()  # credentials an account cannot post without
    optional_secrets: tuple[str, ...] = ()  # credentials an account may give as well
    options: Mapping[str, Option] = MappingProxyType({})  # the settings its account table takes
    capabilities: frozenset[Capability] = frozenset()
    escape: Callable[[str], str] | None = None  # applied to the article's words (not the link) in its text
    entity_style: str = "twitter"  # how it finds URLs and @mentions in a text (an `entities` style)
    notifies_mentions: bool = False  # an @mention in the text notifies that account
    facets: bool = False  # links, tags and mentions travel as byte-offset facets beside the text
    card_from_first_link: bool = False  # its crawler builds the card from the first http(s) link in the text
    photo_replaces_card: bool = False  # an attached photo takes the place of the link card
    photo_needs_link_in_text: bool = False  # an image post has no link field: the link must be in the text
    server_option: str | None = None  # the account option naming its server (readers share to that one)
    # A reply is a comment: plain text, without the post's escaping, and with no link field or card of its own,
    # so its link goes in the text.
    comment_replies: bool = False
    # Credentials that work only as complete sets, one set being enough (X: OAuth 1.0a's four, or a bearer token).
    secret_sets: tuple[tuple[str, ...], ...] = ()
    api_versions: ApiVersions | None = None  # API versions that retire on announced days
    # Its text limit is the server's own (options max_characters, characters_reserved_per_url), which the adapter
    # reads (`instance_limits(now)`) and `sharebot doctor` compares with the config.
    server_limits: bool = False
    # How its readers see a post's text (the preview page): a long link shown shortened (no scheme, cut with
    # "…") while the whole URL is sent and counted; only links with a scheme made clickable.
    shortens_links: bool = False
    links_need_scheme: bool = False
    # The longest link-card description it takes or shows (code points); longer ones are cut between words.
    card_description_max: int = 300
    # Its posts carry a language as an ISO 639-1 code (`de`), not a whole BCP 47 tag (`de-DE`).
    primary_language_only: bool = False

    @property
    def link_only(self) -> bool:
        """No posting API: the share link is all sharebot makes for it."""
        return self.adapter is None

    @property
    def secret_fields(self) -> tuple[str, ...]:
        """Every credential an account may name, required ones first."""
        return self.secrets + self.optional_secrets

    def missing_secrets(self, present: Iterable[str]) -> tuple[str, ...]:
        """The credentials an account with `present` still needs before it can post: the required ones not set,
        and, where credentials work only as sets, the rest of the set it has started (else of the first) unless
        one set is complete."""
        have = set(present)
        missing = tuple(f for f in self.secrets if f not in have)
        if self.secret_sets and not any(have.issuperset(s) for s in self.secret_sets):
            started = [s for s in self.secret_sets if have.intersection(s)] or list(self.secret_sets)
            missing += tuple(f for f in started[0] if f not in have and f not in missing)
        return missing


def _little_text(text: str) -> str:
    # LinkedIn commentary is "little text": reserved characters truncate the post silently, so they are escaped;
    # a #hashtag the newsroom wrote stays a live hashtag, as on the other networks (platforms.md §4.3).
    return counting.linkedin_escape(text, keep_hashtags=True)


def _options(**options: Option) -> Mapping[str, Option]:
    return MappingProxyType(options)


FIND, DELETE, EDIT, REPLY = Capability.FIND, Capability.DELETE, Capability.EDIT, Capability.REPLY

# In the order the site's share buttons appear (`sharebot links`).
_SPECS = (
    NetworkSpec(
        Network.X, "X", XRules, _x_share,
        adapter="sharebot.adapters.x:XAdapter",
        # Either all four OAuth 1.0a values or an OAuth 2 user token (bearer_token): neither set is required
        # on its own, so XAdapter checks that one of them is complete.
        optional_secrets=("consumer_key", "consumer_secret", "access_token", "access_token_secret", "bearer_token"),
        options=_options(api_base=API_BASE, attach_image=ATTACH_IMAGE),
        # No EDIT: API v2 creates and deletes posts but cannot edit them
        # (https://docs.x.com/x-api/posts/manage-tweets/migrate/overview).
        capabilities=frozenset({FIND, DELETE, REPLY}),
        notifies_mentions=True,
        photo_replaces_card=True,
        secret_sets=(("consumer_key", "consumer_secret", "access_token", "access_token_secret"), ("bearer_token",)),
        # A link shows as its display_url, not the t.co URL counted
        # (https://developer.x.com/en/docs/twitter-api/enterprise/data-dictionary/native-enriched-objects/entities).
        shortens_links=True,
        # X's crawler shows twitter:description up to 200 characters
        # (https://developer.x.com/en/docs/x-for-websites/cards/overview/markup).
        card_description_max=200,
    ),
    NetworkSpec(
        Network.BLUESKY, "Bluesky", BlueskyRules, _bluesky_share,
        adapter="sharebot.adapters.bluesky:BlueskyAdapter",
        secrets=("app_password",),
        options=_options(
            handle=Option(str, required=True, pattern=r"(?!-)[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+",
                          looks_like="a handle like news.bsky.social, without @"),
            pds=Option(str, "https://bsky.social", pattern=r"https?://[^\s/]+/?", looks_like="a PDS address"),
            api_base=API_BASE,
        ),
        # FIND lists the account's own records on its PDS (com.atproto.repo.listRecords). No EDIT: Bluesky has no
        # post editing; the app.bsky.feed.post lexicon defines none (https://docs.bsky.app/docs/advanced-guides/posts).
        capabilities=frozenset({FIND, DELETE, REPLY}),
        entity_style="bluesky",
        notifies_mentions=True,
        facets=True,
        # app.bsky.embed.external sets no maxLength on `description` (https://github.com/bluesky-social/atproto/
        # blob/main/lexicons/app/bsky/embed/external.json); the app shows a few lines. 300, as a post's graphemes,
        # keeps the record small. `langs` takes whole BCP 47 tags (the lexicon's `language` format).
        card_description_max=300,
    ),
    NetworkSpec(
        Network.LINKEDIN, "LinkedIn", LinkedInRules, _linkedin_share,
        adapter="sharebot.adapters.linkedin:LinkedInAdapter",
        secrets=("access_token",),
        options=_options(
            author=Option(str, required=True, pattern=r"urn:li:(organization|person):[A-Za-z0-9_-]+",
                          looks_like="urn:li:organization:<id> for a page or urn:li:person:<id> for a member"),
            version=TEXT,  # LinkedIn-Version header (YYYYMM); each version is served for about a year
            visibility=Option(str, "PUBLIC", on_post=True, pattern="PUBLIC|CONNECTIONS|LOGGED_IN",
                              looks_like="PUBLIC, CONNECTIONS or LOGGED_IN"),
            api_base=API_BASE,
        ),
        # EDIT is a PARTIAL_UPDATE of the post's commentary, REPLY a comment under it (Posts and Comments API,
        # https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api).
        capabilities=frozenset({FIND, DELETE, EDIT, REPLY}),
        escape=_little_text,
        comment_replies=True,
        api_versions=LINKEDIN_VERSIONS,
        # An article's description: 256 characters in LinkedIn's Share API
        # (https://learn.microsoft.com/en-us/linkedin/compliance/integrations/shares/share-api); the Posts API
        # names no other limit.
        card_description_max=256,
    ),
    NetworkSpec(
        Network.FACEBOOK, "Facebook", FacebookRules, _facebook_share,
        adapter="sharebot.adapters.facebook:FacebookAdapter",
        secrets=("page_access_token",),
        options=_options(page_id=Option(str, required=True, pattern=r"\d+", looks_like="the page's numeric id"),
                         api_version=TEXT, api_base=API_BASE),
        # EDIT posts a new message to /{post-id}, REPLY is a comment (/{post-id}/comments)
        # (https://developers.facebook.com/docs/graph-api/reference/page/feed).
        capabilities=frozenset({FIND, DELETE, EDIT, REPLY}),
        comment_replies=True,
        api_versions=GRAPH_VERSIONS,
    ),
    NetworkSpec(
        Network.WHATSAPP, "WhatsApp", WhatsAppRules, _whatsapp_share,
        # No API posts to a WhatsApp Channel (platforms.md §6): sharebot makes the share link only.
    ),
    NetworkSpec(
        Network.TELEGRAM, "Telegram", TelegramRules, _telegram_share,
        adapter="sharebot.adapters.telegram:TelegramAdapter",
        secrets=("bot_token",),
        options=_options(
            # @channelusername or the numeric -100… id (https://core.telegram.org/bots/api#sendmessage)
            chat_id=Option((str, int), required=True, pattern=r"@[A-Za-z][A-Za-z0-9_]{3,}|-?\d+",
                           looks_like="@channelname, or the numeric id (-100… for a private channel)"),
            api_base=API_BASE,
            attach_image=ATTACH_IMAGE,
        ),
        # No FIND: a bot cannot read a channel's history (the Bot API has no such method), so a timed-out
        # send stays unknown for a person to settle. editMessageText, deleteMessage and reply_parameters
        # give the rest (https://core.telegram.org/bots/api).
        capabilities=frozenset({DELETE, EDIT, REPLY}),
        photo_replaces_card=True,  # sendPhoto shows the photo, not the link preview
    ),
    NetworkSpec(
        Network.THREADS, "Threads", ThreadsRules, _threads_share,
        adapter="sharebot.adapters.threads:ThreadsAdapter",
        secrets=("access_token",),
        options=_options(
            user_id=Option(str, required=True, pattern=r"\d+", looks_like="the numeric Threads user id (GET /me)"),
            api_version=TEXT,
            api_base=API_BASE,
            # Meta fetches an image post's picture asynchronously: the container is polled this often, this many times.
            poll_interval=Option(float, 3.0),
            poll_attempts=Option(int, 10),
            attach_image=ATTACH_IMAGE,
        ),
        # No EDIT: the Threads API publishes, lists, deletes and replies (reply_to_id) but cannot edit
        # (https://developers.facebook.com/docs/threads/posts).
        capabilities=frozenset({FIND, DELETE, REPLY}),
        notifies_mentions=True,
        photo_needs_link_in_text=True,  # an IMAGE post takes no link_attachment
    ),
    NetworkSpec(
        Network.MASTODON, "Mastodon", MastodonRules, _mastodon_share,
        adapter="sharebot.adapters.mastodon:MastodonAdapter",
        secrets=("access_token",),
        options=_options(
            instance=Option(str, required=True, pattern=r"(https?://)?[^\s/@]+\.[^\s/@]+/?",
                            looks_like="the server's address, like https://mastodon.social"),
            api_base=API_BASE,
            visibility=Option(str, "public", on_post=True, pattern="public|unlisted|private|direct",
                              looks_like="public, unlisted, private or direct"),
            # The instance's configuration.statuses values; the renderer fits posts to them.
            max_characters=Option(int, MastodonRules.default_limit, positive=True),
            characters_reserved_per_url=Option(int, MastodonRules.default_url_length, positive=True),
            attach_image=ATTACH_IMAGE,
            # Image uploads are processed asynchronously: checked this many times, this far apart.
            media_poll_attempts=Option(int, 10),
            media_poll_interval=Option(float, 1.0),
        ),
        # EDIT: PUT /api/v1/statuses/:id (https://docs.joinmastodon.org/methods/statuses/).
        capabilities=frozenset({FIND, DELETE, EDIT, REPLY}),
        entity_style="mastodon",
        notifies_mentions=True,
        # Each instance builds the card from the first http(s) link in the text (platforms.md §3.3).
        card_from_first_link=True,
        photo_replaces_card=True,
        server_option="instance",
        server_limits=True,
        # The server links URLs with a scheme only and shows them without it, cut after 30 characters
        # (TextFormatter/Twitter::TwitterText::Extractor in mastodon/mastodon).
        shortens_links=True,
        links_need_scheme=True,
        # `language` is an ISO 639-1 code: a tag with a region (de-DE) is cut to its language and anything unknown
        # is dropped silently (valid_locale_or_nil, app/helpers/languages_helper.rb in mastodon/mastodon).
        primary_language_only=True,
    ),
)

NETWORKS: Mapping[Network, NetworkSpec] = MappingProxyType({spec.network: spec for spec in _SPECS})
LINK_ONLY = frozenset(spec.network for spec in _SPECS if spec.link_only)


class _Configured(Protocol):
    @property
    def network(self) -> Network: ...

    @property
    def options(self) -> Mapping[str, Any]: ...


def rules_for(account: _Configured) -> Rules:
    """The rules for one account, with per-account limits where the network has them."""
    return NETWORKS[account.network].rules.for_options(account.options)


def share_servers(accounts: Iterable[_Configured]) -> dict[Network, str]:
    """For each network whose share link goes to a server of the reader's choosing (a Mastodon instance),
    the first configured account's server."""
    servers: dict[Network, str] = {}
    for account in accounts:
        option = NETWORKS[account.network].server_option
        if option and account.network not in servers and isinstance(account.options.get(option), str):
            servers[account.network] = account.options[option]
    return servers
