"""The quick URL pattern (any letters as TLD, checked afterwards) finds exactly what the IANA alternation finds."""

from __future__ import annotations

import pytest
import yaml
from conformance_data import conformance_path, missing_reason
from hypothesis import given, settings
from hypothesis import strategies as st

from sharebot import entities


def conformance_texts() -> list[str]:
    texts = []
    for name in ("validate.yml", "extract.yml", "autolink.yml"):
        path = conformance_path("twitter-text", "conformance", name)
        if path is None:
            pytest.skip(missing_reason("twitter-text", "conformance", name))
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"].values():
            texts += [case["text"] for case in group if isinstance(case.get("text"), str)]
    return texts


def both(text: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    quick = [m.span("url") for m in entities._url_matches(text)]
    full = [m.span("url") for m in entities._twitter_url().finditer(text)]
    return quick, full


def test_same_matches_on_every_conformance_text():
    texts = conformance_texts()
    assert len(texts) > 300
    for text in texts:
        quick, full = both(text)
        assert quick == full, text


LABELS = st.sampled_from(["example", "com", "community", "de", "foo", "z", "B", "xn--p1ai", "рф", "nachrichten",
                          "co", "uk", "bar", "txt", "jpg", "1", "a-b", "www", "t"])
SEPS = st.sampled_from([".", ". ", " ", "/", "-", "@", "#", "://", "https://", "?x=1", ", ", ""])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(LABELS, SEPS), min_size=1, max_size=12))
def test_same_matches_on_domain_like_text(parts):
    text = "".join(label + sep for label, sep in parts)
    quick, full = both(text)
    assert quick == full
