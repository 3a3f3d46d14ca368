"""Shorten a text at a word boundary until a caller-supplied length check passes.

The caller's `fits` renders the whole post around the candidate and measures it by the network's rule,
so this module knows nothing about networks. What it guarantees: the result is the NFC text cut after a
whole word (never inside a grapheme, word, URL, hashtag or mention), trailing sentence punctuation and
spaces dropped, plus the ellipsis; or "" when not even the first word fits.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from sharebot import entities

# Chinese/Japanese write without spaces; a cut is also allowed after their sentence punctuation.
_CJK_BREAKS = frozenset("。、，；：！？．｡､")
_NO_BREAK = frozenset("\xa0\u2007\u202f")  # "10 km", "S. 5": spaces that must not become cuts
# Dropped from the end of the kept part before the ellipsis: sentence marks, dashes, bullets and
# opening brackets/quotes left dangling. Closing quotes stay: German closes with “ (U+201C).
_STRIP = frozenset(".,;:!?…‥-‐‑‒–—―·•/\\|([{„‚«‹¿¡") | _CJK_BREAKS


def _breaks(ch: str) -> bool:
    return ch.isspace() and ch not in _NO_BREAK


def _grapheme_starts(text: str) -> list[int]:
    import regex

    return [m.start() for m in regex.finditer(r"\X", text)] + [len(text)]


def _entity_spans(text: str) -> list[entities.Span]:
    """URLs, hashtags, mentions and cashtags by any network's rules: none of them may be cut."""
    spans = entities.find_entities(text, style="twitter")
    spans += entities.find_entities(text, style="bluesky")
    return spans + entities.find_mentions(text, style="mastodon")


class _Cutter:
    def __init__(self, text: str, ellipsis: str) -> None:
        self.text = text
        self.ellipsis = ellipsis
        self.starts = _grapheme_starts(text)
        self.index = {start: k for k, start in enumerate(self.starts)}
        spans = _entity_spans(text)
        self.covered = [False] * len(text)  # character belongs to an entity: never stripped
        self.inside = [False] * (len(text) + 1)  # cutting here would split an entity
        for span in spans:
            for i in range(span.start, span.end):
                self.covered[i] = True
                self.inside[i] = i > span.start or self.inside[i]
        self.url_ends = {s.end for s in spans if s.kind == "url"}

    def cut_points(self, *, between_ideographs: bool = False) -> list[int]:
        """Grapheme boundaries that end a word: before whitespace, or after CJK sentence punctuation; with
        `between_ideographs`, also between two Han or kana characters (where Chinese and Japanese lines may
        break, UAX #14), for text that has no other place to cut."""
        text, points = self.text, []
        for k in range(1, len(self.starts) - 1):
            i = self.starts[k]
            prev = text[self.starts[k - 1]:i]
            word_end = _breaks(text[i]) and not prev.isspace()
            ideographs = between_ideographs and _ideographic(prev[-1]) and _ideographic(text[i])
            if (word_end or ideographs or (prev in _CJK_BREAKS and not _breaks(text[i]))) and not self.inside[i]:
                points.append(i)
        return points

    def build(self, cut: int) -> str:
        """The kept prefix up to `cut`, tidied, plus the ellipsis ("" if nothing is left)."""
        text, k = self.text, self.index[cut]
        while k > 0:
            first = self.starts[k - 1]
            if self.covered[first] or not all(c in _STRIP or c.isspace() for c in text[first:self.starts[k]]):
                break
            k -= 1
        end = self.starts[k]
        if end == 0:
            return ""
        if not self.ellipsis:
            return text[:end]
        # A link running straight into "…" would swallow it on Bluesky (any non-space run after
        # http(s):// is the link there), so keep the whitespace that followed it.
        if end in self.url_ends and end < len(text) and text[end].isspace():
            return text[:end + 1] + self.ellipsis
        return text[:end] + self.ellipsis


def shorten(text: str, fits: Callable[[str], bool], *, ellipsis: str = "…") -> str:
    """The longest word-boundary prefix of `text` (NFC) plus `ellipsis` for which `fits` is true.

    Returns the NFC text itself if it fits, and "" if not even the first word does. `fits` is assumed
    to grow with the text; candidates are bisected, so a 5,000-character teaser costs ~13 calls.
    """
    text = unicodedata.normalize("NFC", text)
    if fits(text):
        return text
    cutter = _Cutter(text, ellipsis)
    best = _bisect(cutter, cutter.cut_points(), fits)
    if not best and any(_ideographic(c) for c in text):
        best = _bisect(cutter, cutter.cut_points(between_ideographs=True), fits)
    return best


def _bisect(cutter: _Cutter, points: list[int], fits: Callable[[str], bool]) -> str:
    best = ""
    lo, hi = 0, len(points) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        candidate = cutter.build(points[mid])
        if candidate and fits(candidate):
            best, lo = candidate, mid + 1
        else:
            hi = mid - 1
    return best


def _ideographic(ch: str) -> bool:
    """Han ideographs (with extension A and compatibility forms) and Japanese kana."""
    return ("\u3040" <= ch <= "\u30ff" or "\u3400" <= ch <= "\u4dbf" or "\u4e00" <= ch <= "\u9fff"
            or "\uf900" <= ch <= "\ufaff")
