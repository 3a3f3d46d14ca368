from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes.base import Clock, FakeAPI
from fakes.telegram import FakeTelegram, link_preview
from PIL import Image

from sharebot.adapters import make_adapter
from sharebot.adapters.base import AdapterContext, Delivery, RemotePost, Secret
from sharebot.adapters.telegram import TelegramAdapter
from sharebot.errors import AuthError, ConfigError, RateLimited, Rejected, Unconfirmed, Unsupported
from sharebot.fetch import FetchPolicy
from sharebot.models import Account, Card, Network, RenderedPost

LOOPBACK = FetchPolicy(allow_private=("127.0.0.1",))  # the image hosts in these tests listen on loopback
TOKEN = "123456:SECRET-telegram-token-xyz"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
LINK = "https://news.example/politik/wahl-2026?utm_source=telegram"


@pytest.fixture
def api(clock: Clock) -> Iterator[FakeTelegram]:
    with FakeTelegram(TOKEN, clock=clock) as fake:
        yield fake


def adapter(api: FakeAPI, tmp_path: Path, *, chat: str = "@sharebot_news", token: str = TOKEN,
            timeout: float = 10.0) -> TelegramAdapter:
    account = Account("tg", Network.TELEGRAM, options={"chat_id": chat, "api_base": api.url},
                      secrets={"bot_token": "SHAREBOT_TG_TOKEN"})
    context = AdapterContext(tmp_path, timeout=timeout, fetch_policy=LOOPBACK)
    made = make_adapter(account, {"bot_token": Secret(token)}, context)
    assert isinstance(made, TelegramAdapter)
    return made


def post(text: str = "Wahl 2026: <Ergebnis> & mehr\n\nhttps://news.example/politik/wahl-2026", *,
         image: str | None = None, **options: Any) -> RenderedPost:
    card = Card(LINK, "Wahl 2026", "Das Ergebnis", image)
    return RenderedPost("tg", Network.TELEGRAM, text, len(text), 4096, "UTF-16 code units", LINK, card, "de",
                        image=image, options=options)


DELIVERY = Delivery("job-1", NOW)


def test_publish_sends_plain_text_with_large_link_preview(api: FakeTelegram, tmp_path: Path) -> None:
    result = adapter(api, tmp_path).publish(post(), DELIVERY)
    [message] = api.messages
    assert result.remote_id == str(message.message_id)
    assert result.url == f"https://t.me/sharebot_news/{message.message_id}"
    assert message.params["text"] == "Wahl 2026: <Ergebnis> & mehr\n\nhttps://news.example/politik/wahl-2026"
    assert "parse_mode" not in message.params  # "<Ergebnis>" would break HTML parsing
    assert link_preview(message) == {"url": LINK, "prefer_large_media": True}
    assert message.params["chat_id"] == "@sharebot_news"


def test_html_looking_text_goes_out_verbatim_as_plain_text(api: FakeTelegram, tmp_path: Path) -> None:
    adapter(api, tmp_path).publish(post("<b>Wahl</b> &amp; mehr"), DELIVERY)
    assert api.messages[0].params["text"] == "<b>Wahl</b> &amp; mehr"
    assert "parse_mode" not in api.messages[0].params


def test_attach_image_sends_an_uploaded_jpeg_with_caption(api: FakeTelegram, pictures: FakeAPI,
                                                          tmp_path: Path) -> None:
    image_url = f"{pictures.url}/rgba-64x40.png"
    result = adapter(api, tmp_path).publish(post("Kurz", image=image_url, attach_image=True), DELIVERY)
    [message] = api.messages
    assert message.params["caption"] == "Kurz" and "text" not in message.params
    assert message.photo is not None and message.photo[:3] == b"\xff\xd8\xff"  # PNG with alpha -> JPEG
    assert Image.open(io.BytesIO(message.photo)).size == (64, 40)
    assert result.remote_id == str(message.message_id)


def test_image_without_attach_image_is_a_text_message(api: FakeTelegram, tmp_path: Path) -> None:
    adapter(api, tmp_path).publish(post(image="http://127.0.0.1:9/never-fetched.png"), DELIVERY)
    assert api.messages[0].photo is None


def test_private_channel_link_uses_the_c_form(api: FakeTelegram, tmp_path: Path) -> None:
    result = adapter(api, tmp_path, chat="-1009876543210").publish(post(), DELIVERY)
    assert result.url == f"https://t.me/c/9876543210/{result.remote_id}"


def test_delete_and_check(api: FakeTelegram, tmp_path: Path) -> None:
    tg = adapter(api, tmp_path)
    result = tg.publish(post(), DELIVERY)
    tg.delete(result.remote_id)
    assert api.messages == []
    with pytest.raises(Rejected, match="message to delete not found"):
        tg.delete(result.remote_id)
    status = tg.check()
    assert (status.state, status.detail) == ("ok", "posting to Sharebot News")


def test_find_cannot_reconcile_and_says_so(api: FakeTelegram, tmp_path: Path) -> None:
    tg = adapter(api, tmp_path)
    tg.publish(post(), DELIVERY)
    with pytest.raises(Unconfirmed, match="queue resolve"):  # "not found" would let the worker post again
        tg.find(post(), DELIVERY)
    assert TelegramAdapter.dedupe == "none"


def test_flood_limit_is_rate_limited_with_retry_after(api: FakeTelegram, tmp_path: Path) -> None:
    api.fail_next(429, api.too_many_requests(17).body, path="sendMessage")
    with pytest.raises(RateLimited) as caught:
        adapter(api, tmp_path).publish(post(), DELIVERY)
    assert caught.value.retry_after == 17.0
    assert api.messages == []


def test_wrong_token_is_auth_error_and_check_reports_rejected(api: FakeTelegram, tmp_path: Path) -> None:
    tg = adapter(api, tmp_path, token="999:WRONG-token-value-abc")
    with pytest.raises(AuthError, match="Unauthorized"):
        tg.publish(post(), DELIVERY)
    assert tg.check().state == "rejected"


def test_bot_without_post_rights_is_rejected(api: FakeTelegram, tmp_path: Path) -> None:
    api.chats["@sharebot_news"].bot_can_post = False
    with pytest.raises(Rejected, match="administrator") as caught:
        adapter(api, tmp_path).publish(post(), DELIVERY)
    assert not isinstance(caught.value, AuthError) and caught.value.status == 403


def test_unknown_chat_and_bad_html_are_rejected(api: FakeTelegram, tmp_path: Path) -> None:
    with pytest.raises(Rejected, match="chat not found"):
        adapter(api, tmp_path, chat="@nope").publish(post(), DELIVERY)
    api.fail_next(400, api.error(400, "Bad Request: can't parse entities: Unsupported start tag").body,
                  path="sendMessage")
    with pytest.raises(Rejected, match="can't parse entities"):
        adapter(api, tmp_path).publish(post("<Ergebnis>"), DELIVERY)


def test_server_error_after_sending_is_unconfirmed(api: FakeTelegram, tmp_path: Path) -> None:
    api.fail_next(502, "<html>Bad Gateway</html>", path="sendMessage")
    with pytest.raises(Unconfirmed):
        adapter(api, tmp_path).publish(post(), DELIVERY)


def test_slow_answer_is_unconfirmed_but_the_message_went_out(api: FakeTelegram, tmp_path: Path) -> None:
    api.stall_next(path="sendMessage", after=True)  # the handler runs, the answer never comes
    with pytest.raises(Unconfirmed, match="may have been applied"):
        adapter(api, tmp_path, timeout=0.2).publish(post(), DELIVERY)
    assert len(api.messages) == 1


def test_missing_token_or_chat(tmp_path: Path) -> None:
    account = Account("tg", Network.TELEGRAM, options={"chat_id": "@x"}, secrets={"bot_token": "SHAREBOT_TG"})
    with pytest.raises(AuthError, match="SHAREBOT_TG"):
        make_adapter(account, {}, AdapterContext(tmp_path))
    with pytest.raises(ConfigError, match="chat_id"):
        make_adapter(Account("tg", Network.TELEGRAM), {"bot_token": Secret(TOKEN)}, AdapterContext(tmp_path))


def test_token_never_in_errors_logs_or_repr(api: FakeTelegram, tmp_path: Path,
                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    tg = adapter(api, tmp_path, timeout=0.2)
    messages = []
    api.fail_next(400, {"ok": False, "error_code": 400, "description": f"Bad Request: token {TOKEN} echoed"})
    api.drop_next(after=True)
    api.stall_next()
    api.fail_next(429, api.too_many_requests(3).body)
    for _ in range(4):
        with pytest.raises(Exception) as caught:
            tg.publish(post(), DELIVERY)
        messages.append(str(caught.value))
    tg.publish(post(), DELIVERY)
    messages.append(tg.check().detail)
    assert any("****" in m for m in messages)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "HTTP Request" in logged  # httpx did log the requests, with the placeholder
    secret_part = TOKEN.split(":")[1]
    for text in (*messages, logged, repr(tg.credentials), repr(tg.__dict__)):
        assert secret_part not in text


# --- edits and replies ---------------------------------------------------------------------------------
def test_an_edit_of_a_text_message_keeps_the_link_preview(api: FakeTelegram, tmp_path: Path) -> None:
    tg = adapter(api, tmp_path)
    made = tg.publish(post(), DELIVERY)
    corrected = post("Wahl 2026: <vorläufiges Ergebnis> & mehr\n\nhttps://news.example/politik/wahl-2026")
    assert tg.edit(RemotePost(made.remote_id, made.url, post=post()), corrected, DELIVERY) == made
    edit = api.requests[-1]
    assert edit.path.endswith("/editMessageText")
    assert edit.json() == {"chat_id": "@sharebot_news", "message_id": int(made.remote_id), "text": corrected.text,
                           "link_preview_options": {"url": LINK, "prefer_large_media": True}}
    [message] = api.messages
    assert message.text == corrected.text and message.history == [post().text] and message.edit_date
    assert tg.find_edit(RemotePost(made.remote_id), corrected, DELIVERY) is None  # a bot cannot read it back


def test_an_edit_of_a_photo_post_changes_its_caption_known_or_not(api: FakeTelegram, pictures: FakeAPI,
                                                                 tmp_path: Path) -> None:
    tg = adapter(api, tmp_path)
    photo = post(image=f"{pictures.url}/rgba-64x40.png", attach_image=True)
    made = tg.publish(photo, DELIVERY)
    first = photo._replace(text="Wahl 2026: das vorläufige Ergebnis")
    tg.edit(RemotePost(made.remote_id, post=photo), first, DELIVERY)
    assert [r.path.rsplit("/", 1)[1] for r in api.requests[-1:]] == ["editMessageCaption"]
    second = photo._replace(text="Wahl 2026: das amtliche Ergebnis")
    tg.edit(RemotePost(made.remote_id), second, DELIVERY)  # what it is not said: the text edit says "no text"
    assert [r.path.rsplit("/", 1)[1] for r in api.requests[-2:]] == ["editMessageText", "editMessageCaption"]
    [message] = api.messages
    assert message.text == second.text and message.history == [photo.text, first.text]


def test_a_message_that_cannot_be_edited_is_unsupported_so_a_reply_can_carry_the_correction(
        api: FakeTelegram, clock: Clock, tmp_path: Path) -> None:
    tg = adapter(api, tmp_path)
    theirs = api.add_message("@sharebot_news", "Von der Redaktion")  # not the bot's own
    with pytest.raises(Unsupported, match="can't be edited") as caught:
        tg.edit(RemotePost(str(theirs.message_id)), post(), DELIVERY)
    assert caught.value.capability == "edit" and theirs.history == []
    api.edit_window = timedelta(hours=48)  # as some integrations report; the docs limit business messages only
    made = tg.publish(post(), DELIVERY)
    clock.advance(49 * 3600)
    with pytest.raises(Unsupported, match="can't be edited"):
        tg.edit(RemotePost(made.remote_id), post("Korrigiert"), DELIVERY)
    tg.reply(RemotePost(made.remote_id), post("Korrektur: vorläufig"), DELIVERY)
    assert [m.params["text"] for m in api.replies_to(int(made.remote_id))] == ["Korrektur: vorläufig"]


def test_a_reply_names_the_message_it_answers_as_text_or_photo(api: FakeTelegram, pictures: FakeAPI,
                                                               tmp_path: Path) -> None:
    tg = adapter(api, tmp_path)
    made = tg.publish(post(), DELIVERY)
    text = tg.reply(RemotePost(made.remote_id), post("Korrektur: vorläufig"), DELIVERY)
    assert api.requests[-1].json()["reply_parameters"] == {"message_id": int(made.remote_id)}
    photo = tg.reply(RemotePost(text.remote_id), post("Nachtrag", image=f"{pictures.url}/rgba-64x40.png",
                                                      attach_image=True), DELIVERY)
    assert [m.message_id for m in api.replies_to(int(made.remote_id))] == [int(text.remote_id)]
    assert [m.message_id for m in api.replies_to(int(text.remote_id))] == [int(photo.remote_id)]
    with pytest.raises(Unconfirmed, match="queue resolve"):
        tg.find_reply(RemotePost(made.remote_id), post("Korrektur: vorläufig"), DELIVERY)
