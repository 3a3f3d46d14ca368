from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes.base import Clock
from fakes.facebook import graph_error, throttled
from fakes.threads import FakeThreads

from sharebot.adapters import make_adapter
from sharebot.adapters.base import AdapterContext, Delivery, RemotePost, Secret
from sharebot.adapters.threads import ThreadsAdapter
from sharebot.errors import AuthError, ConfigError, NotSent, RateLimited, Rejected, Unconfirmed
from sharebot.jobs import PublishResult
from sharebot.models import Account, Card, Network, RenderedPost

TOKEN = "THQWsecretTHREADStoken0123456789"
USER = "17841400000000001"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
LINK = "https://news.example/politik/wahl-2026?utm_source=threads"
IMAGE = "https://news.example/media/wahl.jpg"
DELIVERY = Delivery("job-9", NOW)


@pytest.fixture
def api(clock: Clock) -> Iterator[FakeThreads]:
    with FakeThreads(USER, TOKEN, clock=clock) as fake:
        yield fake


def adapter(api: FakeThreads | str, tmp_path: Path, *, token: str = TOKEN, timeout: float = 10.0,
            **options: Any) -> ThreadsAdapter:
    base = api if isinstance(api, str) else api.url
    options = {"user_id": USER, "api_base": base, "poll_interval": 0.01, **options}
    account = Account("th", Network.THREADS, options=options, secrets={"access_token": "SHAREBOT_THREADS"})
    made = make_adapter(account, {"access_token": Secret(token)}, AdapterContext(tmp_path, timeout=timeout))
    assert isinstance(made, ThreadsAdapter)
    return made


def post(text: str = "Wahl 2026: das Ergebnis 🗳️ #Politik", link: str = LINK, **options: Any) -> RenderedPost:
    return RenderedPost("th", Network.THREADS, text, len(text), 500, "characters", link,
                        Card(link, "Wahl 2026", "Das Ergebnis", IMAGE), "de", image=IMAGE,
                        image_alt="Stimmzettel", options=options)


def publishes(api: FakeThreads) -> list[Any]:
    return [r for r in api.requests if r.path.endswith("/threads_publish")]


def test_text_post_with_link_attachment(api: FakeThreads, tmp_path: Path) -> None:
    result = adapter(api, tmp_path).publish(post(), DELIVERY)
    [media] = api.live
    assert result.remote_id == media.id and result.url == media.permalink
    [container] = api.containers.values()
    assert container.params == {"media_type": "TEXT", "text": post().text, "link_attachment": LINK}
    create = next(r for r in api.requests if r.path.endswith("/threads") and r.method == "POST")
    assert create.query == {} and create.form()["access_token"] == TOKEN  # token in the body, not the URL
    assert publishes(api)[0].form()["creation_id"] == container.id


def test_attach_image_waits_for_the_container(api: FakeThreads, tmp_path: Path) -> None:
    api.image_ready_after = 3
    adapter(api, tmp_path).publish(post(attach_image=True), DELIVERY)
    [container] = api.containers.values()
    assert container.params == {"media_type": "IMAGE", "image_url": IMAGE, "text": post().text,
                                "alt_text": "Stimmzettel"}
    assert container.reads >= 3 and container.status == "PUBLISHED"


def test_image_still_processing_is_not_sent(api: FakeThreads, tmp_path: Path) -> None:
    api.image_ready_after = 100
    with pytest.raises(NotSent, match="still processing"):
        adapter(api, tmp_path, poll_attempts=2).publish(post(attach_image=True), DELIVERY)
    assert api.live == [] and publishes(api) == []


def test_failed_image_container_is_rejected(api: FakeThreads, tmp_path: Path) -> None:
    api.fail_next(200, {"id": "x", "status": "ERROR", "error_message": "MEDIA_DOWNLOAD_FAILED"}, method="GET",
                  path=r"/v1\.0/\d+$")
    with pytest.raises(Rejected, match="MEDIA_DOWNLOAD_FAILED"):
        adapter(api, tmp_path).publish(post(attach_image=True), DELIVERY)


def test_a_finished_container_from_an_earlier_attempt_is_published_not_recreated(api: FakeThreads,
                                                                                 tmp_path: Path) -> None:
    th = adapter(api, tmp_path)
    api.fail_next(500, graph_error(500, 2, "temporary").body, path="threads_publish$")
    with pytest.raises(Unconfirmed, match="container"):
        th.publish(post(), DELIVERY)
    [container] = api.containers
    retry = Delivery("job-9", NOW, {"container_id": container})
    assert th.find(post(), retry) is None  # status FINISHED: certainly not posted
    result = th.publish(post(), retry)
    assert list(api.containers) == [container] and api.live[0].id == result.remote_id


def test_the_container_id_is_saved_before_publishing_so_a_retry_reuses_it(api: FakeThreads,
                                                                          tmp_path: Path) -> None:
    saved: dict[str, Any] = {}
    th = adapter(api, tmp_path)
    api.fail_next(500, graph_error(500, 2, "temporary").body, path="threads_publish$")
    with pytest.raises(Unconfirmed):
        th.publish(post(), Delivery("job-9", NOW, save=saved.update))
    assert saved == {"container_id": next(iter(api.containers))}
    th.publish(post(), Delivery("job-9", NOW, dict(saved), save=saved.update))
    assert len(api.containers) == 1 and len(api.live) == 1


def test_published_container_is_found_and_never_published_twice(api: FakeThreads, tmp_path: Path) -> None:
    th = adapter(api, tmp_path)
    api.drop_next(path="threads_publish$", after=True)
    with pytest.raises(Unconfirmed, match="connection lost"):
        th.publish(post(), DELIVERY)
    [container] = api.containers
    retry = Delivery("job-9", NOW, {"container_id": container})
    found = th.find(post(), retry)
    assert found is not None and found.remote_id == api.live[0].id
    assert th.publish(post(), retry) == found and len(publishes(api)) == 1


def test_slow_publish_is_unconfirmed_and_find_by_link_sees_it(api: FakeThreads, tmp_path: Path) -> None:
    api.stall_next(path="threads_publish$", after=True)
    th = adapter(api, tmp_path, timeout=0.2)
    with pytest.raises(Unconfirmed, match="may have been applied"):
        th.publish(post(), DELIVERY)
    found = th.find(post(), DELIVERY)  # no container id kept: search recent posts for the link
    assert found is not None and found.remote_id == api.live[0].id
    assert th.find(post(link="https://news.example/nie", text="anders"), DELIVERY) is None


def test_quota_used_up_is_rate_limited_before_anything_is_created(api: FakeThreads, tmp_path: Path) -> None:
    api.quota_total = 0
    with pytest.raises(RateLimited, match="quota") as caught:
        adapter(api, tmp_path).publish(post(), DELIVERY)
    assert caught.value.retry_after == 3600 and api.containers == {}


def test_throttled_and_not_ready_are_rate_limited(api: FakeThreads, tmp_path: Path) -> None:
    th = adapter(api, tmp_path)
    answer = throttled(minutes=2)
    api.fail_next(answer.status, answer.body, answer.headers, path=r"/threads$", method="POST")
    with pytest.raises(RateLimited) as caught:
        th.publish(post(), DELIVERY)
    assert caught.value.retry_after == 120
    not_ready = graph_error(400, 9007, "The media is not ready for publishing", 2207027)
    api.fail_next(not_ready.status, not_ready.body, path="threads_publish$")
    with pytest.raises(RateLimited, match="not ready"):
        th.publish(post(), DELIVERY)


def test_errors_map_to_kinds(api: FakeThreads, tmp_path: Path) -> None:
    th = adapter(api, tmp_path)
    api.fail_next(400, graph_error(400, 100, "THREADS_API__LINK_LIMIT_EXCEEDED").body, path=r"/threads$")
    with pytest.raises(Rejected, match="LINK_LIMIT") as rejected:
        th.publish(post(), DELIVERY)
    assert type(rejected.value) is Rejected
    api.fail_next(403, graph_error(403, 10, "Application does not have permission").body, path=r"/threads$")
    with pytest.raises(Rejected, match="threads_content_publish"):
        th.publish(post(), DELIVERY)
    api.fail_next(502, b"bad gateway", path=r"/threads$")  # a container is invisible until published
    with pytest.raises(NotSent, match="creating the container"):
        th.publish(post(), DELIVERY)
    assert api.live == []


def test_expired_token_is_auth_error(api: FakeThreads, tmp_path: Path) -> None:
    th = adapter(api, tmp_path, token="THQWwrongTOKENwrong000")
    with pytest.raises(AuthError, match="refresh"):
        th.publish(post(), DELIVERY)
    assert th.check().state == "rejected"


def test_delete_and_check(api: FakeThreads, tmp_path: Path) -> None:
    th = adapter(api, tmp_path)
    made = th.publish(post(), DELIVERY)
    th.delete(made.remote_id)
    assert api.live == []
    with pytest.raises(Rejected, match="does not exist"):
        th.delete(made.remote_id)
    assert (th.check().state, th.check().detail) == ("ok", "posting as @sharebot.news")


def test_user_id_is_required(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="user_id"):
        make_adapter(Account("th", Network.THREADS), {"access_token": Secret(TOKEN)},
                     AdapterContext(tmp_path))


def test_token_never_in_errors_or_logs(api: FakeThreads, tmp_path: Path,
                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    th = adapter(api, tmp_path, timeout=0.2)
    api.fail_next(400, graph_error(400, 100, f"bad parameter access_token={TOKEN}").body, path=r"/threads$")
    api.stall_next(path="threads_publish$")
    api.drop_next(path="threads_publishing_limit")
    messages = []
    for _ in range(3):
        with pytest.raises(Exception) as caught:
            th.publish(post(), DELIVERY)
        messages.append(str(caught.value))
    th.find(post(), DELIVERY)
    assert "****" in messages[1] and "threads_publishing_limit" in caplog.text
    for text in (*messages, caplog.text, repr(th.credentials)):
        assert TOKEN not in text


# --- rounds: `sharebot publish --repost` posts the same link again under a new job key ----------------
ROUND_2 = Delivery("job-10", NOW, {"not_before": NOW.isoformat()})


def round_1(clock: Clock, th: ThreadsAdapter, *, days: float = 3) -> str:
    """The first round's post of the same article, made `days` before round 2 began."""
    clock.now = NOW - timedelta(days=days)
    made = th.publish(post(), Delivery("job-9", clock.now, th.prepare(post(), Delivery("job-9", clock.now))))
    clock.now = NOW + timedelta(minutes=1)
    return made.remote_id


def test_prepare_keeps_when_the_round_began_and_the_container_is_saved_beside_it(api: FakeThreads,
                                                                                tmp_path: Path) -> None:
    th = adapter(api, tmp_path)
    data = th.prepare(post(), DELIVERY)
    assert data == {"not_before": "2026-11-25T09:00:00+00:00"}
    saved = dict(data)  # as the worker does: values saved mid-publish are merged into what prepare returned
    api.fail_next(500, graph_error(500, 2, "temporary").body, path="threads_publish$")
    with pytest.raises(Unconfirmed):
        th.publish(post(), Delivery("job-9", NOW, dict(saved), save=saved.update))
    assert saved == {"not_before": data["not_before"], "container_id": next(iter(api.containers))}
    assert th.find(post(), Delivery("job-9", NOW, dict(saved))) is None  # the container is unpublished
    assert th.publish(post(), Delivery("job-9", NOW, dict(saved))).remote_id == api.live[0].id


def test_find_ignores_an_earlier_rounds_post_of_the_same_link(api: FakeThreads, clock: Clock, tmp_path: Path) -> None:
    th = adapter(api, tmp_path)
    old = round_1(clock, th)
    assert api.live[0].timestamp == "2026-11-22T09:00:00+0000"
    assert th.find(post(), ROUND_2) is None
    found = th.find(post(), DELIVERY)  # a job from before rounds were kept: any post counts, as before
    assert found is not None and found.remote_id == old


def test_find_sees_this_rounds_post_after_a_lost_answer(api: FakeThreads, clock: Clock, tmp_path: Path) -> None:
    th = adapter(api, tmp_path, timeout=0.2)
    old = round_1(clock, th)
    clock.now = NOW - timedelta(minutes=9)  # within the clock skew allowed before the round began
    api.stall_next(path="threads_publish$", after=True)
    with pytest.raises(Unconfirmed):
        th.publish(post(), ROUND_2)
    found = th.find(post(), ROUND_2)
    assert found is not None and found.remote_id != old and found.remote_id == max(api.media)


def test_published_container_settles_on_this_rounds_post_only(api: FakeThreads, clock: Clock, tmp_path: Path) -> None:
    th = adapter(api, tmp_path)
    round_1(clock, th)
    api.drop_next(path="threads_publish$", after=True)
    with pytest.raises(Unconfirmed):
        th.publish(post(), ROUND_2)
    container = max(api.containers)
    retry = Delivery("job-10", NOW, {**ROUND_2.data, "container_id": container})
    found = th.find(post(), retry)
    assert found is not None and found.remote_id == api.containers[container].media_id
    # Should the new post be gone from the list, round 1's post of the link does not stand in for it.
    api.media[found.remote_id].deleted = True
    with pytest.raises(Unconfirmed, match="PUBLISHED but the post is not listed"):
        th.find(post(), retry)


# --- replies -------------------------------------------------------------------------------------------
def test_a_reply_is_a_container_with_reply_to_id_counted_against_the_reply_quota(api: FakeThreads,
                                                                                tmp_path: Path) -> None:
    th = adapter(api, tmp_path)
    made = th.publish(post(), DELIVERY)
    answer = post("Korrektur: Das Ergebnis ist vorläufig.")
    reply = th.reply(RemotePost(made.remote_id), answer, DELIVERY)
    container = list(api.containers.values())[-1]
    assert container.params == {"media_type": "TEXT", "text": answer.text, "link_attachment": LINK,
                                "reply_to_id": made.remote_id}
    [media] = api.replies_to(made.remote_id)
    assert reply.remote_id == media.id and reply.url == media.permalink
    quota = [r for r in api.requests if r.path.endswith("/threads_publishing_limit")][-1]
    assert quota.query["fields"] == ["reply_quota_usage,reply_config"]
    assert [m.id for m in api.live if not m.reply_to] == [made.remote_id]  # a reply is not a post of its own


def test_a_used_up_reply_quota_is_rate_limited_before_anything_is_created(api: FakeThreads,
                                                                        tmp_path: Path) -> None:
    api.reply_quota_total = 0
    th = adapter(api, tmp_path)
    made = th.publish(post(), DELIVERY)  # posts have their own quota
    with pytest.raises(RateLimited, match="reply quota"):
        th.reply(RemotePost(made.remote_id), post("Nachtrag"), DELIVERY)
    assert len(api.containers) == 1


def test_a_reply_whose_publish_answer_is_lost_is_settled_by_its_container(api: FakeThreads,
                                                                          tmp_path: Path) -> None:
    th = adapter(api, tmp_path)
    made = th.publish(post(), DELIVERY)
    answer = post("Nachtrag: Das amtliche Ergebnis kommt am Montag.")
    saved: dict[str, Any] = {}
    api.drop_next(path="threads_publish$", after=True)
    with pytest.raises(Unconfirmed):
        th.reply(RemotePost(made.remote_id), answer, Delivery("job-10", NOW, save=saved.update))
    found = th.find_reply(RemotePost(made.remote_id), answer, Delivery("job-10", NOW, dict(saved)))
    [media] = api.replies_to(made.remote_id)
    assert found is not None and found.remote_id == media.id
    assert th.reply(RemotePost(made.remote_id), answer, Delivery("job-10", NOW, dict(saved))) == found
    assert len(api.replies_to(made.remote_id)) == 1


def test_find_reply_ignores_someone_elses_identical_reply(api: FakeThreads, tmp_path: Path) -> None:
    th = adapter(api, tmp_path)
    made = th.publish(post(), DELIVERY)
    answer = post("Nachtrag: Das amtliche Ergebnis kommt am Montag.")
    api.add_reply(made.remote_id, answer.text, "copycat")
    assert th.find_reply(RemotePost(made.remote_id), answer, DELIVERY) is None
    ours = api.add_reply(made.remote_id, answer.text, api.username)
    assert th.find_reply(RemotePost(made.remote_id), answer, DELIVERY) == PublishResult(ours.id, ours.permalink)
