"""Facebook Pages through the Graph API (https://developers.facebook.com/docs/pages-api/posts), over httpx.

A post is `message` plus `link`; Facebook's crawler builds the card from the article's og: tags, so
nothing of the card is sent. The Page token travels in the form body on writes and as a URL placeholder
on reads (see `sharebot.adapters.http`), never in a URL httpx could log.

Graph has no idempotency key, so an unknown outcome is settled by looking for the link among the Page's
recent posts, counting only posts made since this round began (`not_before`, kept on the job by
`prepare`): `sharebot publish --repost` posts the same link again, and the earlier round's post must not
pass for the new one.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar, Mapping
from urllib.parse import parse_qs, urlsplit

from sharebot.adapters.base import AccountStatus, Adapter, Delivery
from sharebot.adapters.http import Http, hidden, in_round, json_body, round_start, status_from_error
from sharebot.errors import AuthError, ConfigError, NotSent, PublishError, RateLimited, Rejected, Unconfirmed
from sharebot.models import Network, PublishResult, RenderedPost

if TYPE_CHECKING:
    import httpx

API_BASE = "https://graph.facebook.com"
DEFAULT_VERSION = "v25.0"  # available until 29 Jul 2028
# Graph error codes (https://developers.facebook.com/docs/graph-api/guides/error-handling).
AUTH_CODES = {190, 102}
PERMISSION_CODES = {10, 200, 3}
THROTTLE_CODES = {4, 17, 32, 613, 80001}
DUPLICATE_CODES = {506, 368}
TRANSIENT_CODES = {1, 2}
FIND_LIMIT = 25


def graph_error(body: Any) -> dict[str, Any]:
    """The `error` object of a Graph API answer, or {} when the body has none."""
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def usage_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from X-Business-Use-Case-Usage's estimated_time_to_regain_access (minutes), if any.

    The header maps business ids to lists of usage objects; the longest wait among them is the one
    that matters (https://developers.facebook.com/docs/graph-api/overview/rate-limiting).
    """
    raw = headers.get("x-business-use-case-usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
        minutes = [float(entry.get("estimated_time_to_regain_access") or 0)
                   for entries in usage.values() for entry in entries]
    except (ValueError, AttributeError, TypeError):
        return None
    return max(minutes) * 60 if minutes and max(minutes) > 0 else None


class _Duplicate(Rejected):
    """Facebook's "already posted" refusal, which `publish` settles by looking for the post."""


class FacebookAdapter(Adapter):
    network: ClassVar[Network] = Network.FACEBOOK
    required_secrets: ClassVar[tuple[str, ...]] = ("page_access_token",)
    dedupe: ClassVar[str] = "lookup"  # no idempotency key: look for the link among the Page's recent posts

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        options = self.account.options
        self.page_id = str(options.get("page_id") or "")
        if not self.page_id:
            raise ConfigError(f"account {self.account.name!r}: option page_id is not set")
        self.version = str(options.get("api_version") or DEFAULT_VERSION)
        self.token = self.credentials["page_access_token"]
        self.http = Http(str(self.network), str(options.get("api_base") or API_BASE),
                         timeout=self.context.timeout, user_agent=self.context.user_agent,
                         secrets={"page_access_token": self.token})

    def prepare(self, post: RenderedPost, delivery: Delivery) -> dict[str, Any]:
        # Kept on the job so `find` ignores an earlier round's post of the same article.
        return {"not_before": delivery.now.isoformat()}

    def publish(self, post: RenderedPost, delivery: Delivery) -> PublishResult:
        form = {"message": post.text, "access_token": self.token}
        if post.link:
            form["link"] = post.link
        try:
            body = self._call("POST", f"{self.page_id}/feed", data=form)
        except _Duplicate as exc:
            # Facebook refuses to post the same content twice: our own earlier attempt in this round,
            # or an earlier round's post (a repost), which `find` does not count.
            found = self.find(post, delivery)
            if found:
                return found
            raise Rejected(str(self.network), f"Facebook refuses identical content and no post of this round "
                                              f"carries it, so the one it duplicates is not ours: a repost "
                                              f"needs different text ({exc.detail})", exc.status) from None
        post_id = str(body.get("id") or "")
        if not post_id:
            raise Unconfirmed(str(self.network), "the feed answer carried no post id")
        return PublishResult(post_id, self._permalink(post_id))

    def find(self, post: RenderedPost, delivery: Delivery) -> PublishResult | None:
        fields = "id,message,permalink_url,created_time,attachments{unshimmed_url,url}"
        body = self._call("GET", f"{self.page_id}/published_posts",
                          params={"fields": fields, "limit": FIND_LIMIT})
        since = round_start(delivery.data)
        for item in body.get("data") or []:
            if in_round(item.get("created_time"), since) and _matches(item, post):
                post_id = str(item["id"])
                return PublishResult(post_id, item.get("permalink_url") or self._permalink(post_id))
        return None

    def delete(self, remote_id: str) -> None:
        self._call("DELETE", remote_id)

    def check(self) -> AccountStatus:
        try:
            page = self._call("GET", self.page_id, params={"fields": "id,name"})
        except PublishError as exc:
            return status_from_error(self.account.name, exc)
        return AccountStatus(self.account.name, "ok", f"page {page.get('name') or self.page_id}")

    def close(self) -> None:
        self.http.close()

    # --- helpers -----------------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        if method != "POST":
            kwargs["params"] = {**kwargs.get("params", {}), "access_token": hidden("page_access_token")}
        response = self.http.request(method, f"/{self.version}/{path}", **kwargs)
        body = json_body(response)
        if response.status_code < 300 and isinstance(body, dict) and not graph_error(body):
            return body
        raise self._error(method, response, body)

    def _error(self, method: str, response: httpx.Response, body: Any) -> PublishError:
        """Graph errors: {"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}."""
        net, status = str(self.network), response.status_code
        error = graph_error(body)
        code = error.get("code")
        detail = self.http.detail(
            f"{error.get('message') or response.reason_phrase} (code {code}, "
            f"subcode {error.get('error_subcode')}, fbtrace_id {error.get('fbtrace_id')})")
        if code in AUTH_CODES or status == 401:
            return AuthError(net, f"{detail}: the Page token is invalid or expired", status)
        if code in THROTTLE_CODES or status == 429:
            return RateLimited(net, detail, status, retry_after=usage_retry_after(response.headers))
        if code in DUPLICATE_CODES:
            return _Duplicate(net, f"{detail}: duplicate content", status)
        if code in PERMISSION_CODES:
            return Rejected(net, f"{detail}: the token lacks pages_manage_posts or Page access", status)
        # Codes 1/2 ("unknown"/"temporary") and 5xx have left duplicates behind after the post was made.
        if code in TRANSIENT_CODES or status >= 500 or not error:
            return NotSent(net, detail, status) if method == "GET" else Unconfirmed(net, detail, status)
        return Rejected(net, detail, status)

    def _permalink(self, post_id: str) -> str:
        page, _, story = str(post_id).partition("_")
        if story:
            return f"https://www.facebook.com/{page}/posts/{story}"
        return f"https://www.facebook.com/{post_id}"


def _matches(item: Mapping[str, Any], post: RenderedPost) -> bool:
    """Our post: the link is in the message or is the attachment's target, or the message is our text."""
    message = item.get("message") or ""
    if post.link and post.link in message:
        return True
    for attachment in (item.get("attachments") or {}).get("data") or []:
        # `url` is an l.facebook.com redirect carrying the target in its `u` parameter.
        shim = attachment.get("url") or ""
        targets = {attachment.get("unshimmed_url"), shim, *parse_qs(urlsplit(shim).query).get("u", [])}
        if post.link and post.link in targets:
            return True
    return bool(message) and message.strip() == post.text.strip()
