"""twitter-text's TLD list, which X and Mastodon use: every case of its tlds.yml, and the shipped list itself."""

from __future__ import annotations

from typing import Any

import pytest
from conformance_data import load, params, slug

from sharebot import entities
from sharebot.counting import mastodon_length, x_weighted_length

TLDS = ("twitter-text", "conformance", "tlds.yml")
TLD_LIB = ("twitter-text", "conformance", "tld_lib.yml")


def _cases(data: dict[str, Any]):
    for group in ("country", "generic"):
        for case in data["tests"][group]:
            yield f"{group}-{slug(case['description'])}", (case["text"], case["expected"])


@pytest.mark.parametrize("case", params(TLDS, _cases))
def test_tlds_yml(case: tuple[str, list[str]]) -> None:
    text, expected = case
    assert [s.text for s in entities.find_urls(text)] == expected
    # the same URL rule counts for X (23) and, protocol given, for Mastodon (23)
    assert x_weighted_length(text) == 23
    assert mastodon_length(text) == 23


def test_tlds_yml_has_every_group() -> None:
    data = load(*TLDS)
    assert (len(data["tests"]["country"]), len(data["tests"]["generic"])) == (315, 1259)


def test_shipped_list_is_twitter_texts() -> None:
    data = load(*TLD_LIB)
    assert entities.twitter_tld_set() == frozenset(data["country"] + data["generic"])


@pytest.mark.parametrize("text, url", [
    ("Tor: https://nachrichten.onion/artikel", "https://nachrichten.onion/artikel"),  # not IANA, but twitter-text
    ("Liste als example.zip laden", "example.zip"),
])
def test_twitter_text_tlds_that_iana_lists_differently(text: str, url: str) -> None:
    assert [s.text for s in entities.find_urls(text)] == [url]
    assert [s.text for s in entities.find_urls(text, require_protocol=True, style="mastodon")] == (
        [url] if url.startswith("https://") else [])


def test_x_and_mastodon_agree_on_an_onion_link() -> None:
    text = "Quelle (https://nachrichten.onion/a/b) hier"
    assert x_weighted_length(text) == len("Quelle () hier") + 23
    assert mastodon_length(text) == len("Quelle () hier") + 23
