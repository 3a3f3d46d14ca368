"""The one way sharebot reads a URL taken from content: article pages, feeds, article images (og:image).

Whoever writes an article or a feed chooses these URLs, so a fetch must not become a way into the
network sharebot runs in (server-side request forgery):

- only http and https;
- the host is resolved here, and every address it resolves to must be public: loopback, private
  (RFC 1918, fc00::/7), link-local (169.254.0.0/16, which holds the cloud metadata service, and
  fe80::/10), shared CGNAT space (100.64.0.0/10), multicast, reserved and unspecified addresses are
  refused, also when written inside an IPv6 address (IPv4-mapped, 6to4, NAT64), unless the caller's
  `FetchPolicy` allows them;
- the connection goes to the address that was checked, so no second DNS lookup can answer differently
  (DNS rebinding), while the Host header and TLS SNI keep the name;
- redirects are followed here, at most MAX_REDIRECTS, and every hop is checked the same way.

A fetch has one deadline for all of it (connecting, TLS, every read: a server dripping a byte at a time
is cut off when the deadline passes, not when a read stalls) and a byte cap, checked against
Content-Length when the server sends one and counted as the body arrives either way.

Every failure is a FetchError naming the URL. httpx and httpcore are imported only when a fetch happens.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from sharebot import USER_AGENT
from sharebot.errors import SharebotError
from sharebot.scrub import one_line

if TYPE_CHECKING:
    import ssl

    import httpcore
    import httpx

MAX_REDIRECTS = 5

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class FetchError(SharebotError):
    """A URL could not be read.

    `lasting` is True when asking again will not help (a refused address, HTTP 4xx, too big, not HTTP)
    and False when it might (no connection, too slow, HTTP 5xx).
    """

    def __init__(self, url: str, reason: str, *, lasting: bool) -> None:
        self.url = _shown(url)
        self.reason = reason
        self.lasting = lasting
        super().__init__(one_line(f"cannot read {self.url}: {reason}"))


class FetchPolicy(NamedTuple):
    """Which non-public destinations a fetch may reach: none unless listed in `allow_private`.

    An entry is an address ("127.0.0.1"), a network ("10.0.0.0/8", "fd00::/8"), or a host name
    ("localhost", "images.intranet.example"), which lets that host through whatever it resolves to.
    A NamedTuple, not a dataclass: config.py builds one on every dry run, which should not import dataclasses.
    """

    allow_private: tuple[str, ...] = ()

    def _allowed(self) -> tuple[list[Network], set[str]]:
        networks: list[Network] = []
        names: set[str] = set()
        for entry in self.allow_private:
            text = str(entry).strip().strip("[]")
            try:
                networks.append(ipaddress.ip_network(text, strict=False))
            except ValueError:
                names.add(text.lower().rstrip("."))
        return networks, names

    def refusal(self, host: str, address: Address) -> str | None:
        """Why `address`, which `host` resolved to, may not be fetched; None when it may."""
        kind = non_public(address)
        if kind is None:
            return None
        networks, names = self._allowed()
        if host.lower().rstrip(".") in names:
            return None
        candidates = [address, *_embedded(address)]
        if any(candidate in network for candidate in candidates for network in networks):
            return None
        return f"{address} is {kind}, which the fetch policy does not allow"


def non_public(address: Address) -> str | None:
    """What kind of non-public address this is ("a loopback address", ...), or None for a public one."""
    for inner in _embedded(address):
        kind = non_public(inner)
        if kind:
            return f"{kind} inside an IPv6 address"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return None  # a public IPv4 address, written as IPv6
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address in _CGNAT:
        return "a shared (CGNAT) address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "a site-local address"
    if not address.is_global:
        return "not a public address"
    return None


def _embedded(address: Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address stands for: IPv4-mapped, 6to4, NAT64 (64:ff9b::/96)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = [address.ipv4_mapped, address.sixtofour]
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [inner for inner in found if inner is not None]


class Fetched(NamedTuple):
    url: str  # where the body came from, after redirects
    data: bytes
    content_type: str  # the media type without parameters, "" when the server sent none


def fetch(url: str, *, deadline: float, max_bytes: int, policy: FetchPolicy | None = None,
          user_agent: str = USER_AGENT, ssl_context: ssl.SSLContext | None = None) -> Fetched:
    """GET `url` by the rules in this module's docstring; FetchError for every failure.

    `ssl_context`: the certificates to trust, certifi's roots when None (as httpx does).
    """
    import httpcore
    import httpx

    policy = policy or FetchPolicy()
    pinned: dict[tuple[str, int], list[Address]] = {}  # the checked addresses each origin connects to
    current = _parse(url, url)
    try:
        with httpcore.ConnectionPool(ssl_context=ssl_context, retries=0,
                                     network_backend=_backend(pinned, time.monotonic() + deadline)) as pool:
            for hops in range(MAX_REDIRECTS + 1):
                host, port = current.raw_host.decode("ascii"), current.port or _DEFAULT_PORTS[current.scheme]
                where = f"redirected to {_shown(str(current))}: " if hops else ""
                pinned[host, port] = _checked_addresses(url, where, host, port, policy)
                target = httpcore.URL(scheme=current.raw_scheme, host=current.raw_host, port=port,
                                      target=current.raw_path)
                headers = [(b"Host", current.netloc), (b"User-Agent", user_agent.encode()),
                           (b"Accept-Encoding", b"identity")]
                timeouts = {"connect": deadline, "read": deadline, "write": deadline, "pool": deadline}
                with pool.stream("GET", target, headers=headers, extensions={"timeout": timeouts}) as response:
                    location = _header(response, b"location")
                    if response.status in _REDIRECTS and location:
                        current = _parse(url, location, current)
                        continue
                    return _body(url, current, response, max_bytes)
    except httpcore.TimeoutException:
        raise FetchError(url, f"no answer within {deadline:g} s", lasting=False) from None
    except httpcore.ConnectError as exc:
        raise FetchError(url, f"cannot connect ({_reason(exc)})", lasting=False) from None
    except httpcore.RemoteProtocolError as exc:
        if "content-length" in str(exc).lower():
            raise FetchError(url, f"malformed Content-Length header ({_reason(exc)})", lasting=True) from None
        raise FetchError(url, f"the server broke the HTTP exchange off ({_reason(exc)})", lasting=False) from None
    except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
        raise FetchError(url, f"{type(exc).__name__} ({_reason(exc)})", lasting=False) from None
    except httpx.InvalidURL as exc:
        raise FetchError(url, f"not a valid URL ({_reason(exc)})", lasting=True) from None
    raise FetchError(url, f"more than {MAX_REDIRECTS} redirects", lasting=True)


def _checked_addresses(url: str, where: str, host: str, port: int, policy: FetchPolicy) -> list[Address]:
    """Every address `host` resolves to, once; FetchError for `url` when the policy refuses any of them.

    One refused address refuses the host: a name that resolves partly inside is not to be trusted.
    """
    import socket

    try:
        addresses: list[Address] = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise FetchError(url, f"{where}cannot resolve {host} ({_reason(exc)})", lasting=False) from None
        addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0])) for info in infos))
    for address in addresses:
        why = policy.refusal(host, address)
        if why:
            named = "" if str(address) == host else f"{host} resolves to "
            raise FetchError(url, f"{where}refused: {named}{why}", lasting=True)
    return addresses


def _parse(url: str, location: str, base: httpx.URL | None = None) -> httpx.URL:
    """`location` (relative to `base`) as an absolute http(s) URL with a host, or FetchError for `url`."""
    import httpx

    hop = "" if base is None else f"redirected to {_shown(location)}: "
    try:
        parsed = base.join(location) if base is not None else httpx.URL(location)
    except httpx.InvalidURL as exc:
        raise FetchError(url, f"{hop}not a valid URL ({_reason(exc)})", lasting=True) from None
    if parsed.scheme not in ("http", "https"):
        raise FetchError(url, f"{hop}not an http(s) URL", lasting=True)
    if not parsed.host:
        raise FetchError(url, f"{hop}no host in the URL", lasting=True)
    return parsed


def _body(url: str, at: httpx.URL, response: httpcore.Response, max_bytes: int) -> Fetched:
    if response.status >= 400:
        reason = response.extensions.get("reason_phrase", b"").decode("latin-1")
        # 408 and 429 are about this moment, other 4xx about the request itself; 5xx may pass.
        lasting = response.status < 500 and response.status not in (408, 429)
        raise FetchError(url, f"HTTP {response.status} {reason}".strip(), lasting=lasting)
    if response.status >= 300:
        raise FetchError(url, f"HTTP {response.status} without a Location to follow", lasting=True)
    declared = _header(response, b"content-length")  # h11 has refused malformed and conflicting values
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(url, f"{declared} bytes is more than the limit of {max_bytes}", lasting=True)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_stream():
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(url, f"more than the limit of {max_bytes} bytes", lasting=True)
        chunks.append(chunk)
    media_type = _header(response, b"content-type").split(";")[0].strip().lower()
    return Fetched(str(at), b"".join(chunks), media_type)


def _backend(pinned: dict[tuple[str, int], list[Address]], ends: float) -> httpcore.NetworkBackend:
    """httpcore's socket backend, connecting each origin only to its `pinned` addresses, never past `ends`."""
    import httpcore

    plain = httpcore.SyncBackend()

    def within(timeout: float | None) -> float:
        left = ends - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("the deadline has passed")
        return left if timeout is None else min(timeout, left)

    class DeadlineStream(httpcore.NetworkStream):
        def __init__(self, inner: httpcore.NetworkStream) -> None:
            self.inner = inner

        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            return self.inner.read(max_bytes, within(timeout))

        def write(self, buffer: bytes, timeout: float | None = None) -> None:
            self.inner.write(buffer, within(timeout))

        def close(self) -> None:
            self.inner.close()

        def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                      timeout: float | None = None) -> httpcore.NetworkStream:
            return DeadlineStream(self.inner.start_tls(ssl_context, server_hostname, within(timeout)))

        def get_extra_info(self, info: str) -> Any:
            return self.inner.get_extra_info(info)

    class PinnedBackend(httpcore.NetworkBackend):
        def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                        local_address: str | None = None, socket_options: Iterable[Any] | None = None,
                        ) -> httpcore.NetworkStream:
            failure: Exception = httpcore.ConnectError(f"{host}:{port} was not checked")
            for address in pinned.get((host, port), ()):
                try:
                    stream = plain.connect_tcp(str(address), port, within(timeout), local_address, socket_options)
                except httpcore.ConnectError as exc:
                    failure = exc
                    continue
                return DeadlineStream(stream)
            raise failure

        def sleep(self, seconds: float) -> None:
            time.sleep(seconds)

    return PinnedBackend()


def _header(response: httpcore.Response, name: bytes) -> str:
    for key, value in response.headers:
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return ""


def _shown(url: str) -> str:
    """The URL as a message may show it: without user:password@."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, path = rest.partition("/")
    return f"{scheme}://{authority.rpartition('@')[2]}{slash}{path}"


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
