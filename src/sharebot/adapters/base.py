"""What every network adapter offers, and the one place transport failures become sharebot errors.

An adapter does I/O only. What a network counts and accepts, and which credentials it needs, is pure and
declared in the registry (`sharebot.networks`), so a dry run never imports this package's network modules
(or their SDKs).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, NamedTuple

from sharebot import USER_AGENT
from sharebot.credentials import Secret, mask
from sharebot.errors import MissingCredential, Unsupported
from sharebot.fetch import FetchPolicy
from sharebot.jobs import PublishResult
from sharebot.models import Account, Network, RenderedPost
from sharebot.networks import NETWORKS, Capability

__all__ = ["Adapter", "AdapterContext", "AccountState", "AccountStatus", "Delivery", "RemotePost", "Secret", "mask"]


@dataclass(frozen=True)
class Delivery:
    """What an adapter needs to know about the job it is posting for."""

    key: str  # stable per (article, account, round): idempotency key
    now: datetime
    data: Mapping[str, Any] = field(default_factory=dict)  # what `prepare` returned, persisted before posting
    # Persists more values on the job mid-publish (e.g. a Threads container id made before the publish call),
    # durably before it returns, so a later attempt or check can see them. None outside the worker.
    save: Callable[[Mapping[str, Any]], None] | None = field(default=None, compare=False, repr=False)
    # Which send of this delivery this is, as the queue counted it (1: the first ever, so nothing can exist yet
    # to look for); 0 when not counted (outside the worker): assume an earlier one may have gone out.
    attempt: int = 0


class RemotePost(NamedTuple):
    """A post sharebot made, as the job that made it recorded it: what `edit` changes and `reply` answers.

    For a follow-up it may itself be a reply: each follow-up answers the one before, so they read as a thread.
    """

    remote_id: str  # the network's id: an at:// URI, a URN, a status or message id
    url: str | None = None
    data: Mapping[str, Any] = MappingProxyType({})  # that job's adapter data (Bluesky's record key, ...)
    post: RenderedPost | None = None  # the post as it went out, when known: an edit compares its link with it


_CANNOT = {Capability.EDIT: "edit a post", Capability.REPLY: "reply under a post"}


class AccountState(StrEnum):
    """What a credential check found out about an account."""

    OK = "ok"
    MISSING = "missing"  # a credential is not set
    REJECTED = "rejected"  # the network refused the credentials, or the account is unusable
    EXPIRING = "expiring"  # works, but not for much longer
    UNREACHABLE = "unreachable"  # the network did not answer


@dataclass(frozen=True)
class AccountStatus:
    account: str
    state: AccountState  # a plain "ok" etc. is taken too
    detail: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", AccountState(self.state))


@dataclass(frozen=True)
class AdapterContext:
    """Process-wide settings adapters need: timeouts, where to keep session files, which hosts images
    may come from."""

    state_dir: Path
    timeout: float = 20.0
    user_agent: str = USER_AGENT
    fetch_policy: FetchPolicy = FetchPolicy()  # article images: public addresses only, unless allowed here


class Adapter(ABC):
    """Posts to one account of one network."""

    network: ClassVar[Network]

    @property
    def required_secrets(self) -> tuple[str, ...]:
        """The credentials it cannot post without: its network's, as the registry declares them."""
        return NETWORKS[self.network].secrets

    def __init__(self, account: Account, credentials: Mapping[str, Secret], context: AdapterContext) -> None:
        missing = [name for name in self.required_secrets if not credentials.get(name)]
        if missing:
            names = ", ".join(account.secrets.get(m, m) for m in missing)
            raise MissingCredential(str(self.network), f"account {account.name!r}: missing credential(s) {names}")
        self.account = account
        self.credentials = credentials
        self.context = context

    def prepare(self, post: RenderedPost, delivery: Delivery) -> Mapping[str, Any]:
        """Values to persist on the job before the first attempt (e.g. a record key). Pure."""
        return {}

    @abstractmethod
    def publish(self, post: RenderedPost, delivery: Delivery) -> PublishResult:
        """Post it. Raises NotSent, RateLimited, Rejected, AuthError or Unconfirmed."""

    @abstractmethod
    def find(self, post: RenderedPost, delivery: Delivery) -> PublishResult | None:
        """Did this delivery's post go out? Used to settle an unknown outcome before any retry."""

    @abstractmethod
    def delete(self, remote_id: str) -> None:
        """Remove a post we made."""

    # --- after a post is out: corrections and follow-ups --------------------------------------------
    # A network without the capability (see its registry entry) keeps these defaults: they send nothing and
    # raise Unsupported, so a caller can fall back (a reply where no edit is possible) instead of posting blind.
    def edit(self, original: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult:
        """Make `original` read as `post`: its text, and its link and card where the API lets them change.

        Raises Unsupported where the network cannot make this edit (no edit API, or a link that cannot change),
        else what `publish` raises. An answer lost on the way back is Unconfirmed and `find_edit` tells whether
        the edit landed; sending the same edit again is harmless on every network that can edit.
        """
        raise self.unsupported(Capability.EDIT)

    def find_edit(self, original: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult | None:
        """Does `original` read as `post` now? Its result when it does. None when it does not, or when the network
        cannot be read back (Telegram): the edit may then simply be sent again."""
        raise self.unsupported(Capability.EDIT)

    def reply(self, parent: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult:
        """Post `post` as a reply under `parent` (a comment, where the network calls it that). Prepared
        (`prepare`), retried and settled like a post: raises what `publish` raises."""
        raise self.unsupported(Capability.REPLY)

    def find_reply(self, parent: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult | None:
        """Did this delivery's reply under `parent` go out? As `find` is for posts."""
        raise self.unsupported(Capability.REPLY)

    def unsupported(self, capability: Capability) -> Unsupported:
        spec = NETWORKS[self.network]
        return Unsupported(str(self.network), f"the {spec.label} API cannot {_CANNOT[capability]}; nothing was sent",
                           capability=str(capability))

    @abstractmethod
    def check(self) -> AccountStatus:
        """One authenticated read that proves the credentials work."""

    def close(self) -> None:  # noqa: B027 - optional: most adapters hold nothing to release
        """Release connections."""
