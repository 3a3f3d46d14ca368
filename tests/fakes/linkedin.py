"""A stand-in for LinkedIn's versioned REST API: Posts, Images (initializeUpload + PUT), userinfo, org lookup.

Behaves as documented: every /rest call needs LinkedIn-Version and X-Restli-Protocol-Version; a post is
answered 201 with an empty body and the URN in `x-restli-id`; repeated content is refused with 422 and
errorDetails.inputErrors[].code DUPLICATE_POST, the message naming the existing URN; a retired version
answers 426. Errors use the Rest.li body {"status", "serviceErrorCode", "code", "message"}.
Posts carry `createdAt`/`publishedAt`/`lastModifiedAt` in epoch milliseconds, read from the test's clock. Reading a member's posts, listed or by URN, needs r_member_social, which
the stand-in's token lacks (403), as most tokens do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote

from fakes.base import FakeAPI, Request, Response

ACTIVE_VERSIONS = {"202507", "202601", "202607"}


@dataclass
class LinkedInPost:
    urn: str
    body: dict[str, Any]
    created_at: int  # epoch milliseconds
    deleted: bool = False

    def element(self) -> dict[str, Any]:
        """The post as the Posts API returns it."""
        times = {"createdAt": self.created_at, "publishedAt": self.created_at, "lastModifiedAt": self.created_at}
        return {"id": self.urn, **self.body, **times}


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
        self.images: dict[str, bytes | None] = {}  # urn -> uploaded bytes
        self.upload_auth: list[str | None] = []
        self._pending: dict[str, str] = {}  # upload key -> image urn
        self._next = 7_100_000_000_000_000_000
        self.route("POST", r"/rest/posts", self._create)
        self.route("GET", r"/rest/posts", self._list)
        self.route("GET", r"/rest/posts/(?P<urn>[^/]+)", self._get)
        self.route("DELETE", r"/rest/posts/(?P<urn>[^/]+)", self._delete)
        self.route("POST", r"/rest/images", self._initialize)
        self.route("PUT", r"/dms-uploads/(?P<key>\w+)", self._upload)
        self.route("GET", r"/v2/userinfo", self._userinfo)
        self.route("GET", r"/rest/organizations/(?P<id>\d+)", self._organization)

    @property
    def live(self) -> list[LinkedInPost]:
        return [p for p in self.posts if not p.deleted]

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
