"""`sharebot preview`: one self-contained page drawn from the dry run's own posts, each marked the way its
network marks links, tags and mentions; bad input is one line and writes nothing."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import NETWORK_MODULES, fresh_process, sharebot
from conftest import EXAMPLE_CONFIG, ROOT, SEED_SLUG
from test_cli_dry_run import CREDENTIALS, NOW

from sharebot.models import Card, Facet, RenderedPost
from sharebot.networks import Network
from sharebot.preview_html import segments, shown_text

NETWORKS = ("x", "bluesky", "mastodon", "linkedin", "facebook", "threads", "telegram", "whatsapp")


def run(*args: str, env: dict[str, str] | None = None):
    return sharebot("--config", str(EXAMPLE_CONFIG), *args, env={**CREDENTIALS, **(env or {})}, now=NOW)


def posts_of(page: str) -> dict[str, str]:
    """Each <article> of the page by its account."""
    return {account: whole for whole, account in re.findall(
        r'(<article class="post[^"]*" id="post-[^"]+"\s+data-network="[^"]+" data-account="([^"]+)".*?</article>)',
        page, re.S)}


def text_of(fragment: str) -> str:
    """A post's text from the page: the .text div without its markup, each shortened link as its whole URL."""
    inner = re.search(r'<div class="text"[^>]*>(.*?)</div>', fragment, re.S)
    assert inner
    whole = re.sub(r'<a class="link"[^>]*title="([^"]*)"[^>]*>.*?</a>', r"\1", inner.group(1))
    return html.unescape(re.sub(r"<[^>]+>", "", whole))


def test_the_page_shows_every_account_from_the_dry_runs_own_posts():
    page = run("preview", SEED_SLUG)
    dry = json.loads(run("publish", SEED_SLUG, "--dry-run", "--json").stdout)
    assert page.exit_code == 0, page.output
    posts = posts_of(page.stdout)
    assert list(posts) == [p["account"] for p in dry["posts"]] and set(posts) == set(NETWORKS)
    for post in dry["posts"]:
        fragment = posts[post["account"]]
        assert f'{post["length"]} / {post["limit"]} {post["unit"]}' in fragment
        assert "<dt>language</dt><dd>de</dd>" in fragment
        assert text_of(fragment) == post["text"]
        card = post["card"]
        assert html.escape(card["title"], quote=True) in fragment and "nachrichten.sharebot-demo.de" in fragment
    # Bluesky's tags are its facets; X's and Mastodon's as their own detection finds them
    assert posts["bluesky"].count('<span class="tag">') == 3
    assert posts["mastodon"].count('<span class="tag">') == 4 and posts["x"].count('<span class="tag">') == 2
    assert posts["telegram"].count('<a class="link"') == 1 and posts["facebook"].count('<a class="link"') == 0
    assert '>nachrichten.sharebot-demo.de/p…</a>' in posts["x"]  # as X shows a long link
    assert "share link only" in posts["whatsapp"]
    assert 'data-status="ok"' in page.stdout and "CANNOT POST" not in page.stdout


def test_blocked_accounts_are_marked_and_the_command_exits_3_after_writing(tmp_path):
    out = tmp_path / "preview.html"
    result = run("preview", SEED_SLUG, "--output", str(out), env={"SHAREBOT_TELEGRAM_BOT_TOKEN": ""})
    assert result.exit_code == 3 and result.stdout == f"preview written to {out}\n"
    assert result.stderr.strip().endswith("(marked on the page): telegram") and result.stderr.count("\n") == 1
    telegram = posts_of(out.read_text(encoding="utf-8"))["telegram"]
    assert 'data-status="cannot-post"' in telegram and "CANNOT POST" in telegram
    assert "missing-credential" in telegram and "SHAREBOT_TELEGRAM_BOT_TOKEN" in telegram


def test_the_page_asks_for_nothing_from_anywhere():
    page = run("preview", SEED_SLUG).stdout
    assert not re.search(r"<(script|link|img|iframe|object|embed)\b", page, re.I)
    assert not re.search(r"\b(src|srcset)=|url\(|@import", page, re.I)
    assert "default-src 'none'" in page  # and the browser is told to refuse anything all the same
    assert "nachrichten.sharebot-demo.de/bilder/putin-xi-videogespraech.jpg" in page  # named, not loaded


def test_article_text_is_escaped_not_markup(tmp_path):
    (tmp_path / "boese.md").write_text('---\ntitle: "<script>alert(1)</script> Tom & Jerry"\nteaser: "a <b>bold</b> '
                                       'claim"\n---\nText\n', encoding="utf-8")
    result = run("--content", str(tmp_path), "preview", "boese")
    assert "<script>alert" not in result.stdout and "&lt;script&gt;alert(1)&lt;/script&gt; Tom &amp; Jerry" in result.stdout
    assert "<b>bold</b>" not in result.stdout and "&lt;b&gt;bold&lt;/b&gt;" in result.stdout


def test_an_unknown_slug_is_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "preview.html"
    result = run("preview", "gibt-es-nicht", "--output", str(out))
    assert result.exit_code == 1 and result.stdout == "" and result.stderr.count("\n") == 1
    assert "no article 'gibt-es-nicht'" in result.stderr and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("target, problem", [
    ("missing-dir/preview.html", "No such file or directory"),
    ("a-directory", "is a directory"),
    ("a-file/preview.html", "Not a directory"),
])
def test_an_output_that_cannot_be_written_is_one_line_and_leaves_nothing(tmp_path, target, problem):
    (tmp_path / "a-directory").mkdir()
    (tmp_path / "a-file").write_text("an old file", encoding="utf-8")
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    result = run("preview", SEED_SLUG, "--output", str(tmp_path / target))
    after = sorted(str(p) for p in tmp_path.rglob("*"))
    assert result.exit_code == 1 and result.stdout == "" and result.stderr.count("\n") == 1
    assert f"--output {tmp_path / target}: cannot write" in result.stderr and problem in result.stderr
    assert after == before and (tmp_path / "a-file").read_text(encoding="utf-8") == "an old file"


def test_an_output_over_an_old_page_replaces_it_whole(tmp_path):
    out = tmp_path / "preview.html"
    out.write_text("old", encoding="utf-8")
    assert run("preview", SEED_SLUG, "-o", str(out)).exit_code == 0
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>") and [p.name for p in tmp_path.iterdir()] == \
        ["preview.html"]


def test_linkedin_text_is_shown_without_its_escapes_and_facets_mark_bluesky():
    post = RenderedPost("li", Network.LINKEDIN, r"Wahl \(Bund\) \@heute #Wahl", 0, 3000, "u", None, None, "de")
    assert shown_text(post) == "Wahl (Bund) @heute #Wahl"
    assert [s.kind for s in segments(post, shown_text(post))] == ["", "mention", "", "tag"]
    text = "Neu: #Wahl 🗳️ bei @nachrichten.bsky.social"
    sky = RenderedPost("b", Network.BLUESKY, text, 0, 300, "g", None, Card("u", "t", "d"), "de",
                       facets=(Facet(5, 10, "tag", "Wahl"),))  # only what the facets say is marked
    assert [(s.text, s.kind) for s in segments(sky, text)] == [("Neu: ", ""), ("#Wahl", "tag"),
                                                                (" 🗳️ bei @nachrichten.bsky.social", "")]


@pytest.mark.slow  # a subprocess
def test_open_hands_the_written_page_to_the_browser(tmp_path):
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n', encoding="utf-8")
    browser.chmod(0o755)
    out = tmp_path / "p.html"
    env = {**os.environ, **CREDENTIALS, "BROWSER": str(browser), "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run([sys.executable, "-m", "sharebot", "--config", str(EXAMPLE_CONFIG), "preview", SEED_SLUG,
                           "--output", str(out), "--open"], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert opened.read_text(encoding="utf-8").strip() == out.as_uri() and Path(out).is_file()


def test_preview_imports_no_sdk_and_no_web_framework():
    env = {**os.environ, **CREDENTIALS, "PYTHONPATH": str(ROOT / "src")}
    run = fresh_process([["--config", str(EXAMPLE_CONFIG), "preview", SEED_SLUG]],
                        [*NETWORK_MODULES, "starlette", "uvicorn", "jinja2"], env=env)
    assert run.codes == [0]
    assert run.loaded == ["jinja2"]
