"""The preview page and the desk in a real browser (headless Chromium): each network's post is drawn, blocked
accounts are marked, actions work through the confirmation form, and no request goes anywhere but the file
itself or the desk on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_support import CHROMIUM, chromium, guarded_page
from cli_support import sharebot
from conftest import EXAMPLE_CONFIG, SEED_SLUG
from desk_support import running_desk
from test_cli_dry_run import CREDENTIALS, NOW

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (.ci/run installs Debian's `chromium`)"),
]
pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the test extra has it)")
pytest.importorskip("starlette", reason="the desk extra is not installed: pip install -e '.[desk]'")

NETWORKS = ("x", "bluesky", "mastodon", "linkedin", "facebook", "threads", "telegram", "whatsapp")
TOKEN = "browser-test-token-not-a-secret"
# Each network's own colour for links and tags, as the page draws them.
TAG_COLOURS = {"x": "rgb(29, 155, 240)", "bluesky": "rgb(16, 131, 254)", "mastodon": "rgb(86, 58, 204)",
               "linkedin": "rgb(10, 102, 194)"}


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


def test_the_preview_page_in_chromium(browser, tmp_path):
    out = tmp_path / "preview.html"
    result = sharebot("--config", str(EXAMPLE_CONFIG), "preview", SEED_SLUG, "--output", str(out),
                      env={**CREDENTIALS, "SHAREBOT_TELEGRAM_BOT_TOKEN": ""}, now=NOW)
    assert result.exit_code == 3, result.output
    page, seen = guarded_page(browser, (out.as_uri(),), viewport={"width": 1280, "height": 900})
    page.goto(out.as_uri())
    for network in NETWORKS:
        post = page.locator(f'article.post[data-network="{network}"]')
        assert post.count() == 1 and post.is_visible()
        assert post.locator(".who .name").inner_text() == "Nachrichten Demo"
        card = post.locator(".card")
        assert card.is_visible() and card.bounding_box()["height"] > 100, network
        assert "nachrichten.sharebot-demo.de" in card.inner_text()
        assert post.locator(".facts").inner_text().count("language") == 1
    for network, colour in TAG_COLOURS.items():
        tag = page.locator(f'article[data-network="{network}"] .text .tag').first
        assert tag.evaluate("e => getComputedStyle(e).color") == colour, network
    telegram = page.locator('article[data-account="telegram"]')
    assert telegram.locator(".badge-cannot").inner_text() == "CANNOT POST"
    assert "SHAREBOT_TELEGRAM_BOT_TOKEN" in telegram.locator(".issue.error").inner_text()
    assert telegram.evaluate("e => getComputedStyle(e).borderTopColor") == "rgb(217, 45, 32)"
    assert page.locator('article[data-status="cannot-post"]').count() == 1
    assert page.locator(".n-cannot").inner_text() == "1 cannot post"
    assert seen == [out.as_uri()]


def test_the_desk_in_chromium_schedules_behind_the_token(browser, tmp_path):
    from sharebot.config import load_settings

    settings = load_settings(EXAMPLE_CONFIG, {"SHAREBOT_DATABASE_URL": str(tmp_path / "queue.db"),
                                              "SHAREBOT_X_BEARER_TOKEN": "browser-test-not-a-secret"},
                             dotenv_path=Path(tmp_path / "none.env"))
    with running_desk(settings, clock=lambda: NOW, token=TOKEN) as url:
        page, seen = guarded_page(browser, (url + "/",), viewport={"width": 1280, "height": 900})
        page.goto(url + "/")
        assert page.locator("table.articles tbody tr").count() == 10
        page.locator(f'tr[data-slug="{SEED_SLUG}"] a').first.click()
        page.wait_for_url(f"{url}/articles/{SEED_SLUG}")
        for network in NETWORKS:
            assert page.locator(f'article.post[data-network="{network}"]').is_visible()
        # only X has a credential: every other account that needs one is marked; WhatsApp needs none
        assert page.locator('article[data-status="cannot-post"]').count() == 6
        page.get_by_role("button", name="Schedule…").click()
        page.wait_for_url(f"{url}/confirm/schedule?target={SEED_SLUG}")
        page.fill('input[name="at"]', "+2h")
        page.fill('input[name="token"]', "wrong")
        page.get_by_role("button", name="Schedule", exact=True).click()
        assert "wrong token" in page.locator(".error-box").inner_text()
        page.go_back()
        page.fill('input[name="token"]', TOKEN)
        page.fill('input[name="at"]', "+2h")
        page.get_by_role("button", name="Schedule", exact=True).click()
        result = page.locator(".result").inner_text()
        assert "x" in result and "scheduled" in result and "cannot post" in result
        page.goto(url + "/")
        row = page.locator(f'tr[data-slug="{SEED_SLUG}"]')
        assert row.locator('td[data-account="x"]').inner_text().startswith("queued")
        assert row.locator('td[data-account="bluesky"]').inner_text() == "–"
        page.goto(f"{url}/articles/{SEED_SLUG}")  # the queued post goes out when its job is due
        assert page.locator('article[data-account="x"] .facts .when').inner_text() == "Wed 2026-11-25 12:00 CET"
        page.goto(url + "/plan")
        assert page.locator('h2[data-account="x"]').is_visible()
    assert seen and all(u.startswith(url + "/") for u in seen), [u for u in seen if not u.startswith(url)]
    assert TOKEN not in page.content()
