"""`publish --dry-run --check`: each image fetched through the safe fetcher and made ready per network, each
account's credentials tried; problems are issues on each account's post. Against the stand-ins, an image
host on 127.0.0.1 (allowed by the config's `[fetch] allow_private`) and, for Bluesky, the real PDS."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_support import Result
from cli_support import in_room as sharebot
from fakes.base import FakeAPI, Response
from fakes.pictures import picture
from pds import PDS
from standins import Newsroom

SLUG = "putin-xi-videogespraech-partnerschaft"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
PHOTO_ACCOUNTS = ("x", "mastodon", "telegram", "threads")  # configured with attach_image below
# A valid PNG header declaring 30000 x 30000 pixels: gigabytes once decoded.
def _chunk(kind: bytes, data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


BOMB = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", (30000).to_bytes(4, "big") * 2 + b"\x08\x02\x00\x00\x00") \
    + _chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="1600" height="900"/>'


@pytest.fixture
def odd_images() -> Iterator[FakeAPI]:
    host = FakeAPI()
    host.route("GET", "/ok.png", lambda req, m: Response(200, picture("rgb-1600x900.png"), {"Content-Type": "image/png"}))
    host.route("GET", "/bomb.png", lambda req, m: Response(200, BOMB, {"Content-Type": "image/png"}))
    host.route("GET", "/drawing.svg", lambda req, m: Response(200, SVG, {"Content-Type": "image/svg+xml"}))
    host.route("GET", "/huge.jpg", lambda req, m: Response(200, b"\xff" * 15_000_001, {"Content-Type": "image/jpeg"}))
    host.route("GET", "/gone.png", lambda req, m: Response(404, b"Not Found", {"Content-Type": "text/plain"}))
    with host:
        yield host


def room_with_image(room: Newsroom, root: Path, image: str) -> Newsroom:
    content = room.write_site(root, [SLUG])
    page = content / f"{SLUG}.md"
    page.write_text(page.read_text(encoding="utf-8").replace(room.image_url(SLUG), image), encoding="utf-8")
    config = room.write_config(root).read_text(encoding="utf-8")
    for name in PHOTO_ACCOUNTS:
        config = config.replace(f'network = "{name}"\n', f'network = "{name}"\nattach_image = true\n', 1)
    # a Threads image post takes no link attachment: the link goes in the text
    config = config.replace('network = "threads"\n', 'network = "threads"\ntemplate = "{title}\\n\\n{link}"\n', 1)
    room.config.write_text(config, encoding="utf-8")
    return room


def issues_by_account(result: Result) -> dict[str, list[dict[str, str]]]:
    return {post["account"]: post["issues"] for post in json.loads(result.stdout)["posts"]}


def codes(issues: list[dict[str, str]], *wanted: str) -> list[tuple[str, str]]:
    return [(i["severity"], i["code"]) for i in issues if i["code"] in wanted]


def assert_nothing_queued_or_sent(room: Newsroom, root: Path) -> None:
    assert room.posted() == {name: 0 for name in room.posted()}
    assert not (root / "var" / "sharebot.db").exists()


def test_a_good_image_and_good_credentials_pass_and_the_plain_dry_run_stays_offline(
        newsroom: Newsroom, odd_images: FakeAPI, tmp_path: Path) -> None:
    room = room_with_image(newsroom, tmp_path, f"{odd_images.url}/ok.png")

    plain = sharebot(room, "publish", SLUG, "--dry-run", "--json")
    assert plain.exit_code == 0, plain.output
    assert odd_images.requests == [] and room.mastodon.requests == []  # offline: no image, no credential check

    checked = sharebot(room, "publish", SLUG, "--dry-run", "--check", "--json")
    assert checked.exit_code == 0, checked.output
    found = issues_by_account(checked)
    assert {name: codes(issues, "image", "image-unchecked", "credential-rejected", "unreachable")
            for name, issues in found.items()} == {name: [] for name in found}
    assert len(odd_images.requests) == 1  # one fetch for all the accounts that use the image
    assert "/api/v1/accounts/verify_credentials" in [r.path for r in room.mastodon.requests]
    assert {r.method for r in room.mastodon.requests} == {"GET"}
    assert_nothing_queued_or_sent(room, tmp_path)


@pytest.mark.parametrize("name, why", [
    ("bomb.png", "more than 40 megapixels; it is not decoded"),
    ("drawing.svg", "SVG"),
    ("huge.jpg", "15000001 bytes is more than the limit"),
    ("gone.png", "HTTP 404"),
])
def test_an_image_no_network_can_use_is_an_issue_on_each_account_that_uses_it(
        newsroom: Newsroom, odd_images: FakeAPI, tmp_path: Path, name: str, why: str) -> None:
    room = room_with_image(newsroom, tmp_path, f"{odd_images.url}/{name}")

    result = sharebot(room, "publish", SLUG, "--dry-run", "--check", "--json")

    assert result.exit_code == 3, result.output
    found = issues_by_account(result)
    for account in PHOTO_ACCOUNTS:  # the photo replaces the card: the post would fail
        assert codes(found[account], "image") == [("error", "image")], (account, found[account])
    assert codes(found["linkedin"], "image") == [("warning", "image")]  # the card goes without its thumbnail
    assert codes(found["facebook"], "image") == []  # Facebook reads the page's own og:image
    for account, issues in found.items():
        for issue in issues:
            if issue["code"] == "image":
                assert "<" not in issue["message"] and "object at" not in issue["message"], issue
                if not (account == "threads" and name == "drawing.svg"):
                    assert why in issue["message"], (account, issue)
    if name == "drawing.svg":  # Meta fetches the picture itself and takes it as served
        assert "Threads takes JPEG or PNG; the article image is image/svg+xml" in str(found["threads"])
    assert "4 post(s) would be refused: x, mastodon, threads, telegram" in result.stderr
    assert_nothing_queued_or_sent(room, tmp_path)

    text = sharebot(room, "publish", SLUG, "--dry-run", "--check")
    assert text.exit_code == 3 and "BLOCKED" in text.stdout and why in text.stdout


def test_a_photo_threads_cannot_take_is_an_issue_though_others_convert_it(
        newsroom: Newsroom, tmp_path: Path) -> None:
    room = room_with_image(newsroom, tmp_path, f"{newsroom.images.url}/rgb-800x450.webp")
    found = issues_by_account(sharebot(room, "publish", SLUG, "--dry-run", "--check", "--json"))
    assert codes(found["threads"], "image") == [("error", "image")]
    assert "Threads takes JPEG or PNG; the article image is image/webp" in str(found["threads"])
    assert [codes(found[a], "image") for a in ("x", "mastodon", "telegram", "linkedin")] == [[]] * 4


def test_a_wrong_credential_is_an_issue_and_nothing_is_queued(newsroom: Newsroom, tmp_path: Path) -> None:
    room = room_with_image(newsroom, tmp_path, newsroom.image_url(SLUG))
    wrong = {"SHAREBOT_MASTODON_ACCESS_TOKEN": "wrong-token-123456"}

    result = sharebot(room, "publish", SLUG, "--dry-run", "--check", "--json", env=wrong)

    assert result.exit_code == 3, result.output
    found = issues_by_account(result)
    assert codes(found["mastodon"], "credential-rejected") == [("error", "credential-rejected")]
    assert "wrong-token-123456" not in result.output
    assert [a for a, issues in found.items() if codes(issues, "credential-rejected")] == ["mastodon"]
    assert "cannot post until their credentials are set or corrected" in result.stderr and "mastodon" in result.stderr
    assert [r.method for r in room.mastodon.requests] == ["GET"]
    assert_nothing_queued_or_sent(room, tmp_path)
    text = sharebot(room, "publish", SLUG, "--dry-run", "--check", env=wrong)
    assert "CANNOT POST" in text.stdout


def test_a_wrong_bluesky_app_password_is_an_issue(newsroom: Newsroom, pds: PDS, tmp_path: Path) -> None:
    newsroom.add_bluesky(pds)
    room = room_with_image(newsroom, tmp_path, newsroom.image_url(SLUG))

    good = sharebot(room, "publish", SLUG, "--dry-run", "--check", "--json", "--network", "bluesky")
    assert good.exit_code == 0, good.output
    assert codes(issues_by_account(good)["bluesky"], "image", "credential-rejected") == []
    bad = sharebot(room, "publish", SLUG, "--dry-run", "--check", "--json", "--network", "bluesky",
                   env={"SHAREBOT_BLUESKY_APP_PASSWORD": "wrong-app-password"})
    assert bad.exit_code == 3, bad.output
    assert codes(issues_by_account(bad)["bluesky"], "credential-rejected") == [("error", "credential-rejected")]
    assert "wrong-app-password" not in bad.output


def test_bluesky_card_thumb_over_budget_after_recompression_is_checked(newsroom: Newsroom, pds: PDS,
                                                                      tmp_path: Path) -> None:
    newsroom.add_bluesky(pds)
    # noise does not compress: 1600 x 900 of it is well over 1,000,000 bytes as PNG, and fits once re-encoded
    room = room_with_image(newsroom, tmp_path, f"{newsroom.images.url}/noise-1600x900.png")
    result = sharebot(room, "publish", SLUG, "--dry-run", "--check", "--json", "--network", "bluesky")
    assert result.exit_code == 0, result.output
    assert codes(issues_by_account(result)["bluesky"], "image") == []


def test_check_without_dry_run_is_a_usage_error(newsroom: Newsroom, tmp_path: Path) -> None:
    room = room_with_image(newsroom, tmp_path, newsroom.image_url(SLUG))
    result = sharebot(room, "publish", SLUG, "--check")
    assert result.exit_code == 2 and "--check goes with --dry-run" in result.stderr
    assert_nothing_queued_or_sent(room, tmp_path)


def test_a_picture_sent_as_served_is_still_held_to_the_pixel_cap() -> None:
    from sharebot.errors import Rejected
    from sharebot.images import Image, ready

    small = picture("rgb-64x64.png")
    assert ready(Image(small, "image/png"), 5_000_000, network="x", keep={"image/png"}).data == small
    with pytest.raises(Rejected, match="more than 40 megapixels"):  # X and Mastodon upload a PNG as served
        ready(Image(BOMB, "image/png"), 5_000_000, network="x", keep={"image/png"})
    with pytest.raises(Rejected, match="not in a format"):
        ready(Image(b"\x00" * 100, "image/png"), 5_000_000, network="x", keep={"image/png"})


class EchoingAdapter:
    """An adapter whose network answers the check by quoting the token it was sent, as some APIs do."""

    def __init__(self, state: str, detail: str) -> None:
        self.state, self.detail = state, detail

    def check(self):
        from sharebot.adapters.base import AccountState, AccountStatus

        return AccountStatus("mastodon", AccountState(self.state), self.detail)


@pytest.mark.parametrize("state", ["rejected", "unreachable"])
def test_a_token_the_network_echoes_is_masked_in_the_check(state: str) -> None:
    from conftest import EXAMPLE_CONFIG

    from sharebot.config import load_settings
    from sharebot.preflight import _account_issues

    token = "echoed-token-1234567890"
    settings = load_settings(EXAMPLE_CONFIG, {"SHAREBOT_MASTODON_ACCESS_TOKEN": token},
                             dotenv_path=EXAMPLE_CONFIG.parent / "none.env")
    [issue] = _account_issues(settings, "mastodon", lambda name: EchoingAdapter(state, f"token {token} refused"))
    assert token not in issue.message and "refused" in issue.message
