"""`sharebot publish --dry-run` and `sharebot links`, end to end through the CLI."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_support import NETWORK_MODULES, fresh_process, sharebot
from conftest import EXAMPLE_CONFIG, EXAMPLE_CONTENT, ROOT, SEED_SLUG

ALL_NETWORKS = {"x", "bluesky", "mastodon", "linkedin", "facebook", "threads", "telegram", "whatsapp"}


NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # the dry runs plan post times: on a fixed clock
# A value for every credential the example accounts cannot post without: a missing one is an error in the dry
# run (see test_a_missing_credential_is_an_error_in_the_dry_run). Never sent anywhere.
CREDENTIALS = {f"SHAREBOT_{name}": "dry-run-not-a-real-secret" for name in (
    "X_CONSUMER_KEY", "X_CONSUMER_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET",
    "BLUESKY_APP_PASSWORD", "MASTODON_ACCESS_TOKEN", "LINKEDIN_ACCESS_TOKEN", "FACEBOOK_PAGE_ACCESS_TOKEN",
    "THREADS_ACCESS_TOKEN", "TELEGRAM_BOT_TOKEN")}


def run(*args: str, env: dict[str, str] | None = None):
    return sharebot("--config", str(EXAMPLE_CONFIG), *args, env={**CREDENTIALS, **(env or {})}, now=NOW)


def test_dry_run_json_has_a_post_for_every_network():
    result = run("publish", SEED_SLUG, "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["article"]["slug"] == SEED_SLUG and doc["article"]["section"] == "Geopolitik"
    assert {p["network"] for p in doc["posts"]} == ALL_NETWORKS
    keys = {"account", "network", "text", "length", "limit", "unit", "link", "card", "language", "facets",
            "share_url", "issues", "scheduled_at", "image", "options"}
    for post in doc["posts"]:
        assert set(post) == keys
        assert 0 < post["length"] <= post["limit"]
        assert post["language"] == "de"
        assert f"utm_source={post['network']}" in post["link"]
    whatsapp = next(p for p in doc["posts"] if p["network"] == "whatsapp")
    assert whatsapp["share_url"].startswith("https://wa.me/?text=")
    bluesky = next(p for p in doc["posts"] if p["network"] == "bluesky")
    assert bluesky["card"]["image"] and bluesky["facets"]


def test_dry_run_text_shows_each_post_with_its_measure():
    result = run("publish", SEED_SLUG, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Putin und Xi" in result.output
    for network in ALL_NETWORKS:
        assert f"({network})" in result.output
    assert "/280 weighted characters" in result.output
    assert "/300 graphemes" in result.output


def test_network_and_account_narrow_the_output():
    doc = json.loads(run("publish", SEED_SLUG, "--dry-run", "--json", "--network", "x,bluesky").output)
    assert {p["network"] for p in doc["posts"]} == {"x", "bluesky"}
    doc = json.loads(run("publish", SEED_SLUG, "--dry-run", "--json", "--account", "mastodon").output)
    assert [p["account"] for p in doc["posts"]] == ["mastodon"]


@pytest.mark.slow  # walks the whole checkout, .venv included
def test_dry_run_needs_no_credentials_and_writes_nothing(tmp_path):
    before = sorted(p for p in ROOT.rglob("*") if ".git" not in p.parts and "__pycache__" not in p.parts)
    result = sharebot("--config", str(EXAMPLE_CONFIG), "publish", SEED_SLUG, "--dry-run", env={"HOME": str(tmp_path)},
                      now=NOW)
    after = sorted(p for p in ROOT.rglob("*") if ".git" not in p.parts and "__pycache__" not in p.parts)
    # It runs without any credential; each account that would post says which one it lacks (exit 3).
    assert result.exit_code == 3 and result.output.count("✗ missing-credential") == 7
    assert [p for p in after if p not in before and ".pytest_cache" not in p.parts and ".hypothesis" not in p.parts] == []


def test_unknown_slug_suggests_close_matches():
    result = sharebot("--config", str(EXAMPLE_CONFIG), "publish", "putin-xi-videogesprach", "--dry-run")
    assert result.exit_code == 1
    assert "no article 'putin-xi-videogesprach'" in result.output
    assert SEED_SLUG in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args, message", [
    (["--network", "myspace"], "unknown network 'myspace'"),
    (["--account", "nobody"], "no account 'nobody'"),
])
def test_bad_options_are_one_line_errors(args, message):
    result = sharebot("--config", str(EXAMPLE_CONFIG), "publish", SEED_SLUG, "--dry-run", *args)
    assert result.exit_code == 1 and message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_broken_config_is_named(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[site\n")
    result = sharebot("--config", str(bad), "publish", SEED_SLUG, "--dry-run")
    assert result.exit_code == 1 and str(bad) in result.output and "Traceback" not in result.output


def test_content_option_overrides_the_source(tmp_path):
    (tmp_path / "eigene.md").write_text("---\ntitle: Eigener Artikel\n---\nText\n", encoding="utf-8")
    result = sharebot("--config", str(EXAMPLE_CONFIG), "--content", str(tmp_path), "publish",
                                      "eigene", "--dry-run", "--json", "--network", "x", env=CREDENTIALS)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["posts"][0]["text"].startswith("Eigener Artikel")


def test_links_lists_every_share_target_encoded():
    result = run("links", SEED_SLUG)
    assert result.exit_code == 0, result.output
    for label in ("X", "Bluesky", "LinkedIn", "Facebook", "WhatsApp", "Telegram", "Threads", "Mastodon"):
        assert any(line.startswith(label) for line in result.output.splitlines())
    assert "https://wa.me/?text=Putin%20und%20Xi" in result.output
    assert " " not in result.output.splitlines()[0].split()[-1]


def test_links_html_snippet():
    result = run("links", SEED_SLUG, "--html")
    assert result.output.startswith('<ul class="sharebot-share">')
    assert 'rel="noopener noreferrer"' in result.output and "&amp;url=" in result.output


def test_dry_run_does_not_import_network_sdks_or_the_web_libraries():
    env = {**os.environ, **CREDENTIALS, "PYTHONPATH": str(ROOT / "src")}
    dry_run = ["--config", str(EXAMPLE_CONFIG), "publish", SEED_SLUG, "--dry-run"]
    run = fresh_process([[*dry_run, "--json"], dry_run],
                        [*NETWORK_MODULES, "feedparser", "shtab", "sharebot.terminal", "jinja2", "markupsafe",
                         "starlette", "uvicorn"], env=env, cwd=Path(EXAMPLE_CONTENT).parent)
    assert run.codes == [0, 0]
    assert run.loaded == []


def test_dry_run_of_an_article_page_url(tmp_path):
    from fakes.base import FakeAPI, Response

    page = (ROOT / "examples" / "site" / "pages" / f"{SEED_SLUG}.html").read_bytes()
    server = FakeAPI()
    server.route("GET", rf"/{SEED_SLUG}", lambda req, m: Response(200, page, {"Content-Type": "text/html"}))
    server.start()
    try:
        # The page server listens on loopback, which only a config that allows it may reach.
        local = tmp_path / "sharebot.toml"
        local.write_text(EXAMPLE_CONFIG.read_text(encoding="utf-8") + '\n[fetch]\nallow_private = ["127.0.0.1"]\n',
                         encoding="utf-8")
        refused = run("publish", f"{server.url}/{SEED_SLUG}", "--dry-run")
        result = sharebot("--config", str(local), "publish", f"{server.url}/{SEED_SLUG}", "--dry-run", "--json",
                          "--network", "bluesky", env=CREDENTIALS)
        missing = sharebot("--config", str(local), "publish", f"{server.url}/gibt-es-nicht", "--dry-run")
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["article"]["title"].startswith("Putin und Xi") and doc["article"]["language"].startswith("de")
    assert doc["posts"][0]["card"]["image"]
    assert missing.exit_code == 1 and "gibt-es-nicht" in missing.stderr and "404" in missing.stderr
    assert refused.exit_code == 1 and "127.0.0.1 is a loopback address" in refused.stderr


def test_a_missing_credential_is_an_error_in_the_dry_run():
    env = {**CREDENTIALS, "SHAREBOT_TELEGRAM_BOT_TOKEN": ""}
    result = sharebot("--config", str(EXAMPLE_CONFIG), "publish", SEED_SLUG, "--dry-run", "--json", env=env, now=NOW)
    assert result.exit_code == 3 and "1 account(s) cannot post until their credentials are set" in result.stderr
    assert result.stderr.rstrip().endswith(": telegram") and "would be refused" not in result.stderr
    [telegram] = [p for p in json.loads(result.stdout)["posts"] if p["network"] == "telegram"]
    assert {"severity": "error", "code": "missing-credential",
            "message": "credential not set: SHAREBOT_TELEGRAM_BOT_TOKEN"} in telegram["issues"]
    # share links need no credentials
    others = [i for p in json.loads(result.stdout)["posts"] if p["network"] != "telegram" for i in p["issues"]]
    assert [i for i in others if i["severity"] == "error"] == []


def test_the_bundled_configs_stagger_spreads_the_accounts_sharing_a_slot():
    # The accounts on the default [schedule] (stagger = "5m") share the next slot; each goes 5 minutes after the
    # one before it in the config rather than all in the same minute.
    result = run("publish", SEED_SLUG, "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    times = {p["account"]: datetime.fromisoformat(p["scheduled_at"]) for p in json.loads(result.output)["posts"]
             if p["scheduled_at"]}
    staggered = [times[name] for name in ("mastodon", "linkedin", "facebook", "threads")]
    assert len(set(staggered)) == 4
    assert [b - a for a, b in zip(staggered, staggered[1:], strict=False)] == [timedelta(minutes=5)] * 3
    text = run("publish", SEED_SLUG, "--dry-run").stdout
    whens = [line.split(None, 1)[1] for line in text.splitlines() if line.strip().startswith("when ")]
    assert len(set(whens)) >= 5, whens  # "now" for the paced accounts, then four distinct times



def test_x_cannot_post_until_one_of_its_credential_sets_is_complete():
    bare = {k: v for k, v in CREDENTIALS.items() if not k.startswith("SHAREBOT_X_")}

    def x_errors(env: dict[str, str]) -> list[str]:
        result = sharebot("--config", str(EXAMPLE_CONFIG), "publish", SEED_SLUG, "--dry-run", "--json",
                          "--network", "x", env=env, now=NOW)
        [x] = json.loads(result.stdout)["posts"]
        return [i["message"] for i in x["issues"] if i["severity"] == "error"]

    assert x_errors(bare) == ["credential not set: SHAREBOT_X_CONSUMER_KEY, SHAREBOT_X_CONSUMER_SECRET, "
                              "SHAREBOT_X_ACCESS_TOKEN, SHAREBOT_X_ACCESS_TOKEN_SECRET"]
    # a set begun is the one asked for; either complete set is enough
    assert x_errors({**bare, "SHAREBOT_X_CONSUMER_KEY": "k"}) == [
        "credential not set: SHAREBOT_X_CONSUMER_SECRET, SHAREBOT_X_ACCESS_TOKEN, SHAREBOT_X_ACCESS_TOKEN_SECRET"]
    assert x_errors({**bare, "SHAREBOT_X_BEARER_TOKEN": "user-token"}) == []
