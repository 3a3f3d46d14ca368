"""Fetching the article image and making it acceptable to networks with byte caps.

Bluesky's link-card thumb is a blob of at most 1,000,000 bytes (not MiB; app.bsky.embed.external lexicon),
and WebP thumbs are not rendered by every client, so cards get a JPEG scaled down until it fits.
A picture is decoded only after its header showed a size worth decoding: a small PNG can declare
20,000 x 20,000 pixels and would need gigabytes once decoded.
"""

from __future__ import annotations

import io
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sharebot.errors import NotSent, Rejected
from sharebot.fetch import FetchError, FetchPolicy, fetch
from sharebot.scrub import one_line

if TYPE_CHECKING:
    from PIL import Image as PILImage

    from sharebot.adapters.base import AdapterContext

BLUESKY_THUMB_MAX_BYTES = 1_000_000
DOWNLOAD_MAX_BYTES = 15_000_000
MAX_PIXELS = 40_000_000  # a 40-megapixel RGB picture decodes to 120 MB


@dataclass(frozen=True)
class Image:
    data: bytes
    mime_type: str


def download(url: str, *, network: str, timeout: float, policy: FetchPolicy | None = None,
             max_bytes: int = DOWNLOAD_MAX_BYTES) -> Image:
    """GET an article image through the safe fetcher (`sharebot.fetch`), within `timeout` seconds in all.

    Nothing was posted when this fails. A failure that will not go away (refused address, HTTP 404, too
    big) is Rejected, so a link card can go out without its thumbnail; any other is NotSent, to try later.
    """
    try:
        fetched = fetch(url, deadline=timeout, max_bytes=max_bytes, policy=policy)
    except FetchError as exc:
        raise (Rejected if exc.lasting else NotSent)(network, f"image: {exc}") from None
    return Image(fetched.data, fetched.content_type or "application/octet-stream")


def article_image(url: str, max_bytes: int, *, network: str, context: AdapterContext,
                  keep: Collection[str] = ()) -> Image:
    """The article image ready to upload: as served when its type is in `keep` and it fits `max_bytes`,
    else re-encoded as a JPEG that fits. Fetched within the context's timeout and fetch policy."""
    try:
        image = download(url, network=network, timeout=context.timeout, policy=context.fetch_policy)
        return ready(image, max_bytes, network=network, keep=keep)
    except (NotSent, Rejected):
        raise
    except FetchError as exc:
        raise (Rejected if exc.lasting else NotSent)(network, f"image: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - a codec or memory error: still nothing was posted
        # Every adapter prepares its picture here before any request of the post goes out: whatever fails
        # here must read as "not sent", never as an outcome in doubt.
        raise Rejected(network, f"the article image cannot be prepared ({one_line(exc)})") from None


def ready(image: Image, max_bytes: int, *, network: str, keep: Collection[str] = ()) -> Image:
    """A downloaded image made ready to upload: as served when its type is in `keep`, it fits `max_bytes` and
    its header declares at most MAX_PIXELS, else re-encoded as a JPEG that fits; Rejected when it cannot be."""
    if image.mime_type in keep and len(image.data) <= max_bytes:
        _header(image.data, network)
        return image
    return jpeg_under(image.data, max_bytes, network=network)


def _header(data: bytes, network: str) -> PILImage.Image:
    """The picture opened from its header, nothing decoded yet; Rejected unless the header can be read and
    declares at most MAX_PIXELS."""
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    try:
        picture = PILImage.open(io.BytesIO(data))  # reads the header only
    except PILImage.DecompressionBombError:  # Pillow's own limit, far above ours
        raise Rejected(network, _too_many_pixels()) from None
    except (UnidentifiedImageError, OSError):
        raise Rejected(network, _unreadable(data)) from None
    width, height = picture.size
    if width * height > MAX_PIXELS:
        raise Rejected(network, _too_many_pixels(width, height))
    return picture


def _too_many_pixels(width: int = 0, height: int = 0) -> str:
    size = f" is {width} x {height} pixels," if width else " has"
    return f"the article image{size} more than {MAX_PIXELS // 1_000_000} megapixels; it is not decoded"


def jpeg_under(data: bytes, max_bytes: int, *, network: str = "image") -> Image:
    """Re-encode as JPEG, lowering quality and then size until the result is at most `max_bytes`."""
    from PIL import Image as PILImage

    picture = _header(data, network)
    try:
        picture.load()
    except (PILImage.DecompressionBombError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise Rejected(network, f"the article image cannot be decoded ({one_line(exc)})") from None
    if picture.mode not in ("RGB", "L"):
        background = PILImage.new("RGB", picture.size, (255, 255, 255))
        rgba = picture.convert("RGBA")
        background.paste(rgba, mask=rgba.split()[-1])
        picture = background
    longest = 2000
    if max(picture.size) > longest:
        picture.thumbnail((longest, longest))
    while True:
        for quality in (85, 75, 65):
            out = io.BytesIO()
            picture.save(out, format="JPEG", quality=quality, optimize=True)
            if out.tell() <= max_bytes:
                return Image(out.getvalue(), "image/jpeg")
        if max(picture.size) <= 64:
            raise Rejected(network, f"the article image cannot be made smaller than {max_bytes} bytes")
        picture = picture.resize((max(1, picture.width * 3 // 4), max(1, picture.height * 3 // 4)))


def _unreadable(data: bytes) -> str:
    message = "the article image is not in a format sharebot can convert (JPEG, PNG, GIF, WebP and the like)"
    if data.lstrip()[:1] == b"<":
        return message + ": it looks like SVG or HTML"
    return message
