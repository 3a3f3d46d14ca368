"""A stand-in for the Graph API's Page endpoints: feed, published_posts, a post (read, edit, delete), comments,
page lookup.

Errors carry the documented body {"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}};
the token is read from the `access_token` form field or query parameter, as Graph accepts both.
A post's `created_time` is read from the test's clock, in Graph's format.

Editing (POST /{post-id} with `message`) answers {"success": true} and keeps the old messages in `history`;
`link` cannot change. A post that is gone or not the Page's own (a visitor's) answers Graph's "Unsupported post
request" (code 100, subcode 33), as does a comment under a post that does not exist. Comments
(POST /{post-or-comment-id}/comments) are made as the Page and answer {"id"}; a comment's id is
"<post's story id>_<n>". Facebook has no edit window for Page posts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
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
    from_id: str = ""  # who posted it: the Page itself, unless a visitor
    history: list[str] = field(default_factory=list)  # earlier messages, oldest first


@dataclass
class PageComment:
    id: str
    parent: str  # the post or comment it was made under
    message: str
    from_id: str
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
        self.comments: list[PageComment] = []
        self.can_post = True
        self._next = 9000
        self.route("POST", VERSION + r"/(?P<page>\d+)/feed", self._feed)
        self.route("GET", VERSION + r"/(?P<page>\d+)/published_posts", self._published)
        self.route("GET", VERSION + r"/(?P<page>\d+)", self._page)
        self.route("DELETE", VERSION + r"/(?P<id>\d+_\d+)", self._delete)
        self.route("POST", VERSION + r"/(?P<id>\d+_\d+)", self._edit)
        self.route("GET", VERSION + r"/(?P<id>\d+_\d+)", self._node)
        self.route("POST", VERSION + r"/(?P<id>\d+_\d+)/comments", self._comment)
        self.route("GET", VERSION + r"/(?P<id>\d+_\d+)/comments", self._comments)

    @property
    def live(self) -> list[PagePost]:
        return [p for p in self.posts if not p.deleted]

    def add_visitor_post(self, message: str) -> PagePost:
        """A post a visitor made on the Page: the Page cannot edit it."""
        self._next += 1
        post = PagePost(f"{self.page_id}_{self._next}", message, None, self._now(), from_id="4242")
        self.posts.append(post)
        return post

    def comments_under(self, node_id: str) -> list[PageComment]:
        return [c for c in self.comments if c.parent == node_id and not c.deleted]

    def _now(self) -> str:
        return self.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")

    def _find(self, node_id: str) -> PagePost | PageComment | None:
        for node in [*self.live, *(c for c in self.comments if not c.deleted)]:
            if node.id == node_id:
                return node
        return None

    @staticmethod
    def _unsupported(node_id: str) -> Response:
        return graph_error(400, 100, f"Unsupported post request. Object with ID '{node_id}' does not exist, cannot "
                                     f"be loaded due to missing permissions, or does not support this operation",
                           33, "GraphMethodException")

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
        post = PagePost(f"{self.page_id}_{self._next}", message, link, created.strftime("%Y-%m-%dT%H:%M:%S+0000"),
                        from_id=self.page_id)
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
        node = self._find(m["id"])
        if node is None:
            return graph_error(400, 100, "(#100) Invalid post id", 33, "GraphMethodException")
        node.deleted = True
        return Response(200, {"success": True})

    def _edit(self, req: Request, m: re.Match[str]) -> Response:
        params = graph_params(req)
        if failed := self._auth(params):
            return failed
        post = self._find(m["id"])
        if not isinstance(post, PagePost) or post.from_id != self.page_id:
            return self._unsupported(m["id"])
        if "link" in params:
            return graph_error(400, 100, "(#100) Param link cannot be updated")
        message = params.get("message")
        if not message:
            return graph_error(400, 100, "(#100) Missing message")
        if message != post.message:
            post.history.append(post.message)
            post.message = message
        return Response(200, {"success": True})

    def _node(self, req: Request, m: re.Match[str]) -> Response:
        params = graph_params(req)
        if failed := self._auth(params):
            return failed
        node = self._find(m["id"])
        if node is None:
            return self._unsupported(m["id"])
        fields = params.get("fields", "id").split(",")
        item: dict[str, Any] = {"id": node.id}
        if "message" in fields:
            item["message"] = node.message
        if "created_time" in fields:
            item["created_time"] = node.created_time
        if "permalink_url" in fields:
            item["permalink_url"] = self._permalink(node)
        return Response(200, item)

    def _comment(self, req: Request, m: re.Match[str]) -> Response:
        params = graph_params(req)
        if failed := self._auth(params):
            return failed
        parent = self._find(m["id"])
        if parent is None:
            return self._unsupported(m["id"])
        if not params.get("message") and not params.get("attachment_url"):
            return graph_error(400, 100, "(#100) Missing message or attachment")
        self._next += 1
        story = parent.id.split("_")[1] if isinstance(parent, PagePost) else parent.id.split("_")[0]
        comment = PageComment(f"{story}_{self._next}", parent.id, params.get("message", ""), self.page_id, self._now())
        self.comments.append(comment)
        return Response(200, {"id": comment.id})

    def _comments(self, req: Request, m: re.Match[str]) -> Response:
        params = graph_params(req)
        if failed := self._auth(params):
            return failed
        if self._find(m["id"]) is None:
            return self._unsupported(m["id"])
        under = self.comments_under(m["id"])
        if params.get("order") == "reverse_chronological":
            under = under[::-1]
        data = [{"id": c.id, "message": c.message, "created_time": c.created_time,
                 "from": {"id": c.from_id, "name": self.name}, "permalink_url": self._permalink(c)}
                for c in under[:int(params.get("limit", 25))]]
        return Response(200, {"data": data, "paging": {"cursors": {"before": "a", "after": "b"}}})

    def _permalink(self, node: PagePost | PageComment) -> str:
        if isinstance(node, PagePost):
            return f"https://www.facebook.com/{node.id.replace('_', '/posts/')}"
        post = next((p for p in self.posts if p.id.split("_")[1] == node.id.split("_")[0]), None)
        base = f"https://www.facebook.com/{post.id.replace('_', '/posts/')}" if post else "https://www.facebook.com"
        return f"{base}?comment_id={node.id.split('_')[1]}"
