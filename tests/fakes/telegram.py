"""A stand-in for the Telegram Bot API (https://core.telegram.org/bots/api), enough for channel posts.

Every method answers `{"ok": true, "result": ...}` or `{"ok": false, "error_code", "description"}`
with the HTTP status equal to error_code, as the real API does. Parameters arrive as JSON, query string
or multipart (sendPhoto with an uploaded file).
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fakes.base import FakeAPI, Request, Response


@dataclass
class Message:
    message_id: int
    chat_id: str
    params: dict[str, Any]
    photo: bytes | None = None
    deleted: bool = False


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
        self.route("POST", r"/bot(?P<token>[^/]+)/(?P<method>\w+)", self._dispatch_method)
        self.route("GET", r"/bot(?P<token>[^/]+)/(?P<method>\w+)", self._dispatch_method)

    @property
    def messages(self) -> list[Message]:
        return [m for chat in self.chats.values() for m in chat.messages if not m.deleted]

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

    def _message(self, chat: Chat, params: dict[str, Any], photo: bytes | None) -> Response:
        self._next_id += 1
        message = Message(self._next_id, str(params["chat_id"]), params, photo)
        chat.messages.append(message)
        result: dict[str, Any] = {"message_id": message.message_id, "date": int(self.clock().timestamp()),
                                  "chat": {"id": chat.id, "type": "channel", "title": chat.title}}
        if chat.username:
            result["chat"]["username"] = chat.username
        if photo is None:
            result["text"] = params["text"]
        else:
            result["caption"] = params.get("caption", "")
            result["photo"] = [{"file_id": f"photo{message.message_id}", "width": 320, "height": 200}]
        return self.ok(result)

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
