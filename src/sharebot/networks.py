"""What each network counts and accepts: limits, units, default templates. Pure; no I/O, no SDKs.

One class per network with its capabilities as class attributes, so the renderer, the dry run and the
`accounts` listing read them without credentials. Mastodon's limit is per instance, so rules are built
per account (`rules_for`).
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

from sharebot import counting
from sharebot.errors import ConfigError
from sharebot.models import Account, Issue, Network, Severity


class Rules:
    """Plain classes, not dataclasses: a dry run imports all eight, and each dataclass costs ~0.4 ms."""

    network: ClassVar[Network]
    unit: ClassVar[str]
    default_limit: ClassVar[int]
    default_template: ClassVar[str]
    default_max_hashtags: ClassVar[int] = 2
    # "text": the link goes in the post text and the network's crawler builds the card;
    # "field": the link travels in its own API field (card built by us or by the network).
    link_placement: ClassVar[str] = "text"
    # True where sharebot must send title/description/thumbnail itself (no crawler).
    builds_card: ClassVar[bool] = False
    takes_language: ClassVar[bool] = False

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit or self.default_limit

    def __repr__(self) -> str:
        return f"{type(self).__name__}(limit={self.limit})"

    def length(self, text: str) -> int:
        raise NotImplementedError

    def fits(self, text: str) -> bool:
        return 0 < self.length(text) <= self.limit

    def check(self, text: str) -> list[Issue]:
        """Blocking problems with a final text (over the limit, empty, characters the network refuses)."""
        issues = []
        if not text.strip():
            issues.append(Issue(Severity.ERROR, "empty", "the post text is empty"))
        length = self.length(text)
        if length > self.limit:
            issues.append(Issue(Severity.ERROR, "too-long", f"{length} {self.unit}, limit {self.limit}"))
        return issues


class XRules(Rules):
    network = Network.X
    unit = "weighted characters"
    default_template = "{title}\n\n{teaser}\n\n{link}\n\n{hashtags}"
    default_limit = 280

    def length(self, text: str) -> int:
        return counting.x_weighted_length(text)

    def check(self, text: str) -> list[Issue]:
        issues = super().check(text)
        if any(c in text for c in "\ufffe\ufeff\uffff"):
            issues.append(Issue(Severity.ERROR, "invalid-character", "X refuses U+FEFF, U+FFFE and U+FFFF"))
        return issues


class BlueskyRules(Rules):
    network = Network.BLUESKY
    unit = "graphemes"
    default_template = "{title}\n\n{teaser}\n\n{hashtags}"
    link_placement = "field"  # the link travels in the app.bsky.embed.external card we build
    builds_card = True
    takes_language = True
    default_max_hashtags = 3
    default_limit = 300
    max_bytes: ClassVar[int] = 3000  # app.bsky.feed.post text maxLength counts UTF-8 bytes

    def length(self, text: str) -> int:
        return counting.bluesky_graphemes(text)

    def fits(self, text: str) -> bool:
        return super().fits(text) and counting.utf8_length(text) <= self.max_bytes

    def check(self, text: str) -> list[Issue]:
        issues = super().check(text)
        size = counting.utf8_length(text)
        if size > self.max_bytes:
            issues.append(Issue(Severity.ERROR, "too-long", f"{size} UTF-8 bytes, limit {self.max_bytes}"))
        return issues


class MastodonRules(Rules):
    network = Network.MASTODON
    unit = "characters"
    default_template = "{title}\n\n{teaser}\n\n{link}\n\n{hashtags}"
    takes_language = True
    default_max_hashtags = 4
    default_limit = 500

    def __init__(self, limit: int | None = None, url_length: int = 23) -> None:
        super().__init__(limit)
        self.url_length = url_length

    def length(self, text: str) -> int:
        return counting.mastodon_length(text, url_length=self.url_length)


class LinkedInRules(Rules):
    network = Network.LINKEDIN
    unit = "UTF-16 code units"
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
    network = Network.FACEBOOK
    unit = "characters"
    default_template = "{title}\n\n{teaser}"
    link_placement = "field"  # Graph API `link`; Facebook's crawler builds the card from og: tags
    default_max_hashtags = 0
    default_limit = 63206

    def length(self, text: str) -> int:
        return counting.utf16_length(text)


class ThreadsRules(Rules):
    network = Network.THREADS
    unit = "characters (emoji as UTF-8 bytes)"
    default_template = "{title}\n\n{teaser}\n\n{hashtags}"
    link_placement = "field"  # link_attachment gives the card
    default_max_hashtags = 1  # Threads links one topic tag per post
    default_limit = 500

    def length(self, text: str) -> int:
        return counting.threads_length(text)


class TelegramRules(Rules):
    network = Network.TELEGRAM
    unit = "UTF-16 code units"
    default_template = "{title}\n\n{teaser}\n\n{link}"
    default_max_hashtags = 0
    default_limit = 4096  # 1024 when sent as a photo caption

    def length(self, text: str) -> int:
        return counting.utf16_length(text)


class WhatsAppRules(Rules):
    network = Network.WHATSAPP
    unit = "characters"
    default_template = "{title}\n\n{link}"
    default_max_hashtags = 0
    default_limit = 65536

    def length(self, text: str) -> int:
        return len(text)


RULES: dict[Network, type[Rules]] = {
    cls.network: cls
    for cls in (XRules, BlueskyRules, MastodonRules, LinkedInRules, FacebookRules, ThreadsRules,
                TelegramRules, WhatsAppRules)
}


def rules_for(account: Account) -> Rules:
    """The rules for one account, with per-account limits where the network has them."""
    cls = RULES[account.network]
    options: Mapping[str, Any] = account.options
    if account.network is Network.MASTODON:
        limit = _positive(options.get("max_characters", 500), account, "max_characters")
        url_length = _positive(options.get("characters_reserved_per_url", 23), account, "characters_reserved_per_url")
        return MastodonRules(limit=limit, url_length=url_length)
    if account.network is Network.TELEGRAM and options.get("attach_image"):
        return TelegramRules(limit=1024)
    return cls()


def _positive(value: Any, account: Account, key: str) -> int:
    if not isinstance(value, int) or value <= 0:
        raise ConfigError(f"accounts.{account.name}.{key}: expected a positive whole number, got {value!r}")
    return value
