"""A stand-in for a Mastodon instance: statuses, own account timeline, media, instance info.

As documented (/work/shared/docs/platforms.md §3, https://docs.joinmastodon.org/methods/statuses/):
errors are `{"error": "..."}` (401 bad token, 404 "Record not found", 422 "Validation failed: ..."); every
answer carries X-RateLimit-Limit/Remaining/Reset with Reset as an ISO 8601 time; an `Idempotency-Key`
seen within the last hour returns the status made for it instead of a new one; content is HTML with
links shortened Mastodon's way (invisible/ellipsis spans, `&` escaped in href); the link card appears on
later reads only, because the instance fetches it after the status is created.

Replies and edits as app/controllers/api/v1/statuses_controller.rb and UpdateStatusService do them: a reply to a
status that does not exist is 404 "The post you are trying to reply to does not appear to exist."; PUT
/api/v1/statuses/:id edits only the account's own statuses (another's, or a missing one, is 404 "Record not
found") and replaces the whole status: attachments not named again are dropped. An edit that changes nothing
is accepted and leaves no trace; the first real edit also records the original, so `history` lists every
version oldest first, as GET /api/v1/statuses/:id/history does. `source` gives the plain text, `context` the
thread. Mastodon has no edit window.
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from fakes.base import FakeAPI, Request, Response
from fakes.telegram import parse_multipart

URL = re.compile(r"https?://\S+")
IDEMPOTENCY_WINDOW = timedelta(hours=1)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def linkify(text: str, domain: str) -> str:
    """Roughly Mastodon's TextFormatter: paragraphs, <br />, shortened links, hashtag links."""
    def link(match: re.Match[str]) -> str:
        url = match.group()
        scheme, rest = url.split("://", 1)
        return (f'<a href="{html.escape(url)}" target="_blank" rel="nofollow noopener" translate="no">'
                f'<span class="invisible">{scheme}://</span><span class="ellipsis">{html.escape(rest[:30])}</span>'
                f'<span class="invisible">{html.escape(rest[30:])}</span></a>')

    def paragraph(block: str) -> str:
        pieces, last = [], 0
        for match in URL.finditer(block):
            pieces += [html.escape(block[last:match.start()]), link(match)]
            last = match.end()
        pieces.append(html.escape(block[last:]))
        body = "".join(pieces)
        body = re.sub(r"(?<![\w/])#(\w+)", lambda m: f'<a href="https://{domain}/tags/{m[1]}" '
                                                    f'class="mention hashtag" rel="tag">#<span>{m[1]}</span></a>', body)
        return "<p>" + body.replace("\n", "<br />") + "</p>"

    return "".join(paragraph(block) for block in re.split(r"\n{2,}", text.strip()))


class FakeMastodon(FakeAPI):
    def __init__(self, *, clock: Callable[[], datetime], token: str = "FAKE-mastodon-access-token-6", domain: str = "social.example",
                 username: str = "newsroom", max_characters: int = 500, reserved_per_url: int = 23) -> None:
        super().__init__(clock=clock)
        self.token, self.domain, self.username = token, domain, username
        self.max_characters, self.reserved_per_url = max_characters, reserved_per_url
        self.account_id = "109000000000000001"
        self.statuses: dict[str, dict[str, Any]] = {}
        self.media: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, bytes] = {}  # media id -> the file as received
        self.keys: dict[str, tuple[str, datetime]] = {}  # Idempotency-Key -> (status id, when)
        self.history: dict[str, list[dict[str, Any]]] = {}  # status id -> its versions, oldest first, once edited
        self._ids = itertools.count(113_000_000_000_000_001)
        self._route("GET", r"/api/v1/instance/?", self._instance_v1, auth=False)
        self._route("GET", r"/api/v2/instance/?", self._instance_v2, auth=False)
        self._route("GET", r"/api/v1/accounts/verify_credentials", lambda req, m: Response(200, self.account()))
        self._route("GET", r"/api/v1/accounts/(?P<id>\d+)/statuses", self._timeline)
        self._route("POST", r"/api/v1/statuses", self._create)
        self._route("DELETE", r"/api/v1/statuses/(?P<id>\d+)", self._delete)
        self._route("PUT", r"/api/v1/statuses/(?P<id>\d+)", self._edit)
        self._route("GET", r"/api/v1/statuses/(?P<id>\d+)", self._show)
        self._route("GET", r"/api/v1/statuses/(?P<id>\d+)/source", self._source)
        self._route("GET", r"/api/v1/statuses/(?P<id>\d+)/history", self._history)
        self._route("GET", r"/api/v1/statuses/(?P<id>\d+)/context", self._context)
        self._route("POST", r"/api/v2/media", self._upload)
        self._route("GET", r"/api/v1/media/(?P<id>\d+)", self._media)
        self.processing_polls = 0  # > 0: uploads answer 202 and stay unprocessed for that many looks
        self.pending: dict[str, int] = {}

    # --- test helpers ----------------------------------------------------------------------------
    def account(self) -> dict[str, Any]:
        return {"id": self.account_id, "username": self.username, "acct": self.username,
                "display_name": "Newsroom", "url": f"https://{self.domain}/@{self.username}", "bot": True,
                "created_at": "2024-01-01T00:00:00.000Z", "note": "", "avatar": "", "header": "",
                "followers_count": 0, "following_count": 0, "statuses_count": len(self.statuses),
                "fields": [], "emojis": []}

    def add_status(self, text: str, *, created_at: datetime | None = None, visibility: str = "public",
                   language: str | None = "de", media_ids: list[str] | None = None,
                   in_reply_to_id: str | None = None, account: dict[str, Any] | None = None) -> dict[str, Any]:
        """A status of this account (or of `account`, someone else), a reply when `in_reply_to_id` is given."""
        status_id = str(next(self._ids))
        when = created_at or self.clock()
        parent = self.statuses.get(in_reply_to_id) if in_reply_to_id else None
        if parent is not None:
            parent["replies_count"] += 1
        self.statuses[status_id] = {
            "id": status_id, "created_at": iso(when), "in_reply_to_id": in_reply_to_id,
            "in_reply_to_account_id": parent["account"]["id"] if parent else None, "edited_at": None,
            "sensitive": False, "spoiler_text": "", "visibility": visibility, "language": language,
            "uri": f"https://{self.domain}/users/{self.username}/statuses/{status_id}",
            "url": f"https://{self.domain}/@{self.username}/{status_id}", "replies_count": 0,
            "reblogs_count": 0, "favourites_count": 0, "content": linkify(text, self.domain), "reblog": None,
            "account": account or self.account(), "mentions": [], "tags": [], "emojis": [], "card": None, "poll": None,
            "media_attachments": [self.media[m] for m in media_ids or ()], "text": text,
        }
        return self.statuses[status_id]

    def stranger(self) -> dict[str, Any]:
        """Another account on the instance, whose statuses this account cannot edit."""
        return {**self.account(), "id": "109000000000000999", "username": "stranger", "acct": "stranger"}

    def forget_keys(self) -> None:
        """As if the idempotency window had passed."""
        self.keys = {key: (sid, when - IDEMPOTENCY_WINDOW) for key, (sid, when) in self.keys.items()}

    def rate_limit_next(self, seconds: int, *, path: str | None = None) -> None:
        reset = self.clock() + timedelta(seconds=seconds)
        self.fail_next(429, {"error": "Too many requests"}, self._limits(0, reset), path=path)

    # --- plumbing --------------------------------------------------------------------------------
    def _limits(self, remaining: int, reset: datetime | None = None) -> dict[str, str]:
        reset = (reset or self.clock() + timedelta(minutes=5)).astimezone(UTC)
        return {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}

    def _route(self, method: str, pattern: str, handler: Callable[[Request, re.Match[str]], Response], *,
               auth: bool = True) -> None:
        def guarded(req: Request, match: re.Match[str]) -> Response:
            if auth and req.headers.get("authorization") != f"Bearer {self.token}":
                response = Response(401, {"error": "The access token is invalid"})
            else:
                response = handler(req, match)
            response.headers = {**self._limits(299), **response.headers}
            return response

        self.route(method, pattern, guarded)

    def _public(self, status: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in status.items() if k != "text"}

    # --- routes ----------------------------------------------------------------------------------
    def _instance_v1(self, req: Request, match: re.Match[str]) -> Response:
        return Response(200, {"uri": self.domain, "title": "Social Example", "version": "4.3.0",
                              "configuration": {"statuses": {"max_characters": self.max_characters}}})

    def _instance_v2(self, req: Request, match: re.Match[str]) -> Response:
        return Response(200, {"domain": self.domain, "title": "Social Example", "version": "4.3.0",
                              "api_versions": {"mastodon": 2},
                              "configuration": {"statuses": {"max_characters": self.max_characters,
                                                             "max_media_attachments": 4,
                                                             "characters_reserved_per_url": self.reserved_per_url},
                                                "media_attachments": {"image_size_limit": 16777216}}})

    def _timeline(self, req: Request, match: re.Match[str]) -> Response:
        if match["id"] != self.account_id:
            return Response(404, {"error": "Record not found"})
        limit = min(int(req.query.get("limit", ["20"])[0]), 40)
        newest = sorted(self.statuses.values(), key=lambda s: (s["created_at"], int(s["id"])), reverse=True)
        shown = []
        for status in newest[:limit]:
            first = URL.search(status["text"])
            # By now the instance has fetched the card for the first link.
            card = {"url": first.group(), "title": "Article", "description": "", "type": "link"} if first else None
            shown.append({**self._public(status), "card": card})
        return Response(200, shown)

    def _create(self, req: Request, match: re.Match[str]) -> Response:
        form = parse_qs(req.body.decode(), keep_blank_values=True)
        key = req.headers.get("idempotency-key")
        if key and key in self.keys and self.clock() - self.keys[key][1] < IDEMPOTENCY_WINDOW:
            status_id = self.keys[key][0]
            return Response(200, self._public(self.statuses[status_id]))
        text = form.get("status", [""])[0]
        media_ids = form.get("media_ids[]", [])
        length = len(URL.sub("x" * self.reserved_per_url, text))
        if not text.strip() and not media_ids:
            return Response(422, {"error": "Validation failed: Text can't be blank"})
        if length > self.max_characters:
            return Response(422, {"error": f"Validation failed: Text character limit of {self.max_characters} exceeded"})
        if any(m not in self.media for m in media_ids):
            return Response(422, {"error": "Validation failed: Media attachments are invalid"})
        visibility = form.get("visibility", ["public"])[0]
        if visibility not in ("public", "unlisted", "private", "direct"):
            return Response(422, {"error": "Validation failed: Visibility is not included in the list"})
        parent = form.get("in_reply_to_id", [""])[0] or None
        if parent is not None and parent not in self.statuses:
            return Response(404, {"error": "The post you are trying to reply to does not appear to exist."})
        status = self.add_status(text, visibility=visibility, language=form.get("language", [None])[0],
                                 media_ids=media_ids, in_reply_to_id=parent)
        if key:
            self.keys[key] = (status["id"], self.clock())
        return Response(200, self._public(status))

    def _own(self, status_id: str) -> dict[str, Any] | None:
        status = self.statuses.get(status_id)
        return status if status is not None and status["account"]["id"] == self.account_id else None

    def _version(self, status: dict[str, Any], at: str) -> dict[str, Any]:
        """A status as its edit history shows it (a StatusEdit)."""
        return {"content": status["content"], "spoiler_text": status["spoiler_text"], "sensitive": status["sensitive"],
                "created_at": at, "account": status["account"], "poll": None,
                "media_attachments": status["media_attachments"], "emojis": [], "text": status["text"]}

    def _edit(self, req: Request, match: re.Match[str]) -> Response:
        status = self._own(match["id"])
        if status is None:
            return Response(404, {"error": "Record not found"})
        form = parse_qs(req.body.decode(), keep_blank_values=True)
        text = form.get("status", [""])[0]
        media_ids = form.get("media_ids[]", [])
        if not text.strip() and not media_ids:
            return Response(422, {"error": "Validation failed: Text can't be blank"})
        if len(URL.sub("x" * self.reserved_per_url, text)) > self.max_characters:
            return Response(422, {"error": f"Validation failed: Text character limit of {self.max_characters} exceeded"})
        if any(m not in self.media for m in media_ids):
            return Response(422, {"error": "Validation failed: Media attachments are invalid"})
        media = [self.media[m] for m in media_ids]
        if text == status["text"] and media == status["media_attachments"]:
            return Response(200, self._public(status))  # no change: nothing recorded
        versions = self.history.setdefault(status["id"], [])
        if not versions:
            versions.append(self._version(status, status["created_at"]))
        language = form.get("language", [None])[0]
        status.update(text=text, content=linkify(text, self.domain), media_attachments=media, edited_at=iso(self.clock()),
                      card=None, language=language or status["language"], spoiler_text=form.get("spoiler_text", [""])[0])
        versions.append(self._version(status, status["edited_at"]))
        return Response(200, self._public(status))

    def _show(self, req: Request, match: re.Match[str]) -> Response:
        status = self.statuses.get(match["id"])
        if status is None:
            return Response(404, {"error": "Record not found"})
        return Response(200, self._public(status))

    def _source(self, req: Request, match: re.Match[str]) -> Response:
        status = self._own(match["id"])
        if status is None:
            return Response(404, {"error": "Record not found"})
        return Response(200, {"id": status["id"], "text": status["text"], "spoiler_text": status["spoiler_text"]})

    def _history(self, req: Request, match: re.Match[str]) -> Response:
        status = self.statuses.get(match["id"])
        if status is None:
            return Response(404, {"error": "Record not found"})
        versions = self.history.get(status["id"]) or [self._version(status, status["created_at"])]
        return Response(200, [{k: v for k, v in version.items() if k != "text"} for version in versions])

    def _context(self, req: Request, match: re.Match[str]) -> Response:
        status = self.statuses.get(match["id"])
        if status is None:
            return Response(404, {"error": "Record not found"})
        ancestors, parent = [], status["in_reply_to_id"]
        while parent in self.statuses:
            ancestors.insert(0, self._public(self.statuses[parent]))
            parent = self.statuses[parent]["in_reply_to_id"]
        descendants, below = [], [status["id"]]
        while below:
            children = [s for s in self.statuses.values() if s["in_reply_to_id"] in below]
            descendants += [self._public(child) for child in children]
            below = [child["id"] for child in children]
        return Response(200, {"ancestors": ancestors, "descendants": descendants})

    def _delete(self, req: Request, match: re.Match[str]) -> Response:
        status = self.statuses.pop(match["id"], None)
        if status is None:
            return Response(404, {"error": "Record not found"})
        return Response(200, status)

    def _upload(self, req: Request, match: re.Match[str]) -> Response:
        fields, files = parse_multipart(req)
        if not files.get("file"):
            return Response(422, {"error": "Validation failed: File can't be blank"})
        media_id = str(next(self._ids))
        self.media[media_id] = {"id": media_id, "type": "image", "url": f"https://{self.domain}/media/{media_id}.jpg",
                                "preview_url": f"https://{self.domain}/media/{media_id}_small.jpg", "remote_url": None,
                                "description": fields.get("description"), "blurhash": None, "meta": {}}
        self.uploads[media_id] = files["file"]
        if self.processing_polls:  # still processing: 202 and a null url until looked at that many times
            self.pending[media_id] = self.processing_polls
            return Response(202, {**self.media[media_id], "url": None})
        # Images are usually processed before the answer (200); video/audio get 202 and a null url.
        return Response(200, self.media[media_id])

    def _media(self, req: Request, match: re.Match[str]) -> Response:
        media_id = match["id"]
        if media_id not in self.media:
            return Response(404, {"error": "Record not found"})
        if self.pending.get(media_id, 0) > 0:
            self.pending[media_id] -= 1
            return Response(206, {**self.media[media_id], "url": None})
        return Response(200, self.media[media_id])
