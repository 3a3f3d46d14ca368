"""Threads through the Threads API (https://developers.facebook.com/docs/threads/posts), over httpx.

Posting is two steps: create a media container, then publish it. A container's status tells whether it
was published (IN_PROGRESS | FINISHED | PUBLISHED | ERROR | EXPIRED), so a job that carries its container
id in `Delivery.data["container_id"]` is settled by asking for that status, and a FINISHED container is
published rather than created again. Without one, the account's recent posts are searched for the link,
counting only posts made since this round began (`not_before`, kept on the job by `prepare`), so that
`sharebot publish --repost` is not settled by the earlier round's post of the same link.
The token travels in the form body on writes and as a URL placeholder on reads (see adapters/http.py).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Mapping

from sharebot.adapters.base import AccountStatus, Adapter, Delivery
from sharebot.adapters.facebook import graph_error, usage_retry_after
from sharebot.adapters.http import Http, hidden, in_round, json_body, round_start, status_from_error
from sharebot.errors import AuthError, ConfigError, NotSent, PublishError, RateLimited, Rejected, Unconfirmed
from sharebot.models import Network, PublishResult, RenderedPost

if TYPE_CHECKING:
    import httpx

API_BASE = "https://graph.threads.net"
DEFAULT_VERSION = "v1.0"
FIND_LIMIT = 25
QUOTA_RETRY_SECONDS = 3600.0  # the 250-post quota is a rolling 24 h window; look again in an hour
NOT_READY_SUBCODE = 2207027  # "media not ready for publishing"
AUTH_CODES = {190, 102}
PERMISSION_CODES = {10, 200, 3}
THROTTLE_CODES = {4, 17, 32, 613, 80001}
TRANSIENT_CODES = {1, 2}


class ThreadsAdapter(Adapter):
    network: ClassVar[Network] = Network.THREADS
    required_secrets: ClassVar[tuple[str, ...]] = ("access_token",)
    dedupe: ClassVar[str] = "lookup"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        options = self.account.options
        self.user_id = str(options.get("user_id") or "")
        if not self.user_id:
            raise ConfigError(f"account {self.account.name!r}: option user_id is not set")
        self.version = str(options.get("api_version") or DEFAULT_VERSION)
        # Meta fetches an image container's picture asynchronously; its docs suggest waiting before
        # publishing, so image posts poll the container status this often, this many times.
        self.poll_interval = float(options.get("poll_interval", 3.0))
        self.poll_attempts = int(options.get("poll_attempts", 10))
        self.token = self.credentials["access_token"]
        self.http = Http(str(self.network), str(options.get("api_base") or API_BASE),
                         timeout=self.context.timeout, user_agent=self.context.user_agent,
                         secrets={"access_token": self.token})

    # --- the Adapter contract --------------------------------------------------------------------
    def prepare(self, post: RenderedPost, delivery: Delivery) -> dict[str, Any]:
        # Kept on the job so a lookup ignores an earlier round's post; `publish` adds `container_id`
        # through `delivery.save`, which keeps this value alongside.
        return {"not_before": delivery.now.isoformat()}

    def publish(self, post: RenderedPost, delivery: Delivery) -> PublishResult:
        self._check_quota()
        container = str(delivery.data.get("container_id") or "")
        status = self._status(container) if container else None
        if status == "PUBLISHED":
            return self._published_elsewhere(post, container, delivery)
        if status not in ("FINISHED", "IN_PROGRESS"):
            container = self._create(post)
            if delivery.save:  # a retry or check after a crash then asks this container, not a new one
                delivery.save({"container_id": container})
            status = "IN_PROGRESS" if _wants_image(post) else "FINISHED"
        if status == "IN_PROGRESS":
            self._wait_until_ready(container)
        try:
            body = self._call("POST", f"{self.user_id}/threads_publish", data={"creation_id": container})
        except Unconfirmed as exc:
            raise Unconfirmed(exc.network, f"container {container}: {exc.detail}", exc.status) from None
        media_id = str(body.get("id") or "")
        if not media_id:
            raise Unconfirmed(str(self.network), f"container {container}: publish answer had no media id")
        return PublishResult(media_id, self._permalink(media_id))

    def find(self, post: RenderedPost, delivery: Delivery) -> PublishResult | None:
        container = str(delivery.data.get("container_id") or "")
        if container:
            status = self._status(container)
            if status == "PUBLISHED":
                return self._published_elsewhere(post, container, delivery)
            if status in ("FINISHED", "IN_PROGRESS"):
                return None  # this job's only container is unpublished: certainly not posted
        return self._lookup(post, round_start(delivery.data))

    def delete(self, remote_id: str) -> None:
        self._call("DELETE", remote_id)

    def check(self) -> AccountStatus:
        try:
            me = self._call("GET", self.user_id, params={"fields": "id,username"})
        except PublishError as exc:
            return status_from_error(self.account.name, exc)
        return AccountStatus(self.account.name, "ok", f"posting as @{me.get('username') or self.user_id}")

    def close(self) -> None:
        self.http.close()

    # --- steps -------------------------------------------------------------------------------------
    def _check_quota(self) -> None:
        """250 API posts per profile per rolling 24 h; asking first beats a refused publish."""
        body = self._call("GET", f"{self.user_id}/threads_publishing_limit",
                          params={"fields": "quota_usage,config"})
        for entry in body.get("data") or []:
            used, total = entry.get("quota_usage"), (entry.get("config") or {}).get("quota_total")
            if isinstance(used, int) and isinstance(total, int) and used >= total:
                raise RateLimited(str(self.network), f"publishing quota used up ({used}/{total} in 24 h)",
                                  None, retry_after=QUOTA_RETRY_SECONDS)

    def _create(self, post: RenderedPost) -> str:
        form: dict[str, str] = {"text": post.text}
        if _wants_image(post):
            form.update(media_type="IMAGE", image_url=str(post.image))
            if post.image_alt:
                form["alt_text"] = post.image_alt
        else:
            form["media_type"] = "TEXT"
            if post.link:
                form["link_attachment"] = post.link
        try:
            body = self._call("POST", f"{self.user_id}/threads", data=form)
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

    def _published_elsewhere(self, post: RenderedPost, container: str, delivery: Delivery) -> PublishResult:
        found = self._lookup(post, round_start(delivery.data))
        if found is None:
            raise Unconfirmed(str(self.network),
                              f"container {container} is PUBLISHED but the post is not listed yet")
        return found

    def _lookup(self, post: RenderedPost, since: datetime | None) -> PublishResult | None:
        """The account's recent post of this link or text, made at or after `since` (when given)."""
        body = self._call("GET", f"{self.user_id}/threads", params={
            "fields": "id,text,permalink,timestamp,link_attachment_url", "limit": FIND_LIMIT})
        for item in body.get("data") or []:
            if in_round(item.get("timestamp"), since) and _matches(item, post):
                return PublishResult(str(item["id"]), item.get("permalink"))
        return None

    def _permalink(self, media_id: str) -> str | None:
        # The post exists now; a failed permalink read must not turn that into an error.
        try:
            return self._call("GET", media_id, params={"fields": "permalink"}).get("permalink")
        except PublishError:
            return None

    # --- HTTP ---------------------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        if method == "POST":
            kwargs["data"] = {**kwargs.get("data", {}), "access_token": self.token}
        else:
            kwargs["params"] = {**kwargs.get("params", {}), "access_token": hidden("access_token")}
        response = self.http.request(method, f"/{self.version}/{path}", **kwargs)
        body = json_body(response)
        if response.status_code < 300 and isinstance(body, dict) and not graph_error(body):
            return body
        raise self._error(method, response, body)

    def _error(self, method: str, response: httpx.Response, body: Any) -> PublishError:
        """Graph-style errors: {"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}."""
        net, status = str(self.network), response.status_code
        error = graph_error(body)
        code, subcode = error.get("code"), error.get("error_subcode")
        message = error.get("error_user_msg") or error.get("message") or response.reason_phrase
        trace = error.get("fbtrace_id")
        detail = self.http.detail(f"{message} (code {code}, subcode {subcode}, fbtrace_id {trace})")
        if code in AUTH_CODES or status == 401:
            return AuthError(net, f"{detail}: the Threads token is invalid or expired "
                                  f"(60-day tokens need a refresh)", status)
        if code in THROTTLE_CODES or status == 429:
            return RateLimited(net, detail, status, retry_after=usage_retry_after(response.headers))
        if subcode == NOT_READY_SUBCODE:
            return RateLimited(net, f"{detail}: container not ready", status, retry_after=30.0)
        if code in PERMISSION_CODES:
            return Rejected(net, f"{detail}: the token lacks threads_content_publish", status)
        if code in TRANSIENT_CODES or status >= 500 or not error:
            return NotSent(net, detail, status) if method == "GET" else Unconfirmed(net, detail, status)
        return Rejected(net, detail, status)


def _wants_image(post: RenderedPost) -> bool:
    return bool(post.image and post.options.get("attach_image"))


def _matches(item: Mapping[str, Any], post: RenderedPost) -> bool:
    text = item.get("text") or ""
    if post.link and (item.get("link_attachment_url") == post.link or post.link in text):
        return True
    return bool(text) and text.strip() == post.text.strip()
