"""The shortcuts counting and fitting take for speed give what the plain computation gives.

Each helper here is compared with a slow reference written the obvious way: segmenting the whole text with
`\\X`, scanning every character, bisecting over every cut point of the whole text.
"""

from __future__ import annotations

import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from sharebot import counting, entities

JOINERS = st.sampled_from(["a", "ä", "\r", "\n", "\r\n", "e\u0301", "\u0301", "\u200d", "👨\u200d👩\u200d👧", "🇩🇪", "🇦",
                           "\u0915\u094d\u0937", "\u0915\u094d", "\u1100\u1161\u11a8", "가", "👍🏽", "🏽", "x\u0903",
                           "\u0600a", "\u0600", "日", " ", "\ufe0f", "#\ufe0f\u20e3", "\U000e0067", "\u0e33", ".", "xy"])
JOINING = regex.compile(r"[^\p{GCB=Other}\p{GCB=Control}\p{GCB=LF}]+")


def reference_chunks(text: str) -> list[tuple[int, int]]:
    """Each run of joining characters with one neighbour on each side, merged where two overlap or touch."""
    chunks: list[tuple[int, int]] = []
    for run in JOINING.finditer(text):
        start, end = max(run.start() - 1, 0), min(run.end() + 1, len(text))
        if chunks and start <= chunks[-1][1]:
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
