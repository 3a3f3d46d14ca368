"""Threads through the Threads API (https://developers.facebook.com/docs/threads/posts), over httpx.

Posting is two steps: create a media container, then publish it. A container's status tells whether it
was published (IN_PROGRESS | FINISHED | PUBLISHED | ERROR | EXPIRED), so a job that carries its container
id in `Delivery.data["container_id"]` is settled by asking for that status, and a FINISHED container is
published rather than created again. Without one, the account's recent posts are searched for the link,
counting only posts made since this round began (`not_before`, kept on the job by `prepare`), so that
`sharebot publish --repost` is not settled by the earlier round's post of the same link.
A reply is the same two steps with `reply_to_id` on the container, settled the same way, else by looking among
the parent's replies (https://developers.facebook.com/docs/threads/retrieve-and-manage-replies/create-replies);
replies have their own quota. The API cannot edit a post.
The token travels as for every Graph API call (see `sharebot.adapters.graph`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from sharebot.adapters.base import AccountState, AccountStatus, Delivery, ImageUse, RemotePost
from sharebot.adapters.graph import GraphAdapter
from sharebot.adapters.http import in_round, round_start, same_text, status_from_error
from sharebot.errors import NotSent, PublishError, RateLimited, Rejected, Unconfirmed
from sharebot.jobs import PublishResult
from sharebot.models import Network, RenderedPost

FIND_LIMIT = 25
QUOTA_RETRY_SECONDS = 3600.0  # the 250-post (1,000-reply) quota is a rolling 24 h window; look again in an hour
NOT_READY_SUBCODE = 2207027  # "media not ready for publishing"
# An image post sends the picture's URL and Meta fetches it: JPEG or PNG, at most 8 MB
# (https://developers.facebook.com/docs/threads/overview#image-specifications).
IMAGE_TYPES = frozenset({"image/jpeg", "image/png"})
IMAGE_MAX_BYTES = 8_000_000


class ThreadsAdapter(GraphAdapter):
    network: ClassVar[Network] = Network.THREADS
    dedupe: ClassVar[str] = "lookup"
    api_base: ClassVar[str] = "https://graph.threads.net"
    default_version: ClassVar[str] = "v1.0"
    token_name: ClassVar[str] = "access_token"
    owner_option: ClassVar[str] = "user_id"
    token_hint: ClassVar[str] = "the Threads token is invalid or expired (60-day tokens need a refresh)"
    permission_hint: ClassVar[str] = "the token lacks threads_content_publish"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        options = self.account.options
        # Meta fetches an image container's picture asynchronously; its docs suggest waiting before
        # publishing, so image posts poll the container status this often, this many times.
        self.poll_interval = float(options.get("poll_interval", 3.0))
        self.poll_attempts = int(options.get("poll_attempts", 10))
        self._own_username: str | None = None

    # --- the Adapter contract --------------------------------------------------------------------
    def prepare(self, post: RenderedPost, delivery: Delivery) -> dict[str, Any]:
        # Kept on the job so a lookup ignores an earlier round's post; `publish` adds `container_id`
        # through `delivery.save`, which keeps this value alongside.
        return {"not_before": delivery.now.isoformat()}

    def publish(self, post: RenderedPost, delivery: Delivery) -> PublishResult:
        return self._post(post, delivery, None)

    def find(self, post: RenderedPost, delivery: Delivery) -> PublishResult | None:
        return self._find(post, delivery, None)

    def reply(self, parent: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult:
        return self._post(post, delivery, parent.remote_id)

    def find_reply(self, parent: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult | None:
        return self._find(post, delivery, parent.remote_id)

    def delete(self, remote_id: str) -> None:
        self._call("DELETE", remote_id)

    @classmethod
    def image_use(cls, post: RenderedPost) -> ImageUse | None:
        if not _wants_image(post):
            return None
        return ImageUse(str(post.image), "photo", IMAGE_MAX_BYTES, IMAGE_TYPES, converts=False)

    def check(self) -> AccountStatus:
        try:
            me = self._call("GET", self.owner_id, params={"fields": "id,username"})
        except PublishError as exc:
            return status_from_error(self.account.name, exc)
        return AccountStatus(self.account.name, AccountState.OK, f"posting as @{me.get('username') or self.owner_id}")

    # --- steps -------------------------------------------------------------------------------------
    def _post(self, post: RenderedPost, delivery: Delivery, reply_to: str | None) -> PublishResult:
        """Publish `post`, as a reply under `reply_to` when given, through this job's one container."""
        self._check_quota(reply=reply_to is not None)
        container = str(delivery.data.get("container_id") or "")
        status = self._status(container) if container else None
        if status == "PUBLISHED":
            return self._published_elsewhere(post, container, delivery, reply_to)
        if status not in ("FINISHED", "IN_PROGRESS"):
            container = self._create(post, reply_to)
            if delivery.save:  # a retry or check after a crash then asks this container, not a new one
                delivery.save({"container_id": container})
            status = "IN_PROGRESS" if _wants_image(post) else "FINISHED"
        if status == "IN_PROGRESS":
            self._wait_until_ready(container)
        try:
            body = self._call("POST", f"{self.owner_id}/threads_publish", data={"creation_id": container})
        except Unconfirmed as exc:
            raise Unconfirmed(exc.network, f"container {container}: {exc.detail}", exc.status) from None
        media_id = str(body.get("id") or "")
        if not media_id:
            raise Unconfirmed(str(self.network), f"container {container}: publish answer had no media id")
        return PublishResult(media_id, self._permalink(media_id))

    def _find(self, post: RenderedPost, delivery: Delivery, reply_to: str | None) -> PublishResult | None:
        container = str(delivery.data.get("container_id") or "")
        if container:
            status = self._status(container)
            if status == "PUBLISHED":
                return self._published_elsewhere(post, container, delivery, reply_to)
            if status in ("FINISHED", "IN_PROGRESS"):
                return None  # this job's only container is unpublished: certainly not posted
        return self._lookup(post, round_start(delivery.data), reply_to)

    def _check_quota(self, *, reply: bool) -> None:
        """250 API posts and 1,000 replies per profile per rolling 24 h; asking first beats a refused publish."""
        kind = "reply_" if reply else ""
        body = self._call("GET", f"{self.owner_id}/threads_publishing_limit",
                          params={"fields": f"{kind}quota_usage,{kind}config"})
        for entry in body.get("data") or []:
            used, total = entry.get(f"{kind}quota_usage"), (entry.get(f"{kind}config") or {}).get("quota_total")
            if isinstance(used, int) and isinstance(total, int) and used >= total:
                what = "reply" if reply else "publishing"
                raise RateLimited(str(self.network), f"{what} quota used up ({used}/{total} in 24 h)",
                                  None, retry_after=QUOTA_RETRY_SECONDS)

    def _create(self, post: RenderedPost, reply_to: str | None) -> str:
        form: dict[str, str] = {"text": post.text}
        if reply_to:
            form["reply_to_id"] = reply_to
        if _wants_image(post):
            form.update(media_type="IMAGE", image_url=str(post.image))
            if post.image_alt:
                form["alt_text"] = post.image_alt
        else:
            form["media_type"] = "TEXT"
            if post.link:
                form["link_attachment"] = post.link
        try:
            body = self._call("POST", f"{self.owner_id}/threads", data=form)
        except Unconfirmed as exc:  # an unpublished container is invisible: nothing was posted yet
            raise NotSent(exc.network, f"creating the container: {exc.detail}", exc.status) from None
        container = str(body.get("id") or "")
        if not container:
            raise NotSent(str(self.network), "creating the container: the answer had no id")
        return container

    def _status(self, container: str) -> str:
        return self._container(container)[0]

    def _container(self, container: str) -> tuple[str, str]:
        """(status, error_message) of a media container."""
        body = self._call("GET", container, params={"fields": "status,error_message"})
        return str(body.get("status") or ""), str(body.get("error_message") or "")

    def _wait_until_ready(self, container: str) -> None:
        for attempt in range(self.poll_attempts):
            status, message = self._container(container)
            if status == "FINISHED":
                return
            if status in ("ERROR", "EXPIRED"):
                detail = self.http.detail(message or status)
                raise Rejected(str(self.network), f"container {container} failed: {detail}")
            if attempt + 1 < self.poll_attempts:
                time.sleep(self.poll_interval)
        raise NotSent(str(self.network), f"container {container} still processing its media; try again later")

    def _published_elsewhere(self, post: RenderedPost, container: str, delivery: Delivery,
                             reply_to: str | None) -> PublishResult:
        found = self._lookup(post, round_start(delivery.data), reply_to)
        if found is None:
            raise Unconfirmed(str(self.network),
                              f"container {container} is PUBLISHED but the post is not listed yet")
        return found

    def _lookup(self, post: RenderedPost, since: datetime | None, reply_to: str | None) -> PublishResult | None:
        """The account's recent post of this link or text, made at or after `since` (when given); with `reply_to`,
        its reply of this text among that post's replies (a correction and a follow-up may share a link)."""
        if reply_to:
            return self._lookup_reply(post, since, reply_to)
        body = self._call("GET", f"{self.owner_id}/threads", params={
            "fields": "id,text,permalink,timestamp,link_attachment_url", "limit": FIND_LIMIT})
        for item in body.get("data") or []:
            if in_round(item.get("timestamp"), since) and _matches(item, post):
                return PublishResult(str(item["id"]), item.get("permalink"))
        return None

    def _lookup_reply(self, post: RenderedPost, since: datetime | None, reply_to: str) -> PublishResult | None:
        # /replies lists the replies directly under a post, everyone's, newest first.
        body = self._call("GET", f"{reply_to}/replies", params={
            "fields": "id,text,username,permalink,timestamp", "reverse": "true"})
        username = self._username()
        for item in body.get("data") or []:
            if item.get("username") == username and in_round(item.get("timestamp"), since) \
                    and same_text(str(item.get("text") or ""), post.text):
                return PublishResult(str(item["id"]), item.get("permalink"))
        return None

    def _username(self) -> str:
        if self._own_username is None:
            me = self._call("GET", self.owner_id, params={"fields": "id,username"})
            self._own_username = str(me.get("username") or "")
        return self._own_username

    def _permalink(self, media_id: str) -> str | None:
        # The post exists now; a failed permalink read must not turn that into an error.
        try:
            return self._call("GET", media_id, params={"fields": "permalink"}).get("permalink")
        except PublishError:
            return None

    def _refusal(self, code: Any, subcode: Any, detail: str, status: int) -> PublishError | None:
        if subcode == NOT_READY_SUBCODE:
            return RateLimited(str(self.network), f"{detail}: container not ready", status, retry_after=30.0)
        return None


def _wants_image(post: RenderedPost) -> bool:
    return bool(post.image and post.options.get("attach_image"))


def _matches(item: Mapping[str, Any], post: RenderedPost) -> bool:
    text = item.get("text") or ""
    if post.link and (item.get("link_attachment_url") == post.link or post.link in text):
        return True
    return bool(text) and text.strip() == post.text.strip()
