"""Property: whatever the article, every rendered post fits every network by that network's own rule."""

from __future__ import annotations

import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sharebot import entities
from sharebot.models import Account, Article, Network
from sharebot.networks import rules_for
from sharebot.render import render

UTM = {"utm_source": "{network}", "utm_medium": "social", "utm_campaign": "{slug}"}
PIECES = st.sampled_from([
    "👨‍👩‍👧‍👦", "🇩🇪", "👍🏽", "🏳️‍🌈", "e\u0301", "Mu\u0308nchen", "A\u030A", "שלום עולם", "مرحبا بالعالم",
    "日本語のニュース", "中文新闻标题", "Donaudampfschifffahrtsgesellschaftskapitän", "…", "•", "„Zitat“",
    "https://example.com/pfad/zum/artikel?id=42&x=y", "example.org", "#Hashtag", "@alice@mastodon.social",
    "@bob.bsky.social", "\u200f", "\u00a0", "\n",
])
WORDS = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=15)
HUGE = st.integers(min_value=1, max_value=5000).map(lambda n: "Wort" * (n // 4 + 1))


@st.composite
def prose(draw: st.DrawFn, max_tokens: int = 80) -> str:
    tokens = draw(st.lists(st.one_of(PIECES, WORDS, HUGE), min_size=1, max_size=max_tokens))
    return " ".join(tokens)


@st.composite
def articles(draw: st.DrawFn) -> Article:
    title = draw(prose(20)).strip() or "Titel"
    return Article(
        slug="s", title=title, url=draw(st.sampled_from([
            "https://nachrichten.sharebot-demo.de/artikel", "https://n.example.de/a?id=7#x",
            "https://nachrichten.sharebot-demo.de/" + "sehr-langer-pfad-" * 20])),
        teaser=draw(prose()), tags=tuple(draw(st.lists(WORDS | PIECES, max_size=20))),
        language=draw(st.sampled_from(["de", "en", "ar", "ja"])), image=None,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(article=articles(), network=st.sampled_from(list(Network)))
def test_every_rendered_post_fits_its_network(article: Article, network: Network) -> None:
    account = Account(name=network.value, network=network)
    post = render(article, account, templates={}, utm=UTM)
    rules = rules_for(account)
    assert unicodedata.is_normalized("NFC", post.text)
    assert post.length == rules.length(post.text) <= post.limit
    if post.blocked:  # only when nothing can be kept without cutting inside a word
        assert [i.code for i in post.issues if i.severity == "error"] == ["cannot-fit"]
        assert post.text == "" and rules.link_placement == "field"
        return
    assert rules.fits(post.text), (rules.length(post.text), rules.limit)
    assert post.length == rules.length(post.text) <= post.limit
    if rules.link_placement == "text" and network is not Network.WHATSAPP:
        assert post.link in post.text  # the link survives shortening
    # no URL, hashtag or mention is cut: each one found in the post is whole in the source
    source = unicodedata.normalize("NFC", f"{article.title} {article.teaser} {post.link}")
    for span in entities.find_urls(post.text):
        assert span.text in source or span.text.rstrip("…") == span.text
