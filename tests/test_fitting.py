"""shorten(): word-boundary cuts that never split a grapheme, word, URL, hashtag or mention."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sharebot import counting, entities, fitting
from sharebot.facets import detect_facets
from sharebot.fitting import longest_whole_sentences, sentence_ends, shorten


def at_most(n: int, measure: Callable[[str], int] = len) -> Callable[[str], bool]:
    return lambda t: measure(t) <= n


def graphemes(text: str) -> list[str]:
    return regex.findall(r"\X", text)


def test_text_that_fits_is_returned_unchanged() -> None:
    text = "Kurz und gut."
    assert shorten(text, at_most(100)) == text


def test_cuts_after_the_last_whole_word_that_fits() -> None:
    text = "Hello wonderful world of words"
    assert shorten(text, at_most(16)) == "Hello wonderful…"
    assert shorten(text, at_most(21)) == "Hello wonderful…"  # "Hello wonderful world…" is 22
    assert shorten(text, at_most(22)) == "Hello wonderful world…"


def test_trailing_punctuation_and_dashes_are_dropped_before_the_ellipsis() -> None:
    assert shorten("Berlin, Hamburg und München", at_most(10)) == "Berlin…"
    assert shorten("Eins – zwei drei", at_most(8)) == "Eins…"
    assert shorten("Er sagte „Ja“ und ging", at_most(16)) == "Er sagte „Ja“…"  # closing quote stays


def test_empty_when_not_even_the_first_word_fits() -> None:
    assert shorten("Bundestagswahl 2025", at_most(5)) == ""
    assert shorten("x" * 5000, at_most(280)) == ""


def test_a_5000_character_word_is_never_cut_and_costs_few_calls() -> None:
    calls = []

    def fits(t: str) -> bool:
        calls.append(t)
        return len(t) <= 280

    text = " ".join(["Wort"] * 600) + " " + "y" * 5000
    result = shorten(text, fits)
    assert result.endswith("Wort…") and len(result) <= 280
    assert len(calls) <= 16
    assert shorten("Kurz " + "x" * 5000, at_most(280)) == "Kurz…"


def test_urls_are_kept_whole_or_left_out() -> None:
    text = "Mehr unter https://example.com/politik/artikel_(2025)?id=7 und weitere Worte hier"
    for n in range(5, len(text)):
        result = shorten(text, at_most(n))
        assert "https://" not in result or "https://example.com/politik/artikel_(2025)?id=7" in result
    # A link is followed by its space before "…", so Bluesky's link pattern does not take the "…".
    assert shorten(text, at_most(60)) == "Mehr unter https://example.com/politik/artikel_(2025)?id=7 …"


def test_bare_domain_and_trailing_slash_url_are_not_trimmed() -> None:
    assert shorten("Quelle: example.com/ und mehr", at_most(22)) == "Quelle: example.com/ …"


def test_hashtags_and_mentions_are_kept_whole() -> None:
    text = "Heute #Bundestagswahl_2025 mit @alice@mastodon.social und @bob.bsky.social live"
    for n in range(3, len(text)):
        result = shorten(text, at_most(n))
        for whole in ("#Bundestagswahl_2025", "@alice@mastodon.social", "@bob.bsky.social"):
            assert whole[:3] not in result or whole in result


def test_emoji_flags_and_combining_marks_are_never_split() -> None:
    text = "Familie 👨\u200d👩\u200d👧\u200d👦 Flaggen 🇩🇪🇫🇷 Mu\u0308nchen scho\u0308n 👍🏽 Ende"
    nfc = unicodedata.normalize("NFC", text)
    for n in range(1, 80):
        result = shorten(text, at_most(n, counting.utf16_length))
        if result:
            kept = result[:-1]
            assert nfc.startswith(kept)
            assert graphemes(kept) == graphemes(nfc)[:len(graphemes(kept))]
    assert shorten(text, at_most(17, counting.bluesky_graphemes)) == "Familie 👨\u200d👩\u200d👧\u200d👦…"
    assert shorten(text, at_most(18, counting.bluesky_graphemes)) == "Familie 👨\u200d👩\u200d👧\u200d👦 Flaggen…"


def test_decomposed_input_comes_back_composed() -> None:
    assert shorten("Mu\u0308nchen ist scho\u0308n heute", at_most(16)) == "München ist…"


def test_rtl_text() -> None:
    text = "שלום עולם, מה שלומך היום? הכל טוב"
    assert shorten(text, at_most(12)) == "שלום עולם…"
    assert shorten("مرحبا بالعالم العربي", at_most(15)) == "مرحبا بالعالم…"


def test_cjk_text_is_cut_after_its_sentence_punctuation() -> None:
    text = "我们今天去公园，然后去商店。明天再说吧，好吗？"
    # "，" and "。" weigh 2 on X; the trailing "，" is dropped, so this is exactly 40.
    assert shorten(text, at_most(40, counting.x_weighted_length)) == "我们今天去公园，然后去商店。明天再说吧…"
    assert shorten(text, at_most(39, counting.x_weighted_length)) == "我们今天去公园，然后去商店…"
    # nothing up to the first "，" fits: rather than dropping it all, cut between ideographs
    assert shorten(text, at_most(10, counting.x_weighted_length)) == "我们今天…"


def test_no_break_space_is_not_a_cut() -> None:
    assert shorten("Stau auf 10\xa0km Länge", at_most(14)) == "Stau auf…"


def test_custom_and_empty_ellipsis() -> None:
    assert shorten("eins zwei drei", at_most(12), ellipsis=" [...]") == "eins [...]"
    assert shorten("eins zwei drei", at_most(9), ellipsis="") == "eins zwei"


# --- properties over mixed Unicode text --------------------------------------------------------------

TOKENS = st.one_of(
    st.text(alphabet=st.characters(whitelist_categories=("Lu", "Ll")), min_size=1, max_size=12),
    st.sampled_from([
        "👨\u200d👩\u200d👧\u200d👦", "🏳️\u200d🌈", "🧑🏽\u200d💻", "👍🏽", "👋🏿", "🇩🇪", "🇫🇷🇮🇹", "1️⃣", "❤️",
        "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
        "e\u0301", "Mu\u0308nchen", "a\u0328\u0301", "\u1100\u1161\u11a8",
        "שלום", "مرحبا", "עברית,", "日本語", "新闻报道，", "中文。", "한국어",
        "https://example.com/a_(b)?x=1", "example.org", "www.tagesschau.de/inland/123.html", "https://t.co/abc",
        "https://example.com/", "https://example.org/a-", "tagesschau.de/",
        "#Wahl2025", "#Käse_kuchen", "#🦋", "@user", "@alice@mastodon.social", "@handle.bsky.social", "$AAPL",
        ",", ".", "—", "…", "(", ")", "„Zitat“", "10\xa0km",
    ]),
    st.integers(min_value=40, max_value=600).map(lambda n: "x" * n),
)
SEPARATORS = st.sampled_from([" ", " ", " ", "\n", "  ", "", ", "])


@st.composite
def mixed_text(draw: st.DrawFn) -> str:
    tokens = draw(st.lists(TOKENS, min_size=1, max_size=40))
    return "".join(token + draw(SEPARATORS) for token in tokens).strip()


RULES: dict[str, Callable[[str], int]] = {
    "x": counting.x_weighted_length,
    "bluesky": counting.bluesky_graphemes,
    "mastodon": counting.mastodon_length,
    "threads": counting.threads_length,
    "telegram": counting.utf16_length,
}


def protected_spans(text: str) -> list[entities.Span]:
    spans = entities.find_entities(text) + entities.find_entities(text, style="bluesky")
    return spans + entities.find_mentions(text, style="mastodon")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=mixed_text(), rule=st.sampled_from(sorted(RULES)), data=st.data())
def test_property_fits_and_is_a_clean_prefix(text: str, rule: str, data: st.DataObject) -> None:
    measure = RULES[rule]
    # Limits taken from the measure of a prefix plus "…" land right on the interesting cut points.
    prefix = data.draw(st.integers(min_value=0, max_value=len(text)), label="prefix")
    limit = measure(unicodedata.normalize("NFC", text)[:prefix] + "…") + data.draw(st.integers(-1, 1), label="slack")
    fits = at_most(limit, measure)
    result = shorten(text, fits)
    nfc = unicodedata.normalize("NFC", text)
    assert result == "" or fits(result)
    if result in ("", nfc):
        return
    assert result.endswith("…")
    kept = result[:-1]
    if kept.endswith(" ") and not nfc.startswith(kept):
        kept = kept[:-1]  # the space put between an entity and the ellipsis
    assert nfc.startswith(kept)
    assert not any(s.end == len(kept) for s in protected_spans(nfc)) or result.endswith(" …")
    core = kept.rstrip()
    cut = len(core)
    # A grapheme boundary of the full text ...
    assert cut in {m.start() for m in regex.finditer(r"\X", nfc)}
    # ... that ends a word (what was dropped after it is punctuation up to a break) ...
    assert ends_a_word(nfc, cut), result
    # ... and never inside a URL, hashtag or mention.
    for span in protected_spans(nfc):
        assert not span.start < cut < span.end, (span, result)


CJK_BREAKS = "。、，；：！？．｡､"
DROPPABLE = regex.compile(r"[.,;:!?…‥\-‐‑‒–—―·•/\\|(\[{„‚«‹¿¡。、，；：！？．｡､]|[^\S\xa0\u2007\u202f]")


def ideographic(ch: str) -> bool:
    return bool(regex.match(r"[\p{Han}\p{Hiragana}\p{Katakana}]", ch))


def ends_a_word(nfc: str, cut: int) -> bool:
    """True if `cut` ends a word: after CJK sentence punctuation, between two ideographs (the last resort
    for Chinese and Japanese without punctuation), or only droppable punctuation and then breaking
    whitespace (not a no-break space) or the end follow it."""
    if nfc[cut - 1] in CJK_BREAKS:
        return True
    if cut < len(nfc) and ideographic(nfc[cut - 1]) and ideographic(nfc[cut]):
        return True
    after = cut
    while after < len(nfc) and DROPPABLE.match(nfc[after]):
        if nfc[after].isspace() or nfc[after] in CJK_BREAKS:
            return True
        after += 1
    return after == len(nfc)


def test_cjk_without_punctuation_is_cut_between_ideographs_rather_than_dropped() -> None:
    text = "東京の桜が記録的な早さで満開になり多くの人が公園に集まった" * 3
    result = shorten(text, at_most(20))
    assert result and result.endswith("…") and len(result) <= 20 and text.startswith(result[:-1])
    # where there is a sentence mark, the cut goes there as before
    assert shorten("東京の桜が満開。多くの人が公園に集まった" * 3, at_most(12)) == "東京の桜が満開…"


# --- the ellipsis never touches an entity ---------------------------------------------------------------------

@pytest.mark.parametrize("text, limit, expected", [
    # the fuzz case: the cut after "…/wahl," strips the comma, and "…" would have run into the link
    ("Mehr unter https://example.com/wahl, dann weiter im Text", 37, "Mehr unter https://example.com/wahl …"),
    ("Aktie $AAPL, dann weiter", 13, "Aktie $AAPL …"),
    ("Frag @alice@mastodon.social, sie weiß es", 30, "Frag @alice@mastodon.social …"),
    ("Heute #Wahl2025: alles dazu", 18, "Heute #Wahl2025 …"),
    ("Siehe (https://example.com/a) und mehr", 32, "Siehe (https://example.com/a) …"),
    ("Kurz gesagt: nein, doch", 12, "Kurz gesagt…"),  # a plain word keeps its ellipsis
])
def test_ellipsis_after_an_entity_comes_after_a_space(text: str, limit: int, expected: str) -> None:
    result = shorten(text, at_most(limit))
    assert result == expected
    for f in detect_facets(result):
        assert not result.encode()[f.byte_start:f.byte_end].decode().endswith("…")


def test_entity_is_dropped_when_the_space_does_not_fit() -> None:
    # "…/wahl …" needs one more character than "…/wahl…": without it the link is left out instead
    assert shorten("Mehr unter https://example.com/wahl, dann", at_most(36)) == "Mehr unter…"


def test_custom_ellipsis_that_starts_with_a_space_gets_no_second_one() -> None:
    assert shorten("Siehe https://example.com/a und mehr", at_most(35), ellipsis=" [...]") == (
        "Siehe https://example.com/a [...]")


# --- sentences ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, sentences", [
    ("Siehe S.\u00a05 der Vorlage. Dann mehr.", ["Siehe S.\u00a05 der Vorlage."]),
    ("Das gilt z.\u00a0B. für Berlin. Und sonst?", ["Das gilt z.\u00a0B. für Berlin."]),
    ("Das gilt z. B. für Berlin. Und sonst?", ["Das gilt z. B. für Berlin."]),
    ("Es ging um Nr. 5 der Liste. Danach kam Nr. 6.", ["Es ging um Nr. 5 der Liste."]),
    ("Dr. Müller sprach. Prof. Meier auch.", ["Dr. Müller sprach."]),
    ("Es kostet 3.5 Mio. Euro. Zu viel.", ["Es kostet 3.5 Mio. Euro."]),
    ("Am 3. Oktober ist Feiertag. Immer.", ["Am 3. Oktober ist Feiertag."]),
    ("Die U.S. Army kam. Dann ging sie.", ["Die U.S. Army kam."]),
    ("Er fragte: „Wirklich?“ Ja. Gut.", ["Er fragte: „Wirklich?“", "Er fragte: „Wirklich?“ Ja."]),
    ("Äpfel, Birnen usw. sind Obst. Ja!", ["Äpfel, Birnen usw. sind Obst."]),
    ("Ein Satz. ein kleiner Anfang", []),
    ("Version 2.0 ist da. Jetzt.", ["Version 2.0 ist da."]),
    ("东京下雨了。明天晴。", ["东京下雨了。"]),
    ("Zu Ende.", []),
])
def test_sentence_ends(text: str, sentences: list[str]) -> None:
    assert [text[:end] for end in sentence_ends(text)] == sentences


def test_longest_whole_sentences_is_bisected() -> None:
    text = " ".join(f"Satz Nummer {i} ist hier." for i in range(2000))
    calls: list[str] = []

    def fits(t: str) -> bool:
        calls.append(t)
        return len(t) <= 300

    result = longest_whole_sentences(text, fits)
    assert result.endswith("ist hier.") and len(result) <= 300 and len(result) > 270
    assert len(calls) <= 20 and max(len(c) for c in calls) < 20_000
    assert longest_whole_sentences(text, fits, at_least=301) == ""
    assert longest_whole_sentences("Kein Satzende hier", fits) == ""


# --- long texts -----------------------------------------------------------------------------------------------

def test_long_text_is_cut_as_if_it_were_analysed_whole() -> None:
    words = ["Wort", "https://example.com/a", "#Tag", "@alice", "$AAPL", "東京", "x" * 50, "Ende."]
    text = " ".join(words[i * 7 % len(words)] for i in range(12_000))  # ~130,000 characters
    whole = fitting._Cutter(text, "…")
    points = whole.cut_points()
    for limit in (100, 280, 3000, 20_000, 70_000):
        calls: list[str] = []

        def fits(t: str, limit: int = limit, calls: list[str] = calls) -> bool:
            calls.append(t)
            return len(t) <= limit

        result = shorten(text, fits)
        assert max(len(c) for c in calls) <= max(4 * limit, 40_000)  # never measures the whole text
        assert result == fitting._bisect(whole, points, fits)[1]


def test_a_cut_does_not_end_on_an_article_when_it_can_avoid_it() -> None:
    avoid = frozenset({"der", "die", "und"})
    text = "Heute kamen die Minister und die Gäste"
    assert shorten(text, at_most(21)) == "Heute kamen die…"
    assert shorten(text, at_most(21), avoid_ending=avoid) == "Heute kamen…"
    assert shorten(text, at_most(33), avoid_ending=avoid) == "Heute kamen die Minister…"
