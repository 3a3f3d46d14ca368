from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fakes.base import Clock
from fakes.facebook import FakeFacebook, graph_error, throttled

from sharebot.adapters import make_adapter
from sharebot.adapters.base import AdapterContext, Delivery, RemotePost, Secret
from sharebot.adapters.facebook import FacebookAdapter
from sharebot.adapters.graph import usage_retry_after
from sharebot.errors import AuthError, ConfigError, NotSent, RateLimited, Rejected, Unconfirmed, Unsupported
from sharebot.models import Account, Card, Network, RenderedPost

TOKEN = "EAAGsecretPAGEtoken0123456789"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
LINK = "https://news.example/politik/wahl-2026?utm_source=facebook&utm_medium=social"
DELIVERY = Delivery("job-7", NOW)


@pytest.fixture
def api(clock: Clock) -> Iterator[FakeFacebook]:
    with FakeFacebook(token=TOKEN, clock=clock) as fake:
        yield fake


def adapter(api: FakeFacebook | str, tmp_path: Path, *, token: str = TOKEN, timeout: float = 10.0,
            **options: str) -> FacebookAdapter:
    base = api if isinstance(api, str) else api.url
    account = Account("fb", Network.FACEBOOK, options={"page_id": "1122334455", "api_base": base, **options},
                      secrets={"page_access_token": "SHAREBOT_FB_TOKEN"})
    context = AdapterContext(tmp_path, timeout=timeout)
    made = make_adapter(account, {"page_access_token": Secret(token)}, context)
    assert isinstance(made, FacebookAdapter)
    return made


def post(text: str = "Wahl 2026: das Ergebnis (vorläufig)\n\nWas die Zahlen sagen.",
         link: str = LINK) -> RenderedPost:
    return RenderedPost("fb", Network.FACEBOOK, text, len(text), 63206, "characters", link,
                        Card(link, "Wahl 2026", "Was die Zahlen sagen."), "de")


def test_publish_sends_message_link_and_token_in_the_form(api: FakeFacebook, tmp_path: Path) -> None:
    result = adapter(api, tmp_path).publish(post(), DELIVERY)
    [made] = api.live
    assert (made.message, made.link) == (post().text, LINK)
    assert result.remote_id == made.id
    assert result.url == f"https://www.facebook.com/1122334455/posts/{made.id.split('_')[1]}"
    [request] = [r for r in api.requests if r.method == "POST"]
    assert request.path == "/v25.0/1122334455/feed" and request.query == {}
    assert request.form() == {"message": post().text, "link": LINK, "access_token": TOKEN}


def test_api_version_is_an_option(api: FakeFacebook, tmp_path: Path) -> None:
    adapter(api, tmp_path, api_version="v26.0").publish(post(), DELIVERY)
    assert api.requests[-1].path == "/v26.0/1122334455/feed"


def test_find_matches_the_link_via_attachments_and_the_message(api: FakeFacebook, tmp_path: Path) -> None:
    fb = adapter(api, tmp_path)
    fb.publish(post("Anderer Beitrag", "https://news.example/anderes"), DELIVERY)
    made = fb.publish(post(), DELIVERY)
    found = fb.find(post(), DELIVERY)
    assert found is not None and found.remote_id == made.remote_id and found.url
    assert fb.find(post("Nie gepostet", "https://news.example/nie"), DELIVERY) is None
    fields = api.requests[-1].query["fields"][0]
    assert "attachments" in fields and api.requests[-1].query["access_token"] == [TOKEN]


def test_find_matches_the_link_in_the_message(api: FakeFacebook, tmp_path: Path) -> None:
    fb = adapter(api, tmp_path)
    in_text = fb.publish(post(f"Lesen: {LINK}", ""), DELIVERY)
    found = fb.find(post("ein anderer Text", LINK), DELIVERY)
    assert found is not None and found.remote_id == in_text.remote_id


def test_duplicate_refusal_returns_our_earlier_post(api: FakeFacebook, tmp_path: Path) -> None:
    fb = adapter(api, tmp_path)
    first = fb.publish(post(), DELIVERY)
    again = fb.publish(post(), DELIVERY)
    assert again.remote_id == first.remote_id and len(api.live) == 1


def test_duplicate_that_is_not_ours_is_rejected(api: FakeFacebook, tmp_path: Path) -> None:
    api.fail_next(400, graph_error(400, 368, "You've already posted this.").body, path="/feed")
    with pytest.raises(Rejected, match="not ours"):
        adapter(api, tmp_path).publish(post(), DELIVERY)


def test_delete_and_check(api: FakeFacebook, tmp_path: Path) -> None:
    fb = adapter(api, tmp_path)
    made = fb.publish(post(), DELIVERY)
    fb.delete(made.remote_id)
    assert api.live == []
    with pytest.raises(Rejected, match="Invalid post id"):
        fb.delete(made.remote_id)
    assert (fb.check().state, fb.check().detail) == ("ok", "page Sharebot News")


ERROR_CODES = [
    (190, 400, AuthError), (200, 403, Rejected), (10, 400, Rejected), (100, 400, Rejected),
    (4, 400, RateLimited), (17, 400, RateLimited), (613, 400, RateLimited), (80001, 400, RateLimited),
    (1, 500, Unconfirmed), (2, 503, Unconfirmed),
]


def test_graph_error_codes(api: FakeFacebook, tmp_path: Path) -> None:
    fb = adapter(api, tmp_path)
    for code, status, kind in ERROR_CODES:
        api.fail_next(status, graph_error(status, code, f"error {code}").body, path="/feed")
        with pytest.raises(kind) as caught:
            fb.publish(post(), DELIVERY)
        assert type(caught.value) is kind and f"code {code}" in str(caught.value), code
    assert api.live == []


def test_throttling_waits_as_long_as_the_usage_header_says(api: FakeFacebook, tmp_path: Path) -> None:
    answer = throttled(minutes=7)
    api.fail_next(answer.status, answer.body, answer.headers, path="/feed")
    with pytest.raises(RateLimited) as caught:
        adapter(api, tmp_path).publish(post(), DELIVERY)
    assert caught.value.retry_after == 420.0
    assert usage_retry_after({}) is None
    assert usage_retry_after({"x-business-use-case-usage": "nonsense"}) is None


def test_bad_token_is_auth_error_and_check_reports_rejected(api: FakeFacebook, tmp_path: Path) -> None:
    fb = adapter(api, tmp_path, token="EAAGwrongTOKENwrong0000")
    with pytest.raises(AuthError, match="Invalid OAuth"):
        fb.publish(post(), DELIVERY)
    assert fb.check().state == "rejected"


def test_slow_answer_is_unconfirmed_and_find_sees_the_post(api: FakeFacebook, tmp_path: Path) -> None:
    api.stall_next(path="/feed", after=True)
    fb = adapter(api, tmp_path, timeout=0.2)
    with pytest.raises(Unconfirmed):
        fb.publish(post(), DELIVERY)
    found = fb.find(post(), DELIVERY)
    assert found is not None and found.remote_id == api.live[0].id


def test_failed_read_is_not_sent(api: FakeFacebook, tmp_path: Path) -> None:
    api.fail_next(500, graph_error(500, 2, "temporary").body, path="published_posts")
    with pytest.raises(NotSent):
        adapter(api, tmp_path).find(post(), DELIVERY)


def test_page_id_is_required(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="page_id"):
        make_adapter(Account("fb", Network.FACEBOOK), {"page_access_token": Secret(TOKEN)},
                     AdapterContext(tmp_path))


def test_token_never_in_errors_or_logs(api: FakeFacebook, tmp_path: Path,
                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fb = adapter(api, tmp_path, timeout=0.2)
    api.fail_next(400, graph_error(400, 100, f"bad token {TOKEN} in request").body)
    api.stall_next(path="published_posts")
    api.drop_next(path="/feed")
    messages = []
    for call in (lambda: fb.publish(post(), DELIVERY), lambda: fb.find(post(), DELIVERY),
                 lambda: fb.publish(post(), DELIVERY)):
        with pytest.raises(Exception) as caught:
            call()
        messages.append(str(caught.value))
    fb.find(post(), DELIVERY)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "published_posts" in logged and "****" in messages[0]
    for text in (*messages, logged, repr(fb.credentials)):
        assert TOKEN not in text


# --- rounds: `sharebot publish --repost` posts the same link again under a new job key ----------------
ROUND_2 = Delivery("job-8", NOW, {"not_before": NOW.isoformat()})


def round_1(clock: Clock, fb: FacebookAdapter, *, days: float = 3) -> str:
    """The first round's post of the same article, made `days` before round 2 began."""
    clock.now = NOW - timedelta(days=days)
    made = fb.publish(post(), Delivery("job-7", clock.now, fb.prepare(post(), Delivery("job-7", clock.now))))
    clock.now = NOW + timedelta(minutes=1)
    return made.remote_id


def test_prepare_keeps_when_the_round_began(api: FakeFacebook, tmp_path: Path) -> None:
    assert adapter(api, tmp_path).prepare(post(), DELIVERY) == {"not_before": "2026-11-25T09:00:00+00:00"}


def test_find_ignores_an_earlier_rounds_post_of_the_same_link(api: FakeFacebook, clock: Clock, tmp_path: Path) -> None:
    fb = adapter(api, tmp_path)
    old = round_1(clock, fb)
    assert api.live[0].created_time == "2026-11-22T09:00:00+0000"
    assert fb.find(post(), ROUND_2) is None
    found = fb.find(post(), DELIVERY)  # a job from before rounds were kept: any post counts, as before
    assert found is not None and found.remote_id == old


def test_find_counts_posts_from_clock_skew_before_the_round_began(api: FakeFacebook, clock: Clock,
                                                                  tmp_path: Path) -> None:
    fb = adapter(api, tmp_path)
    clock.now = NOW - timedelta(minutes=9)  # the network's clock runs behind ours
    made = fb.publish(post(), DELIVERY)
    found = fb.find(post(), ROUND_2)
    assert found is not None and found.remote_id == made.remote_id
    assert fb.find(post(), Delivery("job-8", NOW, {"not_before": (NOW + timedelta(minutes=11)).isoformat()})) \
        is None


def test_round_2_post_after_a_lost_answer_is_found_not_round_1s(api: FakeFacebook, clock: Clock,
                                                                tmp_path: Path) -> None:
    fb = adapter(api, tmp_path)
    old = round_1(clock, fb)
    api.drop_next(path="/feed", after=True)
    with pytest.raises(Unconfirmed):
        fb.publish(post("Neu gefasst: das Ergebnis"), ROUND_2)
    found = fb.find(post("Neu gefasst: das Ergebnis"), ROUND_2)
    assert found is not None and found.remote_id != old and found.remote_id == api.live[-1].id
    # The retry after that is refused as a duplicate, which settles on this round's post.
    assert fb.publish(post("Neu gefasst: das Ergebnis"), ROUND_2) == found and len(api.live) == 2


def test_duplicate_of_an_earlier_round_is_rejected_not_taken_as_ours(api: FakeFacebook, clock: Clock,
                                                                     tmp_path: Path) -> None:
    fb = adapter(api, tmp_path)
    round_1(clock, fb)
    with pytest.raises(Rejected, match="refuses identical content.*repost needs different text") as caught:
        fb.publish(post(), ROUND_2)
    assert type(caught.value) is Rejected and "#506" in str(caught.value) and len(api.live) == 1


# --- edits and comments --------------------------------------------------------------------------------
def test_an_edit_posts_the_new_message_to_the_post(api: FakeFacebook, tmp_path: Path) -> None:
    fb = adapter(api, tmp_path)
    made = fb.publish(post(), DELIVERY)
    corrected = post("Wahl 2026: das vorläufige Ergebnis\n\nWas die Zahlen sagen.")
    fb.edit(RemotePost(made.remote_id, made.url, post=post()), corrected, DELIVERY)
    edit = [r for r in api.requests if r.method == "POST"][-1]
    assert edit.path == f"/v25.0/{made.remote_id}"
    assert edit.form() == {"message": corrected.text, "access_token": TOKEN}  # no link: it cannot change
    [live] = api.live
    assert (live.message, live.link, live.history) == (corrected.text, LINK, [post().text])


def test_an_edit_that_would_change_the_link_is_unsupported_and_sends_nothing(api: FakeFacebook,
                                                                            tmp_path: Path) -> None:
    fb = adapter(api, tmp_path)
    made = fb.publish(post(), DELIVERY)
    moved = post(link="https://news.example/politik/wahl-2026-korrigiert")
    before = len(api.requests)
    with pytest.raises(Unsupported, match="cannot change the link") as caught:
        fb.edit(RemotePost(made.remote_id, post=post()), moved, DELIVERY)
    assert caught.value.capability == "edit" and len(api.requests) == before


def test_a_visitors_post_cannot_be_edited(api: FakeFacebook, tmp_path: Path) -> None:
    theirs = api.add_visitor_post("Tolle Seite!")
    with pytest.raises(Rejected, match="Unsupported post request"):
        adapter(api, tmp_path).edit(RemotePost(theirs.id), post(), DELIVERY)
    assert theirs.message == "Tolle Seite!"


def test_a_comment_carries_the_link_in_its_text_and_a_reply_to_it_nests(api: FakeFacebook,
                                                                        tmp_path: Path) -> None:
    fb = adapter(api, tmp_path)
    made = fb.publish(post(), DELIVERY)
    correction = post("Korrektur: Das Ergebnis ist vorläufig.")
    first = fb.reply(RemotePost(made.remote_id), correction, DELIVERY)
    [comment] = api.comments_under(made.remote_id)
    assert comment.id == first.remote_id and comment.message == f"{correction.text}\n\n{LINK}"
    assert first.url == f"https://www.facebook.com/1122334455/posts/{made.remote_id.split('_')[1]}" \
                        f"?comment_id={first.remote_id.split('_')[1]}"
    follow_up = post(f"Nachtrag: Das amtliche Ergebnis kommt am Montag. {LINK}")
    second = fb.reply(RemotePost(first.remote_id), follow_up, DELIVERY)
    [nested] = api.comments_under(first.remote_id)
    assert nested.id == second.remote_id and nested.message == follow_up.text  # the link was there already
    assert fb.find_reply(RemotePost(made.remote_id), correction, DELIVERY) == first
