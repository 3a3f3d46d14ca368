"""Bluesky facets: the client's own detection cases, byte-exact, plus offset sanity checks."""

from __future__ import annotations

from typing import Any

import pytest
from conformance_data import load, params

from sharebot.facets import byte_offsets, detect_facets, facet_problems
from sharebot.models import Facet

DETECTION = ("bluesky", "facet-detection.json")


def _expected(facet: dict[str, Any]) -> tuple[int, int, str, str]:
    kind = {"cashtag": "tag"}.get(facet["type"], facet["type"])
    value = facet.get("uri") or facet.get("handle") or facet["tag"]
    return facet["byteStart"], facet["byteEnd"], kind, value


def _cases(data: dict[str, Any]):
    for case in data["cases"]:
        yield case["id"], (case["group"], case["text"], case["facets"])


@pytest.mark.parametrize("case", params(DETECTION, _cases))
def test_facet_detection_json(case: tuple[str, str, list[dict[str, Any]]]) -> None:
    group, text, expected = case
    found = detect_facets(text)
    if group == "cashtags":  # upstream compares only the "$" tags in this group
        found = [f for f in found if f.kind == "tag" and f.value.startswith("$")]
    assert [(f.byte_start, f.byte_end, f.kind, f.value) for f in found] == [_expected(e) for e in expected]
    raw = text.encode("utf-8")
    assert [raw[f.byte_start:f.byte_end].decode() for f in found] == [e["text"] for e in expected]


def test_facet_detection_groups() -> None:
    data = load(*DETECTION)
    groups = [c["group"] for c in data["cases"]]
    assert (groups.count("mentions_and_links"), groups.count("hashtags"), groups.count("cashtags")) == (40, 39, 18)


def test_offsets_are_utf8_bytes_after_emoji_and_accents() -> None:
    text = "Café 👨\u200d👩\u200d👧 news: read more #Élections"
    assert detect_facets(text) == [Facet(41, 52, "tag", "Élections")]
    text = "Grüße 🇩🇪 example.de/x und @alice.bsky.social"
    raw = text.encode()
    slices = [(raw[f.byte_start:f.byte_end].decode(), f.kind, f.value) for f in detect_facets(text)]
    assert slices == [("example.de/x", "link", "https://example.de/x"),
                      ("@alice.bsky.social", "mention", "alice.bsky.social")]


def test_decomposed_text_shifts_offsets_so_detect_on_what_you_send() -> None:
    composed, decomposed = "Köln #Tag", "Ko\u0308ln #Tag"
    assert detect_facets(composed)[0].byte_start == 6
    assert detect_facets(decomposed)[0].byte_start == 7


def test_cashtags_can_be_switched_off() -> None:
    assert detect_facets("$AAPL steigt", cashtags=False) == []
    assert detect_facets("$AAPL steigt") == [Facet(0, 5, "tag", "$AAPL")]


def test_a_tag_over_64_utf16_code_units_is_not_a_facet() -> None:
    # The client's own check is `tag.length > 64` (JavaScript string length: UTF-16 code units), not the
    # lexicon's 64 graphemes: 33 butterflies (66 units) make no tag in the app, so none is sent either.
    assert detect_facets("#" + "ä" * 65) == []
    assert detect_facets("#" + "ä" * 64) == [Facet(0, 1 + 64 * 2, "tag", "ä" * 64)]
    assert detect_facets("#" + "🦋" * 33) == []
    assert detect_facets("#" + "🦋" * 32) == [Facet(0, 1 + 32 * 4, "tag", "🦋" * 32)]
    assert detect_facets("#Z" + "\u0301" * 64) == []  # one grapheme, 65 code units


def test_byte_offsets() -> None:
    assert byte_offsets("aé😀") == [0, 1, 3, 7]


def test_facet_problems_finds_stale_and_broken_facets() -> None:
    text = "Köln #Tag https://example.org"
    good = detect_facets(text)
    assert facet_problems(text, good) == []
    assert facet_problems(text[:-5], good) == [f"link facet 11-30: outside the text ({len(text[:-5].encode())} bytes)"]
    assert facet_problems(text, [Facet(1, 3, "tag", "ö")]) == []  # bytes 1-3 are exactly "ö"
    assert facet_problems(text, [Facet(2, 4, "tag", "x")]) == ["tag facet 2-4: starts or ends inside a character"]
    overlap = [Facet(0, 4, "link", "https://a.de"), Facet(2, 6, "tag", "x")]
    assert facet_problems("abcdefgh", overlap) == ["tag facet 2-6: overlaps the facet before it"]


@pytest.mark.parametrize("text", [
    "Mehr unter (https://) bald",  # the client would link "https://": a PDS refuses that post
    "https://",
    "http://.",
    "siehe https://, dann",
    "https:///pfad",
    "https://-",
    "https://?q=1",
])
def test_no_link_facet_without_a_host(text: str) -> None:
    assert [f for f in detect_facets(text) if f.kind == "link"] == []


def test_a_link_with_a_host_is_kept() -> None:
    assert detect_facets("(https://a)") == [Facet(1, 10, "link", "https://a")]
    assert detect_facets("https://example.com:8080/x") == [Facet(0, 26, "link", "https://example.com:8080/x")]


@pytest.mark.parametrize("text, uri", [
    ("Mehr unter https://example.com/wahl… und", "https://example.com/wahl"),
    ("(https://example.com/wahl)…", "https://example.com/wahl"),
    ("example.com/wahl…", "https://example.com/wahl"),
])
def test_a_link_facet_never_takes_an_ellipsis(text: str, uri: str) -> None:
    links = [f for f in detect_facets(text) if f.kind == "link"]
    assert [f.value for f in links] == [uri]
    raw = text.encode()
    assert "…" not in raw[links[0].byte_start:links[0].byte_end].decode()


@pytest.mark.parametrize("text", ["#\ufe0f\u20e3", "#\u20e3", "#\ufe0e\u20e3", "Nummer #\u20e3 eins", "#\u20e3abc",
                                  "\uff03\u20e3"])
def test_keycaps_are_emoji_not_tags(text: str) -> None:
    assert [f for f in detect_facets(text) if f.kind == "tag"] == []
    from sharebot import entities
    assert entities.find_hashtags(text) == []
    assert entities.find_hashtags(text, style="bluesky") == []
