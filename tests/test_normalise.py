"""Input normalisation (README, "How input is normalised"): each rule, and that every source goes through it."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import httpx
import pytest
from pds import PDS, create_account

from sharebot.models import Account, Article, Network
from sharebot.normalise import clean_text, language_tag, normalise_article, uri
from sharebot.render import card_description, render
from sharebot.sources import open_source

BASE = "https://nachrichten.sharebot-demo.de/"
FAMILY = "👨\u200d👩\u200d👧"
SCOTLAND = "\U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F"


@pytest.mark.parametrize(("raw", "multiline", "expected", "notes"), [
    ("\ufeffWahl", False, "Wahl", ["removed 1 U+FEFF ZERO WIDTH NO-BREAK SPACE at start"]),
    ("Wahl\ufeff", False, "Wahl", ["removed 1 U+FEFF ZERO WIDTH NO-BREAK SPACE at end"]),
    ("Wa\u200bhl", False, "Wahl", ["removed 1 U+200B ZERO WIDTH SPACE inside"]),
    ("Verhand\u00adlung", False, "Verhandlung", ["removed 1 U+00AD SOFT HYPHEN inside"]),
    ("a \u202egoogle.com\u202c b", False, "a google.com b",
     ["removed 1 U+202E RIGHT-TO-LEFT OVERRIDE inside", "removed 1 U+202C POP DIRECTIONAL FORMATTING inside"]),
    ("x\u2067y\u2069", False, "xy",
     ["removed 1 U+2067 RIGHT-TO-LEFT ISOLATE inside", "removed 1 U+2069 POP DIRECTIONAL ISOLATE at end"]),
    ("עברית\u200e 2026", False, "עברית\u200e 2026", []),  # a mark only gives a direction: kept
    (f"Familie {FAMILY}", False, f"Familie {FAMILY}", []),  # ZWJ inside an emoji sequence
    ("می\u200cخواهم", False, "می\u200cخواهم", []),  # ZWNJ inside a Persian word
    ("\u200dWahl \u200c", False, "Wahl", ["removed 1 U+200D ZERO WIDTH JOINER at start",
                                          "removed 1 U+200C ZERO WIDTH NON-JOINER at end"]),
    (SCOTLAND, False, SCOTLAND, []),  # tag characters in an emoji flag
    ("Wahl\U000E0041\U000E0042", False, "Wahl",
     ["removed 1 U+E0041 TAG LATIN CAPITAL LETTER A at end", "removed 1 U+E0042 TAG LATIN CAPITAL LETTER B at end"]),
    ("Titel\tmit\nZeile", False, "Titel mit Zeile", []),
    ("eins\r\nzwei\u2028drei", True, "eins\nzwei\ndrei", ["replaced 1 U+2028 LINE SEPARATOR with a line break"]),
    ("a\x00b\x1bc\x7f", False, "abc", ["removed 1 U+0000 control character inside",
                                       "removed 1 U+001B control character inside",
                                       "removed 1 U+007F control character at end"]),
    ("S.\u00a05", False, "S.\u00a05", []),  # a no-break space stays
    ("U\u0308ber", False, "Über", ["composed to Unicode NFC"]),
])
def test_text_rules(raw: str, multiline: bool, expected: str, notes: list[str]) -> None:
    assert clean_text(raw, multiline=multiline) == (expected, notes)


@pytest.mark.parametrize(("raw", "tag"), [
    ("de", "de"), ("de-DE", "de-DE"), ("de_DE", "de-DE"), ("DE-de", "de-DE"), ("pt_br", "pt-BR"),
    ("zh-hant-tw", "zh-Hant-TW"), ("es-419", "es-419"), ("de-CH-1996", "de-CH-1996"), ("gsw", "gsw"),
    ("iw", "he"),  # withdrawn ISO 639-1 codes become their replacements
    ("english", None), ("de DE", None), ("123", None), ("e", None), ("xx", None), ("i-klingon", None),
    ("x-private", None), ("déu", None), ("", None),
])
def test_language_tags(raw: str, tag: str | None) -> None:
    assert language_tag(raw) == tag


@pytest.mark.parametrize(("raw", "expected"), [
    ("https://example.com/wahl", "https://example.com/wahl"),
    ("https://example.com/日本/wahl", "https://example.com/%E6%97%A5%E6%9C%AC/wahl"),
    ("https://example.com/a b?q=ä#ü", "https://example.com/a%20b?q=%C3%A4#%C3%BC"),
    ("https://example.com/a%20b?x=1&y=2", "https://example.com/a%20b?x=1&y=2"),  # escapes are not escaped twice
    ("https://bücher.de:8443/x", "https://xn--bcher-kva.de:8443/x"),
])
def test_urls_become_uris(raw: str, expected: str) -> None:
    assert uri(raw) == expected


def test_an_invalid_language_falls_back_to_the_site_language_with_a_note() -> None:
    article = normalise_article(Article("a", "T", BASE + "a", language="english"), site_language="fr")
    assert article.language == "fr"
    assert article.notes == ("language: 'english' is not a BCP 47 language tag with an ISO 639 language; "
                             "the site's language fr is used",)


@pytest.mark.parametrize("network", [Network.BLUESKY, Network.MASTODON])
def test_language_per_network(network: Network) -> None:
    article = normalise_article(Article("a", "T", BASE + "a", language="de_DE"), site_language="de")
    options = {"handle": "a.test"} if network is Network.BLUESKY else {"instance": "https://m.test"}
    post = render(article, Account("acc", network, options), templates={}, utm={})
    assert post.language == ("de-DE" if network is Network.BLUESKY else "de")


def test_card_descriptions_are_cut_between_words_to_the_network_limit() -> None:
    teaser = "Die Verhandlungen über den Haushalt gehen weiter. " * 40
    article = Article("a", "T", BASE + "a", teaser=teaser)
    for network, options, limit in ((Network.LINKEDIN, {"author": "urn:li:person:1"}, 256),
                                    (Network.BLUESKY, {"handle": "a.test"}, 300)):
        card = render(article, Account("acc", network, options), templates={}, utm={}).card
        assert card is not None and len(card.description) <= limit and card.description.endswith("…")
        assert teaser.startswith(card.description.rstrip("…").rstrip())
        assert card.description.rstrip("…").split()[-1].strip(".") in teaser.replace(".", "").split()  # a whole word
    assert card_description("kurz", 256) == "kurz"


def write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def test_a_content_file_enters_normalised_and_the_dry_run_json_names_each_change(tmp_path: Path) -> None:
    write(tmp_path, "wahl.md", """
        ---
        title: "\ufeffWahl\u200b in Japan"
        teaser: "\ufeffDie Wahl."
        url: https://nachrichten.sharebot-demo.de/日本/wahl
        language: de DE
        tags: ["Ja\u200bpan"]
        ---
    """)
    article = open_source("content", str(tmp_path), base_url=BASE, language="de").get("wahl")
    assert (article.title, article.teaser, article.tags) == ("Wahl in Japan", "Die Wahl.", ("Japan",))
    assert article.url == BASE + "%E6%97%A5%E6%9C%AC/wahl"
    assert article.id == BASE + "日本/wahl"  # its identity as before: a queue or `watch` that knows it still does
    assert article.language == "de"
    assert article.notes == (
        "title: removed 1 U+FEFF ZERO WIDTH NO-BREAK SPACE at start",
        "title: removed 1 U+200B ZERO WIDTH SPACE inside",
        "teaser: removed 1 U+FEFF ZERO WIDTH NO-BREAK SPACE at start",
        "tag 1: removed 1 U+200B ZERO WIDTH SPACE inside",
        f"url: percent-encoded to {BASE}%E6%97%A5%E6%9C%AC/wahl",
        "language: 'de DE' is not a BCP 47 language tag with an ISO 639 language; the site's language de is used",
    )
    assert json.loads(json.dumps(article.to_dict()))["notes"] == list(article.notes)


def test_a_feed_item_enters_normalised(tmp_path: Path) -> None:
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": [
        {"id": "1", "url": BASE + "a", "title": "\u202eTitel", "language": "123"}]}), encoding="utf-8")
    article = open_source("feed", str(feed), base_url=BASE, language="de").articles()[0]
    assert article.title == "Titel" and article.language == "de"
    assert article.notes[0] == "title: removed 1 U+202E RIGHT-TO-LEFT OVERRIDE at start"


def test_the_pds_takes_every_tag_we_make_and_refuses_what_we_replace(pds: PDS) -> None:
    """The language check against the real PDS: what `language_tag` lets through is accepted as `langs`, and the
    raw values the issue found are what the PDS answers "Invalid language" to."""
    account = create_account(pds, "lang")
    made = ["de", "de_DE", "DE-de", "zh-hant-tw", "gsw", "es-419", "de-CH-1996", "pt_br", "und"]
    refused = ["english", "de DE", "123", "e", "de_DE"]
    with pds.http() as http:
        session = http.post("/xrpc/com.atproto.server.createSession",
                            json={"identifier": account.handle, "password": account.app_password})
        auth = {"Authorization": f"Bearer {session.raise_for_status().json()['accessJwt']}"}

        def post(lang: str) -> httpx.Response:
            record = {"$type": "app.bsky.feed.post", "text": "Wahl", "createdAt": "2026-11-25T09:00:00.000Z",
                      "langs": [lang]}
            return http.post("/xrpc/com.atproto.repo.createRecord", headers=auth,
                             json={"repo": account.did, "collection": "app.bsky.feed.post", "record": record})

        for raw in made:
            tag = language_tag(raw)
            assert tag is not None and post(tag).status_code == 200, (raw, tag)
        for raw in refused:
            answer = post(raw)
            assert answer.status_code == 400 and "Invalid language" in answer.text, raw
            assert raw == "de_DE" or language_tag(raw) is None


def test_a_field_of_megabytes_is_cut_where_no_post_reaches_with_a_note() -> None:
    teaser = "Die Wahl in Japan. " * 300_000  # 5.7 MB
    text, notes = clean_text(teaser, multiline=True)
    assert len(text) <= 100_000 and teaser.startswith(text) and text.endswith("Japan.")
    assert len(notes) == 1 and notes[0].startswith("cut to its first 99,99")
    assert notes[0].endswith(f"characters (it had {len(teaser):,}): no post uses more")
