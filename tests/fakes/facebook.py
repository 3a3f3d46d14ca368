"""A stand-in for the Graph API's Page endpoints: feed, published_posts, delete, page lookup.

Errors carry the documented body {"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}};
the token is read from the `access_token` form field or query parameter, as Graph accepts both.
A post's `created_time` is read from the test's clock, in Graph's format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fakes.base import FakeAPI, Request, Response

VERSION = r"/v(?P<version>\d+\.\d+)"


@dataclass
class PagePost:
    id: str
    message: str
    link: str | None
    created_time: str
    deleted: bool = False


def graph_error(status: int, code: int, message: str, subcode: int | None = None,
                kind: str = "OAuthException", headers: dict[str, str] | None = None) -> Response:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEfGh123"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return Response(status, {"error": error}, headers or {})


def graph_params(req: Request) -> dict[str, str]:
    """A call's parameters, from the query string and a form body alike: Graph reads both."""
    params = {k: v[0] for k, v in req.query.items()}
    if req.body:
        params.update(req.form())
    return params


def throttled(minutes: int) -> Response:
    usage = {"1122334455": [{"type": "pages", "call_count": 100, "total_cputime": 40, "total_time": 35,
                             "estimated_time_to_regain_access": minutes}]}
    return graph_error(400, 32, "Page request limit reached",
                       headers={"X-Business-Use-Case-Usage": json.dumps(usage)})


class FakeFacebook(FakeAPI):
    def __init__(self, page_id: str = "1122334455", token: str = "EAAG-page-token",
                 name: str = "Sharebot News", *, clock: Callable[[], datetime]) -> None:
        super().__init__(clock=clock)
        self.page_id, self.token, self.name = page_id, token, name
        self.posts: list[PagePost] = []
        self.can_post = True
        self._next = 9000
        self.route("POST", VERSION + r"/(?P<page>\d+)/feed", self._feed)
        self.route("GET", VERSION + r"/(?P<page>\d+)/published_posts", self._published)
        self.route("GET", VERSION + r"/(?P<page>\d+)", self._page)
        self.route("DELETE", VERSION + r"/(?P<id>\d+_\d+)", self._delete)

    @property
    def live(self) -> list[PagePost]:
        return [p for p in self.posts if not p.deleted]

    def _auth(self, params: dict[str, str]) -> Response | None:
        if params.get("access_token") != self.token:
            return graph_error(400, 190, "Invalid OAuth access token - Cannot parse access token")
        return None

    def _feed(self, req: Request, m: re.Match[str]) -> Response:
        params = graph_params(req)
        if failed := self._auth(params):
            return failed
        if m["page"] != self.page_id:
            return graph_error(400, 100, "Unsupported post request.", 33, "GraphMethodException")
        if not self.can_post:
            return graph_error(403, 200, "(#200) The user hasn't authorized the application to perform "
                                         "this action")
        message, link = params.get("message", ""), params.get("link")
        if not message and not link:
            return graph_error(400, 100, "(#100) Missing message or attachment")
        if any(p.message == message and p.link == link for p in self.live):
            return graph_error(400, 506, "(#506) Duplicate status message")
        self._next += 1
        created = self.clock().astimezone(UTC)
        post = PagePost(f"{self.page_id}_{self._next}", message, link, created.strftime("%Y-%m-%dT%H:%M:%S+0000"))
        self.posts.append(post)
        return Response(200, {"id": post.id})

    def _published(self, req: Request, m: re.Match[str]) -> Response:
        params = graph_params(req)
        if failed := self._auth(params):
            return failed
        fields = params.get("fields", "id")
        limit = int(params.get("limit", 25))
        data = []
        for post in reversed(self.live):
            item: dict[str, Any] = {"id": post.id, "created_time": post.created_time}
            if "message" in fields and post.message:
                item["message"] = post.message
            if "permalink_url" in fields:
                item["permalink_url"] = f"https://www.facebook.com/{post.id.replace('_', '/posts/')}"
            if "attachments" in fields and post.link:
                shim = f"https://l.facebook.com/l.php?u={quote(post.link, safe='')}&h=AT0xyz"
                item["attachments"] = {"data": [{"unshimmed_url": post.link, "url": shim, "type": "share"}]}
            data.append(item)
        return Response(200, {"data": data[:limit], "paging": {"cursors": {"before": "a", "after": "b"}}})

    def _page(self, req: Request, m: re.Match[str]) -> Response:
        if failed := self._auth(graph_params(req)):
            return failed
        if m["page"] != self.page_id:
            return graph_error(400, 803, "(#803) Some of the aliases you requested do not exist")
        return Response(200, {"id": self.page_id, "name": self.name})

    def _delete(self, req: Request, m: re.Match[str]) -> Response:
        if failed := self._auth(graph_params(req)):
            return failed
        for post in self.live:
            if post.id == m["id"]:
                post.deleted = True
                return Response(200, {"success": True})
        return graph_error(400, 100, "(#100) Invalid post id", 33, "GraphMethodException")
