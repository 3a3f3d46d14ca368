"""Property: whatever the article, every rendered post fits every network by that network's own rule."""

from __future__ import annotations

import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sharebot import entities, facets
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


# --- adversarial text: what the 10,000-article fuzz run found -----------------------------------------------

ADVERSARIAL = st.sampled_from([
    "\u200b", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e", "\ufe0f", "\ufe0e", "\u20e3", "\U000e0067",
    "🇦🇦", "🇦", "🇩🇪🇫", "🇦🇦🇫🇷", "😀🏽", "❤️\u200d🔥", "🏳\u200d🌈", "🧑\u200d🤝\u200d🧑", "👨" + "\u200d👩" * 5,
    "#️⃣", "#⃣", "*️⃣", "1⃣", "#\ufe0e\u20e3",
    "https://", "(https://)", "http://.", "https:///x", "https://t.co/" + "a" * 41,
    "https://nachrichten.onion/x", "x.onion", "see.zip", "beispiel.example", "https://example.com/wahl,",
    "https://example.com/wahl…", "(https://example.com/a)", "example.com/wahl.", "$AAPL,", "$AAPL…", "#Wahl…",
    "@alice.bsky.social,", "S.\u00a05", "z.\u00a0B.", "Nr. 5", "3.5", "Ende.", "„Zitat.“",
    "Z" + "\u0301" * 40, "👨\u200d👩\u200d👧\u200d👦" * 30,
])


@st.composite
def adversarial_prose(draw: st.DrawFn, max_tokens: int = 60) -> str:
    tokens = draw(st.lists(st.one_of(ADVERSARIAL, ADVERSARIAL, PIECES, WORDS), min_size=1, max_size=max_tokens))
    seps = draw(st.lists(st.sampled_from([" ", " ", "", "\n", "\u00a0"]), min_size=len(tokens), max_size=len(tokens)))
    return "".join(t + s for t, s in zip(tokens, seps, strict=True))


def reference_x_length(text: str) -> int:
    """twitter-text's parseTweet loop, written out plainly: NFC, then at each UTF-16 index a URL weighs 23,
    else a known emoji sequence (the longest that starts there) 2, else the code point by the v3 ranges
    (an astral one by its low surrogate: 2)."""
    text = unicodedata.normalize("NFC", text)
    urls = {s.start: s.end for s in entities.find_urls(text)}
    sequences = entities._twitter_emoji()[0]
    longest = max(map(len, sequences))  # tried longest first at every index, unlike the finder
    emoji: dict[int, int] = {}
    i = 0
    while i < len(text):  # the emoji extractor runs over the whole text on its own
        size = next((n for n in range(longest, 1, -1) if text[i:i + n] in sequences), 0)
        if size:
            emoji[i] = i + size
        i += size or 1
    weight, i = 0, 0
    while i < len(text):
        if i in urls:
            weight, i = weight + 23, urls[i]
        elif i in emoji:
            weight, i = weight + 2, emoji[i]
        else:
            cp = ord(text[i])
            light = cp <= 0x10FF or 0x2000 <= cp <= 0x200D or 0x2010 <= cp <= 0x201F or 0x2032 <= cp <= 0x2037
            weight, i = weight + (1 if light else 2), i + 1
    return weight


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(title=adversarial_prose(12), teaser=adversarial_prose(),
       network=st.sampled_from([Network.X, Network.BLUESKY, Network.MASTODON, Network.THREADS]))
def test_adversarial_text_gives_posts_the_networks_accept(title: str, teaser: str, network: Network) -> None:
    article = Article(slug="s", title=title.strip() or "Titel", url="https://nachrichten.sharebot-demo.de/artikel",
                      teaser=teaser, tags=("Wahl", "#️⃣", "Politik"))
    post = render(article, Account(name=network.value, network=network), templates={}, utm=UTM)
    rules = rules_for(Account(name=network.value, network=network))
    assert post.length == rules.length(post.text)
    assert post.blocked or post.length <= post.limit
    if network is Network.X:
        assert post.length == reference_x_length(post.text)
    raw = post.text.encode()
    for facet in facets.detect_facets(post.text):
        covered = raw[facet.byte_start:facet.byte_end].decode()
        assert not covered.endswith("…"), covered
        if facet.kind == "link":
            assert entities.has_host(facet.value), facet
        if facet.kind == "tag":  # a keycap (#️⃣) is not a tag; glued after a tag's letters it is part of that tag
            assert not facet.value.startswith(("\ufe0f", "\u20e3")), facet
    for span in entities.find_entities(post.text) + entities.find_entities(post.text, style="bluesky"):
        assert not span.text.endswith("…"), span
