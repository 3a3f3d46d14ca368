"""A stand-in for LinkedIn's versioned REST API: Posts, Images (initializeUpload + PUT), userinfo, org lookup.

Behaves as documented: every /rest call needs LinkedIn-Version and X-Restli-Protocol-Version; a post is
answered 201 with an empty body and the URN in `x-restli-id`; repeated content is refused with 422 and
errorDetails.inputErrors[].code DUPLICATE_POST, the message naming the existing URN; a retired version
answers 426. Errors use the Rest.li body {"status", "serviceErrorCode", "code", "message"}.
Posts carry `createdAt`/`publishedAt`/`lastModifiedAt` in epoch milliseconds, read from the test's clock. Reading a member's posts, listed or by URN, needs r_member_social, which
the stand-in's token lacks (403), as most tokens do.

Edits and comments (docs/lifecycle.md): POST /rest/posts/{urn} with X-RestLi-Method PARTIAL_UPDATE and
{"patch": {"$set": {...}}} changes commentary (and the few other updatable fields, not content) and answers 204;
a missing post is 404, another author's 403. The old commentaries are kept in `history`. A comment is
POST /rest/socialActions/{post or comment URN}/comments with actor, object and message.text, answered 201 with
the comment (its URN in `commentUrn`); a reply to a comment names it as parentComment. LinkedIn has no edit
window. Where LinkedIn's docs leave the answer's shape open, the stand-in's choice is marked in lifecycle.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote

from fakes.base import FakeAPI, Request, Response

ACTIVE_VERSIONS = {"202507", "202601", "202607"}
# What a PARTIAL_UPDATE may $set on a post (Posts API, "Update Posts"); the article content is not among them.
UPDATABLE = {"commentary", "contentCallToActionLabel", "contentLandingPage", "lifecycleState", "adContext"}


@dataclass
class LinkedInPost:
    urn: str
    body: dict[str, Any]
    created_at: int  # epoch milliseconds
    deleted: bool = False
    modified_at: int | None = None
    history: list[str] = field(default_factory=list)  # earlier commentaries, oldest first

    def element(self) -> dict[str, Any]:
        """The post as the Posts API returns it."""
        times = {"createdAt": self.created_at, "publishedAt": self.created_at,
                 "lastModifiedAt": self.modified_at or self.created_at}
        return {"id": self.urn, **self.body, **times}


@dataclass
class LinkedInComment:
    urn: str  # urn:li:comment:(<post URN>,<id>)
    parent: str  # the post or comment URN it was made under
    actor: str
    text: str
    created_at: int  # epoch milliseconds
    parent_comment: str | None = None

    def element(self) -> dict[str, Any]:
        post, _, ident = self.urn[len("urn:li:comment:("):-1].rpartition(",")
        data: dict[str, Any] = {"id": ident, "commentUrn": self.urn, "actor": self.actor, "object": post,
                                "message": {"text": self.text},
                                "created": {"actor": self.actor, "time": self.created_at},
                                "lastModified": {"actor": self.actor, "time": self.created_at}}
        if self.parent_comment:
            data["parentComment"] = self.parent_comment
        return data


def restli_error(status: int, message: str, code: str = "", service_code: int = 100,
                 **extra: Any) -> Response:
    body: dict[str, Any] = {"status": status, "serviceErrorCode": service_code, "message": message}
    if code:
        body["code"] = code
    body.update(extra)
    return Response(status, body)


class FakeLinkedIn(FakeAPI):
    def __init__(self, token: str = "AQX-linkedin-token", *, clock: Callable[[], datetime],
                 member: str = "abc123XYZ", organization: str = "5515715") -> None:
        super().__init__(clock=clock)
        self.token, self.member, self.organization = token, member, organization
        self.posts: list[LinkedInPost] = []
        self.comments: list[LinkedInComment] = []
        self.images: dict[str, bytes | None] = {}  # urn -> uploaded bytes
        self.upload_auth: list[str | None] = []
        self._pending: dict[str, str] = {}  # upload key -> image urn
        self._next = 7_100_000_000_000_000_000
        self.route("POST", r"/rest/posts", self._create)
        self.route("GET", r"/rest/posts", self._list)
        self.route("GET", r"/rest/posts/(?P<urn>[^/]+)", self._get)
        self.route("DELETE", r"/rest/posts/(?P<urn>[^/]+)", self._delete)
        self.route("POST", r"/rest/posts/(?P<urn>[^/]+)", self._update)
        self.route("POST", r"/rest/socialActions/(?P<urn>[^/]+)/comments", self._comment)
        self.route("GET", r"/rest/socialActions/(?P<urn>[^/]+)/comments", self._comments)
        self.route("DELETE", r"/rest/socialActions/(?P<urn>[^/]+)/comments/(?P<id>\d+)", self._delete_comment)
        self.route("POST", r"/rest/images", self._initialize)
        self.route("PUT", r"/dms-uploads/(?P<key>\w+)", self._upload)
        self.route("GET", r"/v2/userinfo", self._userinfo)
        self.route("GET", r"/rest/organizations/(?P<id>\d+)", self._organization)

    @property
    def live(self) -> list[LinkedInPost]:
        return [p for p in self.posts if not p.deleted]

    def add_post(self, author: str, commentary: str) -> LinkedInPost:
        """A post made elsewhere, e.g. by another organization."""
        self._next += 1
        post = LinkedInPost(f"urn:li:share:{self._next}", {"author": author, "commentary": commentary},
                            int(self.clock().timestamp() * 1000))
        self.posts.append(post)
        return post

    def _post(self, urn: str) -> LinkedInPost | None:
        return next((p for p in self.live if p.urn == urn), None)

    def _ours(self, author: str) -> bool:
        return author in (f"urn:li:organization:{self.organization}", f"urn:li:person:{self.member}")

    def _guard(self, req: Request, *, rest: bool = True) -> Response | None:
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return restli_error(401, "Invalid access token", "INVALID_ACCESS_TOKEN", 65600)
        if rest:
            version = req.headers.get("linkedin-version")
            if not version:
                return restli_error(400, "A version must be present. Please specify a version by adding the "
                                         "LinkedIn-Version header.", "VERSION_MISSING")
            if version not in ACTIVE_VERSIONS:
                return restli_error(426, f"Requested version {version} is not active", "NONEXISTENT_VERSION")
            if req.headers.get("x-restli-protocol-version") != "2.0.0":
                return restli_error(400, "Protocol version 1.0.0 is not supported for this resource")
        return None

    def _create(self, req: Request, m: re.Match[str]) -> Response:
        if failed := self._guard(req):
            return failed
        body = req.json()
        missing = [k for k in ("author", "lifecycleState", "distribution", "visibility") if k not in body]
        if missing:
            return restli_error(422, f"ERROR :: /{missing[0]} :: field is required but not found and has no "
                                     f"default value", "UNPROCESSABLE_ENTITY")
        article = (body.get("content") or {}).get("article")
        if article is not None and not article.get("title"):
            return restli_error(422, "ERROR :: /content/article/title :: field is required",
                                "UNPROCESSABLE_ENTITY")
        if article and article.get("thumbnail") and self.images.get(article["thumbnail"]) is None:
            return restli_error(422, f"Image {article['thumbnail']} is not available", "UNPROCESSABLE_ENTITY")
        for post in self.live:
            same = post.body.get("commentary") == body.get("commentary")
            if post.body["author"] == body["author"] and same:
                duplicate = {"description": "Duplicate post is detected", "input": {},
                             "code": "DUPLICATE_POST"}
                return restli_error(422, f"Content is a duplicate of {post.urn}", service_code=100,
                                    errorDetailType="com.linkedin.common.error.BadRequest",
                                    errorDetails={"inputErrors": [duplicate]})
        self._next += 1
        post = LinkedInPost(f"urn:li:share:{self._next}", body, int(self.clock().timestamp() * 1000))
        self.posts.append(post)
        return Response(201, b"", {"x-restli-id": post.urn, "x-linkedin-id": post.urn})

    def _list(self, req: Request, m: re.Match[str]) -> Response:
        if failed := self._guard(req):
            return failed
        if req.query.get("q") != ["author"]:
            return restli_error(400, "Invalid finder")
        author = req.query["author"][0]
        if author.startswith("urn:li:person:"):
            return restli_error(403, "Not enough permissions to access: "
                                     "partnerApiPostsExternal.FINDER-author",
                                "ACCESS_DENIED")
        count = int(req.query.get("count", ["10"])[0])
        mine = [p for p in reversed(self.live) if p.body["author"] == author][:count]
        return Response(200, {"paging": {"start": 0, "count": count, "links": []},
                              "elements": [p.element() for p in mine]})

    def _get(self, req: Request, m: re.Match[str]) -> Response:
        if failed := self._guard(req):
            return failed
        urn = unquote(m["urn"])
        for post in self.live:
            if post.urn == urn:
                if post.body["author"].startswith("urn:li:person:"):
                    return restli_error(403, "Not enough permissions to access: partnerApiPostsExternal.GET",
                                        "ACCESS_DENIED")
                return Response(200, post.element())
        return restli_error(404, f"Post {urn} not found", "NOT_FOUND")

    def _delete(self, req: Request, m: re.Match[str]) -> Response:
        if failed := self._guard(req):
            return failed
        urn = unquote(m["urn"])
        for post in self.live:
            if post.urn == urn:
                post.deleted = True
                return Response(204, b"")
        return restli_error(404, f"Post {urn} not found", "NOT_FOUND")

    def _update(self, req: Request, m: re.Match[str]) -> Response:
        if failed := self._guard(req):
            return failed
        if req.headers.get("x-restli-method", "").upper() != "PARTIAL_UPDATE":
            return restli_error(400, "A POST to an entity needs X-RestLi-Method: PARTIAL_UPDATE")
        urn = unquote(m["urn"])
        post = self._post(urn)
        if post is None:
            return restli_error(404, f"Post {urn} not found", "NOT_FOUND")
        if not self._ours(post.body["author"]):
            return restli_error(403, "Not enough permissions to access: partnerApiPostsExternal.PARTIAL_UPDATE",
                                "ACCESS_DENIED")
        changes = ((req.json() or {}).get("patch") or {}).get("$set")
        if not isinstance(changes, dict) or not changes:
            return restli_error(400, "the body must be {\"patch\": {\"$set\": {...}}}")
        fixed = sorted(set(changes) - UPDATABLE)
        if fixed:
            return restli_error(422, f"ERROR :: /{fixed[0]} :: field cannot be updated", "UNPROCESSABLE_ENTITY")
        if "commentary" in changes and changes["commentary"] != post.body.get("commentary"):
            post.history.append(str(post.body.get("commentary") or ""))
        post.body.update(changes)
        post.modified_at = int(self.clock().timestamp() * 1000)
        return Response(204, b"")

    def _comment(self, req: Request, m: re.Match[str]) -> Response:
        if failed := self._guard(req):
            return failed
        target = unquote(m["urn"])
        body = req.json() or {}
        parent_comment = next((c for c in self.comments if c.urn == target), None)
        post_urn = parent_comment.urn[len("urn:li:comment:("):].rpartition(",")[0] if parent_comment else target
        if self._post(post_urn) is None:
            return restli_error(404, f"{target} not found", "NOT_FOUND")
        if not self._ours(str(body.get("actor"))):
            return restli_error(403, "Not enough permissions to comment as this actor", "ACCESS_DENIED")
        text = str((body.get("message") or {}).get("text") or "")
        if body.get("object") != post_urn or not text:
            return restli_error(422, "ERROR :: /object or /message :: must name the post and have text",
                                "UNPROCESSABLE_ENTITY")
        if parent_comment and body.get("parentComment") != parent_comment.urn:
            return restli_error(422, "ERROR :: /parentComment :: must name the comment replied to",
                                "UNPROCESSABLE_ENTITY")
        self._next += 1
        comment = LinkedInComment(f"urn:li:comment:({post_urn},{self._next})", target, str(body["actor"]), text,
                                  int(self.clock().timestamp() * 1000), parent_comment.urn if parent_comment else None)
        self.comments.append(comment)
        return Response(201, comment.element(), {"x-restli-id": comment.urn})

    def _delete_comment(self, req: Request, m: re.Match[str]) -> Response:
        # DELETE /rest/socialActions/{post urn}/comments/{id}?actor=…: the actor must be the comment's author.
        if failed := self._guard(req):
            return failed
        urn = f"urn:li:comment:({unquote(m['urn'])},{m['id']})"
        comment = next((c for c in self.comments if c.urn == urn), None)
        if comment is None:
            return restli_error(404, f"{urn} not found", "NOT_FOUND")
        if req.query.get("actor", [""])[0] != comment.actor:
            return restli_error(403, "Not enough permissions to delete this comment as this actor", "ACCESS_DENIED")
        self.comments.remove(comment)
        return Response(204, b"")

    def _comments(self, req: Request, m: re.Match[str]) -> Response:
        if failed := self._guard(req):
            return failed
        target = unquote(m["urn"])
        count = int(req.query.get("count", ["10"])[0])
        under = [c.element() for c in self.comments if c.parent == target]
        return Response(200, {"paging": {"start": 0, "count": count, "links": []}, "elements": under[:count]})

    def _initialize(self, req: Request, m: re.Match[str]) -> Response:
        if failed := self._guard(req):
            return failed
        if req.query.get("action") != ["initializeUpload"]:
            return restli_error(400, "unknown action")
        owner = req.json()["initializeUploadRequest"]["owner"]
        self._next += 1
        key = f"u{self._next}"
        urn = f"urn:li:image:D4E{self._next}"
        self.images[urn] = None
        self._pending[key] = urn
        expires = int((self.clock() + timedelta(days=1)).timestamp() * 1000)
        return Response(200, {"value": {"uploadUrlExpiresAt": expires, "owner": owner,
                                        "uploadUrl": f"{self.url}/dms-uploads/{key}", "image": urn}})

    def _upload(self, req: Request, m: re.Match[str]) -> Response:
        self.upload_auth.append(req.headers.get("authorization"))
        urn = self._pending.pop(m["key"], None)
        if urn is None:
            return Response(404, b"")
        self.images[urn] = req.body
        return Response(201, b"")

    def _userinfo(self, req: Request, m: re.Match[str]) -> Response:
        if failed := self._guard(req, rest=False):
            return failed
        return Response(200, {"sub": self.member, "name": "Erika Muster", "email_verified": True})

    def _organization(self, req: Request, m: re.Match[str]) -> Response:
        if failed := self._guard(req):
            return failed
        if m["id"] != self.organization:
            return restli_error(404, "Organization not found", "NOT_FOUND")
        return Response(200, {"id": int(self.organization), "localizedName": "Sharebot News GmbH",
                              "vanityName": "sharebot-news"})
