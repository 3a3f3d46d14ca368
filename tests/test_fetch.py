"""The safe fetcher against a real HTTP(S) server on 127.0.0.1: address policy, redirects, deadline, byte cap,
and the image checks that run before anything is decoded."""

from __future__ import annotations

import datetime as dt
import io
import ipaddress
import ssl
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from sharebot.errors import ArticleError, NotSent, Rejected
from sharebot.fetch import FetchError, FetchPolicy, fetch, non_public
from sharebot.images import download, jpeg_under
from sharebot.sources.fetch import http_fetcher

LOCAL = FetchPolicy(allow_private=("127.0.0.1",))


def png_header(width: int, height: int) -> bytes:
    """A small, valid-looking PNG declaring `width` x `height` grayscale pixels; a few rows of data follow."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\0" * (width + 1) * 8)  # zeros compress to almost nothing
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


class Site(BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []

    def log_message(self, *args: object) -> None:
        pass

    def answer(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        headers.setdefault("Content_Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        Site.seen.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
        if self.path == "/ok":
            self.answer(200, b"hello", Content_Type="text/plain; charset=utf-8")
        elif self.path == "/hop":
            self.answer(302, Location="/ok")
        elif self.path == "/to-metadata":
            self.answer(302, Location="http://169.254.169.254/latest/meta-data/")
        elif self.path == "/to-file":
            self.answer(301, Location="file:///etc/passwd")
        elif self.path == "/loop":
            self.answer(307, Location="/loop")
        elif self.path == "/big":
            self.answer(200, b"x" * 2000)
        elif self.path == "/big-unannounced":
            self.send_response(200)  # HTTP/1.0, no Content-Length: the body ends when the connection does
            self.end_headers()
            self.wfile.write(b"x" * 2000)
        elif self.path == "/bad-length":
            self.answer(200, b"hello", Content_Length="five")
        elif self.path == "/drip":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            try:
                for _ in range(100):  # a byte every 0.1 s: no single read ever waits long
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass
        elif self.path == "/huge.png":
            self.answer(200, png_header(20_000, 20_000), Content_Type="image/png")
        elif self.path == "/gone.png":
            self.answer(404, b"not here")
        else:
            self.answer(500, b"unexpected")


def serve(context: ssl.SSLContext | None = None) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    server.daemon_threads = True
    if context:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"{'https' if context else 'http'}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    yield from serve()


def refusal(url: str, policy: FetchPolicy | None = LOCAL, **kw: float) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch(url, deadline=kw.get("deadline", 5.0), max_bytes=int(kw.get("max_bytes", 10_000)), policy=policy)
    message = str(caught.value)
    assert message.startswith(f"cannot read {url}: ") and "\n" not in message
    return caught.value


# --- which addresses ----------------------------------------------------------------------------------
def test_a_local_server_is_refused_by_default_and_reached_when_the_policy_allows_it(site: str) -> None:
    error = refusal(f"{site}/ok", policy=None)
    assert "127.0.0.1 is a loopback address" in str(error) and error.lasting
    got = fetch(f"{site}/ok", deadline=5, max_bytes=100, policy=LOCAL)
    assert (got.data, got.content_type, got.url) == (b"hello", "text/plain", f"{site}/ok")
    assert fetch(f"{site}/ok", deadline=5, max_bytes=100, policy=FetchPolicy(("127.0.0.0/8",))).data == b"hello"


def test_a_host_name_is_resolved_checked_and_allowed_by_name(site: str) -> None:
    by_name = site.replace("127.0.0.1", "localhost")
    assert "localhost resolves to" in str(refusal(f"{by_name}/ok", policy=FetchPolicy()))
    assert fetch(f"{by_name}/ok", deadline=5, max_bytes=100, policy=FetchPolicy(("localhost",))).data == b"hello"
    assert Site.seen[-1]["host"] == by_name.split("://")[1]  # the name, not the address connected to


@pytest.mark.parametrize("address, kind", [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.1.2.3", "private"), ("172.16.0.1", "private"),
    ("192.168.1.1", "private"), ("fd12:3456::1", "private"), ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"), ("100.64.0.1", "CGNAT"), ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"), ("240.0.0.1", "reserved"),
    ("::ffff:169.254.169.254", "link-local"), ("::ffff:10.0.0.1", "private"), ("64:ff9b::7f00:1", "loopback"),
    ("2002:a00:1::", "private"),
])
def test_non_public_addresses(address: str, kind: str) -> None:
    found = non_public(ipaddress.ip_address(address))
    assert found is not None and kind in found


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700:4700::1111", "::ffff:93.184.215.14"])
def test_public_addresses(address: str) -> None:
    assert non_public(ipaddress.ip_address(address)) is None


def test_only_http_and_https() -> None:
    for url in ("file:///etc/passwd", "ftp://example.org/feed.xml", "data:text/plain,hello", "gopher://x/"):
        assert str(refusal(url)).endswith("not an http(s) URL")


def test_metadata_address_written_as_ipv4_mapped_ipv6_is_refused() -> None:
    error = refusal("http://[::ffff:169.254.169.254]/latest/meta-data/")
    assert "link-local address inside an IPv6 address" in str(error)


# --- redirects ----------------------------------------------------------------------------------------
def test_redirects_are_followed_and_every_hop_is_checked(site: str) -> None:
    assert fetch(f"{site}/hop", deadline=5, max_bytes=100, policy=LOCAL).url == f"{site}/ok"
    error = refusal(f"{site}/to-metadata")
    assert "redirected to http://169.254.169.254/latest/meta-data/: refused: 169.254.169.254 is a link-local" \
        in str(error)
    assert "redirected to file:///etc/passwd: not an http(s) URL" in str(refusal(f"{site}/to-file"))
    assert str(refusal(f"{site}/loop")).endswith("more than 5 redirects")


# --- deadline, size, malformed answers -----------------------------------------------------------------
def test_the_deadline_covers_the_whole_fetch_not_each_read(site: str) -> None:
    error = refusal(f"{site}/drip", deadline=0.5)
    assert str(error).endswith("no answer within 0.5 s") and not error.lasting


def test_byte_cap_with_and_without_content_length(site: str) -> None:
    assert "2000 bytes is more than the limit of 1000" in str(refusal(f"{site}/big", max_bytes=1000))
    assert "more than the limit of 1000 bytes" in str(refusal(f"{site}/big-unannounced", max_bytes=1000))


def test_malformed_content_length_is_a_plain_error_everywhere(site: str) -> None:
    error = refusal(f"{site}/bad-length")
    assert "malformed Content-Length" in str(error) and error.lasting
    with pytest.raises(Rejected, match="malformed Content-Length"):  # the image path: no ValueError
        download(f"{site}/bad-length", network="bluesky", timeout=5, policy=LOCAL)
    with pytest.raises(ArticleError, match="malformed Content-Length"):  # the page and feed path
        http_fetcher(policy=LOCAL)(f"{site}/bad-length")


def test_adapters_see_lasting_failures_as_rejected_and_the_rest_as_not_sent(site: str) -> None:
    with pytest.raises(Rejected, match="HTTP 404"):
        download(f"{site}/gone.png", network="x", timeout=5, policy=LOCAL)
    with pytest.raises(Rejected, match="loopback"):
        download(f"{site}/ok", network="x", timeout=5)
    with pytest.raises(NotSent, match="no answer within"):
        download(f"{site}/drip", network="x", timeout=0.3, policy=LOCAL)


# --- TLS: connect to the checked address, verify and send SNI for the name ----------------------------
@pytest.fixture(scope="module")
def tls_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, ssl.SSLContext]]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(start).not_valid_after(start + dt.timedelta(days=36500))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    folder: Path = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                       serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    names: list[str | None] = []
    server_side.sni_callback = lambda sock, server_name, ctx: names.append(server_name)  # type: ignore[assignment]
    client_side = ssl.create_default_context(cafile=str(folder / "cert.pem"))
    for url in serve(server_side):
        yield url.replace("127.0.0.1", "localhost"), client_side
        assert names and set(names) == {"localhost"}


def test_https_keeps_the_name_for_sni_host_and_certificate(tls_site: tuple[str, ssl.SSLContext]) -> None:
    url, trust = tls_site
    got = fetch(f"{url}/ok", deadline=5, max_bytes=100, policy=FetchPolicy(("localhost",)), ssl_context=trust)
    assert got.data == b"hello"
    assert Site.seen[-1]["host"] == url.split("://")[1]


# --- pictures: refused before decoding ----------------------------------------------------------------
def test_a_png_declaring_20000_x_20000_pixels_is_refused_before_decoding(site: str) -> None:
    image = download(f"{site}/huge.png", network="bluesky", timeout=5, policy=LOCAL)
    assert len(image.data) < 10_000 and image.mime_type == "image/png"
    with pytest.raises(Rejected, match="more than 40 megapixels; it is not decoded"):
        jpeg_under(image.data, 1_000_000, network="bluesky")


def test_our_pixel_cap_holds_below_pillows_own(site: str) -> None:
    with pytest.raises(Rejected, match="8000 x 8000 pixels, more than 40 megapixels"):
        jpeg_under(png_header(8000, 8000), 1_000_000)


def test_svg_and_other_formats_get_a_plain_message() -> None:
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
    with pytest.raises(Rejected) as caught:
        jpeg_under(svg, 1_000_000, network="x")
    assert str(caught.value) == ("x: the article image is not in a format sharebot can convert "
                                 "(JPEG, PNG, GIF, WebP and the like): it looks like SVG or HTML")
    with pytest.raises(Rejected, match="not in a format sharebot can convert") as caught:
        jpeg_under(b"\x00\x01 not a picture", 1_000_000)
    assert "<" not in str(caught.value) and "0x" not in str(caught.value)


def test_an_ordinary_picture_still_converts() -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (64, 40), (200, 30, 30, 255)).save(buffer, format="PNG")
    jpeg = jpeg_under(buffer.getvalue(), 1_000_000)
    assert jpeg.mime_type == "image/jpeg" and Image.open(io.BytesIO(jpeg.data)).size == (64, 40)
