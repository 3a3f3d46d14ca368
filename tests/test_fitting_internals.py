"""The shortcuts counting and fitting take for speed give what the plain computation gives.

Each helper here is compared with a slow reference written the obvious way: segmenting the whole text with
`\\X`, scanning every character, bisecting over every cut point of the whole text.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sharebot import counting, entities, fitting
from sharebot.models import Network
from sharebot.networks import NETWORKS

JOINERS = st.sampled_from(["a", "ä", "\r", "\n", "\r\n", "e\u0301", "\u0301", "\u200d", "👨\u200d👩\u200d👧", "🇩🇪", "🇦",
                           "\u0915\u094d\u0937", "\u0915\u094d", "\u1100\u1161\u11a8", "가", "👍🏽", "🏽", "x\u0903",
                           "\u0600a", "\u0600", "日", " ", "\ufe0f", "#\ufe0f\u20e3", "\U000e0067", "\u0e33", ".", "xy",
                           "abcdefgh", "Wort und Wort"])
JOINING = regex.compile(r"[^\p{GCB=Other}\p{GCB=Control}\p{GCB=LF}]+")


def reference_chunks(text: str) -> list[tuple[int, int]]:
    """Each run of joining characters with one neighbour on each side, merged where at most JOIN_ACROSS
    characters that cannot join lie between two runs."""
    chunks: list[tuple[int, int]] = []
    for run in JOINING.finditer(text):
        start, end = max(run.start() - 1, 0), min(run.end() + 1, len(text))
        if chunks and start - chunks[-1][1] <= counting.JOIN_ACROSS - 2:
            chunks[-1] = (chunks[-1][0], end)
        else:
            chunks.append((start, end))
    return chunks


@settings(max_examples=400, deadline=None)
@given(st.lists(JOINERS, max_size=40))
def test_joining_chunks_are_the_runs_merged_where_they_meet(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert counting.joining_chunks(text) == reference_chunks(text)
    assert counting.graphemes(text) == len(regex.findall(r"\X", text))


def test_a_title_of_families_is_one_chunk() -> None:
    family = "👨\u200d👩\u200d👧\u200d👦"
    assert counting.joining_chunks(family * 2000 + ".de") == [(0, 7 * 2000)]
    assert counting.graphemes(family * 2000 + ".de") == 2003


def reference_last_tld_dot(text: str, pos: int, end: int) -> int:
    """The last dot in [pos, end) that some TLD (or "xn--") follows: every prefix of what follows tried."""
    tlds = entities.twitter_tld_set()
    for dot in range(end - 1, pos - 1, -1):
        if text[dot] == ".":
            after = text[dot + 1:end].lower()
            if after.startswith("xn--") or any(after[:n] in tlds for n in range(1, len(after) + 1)):
                return dot
    return -1


LABELS = st.sampled_from(["x", "de", "DE", "com", "community", "co", "xn--p1ai", "XN--P1AI", "рф", "みんな", "भारत",
                          "a-b", "x_y", "1", "onion", "", "/", " ", ".", "-", "(", "é"])


@settings(max_examples=400, deadline=None)
@given(st.lists(LABELS, max_size=12), st.data())
def test_last_tld_dot_looks_only_at_the_label_after_each_dot(labels: list[str], data: st.DataObject) -> None:
    text = ".".join(labels)
    pos = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(pos, len(text)))
    assert entities._last_tld_dot(text, pos, end) == reference_last_tld_dot(text, pos, end)


# --- fitting: windows and galloping give what the whole text, bisected, gives ---------------------------------

WORDS = st.sampled_from([
    "Wort", "und", "Bundestagswahl", "e\u0301t\u00e9", "日本語", "新闻报道，", "中文。", "👨\u200d👩\u200d👧\u200d👦", "🇩🇪",
    "https://example.com/a_(b)?x=1", "example.org", "https://example.com/wahl,", "#Wahl2025", "@alice", "$AAPL",
    "@alice@mastodon.social", "x." * 30 + "de", "https://" + "p" * 300, "—", "…", ",", "(", "\u0600", "Satz.", "Ja!",
    "S.\u00a05", "שלום", "\u0915\u094d\u0937", "\x1c", "a\u3000b", "über.example.de/wahl", "日本.jp",
])
GAPS = st.sampled_from([" ", " ", "\n", "  ", "", ", ", ". ", "\t"])


@st.composite
def long_text(draw: st.DrawFn) -> str:
    """NFC text of up to a few thousand characters: windows of 1,024 are crossed."""
    words = draw(st.lists(st.tuples(WORDS, GAPS), min_size=1, max_size=30))
    chunk = unicodedata.normalize("NFC", "".join(w + g for w, g in words))
    return chunk * draw(st.integers(1, max(1, 2000 // len(chunk))))


def whole_points(text: str) -> list[int]:
    return fitting._Cutter(text, "…").cut_points()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=long_text(), data=st.data())
def test_a_window_has_the_cut_points_and_candidates_of_the_whole_text(text: str, data: st.DataObject) -> None:
    window = data.draw(st.integers(1, len(text)), label="window")
    end = fitting._region_end(text, window)
    assert window <= end <= len(text)
    part = fitting._Cutter(text[:end], "…")
    whole = fitting._Cutter(text, "…")
    below = [p for p in whole_points(text) if p < window]
    assert [p for p in part.cut_points() if p < window] == below
    for p in below[:5] + below[-5:]:
        assert part.build(p) == whole.build(p)


def reference_longest(cutter: fitting._Cutter, points: list[int], fits: Callable[[str], bool]) -> tuple[int, str]:
    """Every cut point tried: the last whose candidate is not empty and fits."""
    found, best = -1, ""
    for k, point in enumerate(points):
        candidate = cutter.build(point)
        if candidate and fits(candidate):
            found, best = k, candidate
    return found, best


MEASURES: dict[str, Callable[[str], int]] = {
    "len": len, "graphemes": counting.graphemes, "utf16": counting.utf16_length, "utf8": counting.utf8_length,
}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=long_text(), measure=st.sampled_from(sorted(MEASURES)), data=st.data())
def test_galloping_finds_the_longest_cut_that_fits(text: str, measure: str, data: st.DataObject) -> None:
    size = MEASURES[measure]
    limit = data.draw(st.integers(0, size(text) + 2), label="limit")

    def fits(t: str) -> bool:
        return size(t) <= limit

    whole = fitting._Cutter(text, "…")
    points = whole.cut_points()
    index, best, _ = fitting._search(whole, points, fits)
    assert (index, best) == reference_longest(whole, points, fits)
    if fitting._bisect(whole, points, fits)[0] >= 0:  # the plain bisection agrees where it finds a cut
        assert fitting._bisect(whole, points, fits) == (index, best)
    expected = text if fits(text) else best
    if not expected and regex.search(r"[\p{Han}\p{Hiragana}\p{Katakana}]", text):
        ideographs = whole.cut_points(between_ideographs=True)
        expected = reference_longest(whole, ideographs, fits)[1]
    assert fitting.shorten(text, fits) == expected


def test_galloping_skips_cuts_that_leave_nothing() -> None:
    # "— …" leaves nothing at the first cut; the plain bisection, landing there, gave up on the text
    text = "— " * 3 + "eins zwei drei vier fünf sechs sieben"
    cutter = fitting._Cutter(text, "…")
    points = cutter.cut_points()
    assert cutter.build(points[0]) == "" and cutter.solid_start() == 6
    assert fitting._search(cutter, points, lambda t: len(t) <= 11)[:2] == (3, "— — — eins…")
    assert fitting.shorten(text, lambda t: len(t) <= 11) == "— — — eins…"


def reference_sentences(text: str, fits: Callable[[str], bool], at_least: int) -> str:
    best = ""
    for end in fitting.sentence_ends(text):
        if end >= at_least and fits(text[:end].rstrip()):
            best = text[:end].rstrip()
    return best


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=long_text(), data=st.data())
def test_whole_sentences_in_windows_are_those_of_the_whole_text(text: str, data: st.DataObject) -> None:
    limit = data.draw(st.integers(0, len(text) + 2), label="limit")
    at_least = data.draw(st.integers(0, limit), label="at_least")
    calls: list[str] = []

    def fits(t: str) -> bool:
        calls.append(t)
        return len(t) <= limit

    result = fitting.longest_whole_sentences(text, fits, at_least=at_least)
    assert result == reference_sentences(text, lambda t: len(t) <= limit, at_least)
    assert len(calls) <= 3 * len(fitting.sentence_ends(text)).bit_length() + 2  # O(log n), not one per end


def reference_domain_length(domain: str) -> int | None:
    sizes = [len(label) if label.isascii() else 4 + len(label.encode("punycode")) for label in domain.split(".")]
    return None if any(not 1 <= size <= 63 for size in sizes) else sum(sizes) + len(sizes) - 1


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("aZ-9äß日👨\u200d"), max_size=70), min_size=1, max_size=4))
def test_domain_length_skips_encoding_only_labels_already_too_long(labels: list[str]) -> None:
    domain = ".".join(labels)
    assert entities._encoded_domain_length(domain) == reference_domain_length(domain)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=long_text(), ideographs=st.booleans())
def test_entities_found_next_to_a_cut_are_those_of_the_whole_text(text: str, ideographs: bool) -> None:
    local = fitting._Cutter(text, "…")  # finds entities only around the cuts it is asked about
    whole = fitting._Cutter(text, "…")
    covered, inside = whole._entities()
    points = local.cut_points(between_ideographs=ideographs)
    assert points == whole.cut_points(between_ideographs=ideographs)
    assert all(not inside[p] for p in points)
    for p in points[:20] + points[-20:]:
        assert local.build(p) == whole.build(p)
    for i in range(0, len(text), 7):
        assert local._splits(i) == bool(inside[i]) and local._covers(i, i + 1) == bool(covered[i])


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab \n\t\x1c\x1f\x85\xa0\u2007\u3000👨\u200d."), max_size=40), st.data())
def test_word_start_is_after_the_last_character_isspace_calls_a_space(text: str, data: st.DataObject) -> None:
    end = data.draw(st.integers(0, len(text)))
    word = end
    while word > 0 and not text[word - 1].isspace():
        word -= 1
    assert fitting._word_start(text, end) == word


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=long_text(), network=st.sampled_from(sorted(NETWORKS, key=lambda n: n.value)))
def test_every_network_counts_each_space_and_line_break(text: str, network: Network) -> None:
    # Rules.fits refuses a text with more spaces and line breaks than the limit without measuring it.
    rules = NETWORKS[network].rules.for_options({})
    text = text.replace("\t", "\n")[:3000]
    assert rules.length(text) >= text.count(" ") + text.count("\n")
    rules.limit = text.count(" ") + text.count("\n") - 1
    assert rules.limit < 0 or not rules.fits(text)


EMOJI_HEAVY = st.lists(st.sampled_from([
    "👨\u200d👩\u200d👧\u200d👦", "👩🏽\u200d❤️\u200d💋\u200d👨🏿", "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
    "🇩🇪", "🇦🇦", "#️⃣", "👍🏽", ".", ".de", "x.onion", "https://example.com/a", "日本", "a", " ", "e\u0301", "\u1100\u1161\u11a8",
]), max_size=200).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(long_text(), EMOJI_HEAVY))
def test_x_lower_bound_never_exceeds_the_count(text: str) -> None:
    assert counting.x_weight_at_least(text) <= counting.x_weighted_length(text)


def test_x_lower_bound_refuses_a_title_of_emoji_with_one_dot_uncounted() -> None:
    family = "👨\u200d👩\u200d👧\u200d👦"
    assert counting.x_weight_at_least(family * 2000 + ".de") > 280
    assert counting.x_weight_at_least("x." * 5000) == 0  # every dot may end a URL: no bound


def test_measured_lengths_are_the_lengths_and_only_the_last_eight_are_kept() -> None:
    rules = NETWORKS[Network.MASTODON].rules.for_options({})
    texts = [f"Text {i} https://example.com/{'x' * i} @alice@example.social" for i in range(12)]
    for text in texts + texts[-3:]:
        assert rules.measured(text) == rules.length(text)
    assert list(rules._lengths) == texts[-8:]


def reference_cut_points(text: str, between_ideographs: bool) -> list[int]:
    """Every grapheme boundary tried in turn, as the rule reads."""
    starts = [m.start() for m in regex.finditer(r"\X", text)] + [len(text)]
    spans = fitting._entity_spans(text)
    points = []
    for k in range(1, len(starts) - 1):
        i, prev = starts[k], text[starts[k - 1]:starts[k]]
        breaks = text[i].isspace() and text[i] not in "\xa0\u2007\u202f"
        word_end = breaks and not prev.isspace()
        ideographs = between_ideographs and fitting._ideographic(prev[-1]) and fitting._ideographic(text[i])
        cjk = prev in "。、，；：！？．｡､" and len(prev) == 1 and not breaks
        if (word_end or ideographs or cjk) and not any(s.start < i < s.end for s in spans):
            points.append(i)
    return points


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(long_text(), st.lists(st.sampled_from(["Wort", "und", " ", "\n", "  ", ".", "日本", "。", "x.de",
                                                                  "\u3000", "\x1c", "(a)", "#Tag"]),
                                             max_size=80).map("".join)),
       ideographs=st.booleans())
def test_cut_points_are_those_of_the_rule_tried_at_every_grapheme(text: str, ideographs: bool) -> None:
    text = text[:1500]
    assert fitting._Cutter(text, "…").cut_points(between_ideographs=ideographs) == reference_cut_points(
        text, ideographs)


class ReferenceCuts:
    """`_Cutter.build` and `solid_start` over the grapheme starts of the whole text, each tried in turn."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [m.start() for m in regex.finditer(r"\X", text)] + [len(text)]
        self.spans = fitting._entity_spans(text)

    def covered(self, i: int) -> bool:
        return any(s.start <= i < s.end for s in self.spans)

    def strippable(self, k: int) -> bool:
        first, end = self.starts[k], self.starts[k + 1]
        return not self.covered(first) and all(c in fitting._STRIP or c.isspace() for c in self.text[first:end])

    def solid_start(self) -> int:
        k = 0
        while k < len(self.starts) - 1 and self.strippable(k):
            k += 1
        return self.starts[k]

    def build(self, cut: int) -> str:
        text, k = self.text, next(k for k, s in enumerate(self.starts) if s >= cut)
        while k > 0 and self.strippable(k - 1):
            k -= 1
        end = self.starts[k]
        if end == 0:
            return ""
        word = fitting._word_start(text, end)
        return text[:end] + (" …" if any(self.covered(i) for i in range(word, end)) else "…")


STRETCHES = st.lists(st.sampled_from([
    "👨\u200d👩\u200d👧\u200d👦", "🇩🇪", "e\u0301", "\u0301", ".", "…", "—", "(", ",", " ", "\n", "Wort", "x", "#Tag",
    "\u0915\u094d\u0937", "\u1100\u1161", "https://example.com/a", "\u200d", "\ufe0f", "。", "日本",
]), min_size=1, max_size=120).map("".join)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(STRETCHES, long_text()), data=st.data())
def test_cuts_segment_lazily_and_build_what_every_grapheme_tried_builds(text: str, data: st.DataObject) -> None:
    text = text[:1500]
    reference, cutter = ReferenceCuts(text), fitting._Cutter(text, "…")
    points = cutter.cut_points(between_ideographs=True)
    cut = data.draw(st.sampled_from(points + [len(text)]), label="cut")
    assert cutter.build(cut) == reference.build(cut)
    assert fitting._Cutter(text, "…").build(cut) == reference.build(cut)  # nothing segmented before
    assert fitting._Cutter(text, "…").solid_start() == reference.solid_start()


def test_a_cut_after_a_run_of_emoji_leaves_the_run_unsegmented() -> None:
    family = "👨\u200d👩\u200d👧\u200d👦"
    text = (family * 20 + ".") * 50 + " Die Wahl ist vorbei, und das Ergebnis steht fest."
    cutter = fitting._Cutter(text, "…")
    points = cutter.cut_points()
    assert points[0] == 50 * 141 and cutter.build(points[1]) == text[:points[1]] + "…"
    assert cutter.build(points[0]) == text[:points[0] - 1] + "…" and cutter._segmented == {}
