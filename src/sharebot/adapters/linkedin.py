"""LinkedIn through the versioned Posts API, over httpx.

https://learn.microsoft.com/linkedin/marketing/community-management/shares/posts-api

The Posts API does not fetch the article: the link card (`content.article`) is built from the post's
card data, with the thumbnail uploaded first through the Images API. `commentary` is "little text" that
the renderer has already escaped; it is sent exactly as rendered.

No idempotency key. An unknown outcome is settled by the organization's post list or by the 422
DUPLICATE_POST a repeat gets, which names the existing post. Either way only a post made since this
round began (`not_before`, kept on the job by `prepare`) is ours: `sharebot publish --repost` sends the
same article again, and LinkedIn's duplicate then names the earlier round's post.

An edit is a PARTIAL_UPDATE of the post's commentary; LinkedIn cannot change the article (link and card) of a
post, so an edit that would change the link is refused here (Unsupported). A reply is a comment (Comments API,
socialActions): plain text with the link in it, since a comment has no article; a reply to a comment is nested
under it. A lost comment is found among the comments under its parent. Facts and what is unverified:
docs/lifecycle.md.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urlsplit

from sharebot.adapters.base import AccountState, AccountStatus, Adapter, Delivery, ImageUse, RemotePost
from sharebot.adapters.http import (
    Http,
    in_round,
    json_body,
    keep_link,
    posted_at,
    retry_after,
    round_start,
    same_text,
    seconds_to_utc_midnight,
    status_from_error,
    with_link,
)
from sharebot.errors import AuthError, ConfigError, NotSent, PublishError, RateLimited, Rejected, Unconfirmed
from sharebot.images import article_image
from sharebot.jobs import PublishResult
from sharebot.models import Network, RenderedPost

if TYPE_CHECKING:
    from datetime import datetime

    import httpx

log = logging.getLogger(__name__)

API_BASE = "https://api.linkedin.com"
DEFAULT_VERSION = "202607"  # versions are supported for at least 12 months, then answer 426
THUMBNAIL_MAX_BYTES = 5_000_000
FIND_COUNT = 20
_POST_URN = re.compile(r"urn:li:(?:share|ugcPost):\d+")
# urn:li:comment:(<the post's activity or share/ugcPost URN>,<comment id>)
_COMMENT_URN = re.compile(r"urn:li:comment:\((?P<post>urn:li:\w+:\d+),(?P<id>\d+)\)")


class LinkedInAdapter(Adapter):
    network: ClassVar[Network] = Network.LINKEDIN
    # No idempotency key. A repeat is refused with 422 DUPLICATE_POST naming the existing URN, and
    # organization posts can be listed by author; both settle a doubtful attempt.
    dedupe: ClassVar[str] = "lookup"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        options = self.account.options
        self.author = str(options.get("author") or "")
        if not re.fullmatch(r"urn:li:(person|organization):[\w-]+", self.author):
            raise ConfigError(f"account {self.account.name!r}: option author must be "
                              f"urn:li:organization:<id> or urn:li:person:<id>, got {self.author!r}")
        self.version = str(options.get("version") or DEFAULT_VERSION)
        self.visibility = str(options.get("visibility") or "PUBLIC")
        self.api_base = str(options.get("api_base") or API_BASE)
        self.http = Http(str(self.network), self.api_base, timeout=self.context.timeout,
                         user_agent=self.context.user_agent,
                         secrets={"access_token": self.credentials["access_token"]},
                         headers={"LinkedIn-Version": self.version, "X-Restli-Protocol-Version": "2.0.0"})

    # --- the Adapter contract --------------------------------------------------------------------
    def prepare(self, post: RenderedPost, delivery: Delivery) -> dict[str, Any]:
        # Kept on the job so `find` and the duplicate check ignore an earlier round's post.
        return {"not_before": delivery.now.isoformat()}

    def publish(self, post: RenderedPost, delivery: Delivery) -> PublishResult:
        body: dict[str, Any] = {
            "author": self.author,
            "commentary": post.text,
            "visibility": str(post.options.get("visibility") or self.visibility),
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
                             "thirdPartyDistributionChannels": []},
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        if post.link and post.card:
            article: dict[str, Any] = {"source": post.link, "title": post.card.title}
            if post.card.description:
                article["description"] = post.card.description
            thumbnail = self._thumbnail(post.card.image, delivery) if post.card.image else None
            if thumbnail:
                article["thumbnail"] = thumbnail
                if post.card.image_alt:
                    article["thumbnailAltText"] = post.card.image_alt
            body["content"] = {"article": article}
        response = self._send("POST", "/rest/posts", json=body)
        if response.status_code == 201:
            urn = response.headers.get("x-restli-id")
            if not urn:
                raise Unconfirmed(str(self.network), "201 Created without an x-restli-id header", 201)
            return PublishResult(urn, _permalink(urn))
        error = self._error(response, delivery.now)
        if isinstance(error, _Duplicate):
            return self._settle_duplicate(post, delivery, error)
        raise error

    def find(self, post: RenderedPost, delivery: Delivery) -> PublishResult | None:
        # Listing a person's posts needs r_member_social, which LinkedIn rarely grants; for those a 403
        # here is expected, and the duplicate-422 on the next attempt is what settles it.
        response = self._send("GET", "/rest/posts", params={
            "q": "author", "author": self.author, "count": FIND_COUNT, "sortBy": "LAST_MODIFIED"})
        if response.status_code != 200:
            raise self._error(response, delivery.now, read=True)
        since = round_start(delivery.data)
        for element in (json_body(response) or {}).get("elements") or []:
            source = ((element.get("content") or {}).get("article") or {}).get("source")
            if post.link and source == post.link and element.get("id") and in_round(_created(element), since):
                return PublishResult(element["id"], _permalink(element["id"]))
        return None

    def delete(self, remote_id: str) -> None:
        comment = _COMMENT_URN.fullmatch(remote_id)
        if comment:  # a reply is a comment, deleted through the Comments API as its author
            # https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/comments-api
            response = self._send("DELETE", f"/rest/socialActions/{quote(comment['post'], safe='')}/comments/"
                                            f"{comment['id']}", params={"actor": self.author})
        else:
            response = self._send("DELETE", f"/rest/posts/{quote(remote_id, safe='')}")
        if response.status_code not in (200, 204):
            raise self._error(response, None)

    def edit(self, original: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult:
        urn = original.remote_id
        keep_link(self.network, original, post)
        # The card (content.article) stays as first posted: only commentary and a few ad fields can change.
        response = self._send("POST", f"/rest/posts/{quote(urn, safe='')}",
                              json={"patch": {"$set": {"commentary": post.text}}},
                              headers={"X-RestLi-Method": "PARTIAL_UPDATE"})
        if response.status_code not in (200, 204):
            raise self._error(response, delivery.now)
        return PublishResult(urn, original.url or _permalink(urn))

    def find_edit(self, original: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult | None:
        urn = original.remote_id
        response = self._send("GET", f"/rest/posts/{quote(urn, safe='')}")
        if response.status_code == 403:  # a member's post without r_member_social: the update is safe to repeat
            return None
        if response.status_code != 200:
            raise self._error(response, delivery.now, read=True)
        if same_text(str((json_body(response) or {}).get("commentary") or ""), post.text):
            return PublishResult(urn, original.url or _permalink(urn))
        return None

    def reply(self, parent: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult:
        # A comment has no article: the link goes in its text.
        comment = _COMMENT_URN.fullmatch(parent.remote_id)
        body: dict[str, Any] = {"actor": self.author, "object": comment["post"] if comment else parent.remote_id,
                                "message": {"text": with_link(post.text, post.link)}}
        if comment:  # a reply to a comment is nested under it (LinkedIn nests one level deep)
            body["parentComment"] = parent.remote_id
        response = self._send("POST", f"/rest/socialActions/{quote(parent.remote_id, safe='')}/comments",
                              json=body)
        if response.status_code not in (200, 201):
            raise self._error(response, delivery.now)
        made = json_body(response) or {}
        urn = made.get("commentUrn") or made.get("$URN") or response.headers.get("x-restli-id") or ""
        if not _COMMENT_URN.fullmatch(str(urn)):
            raise Unconfirmed(str(self.network), f"{response.status_code} without the comment's URN",
                              response.status_code)
        return PublishResult(str(urn), _comment_link(str(urn)))

    def find_reply(self, parent: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult | None:
        response = self._send("GET", f"/rest/socialActions/{quote(parent.remote_id, safe='')}/comments",
                              params={"count": FIND_COUNT})
        if response.status_code != 200:
            raise self._error(response, delivery.now, read=True)
        since = round_start(delivery.data)
        text = with_link(post.text, post.link)
        for element in (json_body(response) or {}).get("elements") or []:
            urn = str(element.get("commentUrn") or element.get("$URN") or "")
            if (element.get("actor") == self.author and _COMMENT_URN.fullmatch(urn)
                    and in_round((element.get("created") or {}).get("time"), since)
                    and same_text(str((element.get("message") or {}).get("text") or ""), text)):
                return PublishResult(urn, _comment_link(urn))
        return None

    @classmethod
    def image_use(cls, post: RenderedPost) -> ImageUse | None:
        if not (post.card and post.card.image):
            return None
        return ImageUse(post.card.image, "card thumbnail", THUMBNAIL_MAX_BYTES, required=False)

    def check(self) -> AccountStatus:
        kind, _, ident = self.author.rpartition(":")
        path = f"/rest/organizations/{ident}" if kind.endswith("organization") else "/v2/userinfo"
        try:
            response = self._send("GET", path)
            if response.status_code != 200:
                raise self._error(response, None, read=True)
        except PublishError as exc:
            return status_from_error(self.account.name, exc)
        body = json_body(response) or {}
        name = body.get("localizedName") or body.get("name") or self.author
        return AccountStatus(self.account.name, AccountState.OK, f"posting as {name}")

    def close(self) -> None:
        self.http.close()

    # --- helpers -----------------------------------------------------------------------------------
    def _settle_duplicate(self, post: RenderedPost, delivery: Delivery, error: _Duplicate) -> PublishResult:
        """422 DUPLICATE_POST: ours if the post it names was made in this round, else a refusal.

        The 422 names only the URN, so its time is read with a GET of that post (the Posts API's
        `createdAt`). A member account without r_member_social cannot read it (403), and a "ghost" URN of a
        deleted post answers 404; then the duplicate is refused rather than taken as ours, since a repost
        marked published that never went out would go unnoticed, while a failed job is seen.
        """
        net = str(self.network)
        match = _POST_URN.search(error.detail)
        since = round_start(delivery.data)
        if match is None:
            found = self.find(post, delivery)
            if found:
                return found
            raise error
        urn = match.group(0)
        if since is None:  # a job from before rounds were kept: LinkedIn's word is all there is
            return PublishResult(urn, _permalink(urn))
        response = self._send("GET", f"/rest/posts/{quote(urn, safe='')}")
        if response.status_code == 200:
            created = posted_at(_created(json_body(response) or {}))
            if created is not None and created >= since:
                return PublishResult(urn, _permalink(urn))
            when = f"made {created:%Y-%m-%d %H:%M} UTC, before this round" if created else "of unknown date"
        elif response.status_code in (403, 404):
            when = f"whose date could not be read ({self._error(response, None, read=True).detail})"
        else:
            raise self._error(response, delivery.now, read=True)
        raise Rejected(net, f"LinkedIn refuses identical content: this duplicates {urn}, {when}; "
                            f"a repost needs different text", error.status)

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.credentials['access_token']}", **kwargs.pop("headers", {})}
        return self.http.request(method, url, headers=headers, **kwargs)

    def _thumbnail(self, url: str, delivery: Delivery) -> str | None:
        """Upload the card image; returns its urn:li:image, or None when the article image is unusable."""
        try:
            jpeg = article_image(url, THUMBNAIL_MAX_BYTES, network=str(self.network), context=self.context)
        except (NotSent, Rejected) as exc:
            # A broken article image should not hold the news back: the card goes out without it.
            log.warning("linkedin %s: card without thumbnail: %s", self.account.name, exc)
            return None
        try:
            return self._upload(jpeg.data, delivery)
        except Unconfirmed as exc:  # no post exists yet, whatever happened to the image
            raise NotSent(str(self.network), f"thumbnail upload: {exc.detail}", exc.status) from None

    def _upload(self, data: bytes, delivery: Delivery) -> str:
        """Images API: initializeUpload names an upload URL and an image URN, then the bytes are PUT there."""
        response = self._send("POST", "/rest/images", params={"action": "initializeUpload"},
                              json={"initializeUploadRequest": {"owner": self.author}})
        value = (json_body(response) or {}).get("value") or {}
        if response.status_code != 200 or not value.get("uploadUrl") or not value.get("image"):
            raise self._error(response, delivery.now, read=True)
        upload_url = str(value["uploadUrl"])
        # The upload URL is pre-signed; the bearer token goes along only to LinkedIn's own hosts.
        host = urlsplit(upload_url).hostname or ""
        if host == urlsplit(self.api_base).hostname or host.endswith(".linkedin.com"):
            put = self._send("PUT", upload_url, content=data, headers={"Content-Type": "image/jpeg"})
        else:
            put = self.http.request("PUT", upload_url, content=data, headers={"Content-Type": "image/jpeg"})
        if put.status_code not in (200, 201):
            raise self._error(put, delivery.now, read=True)
        return str(value["image"])

    def _error(self, response: httpx.Response, now: datetime | None, *, read: bool = False) -> PublishError:
        """Rest.li errors: {"status", "serviceErrorCode", "code", "message", "errorDetails"}."""
        net, status = str(self.network), response.status_code
        body = json_body(response)
        body = body if isinstance(body, dict) else {}
        message = self.http.detail(body.get("message") or response.reason_phrase or "no message")
        codes = {str(e.get("code")) for e in ((body.get("errorDetails") or {}).get("inputErrors") or [])}
        if status == 401:
            return AuthError(net, f"{message} (the access token is invalid or expired: authorize again)",
                             status)
        if status == 426:
            return Rejected(net, f"LinkedIn-Version {self.version} is no longer supported; set a newer "
                                 f"'version' option ({message})", status)
        if status == 429:
            wait = retry_after(response.headers, now)
            if wait is None and now is not None:
                wait = seconds_to_utc_midnight(now)  # daily quotas reset at 00:00 UTC
            return RateLimited(net, message, status, retry_after=wait)
        if status == 422 and ("DUPLICATE_POST" in codes or "duplicate" in message.lower()):
            return _Duplicate(net, message, status)
        if status == 403:
            return Rejected(net, f"{message} (missing permission, or not an admin of the page)", status)
        if status >= 500 or status < 400:
            return NotSent(net, message, status) if read else Unconfirmed(net, message, status)
        return Rejected(net, message, status)


class _Duplicate(Rejected):
    """422 DUPLICATE_POST: the same content was posted recently by this author."""


def _created(element: dict[str, Any]) -> Any:
    """When a Posts API element was made (epoch ms); `publishedAt` for the rare element without `createdAt`."""
    return element.get("createdAt") or element.get("publishedAt")


def _permalink(urn: str) -> str:
    return f"https://www.linkedin.com/feed/update/{urn}"


def _comment_link(urn: str) -> str:
    """A comment is shown on its post's page, picked out by `commentUrn` (the form LinkedIn's own "copy link
    to comment" gives; unverified for API-made comments)."""
    match = _COMMENT_URN.fullmatch(urn)
    post = match["post"] if match else urn
    return f"{_permalink(post)}?commentUrn={quote(urn, safe='')}"
