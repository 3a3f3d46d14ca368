"""Mastodon's server-side count (StatusLengthValidator), checked against transcribed spec cases."""

from __future__ import annotations

from typing import Any

import pytest
from conformance_data import load, params

from sharebot.counting import linkedin_escape, mastodon_countable_text, mastodon_length
from sharebot.entities import find_mentions

STATUS = ("mastodon", "status-length.json")

# The web composer's counter (client) differs from the server, which decides; these are skipped.
CLIENT_DIFFERS = {
    "schemaless-url": "the client shortens bare domains; the server counts example.com as typed",
    "non-bmp-url": "the server's twitter-text URL stops before 🐪; the client takes the whole run",
    "schemaless-non-bmp-url": "bare domain, and a path the server's URL rule stops before",
    "mention-implausible-host": "the server's MENTION_RE accepts @arnt@invalid and counts it as @arnt",
}
MENTION_DIFFERS = {
    "implausible-host": "the server's MENTION_RE has no host plausibility check",
}


def _server(data: dict[str, Any]):
    for case in data["server_cases"]:
        yield case["id"], (case["text"], case["spoiler_text"], case["counted_length"], case["valid"])


@pytest.mark.parametrize("case", params(STATUS, _server))
def test_server_cases(case: tuple[str, str, int, bool]) -> None:
    text, spoiler, counted, valid = case
    length = mastodon_length(text, spoiler_text=spoiler)
    assert length == counted
    assert (length <= 500) is valid


def _client(data: dict[str, Any]):
    for case in data["client_countable_text_cases"]:
        yield case["id"], (case["id"], case["text"], case["expected_countable_text"], case["counted_length"])


@pytest.mark.parametrize("case", params(STATUS, _client))
def test_client_countable_text_cases(case: tuple[str, str, str, int]) -> None:
    case_id, text, expected, counted = case
    if case_id in CLIENT_DIFFERS:
        pytest.skip(CLIENT_DIFFERS[case_id])
    assert mastodon_countable_text(text) == expected
    assert mastodon_length(text) == counted


def _mentions(data: dict[str, Any]):
    for case in data["client_mention_extraction_cases"]:
        yield case["id"], (case["id"], case["text"], case["expected"])


@pytest.mark.parametrize("case", params(STATUS, _mentions))
def test_remote_mention_extraction(case: tuple[str, str, list[dict[str, Any]]]) -> None:
    case_id, text, expected = case
    if case_id in MENTION_DIFFERS:
        pytest.skip(MENTION_DIFFERS[case_id])
    remote = [s for s in find_mentions(text, style="mastodon") if "@" in s.value]
    assert [[s.start, s.end] for s in remote] == [e["indices"] for e in expected]
    assert [s.value for s in remote] == [f"{e['username']}@{e['host']}" for e in expected]


def test_case_counts() -> None:
    data = load(*STATUS)
    assert [len(data[k]) for k in ("server_cases", "client_countable_text_cases",
                                   "client_mention_extraction_cases")] == [10, 14, 9]


# Tested with Mastodon.py's get_status_length, which mirrors the server (platforms.md §3.2).
@pytest.mark.parametrize("text, spoiler, expected", [
    pytest.param("https://example.com/" + "x" * 100, "", 23, id="long-url"),
    pytest.param("example.com", "", 11, id="bare-domain-as-typed"),
    pytest.param("hi @alice@mastodon.social", "", 9, id="remote-mention-username-only"),
    pytest.param("👨\u200d👩\u200d👧", "", 1, id="zwj-family"),
    pytest.param("e\u0301", "", 1, id="combining-mark"),
    pytest.param("abc", "CW", 5, id="content-warning-counts"),
    pytest.param("", "see https://example.com/" + "x" * 30, 54, id="url-in-cw-counts-in-full"),
    pytest.param("ftp://example.com/x", "", 19, id="only-http-urls-shortened"),
    pytest.param("@alice", "", 6, id="local-mention-as-typed"),
])
def test_documented_counts(text: str, spoiler: str, expected: int) -> None:
    assert mastodon_length(text, spoiler_text=spoiler) == expected


def test_instance_url_length_is_a_parameter() -> None:
    assert mastodon_length("see https://example.com/long/path", url_length=30) == 4 + 30


def test_overlapping_url_and_mention_first_wins() -> None:
    text = "https://example.com/@alice@example.org"
    assert mastodon_countable_text(text) == "x" * 23


# LinkedIn's "little text" escaping lives with the counters; it is covered here.
def test_linkedin_escapes_every_reserved_character_backslash_first() -> None:
    assert linkedin_escape("\\|{}@[]()<>#*_~") == "".join("\\" + c for c in "\\|{}@[]()<>#*_~")
    assert linkedin_escape("Bund (neu): 5 % mehr") == "Bund \\(neu\\): 5 % mehr"


def test_linkedin_keeps_hashtags_when_asked() -> None:
    assert linkedin_escape("#Wahl_2025 (live)", keep_hashtags=True) == "#Wahl_2025 \\(live\\)"
    assert linkedin_escape("#Wahl_2025") == "\\#Wahl\\_2025"
