"""Bluesky's units (graphemes and UTF-8 bytes), plus the other code-unit counters: Threads, UTF-16."""

from __future__ import annotations

from typing import Any

import pytest
import regex
from conformance_data import load, params
from hypothesis import given, settings
from hypothesis import strategies as st

from sharebot.counting import bluesky_graphemes, graphemes, threads_length, utf8_length, utf16_length

GRAPHEMES = ("bluesky", "grapheme-length.json")


def _cases(data: dict[str, Any]):
    for case in data["cases"]:
        yield case["id"], (case["text"], case["grapheme_length"], case["utf8_length"])


@pytest.mark.parametrize("case", params(GRAPHEMES, _cases))
def test_grapheme_length_json(case: tuple[str, int, int]) -> None:
    text, graphemes, size = case
    assert (bluesky_graphemes(text), utf8_length(text)) == (graphemes, size)


def test_grapheme_length_json_is_complete() -> None:
    assert len(load(*GRAPHEMES)["cases"]) == 15


@pytest.mark.parametrize("text, graphemes, size", [
    pytest.param("Café 👨\u200d👩\u200d👧 news: read more #Élections", 33, 52, id="platforms-2.3-example"),
    pytest.param("🇩🇪🇫🇷", 2, 16, id="two-flags"),
    pytest.param("🏳️\u200d🌈", 1, 14, id="rainbow-flag-zwj"),
    pytest.param("u\u0308ber", 4, 6, id="decomposed-umlaut-one-grapheme-more-bytes"),
    pytest.param("über", 4, 5, id="composed-umlaut"),
    pytest.param("שלום", 4, 8, id="hebrew"),
    pytest.param("\r\n", 1, 2, id="crlf-is-one-grapheme"),
    pytest.param("", 0, 0, id="empty"),
])
def test_graphemes_and_bytes(text: str, graphemes: int, size: int) -> None:
    assert (bluesky_graphemes(text), utf8_length(text)) == (graphemes, size)


def test_limits_are_graphemes_and_bytes_independently() -> None:
    assert bluesky_graphemes("日" * 300) == 300 and utf8_length("日" * 300) == 900
    family = "👨\u200d👩\u200d👧\u200d👦"  # 1 grapheme, 25 bytes: 120 of them break 3000 bytes first
    assert bluesky_graphemes(family * 120) == 120 and utf8_length(family * 120) == 3000
    assert utf8_length(family * 121) > 3000


# Other networks' code-unit counters.
@pytest.mark.parametrize("text, expected", [
    pytest.param("abc", 3, id="ascii"),
    pytest.param("😀", 2, id="astral-emoji-is-a-surrogate-pair"),
    pytest.param("👨\u200d👩\u200d👧", 8, id="zwj-family"),
    pytest.param("日本", 2, id="cjk-bmp"),
    pytest.param("e\u0301", 2, id="combining-mark-not-normalised"),
])
def test_utf16_length(text: str, expected: int) -> None:
    assert utf16_length(text) == expected


@pytest.mark.parametrize("text, expected", [
    pytest.param("Hallo Welt", 10, id="plain"),
    pytest.param("😀", 4, id="emoji-is-its-utf8-bytes"),
    pytest.param("❤️", 6, id="emoji-with-variation-selector"),
    pytest.param("👨\u200d👩\u200d👧", 18, id="zwj-family-all-bytes"),
    pytest.param("🇩🇪", 8, id="flag"),
    pytest.param("Grüße 😀!", 6 + 4 + 1, id="mixed"),
    pytest.param("日本語", 3, id="cjk-is-not-emoji"),
    pytest.param("\U0001d400", 2, id="astral-letter-counts-utf16"),
    pytest.param("©", 1, id="text-style-copyright"),
])
def test_threads_length(text: str, expected: int) -> None:
    assert threads_length(text) == expected


def test_threads_limit_with_emoji() -> None:
    assert threads_length("a" * 496 + "😀") == 500
    assert threads_length("a" * 497 + "😀") == 501


JOINERS = st.sampled_from(["a", "ä", "\r", "\n", "\r\n", "e\u0301", "\u0301", "\u200d", "👨\u200d👩\u200d👧", "🇩🇪", "🇦",
                           "\u0915\u094d\u0937", "\u0915\u094d", "\u1100\u1161\u11a8", "가", "👍🏽", "🏽", "x\u0903",
                           "\u0600a", "日", " ", "\ufe0f", "#\ufe0f\u20e3", "\U000e0067", "\u0e33"])


@settings(max_examples=300, deadline=None)
@given(st.lists(JOINERS, max_size=30))
def test_graphemes_segments_only_where_characters_join(pieces: list[str]) -> None:
    # Counting skips segmentation between two characters that cannot join; the result is \X's.
    text = "".join(pieces)
    assert graphemes(text) == len(regex.findall(r"\X", text))


def test_below_u0300_only_cr_lf_joins() -> None:
    # The shortcut for Latin text: every code point below U+0300 is a cluster of its own, but CR LF.
    below = [chr(c) for c in range(0x300) if c != 0x0D]
    for first in below:
        pair_counts = regex.findall(r"\X", "".join(first + second for second in below))
        assert len(pair_counts) == 2 * len(below), repr(first)
    assert graphemes("a\r\nb\u00e4\r") == len(regex.findall(r"\X", "a\r\nb\u00e4\r")) == 5


def test_graphemes_of_long_simple_and_zalgo_text() -> None:
    assert graphemes("Grüße aus Köln. " * 10_000) == 160_000
    assert graphemes("Z" + "\u0301\u0302\u0303" * 2000 + "a") == 2
