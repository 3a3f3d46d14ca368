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
from typing import Any, ClassVar

from sharebot import USER_AGENT
from sharebot.credentials import Secret, mask
from sharebot.errors import MissingCredential
from sharebot.fetch import FetchPolicy
from sharebot.jobs import PublishResult
from sharebot.models import Account, Network, RenderedPost
from sharebot.networks import NETWORKS

__all__ = ["Adapter", "AdapterContext", "AccountState", "AccountStatus", "Delivery", "Secret", "mask"]


@dataclass(frozen=True)
class Delivery:
    """What an adapter needs to know about the job it is posting for."""

    key: str  # stable per (article, account, round): idempotency key
    now: datetime
    data: Mapping[str, Any] = field(default_factory=dict)  # what `prepare` returned, persisted before posting
    # Persists more values on the job mid-publish (e.g. a Threads container id made before the publish call),
    # durably before it returns, so a later attempt or check can see them. None outside the worker.
    save: Callable[[Mapping[str, Any]], None] | None = field(default=None, compare=False, repr=False)


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

    @abstractmethod
    def check(self) -> AccountStatus:
        """One authenticated read that proves the credentials work."""

    def close(self) -> None:  # noqa: B027 - optional: most adapters hold nothing to release
        """Release connections."""
