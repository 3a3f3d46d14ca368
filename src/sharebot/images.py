"""Fetching the article image and making it acceptable to networks with byte caps.

Bluesky's link-card thumb is a blob of at most 1,000,000 bytes (not MiB; app.bsky.embed.external lexicon),
and WebP thumbs are not rendered by every client, so cards get a JPEG scaled down until it fits.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from sharebot.errors import NotSent, Rejected

BLUESKY_THUMB_MAX_BYTES = 1_000_000
DOWNLOAD_MAX_BYTES = 15_000_000


@dataclass(frozen=True)
class Image:
    data: bytes
    mime_type: str


def download(url: str, *, network: str, timeout: float, max_bytes: int = DOWNLOAD_MAX_BYTES) -> Image:
    """GET an image with a timeout and a size cap. A failure here means nothing was posted yet."""
    import httpx

    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
            if response.status_code >= 400:
                raise Rejected(network, f"image {url} answered HTTP {response.status_code}")
            declared = int(response.headers.get("content-length") or 0)
            if declared > max_bytes:
                raise Rejected(network, f"image {url} is {declared} bytes, more than {max_bytes}")
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise Rejected(network, f"image {url} is more than {max_bytes} bytes")
                chunks.append(chunk)
            mime = response.headers.get("content-type", "application/octet-stream").split(";")[0].strip()
    except httpx.HTTPError as exc:
        raise NotSent(network, f"cannot download image {url}: {type(exc).__name__}") from exc
    return Image(b"".join(chunks), mime)


def jpeg_under(data: bytes, max_bytes: int, *, network: str = "image") -> Image:
    """Re-encode as JPEG, lowering quality and then size until the result is at most `max_bytes`."""
    from PIL import Image as PILImage, UnidentifiedImageError

    try:
        picture = PILImage.open(io.BytesIO(data))
        picture.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise Rejected(network, f"the article image is not a readable picture ({exc})") from exc
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
