"""Shorten a text at a word boundary until a caller-supplied length check passes.

The caller's `fits` renders the whole post around the candidate and measures it by the network's rule,
so this module knows nothing about networks. What it guarantees: the result is the NFC text cut after a
whole word (never inside a grapheme, word, URL, hashtag, mention or cashtag), trailing sentence punctuation
and spaces dropped, plus the ellipsis, which never touches a URL, mention, hashtag or cashtag (a space
comes between, so no network reads "…" as part of it); or "" when not even the first word fits.

Cost: cut points are found once per window of the text and candidates are bisected, so `fits` is called
O(log n) times. A long text is analysed in growing windows from its start (4,096 characters, then 4x),
so a 5 MB teaser costs what its first few thousand characters cost.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from sharebot import counting, entities

_WINDOW = 4096  # characters analysed first
# How far past a window entities are still detected, so one that starts inside it is seen whole: a URL
# (at most 4,096 characters with its protocol) or anything shorter.
_MARGIN = entities.MAX_URL_LENGTH + 64

# Chinese/Japanese write without spaces; a cut is also allowed after their sentence punctuation.
_CJK_BREAKS = frozenset("。、，；：！？．｡､")
_NO_BREAK = frozenset("\xa0\u2007\u202f")  # "10 km", "S. 5": spaces that must not become cuts
# Dropped from the end of the kept part before the ellipsis: sentence marks, dashes, bullets and
# opening brackets/quotes left dangling. Closing quotes stay: German closes with “ (U+201C).
_STRIP = frozenset(".,;:!?…‥-‐‑‒–—―·•/\\|([{„‚«‹¿¡") | _CJK_BREAKS


def _breaks(ch: str) -> bool:
    return ch.isspace() and ch not in _NO_BREAK


def _grapheme_starts(text: str) -> list[int]:
    """Start of every grapheme cluster, and len(text). Only the stretches around characters that can join a
    neighbour are segmented (see `counting.graphemes`); elsewhere each code point starts a cluster."""
    import regex

    starts: list[int] = []
    pos = 0
    for chunk_start, chunk_end in counting.joining_chunks(text):
        starts.extend(range(pos, chunk_start))
        starts.extend(chunk_start + m.start() for m in regex.finditer(r"\X", text[chunk_start:chunk_end]))
        pos = chunk_end
    starts.extend(range(pos, len(text) + 1))
    return starts


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
        # "…" straight after a link, mention, hashtag or cashtag becomes part of it or breaks it: Bluesky
        # links any non-space run after http(s)://, and "$AAPL…" is no cashtag. A space keeps them apart.
        word = end
        while word > 0 and not text[word - 1].isspace():
            word -= 1
        if not self.ellipsis[0].isspace() and any(self.covered[word:end]):
            return text[:end] + " " + self.ellipsis
        return text[:end] + self.ellipsis


def shorten(text: str, fits: Callable[[str], bool], *, ellipsis: str = "…",
            avoid_ending: frozenset[str] = frozenset()) -> str:
    """The longest word-boundary prefix of `text` (NFC) plus `ellipsis` for which `fits` is true.

    Returns the NFC text itself if it fits, and "" if not even the first word does. `fits` is assumed
    to grow with the text; candidates are bisected, so a 5,000-character teaser costs ~13 calls. A cut
    that would end on one of `avoid_ending` (lower-case words: "und", "der") steps back up to three words
    to one that does not, if there is one.
    """
    text = unicodedata.normalize("NFC", text)
    window = _WINDOW
    while True:
        complete = window + _MARGIN >= len(text)
        cutter = _Cutter(text if complete else text[:window + _MARGIN], ellipsis)
        if complete and fits(text):
            return text
        points = cutter.cut_points()
        if not complete:
            points = [p for p in points if p < window]
            # The answer lies further on if the last cut in this window still fits.
            if points and (last := cutter.build(points[-1])) and fits(last):
                window *= 4
                continue
        index, best = _bisect(cutter, points, fits)
        if not best and any(_ideographic(c) for c in cutter.text):
            points = cutter.cut_points(between_ideographs=True)
            index, best = _bisect(cutter, points if complete else [p for p in points if p < window], fits)
        if best and avoid_ending and _last_word(text, points[index]) in avoid_ending:
            for earlier in range(index - 1, max(index - 4, -1), -1):
                if _last_word(text, points[earlier]) not in avoid_ending:
                    candidate = cutter.build(points[earlier])
                    if candidate and fits(candidate):
                        return candidate
                    break
        return best


def _last_word(text: str, cut: int) -> str:
    words = text[:cut].split()
    return words[-1].casefold().strip(".,;:!?…\"'„“”‚‘’«»()[]") if words else ""


def _bisect(cutter: _Cutter, points: list[int], fits: Callable[[str], bool]) -> tuple[int, str]:
    """(index into `points`, candidate) of the longest candidate that fits; (-1, "") if none does."""
    best, found = "", -1
    lo, hi = 0, len(points) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        candidate = cutter.build(points[mid])
        if candidate and fits(candidate):
            best, found, lo = candidate, mid, mid + 1
        else:
            hi = mid - 1
    return found, best


def _ideographic(ch: str) -> bool:
    """Han ideographs (with extension A and compatibility forms) and Japanese kana."""
    return ("\u3040" <= ch <= "\u30ff" or "\u3400" <= ch <= "\u4dbf" or "\u4e00" <= ch <= "\u9fff"
            or "\uf900" <= ch <= "\ufaff")


# --- sentences ----------------------------------------------------------------------------------------------

# A sentence mark, any closing quotes or brackets, then a breaking space (not a no-break space: "S.\u00a05",
# "z.\u00a0B." hold together), or a CJK full stop, which needs no space.
_SENTENCE_MARK = re.compile(
    "[.!?][\"'\u2019\u201c\u201d\u00bb\u00ab\u203a\u2039)\\]]*(?=[^\\S\xa0\u2007\u202f])|[。！？]")
# Words that end in a dot without ending the sentence (German and English news), compared in lower case.
_ABBREVIATIONS = frozenset("""
abs abschn allg anm art aufl bd bearb beil bsp bspw bzgl bzw ca chr co corp dipl dr dt ebd ehem eigtl einschl engl
entspr etc ev evtl exkl ff fig gegr geb gem gest ggf ggü hl hrsg inc inkl insb ing jh jhd jr jun kap kath kl lfd
lt ltd max med mind mio mrd mr mrs ms nat nr nrn no nos orig phil pkt prof rd rer sen sog sr st std str tel tsd
univ urspr usw vgl vol vs zb zit zt zzgl
jan feb mär apr jun jul aug sep sept okt oct nov dez dec
""".split())


def sentence_ends(text: str) -> list[int]:
    """Indices i (0 < i < len(text)) where `text[:i]` ends a sentence: after ".", "!" or "?" (and any closing
    quotes or brackets) followed by a breaking space and not by a lower-case word, or after "。", "！", "？".
    A dot is no sentence end after a number ("am 3. Oktober"), a single letter ("S. 5", "z. B."), a word with
    a dot inside ("z.B.", "U.S.") or a known abbreviation ("Nr. 5", "Dr. Müller", "ca. 40"). A decimal
    point or a dot before a no-break space is never one."""
    ends = []
    for m in _SENTENCE_MARK.finditer(text):
        end = m.end()
        if end >= len(text):
            continue
        mark = m.group()[0]
        if mark in "。！？":
            ends.append(end)
            continue
        after = text[end:].lstrip()
        if after[:1].islower():
            continue
        if mark == "." and _abbreviation(text, m.start()):
            continue
        ends.append(end)
    return ends


def _abbreviation(text: str, dot: int) -> bool:
    word = dot
    while word > 0 and not text[word - 1].isspace():
        word -= 1
    token = text[word:dot].lstrip("(\"'„‚«‹“‘[")
    if not token:
        return False
    return (len(token) == 1 or "." in token or token.replace(",", "").isdigit()
            or token.casefold().replace("ß", "ss") in _ABBREVIATIONS)


def longest_whole_sentences(text: str, fits: Callable[[str], bool], *, at_least: int = 0) -> str:
    """The longest run of whole sentences from the start of `text` (to one of `sentence_ends`, trailing space
    dropped) that is at least `at_least` characters long and `fits`; "" if there is none. `fits` is assumed
    to grow with the text: candidates are bisected, so it is called O(log n) times."""
    window = _WINDOW
    while True:
        complete = window + 1 >= len(text)
        ends = sentence_ends(text if complete else text[:window + 1])
        ends = [e for e in ends if len(text[:e].rstrip()) >= at_least]
        if not complete and ends and fits(text[:ends[-1]].rstrip()):
            window *= 4
            continue
        best, lo, hi = "", 0, len(ends) - 1
        while lo <= hi:
            mid = (lo + hi) // 2
            candidate = text[:ends[mid]].rstrip()
            if fits(candidate):
                best, lo = candidate, mid + 1
            else:
                hi = mid - 1
        return best
