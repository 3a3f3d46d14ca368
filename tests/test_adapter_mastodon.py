from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from fakes.base import Clock, FakeAPI
from fakes.mastodon import FakeMastodon, linkify
from PIL import Image

from sharebot.adapters import make_adapter
from sharebot.adapters.base import AdapterContext, Delivery, RemotePost, Secret
from sharebot.adapters.http import retry_after
from sharebot.adapters.mastodon import MastodonAdapter, is_post_of
from sharebot.errors import AuthError, ConfigError, NotSent, PublishError, RateLimited, Rejected, Unconfirmed
from sharebot.fetch import FetchPolicy
from sharebot.jobs import PublishResult
from sharebot.models import Account, Network, RenderedPost

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
LOOPBACK = FetchPolicy(allow_private=("127.0.0.1",))  # the image hosts in these tests listen on loopback
LINK = "https://news.example/politik/wahl-2026-ergebnisse-im-ueberblick?utm_source=mastodon&utm_medium=social"
TEXT = f"Wahl 2026: Das Ergebnis im Überblick #Wahl2026\n\n{LINK}"


@pytest.fixture
def api(clock: Clock) -> Iterator[FakeMastodon]:
    with FakeMastodon(clock=clock) as fake:
        yield fake


def adapter(api: FakeMastodon | str, tmp_path: Path, token: str | None = None, *, timeout: float = 10.0,
            **options: Any) -> MastodonAdapter:
    base = api if isinstance(api, str) else api.url
    account = Account("house-masto", Network.MASTODON, options={"instance": base, **options},
                      secrets={"access_token": "MASTODON_TOKEN"})
    value = token or (api.token if isinstance(api, FakeMastodon) else "FAKE-mastodon-access-token-6")
    context = AdapterContext(tmp_path / "state", timeout=timeout, fetch_policy=LOOPBACK)
    made = make_adapter(account, {"access_token": Secret(value)}, context)
    assert isinstance(made, MastodonAdapter)
    return made


def post(text: str = TEXT, link: str | None = LINK, **options: Any) -> RenderedPost:
    return RenderedPost("house-masto", Network.MASTODON, text, 80, 500, "characters", link, None, "de",
                        image=options.pop("image", None), image_alt="Stimmzettel in einer Urne", options=options)


def delivery(m: MastodonAdapter, p: RenderedPost, now: datetime | None = None, key: str = "job-7") -> Delivery:
    first = Delivery(key, now or NOW)
    return Delivery(first.key, first.now, m.prepare(p, first))


def creates(api: FakeMastodon) -> list[Any]:
    return [r for r in api.requests if r.method == "POST" and r.path == "/api/v1/statuses"]


# --- configuration -----------------------------------------------------------------------------------
def test_instance_and_token_are_required(api: FakeMastodon, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="instance"):
        make_adapter(Account("m", Network.MASTODON), {"access_token": Secret("x")}, AdapterContext(tmp_path))
    with pytest.raises(ConfigError, match="visibility 'followers'"):
        adapter(api, tmp_path, visibility="followers")
    with pytest.raises(AuthError, match="MASTODON_TOKEN"):
        make_adapter(Account("m", Network.MASTODON, {"instance": api.url}, {"access_token": "MASTODON_TOKEN"}),
                     {}, AdapterContext(tmp_path))


# --- publish -----------------------------------------------------------------------------------------
def test_publish_sends_text_language_visibility_and_the_jobs_idempotency_key(api: FakeMastodon,
                                                                             tmp_path: Path) -> None:
    m = adapter(api, tmp_path)
    result = m.publish(post(), delivery(m, post()))
    [sent] = creates(api)
    form = parse_qs(sent.body.decode())
    assert form["status"] == [TEXT]
    assert form["language"] == ["de"] and form["visibility"] == ["public"]
    assert "media_ids[]" not in form
    assert sent.headers["idempotency-key"] == "job-7"
    assert sent.headers["authorization"] == f"Bearer {api.token}"
    assert result.remote_id in api.statuses
    assert result.url == f"https://social.example/@newsroom/{result.remote_id}"


def test_visibility_comes_from_the_account_options(api: FakeMastodon, tmp_path: Path) -> None:
    m = adapter(api, tmp_path, visibility="unlisted")
    made = m.publish(post(), delivery(m, post()))
    assert api.statuses[made.remote_id]["visibility"] == "unlisted"


def test_attach_image_uploads_media_with_alt_text_first(api: FakeMastodon, pictures: FakeAPI,
                                                        tmp_path: Path) -> None:
    m = adapter(api, tmp_path)
    p = post(image=f"{pictures.url}/rgb-80x40.webp", attach_image=True)
    made = m.publish(p, delivery(m, p))
    [(media_id, media)] = api.media.items()
    assert media["description"] == "Stimmzettel in einer Urne"
    assert Image.open(io.BytesIO(api.uploads[media_id])).format == "WEBP"
    assert parse_qs(creates(api)[0].body.decode())["media_ids[]"] == [media_id]
    assert api.statuses[made.remote_id]["media_attachments"][0]["id"] == media_id


def test_no_image_unless_asked(api: FakeMastodon, pictures: FakeAPI, tmp_path: Path) -> None:
    m = adapter(api, tmp_path)
    p = post(image=f"{pictures.url}/rgb-80x40.webp")
    m.publish(p, delivery(m, p))
    assert not api.media and not pictures.requests


def test_a_failed_upload_is_not_sent_and_posts_nothing(api: FakeMastodon, pictures: FakeAPI,
                                                       tmp_path: Path) -> None:
    api.fail_next(502, {"error": "Bad Gateway"}, path="/api/v2/media")
    m = adapter(api, tmp_path)
    p = post(image=f"{pictures.url}/rgb-80x40.webp", attach_image=True)
    with pytest.raises(NotSent) as caught:
        m.publish(p, delivery(m, p))
    assert caught.value.status == 502 and not api.statuses


def test_an_image_still_processing_is_waited_for_a_bounded_time(api: FakeMastodon, pictures: FakeAPI,
                                                                  tmp_path: Path) -> None:
    p = post(image=f"{pictures.url}/rgb-80x40.webp", attach_image=True)
    api.processing_polls = 2
    m = adapter(api, tmp_path, media_poll_interval=0.01, media_poll_attempts=5)
    made = m.publish(p, delivery(m, p))
    assert api.statuses[made.remote_id]["media_attachments"]
    api.processing_polls = 100  # never finishes
    stuck = adapter(api, tmp_path, media_poll_interval=0.01, media_poll_attempts=3)
    with pytest.raises(NotSent, match="still processing after 3 checks"):
        stuck.publish(p, delivery(stuck, p))
    assert len(api.statuses) == 1  # no status without its image


# --- idempotency and unknown outcomes ------------------------------------------------------------------
def test_retry_with_the_same_key_returns_the_original_status(api: FakeMastodon, tmp_path: Path) -> None:
    api.drop_next(path="/api/v1/statuses", after=True)  # made, but the answer never arrives
    m = adapter(api, tmp_path)
    d = delivery(m, post())
    with pytest.raises(Unconfirmed, match="the status may exist"):
        m.publish(post(), d)
    [made] = api.statuses
    assert m.find(post(), d).remote_id == made  # type: ignore[union-attr]
    assert m.publish(post(), d).remote_id == made
    assert len(api.statuses) == 1 and len(creates(api)) == 2
    # After the hour Mastodon forgets the key: that is when `find` has to settle it.
    api.forget_keys()
    assert m.publish(post(), d).remote_id != made


def test_slow_answer_is_unconfirmed_and_find_sees_the_card(api: FakeMastodon, tmp_path: Path) -> None:
    api.stall_next(path="/api/v1/statuses", after=True)
    m = adapter(api, tmp_path, timeout=0.3)
    d = delivery(m, post())
    with pytest.raises(Unconfirmed):
        m.publish(post(), d)
    [made] = api.statuses
    assert m.find(post(), d).remote_id == made  # type: ignore[union-attr]


def test_find_ignores_an_earlier_round_and_other_articles(api: FakeMastodon, tmp_path: Path) -> None:
    now = NOW
    api.add_status(TEXT, created_at=now - timedelta(days=3))
    api.add_status("Sport: Finale https://news.example/sport/finale?utm_source=mastodon", created_at=now)
    m = adapter(api, tmp_path)
    d = delivery(m, post(), now)
    assert m.find(post(), d) is None
    mine = api.add_status("Anders formuliert " + LINK, created_at=now)
    assert m.find(post(), d).remote_id == mine["id"]  # type: ignore[union-attr]
    timeline = [r for r in api.requests if r.path.endswith("/statuses") and r.method == "GET"][-1]
    assert timeline.query == {"limit": ["40"], "exclude_replies": ["1"]}


def test_matching_reads_hrefs_when_the_card_is_not_there_yet_and_text_without_a_link() -> None:
    status = {"content": linkify(TEXT, "social.example"), "card": None}
    assert "&amp;utm_medium" in status["content"]
    assert is_post_of(status, post())
    assert not is_post_of(status, post(link=LINK + "x"))
    plain = post("Eilmeldung: Sitzung <unterbrochen> &\nvertagt", link=None)
    assert is_post_of({"content": linkify(plain.text, "social.example")}, plain)
    assert not is_post_of({"content": linkify("Eilmeldung", "social.example")}, plain)


# --- error mapping -----------------------------------------------------------------------------------
def test_429_is_rate_limited_until_the_iso_reset_on_the_instances_clock(api: FakeMastodon, tmp_path: Path) -> None:
    api.rate_limit_next(120, path="/api/v1/statuses")
    m = adapter(api, tmp_path)
    with pytest.raises(RateLimited) as caught:
        m.publish(post(), delivery(m, post(), datetime(2020, 1, 1, tzinfo=UTC)))
    assert caught.value.retry_after is not None and 119 <= caught.value.retry_after <= 121
    assert not api.statuses


def test_retry_after_falls_back_to_our_clock_without_a_date_header() -> None:
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    reset = "X-RateLimit-Reset"  # ISO 8601
    assert retry_after({reset: "2026-11-25T09:05:00.000000Z"}, now, reset=reset) == 300
    assert retry_after({reset: "not a time"}, now, reset=reset) is None


@pytest.mark.parametrize("status, body, kind, words", [
    (401, {"error": "The access token is invalid"}, AuthError, "The access token is invalid"),
    (403, {"error": "This action is not allowed"}, Rejected, "not allowed"),
    (500, {"error": "Internal Server Error"}, Unconfirmed, "server error"),
    (503, None, Unconfirmed, "server error"),
])
def test_http_errors_map_to_sharebot_kinds(api: FakeMastodon, tmp_path: Path, status: int, body: Any,
                                           kind: type[PublishError], words: str) -> None:
    api.fail_next(status, body, path="/api/v1/statuses")
    m = adapter(api, tmp_path)
    with pytest.raises(kind, match=words) as caught:
        m.publish(post(), delivery(m, post()))
    assert type(caught.value) is kind and caught.value.status == status


def test_422_carries_the_instances_message(api: FakeMastodon, tmp_path: Path) -> None:
    m = adapter(api, tmp_path)
    api.fail_next(422, {"error": "Validation failed: Text character limit of 500 exceeded"}, method="POST",
                  path="/api/v1/statuses")
    with pytest.raises(Rejected, match="Text character limit of 500 exceeded") as caught:
        m.publish(post("kurz", link=None), delivery(m, post()))
    assert caught.value.status == 422


def test_a_post_longer_than_the_instance_allows_is_refused_before_sending(api: FakeMastodon, tmp_path: Path) -> None:
    m = adapter(api, tmp_path)
    with pytest.raises(Rejected, match="allows 500: set max_characters = 500"):
        m.publish(post("x" * 501, link=None), delivery(m, post()))
    assert not any(r.path == "/api/v1/statuses" for r in api.requests)


def test_check_says_when_the_config_limit_differs_from_the_instance(clock: Clock, tmp_path: Path) -> None:
    with FakeMastodon(clock=clock, max_characters=1000) as wide:
        status = adapter(wide, tmp_path).check()
    assert status.state == "ok" and "the instance allows 1000 characters, the config says 500" in status.detail


# --- delete / check / instance limits --------------------------------------------------------------------
def test_delete_removes_the_status_and_tolerates_it_being_gone(api: FakeMastodon, tmp_path: Path) -> None:
    m = adapter(api, tmp_path)
    made = m.publish(post(), delivery(m, post()))
    m.delete(made.remote_id)
    assert not api.statuses
    m.delete(made.remote_id)


def test_check_reads_the_account(api: FakeMastodon, tmp_path: Path) -> None:
    assert adapter(api, tmp_path).check().detail == "@newsroom"
    assert adapter(api, tmp_path, "FAKE-wrong-token").check().state == "rejected"
    api.drop_next()
    assert adapter(api, tmp_path).check().state == "unreachable"


def test_instance_limits_are_read_once_a_day(clock: Clock, tmp_path: Path) -> None:
    now = NOW
    with FakeMastodon(clock=clock, max_characters=1000, reserved_per_url=30) as fake:
        m = adapter(fake, tmp_path)
        assert m.instance_limits(now) == (1000, 30)
        assert m.instance_limits(now + timedelta(hours=23)) == (1000, 30)
        reads = [r for r in fake.requests if r.path.startswith("/api/v2/instance")]
        assert len(reads) == 1
        [cached] = (tmp_path / "state").glob("mastodon-limits-*.json")
        assert json.loads(cached.read_text())["max_characters"] == 1000
        fake.max_characters = 5000
        assert adapter(fake, tmp_path).instance_limits(now + timedelta(hours=25)) == (5000, 30)


# --- hygiene -----------------------------------------------------------------------------------------
def test_secrets_never_reach_messages_or_logs(api: FakeMastodon, tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    m = adapter(api, tmp_path, timeout=0.3)
    errors: list[str] = []
    for fault in (lambda: api.fail_next(401, {"error": "invalid"}), lambda: api.fail_next(500),
                  lambda: api.fail_next(429, {"error": "Too many requests"}), api.stall_next):
        fault()
        with pytest.raises(PublishError) as caught:
            m.publish(post(), delivery(m, post(), key=f"k{len(errors)}"))
        errors.append(str(caught.value))
    m.publish(post(), delivery(m, post()))
    errors.append(adapter(api, tmp_path, "FAKE-wrong-mastodon-token-9").check().detail)
    logged = "\n".join(f"{r.getMessage()} {r.args}" for r in caplog.records)
    assert logged
    for secret in (api.token, "FAKE-wrong-mastodon-token-9"):
        assert secret not in logged
        assert not any(secret in e for e in errors)


def test_importing_the_adapter_does_not_import_mastodon_py() -> None:
    code = "import sys, sharebot.adapters.mastodon; assert 'mastodon' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- edits and replies --------------------------------------------------------------------------------
def test_an_edit_keeps_the_attached_image_and_the_language(api: FakeMastodon, pictures: FakeAPI,
                                                          tmp_path: Path) -> None:
    m = adapter(api, tmp_path)
    original = post(image=f"{pictures.url}/rgb-80x40.webp", attach_image=True)
    made = m.publish(original, delivery(m, original))
    [media_id] = api.media
    corrected = original._replace(text=TEXT.replace("Das Ergebnis", "Das vorläufige Ergebnis"))
    m.edit(RemotePost(made.remote_id, made.url, post=original), corrected, delivery(m, corrected))
    [put] = [r for r in api.requests if r.method == "PUT"]
    sent = parse_qs(put.body.decode())
    # PUT replaces the whole status: the attachment is named again or it is gone
    assert sent == {"status": [corrected.text], "media_ids[]": [media_id]}
    status = api.statuses[made.remote_id]
    assert [a["id"] for a in status["media_attachments"]] == [media_id] and status["language"] == "de"
    assert status["edited_at"] is not None and status["card"] is None  # the instance fetches the card again
    assert len(api.history[made.remote_id]) == 2  # the original and the edit, as /history would list them


def test_an_edit_of_another_accounts_status_is_a_404(api: FakeMastodon, tmp_path: Path) -> None:
    theirs = api.add_status(TEXT, account=api.stranger())
    m = adapter(api, tmp_path)
    with pytest.raises(Rejected, match="Record not found") as caught:
        m.edit(RemotePost(theirs["id"]), post(), delivery(m, post()))
    assert caught.value.status == 404 and api.statuses[theirs["id"]]["text"] == TEXT


def test_a_reply_carries_in_reply_to_id_and_its_own_idempotency_key(api: FakeMastodon, tmp_path: Path) -> None:
    m = adapter(api, tmp_path)
    made = m.publish(post(), delivery(m, post(), key="job-7"))
    answer = post(f"Korrektur: Das Ergebnis ist vorläufig. {LINK}")
    d = delivery(m, answer, key="job-8")
    reply = m.reply(RemotePost(made.remote_id), answer, d)
    sent = creates(api)[-1]
    assert parse_qs(sent.body.decode())["in_reply_to_id"] == [made.remote_id]
    assert sent.headers["idempotency-key"] == "job-8"
    assert m.reply(RemotePost(made.remote_id), answer, d) == reply  # the key answers with the same status
    assert [s["id"] for s in api.statuses.values() if s["in_reply_to_id"]] == [reply.remote_id]


def test_find_reply_reads_the_parents_thread_for_this_accounts_answer(api: FakeMastodon, tmp_path: Path) -> None:
    m = adapter(api, tmp_path)
    parent = api.add_status(TEXT)
    answer = post(f"Nachtrag: Das amtliche Ergebnis kommt am Montag. {LINK}")
    d = delivery(m, answer)
    api.add_status(answer.text, in_reply_to_id=parent["id"], account=api.stranger())  # someone quoting us
    api.add_status(answer.text, in_reply_to_id=parent["id"], created_at=NOW - timedelta(hours=2))  # a past round
    assert m.find_reply(RemotePost(parent["id"]), answer, d) is None
    ours = api.add_status(answer.text, in_reply_to_id=parent["id"])
    assert m.find_reply(RemotePost(parent["id"]), answer, d) == PublishResult(ours["id"], ours["url"])
