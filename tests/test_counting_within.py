"""Deciding whether a post fits stops counting graphemes past the limit; the decision is the full count's.

`Rules.length_within` (Mastodon, Bluesky) and `counting.graphemes_within` are compared with the exact
count on the platforms' conformance texts and on generated text, at limits around the exact length.
"""

from __future__ import annotations

from typing import Any

import pytest
import regex
from conformance_data import params
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fitting_internals import EMOJI_HEAVY, JOINERS, long_text

from sharebot import counting
from sharebot.models import Network
from sharebot.networks import NETWORKS, Rules

FAMILY = "👨\u200d👩\u200d👧\u200d👦"
CAPPED = (Network.MASTODON, Network.BLUESKY)


def rules_for(network: Network, limit: int) -> Rules:
    rules = NETWORKS[network].rules.for_options({})
    rules.limit = limit
    return rules


def assert_decides_as_the_count(network: Network, text: str, limit: int) -> None:
    exact = rules_for(network, limit).length(text)
    within = rules_for(network, limit).length_within(text, limit)  # a fresh instance: nothing remembered
    assert (within <= limit) == (exact <= limit), (text, limit, exact, within)
    assert within == exact if exact <= limit else within > limit


def reference_fits(rules: Rules, text: str) -> bool:
    """`Rules.fits` as it reads with the full count."""
    per_unit = rules.max_code_points_per_unit
    if per_unit is not None and len(text) > rules.limit * per_unit:
        return False
    if text.count(" ") + text.count("\n") > rules.limit:
        return False
    fits = 0 < rules.length(text) <= rules.limit
    return fits and counting.utf8_length(text) <= 3000 if rules.unit == "graphemes" else fits


def _bluesky(data: dict[str, Any]):
    for case in data["cases"]:
        yield case["id"], case["text"]


def _mastodon(data: dict[str, Any]):
    for case in data["server_cases"]:
        yield case["id"], case["text"]
    for case in data["client_countable_text_cases"]:
        yield "client-" + case["id"], case["text"]


CONFORMANCE = (params(("bluesky", "grapheme-length.json"), _bluesky)
               + params(("mastodon", "status-length.json"), _mastodon))


@pytest.mark.parametrize("text", CONFORMANCE)
@pytest.mark.parametrize("network", CAPPED, ids=str)
def test_capped_count_decides_as_the_count_on_conformance_texts(network: Network, text: str) -> None:
    exact = rules_for(network, 500).length(text)
    for limit in sorted({0, 1, exact // 2, exact - 2, exact - 1, exact, exact + 1, 500}):
        if limit >= 0:
            assert_decides_as_the_count(network, text, limit)
            rules = rules_for(network, limit)
            assert rules.fits(text) == reference_fits(rules, text)


TEXTS = st.one_of(long_text(), EMOJI_HEAVY, st.lists(JOINERS, max_size=300).map("".join),
                  st.lists(st.sampled_from([FAMILY * 20 + ".", "Z" + "\u0301\u0302\u0303" * 40, " ", "\n", "🇩🇪",
                                            "https://example.com/x", "@alice@example.social", "\r\n", "a"]),
                           max_size=60).map("".join))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXTS, network=st.sampled_from(CAPPED), data=st.data())
def test_capped_count_decides_as_the_count(text: str, network: Network, data: st.DataObject) -> None:
    exact = rules_for(network, 500).length(text)
    limit = data.draw(st.one_of(st.integers(0, exact + 3), st.sampled_from([exact - 1, exact, exact + 1]))
                      .filter(lambda n: n >= 0), label="limit")
    assert_decides_as_the_count(network, text, limit)
    rules = rules_for(network, limit)
    assert rules.fits(text) == reference_fits(rules, text)
    graphemes = counting.graphemes_within(text, limit)
    assert graphemes == counting.graphemes(text) if counting.graphemes(text) <= limit else graphemes == limit + 1


def test_capped_count_stops_at_the_first_cluster_past_the_limit() -> None:
    text = (FAMILY * 20 + ".") * 500 + " Die Wahl"
    assert counting.graphemes_within(text, 500) == 501
    assert len(regex.findall(r"\X", text)) == 500 * 21 + 9
    assert counting.graphemes_within(text, 10_509) == 10_509 and counting.graphemes_within(text, 10_508) == 10_509
    assert counting.graphemes_within("x" * 600, 500) == 501  # ASCII: one code point, one cluster
    assert counting.graphemes_within("Z\u0301\u0302", 1) == 1


def test_a_count_cut_short_is_not_remembered_and_a_whole_one_is() -> None:
    rules = rules_for(Network.MASTODON, 500)
    over, within = FAMILY * 600, FAMILY * 400 + " https://example.com/" + "x" * 100
    assert not rules.fits(over) and over not in rules._lengths
    assert rules.measured(over) == 600  # the full count where the length is asked for
    assert rules.fits(within) and rules._lengths[within] == 400 + 1 + 23
