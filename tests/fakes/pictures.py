"""An image host for article pictures, where a picture's name says what it is.

`/[any/prefix/]KIND-WIDTHxHEIGHT.FORMAT` is drawn on first request: KIND `rgb` (one colour), `rgba` (one
half-transparent colour) or `noise` (random pixels: they do not compress, so a big file); FORMAT png, jpg,
webp or bmp. `/broken.jpg` is served as a JPEG but is not one. Any other path is a 404, as a vanished
picture is.
"""

from __future__ import annotations

import io
import random
import re
from functools import cache

from fakes.base import FakeAPI, Request, Response

NAME = re.compile(r"(?P<kind>rgb|rgba|noise)-(?P<width>\d+)x(?P<height>\d+)\.(?P<format>png|jpg|webp|bmp)")
PIL_FORMATS = {"png": "PNG", "jpg": "JPEG", "webp": "WEBP", "bmp": "BMP"}
CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp", "bmp": "image/bmp"}
NOT_AN_IMAGE = b"not an image"


@cache
def picture(name: str) -> bytes:
    """The bytes served for a picture name (see the module docstring)."""
    from PIL import Image

    match = NAME.fullmatch(name)
    if match is None:
        raise ValueError(f"not a picture name: {name}")
    kind, fmt = match["kind"], match["format"]
    size = (int(match["width"]), int(match["height"]))
    if kind == "noise":
        image = Image.frombytes("RGB", size, random.Random(7).randbytes(size[0] * size[1] * 3))
    elif kind == "rgba":
        image = Image.new("RGBA", size, (200, 30, 60, 128))
    else:
        image = Image.new("RGB", size, (20, 90, 160))
    out = io.BytesIO()
    image.save(out, format=PIL_FORMATS[fmt])
    return out.getvalue()


class PictureHost(FakeAPI):
    def __init__(self) -> None:
        super().__init__()
        self.route("GET", r"/(?:.+/)?broken\.jpg", self._broken)
        self.route("GET", r"/(?:.+/)?(?P<name>[^/]+)", self._picture)

    def _broken(self, req: Request, match: re.Match[str]) -> Response:
        return Response(200, NOT_AN_IMAGE, {"Content-Type": "image/jpeg"})

    def _picture(self, req: Request, match: re.Match[str]) -> Response:
        found = NAME.fullmatch(match["name"])
        if found is None:
            return Response(404, b"Not Found", {"Content-Type": "text/plain"})
        return Response(200, picture(match["name"]), {"Content-Type": CONTENT_TYPES[found["format"]]})
