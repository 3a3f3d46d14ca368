"""Text fit for one log line or stored error: secret values masked, folded to a single line, bounded."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import quote, urlsplit, urlunsplit

MAX_LINE = 300
MASK = "****"


def hide(secret: str) -> str:
    return MASK


def one_line(text: object, secrets: Iterable[str] = (), *, limit: int = MAX_LINE,
             masked: Callable[[str], str] = hide) -> str:
    """`text` with every value in `secrets` (also URL-encoded, as it appears in a logged URL) replaced by
    `masked(value)` (**** unless told otherwise), whitespace runs folded to one space, cut to `limit`."""
    value = str(text)
    # Longest first, so a secret that contains another is masked whole rather than leaving its tail.
    for secret in sorted({str(s) for s in secrets if s}, key=len, reverse=True):
        value = value.replace(secret, masked(secret)).replace(quote(secret, safe=""), masked(secret))
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def redact_url(url: str, *, mark: str = "****") -> str:
    """A database URL without its password, wherever it is: user:password@ (the last @ ends the user part, so an
    unencoded @ in the password is covered) or a password= parameter."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        user, host = netloc.rsplit("@", 1)
        netloc = (user.split(":", 1)[0] + ":" + mark if ":" in user else user) + "@" + host
    query = "&".join(f"password={mark}" if q.lower().startswith("password=") else q
                     for q in parts.query.split("&")) if parts.query else ""
    return urlunsplit(parts._replace(netloc=netloc, query=query))
