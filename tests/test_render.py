from __future__ import annotations

import unicodedata

import pytest

from sharebot.errors import ConfigError
from sharebot.models import Account, Article, Network, Severity
from sharebot.networks import rules_for
from sharebot.render import Template, add_utm, hashtag, hashtags, render

UTM = {"utm_source": "{network}", "utm_medium": "social", "utm_campaign": "{slug}"}


def article(**kw) -> Article:
    base = dict(slug="s", title="Titel", url="https://news.example.de/s", teaser="Ein Teaser.", language="de",
                image="https://news.example.de/s.jpg", image_alt="Bild")
    base.update(kw)
    return Article(**base)


def account(network: Network, **kw) -> Account:
    return Account(name=network.value, network=network, **kw)


def test_hashtags_camel_case_keep_umlauts_and_drop_duplicates():
    tags = ["Wladimir Putin", "Außenpolitik", "außenpolitik", "Ukraine-Krieg", "2026", "#Xi"]
    assert hashtags(tags, limit=10) == ["#WladimirPutin", "#Außenpolitik", "#UkraineKrieg", "#Xi"]
    assert hashtags(tags, limit=2) == ["#WladimirPutin", "#Außenpolitik"]


def test_hashtags_skip_those_already_in_the_text():
    assert hashtags(["Putin", "China"], limit=5, text="Heute #putin im Gespräch") == ["#China"]


def test_hashtag_nfc_and_junk():
    assert hashtag("Mu\u0308nchen") == "München"
    assert hashtag("...") is None
    assert hashtag("x" * 70) is None


def test_utm_keeps_existing_query_and_fragment():
    url = "https://n.example/a?id=7&utm_source=newsletter#top"
    out = add_utm(url, UTM, network="x", slug="a")
    assert out == "https://n.example/a?id=7&utm_source=newsletter&utm_medium=social&utm_campaign=a#top"
    assert add_utm("https://n.example/a", {}, network="x", slug="a") == "https://n.example/a"


def test_template_drops_lines_whose_fields_are_empty():
    t = Template("{title}\n\n{teaser}\n\n{link}", where="t")
    assert t.fill({"title": "T", "teaser": "", "link": "L"}) == "T\n\nL"


@pytest.mark.parametrize("source, message", [("{titel}", "{titel}"), ("plain text", "no fields"), ("{title", "template")])
def test_template_errors_name_the_field(source, message):
    with pytest.raises(ConfigError, match=message.replace("{", r"\{")):
        Template(source, where="accounts.x")


@pytest.mark.parametrize("network", [n for n in Network])
def test_every_network_renders_within_its_limit(network):
    post = render(article(teaser="Wort " * 3000), account(network), templates={}, utm=UTM)
    assert rules_for(account(network)).fits(post.text)
    assert post.length <= post.limit
    assert not post.blocked, post.issues
    assert post.language == "de"
    assert "utm_source=" + network.value in post.link


def test_long_teaser_is_shortened_first_at_a_word_boundary():
    post = render(article(teaser="Donaudampfschifffahrt " * 40), account(Network.X), templates={}, utm=UTM)
    title, teaser, link = post.text.split("\n\n")[:3]
    assert title == "Titel"
    assert teaser.endswith("Donaudampfschifffahrt…")
    assert link.startswith("https://news.example.de/s?utm_source=x")
    assert any(i.code == "teaser-shortened" for i in post.issues)


def test_title_shortened_only_after_teaser_dropped():
    post = render(article(title="Schlagzeile " * 60, teaser="Teaser"), account(Network.X), templates={}, utm=UTM)
    assert "Teaser" not in post.text
    assert {i.code for i in post.issues} >= {"teaser-dropped", "title-shortened"}
    assert post.length <= 280


def test_text_is_nfc():
    post = render(article(title="Mu\u0308nchen"), account(Network.BLUESKY), templates={}, utm=UTM)
    assert unicodedata.is_normalized("NFC", post.text) and "München" in post.text


def test_bluesky_gets_card_language_and_facets():
    post = render(article(tags=["Politik"], language="en"), account(Network.BLUESKY), templates={}, utm=UTM)
    assert post.card.uri == post.link and post.card.image == "https://news.example.de/s.jpg"
    assert post.language == "en"
    tag = [f for f in post.facets if f.kind == "tag"]
    assert tag and post.text.encode()[tag[0].byte_start:tag[0].byte_end] == b"#Politik"


def test_linkedin_commentary_is_escaped_but_hashtags_stay_live():
    post = render(article(title="Bund (vorläufig) #1 @Amt", tags=["Politik"]), account(Network.LINKEDIN),
                  templates={}, utm=UTM)
    assert r"Bund \(vorläufig\) \#1 \@Amt" in post.text
    assert post.text.endswith("#Politik")


def test_mastodon_limit_comes_from_the_account():
    acc = account(Network.MASTODON, options={"max_characters": 100})
    post = render(article(teaser="lang " * 100), acc, templates={}, utm=UTM)
    assert post.limit == 100 and post.length <= 100


def test_missing_link_in_text_template_is_blocking():
    post = render(article(), account(Network.X, template="{title}"), templates={}, utm=UTM)
    assert post.blocked and post.issues[-1].severity in (Severity.ERROR, Severity.WARNING)


def test_missing_image_warns_for_networks_where_we_build_the_card():
    post = render(article(image=None), account(Network.BLUESKY), templates={}, utm=UTM)
    assert any(i.code == "no-image" for i in post.issues)


def test_whatsapp_share_link_carries_the_text():
    post = render(article(), account(Network.WHATSAPP), templates={}, utm=UTM)
    assert post.share_url.startswith("https://wa.me/?text=Titel%0A%0Ahttps%3A%2F%2Fnews.example.de%2Fs%3Futm_source%3Dwhatsapp")


def test_a_title_that_is_one_word_longer_than_the_limit_gives_the_teaser_its_room_back():
    post = render(article(title="Wort" * 80, teaser="Kurzer Teaser."), account(Network.BLUESKY), templates={}, utm=UTM)
    assert post.text == "Kurzer Teaser." and not post.blocked


def test_nothing_that_fits_without_cutting_a_word_is_a_single_blocking_issue():
    post = render(article(title="Wort" * 80, teaser="Lang" * 80), account(Network.BLUESKY), templates={}, utm=UTM)
    assert post.text == ""
    assert [i.code for i in post.issues if i.severity is Severity.ERROR] == ["cannot-fit"]


def test_an_attached_photo_on_x_is_shown_and_warned_about():
    post = render(article(), account(Network.X, options={"attach_image": True}), templates={}, utm=UTM)
    assert post.options["attach_image"] is True and post.image == "https://news.example.de/s.jpg"
    assert any(i.code == "photo-replaces-card" for i in post.issues)


def test_hashtags_keep_combining_marks_and_skip_tags_that_would_lose_symbols():
    assert hashtag("हिन्दी समाचार") == "हिन्दीसमाचार"
    assert hashtag("สวัสดี") == "สวัสดี"
    assert hashtag("C++") is None and hashtag("AT&T") is None
    assert hashtag("#Xi") == "Xi"


def test_hashtags_skip_tags_whose_words_the_text_already_has():
    text = "Putin und Xi: Russland und China rücken zusammen"
    assert hashtags(["Russland", "China", "Wladimir Putin", "Xi Jinping"], limit=5, text=text) == [
        "#WladimirPutin", "#XiJinping"]


def test_language_codes_become_bcp47():
    from sharebot.render import language_tag

    assert [language_tag(c) for c in ("pt_BR", "DE", "de-de", "", "zh-Hant")] == ["pt-BR", "de", "de-DE", "de",
                                                                                  "zh-Hant"]


def test_a_tag_normalised_at_entry_is_sent_as_it_is():
    for tag in ("de-u-co-phonebk", "en-x-ab", "zh-Hant-TW"):
        assert render(article(language=tag), account(Network.BLUESKY), templates={}, utm=UTM).language == tag


def test_threads_image_posts_need_the_link_in_the_text():
    post = render(article(), account(Network.THREADS, options={"attach_image": True}), templates={}, utm=UTM)
    assert post.blocked
    assert any(i.code == "link-missing" and "Threads image post" in i.message for i in post.issues)
    ok = render(article(), account(Network.THREADS, options={"attach_image": True}, template="{title} {link}"),
                templates={}, utm=UTM)
    assert not ok.blocked


def test_mastodon_warns_when_another_link_would_make_the_card_and_about_mentions():
    post = render(article(teaser="Fragen an https://example.org/forum oder @redaktion@social.example"),
                  account(Network.MASTODON), templates={}, utm=UTM)
    codes = {i.code for i in post.issues}
    assert {"card-from-other-link", "mention"} <= codes
    photo = render(article(), account(Network.MASTODON, options={"attach_image": True}), templates={}, utm=UTM)
    assert any(i.code == "photo-replaces-card" for i in photo.issues)


def test_linkedin_keeps_a_teaser_hashtag_live():
    post = render(article(teaser="Fragen Sie uns: #FragDieRedaktion (heute)"), account(Network.LINKEDIN),
                  templates={}, utm=UTM)
    assert "#FragDieRedaktion \\(heute\\)" in post.text
