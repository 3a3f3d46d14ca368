"""A stand-in for the Telegram Bot API (https://core.telegram.org/bots/api), enough for channel posts.

Every method answers `{"ok": true, "result": ...}` or `{"ok": false, "error_code", "description"}`
with the HTTP status equal to error_code, as the real API does. Parameters arrive as JSON, query string
or multipart (sendPhoto with an uploaded file).

Edits and replies (docs/lifecycle.md): editMessageText changes a text message, editMessageCaption a photo's
caption; the other one answers 400 "there is no text/caption in the message to edit". An edit that changes
nothing is 400 "message is not modified: ...", a message that is gone 400 "message to edit not found", one the
bot did not send 400 "message can't be edited"; each message keeps its earlier texts in `history`. A message
with `reply_parameters` answers the one it names, or is refused with 400 "message to be replied not found".
The error texts are the Bot API's as reported by its users (the docs list no errors), unverified. The docs give
an edit window of 48 hours to business messages only, so by default there is none; `edit_window` sets one, as
some integrations report for all messages (unverified), answered "message can't be edited".
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fakes.base import FakeAPI, Request, Response


@dataclass
class Message:
    message_id: int
    chat_id: str
    params: dict[str, Any]
    photo: bytes | None = None
    deleted: bool = False
    by_bot: bool = True
    reply_to: int | None = None  # the message this one answers
    history: list[str] = field(default_factory=list)  # earlier texts (or captions), oldest first
    edit_date: int | None = None
    date: int = 0  # when it was sent, epoch seconds

    @property
    def text(self) -> str:
        return str(self.params.get("caption" if self.photo is not None else "text") or "")


@dataclass
class Chat:
    id: int
    username: str | None
    title: str
    bot_can_post: bool = True
    messages: list[Message] = field(default_factory=list)


def parse_multipart(req: Request) -> tuple[dict[str, str], dict[str, bytes]]:
    """Fields and files of a multipart/form-data body."""
    head = f"Content-Type: {req.headers['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + req.body)
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if part.get_filename():
            files[name] = payload
        else:
            fields[name] = payload.decode()
    return fields, files


class FakeTelegram(FakeAPI):
    def __init__(self, token: str = "123456:TEST-token_abcdefghijklmnop", *,
                 clock: Callable[[], datetime]) -> None:
        super().__init__(clock=clock)
        self.token = token
        self.chats = {"@sharebot_news": Chat(-1001234567890, "sharebot_news", "Sharebot News"),
                      "-1009876543210": Chat(-1009876543210, None, "Private Desk")}
        self._next_id = 100
        self.edit_window: timedelta | None = None
        self.route("POST", r"/bot(?P<token>[^/]+)/(?P<method>\w+)", self._dispatch_method)
        self.route("GET", r"/bot(?P<token>[^/]+)/(?P<method>\w+)", self._dispatch_method)

    @property
    def messages(self) -> list[Message]:
        return [m for chat in self.chats.values() for m in chat.messages if not m.deleted]

    def add_message(self, chat_id: str, text: str, *, by_bot: bool = False) -> Message:
        """A message in a chat, by default one the bot did not send (an admin's)."""
        chat = self.chats[chat_id]
        self._next_id += 1
        message = Message(self._next_id, str(chat_id), {"chat_id": chat_id, "text": text}, by_bot=by_bot,
                          date=int(self.clock().timestamp()))
        chat.messages.append(message)
        return message

    def replies_to(self, message_id: int) -> list[Message]:
        return [m for m in self.messages if m.reply_to == message_id]

    # --- protocol ----------------------------------------------------------------------------------
    @staticmethod
    def ok(result: Any) -> Response:
        return Response(200, {"ok": True, "result": result})

    @staticmethod
    def error(code: int, description: str, parameters: dict[str, Any] | None = None) -> Response:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            body["parameters"] = parameters
        return Response(code, body)

    def too_many_requests(self, retry_after: int) -> Response:
        return self.error(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})

    def _params(self, req: Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        params: dict[str, Any] = {k: v[0] for k, v in req.query.items()}
        kind = req.headers.get("content-type", "")
        if kind.startswith("application/json"):
            params.update(req.json())
        elif kind.startswith("multipart/form-data"):
            fields, files = parse_multipart(req)
            params.update(fields)
            return params, files
        elif kind.startswith("application/x-www-form-urlencoded"):
            params.update(req.form())
        return params, {}

    def _dispatch_method(self, req: Request, match: re.Match[str]) -> Response:
        if match["token"] != self.token:
            return self.error(401, "Unauthorized")
        params, files = self._params(req)
        handler = getattr(self, f"_m_{match['method']}", None)
        if handler is None:
            return self.error(404, "Not Found")
        chat = self.chats.get(str(params.get("chat_id")))
        if chat is None:
            return self.error(400, "Bad Request: chat not found")
        return handler(chat, params, files)

    @staticmethod
    def _live(chat: Chat, message_id: Any) -> Message | None:
        return next((m for m in chat.messages if str(m.message_id) == str(message_id) and not m.deleted), None)

    def _message(self, chat: Chat, params: dict[str, Any], photo: bytes | None) -> Response:
        answering = params.get("reply_parameters")
        if isinstance(answering, str):  # multipart and query strings carry it as JSON text
            answering = json.loads(answering)
        parent = None
        if answering:
            parent = self._live(chat, answering.get("message_id"))
            if parent is None and not answering.get("allow_sending_without_reply"):
                return self.error(400, "Bad Request: message to be replied not found")
        self._next_id += 1
        message = Message(self._next_id, str(params["chat_id"]), params, photo,
                          reply_to=parent.message_id if parent else None, date=int(self.clock().timestamp()))
        chat.messages.append(message)
        result = self._result(chat, message)
        if parent is not None:
            result["reply_to_message"] = self._result(chat, parent)
        return self.ok(result)

    def _result(self, chat: Chat, message: Message) -> dict[str, Any]:
        """A message as the Bot API returns it."""
        result: dict[str, Any] = {"message_id": message.message_id, "date": message.date,
                                  "chat": {"id": chat.id, "type": "channel", "title": chat.title}}
        if chat.username:
            result["chat"]["username"] = chat.username
        if message.photo is None:
            result["text"] = message.params["text"]
        else:
            result["caption"] = message.params.get("caption", "")
            result["photo"] = [{"file_id": f"photo{message.message_id}", "width": 320, "height": 200}]
        if message.edit_date is not None:
            result["edit_date"] = message.edit_date
        return result

    def _edit(self, chat: Chat, params: dict[str, Any], field_name: str) -> Response:
        message = self._live(chat, params.get("message_id"))
        if message is None:
            return self.error(400, "Bad Request: message to edit not found")
        too_old = self.edit_window is not None and self.clock().timestamp() - message.date > self.edit_window.total_seconds()
        if not message.by_bot or too_old:
            return self.error(400, "Bad Request: message can't be edited")
        if (field_name == "caption") != (message.photo is not None):
            return self.error(400, f"Bad Request: there is no {field_name} in the message to edit")
        new = params.get(field_name) or ""
        limit = 1024 if field_name == "caption" else 4096  # UTF-16 code units
        if field_name == "text" and not new:
            return self.error(400, "Bad Request: message text is empty")
        if len(new.encode("utf-16-le")) // 2 > limit:
            return self.error(400, "Bad Request: message caption is too long" if field_name == "caption"
                              else "Bad Request: message is too long")
        preview = params.get("link_preview_options")
        same_preview = field_name == "caption" or preview == message.params.get("link_preview_options")
        if new == message.text and same_preview:
            return self.error(400, "Bad Request: message is not modified: specified new message content and "
                                   "reply markup are exactly the same as a current content and reply markup of "
                                   "the message")
        message.history.append(message.text)
        message.params = {**message.params, field_name: new}
        if field_name == "text":
            message.params["link_preview_options"] = preview
        message.edit_date = int(self.clock().timestamp())
        return self.ok(self._result(chat, message))

    # --- methods -----------------------------------------------------------------------------------
    def _m_sendMessage(self, chat: Chat, params: dict[str, Any], files: dict[str, bytes]) -> Response:
        if not chat.bot_can_post:
            return self.error(403, "Forbidden: bot is not a member of the channel chat")
        text = params.get("text") or ""
        if not 1 <= len(text.encode("utf-16-le")) // 2 <= 4096:
            return self.error(400, "Bad Request: message text is empty" if not text
                              else "Bad Request: message is too long")
        if params.get("parse_mode") == "HTML" and re.search(r"<(?!/?(b|i|u|s|a|code|pre)\b)", text):
            return self.error(400, "Bad Request: can't parse entities: Unsupported start tag")
        return self._message(chat, params, None)

    def _m_sendPhoto(self, chat: Chat, params: dict[str, Any], files: dict[str, bytes]) -> Response:
        if not chat.bot_can_post:
            return self.error(403, "Forbidden: bot is not a member of the channel chat")
        if "photo" not in files:
            return self.error(400, "Bad Request: there is no photo in the request")
        if len(params.get("caption", "")) > 1024:
            return self.error(400, "Bad Request: message caption is too long")
        return self._message(chat, params, files["photo"])

    def _m_editMessageText(self, chat: Chat, params: dict[str, Any], files: dict[str, bytes]) -> Response:
        return self._edit(chat, params, "text")

    def _m_editMessageCaption(self, chat: Chat, params: dict[str, Any], files: dict[str, bytes]) -> Response:
        return self._edit(chat, params, "caption")

    def _m_deleteMessage(self, chat: Chat, params: dict[str, Any], files: dict[str, bytes]) -> Response:
        for message in chat.messages:
            if message.message_id == int(params["message_id"]) and not message.deleted:
                message.deleted = True
                return self.ok(True)
        return self.error(400, "Bad Request: message to delete not found")

    def _m_getChat(self, chat: Chat, params: dict[str, Any], files: dict[str, bytes]) -> Response:
        result: dict[str, Any] = {"id": chat.id, "type": "channel", "title": chat.title}
        if chat.username:
            result["username"] = chat.username
        return self.ok(result)


def link_preview(message: Message) -> dict[str, Any] | None:
    value = message.params.get("link_preview_options")
    return json.loads(value) if isinstance(value, str) else value
