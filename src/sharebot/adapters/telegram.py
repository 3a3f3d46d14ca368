"""Telegram channels through the Bot API (https://core.telegram.org/bots/api), over plain httpx.

The bot token is part of every URL (/bot<token>/method). It is written as a placeholder and swapped
in by the transport (see `sharebot.adapters.http`), so httpx's own log lines and exceptions never see
it, and every message built from an answer is scrubbed as well.

An edit is editMessageText, or editMessageCaption for a photo post (whose text is a caption). Telegram refuses an
edit that changes nothing ("message is not modified"), which here means the edit is already there: sending an
edit again is always safe, and that is how a lost edit is settled, since a bot cannot read the channel back.
A reply is a message with `reply_parameters`. Facts and limits: docs/lifecycle.md.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from sharebot.adapters.base import AccountState, AccountStatus, Adapter, Delivery, ImageUse, RemotePost
from sharebot.adapters.http import Http, hidden, json_body, status_from_error
from sharebot.errors import (
    AuthError,
    ConfigError,
    NotSent,
    PublishError,
    RateLimited,
    Rejected,
    Unconfirmed,
    Unsupported,
)
from sharebot.images import article_image
from sharebot.jobs import PublishResult
from sharebot.models import Network, RenderedPost

if TYPE_CHECKING:
    import httpx

API_BASE = "https://api.telegram.org"
# Photos uploaded as multipart may be up to 10 MB; Telegram recompresses them anyway, so a smaller
# JPEG loses nothing visible and uploads faster.
PHOTO_MAX_BYTES = 5_000_000
NOT_MODIFIED = "message is not modified"  # the Bot API's answer to an edit that changes nothing
NO_TEXT = "no text in the message"  # editMessageText on a photo message: its text is a caption
CANNOT_EDIT = "message can't be edited"  # not the bot's message, or (reportedly) past an edit window
CANNOT_SEE = ("a bot cannot read channel history: look at the channel, then "
              "`sharebot queue resolve JOB --posted URL` or `--not-posted`")


class TelegramAdapter(Adapter):
    network: ClassVar[Network] = Network.TELEGRAM
    # A bot cannot read a channel's history (no getChatHistory in the Bot API, and channel posts reach
    # a bot only as live updates), so after a timeout nothing can tell whether the message went out.
    # The queue therefore leaves an unconfirmed Telegram job for a person to settle.
    dedupe: ClassVar[str] = "none"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        options = self.account.options
        self.chat_id = str(options.get("chat_id") or "")
        if not self.chat_id:
            raise ConfigError(f"account {self.account.name!r}: option chat_id is not set")
        self.http = Http(
            str(self.network), str(options.get("api_base") or API_BASE),
            timeout=self.context.timeout, user_agent=self.context.user_agent,
            secrets={"bot_token": self.credentials["bot_token"]},
        )

    # --- the Adapter contract --------------------------------------------------------------------
    def publish(self, post: RenderedPost, delivery: Delivery) -> PublishResult:
        return self._send(post, None)

    def find(self, post: RenderedPost, delivery: Delivery) -> PublishResult | None:
        # See `dedupe`: answering None would let the worker send it again and risk a duplicate.
        raise Unconfirmed(str(self.network), CANNOT_SEE)

    def reply(self, parent: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult:
        return self._send(post, int(parent.remote_id))

    def find_reply(self, parent: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult | None:
        raise Unconfirmed(str(self.network), CANNOT_SEE)

    def edit(self, original: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult:
        try:
            result = self._edit(original, post)
        except Rejected as exc:
            if CANNOT_EDIT in exc.detail:  # this message stays as it is: a reply can still carry the correction
                raise Unsupported(exc.network, exc.detail, exc.status, capability="edit") from exc
            raise
        chat = result.get("chat") if isinstance(result, dict) else None
        return PublishResult(original.remote_id, original.url or self._message_url(chat or {}, original.remote_id))

    def find_edit(self, original: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult | None:
        # A bot cannot read a message back. None lets the edit be sent again, which is harmless: if it landed,
        # Telegram answers "message is not modified" and `edit` takes that as done.
        return None

    def delete(self, remote_id: str) -> None:
        self._call("deleteMessage", json={"chat_id": self.chat_id, "message_id": int(remote_id)})

    @classmethod
    def image_use(cls, post: RenderedPost) -> ImageUse | None:
        return ImageUse(str(post.image), "photo", PHOTO_MAX_BYTES) if _is_photo(post) else None

    def check(self) -> AccountStatus:
        try:
            chat = self._call("getChat", json={"chat_id": self.chat_id}, read=True)
        except PublishError as exc:
            return status_from_error(self.account.name, exc)
        title = chat.get("title") or chat.get("username") or self.chat_id
        return AccountStatus(self.account.name, AccountState.OK, f"posting to {title}")

    def close(self) -> None:
        self.http.close()

    # --- helpers -----------------------------------------------------------------------------------
    def _edit(self, original: RemotePost, post: RenderedPost) -> Any:
        """The edited message, or None when it already read as `post`."""
        target = {"chat_id": self.chat_id, "message_id": int(original.remote_id)}
        caption = original.post is not None and _is_photo(original.post)
        if not caption:
            body: dict[str, Any] = {**target, "text": post.text}
            if post.link:
                body["link_preview_options"] = {"url": post.link, "prefer_large_media": True}
            try:
                return self._call("editMessageText", json=body)
            except Rejected as exc:
                if NOT_MODIFIED in exc.detail:
                    return None
                if NO_TEXT not in exc.detail or original.post is not None:
                    raise
        # A photo's text is its caption (also for a photo post we were not told about, whose text edit said so).
        try:
            return self._call("editMessageCaption", json={**target, "caption": post.text})
        except Rejected as exc:
            if NOT_MODIFIED not in exc.detail:
                raise
        return None

    def _send(self, post: RenderedPost, reply_to: int | None) -> PublishResult:
        # Always plain text (no parse_mode), so a headline with "<" or "&" is never misparsed as HTML.
        answering = {"reply_parameters": {"message_id": reply_to}} if reply_to is not None else {}
        if _is_photo(post):
            photo = article_image(str(post.image), PHOTO_MAX_BYTES, network=str(self.network), context=self.context)
            fields = {"chat_id": self.chat_id, "caption": post.text,
                      **{name: json.dumps(value) for name, value in answering.items()}}  # multipart: JSON as text
            upload = {"photo": ("image.jpg", photo.data, photo.mime_type)}
            result = self._call("sendPhoto", data=fields, files=upload)
        else:
            body: dict[str, Any] = {"chat_id": self.chat_id, "text": post.text, **answering}
            if post.link:
                body["link_preview_options"] = {"url": post.link, "prefer_large_media": True}
            result = self._call("sendMessage", json=body)
        try:
            message_id = str(result["message_id"])
        except (TypeError, KeyError):
            raise Unconfirmed(str(self.network), "sent, but the answer carried no message_id") from None
        return PublishResult(message_id, self._message_url(result.get("chat") or {}, message_id))

    def _call(self, method: str, *, read: bool = False, **kwargs: Any) -> Any:
        # Every Bot API method accepts POST; reads are marked so their failures count as NotSent.
        verb = "GET" if read else "POST"
        if read:
            kwargs = {"params": kwargs.pop("json")}
        response = self.http.request(verb, f"/bot{hidden('bot_token')}/{method}", **kwargs)
        body = json_body(response)
        if response.status_code == 200 and isinstance(body, dict) and body.get("ok"):
            return body.get("result")
        raise self._error(method, response, body, read=read)

    def _error(self, method: str, response: httpx.Response, body: Any, *, read: bool) -> PublishError:
        """Bot API errors: {"ok": false, "error_code": N, "description": "...", "parameters": {...}}."""
        net = str(self.network)
        body = body if isinstance(body, dict) else {}
        status = int(body.get("error_code") or response.status_code)
        description = self.http.detail(body.get("description") or response.reason_phrase or "no description")
        where = f"{method}: {description}"
        parameters = body.get("parameters") or {}
        if status == 429:
            wait = parameters.get("retry_after")
            return RateLimited(net, where, 429, retry_after=float(wait) if wait is not None else None)
        if status == 401:
            return AuthError(net, f"{where} (the bot token is wrong or revoked)", status)
        if status == 403:
            return Rejected(net, f"{where} (the bot must be an administrator of {self.chat_id} "
                                 f"allowed to post)", status)
        if "migrate_to_chat_id" in parameters:
            return Rejected(net, f"{where} (the chat moved to {parameters['migrate_to_chat_id']}: "
                                 f"update chat_id)", status)
        if status >= 500 or (status == 200 and not body):
            return NotSent(net, where, status) if read else Unconfirmed(net, where, status)
        return Rejected(net, where, status)

    def _message_url(self, chat: dict[str, Any], message_id: str) -> str | None:
        username = chat.get("username") or (self.chat_id[1:] if self.chat_id.startswith("@") else None)
        if username:
            return f"https://t.me/{username}/{message_id}"
        if self.chat_id.startswith("-100"):
            # Private channels: links work for members only, and use the id without the -100 prefix.
            return f"https://t.me/c/{self.chat_id[4:]}/{message_id}"
        return None


def _is_photo(post: RenderedPost) -> bool:
    """Does this post go out as a photo with the text as its caption?"""
    return bool(post.image and post.options.get("attach_image"))
