"""The httpx plumbing the plain-HTTP adapters share (LinkedIn, Facebook, Threads, Telegram).

One `Http` per adapter: base URL, timeout, user agent, and the single place where httpx transport
exceptions become sharebot's NotSent / Unconfirmed. Status codes and error bodies are each network's
business and are mapped in that network's module.

Secrets that must travel in a URL (Telegram's /bot<token>/ path, Graph API `access_token` query
parameters) are written as placeholders by the adapter and swapped in by `_RevealTransport` just before
the bytes go out. So the `httpx.Request` that httpx logs ("HTTP Request: POST …") and attaches to its
exceptions only ever carries the placeholder.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sharebot.adapters.base import AccountState, AccountStatus, RemotePost
from sharebot.errors import NotSent, PublishError, Unconfirmed, Unsupported
from sharebot.models import RenderedPost
from sharebot.networks import NETWORKS, Network
from sharebot.scrub import one_line
from sharebot.times import utc

if TYPE_CHECKING:
    import httpx

# A post found by lookup counts as this round's when made at most this long before the round's
# `not_before`: our clock and the network's may disagree.
CLOCK_SKEW = timedelta(minutes=10)


def hidden(name: str) -> str:
    """The placeholder written in URLs for the secret `name`; only characters httpx leaves unencoded."""
    return f"SHAREBOT-HIDDEN-{name.upper().replace('_', '-')}"


def json_body(response: httpx.Response) -> Any:
    """The decoded JSON body, or None when there is none or it is not JSON (proxies answer HTML)."""
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        return None


def retry_after(headers: Mapping[str, str], now: datetime | None, *, reset: str | None = None) -> float | None:
    """Seconds to wait before asking again, from the headers of a refused request; None when they do not say.

    `Retry-After` (delta-seconds or an HTTP-date) wins. Otherwise `reset` names the network's own header
    for when its window reopens: epoch seconds (X's x-rate-limit-reset) or ISO 8601 (Mastodon's
    X-RateLimit-Reset). A moment is measured on the server's clock (its Date header) when it sent one,
    else on `now`: our clock and theirs may disagree by more than the wait itself.
    """
    value = (headers.get("retry-after") or "").strip()
    if value.isdigit():
        return float(value)
    until = _http_date(value)
    if until is None and reset:
        until = _reset_moment(headers.get(reset) or "")
    if until is None:
        return None
    base = _http_date(headers.get("date") or "") or (utc(now) if now is not None else None)
    if base is None:
        return None
    return max(0.0, (until - base).total_seconds())


def _http_date(value: str) -> datetime | None:
    try:
        return utc(parsedate_to_datetime(value)) if value else None
    except (TypeError, ValueError):
        return None


def _reset_moment(value: str) -> datetime | None:
    value = value.strip()
    try:
        if value.isdigit():
            return datetime.fromtimestamp(int(value), UTC)
        return utc(datetime.fromisoformat(value.replace("Z", "+00:00"))) if value else None
    except (ValueError, OverflowError, OSError):
        return None


def seconds_to_utc_midnight(now: datetime) -> float:
    """Daily quotas (LinkedIn) reset at 00:00 UTC."""
    current = utc(now)
    seconds_today = current.hour * 3600 + current.minute * 60 + current.second + current.microsecond / 1e6
    return 86400.0 - seconds_today


def round_start(data: Mapping[str, Any]) -> datetime | None:
    """The earliest creation time a post of this delivery round can carry: the `not_before` an adapter's
    `prepare` persisted, less CLOCK_SKEW. None for jobs made before rounds were tracked (every post counts)."""
    value = data.get("not_before")
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return utc(moment) - CLOCK_SKEW


def posted_at(value: Any) -> datetime | None:
    """A post's creation time as a network reports it: ISO 8601 (Graph's `2026-11-25T09:00:00+0000`) or
    epoch milliseconds (LinkedIn). None when absent or unreadable."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    try:
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(value / 1000, UTC)
        return utc(datetime.fromisoformat(str(value)))
    except (ValueError, OverflowError, OSError):
        return None


def in_round(created: Any, since: datetime | None) -> bool:
    """Can a post created at `created` (as the network reports it) belong to the round starting `since`?

    Without a round start every post counts. A post whose time cannot be read does not: a second post
    can be seen and deleted, a round marked published that never went out goes unnoticed.
    """
    if since is None:
        return True
    moment = posted_at(created)
    return moment is not None and moment >= since


def same_text(shown: str, sent: str) -> bool:
    """Does a text a network shows back equal the one sent? Networks trim and rewrap whitespace."""
    return " ".join(shown.split()) == " ".join(sent.split())


def with_link(text: str, link: str | None) -> str:
    """A comment has no link field: the post's link goes on a line of its own after the text, unless the text
    already carries it."""
    return text if not link or link in text else f"{text.rstrip()}\n\n{link}"


def keep_link(network: Network, original: RemotePost, post: RenderedPost) -> None:
    """For a network whose posts keep their link for good (the card is fixed): refuse an edit that would change it,
    so the post never ends up pointing at another page than the one it says."""
    if original.post is not None and original.post.link != post.link:
        raise Unsupported(str(network), f"{NETWORKS[network].label} cannot change the link of {original.remote_id} "
                                        f"({original.post.link} -> {post.link}); nothing was sent", capability="edit")


def status_from_error(account: str, exc: PublishError) -> AccountStatus:
    """What `check` reports when its one authenticated read failed: the network said no, or said nothing."""
    state = AccountState.UNREACHABLE if isinstance(exc, (NotSent, Unconfirmed)) else AccountState.REJECTED
    return AccountStatus(account, state, str(exc))


def requests_never_sent(exc: BaseException) -> bool:
    """For the SDKs built on requests (tweepy, Mastodon.py): did the call fail while connecting, before any
    byte of the request went out? Then nothing can have been posted."""
    import requests
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    if isinstance(exc, (requests.ConnectTimeout, requests.exceptions.SSLError)):
        return True
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError))


def _reveal_transport(inner: httpx.BaseTransport, secrets: Mapping[str, str]) -> httpx.BaseTransport:
    import httpx

    swaps = {hidden(name): quote(value, safe=":") for name, value in secrets.items() if value}

    class _RevealTransport(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            url = str(request.url)
            real = url
            for placeholder, value in swaps.items():
                real = real.replace(placeholder, value)
            if real != url:
                request = httpx.Request(request.method, real, headers=request.headers, stream=request.stream,
                                        extensions=request.extensions)
            return inner.handle_request(request)

        def close(self) -> None:
            inner.close()

    return _RevealTransport()


class Http:
    """An httpx.Client bound to one network, with transport failures mapped to sharebot errors."""

    def __init__(self, network: str, base_url: str, *, timeout: float, user_agent: str,
                 secrets: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None) -> None:
        import httpx

        self.network = network
        self.secrets = dict(secrets or {})
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            headers={"User-Agent": user_agent, **(headers or {})},
            transport=_reveal_transport(httpx.HTTPTransport(), self.secrets),
            follow_redirects=False,
        )

    def detail(self, text: object) -> str:
        """`text` as one bounded line, the secrets and their URL placeholders masked."""
        return one_line(text, [*self.secrets.values(), *map(hidden, self.secrets)])

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request. A read (GET) cannot have posted anything, so all its failures are NotSent."""
        import httpx

        what = f"{method} {self.detail(httpx.URL(url).path)}"
        try:
            return self.client.request(method, url, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol,
                httpx.ProxyError) as exc:
            raise NotSent(self.network, f"{what}: not sent ({self._why(exc)})") from None
        except httpx.TimeoutException as exc:
            if method == "GET":
                raise NotSent(self.network, f"{what}: timed out ({self._why(exc)})") from None
            raise Unconfirmed(self.network, f"{what}: no answer within {self.client.timeout.read}s, "
                                            f"the request may have been applied") from None
        except httpx.TransportError as exc:
            # The request was (at least partly) written; a dropped connection here says nothing about
            # whether the server acted on it.
            if method == "GET":
                raise NotSent(self.network, f"{what}: connection failed ({self._why(exc)})") from None
            why = self._why(exc)
            raise Unconfirmed(self.network, f"{what}: connection lost after sending ({why})") from None

    def _why(self, exc: Exception) -> str:
        text = str(exc)
        return self.detail(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)

    def close(self) -> None:
        self.client.close()
