"""The linear URL scan finds exactly what twitter-text's pattern finds when tried at every position.

`entities._url_matches` tries the pattern only where a URL can start (a run holding a dot before a letter,
the first allowed start of each run of domain characters, and "http(s)://"), with letters standing for the
TLD until a match ends in a non-TLD. The reference here is the plain scan: the whole pattern, with its
`before` group and the full TLD alternation, tried everywhere by `finditer`.
"""

from __future__ import annotations

import re

import pytest
import yaml
from conformance_data import conformance_path, missing_reason
from hypothesis import given, settings
from hypothesis import strategies as st

from sharebot import entities


def conformance_texts(*names: str) -> list[str]:
    texts = []
    for name in names:
        path = conformance_path("twitter-text", "conformance", name)
        if path is None:
            pytest.skip(missing_reason("twitter-text", "conformance", name))
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"].values():
            texts += [case["text"] for case in group if isinstance(case.get("text"), str)]
    return texts


def both(text: str, *, ruby: bool = False) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    fast = [m.span("url") for m, _ in entities._url_matches(text, ruby=ruby)]
    reference = [m.span("url") for m in entities._twitter_url(ruby=ruby).finditer(text)]
    return fast, reference


def test_same_matches_on_every_conformance_text():
    texts = conformance_texts("validate.yml", "extract.yml", "autolink.yml", "tlds.yml")
    assert len(texts) > 1800
    for text in texts:
        for ruby in (False, True):
            fast, reference = both(text, ruby=ruby)
            assert fast == reference, (text, ruby)


def test_every_tld_starts_with_a_letter():
    # The scan only looks at dots followed by a letter; punycode TLDs start with "x".
    assert all(re.match(r"[^\W\d_]", tld) for tld in entities.twitter_tld_set())


LABELS = st.sampled_from(["example", "com", "community", "de", "foo", "z", "B", "xn--p1ai", "рф", "nachrichten",
                          "co", "uk", "bar", "txt", "jpg", "1", "a-b", "www", "t", "onion", "zip", "日本", "é",
                          "👨\u200d👩\u200d👧", "😀", "\u0301", "x_y", "ñandú", "ＡＢ", "http", "https"])
SEPS = st.sampled_from([".", ". ", " ", "/", "-", "_", "@", "#", "$", "://", "https://", "http://", "?x=1", ", ",
                        "", "(", ")", "\u200f", "\xa0", "\n", "＠", "＃", ":80/"])


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(LABELS, SEPS), min_size=1, max_size=14))
def test_same_matches_on_domain_like_text(parts):
    text = "".join(label + sep for label, sep in parts)
    for ruby in (False, True):
        fast, reference = both(text, ruby=ruby)
        assert fast == reference, (text, ruby)


def test_long_runs_without_a_domain_are_not_scanned_again_and_again():
    # 158 ZWJ families and a dot: one run of ~1,100 domain characters; found the same way, once.
    family = "👨\u200d👩\u200d👧\u200d👦" * 158
    for text in (family, family + ".", family + ".de", "x" + family + ".zz y.com", "#" + "ä" * 3000 + ".de"):
        fast, reference = both(text)
        assert fast == reference
