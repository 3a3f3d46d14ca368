"""The things sharebot works with, as plain immutable values. No I/O here.

They are NamedTuples, not dataclasses: a dry run imports every one of them, a NamedTuple class costs a
sixth of a frozen dataclass to create, and without dataclasses a dry run does not import `inspect` at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple

from sharebot.networks import Network as Network  # re-exported; declared with the rest of each network, in the registry


class Account(NamedTuple):
    """One configured account on one network. Holds the names of secret variables, never their values."""

    name: str
    network: Network
    options: Mapping[str, Any] = MappingProxyType({})  # non-secret settings: instance, page_id, ...
    secrets: Mapping[str, str] = MappingProxyType({})  # credential field -> environment variable
    template: str | None = None
    max_hashtags: int | None = None
    utm: Mapping[str, str] | None = None  # None: the default utm_source/medium/campaign; {}: no UTM
    enabled: bool = True


class Article(NamedTuple):
    """One published news article, as a source describes it.

    `id` is what makes it this article: its canonical URL (`sources.common.canonical_url`), the same from
    a content file, a feed item or the page itself. `slug` is what people type and what the queue files
    it under; the queue keeps one slug per id (`pipeline.queue_slug`).
    """

    slug: str
    title: str
    url: str
    teaser: str = ""
    image: str | None = None
    image_alt: str = ""
    tags: tuple[str, ...] = ()
    section: str = ""
    language: str = "de"
    published_at: datetime | None = None
    author: str = ""
    source: str = ""  # where it was read from: a file path, feed or page URL
    id: str = ""  # the canonical URL; "" only for an Article made by hand (then its `url` counts)
    feed_id: str = ""  # the feed's own id for the item (RSS guid, Atom id, JSON Feed id), if it has one
    slug_derived: bool = False  # made from the URL (feeds, pages), not chosen by an editor (content files)
    notes: tuple[str, ...] = ()  # what input normalisation changed, per field (`sharebot.normalise`)

    def to_dict(self) -> dict[str, Any]:
        data = self._asdict()
        data["tags"] = list(self.tags)
        data["notes"] = list(self.notes)
        data["published_at"] = self.published_at.isoformat() if self.published_at else None
        return data


class Card(NamedTuple):
    """Link-card data: what a network shows under the post for the article link."""

    uri: str
    title: str
    description: str
    image: str | None = None
    image_alt: str = ""

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


class Facet(NamedTuple):
    """A Bluesky rich-text facet: UTF-8 byte offsets (end exclusive) into the post text."""

    byte_start: int
    byte_end: int
    kind: str  # "link" | "tag" | "mention"
    value: str  # the link's uri, the tag without '#', or the mention's handle

    def to_dict(self) -> dict[str, Any]:
        return {"byteStart": self.byte_start, "byteEnd": self.byte_end, "type": self.kind, "value": self.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Facet:
        return cls(data["byteStart"], data["byteEnd"], data["type"], data["value"])


class Severity(StrEnum):
    WARNING = "warning"
    ERROR = "error"  # blocks posting


# Errors about the account rather than the post: the text is fine, the account cannot send it yet.
ACCOUNT_ISSUES = frozenset({"missing-credential"})


class Issue(NamedTuple):
    """Something about a rendered post the editor should know; errors block posting."""

    severity: Severity
    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"severity": str(self.severity), "code": self.code, "message": self.message}

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> Issue:
        return cls(Severity(data["severity"]), data["code"], data["message"])


class RenderedPost(NamedTuple):
    """Exactly what goes out to one account. Stored on the job as is; never re-rendered."""

    account: str
    network: Network
    text: str
    length: int
    limit: int
    unit: str
    link: str | None
    card: Card | None
    language: str
    facets: tuple[Facet, ...] = ()
    share_url: str | None = None
    issues: tuple[Issue, ...] = ()
    image: str | None = None  # image to attach, where the network takes one (URL of the article image)
    image_alt: str = ""
    options: Mapping[str, Any] = MappingProxyType({})  # network extras, e.g. visibility

    @property
    def blocked(self) -> bool:
        """Nothing goes out: the post would be refused, or its account cannot post."""
        return any(i.severity is Severity.ERROR for i in self.issues)

    @property
    def refused(self) -> bool:
        """The network would refuse this post itself (not merely its account's set-up)."""
        return any(i.severity is Severity.ERROR and i.code not in ACCOUNT_ISSUES for i in self.issues)

    def to_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "network": str(self.network),
            "text": self.text,
            "length": self.length,
            "limit": self.limit,
            "unit": self.unit,
            "link": self.link,
            "card": self.card.to_dict() if self.card else None,
            "language": self.language,
            "facets": [f.to_dict() for f in self.facets],
            "share_url": self.share_url,
            "issues": [i.to_dict() for i in self.issues],
            "image": self.image,
            "image_alt": self.image_alt,
            "options": dict(self.options),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RenderedPost:
        return cls(
            account=data["account"],
            network=Network(data["network"]),
            text=data["text"],
            length=data["length"],
            limit=data["limit"],
            unit=data["unit"],
            link=data.get("link"),
            card=Card(**data["card"]) if data.get("card") else None,
            language=data["language"],
            facets=tuple(Facet.from_dict(f) for f in data.get("facets", ())),
            share_url=data.get("share_url"),
            issues=tuple(Issue.from_dict(i) for i in data.get("issues", ())),
            image=data.get("image"),
            image_alt=data.get("image_alt", ""),
            options=dict(data.get("options") or {}),
        )

