from __future__ import annotations

import io
import logging
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes.base import Clock, FakeAPI
from fakes.x import FakeX
from PIL import Image

from sharebot.adapters import make_adapter
from sharebot.adapters.base import AdapterContext, Delivery, RemotePost, Secret
from sharebot.adapters.http import retry_after
from sharebot.adapters.x import XAdapter
from sharebot.errors import AuthError, NotSent, PublishError, RateLimited, Rejected, Unconfirmed
from sharebot.fetch import FetchPolicy
from sharebot.jobs import PublishResult
from sharebot.models import Account, Network, RenderedPost

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
LOOPBACK = FetchPolicy(allow_private=("127.0.0.1",))  # the image hosts in these tests listen on loopback
LINK = "https://news.example/politik/wahl-2026?utm_source=x&utm_medium=social"
TEXT = f"Wahl 2026: Das Ergebnis im Überblick #Wahl2026 {LINK}"


@pytest.fixture
def api(clock: Clock) -> Iterator[FakeX]:
    with FakeX(clock=clock) as fake:
        yield fake


def oauth1(api: FakeX) -> dict[str, Secret]:
    names = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
    return {name: Secret(getattr(api, name)) for name in names}


def adapter(api: FakeX | str, tmp_path: Path, credentials: dict[str, Secret] | None = None, *,
            timeout: float = 10.0) -> XAdapter:
    base = api if isinstance(api, str) else api.url
    account = Account("house-x", Network.X, options={"api_base": base},
                      secrets={"consumer_key": "X_CK", "consumer_secret": "X_CS", "access_token": "X_AT",
                               "access_token_secret": "X_ATS", "bearer_token": "X_BEARER"})
    creds = credentials if credentials is not None else oauth1(api)  # type: ignore[arg-type]
    made = make_adapter(account, creds, AdapterContext(tmp_path, timeout=timeout, fetch_policy=LOOPBACK))
    assert isinstance(made, XAdapter)
    return made


def post(text: str = TEXT, link: str | None = LINK, **options: Any) -> RenderedPost:
    return RenderedPost("house-x", Network.X, text, 70, 280, "weighted", link, None, "de",
                        image=options.pop("image", None), image_alt="Stimmzettel", options=options)


def delivery(x: XAdapter, p: RenderedPost, now: datetime | None = None) -> Delivery:
    first = Delivery("job-7", now or NOW)
    return Delivery(first.key, first.now, x.prepare(p, first))


def creates(api: FakeX) -> list[Any]:
    return [r for r in api.requests if r.method == "POST" and r.path == "/2/tweets"]


# --- credentials -----------------------------------------------------------------------------------
def test_needs_either_all_four_oauth1_values_or_a_bearer_token(api: FakeX, tmp_path: Path) -> None:
    partial = {k: v for k, v in oauth1(api).items() if k != "access_token_secret"}
    with pytest.raises(AuthError, match="bearer_token.*X_ATS"):
        adapter(api, tmp_path, partial)
    assert adapter(api, tmp_path, {"bearer_token": Secret(api.bearer_token)}).check().state == "ok"


# --- publish -----------------------------------------------------------------------------------------
def test_publish_signs_with_oauth1_and_sends_the_text_as_is(api: FakeX, tmp_path: Path) -> None:
    x = adapter(api, tmp_path)
    result = x.publish(post(), delivery(x, post()))
    [sent] = creates(api)
    assert sent.json() == {"text": TEXT}
    assert sent.headers["authorization"].startswith("OAuth ")  # and the fake verified its signature
    assert result.remote_id in api.tweets
    assert result.url == f"https://x.com/i/web/status/{result.remote_id}"


def test_publish_with_an_oauth2_user_token_sends_it_as_bearer(api: FakeX, tmp_path: Path) -> None:
    x = adapter(api, tmp_path, {"bearer_token": Secret(api.bearer_token)})
    x.publish(post(), delivery(x, post()))
    assert creates(api)[0].headers["authorization"] == f"Bearer {api.bearer_token}"


def test_image_is_not_attached_unless_asked_because_it_replaces_the_card(api: FakeX, pictures: FakeAPI,
                                                                         tmp_path: Path) -> None:
    x = adapter(api, tmp_path)
    p = post(image=f"{pictures.url}/rgb-80x40.png")
    x.publish(p, delivery(x, p))
    assert not api.media and not pictures.requests
    assert "media" not in creates(api)[0].json()


def test_attach_image_uploads_through_v2_media_and_references_it(api: FakeX, pictures: FakeAPI,
                                                                 tmp_path: Path) -> None:
    x = adapter(api, tmp_path)
    p = post(image=f"{pictures.url}/rgb-80x40.png", attach_image=True)
    x.publish(p, delivery(x, p))
    [(media_id, media)] = api.media.items()
    assert media["category"] == "tweet_image"
    assert Image.open(io.BytesIO(media["data"])).format == "PNG"  # a type X takes goes as it is
    assert creates(api)[0].json() == {"text": TEXT, "media": {"media_ids": [media_id]}}


def test_an_image_type_x_does_not_take_is_sent_as_jpeg(api: FakeX, pictures: FakeAPI, tmp_path: Path) -> None:
    x = adapter(api, tmp_path, {"bearer_token": Secret(api.bearer_token)})
    p = post(image=f"{pictures.url}/rgb-80x40.bmp", attach_image=True)
    x.publish(p, delivery(x, p))
    [media] = api.media.values()
    assert Image.open(io.BytesIO(media["data"])).format == "JPEG"


def test_a_failed_upload_is_not_sent_and_posts_nothing(api: FakeX, pictures: FakeAPI, tmp_path: Path) -> None:
    api.fail_next(503, {"title": "Service Unavailable"}, path="/2/media/upload")
    x = adapter(api, tmp_path)
    p = post(image=f"{pictures.url}/rgb-80x40.png", attach_image=True)
    with pytest.raises(NotSent) as caught:
        x.publish(p, delivery(x, p))
    assert not isinstance(caught.value, Unconfirmed) and caught.value.status == 503
    assert not creates(api) and not api.tweets


# --- error mapping -----------------------------------------------------------------------------------
def test_429_is_rate_limited_until_the_reset_on_xs_clock(api: FakeX, tmp_path: Path) -> None:
    api.rate_limit_next(90, path="/2/tweets")
    x = adapter(api, tmp_path)
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)  # the Date header wins over our clock
    with pytest.raises(RateLimited) as caught:
        x.publish(post(), delivery(x, post(), long_ago))
    assert caught.value.retry_after is not None and 88 <= caught.value.retry_after <= 91
    assert not api.tweets


def test_retry_after_falls_back_to_our_clock_without_a_date_header() -> None:
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    reset = "x-rate-limit-reset"  # epoch seconds
    assert retry_after({reset: str(int(now.timestamp()) + 300)}, now, reset=reset) == 300
    assert retry_after({reset: str(int(now.timestamp()) - 5), "date": "garbage"}, now, reset=reset) == 0
    assert retry_after({}, now, reset=reset) is None


@pytest.mark.parametrize("status, body, kind, words", [
    (401, {"title": "Unauthorized", "detail": "Unauthorized", "type": "about:blank", "status": 401},
     AuthError, "credentials refused"),
    (402, {"title": "CreditsDepleted", "detail": "Your account does not have any credits.", "status": 402,
           "type": "https://api.x.com/2/problems/credits"}, Rejected, "no API credits left"),
    (403, {"title": "Forbidden", "detail": "You are not permitted to perform this action.", "status": 403,
           "type": "https://api.twitter.com/2/problems/client-forbidden"}, Rejected, "not permitted"),
    (400, {"errors": [{"message": "Invalid text"}], "title": "Invalid Request", "detail": "invalid"},
     Rejected, "Invalid text"),
    (503, {"title": "Service Unavailable", "detail": "Service Unavailable", "status": 503},
     Unconfirmed, "server error"),
])
def test_http_errors_on_create_map_to_sharebot_kinds(api: FakeX, tmp_path: Path, status: int, body: Any,
                                                     kind: type[PublishError], words: str) -> None:
    api.fail_next(status, body, path="/2/tweets")
    x = adapter(api, tmp_path)
    with pytest.raises(kind, match=words) as caught:
        x.publish(post(), delivery(x, post()))
    assert type(caught.value) is kind and caught.value.status == status
    assert "\n" not in str(caught.value)


def test_slow_answer_is_unconfirmed_and_find_then_sees_the_post(api: FakeX, tmp_path: Path) -> None:
    api.stall_next(path="/2/tweets", after=True)  # X made it, the answer comes too late
    x = adapter(api, tmp_path, timeout=0.3)
    d = delivery(x, post())
    with pytest.raises(Unconfirmed, match="timeout"):
        x.publish(post(), d)
    [made] = api.tweets
    assert x.find(post(), d) == x.find(post(), d) is not None
    assert x.find(post(), d).remote_id == made  # type: ignore[union-attr]


def test_dropped_connection_after_the_post_then_retry_finds_it_via_duplicate(api: FakeX, tmp_path: Path) -> None:
    api.drop_next(path="/2/tweets", after=True)
    x = adapter(api, tmp_path)
    d = delivery(x, post())
    with pytest.raises(Unconfirmed, match="connection lost"):
        x.publish(post(), d)
    [made] = api.tweets
    assert x.find(post(), d).remote_id == made  # type: ignore[union-attr]
    # A blind retry gets X's duplicate refusal, which is settled by finding our own post.
    assert x.publish(post(), d).remote_id == made
    assert len(api.tweets) == 1 and len(creates(api)) == 2


def test_duplicate_of_an_older_post_is_rejected(api: FakeX, tmp_path: Path) -> None:
    now = NOW
    api.add_tweet(TEXT, created_at=now - timedelta(days=2))  # an earlier round, same text
    x = adapter(api, tmp_path)
    with pytest.raises(Rejected, match="duplicate of an earlier post") as caught:
        x.publish(post(), delivery(x, post(), now))
    assert caught.value.status == 403


# --- find / delete / check -----------------------------------------------------------------------------
def test_find_matches_the_expanded_link_not_the_tco_text(api: FakeX, tmp_path: Path) -> None:
    now = NOW
    api.add_tweet("Anderes Thema https://news.example/sport/finale?utm_source=x", created_at=now)
    mine = api.add_tweet(f"Neu formuliert, gleicher Artikel {LINK}", created_at=now)
    api.add_tweet(TEXT, created_at=now - timedelta(days=3))  # an earlier round: outside the window
    x = adapter(api, tmp_path)
    d = delivery(x, post(), now)
    assert LINK not in mine.text  # X shows t.co links
    assert x.find(post(), d).remote_id == mine.id  # type: ignore[union-attr]
    [timeline] = [r for r in api.requests if r.path.endswith("/tweets") and r.method == "GET"]
    assert timeline.query["tweet.fields"] == ["created_at,entities"]
    assert timeline.query["start_time"] == [(now - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")]


def test_find_without_a_link_compares_text_and_returns_none_when_absent(api: FakeX, tmp_path: Path) -> None:
    x = adapter(api, tmp_path)
    plain = post("Eilmeldung: Sitzung unterbrochen & vertagt", link=None)
    d = delivery(x, plain)
    assert x.find(plain, d) is None
    api.add_tweet("Eilmeldung: Sitzung unterbrochen & vertagt")
    assert x.find(plain, d) is not None


def test_delete_removes_the_post_and_tolerates_it_being_gone(api: FakeX, tmp_path: Path) -> None:
    x = adapter(api, tmp_path)
    made = x.publish(post(), delivery(x, post()))
    x.delete(made.remote_id)
    assert not api.tweets
    x.delete(made.remote_id)  # 404: already gone


def test_check_reads_the_account(api: FakeX, tmp_path: Path) -> None:
    assert adapter(api, tmp_path).check().detail == "@newsroom"
    bad = adapter(api, tmp_path, {**oauth1(api), "consumer_secret": Secret("wrong-consumer-secret")})
    assert bad.check().state == "rejected"
    api.fail_next(503, {"title": "Service Unavailable"})
    assert adapter(api, tmp_path).check().state == "unreachable"


# --- hygiene -----------------------------------------------------------------------------------------
def test_secrets_never_reach_messages_or_logs(api: FakeX, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    bearer = adapter(api, tmp_path, {"bearer_token": Secret(api.bearer_token)}, timeout=0.3)
    signed = adapter(api, tmp_path, timeout=0.3)
    for x in (bearer, signed):
        for fault in (lambda: api.fail_next(401, {"detail": "Unauthorized"}), lambda: api.fail_next(500),
                      lambda: api.fail_next(429, {"detail": "Too Many Requests"}), api.stall_next):
            fault()
            with pytest.raises(PublishError) as caught:
                x.publish(post(), delivery(x, post()))
            errors.append(str(caught.value))
        x.publish(post(f"{TEXT} {len(errors)}"), delivery(x, post()))
        x.check()
    bad = adapter(api, tmp_path, {"bearer_token": Secret("FAKE-wrong-bearer-9")})
    errors.append(bad.check().detail)
    logged = "\n".join(f"{r.getMessage()} {r.args}" for r in caplog.records)
    assert errors and logged
    # oauthlib logs the consumer key and access token (public halves of OAuth 1.0a) at DEBUG; the
    # values that sign, and the bearer token, must never appear anywhere.
    for secret in (api.bearer_token, api.consumer_secret, api.access_token_secret, "FAKE-wrong-bearer-9"):
        assert secret not in logged
        assert not any(secret in e for e in errors)
    for identifier in (api.consumer_key, api.access_token):
        assert not any(identifier in e for e in errors)
        assert not any(identifier in r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)


def test_importing_the_adapter_does_not_import_tweepy() -> None:
    code = "import sys, sharebot.adapters.x; assert 'tweepy' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- replies ------------------------------------------------------------------------------------------
def test_a_reply_names_the_post_it_answers(api: FakeX, tmp_path: Path) -> None:
    x = adapter(api, tmp_path)
    made = x.publish(post(), delivery(x, post()))
    answer = post(f"Korrektur: Das Ergebnis ist vorläufig. {LINK}")
    reply = x.reply(RemotePost(made.remote_id, made.url), answer, delivery(x, answer))
    assert creates(api)[-1].json() == {"text": answer.text, "reply": {"in_reply_to_tweet_id": made.remote_id}}
    assert api.tweets[reply.remote_id].in_reply_to == made.remote_id
    assert reply.url == f"https://x.com/i/web/status/{reply.remote_id}"
    # `find` for the post reads no replies, so a reply carrying the same link never passes for the post
    assert x.find(post(), delivery(x, post())) == made
    [timeline] = [r for r in api.requests if r.method == "GET" and r.path.endswith("/tweets")]
    assert timeline.query["exclude"] == ["replies,retweets"]


def test_find_reply_reads_replies_and_ignores_the_handles_x_puts_before_them(api: FakeX, tmp_path: Path) -> None:
    x = adapter(api, tmp_path)
    parent = api.add_tweet(TEXT)
    answer = post(f"Nachtrag: Das amtliche Ergebnis kommt am Montag. {LINK}")
    d = delivery(x, answer)
    assert x.find_reply(RemotePost(parent.id), answer, d) is None
    shown = api.add_tweet(f"@newsroom {answer.text}", in_reply_to=parent.id)
    assert x.find_reply(RemotePost(parent.id), answer, d) == PublishResult(shown.id, f"https://x.com/i/web/status/{shown.id}")
    timeline = [r for r in api.requests if r.method == "GET" and r.path.endswith("/tweets")][-1]
    assert timeline.query["exclude"] == ["retweets"]
    assert timeline.query["tweet.fields"] == ["created_at,entities,referenced_tweets"]
    assert x.find_reply(RemotePost("1"), answer, d) is None  # the same text under another post is not it


def test_a_duplicate_reply_is_settled_as_this_deliverys_when_it_is_under_the_same_post(api: FakeX,
                                                                                        tmp_path: Path) -> None:
    x = adapter(api, tmp_path)
    parent = api.add_tweet(TEXT)
    answer = post(f"Nachtrag: Das amtliche Ergebnis kommt am Montag. {LINK}")
    earlier = api.add_tweet(answer.text, in_reply_to=parent.id)  # our own attempt, its answer lost
    assert x.reply(RemotePost(parent.id), answer, delivery(x, answer)).remote_id == earlier.id
    elsewhere = api.add_tweet(TEXT.replace("Wahl", "Wahlen"))
    with pytest.raises(Rejected, match="duplicate"):  # the same text under another post: not ours to claim
        x.reply(RemotePost(elsewhere.id), answer, delivery(x, answer))
