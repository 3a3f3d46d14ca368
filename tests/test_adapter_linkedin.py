from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes.base import Clock, FakeAPI
from fakes.linkedin import FakeLinkedIn, restli_error
from PIL import Image

from sharebot.adapters import make_adapter
from sharebot.adapters.base import AdapterContext, Delivery, RemotePost, Secret
from sharebot.adapters.linkedin import LinkedInAdapter
from sharebot.errors import AuthError, ConfigError, NotSent, RateLimited, Rejected, Unconfirmed, Unsupported
from sharebot.fetch import FetchPolicy
from sharebot.jobs import PublishResult
from sharebot.models import Account, Card, Network, RenderedPost

LOOPBACK = FetchPolicy(allow_private=("127.0.0.1",))  # the image hosts in these tests listen on loopback
TOKEN = "AQXsecretLINKEDINtoken0123456789"
ORG = "urn:li:organization:5515715"
NOW = datetime(2026, 11, 25, 21, 30, tzinfo=UTC)
LINK = "https://news.example/politik/wahl-2026?utm_source=linkedin&utm_medium=social"
DELIVERY = Delivery("job-3", NOW)
TEXT = r"Wahl 2026: das Ergebnis \(vorläufig\) \#Politik"


@pytest.fixture
def api(clock: Clock) -> Iterator[FakeLinkedIn]:
    with FakeLinkedIn(TOKEN, clock=clock) as fake:
        yield fake


def adapter(api: FakeLinkedIn | str, tmp_path: Path, *, token: str = TOKEN, timeout: float = 10.0,
            policy: FetchPolicy = LOOPBACK, **options: Any) -> LinkedInAdapter:
    base = api if isinstance(api, str) else api.url
    account = Account("li", Network.LINKEDIN, options={"author": ORG, "api_base": base, **options},
                      secrets={"access_token": "SHAREBOT_LI_TOKEN"})
    context = AdapterContext(tmp_path, timeout=timeout, fetch_policy=policy)
    made = make_adapter(account, {"access_token": Secret(token)}, context)
    assert isinstance(made, LinkedInAdapter)
    return made


def post(text: str = TEXT, image: str | None = None, link: str = LINK) -> RenderedPost:
    card = Card(link, "Wahl 2026: das Ergebnis (vorläufig)", "Was die Zahlen sagen.", image, "Stimmzettel")
    return RenderedPost("li", Network.LINKEDIN, text, len(text), 3000, "characters", link, card, "de",
                        image=image, image_alt="Stimmzettel")


def test_publish_sends_commentary_as_is_and_an_article(api: FakeLinkedIn, tmp_path: Path) -> None:
    result = adapter(api, tmp_path).publish(post(), DELIVERY)
    [made] = api.live
    assert result.remote_id == made.urn and result.url == f"https://www.linkedin.com/feed/update/{made.urn}"
    assert made.body == {
        "author": ORG, "commentary": TEXT, "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
                         "thirdPartyDistributionChannels": []},
        "lifecycleState": "PUBLISHED", "isReshareDisabledByAuthor": False,
        "content": {"article": {"source": LINK, "title": "Wahl 2026: das Ergebnis (vorläufig)",
                                "description": "Was die Zahlen sagen."}},
    }
    headers = api.requests[-1].headers
    assert headers["linkedin-version"] == "202607" and headers["x-restli-protocol-version"] == "2.0.0"


def test_thumbnail_is_uploaded_as_jpeg_through_the_images_api(api: FakeLinkedIn, pictures: FakeAPI,
                                                              tmp_path: Path) -> None:
    adapter(api, tmp_path, version="202601").publish(post(image=f"{pictures.url}/rgb-120x63.webp"), DELIVERY)
    [made] = api.live
    article = made.body["content"]["article"]
    uploaded = api.images[article["thumbnail"]]
    assert uploaded is not None and uploaded[:3] == b"\xff\xd8\xff"
    assert Image.open(io.BytesIO(uploaded)).size == (120, 63)
    assert article["thumbnailAltText"] == "Stimmzettel"
    assert api.upload_auth == [f"Bearer {TOKEN}"]  # the stand-in is the configured LinkedIn host
    init = next(r for r in api.requests if r.path == "/rest/images")
    assert init.json() == {"initializeUploadRequest": {"owner": ORG}}
    assert init.headers["linkedin-version"] == "202601"


def test_unusable_article_image_posts_the_card_without_thumbnail(api: FakeLinkedIn, pictures: FakeAPI,
                                                                tmp_path: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    adapter(api, tmp_path).publish(post(image=f"{pictures.url}/broken.jpg"), DELIVERY)
    assert "thumbnail" not in api.live[0].body["content"]["article"]
    assert "card without thumbnail" in caplog.text


def test_an_image_on_a_private_address_costs_the_thumbnail_and_is_never_asked_for(
        api: FakeLinkedIn, pictures: FakeAPI, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    asked = len(pictures.requests)
    adapter(api, tmp_path, policy=FetchPolicy()).publish(post(image=f"{pictures.url}/rgb-120x63.webp"), DELIVERY)
    assert "thumbnail" not in api.live[0].body["content"]["article"]
    assert "card without thumbnail" in caplog.text and "127.0.0.1 is a loopback address" in caplog.text
    assert len(pictures.requests) == asked


def test_failed_image_upload_is_not_sent(api: FakeLinkedIn, pictures: FakeAPI, tmp_path: Path) -> None:
    api.drop_next(method="PUT", after=True)
    with pytest.raises(NotSent, match="thumbnail upload"):
        adapter(api, tmp_path).publish(post(image=f"{pictures.url}/rgb-120x63.webp"), DELIVERY)
    assert api.live == []


def test_visibility_comes_from_the_rendered_post(api: FakeLinkedIn, tmp_path: Path) -> None:
    rendered = post()._replace(options={"visibility": "CONNECTIONS"})
    adapter(api, tmp_path).publish(rendered, DELIVERY)
    assert api.live[0].body["visibility"] == "CONNECTIONS"


def test_duplicate_returns_the_named_post(api: FakeLinkedIn, tmp_path: Path) -> None:
    li = adapter(api, tmp_path)
    first = li.publish(post(), DELIVERY)
    again = li.publish(post(), DELIVERY)
    assert again == first and len(api.live) == 1


def test_find_matches_the_article_source(api: FakeLinkedIn, tmp_path: Path) -> None:
    li = adapter(api, tmp_path)
    li.publish(post("Anderes", link="https://news.example/anderes"), DELIVERY)
    made = li.publish(post(), DELIVERY)
    assert li.find(post(), DELIVERY) == made
    assert li.find(post(link="https://news.example/nie"), DELIVERY) is None
    query = api.requests[-1].query
    assert query["q"] == ["author"] and query["author"] == [ORG] and query["count"] == ["20"]


def test_find_for_a_member_without_read_permission_is_rejected(api: FakeLinkedIn, tmp_path: Path) -> None:
    with pytest.raises(Rejected, match="permission"):
        adapter(api, tmp_path, author="urn:li:person:abc123XYZ").find(post(), DELIVERY)


def test_delete_and_check(api: FakeLinkedIn, tmp_path: Path) -> None:
    li = adapter(api, tmp_path)
    made = li.publish(post(), DELIVERY)
    li.delete(made.remote_id)
    assert api.live == [] and api.requests[-1].path == f"/rest/posts/{made.remote_id.replace(':', '%3A')}"
    with pytest.raises(Rejected, match="not found"):
        li.delete(made.remote_id)
    assert (li.check().state, li.check().detail) == ("ok", "posting as Sharebot News GmbH")
    member = adapter(api, tmp_path, author="urn:li:person:abc123XYZ").check()
    assert (member.state, member.detail) == ("ok", "posting as Erika Muster")


def test_expired_token_is_auth_error(api: FakeLinkedIn, tmp_path: Path) -> None:
    li = adapter(api, tmp_path, token="AQXwrongTOKENwrong000")
    with pytest.raises(AuthError, match="authorize again"):
        li.publish(post(), DELIVERY)
    assert li.check().state == "rejected"


def test_retired_version_is_rejected_with_advice(api: FakeLinkedIn, tmp_path: Path) -> None:
    with pytest.raises(Rejected, match="LinkedIn-Version 202401 is no longer supported") as caught:
        adapter(api, tmp_path, version="202401").publish(post(), DELIVERY)
    assert caught.value.status == 426


def test_validation_error_is_rejected(api: FakeLinkedIn, tmp_path: Path) -> None:
    api.fail_next(422, restli_error(422, "ERROR :: /commentary :: too long").body, path="/rest/posts")
    with pytest.raises(Rejected, match="too long") as caught:
        adapter(api, tmp_path).publish(post(), DELIVERY)
    assert type(caught.value) is Rejected


def test_429_waits_until_utc_midnight_or_for_retry_after(api: FakeLinkedIn, tmp_path: Path) -> None:
    li = adapter(api, tmp_path)
    daily = restli_error(429, "Resource level throttle APPLICATION DAY limit")
    api.fail_next(429, daily.body, path="/rest/posts")
    with pytest.raises(RateLimited) as caught:
        li.publish(post(), DELIVERY)
    assert caught.value.retry_after == 2.5 * 3600  # 21:30 UTC -> 00:00 UTC
    api.fail_next(429, b"", {"Retry-After": "120"}, path="/rest/posts")
    with pytest.raises(RateLimited) as caught:
        li.publish(post(), DELIVERY)
    assert caught.value.retry_after == 120.0


def test_server_error_and_slow_answer_are_unconfirmed_then_find(api: FakeLinkedIn, tmp_path: Path) -> None:
    li = adapter(api, tmp_path, timeout=0.2)
    api.fail_next(504, b"<html>Gateway Timeout</html>", path="/rest/posts", method="POST")
    with pytest.raises(Unconfirmed):
        li.publish(post(), DELIVERY)
    api.stall_next(path="/rest/posts", method="POST", after=True)
    with pytest.raises(Unconfirmed, match="may have been applied"):
        li.publish(post(), DELIVERY)
    found = li.find(post(), DELIVERY)
    assert found is not None and found.remote_id == api.live[0].urn


def test_created_without_id_is_unconfirmed(api: FakeLinkedIn, tmp_path: Path) -> None:
    api.fail_next(201, b"", path="/rest/posts", method="POST", after=True)
    with pytest.raises(Unconfirmed, match="x-restli-id"):
        adapter(api, tmp_path).publish(post(), DELIVERY)


def test_author_must_be_a_urn(tmp_path: Path) -> None:
    account = Account("li", Network.LINKEDIN, options={"author": "Sharebot News"})
    with pytest.raises(ConfigError, match="urn:li:organization"):
        make_adapter(account, {"access_token": Secret(TOKEN)}, AdapterContext(tmp_path))


def test_token_never_in_errors_or_logs(api: FakeLinkedIn, tmp_path: Path,
                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    li = adapter(api, tmp_path, timeout=0.2)
    api.fail_next(400, restli_error(400, f"token {TOKEN} is malformed").body)
    api.stall_next()
    api.drop_next()
    messages = []
    for _ in range(3):
        with pytest.raises(Exception) as caught:
            li.publish(post(), DELIVERY)
        messages.append(str(caught.value))
    assert "****" in messages[0]
    for text in (*messages, caplog.text, repr(li.credentials), repr(li.http.client.headers)):
        assert TOKEN not in text


# --- rounds: `sharebot publish --repost` posts the same link again under a new job key ----------------
ROUND_2 = Delivery("job-4", NOW, {"not_before": NOW.isoformat()})
MEMBER = "urn:li:person:abc123XYZ"


def round_1(clock: Clock, li: LinkedInAdapter, *, days: float = 3) -> str:
    """The first round's post of the same article, made `days` before round 2 began."""
    clock.now = NOW - timedelta(days=days)
    made = li.publish(post(), Delivery("job-3", clock.now, li.prepare(post(), Delivery("job-3", clock.now))))
    clock.now = NOW + timedelta(minutes=1)
    return made.remote_id


def post_reads(api: FakeLinkedIn) -> list[str]:
    return [r.path for r in api.requests if r.method == "GET" and r.path.startswith("/rest/posts/")]


def test_prepare_keeps_when_the_round_began(api: FakeLinkedIn, tmp_path: Path) -> None:
    assert adapter(api, tmp_path).prepare(post(), DELIVERY) == {"not_before": "2026-11-25T21:30:00+00:00"}


def test_find_ignores_an_earlier_rounds_post_of_the_same_link(api: FakeLinkedIn, clock: Clock, tmp_path: Path) -> None:
    li = adapter(api, tmp_path)
    old = round_1(clock, li)
    assert api.live[0].element()["createdAt"] == int((NOW - timedelta(days=3)).timestamp() * 1000)
    assert li.find(post(), ROUND_2) is None
    assert li.find(post(), DELIVERY) == PublishResult(old, f"https://www.linkedin.com/feed/update/{old}")


def test_find_sees_this_rounds_post_after_a_lost_answer(api: FakeLinkedIn, clock: Clock, tmp_path: Path) -> None:
    li = adapter(api, tmp_path)
    old = round_1(clock, li)
    clock.now = NOW - timedelta(minutes=9)  # within the clock skew allowed before the round began
    api.drop_next(path="/rest/posts", method="POST", after=True)
    with pytest.raises(Unconfirmed):
        li.publish(post("Neu gefasst"), ROUND_2)
    found = li.find(post("Neu gefasst"), ROUND_2)
    assert found is not None and found.remote_id != old and found.remote_id == api.live[-1].urn


def test_duplicate_of_this_rounds_post_is_ours(api: FakeLinkedIn, clock: Clock, tmp_path: Path) -> None:
    li = adapter(api, tmp_path)
    round_1(clock, li)
    api.drop_next(path="/rest/posts", method="POST", after=True)
    with pytest.raises(Unconfirmed):
        li.publish(post("Neu gefasst"), ROUND_2)
    mine = api.live[-1].urn
    assert li.publish(post("Neu gefasst"), ROUND_2).remote_id == mine and len(api.live) == 2
    assert post_reads(api) == [f"/rest/posts/{mine.replace(':', '%3A')}"]  # its date, read by URN


def test_duplicate_of_an_earlier_round_is_rejected(api: FakeLinkedIn, clock: Clock, tmp_path: Path) -> None:
    li = adapter(api, tmp_path)
    old = round_1(clock, li)
    with pytest.raises(Rejected, match=f"refuses identical content: this duplicates {old}, made 2026-11-22 "
                                       f"21:30 UTC, before this round; a repost needs different text") as caught:
        li.publish(post(), ROUND_2)
    assert type(caught.value) is Rejected and caught.value.status == 422 and len(api.live) == 1


def test_duplicate_whose_date_cannot_be_read_is_rejected(api: FakeLinkedIn, clock: Clock, tmp_path: Path) -> None:
    member = adapter(api, tmp_path, author=MEMBER)  # without r_member_social: 403 on reading the post
    round_1(clock, member)
    with pytest.raises(Rejected, match="could not be read .*permissions.*a repost needs different text"):
        member.publish(post(), ROUND_2)
    li = adapter(api, tmp_path)
    round_1(clock, li)
    api.fail_next(404, restli_error(404, "Post not found", "NOT_FOUND").body, method="GET", path="/rest/posts/")
    with pytest.raises(Rejected, match="could not be read .*not found"):  # a "ghost" URN of a deleted post
        li.publish(post(), ROUND_2)
    api.fail_next(503, b"", method="GET", path="/rest/posts/")
    with pytest.raises(NotSent):  # nothing was posted; the next attempt asks again
        li.publish(post(), ROUND_2)


def test_duplicate_for_a_job_without_a_round_start_is_taken_as_before(api: FakeLinkedIn, clock: Clock,
                                                                      tmp_path: Path) -> None:
    li = adapter(api, tmp_path, author=MEMBER)
    old = round_1(clock, li)
    assert li.publish(post(), DELIVERY).remote_id == old and post_reads(api) == []


# --- edits and comments --------------------------------------------------------------------------------
def test_an_edit_is_a_partial_update_of_the_commentary_only(api: FakeLinkedIn, tmp_path: Path) -> None:
    li = adapter(api, tmp_path)
    made = li.publish(post(), DELIVERY)
    corrected = post(r"Wahl 2026: das vorläufige Ergebnis \#Politik")
    result = li.edit(RemotePost(made.remote_id, made.url, post=post()), corrected, DELIVERY)
    update = api.requests[-1]
    assert update.method == "POST" and update.path == f"/rest/posts/{made.remote_id.replace(':', '%3A')}"
    assert update.headers["x-restli-method"] == "PARTIAL_UPDATE"
    assert update.json() == {"patch": {"$set": {"commentary": corrected.text}}}
    [live] = api.live
    assert live.body["commentary"] == corrected.text and live.history == [TEXT]
    assert live.body["content"]["article"]["source"] == LINK  # the card stays as first posted
    assert result == made and li.find_edit(RemotePost(made.remote_id), corrected, DELIVERY) == made


def test_an_edit_that_would_change_the_article_is_unsupported_and_sends_nothing(api: FakeLinkedIn,
                                                                               tmp_path: Path) -> None:
    li = adapter(api, tmp_path)
    made = li.publish(post(), DELIVERY)
    before = len(api.requests)
    with pytest.raises(Unsupported, match="cannot change the link"):
        li.edit(RemotePost(made.remote_id, post=post()), post(link=f"{LINK}&v=2"), DELIVERY)
    assert len(api.requests) == before and api.live[0].history == []


def test_another_organizations_post_cannot_be_edited(api: FakeLinkedIn, tmp_path: Path) -> None:
    theirs = api.add_post("urn:li:organization:1", "Fremder Beitrag")
    with pytest.raises(Rejected, match="permission") as caught:
        adapter(api, tmp_path).edit(RemotePost(theirs.urn), post(), DELIVERY)
    assert caught.value.status == 403 and theirs.body["commentary"] == "Fremder Beitrag"


def test_an_edit_of_a_members_post_cannot_be_read_back_and_is_safe_to_repeat(api: FakeLinkedIn,
                                                                            tmp_path: Path) -> None:
    li = adapter(api, tmp_path, author=MEMBER)
    made = li.publish(post(), DELIVERY)
    corrected = post(r"Wahl 2026: das vorläufige Ergebnis \#Politik")
    assert li.find_edit(RemotePost(made.remote_id), corrected, DELIVERY) is None  # 403 without r_member_social
    li.edit(RemotePost(made.remote_id), corrected, DELIVERY)
    li.edit(RemotePost(made.remote_id), corrected, DELIVERY)
    assert api.live[0].history == [TEXT]


def test_a_comment_carries_the_link_in_its_text_and_a_reply_to_it_names_its_parent(api: FakeLinkedIn,
                                                                                   tmp_path: Path) -> None:
    li = adapter(api, tmp_path)
    made = li.publish(post(), DELIVERY)
    correction = post("Korrektur: Das Ergebnis ist vorläufig.")
    first = li.reply(RemotePost(made.remote_id), correction, DELIVERY)
    sent = api.requests[-1]
    assert sent.path == f"/rest/socialActions/{made.remote_id.replace(':', '%3A')}/comments"
    assert sent.json() == {"actor": ORG, "object": made.remote_id,
                           "message": {"text": f"{correction.text}\n\n{LINK}"}}
    assert first.remote_id.startswith(f"urn:li:comment:({made.remote_id},")
    assert first.url == f"https://www.linkedin.com/feed/update/{made.remote_id}?commentUrn=" \
                        + first.remote_id.replace(":", "%3A").replace("(", "%28").replace(",", "%2C").replace(")", "%29")
    follow_up = post("Nachtrag: Das amtliche Ergebnis kommt am Montag.")
    second = li.reply(RemotePost(first.remote_id), follow_up, DELIVERY)
    assert api.requests[-1].json()["parentComment"] == first.remote_id
    assert api.requests[-1].json()["object"] == made.remote_id
    [nested] = [c for c in api.comments if c.urn == second.remote_id]
    assert nested.parent == first.remote_id
    assert li.find_reply(RemotePost(made.remote_id), correction, DELIVERY) == first
    assert li.find_reply(RemotePost(made.remote_id), follow_up, DELIVERY) is None  # it is under the comment
