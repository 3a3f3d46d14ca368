"""Reading bytes from a URL or a local path, with every failure turned into one ArticleError line.

A `Fetcher` is any callable from URL to bytes, so tests and callers can hand in their own; the default is
`http_fetcher()`, which goes through the safe fetcher (`sharebot.fetch`): public addresses only unless its
policy allows more, one deadline, a byte cap. httpx is imported only when a fetch actually happens.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from sharebot import USER_AGENT as SHAREBOT_AGENT
from sharebot.errors import ArticleError

if TYPE_CHECKING:
    from sharebot.fetch import FetchPolicy

Fetcher = Callable[[str], bytes]

USER_AGENT = f"{SHAREBOT_AGENT} (article metadata reader)"


def is_url(location: str) -> bool:
    return urlsplit(location).scheme.lower() in ("http", "https")


def http_fetcher(timeout: float = 10, max_bytes: int = 5_000_000, policy: FetchPolicy | None = None) -> Fetcher:
    """A Fetcher that gives each URL `timeout` seconds in all and at most `max_bytes`, and reaches only
    public addresses unless `policy` allows more."""

    def fetch_bytes(url: str) -> bytes:
        from sharebot.fetch import FetchError
        from sharebot.fetch import fetch as fetch_url

        try:
            return fetch_url(url, deadline=timeout, max_bytes=max_bytes, policy=policy, user_agent=USER_AGENT).data
        except FetchError as exc:
            raise ArticleError(str(exc)) from None

    return fetch_bytes


def read_location(location: str, fetch: Fetcher | None = None) -> bytes:
    """The bytes at an http(s) URL (through `fetch`), a file:// URL or a local path."""
    if is_url(location):
        return (fetch or http_fetcher())(location)
    parts = urlsplit(location)
    path = Path(unquote(parts.path)) if parts.scheme.lower() == "file" else Path(location)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ArticleError(f"cannot read {location}: no such file") from None
    except IsADirectoryError:
        raise ArticleError(f"cannot read {location}: is a directory, not a file") from None
    except OSError as exc:
        raise ArticleError(f"cannot read {location}: {exc.strerror or exc}") from None

