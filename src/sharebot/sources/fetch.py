"""Reading bytes from a URL or a local path, with every failure turned into one ArticleError line.

A `Fetcher` is any callable from URL to bytes, so tests and callers can hand in their own; the default is
`http_fetcher()`. httpx is imported only when a fetch actually happens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlsplit

from sharebot.errors import ArticleError

Fetcher = Callable[[str], bytes]

USER_AGENT = "sharebot/0.1 (article metadata reader)"


def is_url(location: str) -> bool:
    return urlsplit(location).scheme.lower() in ("http", "https")


def http_fetcher(timeout: float = 10, max_bytes: int = 5_000_000) -> Fetcher:
    """A Fetcher over httpx that follows redirects and refuses bodies larger than `max_bytes`."""

    def fetch(url: str) -> bytes:
        import httpx

        def fail(reason: str) -> ArticleError:
            return ArticleError(f"cannot read {url}: {reason}")

        try:
            headers = {"User-Agent": USER_AGENT}
            with httpx.Client(timeout=timeout, follow_redirects=True, headers=headers) as client:
                with client.stream("GET", url) as response:
                    if response.status_code >= 400:
                        raise fail(f"HTTP {response.status_code} {response.reason_phrase}".strip())
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise fail(f"{declared} bytes is more than the limit of {max_bytes}")
                    chunks: list[bytes] = []
                    size = 0
                    # The declared length may be missing or wrong, so count what actually arrives.
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise fail(f"more than the limit of {max_bytes} bytes")
                        chunks.append(chunk)
                    return b"".join(chunks)
        except httpx.TooManyRedirects:
            raise fail("too many redirects") from None
        except httpx.TimeoutException:
            raise fail(f"no answer within {timeout:g} s") from None
        except httpx.ConnectError as exc:
            raise fail(f"cannot connect ({_reason(exc)})") from None
        except httpx.UnsupportedProtocol:
            raise fail("not an http(s) URL") from None
        except httpx.HTTPError as exc:
            raise fail(f"{type(exc).__name__} ({_reason(exc)})") from None

    return fetch


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


def _reason(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
