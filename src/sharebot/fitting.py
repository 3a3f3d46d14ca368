"""Shorten a text at a word boundary until a caller-supplied length check passes.

The caller's `fits` renders the whole post around the candidate and measures it by the network's rule,
so this module knows nothing about networks. What it guarantees: the result is the NFC text cut after a
whole word (never inside a grapheme, word, URL, hashtag, mention or cashtag), trailing sentence punctuation
and spaces dropped, plus the ellipsis, which never touches a URL, mention, hashtag or cashtag (a space
comes between, so no network reads "…" as part of it); or "" when not even the first word does.

Cost: `fits` is called O(log k) times for an answer of k words, on candidates at most about twice as long
as the answer: cut points are probed from the start at doubling distances, then bisected. A long text is
analysed in growing windows from its start (1,024 characters, then 4x), each ending at a space, so a 5 MB
teaser costs what its first few hundred words cost.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from sharebot import counting, entities

_WINDOW = 1024  # characters analysed first
# How far past a window entities are still detected when no space ends the window sooner, so one that starts
# inside it is seen whole: a URL (at most 4,096 characters with its protocol) or anything shorter.
_MARGIN = entities.MAX_URL_LENGTH + 64
# A space or line break that no network's URL, hashtag, mention or cashtag contains, and that each finder
# treats as the end of one: what lies after it changes nothing found before it.
_ENTITY_END = re.compile("[ \n]")

# Chinese/Japanese write without spaces; a cut is also allowed after their sentence punctuation.
_CJK_BREAKS = frozenset("。、，；：！？．｡､")
_NO_BREAK = frozenset("\xa0\u2007\u202f")  # "10 km", "S. 5": spaces that must not become cuts
# Dropped from the end of the kept part before the ellipsis: sentence marks, dashes, bullets and
# opening brackets/quotes left dangling. Closing quotes stay: German closes with “ (U+201C).
_STRIP = frozenset(".,;:!?…‥-‐‑‒–—―·•/\\|([{„‚«‹¿¡") | _CJK_BREAKS
# Where a cut can be: a breaking space (str.isspace, no no-break space), after CJK sentence punctuation, and
# between two Han or kana characters (see `_ideographic`).
_BREAK = re.compile("[^\\S\xa0\u2007\u202f]")
_WORD_END = re.compile("(?<=\\S)[^\\S\xa0\u2007\u202f]")
_AFTER_CJK_BREAK = re.compile(f"(?<=[{''.join(sorted(_CJK_BREAKS))}])")
_IDEOGRAPHS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"


# Compiled when first needed: these wide ranges take `re` some 6 ms to compile, a cost every dry run would pay at
# import for text that has no ideographs.
@functools.cache
def _between_ideographs() -> re.Pattern[str]:
    return re.compile(f"(?<=[{_IDEOGRAPHS}])(?=[{_IDEOGRAPHS}])")


@functools.cache
def _any_ideograph() -> re.Pattern[str]:
    return re.compile(f"[{_IDEOGRAPHS}]")


@functools.cache
def _last_space() -> Any:
    import regex

    # What str.isspace calls a space (`regex`'s \s leaves out U+001C-U+001F), searched backwards: a word
    # thousands of emoji long costs one scan, not a step per character.
    spaces = "".join(re.escape(ch) for ch in map(chr, range(0x3001)) if ch.isspace())
    return regex.compile(f"(?r)[{spaces}]")


def _word_start(text: str, end: int) -> int:
    """Start of the word that ends at `end`: just after the last whitespace before it, or 0."""
    space = _last_space().search(text, 0, end)
    return space.end() if space else 0


def _strip_char(ch: str) -> bool:
    return ch in _STRIP or ch.isspace()


def _breaks(ch: str) -> bool:
    return ch.isspace() and ch not in _NO_BREAK


def _entity_spans(text: str) -> list[entities.Span]:
    """URLs, hashtags, mentions and cashtags by any network's rules: none of them may be cut."""
    spans = entities.find_entities(text, style="twitter")
    spans += entities.find_entities(text, style="bluesky")
    return spans + entities.find_mentions(text, style="mastodon")


def _marks(text: str) -> tuple[bytearray, bytearray]:
    """For each character of `text`, 1 if it belongs to an entity; for each index, 1 if a cut there splits one."""
    covered, inside = bytearray(len(text)), bytearray(len(text) + 1)
    for span in _entity_spans(text):
        covered[span.start:span.end] = b"\x01" * (span.end - span.start)
        inside[span.start + 1:span.end] = b"\x01" * (span.end - span.start - 1)
    return covered, inside


def _region_end(text: str, window: int) -> int:
    """Where the analysis of `text` for cuts before `window` can stop: just past the first space or line break
    at or after `window` (no entity runs across it), else `_MARGIN` further on; len(text) at most."""
    if window >= len(text):
        return len(text)
    space = _ENTITY_END.search(text, window, window + _MARGIN)
    return min(space.end() if space else window + _MARGIN, len(text))


class _Cutter:
    """Cut points of a text and the candidate each gives. Graphemes and entities are found on first need:
    a text without a space, such as a run of emoji, needs neither, and of the stretches where clusters need
    segmenting (`counting.joining_chunks`; elsewhere each code point is one) only those a cut touches are."""

    def __init__(self, text: str, ellipsis: str) -> None:
        self.text = text
        self.ellipsis = ellipsis
        self._chunks: list[tuple[int, int]] | None = None
        self._firsts: list[int] = []
        self._segmented: dict[int, list[int]] = {}
        self._covered: bytearray | None = None
        self._inside: bytearray | None = None
        self._local: dict[tuple[int, int], tuple[int, bytearray, bytearray]] = {}

    @property
    def chunks(self) -> list[tuple[int, int]]:
        """`counting.joining_chunks` of the text."""
        if self._chunks is None:
            self._chunks = counting.joining_chunks(self.text)
            self._firsts = [start for start, _ in self._chunks]
        return self._chunks

    def _chunk_at(self, i: int) -> int | None:
        """Index of the chunk that holds text[i], if one does."""
        chunks = self.chunks
        c = bisect.bisect_right(self._firsts, i) - 1
        return c if c >= 0 and i < chunks[c][1] else None

    def _cluster_starts(self, c: int) -> list[int]:
        """Start of each cluster of chunk c, segmented once."""
        if c not in self._segmented:
            start, end = self.chunks[c]
            self._segmented[c] = [start + m.start() for m in counting._cluster().finditer(self.text[start:end])]
        return self._segmented[c]

    def _next_start(self, i: int) -> int:
        """The first cluster boundary at or after i (i itself if it is one; len(text) is one)."""
        c = self._chunk_at(i) if i < len(self.text) else None
        if c is None or self.chunks[c][0] == i:
            return i
        starts = self._cluster_starts(c)
        k = bisect.bisect_left(starts, i)
        return starts[k] if k < len(starts) else self.chunks[c][1]

    def _before(self, i: int) -> int:
        """Start of the cluster that ends at boundary i (> 0)."""
        c = self._chunk_at(i - 1)
        if c is None:
            return i - 1
        starts = self._cluster_starts(c)
        return starts[bisect.bisect_left(starts, i) - 1]

    def _after(self, i: int) -> int:
        """End of the cluster that starts at boundary i (< len(text))."""
        c = self._chunk_at(i)
        if c is None:
            return i + 1
        starts = self._cluster_starts(c)
        k = bisect.bisect_right(starts, i)
        return starts[k] if k < len(starts) else self.chunks[c][1]

    def _entities(self) -> tuple[bytearray, bytearray]:
        """Whether each character belongs to an entity (never stripped) and whether cutting before it would
        split one, for the whole text."""
        if self._covered is None or self._inside is None:
            self._covered, self._inside = _marks(self.text)
        return self._covered, self._inside

    def _around(self, i: int, j: int) -> tuple[int, bytearray, bytearray]:
        """(offset, covered, inside) as `_entities` gives them, for the stretch around [i, j) from the space or
        line break before it (no entity runs across one, and each finder sees it as it sees it in the whole
        text) to the one after it: a cut in a long text needs the entities next to it only."""
        text = self.text
        start = max(text.rfind(" ", 0, i), text.rfind("\n", 0, i), 0)
        after = _ENTITY_END.search(text, j)
        end = after.end() if after else len(text)
        if (start, end) not in self._local:
            self._local[start, end] = (start, *_marks(text[start:end]))
        return self._local[start, end]

    def _covers(self, i: int, j: int) -> bool:
        """Some character in [i, j) belongs to an entity."""
        if self._covered is not None:
            return self._covered.find(1, i, j) >= 0
        offset, covered, _ = self._around(i, j)
        return covered.find(1, i - offset, j - offset) >= 0

    def _splits(self, i: int) -> bool:
        """Cutting before text[i] would split an entity (never at a space or line break)."""
        if self.text[i] in " \n":
            return False
        if self._inside is not None:
            return bool(self._inside[i])
        offset, _, inside = self._around(i, i + 1)
        return bool(inside[i - offset])

    def cut_points(self, *, between_ideographs: bool = False) -> list[int]:
        """Grapheme boundaries that end a word: before whitespace, or after CJK sentence punctuation; with
        `between_ideographs`, also between two Han or kana characters (where Chinese and Japanese lines may
        break, UAX #14), for text that has no other place to cut."""
        text, size = self.text, len(self.text)
        points: list[int] = []
        found = [m.start() for m in _BREAK.finditer(text, 1)]
        if found and not self.chunks:
            # every code point is a grapheme: a word ends wherever a breaking space follows a non-space
            points, found = [m.start() for m in _WORD_END.finditer(text, 1)], []
        found += [m.start() for m in _AFTER_CJK_BREAK.finditer(text, 1) if m.start() < size]
        if between_ideographs:
            found += [m.start() for m in _between_ideographs().finditer(text, 1)]
        if not found and not points:
            return []
        for i in sorted(set(found).difference(points)):
            if i >= size or self._next_start(i) != i:
                continue  # the end of the text, or not a grapheme boundary
            # The grapheme before i ends in `last`: where that settles it, its start is not looked for.
            last = text[i - 1]
            word_end = _breaks(text[i]) and not (last.isspace() and text[self._before(i):i].isspace())
            ideographs = between_ideographs and _ideographic(last) and _ideographic(text[i])
            cjk_break = last in _CJK_BREAKS and not _breaks(text[i]) and self._before(i) == i - 1
            if word_end or ideographs or cjk_break:
                points.append(i)
        points.sort()
        if sum(text[i] not in " \n" for i in points) > 64:
            self._entities()  # many cuts that could be inside an entity: find them all at once
        return [i for i in points if not self._splits(i)]

    def _strippable(self, first: int) -> bool:
        """The grapheme starting at `first` may be dropped from the end of a cut: punctuation or space, and no part
        of an entity."""
        text = self.text
        if not _strip_char(text[first]) or self._covers(first, first + 1):
            return False
        return all(map(_strip_char, text[first:self._after(first)]))

    def solid_start(self) -> int:
        """Start of the first grapheme that `build` keeps: a cut at or before it leaves nothing."""
        first, size = 0, len(self.text)
        while first < size and self._strippable(first):
            first = self._after(first)
        return first

    def build(self, cut: int) -> str:
        """The kept prefix up to `cut`, tidied, plus the ellipsis ("" if nothing is left)."""
        text, end = self.text, self._next_start(cut)
        while end > 0 and _strip_char(text[end - 1]) and self._strippable(self._before(end)):
            end = self._before(end)
        if end == 0:
            return ""
        if not self.ellipsis:
            return text[:end]
        # "…" straight after a link, mention, hashtag or cashtag becomes part of it or breaks it: Bluesky
        # links any non-space run after http(s)://, and "$AAPL…" is no cashtag. A space keeps them apart.
        word = _word_start(text, end)
        if not self.ellipsis[0].isspace() and self._covers(word, end):
            return text[:end] + " " + self.ellipsis
        return text[:end] + self.ellipsis


def shorten(text: str, fits: Callable[[str], bool], *, ellipsis: str = "…",
            avoid_ending: frozenset[str] = frozenset(), already_nfc: bool = False) -> str:
    """The longest word-boundary prefix of `text` (NFC) plus `ellipsis` for which `fits` is true.

    Returns the NFC text itself if it fits, and "" if not even the first word does. `fits` is assumed
    to grow with the text; cut points are probed at doubling distances from the start, then bisected, so
    a 5,000-character teaser cut to a 280-character post costs ~12 calls. A cut that would end on one of
    `avoid_ending` (lower-case words: "und", "der") steps back up to three words to one that does not, if
    there is one. With `already_nfc` the caller vouches that `text` is NFC and it is not normalised again (for a
    long run of combining marks that costs what the first normalisation did).
    """
    if not already_nfc:
        text = unicodedata.normalize("NFC", text)
    if len(text) <= _WINDOW and fits(text):
        return text
    found = _longest(text, fits, ellipsis, between_ideographs=False)
    if found is None:
        return text
    cutter, points, index, best = found
    if not best and _any_ideograph().search(text):
        cutter, points, index, best = _longest(text, fits, ellipsis, between_ideographs=True) or found
    if best and avoid_ending and _last_word(text, points[index]) in avoid_ending:
        for earlier in range(index - 1, max(index - 4, -1), -1):
            if _last_word(text, points[earlier]) not in avoid_ending:
                candidate = cutter.build(points[earlier])
                if candidate and fits(candidate):
                    return candidate
                break
    return best


def _longest(text: str, fits: Callable[[str], bool], ellipsis: str, *,
             between_ideographs: bool) -> tuple[_Cutter, list[int], int, str] | None:
    """(cutter, its cut points, index of the answer, candidate) for the longest cut of `text` that fits,
    analysing growing windows of it; None if `text` itself fits."""
    window, known, best = _WINDOW, -1, ""
    while True:
        end = _region_end(text, window)
        complete = end >= len(text)
        cutter = _Cutter(text if complete else text[:end], ellipsis)
        if complete and not between_ideographs and len(text) > _WINDOW and fits(text):
            return None
        points = cutter.cut_points(between_ideographs=between_ideographs)
        if not complete:
            points = [p for p in points if p < window]
        index, best, all_fit = _search(cutter, points, fits, known, best)
        if complete or not all_fit:
            return cutter, points, index, best
        # The answer lies further on (or the first word is longer than the window): a larger window.
        window, known = window * 4, index


def _last_word(text: str, cut: int) -> str:
    words = text[:cut].split()
    return words[-1].casefold().strip(".,;:!?…\"'„“”‚‘’«»()[]") if words else ""


def _bisect(cutter: _Cutter, points: list[int], fits: Callable[[str], bool]) -> tuple[int, str]:
    """(index into `points`, candidate) of the longest candidate that fits; (-1, "") if none does. Probes the
    middle first: the reference `_search` must agree with."""
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


def _search(cutter: _Cutter, points: list[int], fits: Callable[[str], bool], known: int = -1,
            best: str = "") -> tuple[int, str, bool]:
    """(index into `points`, candidate, whether no point failed) of the longest candidate that fits;
    (-1, "", …) if none does. `known` is an index already known to fit, with its candidate `best`.

    Probes at doubling distances from the start (the first cut that leaves anything), then bisects between
    the last that fitted and the first that did not: the probes are never much longer than the answer, so a
    post that keeps 300 characters of a 50,000-character teaser never measures more than ~600 of them."""
    solid = cutter.solid_start() if points else 0
    first = bisect.bisect_right(points, solid)  # cuts before it leave nothing
    lo, best = _gallop(lambda k: cutter.build(points[k]), fits, max(known, first - 1), len(points) - 1, best,
                       step=max(known + 1, 1))
    # No probe failed: the answer may lie past the last point (also when every point here leaves nothing).
    all_fit = lo == len(points) - 1
    return (lo, best, all_fit) if lo >= first else (-1, "", all_fit)


def _gallop(candidate: Callable[[int], str], fits: Callable[[str], bool], lo: int, hi: int, best: str, *,
            step: int = 1) -> tuple[int, str]:
    """The largest k in [lo, hi] whose candidate is not empty and fits, and that candidate, where `lo` is known
    to fit (with candidate `best`, or is -1) and fitting stops for good once it stops. Probes lo + step,
    then doubles the step until one does not fit, then bisects below it. A search that goes on from an
    earlier window's answer lo starts with a step of lo + 1, so it doubles as if it had never stopped."""
    bisecting = False
    while lo < hi:
        k = (lo + hi + 1) // 2 if bisecting else min(lo + step, hi)
        text = candidate(k)
        if text and fits(text):
            lo, best, step = k, text, step * 2
        else:
            hi, bisecting = k - 1, True
    return lo, best


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


def _up_to(text: str, ends: list[int], k: int) -> str:
    return text[:ends[k]].rstrip()


def _abbreviation(text: str, dot: int) -> bool:
    word = _word_start(text, dot)
    token = text[word:dot].lstrip("(\"'„‚«‹“‘[")
    if not token:
        return False
    return (len(token) == 1 or "." in token or token.replace(",", "").isdigit()
            or token.casefold().replace("ß", "ss") in _ABBREVIATIONS)


def longest_whole_sentences(text: str, fits: Callable[[str], bool], *, at_least: int = 0) -> str:
    """The longest run of whole sentences from the start of `text` (to one of `sentence_ends`, trailing space
    dropped) that is at least `at_least` characters long and `fits`; "" if there is none. `fits` is assumed
    to grow with the text: sentence ends are probed at doubling distances from the first, then bisected, so
    it is called O(log n) times on candidates about as long as the answer."""
    window, lo, best = _WINDOW, -1, ""
    while True:
        complete = window + 1 >= len(text)
        region = text if complete else text[:window + 1]
        # Whether a sentence ends also depends on the next word: in a window, only ends that have one in it.
        certain = len(text) if complete else len(region.rstrip())
        # A sentence end is never after a space, so the candidate up to it is `at_least` long if it is.
        ends = [e for e in sentence_ends(region) if at_least <= e < certain]
        lo, best = _gallop(functools.partial(_up_to, text, ends), fits, lo, len(ends) - 1, best, step=max(lo + 1, 1))
        if complete or lo < len(ends) - 1:
            return best
        window *= 4
