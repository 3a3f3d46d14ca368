"""The content-directory source: the bundled example site and every kind of bad front matter."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sharebot.errors import ArticleError, ConfigError
from sharebot.sources import open_source
from sharebot.sources.content import ContentSource

SITE = Path(__file__).resolve().parents[1] / "examples" / "site"
BASE = "https://nachrichten.sharebot-demo.de/"


def site(directory: Path | str = SITE / "content", **kw: object) -> ContentSource:
    return ContentSource(directory, base_url=BASE, language="de", **kw)  # type: ignore[arg-type]


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def error_of(fn: object, *args: object) -> str:
    with pytest.raises(ArticleError) as info:
        fn(*args)  # type: ignore[operator]
    message = str(info.value)
    assert "\n" not in message
    return message


# --- the example site --------------------------------------------------------------------------


def test_example_site_has_the_articles_later_stages_rely_on() -> None:
    articles = site().articles()
    assert len(articles) >= 8
    by_slug = {a.slug: a for a in articles}

    seed = by_slug["putin-xi-videogespraech-partnerschaft"]
    assert seed.title == "Putin und Xi stärken strategische Partnerschaft in Videogespräch"
    assert seed.teaser.startswith("Putin und Xi führten ein Videogespräch, in dem sie")
    assert seed.teaser.endswith("als stabilisierende Kraft in globalen Turbulenzen.")
    assert seed.section == "Geopolitik" and seed.language == "de"
    assert {"Russland", "China", "Wladimir Putin", "Xi Jinping", "Außenpolitik"} <= set(seed.tags)
    assert seed.image == BASE + "bilder/putin-xi-videogespraech.jpg" and seed.image_alt
    assert seed.url == BASE + "putin-xi-videogespraech-partnerschaft"
    assert seed.published_at == datetime(2026, 2, 4, 18, 30, tzinfo=timezone(timedelta(hours=1)))

    assert any(len(a.title) > 300 and "Donaudampfschifffahrt" in a.title for a in articles)
    many = max(articles, key=lambda a: len(a.tags))
    assert len(many.tags) >= 15
    assert any(" " in t for t in many.tags) and any(set(t) & set("äöüÄÖÜß") for t in many.tags)
    lowered = [t.casefold() for t in many.tags]
    assert len(set(lowered)) < len(lowered)  # a duplicate that differs only in case
    assert any("\u200d" in a.title and "🇩🇪" in a.title and "🏽" in a.teaser for a in articles)
    assert any(a.image is None for a in articles)
    assert {"ja", "ar", "en"} <= {a.language for a in articles}
    assert any("https://" in a.teaser and "#" in a.teaser and "@" in a.teaser for a in articles)
    embargo = datetime(2030, 1, 1, tzinfo=UTC)
    assert any(a.published_at and a.published_at > embargo for a in articles)
    assert all(a.published_at and a.published_at.tzinfo for a in articles)
    assert all(a.image is None or a.image.startswith(BASE + "bilder/") for a in articles)


def test_articles_come_newest_first_and_get_matches() -> None:
    source = site()
    articles = source.articles()
    dates = [a.published_at for a in articles]
    assert dates == sorted(dates, reverse=True)  # type: ignore[type-var]
    assert source.get("rail-strike-europe") == next(a for a in articles if a.slug == "rail-strike-europe")


def test_open_source_picks_the_content_kind_and_rejects_unknown_kinds() -> None:
    source = open_source("content", str(SITE / "content"), base_url=BASE, language="de")
    assert source.get("kairo-museum-eroeffnung").language == "ar"
    with pytest.raises(ArticleError, match="unknown source kind 'rss'; use one of: content, feed"):
        open_source("rss", "x", base_url=BASE, language="de")


def test_reading_a_content_directory_imports_neither_feedparser_nor_httpx() -> None:
    code = textwrap.dedent(f"""
        import sys
        from sharebot.sources import open_source
        source = open_source("content", {str(SITE / "content")!r}, base_url={BASE!r}, language="de")
        assert len(source.articles()) >= 8
        print(sorted(m for m in ("feedparser", "httpx") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- fields and defaults -----------------------------------------------------------------------


def test_defaults_come_from_the_file_name_and_the_site(tmp_path: Path) -> None:
    write(tmp_path, "kurz.md", """
        ---
        title: Kurz
        ---
        Body.
    """)
    article = site(tmp_path).get("kurz")
    assert article.slug == "kurz" and article.url == BASE + "kurz"
    assert article.language == "de" and article.tags == () and article.image is None
    assert article.published_at is None and article.source == str(tmp_path / "kurz.md")


def test_fields_are_typed_cleaned_and_nfc_normalised(tmp_path: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "Über Äpfel")
    assert decomposed != "Über Äpfel"
    write(tmp_path, "a.md", f"""
        ---
        title: "  {decomposed}  "
        teaser: "{decomposed}"
        tags: " Obst,{decomposed} , ,Obst, obst"
        image: /bilder/a.jpg
        url: https://example.org/artikel/a
        section: 2026
        author: {decomposed}
        ---
    """)
    article = open_source("content", str(tmp_path), base_url=BASE, language="de").get("a")  # where articles enter
    assert article.title == article.teaser == article.author == "Über Äpfel"
    assert "title: composed to Unicode NFC" in article.notes and "tag 2: composed to Unicode NFC" in article.notes
    assert article.tags == ("Obst", "Über Äpfel", "obst")  # exact repeats go, case variants stay
    assert article.image == BASE + "bilder/a.jpg"
    assert article.url == "https://example.org/artikel/a"
    assert article.section == "2026"


def test_naive_times_use_the_site_zone_when_given(tmp_path: Path) -> None:
    write(tmp_path, "a.md", """
        ---
        title: A
        published_at: 2026-07-01 08:00:00
        ---
    """)
    write(tmp_path, "b.md", """
        ---
        title: B
        published_at: "2026-01-15"
        ---
    """)
    berlin = site(tmp_path, timezone="Europe/Berlin")
    assert berlin.get("a").published_at == datetime(2026, 7, 1, 8, tzinfo=ZoneInfo("Europe/Berlin"))
    assert berlin.get("a").published_at.utcoffset() == timedelta(hours=2)  # type: ignore[union-attr]
    assert berlin.get("b").published_at == datetime(2026, 1, 15, tzinfo=ZoneInfo("Europe/Berlin"))
    with pytest.raises(ConfigError, match="unknown timezone 'Mars/Olympus'"):
        site(tmp_path, timezone="Mars/Olympus")


# --- lookups -------------------------------------------------------------------------------------


def test_get_reads_only_the_file_named_after_the_slug(tmp_path: Path) -> None:
    write(tmp_path, "gut.md", "---\ntitle: Gut\n---\n")
    write(tmp_path, "kaputt.md", "---\ntitle: [unclosed\n---\n")
    source = site(tmp_path)
    assert source.get("gut").title == "Gut"  # the broken neighbour is never parsed
    with pytest.raises(ArticleError, match="kaputt.md:3: invalid YAML"):
        source.articles()


def test_get_falls_back_to_an_explicit_slug(tmp_path: Path) -> None:
    write(tmp_path, "2026-11-25-wahl.md", "---\ntitle: Wahl\nslug: 'landtagswahl-ergebnis'\n---\n")
    write(tmp_path, "kaputt.md", "---\ntitle: [unclosed\n---\n")
    article = site(tmp_path).get("landtagswahl-ergebnis")
    assert article.title == "Wahl" and article.url == BASE + "landtagswahl-ergebnis"


def test_a_file_whose_slug_differs_from_its_name_is_not_found_by_name(tmp_path: Path) -> None:
    write(tmp_path, "bericht-alt.md", "---\ntitle: Alt\nslug: bericht-neu\n---\n")
    source = site(tmp_path)
    assert source.get("bericht-neu").title == "Alt"
    expected = f"no article 'bericht-alt' in {tmp_path}; did you mean: bericht-neu?"
    assert error_of(source.get, "bericht-alt") == expected


def test_unknown_slug_suggests_close_matches() -> None:
    message = error_of(site().get, "putin-xi-videogespraech")
    assert message == (f"no article 'putin-xi-videogespraech' in {SITE / 'content'}; "
                       "did you mean: putin-xi-videogespraech-partnerschaft?")
    assert error_of(site().get, "zzz") == f"no article 'zzz' in {SITE / 'content'}"
    assert error_of(site().get, "../content/rail-strike-europe").startswith("no article '../content/")


def test_missing_directory_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    assert error_of(site(missing).articles) == f"{missing}: content directory not found"


# --- bad input: one line naming file, line and field ------------------------------------------


def test_broken_yaml_names_the_file_and_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "kaputt.md", """
        ---
        title: Gut
        teaser: Auch gut
        tags: [eins, zwei
        section: Politik
        ---
    """)
    message = error_of(site(tmp_path).get, "kaputt")
    assert message.startswith(f"{path}:5: invalid YAML front matter: ")  # the line after the open list


def test_bad_indentation_points_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "a.md", "---\ntitle: A\nteaser: B\n  image: x\n---\n")
    assert error_of(site(tmp_path).get, "a").startswith(f"{path}:4: invalid YAML front matter: ")


def test_missing_or_empty_title(tmp_path: Path) -> None:
    a = write(tmp_path, "a.md", "---\nteaser: Nur ein Teaser\n---\n")
    b = write(tmp_path, "b.md", "---\ntitle: '   '\n---\n")
    c = write(tmp_path, "c.md", "---\n---\nNur Text.\n")
    for slug, path in (("a", a), ("b", b), ("c", c)):
        assert error_of(site(tmp_path).get, slug) == f"{path}: missing field 'title'"


def test_file_without_or_with_unclosed_front_matter(tmp_path: Path) -> None:
    a = write(tmp_path, "a.md", "# Nur Markdown\n")
    b = write(tmp_path, "b.md", "---\ntitle: B\n")
    expected = f"{a}:1: no front matter; the file must start with a '---' line"
    assert error_of(site(tmp_path).get, "a") == expected
    assert error_of(site(tmp_path).get, "b").startswith(f"{b}:1: front matter is not closed")


@pytest.mark.parametrize(("value", "problem"), [
    ("2026-13-45T10:00:00+01:00", "'2026-13-45T10:00:00+01:00' is not an ISO 8601 date or datetime"),
    ("'gestern'", "'gestern' is not an ISO 8601 date or datetime"),
    ("2026-02-04 18:30:00", "has no time zone"),
    ("2026-02-04", "has no time zone"),
    ("[2026]", "expected an ISO 8601 date or datetime, got list"),
])
def test_bad_published_at_names_file_line_and_field(tmp_path: Path, value: str, problem: str) -> None:
    path = write(tmp_path, "a.md", f"---\ntitle: A\nauthor: B\npublished_at: {value}\n---\n")
    message = error_of(site(tmp_path).get, "a")
    assert message.startswith(f"{path}:4: field 'published_at': ")
    assert problem in message


@pytest.mark.parametrize(("field", "value", "problem"), [
    ("tags", "{a: 1}", "field 'tags': expected a list or a comma-separated string, got a mapping"),
    ("tags", "[ok, [nested]]", "field 'tags': item 2 should be text, got a list"),
    ("teaser", "[a, b]", "field 'teaser': expected text, got a list"),
    ("title", "yes", "field 'title': expected text, got true/false"),
    ("image", "ftp://example.org/a.jpg", "field 'image': 'ftp://example.org/a.jpg' is not an http(s) URL"),
    ("slug", "'zwei worte'", "field 'slug': 'zwei worte' must not contain spaces"),
])
def test_wrong_types_name_the_field_and_line(tmp_path: Path, field: str, value: str, problem: str) -> None:
    body = f"---\nsection: S\n{field}: {value}\n" + ("title: T\n" if field != "title" else "") + "---\n"
    path = write(tmp_path, "a.md", body)
    message = error_of(site(tmp_path).articles)
    assert message.startswith(f"{path}:3: {problem}")


def test_front_matter_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "a.md", "---\n- title\n- teaser\n---\n")
    expected = f"{path}:2: front matter must be fields (key: value), got a list"
    assert error_of(site(tmp_path).get, "a") == expected


def test_duplicate_slugs_name_both_files(tmp_path: Path) -> None:
    first = write(tmp_path, "eins.md", "---\ntitle: Eins\nslug: gleich\n---\n")
    second = write(tmp_path, "zwei.md", "---\ntitle: Zwei\nslug: gleich\n---\n")
    expected = f"duplicate slug 'gleich' in {first} and {second}"
    assert error_of(site(tmp_path).articles) == expected
    assert error_of(site(tmp_path).get, "gleich") == expected


def test_edits_are_seen_by_a_long_running_source(tmp_path: Path) -> None:
    path = write(tmp_path, "a.md", "---\ntitle: Vorher\n---\n")
    source = site(tmp_path)
    assert source.get("a").title == "Vorher"
    path.write_text("---\ntitle: Nachher, länger\n---\n", encoding="utf-8")
    assert source.get("a").title == "Nachher, länger"


def test_two_files_for_one_url_are_named_and_the_second_skipped(tmp_path: Path) -> None:
    first = write(tmp_path, "eins.md", "---\ntitle: Eins\nurl: /politik/meldung/\n---\n")
    second = write(tmp_path, "zwei.md", "---\ntitle: Zwei\nurl: /politik/meldung/index.html\n---\n")
    scan = site(tmp_path).scan()
    assert [a.slug for a in scan.articles] == ["eins"] and scan.articles[0].id == BASE + "politik/meldung"
    assert [(b.where, b.reason) for b in scan.bad] == [(str(second), (
        f"{second}: field 'url': {BASE}politik/meldung/index.html is the article of {first} already"))]
    assert error_of(site(tmp_path).articles) == scan.bad[0].reason
