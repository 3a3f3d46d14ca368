"""Facebook Pages through the Graph API (https://developers.facebook.com/docs/pages-api/posts), over httpx.

A post is `message` plus `link`; Facebook's crawler builds the card from the article's og: tags, so
nothing of the card is sent. The Page token travels as for every Graph API call (see
`sharebot.adapters.graph`).

Graph has no idempotency key, so an unknown outcome is settled by looking for the link among the Page's
recent posts, counting only posts made since this round began (`not_before`, kept on the job by
`prepare`): `sharebot publish --repost` posts the same link again, and the earlier round's post must not
pass for the new one.

An edit posts a new `message` to /{post-id}; the link of a post cannot change, so an edit that would change it
is refused here (Unsupported). A reply is a comment (/{post-id}/comments, or /{comment-id}/comments under a
comment) with the link in its text, found again among the comments under its parent
(https://developers.facebook.com/docs/pages-api/posts). Unverified parts: docs/lifecycle.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from sharebot.adapters.base import AccountState, AccountStatus, Delivery, RemotePost
from sharebot.adapters.graph import GraphAdapter
from sharebot.adapters.http import in_round, keep_link, round_start, same_text, status_from_error, with_link
from sharebot.errors import PublishError, Rejected, Unconfirmed
from sharebot.jobs import PublishResult
from sharebot.models import Network, RenderedPost

DUPLICATE_CODES = {506, 368}
FIND_LIMIT = 25


class _Duplicate(Rejected):
    """Facebook's "already posted" refusal, which `publish` settles by looking for the post."""


class FacebookAdapter(GraphAdapter):
    network: ClassVar[Network] = Network.FACEBOOK
    dedupe: ClassVar[str] = "lookup"  # no idempotency key: look for the link among the Page's recent posts
    api_base: ClassVar[str] = "https://graph.facebook.com"
    default_version: ClassVar[str] = "v25.0"  # available until 29 Jul 2028
    token_name: ClassVar[str] = "page_access_token"
    owner_option: ClassVar[str] = "page_id"
    token_hint: ClassVar[str] = "the Page token is invalid or expired"
    permission_hint: ClassVar[str] = "the token lacks pages_manage_posts or Page access"

    def prepare(self, post: RenderedPost, delivery: Delivery) -> dict[str, Any]:
        # Kept on the job so `find` ignores an earlier round's post of the same article.
        return {"not_before": delivery.now.isoformat()}

    def publish(self, post: RenderedPost, delivery: Delivery) -> PublishResult:
        form = {"message": post.text}
        if post.link:
            form["link"] = post.link
        try:
            body = self._call("POST", f"{self.owner_id}/feed", data=form)
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
        body = self._call("GET", f"{self.owner_id}/published_posts",
                          params={"fields": fields, "limit": FIND_LIMIT})
        since = round_start(delivery.data)
        for item in body.get("data") or []:
            if in_round(item.get("created_time"), since) and _matches(item, post):
                post_id = str(item["id"])
                return PublishResult(post_id, item.get("permalink_url") or self._permalink(post_id))
        return None

    def delete(self, remote_id: str) -> None:
        self._call("DELETE", remote_id)

    def edit(self, original: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult:
        post_id = original.remote_id
        keep_link(self.network, original, post)
        body = self._call("POST", post_id, data={"message": post.text})
        if body.get("success") is not True:
            raise Unconfirmed(str(self.network), f"editing {post_id}: the answer did not say success")
        return PublishResult(post_id, original.url or self._permalink(post_id))

    def find_edit(self, original: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult | None:
        body = self._call("GET", original.remote_id, params={"fields": "id,message"})
        if same_text(str(body.get("message") or ""), post.text):
            return PublishResult(original.remote_id, original.url or self._permalink(original.remote_id))
        return None

    def reply(self, parent: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult:
        # A comment has no link field: the link goes in its text, where Facebook links it.
        body = self._call("POST", f"{parent.remote_id}/comments", data={"message": with_link(post.text, post.link)})
        comment_id = str(body.get("id") or "")
        if not comment_id:
            raise Unconfirmed(str(self.network), "the comment answer carried no id")
        return PublishResult(comment_id, self._comment_link(comment_id))

    def find_reply(self, parent: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult | None:
        body = self._call("GET", f"{parent.remote_id}/comments", params={
            "fields": "id,message,from,created_time,permalink_url", "order": "reverse_chronological",
            "limit": FIND_LIMIT})
        since = round_start(delivery.data)
        text = with_link(post.text, post.link)
        for item in body.get("data") or []:
            author = str((item.get("from") or {}).get("id") or "")
            if author == self.owner_id and in_round(item.get("created_time"), since) \
                    and same_text(str(item.get("message") or ""), text):
                return PublishResult(str(item["id"]), item.get("permalink_url"))
        return None

    def check(self) -> AccountStatus:
        try:
            page = self._call("GET", self.owner_id, params={"fields": "id,name"})
        except PublishError as exc:
            return status_from_error(self.account.name, exc)
        return AccountStatus(self.account.name, AccountState.OK, f"page {page.get('name') or self.owner_id}")

    # --- helpers -----------------------------------------------------------------------------------
    def _refusal(self, code: Any, subcode: Any, detail: str, status: int) -> PublishError | None:
        if code in DUPLICATE_CODES:
            return _Duplicate(str(self.network), f"{detail}: duplicate content", status)
        return None

    def _comment_link(self, comment_id: str) -> str | None:
        # The comment exists now; a failed permalink read must not turn that into an error.
        try:
            return self._call("GET", comment_id, params={"fields": "permalink_url"}).get("permalink_url")
        except PublishError:
            return None

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
