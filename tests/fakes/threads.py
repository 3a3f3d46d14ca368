"""A stand-in for the Threads API: containers, publish, container status, media list, quota, delete.

TEXT containers are FINISHED at once; IMAGE containers stay IN_PROGRESS for `image_ready_after` status
reads (Meta fetches the picture in the background). Publishing an unfinished container fails with the
documented "not ready" error; publishing an already published one fails too. Errors use the Graph body.
A post's `timestamp` is read from the test's clock at publish time.

Replies (docs/lifecycle.md): a container with `reply_to_id` publishes a reply under that post or reply; a
`reply_to_id` that names no live post is refused (code 100, as for any missing object; the exact error is
unverified). GET /{user}/threads lists the account's posts without its replies; GET /{media}/replies lists the
replies directly under a post, newest first unless `reverse=false`. Replies count against their own quota
(`reply_quota_usage`, 1,000 per 24 h). The Threads API cannot edit a post, so there is no edit route.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from fakes.base import FakeAPI, Request, Response
from fakes.facebook import graph_error, graph_params

V = r"/v1\.0"


@dataclass
class Container:
    id: str
    params: dict[str, str]
    status: str = "IN_PROGRESS"
    reads: int = 0
    media_id: str | None = None


@dataclass
class Media:
    id: str
    text: str
    link: str | None
    container: str
    timestamp: str  # ISO 8601 as Threads writes it: 2026-11-25T09:00:00+0000
    deleted: bool = False
    reply_to: str | None = None  # the post or reply this one answers
    username: str = "sharebot.news"

    @property
    def permalink(self) -> str:
        return f"https://www.threads.com/@sharebot.news/post/C{self.id[-6:]}"


class FakeThreads(FakeAPI):
    def __init__(self, user_id: str = "17841400000000001", token: str = "THQW-threads-token",
                 username: str = "sharebot.news", *, clock: Callable[[], datetime]) -> None:
        super().__init__(clock=clock)
        self.user_id, self.token, self.username = user_id, token, username
        self.containers: dict[str, Container] = {}
        self.media: dict[str, Media] = {}
        self.image_ready_after = 1
        self.quota_total = 250
        self.reply_quota_total = 1000
        self._next = 18_000_000_000_000_000
        self.route("POST", V + r"/(?P<user>\d+)/threads", self._create)
        self.route("POST", V + r"/(?P<user>\d+)/threads_publish", self._publish)
        self.route("GET", V + r"/(?P<user>\d+)/threads", self._list)
        self.route("GET", V + r"/(?P<user>\d+)/threads_publishing_limit", self._limit)
        self.route("GET", V + r"/(?P<id>\d+)/replies", self._replies)
        self.route("GET", V + r"/(?P<id>\d+)", self._node)
        self.route("DELETE", V + r"/(?P<id>\d+)", self._delete)

    @property
    def live(self) -> list[Media]:
        return [m for m in self.media.values() if not m.deleted]

    def replies_to(self, media_id: str) -> list[Media]:
        return [m for m in self.live if m.reply_to == media_id]

    def add_reply(self, reply_to: str, text: str, username: str) -> Media:
        """A reply someone (another account, when `username` is not ours) made under a post."""
        made = self.clock().astimezone(UTC)
        media = Media(self._id(), text, None, "", made.strftime("%Y-%m-%dT%H:%M:%S+0000"), reply_to=reply_to,
                      username=username)
        self.media[media.id] = media
        return media

    @staticmethod
    def _missing(node: str) -> Response:
        return graph_error(400, 100, f"Unsupported get request. Object with ID '{node}' does not exist", 33)

    def _id(self) -> str:
        self._next += 1
        return str(self._next)

    def _params(self, req: Request) -> dict[str, str] | Response:
        params = graph_params(req)
        if params.pop("access_token", None) != self.token:
            return graph_error(400, 190, "Invalid OAuth access token - Cannot parse access token")
        return params

    def _create(self, req: Request, m: re.Match[str]) -> Response:
        params = self._params(req)
        if isinstance(params, Response):
            return params
        kind = params.get("media_type")
        if kind not in ("TEXT", "IMAGE"):
            return graph_error(400, 100, "The parameter media_type is required and must be TEXT, IMAGE, ...")
        if kind == "IMAGE" and not params.get("image_url"):
            return graph_error(400, 100, "The parameter image_url is required for IMAGE.")
        if len(params.get("text", "").encode("utf-8")) > 2000:  # coarse: the real rule counts emoji as bytes
            return graph_error(400, 100, "Param text must be at most 500 characters long.")
        reply_to = params.get("reply_to_id")
        if reply_to and (reply_to not in self.media or self.media[reply_to].deleted):
            return self._missing(reply_to)
        container = Container(self._id(), params, "FINISHED" if kind == "TEXT" else "IN_PROGRESS")
        self.containers[container.id] = container
        return Response(200, {"id": container.id})

    def _publish(self, req: Request, m: re.Match[str]) -> Response:
        params = self._params(req)
        if isinstance(params, Response):
            return params
        container = self.containers.get(params.get("creation_id", ""))
        if container is None:
            return graph_error(400, 24, "The requested resource does not exist", 4279009)
        if container.status != "FINISHED":
            return graph_error(400, 9007, "The media is not ready for publishing, please wait for a moment",
                               2207027)
        made = self.clock().astimezone(UTC)
        media = Media(self._id(), container.params.get("text", ""), container.params.get("link_attachment"),
                      container.id, made.strftime("%Y-%m-%dT%H:%M:%S+0000"),
                      reply_to=container.params.get("reply_to_id") or None, username=self.username)
        self.media[media.id] = media
        container.status, container.media_id = "PUBLISHED", media.id
        return Response(200, {"id": media.id})

    def _list(self, req: Request, m: re.Match[str]) -> Response:
        params = self._params(req)
        if isinstance(params, Response):
            return params
        limit = int(params.get("limit", 25))
        data = []
        for media in reversed([m for m in self.live if not m.reply_to]):
            item = {"id": media.id, "text": media.text, "permalink": media.permalink,
                    "timestamp": media.timestamp}
            if media.link:
                item["link_attachment_url"] = media.link
            data.append(item)
        return Response(200, {"data": data[:limit], "paging": {"cursors": {"before": "a", "after": "b"}}})

    def _limit(self, req: Request, m: re.Match[str]) -> Response:
        params = self._params(req)
        if isinstance(params, Response):
            return params
        replies = sum(1 for m in self.media.values() if m.reply_to)
        fields = params.get("fields", "quota_usage,config").split(",")
        entry = {"quota_usage": len(self.media) - replies,
                 "config": {"quota_total": self.quota_total, "quota_duration": 86400},
                 "reply_quota_usage": replies,
                 "reply_config": {"quota_total": self.reply_quota_total, "quota_duration": 86400}}
        return Response(200, {"data": [{k: v for k, v in entry.items() if k in fields}]})

    def _replies(self, req: Request, m: re.Match[str]) -> Response:
        params = self._params(req)
        if isinstance(params, Response):
            return params
        parent = self.media.get(m["id"])
        if parent is None or parent.deleted:
            return self._missing(m["id"])
        under = self.replies_to(parent.id)
        if params.get("reverse", "true") != "false":
            under = under[::-1]
        data = [{"id": r.id, "text": r.text, "username": r.username, "permalink": r.permalink,
                 "timestamp": r.timestamp, "is_reply": True, "replied_to": {"id": parent.id}} for r in under]
        return Response(200, {"data": data, "paging": {"cursors": {"before": "a", "after": "b"}}})

    def _node(self, req: Request, m: re.Match[str]) -> Response:
        params = self._params(req)
        if isinstance(params, Response):
            return params
        node = m["id"]
        if node == self.user_id:
            return Response(200, {"id": self.user_id, "username": self.username})
        if node in self.containers:
            container = self.containers[node]
            container.reads += 1
            if container.status == "IN_PROGRESS" and container.reads >= self.image_ready_after:
                container.status = "FINISHED"
            return Response(200, {"id": node, "status": container.status})
        if node in self.media and not self.media[node].deleted:
            return Response(200, {"id": node, "permalink": self.media[node].permalink})
        return graph_error(400, 100, f"Unsupported get request. Object with ID '{node}' does not exist", 33)

    def _delete(self, req: Request, m: re.Match[str]) -> Response:
        params = self._params(req)
        if isinstance(params, Response):
            return params
        media = self.media.get(m["id"])
        if media is None or media.deleted:
            return graph_error(400, 100, f"Object with ID '{m['id']}' does not exist", 33)
        media.deleted = True
        return Response(200, {"success": True, "deleted_id": media.id})
