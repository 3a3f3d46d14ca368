"""sharebot's exceptions, named for what we know happened.

    SharebotError
    ├── ConfigError          bad config, unknown account, missing secret
    ├── ArticleError         slug not found, bad front matter (file:line), unreadable feed or page
    ├── ValidationError      a rendered post breaks a blocking rule
    ├── StoreError
    │   ├── NotFound         no such job
    │   └── JobStateError    a transition the state table forbids, or a lost compare-and-set
    └── PublishError(network, detail, status)
        ├── NotSent          certainly not posted (connection refused, 429, 503) -> retry with backoff
        │   └── RateLimited(retry_after)
        ├── Rejected         the network said no; retrying will not help -> failed
        │   ├── AuthError    credentials missing, bad or revoked -> failed, account flagged
        │   │   └── MissingCredential   not set at all: no request was made
        │   └── Unsupported  the network's API cannot do this with a post (edit, reply): nothing was sent
        └── Unconfirmed      may have been posted (read timeout, 5xx after sending) -> unknown

Every message is one line that names the file, field or value at fault.
"""

from __future__ import annotations


class SharebotError(Exception):
    """Base of everything sharebot raises on purpose."""


class ConfigError(SharebotError):
    """The configuration or environment is wrong."""


class ArticleError(SharebotError):
    """An article could not be found or read."""


class ValidationError(SharebotError):
    """A rendered post would not be accepted."""


class StoreError(SharebotError):
    """The queue's storage refused an operation."""


class NotFound(StoreError):
    """No such job."""


class JobStateError(StoreError):
    """The job is not in a state that allows this."""


class PublishError(SharebotError):
    """A network did not take the post."""

    def __init__(self, network: str, detail: str, status: int | None = None) -> None:
        self.network = network
        self.detail = detail
        self.status = status
        where = f"{network}: HTTP {status}: " if status else f"{network}: "
        super().__init__(where + detail)


class NotSent(PublishError):
    """Certainly not posted; safe to try again later."""


class RateLimited(NotSent):
    """The network asked us to wait `retry_after` seconds (None when it did not say)."""

    def __init__(self, network: str, detail: str, status: int | None = 429, retry_after: float | None = None):
        super().__init__(network, detail, status)
        self.retry_after = retry_after


class Rejected(PublishError):
    """The network refused the post; retrying the same request will not help."""


class AuthError(Rejected):
    """Credentials are missing, wrong or revoked."""


class MissingCredential(AuthError):
    """A credential the account needs is not set, so nothing was sent (`accounts check` says "missing")."""


class Unsupported(Rejected):
    """The network's API cannot do this with a post (e.g. edit on X, Bluesky or Threads), so nothing was sent.

    `capability` names what was asked (a `sharebot.networks.Capability` value: "edit", "reply", ...), so a caller
    can fall back, e.g. to a reply where an edit is impossible.
    """

    def __init__(self, network: str, detail: str, status: int | None = None, *, capability: str | None = None):
        super().__init__(network, detail, status)
        self.capability = capability


class Unconfirmed(PublishError):
    """The request may have gone through; check before trying again."""
