"""Bluesky rich-text facets for a post text, as the Bluesky client would detect them.

The PDS links nothing by itself: links, #tags and @mentions are only clickable if the record carries a
facet for them, with UTF-8 byte offsets (end exclusive) into the exact text sent
(https://docs.bsky.app/docs/advanced-guides/post-richtext). Detection follows the official client's
rules (packages/api/src/rich-text/detection.ts in bluesky-social/atproto); see `entities` for the
patterns. Mentions carry the handle; the adapter resolves it to a DID before posting.

Offsets are computed on the text as given: normalise (NFC) before detecting, and send that same string.
"""

from __future__ import annotations

from collections.abc import Iterable

from sharebot import counting, entities
from sharebot.models import Facet

_KIND = {"url": "link", "hashtag": "tag", "cashtag": "tag", "mention": "mention"}


def byte_offsets(text: str) -> list[int]:
    """UTF-8 offset of every code point index 0..len(text) (the last entry is the byte length)."""
    offsets = [0] * (len(text) + 1)
    total = 0
    for i, ch in enumerate(text):
        cp = ord(ch)
        total += 1 if cp < 0x80 else 2 if cp < 0x800 else 3 if cp < 0x10000 else 4
        offsets[i + 1] = total
    return offsets


def detect_facets(text: str, *, cashtags: bool = True) -> list[Facet]:
    """Link, tag and mention facets in text order. Bare domains get "https://"; a tag's value has no
    "#"; a cashtag is a tag whose value is "$" + the ticker in upper case, as the client stores it.
    Facets must not overlap, so one that overlaps an earlier one is dropped."""
    spans = entities.find_mentions(text, style="bluesky")
    spans += entities.find_urls(text, style="bluesky")
    spans += entities.find_hashtags(text, style="bluesky")
    if cashtags:
        spans += entities.find_cashtags(text, style="bluesky")
    offsets = byte_offsets(text)
    return [Facet(offsets[s.start], offsets[s.end], _KIND[s.kind], s.value)
            for s in entities._drop_overlapping(spans)]


def facet_problems(text: str, facets: Iterable[Facet]) -> list[str]:
    """Why these facets would not fit this text (empty if they do): a range off the text or off a
    character boundary, overlapping ranges, or a tag over the lexicon's 64 graphemes / 640 bytes.
    Catches facets that went stale when the text was edited after detection."""
    raw = text.encode("utf-8")
    problems, last_end = [], 0
    for f in sorted(facets, key=lambda f: f.byte_start):
        where = f"{f.kind} facet {f.byte_start}-{f.byte_end}"
        if not 0 <= f.byte_start < f.byte_end <= len(raw):
            problems.append(f"{where}: outside the text ({len(raw)} bytes)")
            continue
        try:
            raw[f.byte_start:f.byte_end].decode("utf-8")
        except UnicodeDecodeError:
            problems.append(f"{where}: starts or ends inside a character")
        if f.byte_start < last_end:
            problems.append(f"{where}: overlaps the facet before it")
        if f.kind == "tag" and (counting.graphemes(f.value) > 64 or len(f.value.encode()) > 640):
            problems.append(f"{where}: tag longer than 64 graphemes or 640 bytes")
        last_end = max(last_end, f.byte_end)
    return problems
