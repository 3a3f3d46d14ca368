"""X's weighted length, checked against twitter-text's own conformance suite and measured facts."""

from __future__ import annotations

from typing import Any

import pytest
from conformance_data import load, params, slug

from sharebot.counting import X_V2, X_V3, XConfig, parse_x, x_weighted_length

# Which config each group runs with, as the reference suites do (conformance/twitter-text/README.md).
GROUPS = {
    "WeightedTweetsCounterTest": ("v2", X_V2),
    "WeightedTweetsWithDiscountedEmojiCounterTest": ("v3-emoji", X_V3),
    "UnicodeDirectionalMarkerCounterTest": ("v3-directional", X_V3),
}
VALIDATE = ("twitter-text", "conformance", "validate.yml")


def _cases(data: dict[str, Any]):
    for group, (prefix, config) in GROUPS.items():
        for case in data["tests"][group]:
            yield f"{prefix}-{slug(case['description'])}", (config, case["text"], case["expected"])


@pytest.mark.parametrize("case", params(VALIDATE, _cases))
def test_validate_yml_weighted_counter(case: tuple[XConfig, str, dict[str, Any]]) -> None:
    config, text, expected = case
    assert parse_x(text, config).to_dict() == expected


def test_validate_yml_groups_are_all_present() -> None:
    data = load(*VALIDATE)
    assert {g: len(data["tests"][g]) for g in GROUPS} == {
        "WeightedTweetsCounterTest": 20,
        "WeightedTweetsWithDiscountedEmojiCounterTest": 22,
        "UnicodeDirectionalMarkerCounterTest": 2,
    }


@pytest.mark.parametrize("name, config", [("v2.json", X_V2), ("v3.json", X_V3)])
def test_config_constants_match_twitter_text_configs(name: str, config: XConfig) -> None:
    data = load("twitter-text", "config", name)
    assert config.version == data["version"]
    assert config.max_weighted_length == data["maxWeightedTweetLength"]
    assert config.scale == data["scale"]
    assert config.default_weight == data["defaultWeight"]
    assert config.transformed_url_length == data["transformedURLLength"]
    assert config.emoji_parsing == data.get("emojiParsingEnabled", False)
    assert [(r["start"], r["end"], r["weight"]) for r in data["ranges"]] == list(config.ranges)


# Measured with twitter-text's own parser (platforms.md §1.4), plus what follows from its rules.
MEASURED = [
    ("ascii-10", "abcdefghij", 10),
    ("long-url", "https://www.example.com/" + "a" * 200 + "?x=1", 23),
    ("bare-domain", "see example.com now", 31),
    ("bare-domain-with-path", "example.com/a/b", 23),
    ("emoji", "😀", 2),
    ("zwj-family", "👨\u200d👩\u200d👧\u200d👦", 2),
    ("flag", "🇫🇷", 2),
    ("skin-tone", "👍🏽", 2),
    ("cjk", "日", 2),
    ("left-double-quote", "\u201c", 1),
    ("em-dash", "\u2014", 1),
    ("ellipsis-costs-two", "\u2026", 2),
    ("bullet-costs-two", "\u2022", 2),
    ("euro-costs-two", "\u20ac", 2),
    ("nbsp", "\xa0", 1),
    ("astral-letter", "\U0001d400", 2),
    ("copyright-text-style", "\u00a9", 1),
    ("copyright-emoji-style", "\u00a9\ufe0f", 2),
    ("keycap", "1\ufe0f\u20e3", 2),
    ("subdivision-flag", "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", 2),
    ("decomposed-accent-nfc", "e\u0301", 1),
    ("german-umlauts", "Grüße aus Köln", 14),
    ("email-like-not-a-url", "name@example.com", 16),
    ("url-and-text", "Neu: https://example.org/artikel?id=1 #Wahl", 5 + 23 + 6),
]


@pytest.mark.parametrize("text, expected", [pytest.param(t, n, id=i) for i, t, n in MEASURED])
def test_measured_weights(text: str, expected: int) -> None:
    assert x_weighted_length(text) == expected


# Measured with twitter-text 3.1.0 from npm (parseTweet, default v3 config; its emoji extractor is
# twemoji-parser 11.0.2). It weighs 2 only the emoji sequences it knows; anything else weighs per code point.
TWITTER_TEXT_3_1_0 = [
    ("unassigned-flag-pair", "🇦🇦", 4),  # two lone regional indicators
    ("flag-found-one-later", "🇦🇦🇫🇷", 6),  # 🇦, then the pair 🇦🇫 (Afghanistan), then 🇷
    ("lone-regional-indicator", "🇦", 2),
    ("skin-tone-on-non-modifier", "😀🏽", 4),
    ("selector-after-emoji-presentation", "😀\ufe0f", 4),
    ("text-presentation-selector", "☺\ufe0e", 4),
    ("emoji-presentation-selector", "☺\ufe0f", 2),
    ("emoji-12-modifier-base", "🤏🏽", 4),
    ("emoji-12-zwj", "🧑\u200d🤝\u200d🧑", 8),
    ("emoji-13-1-zwj", "❤️\u200d🔥", 5),
    ("emoji-13-single", "🥲", 2),
    ("emoji-14-single", "🫠", 2),
    ("rainbow-flag-without-fe0f", "🏳\u200d🌈", 5),
    ("rainbow-flag", "🏳️\u200d🌈", 2),
    ("eye-in-speech-bubble", "👁\u200d🗨", 2),
    ("health-worker-with-tone", "👨🏽\u200d⚕️", 2),
    ("texas-tag-sequence-not-rgi", "🏴\U000e0075\U000e0073\U000e0074\U000e0078\U000e007f", 12),
    ("keycap-without-fe0f", "#\u20e3", 2),
    ("trademark-emoji", "™️", 2),
    ("chess-pawn-emoji", "♟️", 2),
    ("onion-url", "https://nachrichten.onion/a", 23),
    ("onion-bare", "x.onion", 23),
    ("zip-bare", "see x.zip", 27),
    ("not-a-tld", "x.example", 9),
    ("protocol-alone", "https://", 8),
    ("protocol-in-parens", "(https://)", 10),
    ("protocol-and-dot", "http://.", 8),
    ("tco-slug-41-is-no-url", "https://t.co/" + "a" * 41, 54),
    ("tco-slug-40", "https://t.co/" + "a" * 40, 23),
    # After "#" the JavaScript scan starts the domain at the emoji's low surrogate, which makes the label
    # 64 characters once encoded: no URL. One "x" less and it is one.
    ("label-limit-counts-a-low-surrogate", "#😀" + "x" * 54 + ".com", 61),
    ("label-limit-one-less", "#😀" + "x" * 53 + ".com", 26),
    ("url-after-url-before-astral", "e.om/😀" + "x" * 53 + ".com", 48),
]


@pytest.mark.parametrize("text, expected", [pytest.param(t, n, id=i) for i, t, n in TWITTER_TEXT_3_1_0])
def test_weights_measured_with_twitter_text(text: str, expected: int) -> None:
    assert x_weighted_length(text) == expected


def test_158_families_weigh_two_each() -> None:
    family = "👨\u200d👩\u200d👧\u200d👦"
    assert x_weighted_length(family * 158) == 316
    assert x_weighted_length(family * 158 + ".de") == 316 + 3


def test_v2_counts_emoji_per_code_point_and_v3_once() -> None:
    family = "👨\u200d👩\u200d👧\u200d👦"
    assert x_weighted_length(family, X_V2) == 4 * 2 + 3 * 1
    assert x_weighted_length(family, X_V3) == 2


@pytest.mark.parametrize("bad", ["\ufffe", "\ufeff", "\uffff"])
def test_invalid_characters_make_the_post_invalid(bad: str) -> None:
    result = parse_x(f"Hallo{bad}Welt")
    assert not result.valid
    assert result.valid_range_end == 4


def test_limit_is_inclusive_and_empty_is_invalid() -> None:
    assert parse_x("a" * 280).valid
    assert not parse_x("a" * 281).valid
    assert not parse_x("").valid and parse_x("").weighted_length == 0
    assert parse_x("日" * 140).valid and not parse_x("日" * 140 + "a").valid


def test_ranges_are_utf16_indices_into_the_original_text() -> None:
    result = parse_x("😀" * 141)  # 141 emoji = 282 > 280; each is two UTF-16 units
    assert (result.display_range_end, result.valid_range_end) == (281, 279)
    decomposed = parse_x("A\u0301" * 3)  # NFC shortens it by 3 units; ranges refer to the input
    assert (decomposed.weighted_length, decomposed.display_range_end, decomposed.valid_range_end) == (3, 5, 5)


def test_url_inside_punctuation_and_parentheses() -> None:
    assert x_weighted_length("(https://example.com/a_(b))") == 1 + 23 + 1
    assert x_weighted_length("https://example.com.") == 23 + 1


@pytest.mark.parametrize(("text", "x_url", "mastodon_url"), [
    # twitter-text's JavaScript and Java paste the path's ending pattern in ungrouped: parens may end a path
    # only as a path unit of their own, so after a dot they cannot; its Ruby port (Mastodon's server) groups it.
    ("siehe https://example.com/wahl.(Dienstag) heute", "https://example.com/wahl",
     "https://example.com/wahl.(Dienstag)"),
    ("https://en.wikipedia.org/wiki/Primer_(film)", "https://en.wikipedia.org/wiki/Primer_(film)",
     "https://en.wikipedia.org/wiki/Primer_(film)"),
    ("https://example.com/a_(b)_(c)", "https://example.com/a_(b)_(c)", "https://example.com/a_(b)_(c)"),
])
def test_a_path_ending_in_parens_as_each_port_of_twitter_text_reads_it(text: str, x_url: str,
                                                                        mastodon_url: str) -> None:
    from sharebot.entities import find_urls

    assert [u.text for u in find_urls(text, style="twitter")] == [x_url]
    assert [u.text for u in find_urls(text, require_protocol=True, style="mastodon")] == [mastodon_url]
