"""X (Twitter) through tweepy's v2 Client, aimed at a configurable host.

Auth is OAuth 1.0a user context (four values; tokens do not expire) or an OAuth 2.0 user token sent as a
bearer. X has no idempotency key, so an unknown outcome is settled by reading the account's own recent
posts and looking for the article link among their expanded URLs (post text carries t.co links only).
A reply is a post with `reply.in_reply_to_tweet_id`; a lost one is found among the account's recent posts by
the post it answers and its text. The API cannot edit a post (see docs/lifecycle.md).
Facts: https://docs.x.com/x-api/posts/manage-tweets/migrate/overview
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

from sharebot.adapters.base import AccountState, AccountStatus, Adapter, Delivery, ImageUse, RemotePost
from sharebot.adapters.http import requests_never_sent, retry_after, same_text, status_from_error
from sharebot.errors import AuthError, NotSent, PublishError, RateLimited, Rejected, Unconfirmed
from sharebot.images import article_image
from sharebot.jobs import PublishResult
from sharebot.models import Network, RenderedPost
from sharebot.scrub import one_line

API_BASE = "https://api.x.com"
OAUTH1 = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
# Photos: JPG, PNG, WEBP or GIF up to 5 MB (https://docs.x.com/x-api/media/quickstart/best-practices).
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
IMAGE_MAX_BYTES = 5_000_000
# `find` reads posts from this long before the first attempt, for clock skew between us and X.
CLOCK_SKEW = timedelta(minutes=10)
# Own-post reads are billed per post returned; X accepts 5..100.
FIND_COUNT = 20
MENTIONS = re.compile(r"^(@\w+\s+)+")  # the handles X puts before a reply's text

T = TypeVar("T")


class DuplicateContent(Rejected):
    """X refused the text as identical to a recent post of the account: probably ours already."""


class XAdapter(Adapter):
    network: ClassVar[Network] = Network.X
    dedupe: ClassVar[str] = "lookup"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # required_secrets cannot say "these four, or that one", so the check is made here.
        self.user_auth = all(self.credentials.get(name) for name in OAUTH1)
        if not self.user_auth and not self.credentials.get("bearer_token"):
            missing = [self.account.secrets.get(n, n) for n in OAUTH1 if not self.credentials.get(n)]
            raise AuthError(str(self.network), f"account {self.account.name!r}: set bearer_token, or all of "
                                               f"the OAuth 1.0a values (missing {', '.join(missing)})")
        self.api_base = str(self.account.options.get("api_base") or API_BASE).rstrip("/")
        self.secrets: dict[str, str] = {name: value for name, value in self.credentials.items() if value}
        self._auth = {name: self.secrets.get(name) for name in (*OAUTH1, "bearer_token")}
        self._client: Any = None
        self._user_id: str | None = None

    # --- the Adapter contract --------------------------------------------------------------------
    def prepare(self, post: RenderedPost, delivery: Delivery) -> dict[str, Any]:
        # Kept on the job so `find` ignores an earlier round's post of the same article.
        return {"not_before": delivery.now.isoformat()}

    def publish(self, post: RenderedPost, delivery: Delivery) -> PublishResult:
        return self._create(post, delivery, None)

    def reply(self, parent: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult:
        return self._create(post, delivery, parent)

    def find_reply(self, parent: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult | None:
        # Replies are left out of `find`'s read; this one asks for them, and for what each answers.
        params = self._since(delivery, {"max_results": FIND_COUNT, "exclude": ["retweets"],
                                        "tweet_fields": ["created_at", "entities", "referenced_tweets"]})
        user_id = self._me(delivery.now)
        response = self._call(lambda c: c.get_users_tweets(user_id, user_auth=self.user_auth, **params),
                              now=delivery.now)
        for tweet in response.data or ():
            if is_reply_of(tweet.data, parent.remote_id, post):
                return result(str(tweet.id))
        return None

    def find(self, post: RenderedPost, delivery: Delivery) -> PublishResult | None:
        params = self._since(delivery, {"max_results": FIND_COUNT, "tweet_fields": ["created_at", "entities"],
                                        "exclude": ["replies", "retweets"]})
        user_id = self._me(delivery.now)
        response = self._call(lambda c: c.get_users_tweets(user_id, user_auth=self.user_auth, **params),
                              now=delivery.now)
        for tweet in response.data or ():
            if is_post_of(tweet.data, post):
                return result(str(tweet.id))
        return None

    def delete(self, remote_id: str) -> None:
        try:
            response = self._call(lambda c: c.delete_tweet(remote_id, user_auth=self.user_auth), write=True)
        except Rejected as exc:
            if exc.status == 404:  # already gone: what we wanted
                return
            raise
        if not (response.data or {}).get("deleted"):
            raise Rejected(str(self.network), f"post {remote_id} was not deleted")

    @classmethod
    def image_use(cls, post: RenderedPost) -> ImageUse | None:
        if not (post.image and post.options.get("attach_image")):
            return None
        return ImageUse(post.image, "photo", IMAGE_MAX_BYTES, IMAGE_TYPES)

    def check(self) -> AccountStatus:
        try:
            me = self._call(lambda c: c.get_me(user_auth=self.user_auth)).data
        except PublishError as exc:
            return status_from_error(self.account.name, exc)
        self._user_id = str(me.id)
        return AccountStatus(self.account.name, AccountState.OK, f"@{me.username}")

    def close(self) -> None:
        if self._client is not None:
            self._client.session.close()

    # --- helpers ---------------------------------------------------------------------------------
    def _create(self, post: RenderedPost, delivery: Delivery, parent: RemotePost | None) -> PublishResult:
        # A photo replaces X's link card, so the image goes along only when the renderer asked for it.
        media_ids = [self._upload(post.image, delivery.now)] if post.image and post.options.get("attach_image") \
            else None
        in_reply_to = parent.remote_id if parent else None
        try:
            response = self._call(lambda c: c.create_tweet(text=post.text, media_ids=media_ids,
                                                           in_reply_to_tweet_id=in_reply_to,
                                                           user_auth=self.user_auth),
                                  now=delivery.now, write=True)
        except DuplicateContent as exc:
            found = self.find_reply(parent, post, delivery) if parent else self.find(post, delivery)
            if found:
                return found
            raise Rejected(str(self.network), f"duplicate of an earlier post, not this delivery's: {exc.detail}",
                           exc.status) from exc
        return result(str(response.data["id"]))

    @staticmethod
    def _since(delivery: Delivery, params: dict[str, Any]) -> dict[str, Any]:
        """`params` for reading own posts, from the start of this delivery's round when it is known."""
        not_before = delivery.data.get("not_before")
        if not_before:
            params["start_time"] = datetime.fromisoformat(str(not_before)) - CLOCK_SKEW
        return params

    def _me(self, now: datetime | None) -> str:
        if self._user_id is None:
            self._user_id = str(self._call(lambda c: c.get_me(user_auth=self.user_auth), now=now).data.id)
        return self._user_id

    def _upload(self, url: str, now: datetime) -> str:
        """X's v2 one-shot image upload; tweepy 4.17 only has the retiring v1.1 endpoint."""
        image = article_image(url, IMAGE_MAX_BYTES, network=str(self.network), context=self.context,
                              keep=IMAGE_TYPES)
        name = "image." + image.mime_type.split("/")[1]
        try:
            response = self._call(lambda c: c.request(
                "POST", "/2/media/upload", data={"media_category": "tweet_image"},
                files={"media": (name, image.data, image.mime_type)}, user_auth=self.user_auth,
            ), now=now, write=True)
        except Unconfirmed as exc:
            # Only the upload is in doubt; no post exists yet, so trying again is safe.
            raise NotSent(str(self.network), f"image upload: {exc.detail}", exc.status) from exc
        try:
            return str(response.json()["data"]["id"])
        except (ValueError, KeyError, TypeError):
            raise NotSent(str(self.network), "image upload answered without data.id") from None

    def _call(self, fn: Callable[[Any], T], *, now: datetime | None = None, write: bool = False) -> T:
        import requests
        import tweepy

        if self._client is None:
            self._client = client_class()(api_base=self.api_base, timeout=self.context.timeout,
                                          user_agent=self.context.user_agent, **self._auth)
        try:
            return fn(self._client)
        except (tweepy.TweepyException, requests.RequestException) as exc:
            raise map_error(exc, now=now, write=write, secrets=self.secrets.values()) from exc


def result(tweet_id: str) -> PublishResult:
    # This form resolves without knowing the handle.
    return PublishResult(tweet_id, f"https://x.com/i/web/status/{tweet_id}")


def is_post_of(tweet: dict[str, Any], post: RenderedPost) -> bool:
    """Is this (own, recent) post the rendered one? By link when there is one, else by text."""
    if post.link:
        urls = (tweet.get("entities") or {}).get("urls") or ()
        return any(post.link in (u.get("expanded_url"), u.get("unwound_url")) for u in urls)
    return html.unescape(tweet.get("text") or "") == post.text


def is_reply_of(tweet: dict[str, Any], parent_id: str, post: RenderedPost) -> bool:
    """Is this (own, recent) post the rendered reply under `parent_id`? By what it answers and by its text:
    a correction and a follow-up under one post may carry the same link. X puts the @handles of the accounts
    answered before a reply's text (to other accounts only, as documented; unverified for one's own thread)."""
    answers = {str(ref.get("id")) for ref in tweet.get("referenced_tweets") or () if ref.get("type") == "replied_to"}
    text = shown_text(tweet)
    return parent_id in answers and (same_text(text, post.text) or same_text(MENTIONS.sub("", text), post.text))


def shown_text(tweet: dict[str, Any]) -> str:
    """A post's text as it was sent: t.co links expanded, entities unescaped."""
    text = html.unescape(tweet.get("text") or "")
    for url in (tweet.get("entities") or {}).get("urls") or ():
        if url.get("url") and url.get("expanded_url"):
            text = text.replace(url["url"], url["expanded_url"])
    return text


@functools.cache
def client_class() -> type:
    """tweepy.Client with its one `request` method replaced.

    tweepy 4.17's BaseClient.request hard-codes https://api.twitter.com, sends without a timeout and logs
    every request's headers at DEBUG, which for OAuth 2 includes the bearer token. Replacing that one
    method (on a subclass, so nothing global changes) keeps tweepy's endpoint methods and response
    parsing, and raises tweepy's own exceptions as tweepy would. It also takes `data`/`files` for the v2
    media upload, which tweepy does not have.
    """
    import tweepy
    from tweepy import errors

    class Client(tweepy.Client):  # type: ignore[misc]
        def __init__(self, *, api_base: str, timeout: float, user_agent: str, **credentials: Any) -> None:
            super().__init__(**credentials)
            self.api_base = api_base
            self.timeout = timeout
            # Ahead of tweepy's own "Python/… Requests/… Tweepy/…" (tweepy has no types: Any)
            sdk_agent: str = getattr(self, "user_agent", "")
            self.user_agent: str = f"{user_agent} {sdk_agent}".rstrip()

        def request(self, method: str, route: str, params: Any = None, json: Any = None,
                    user_auth: bool = False, *, data: Any = None, files: Any = None) -> Any:
            headers = {"User-Agent": self.user_agent}
            auth = None
            if user_auth:
                auth = tweepy.OAuth1UserHandler(self.consumer_key, self.consumer_secret, self.access_token,
                                                self.access_token_secret).apply_auth()
            else:
                headers["Authorization"] = f"Bearer {self.bearer_token}"
            response = self.session.request(method, self.api_base + route, params=params, json=json, data=data,
                                            files=files, headers=headers, auth=auth, timeout=self.timeout)
            status = response.status_code
            if status == 429:  # map_error reads the wait from the headers (x-rate-limit-reset)
                raise errors.TooManyRequests(response)
            if status >= 500:
                raise errors.TwitterServerError(response)
            if not 200 <= status < 300:
                kind = {400: errors.BadRequest, 401: errors.Unauthorized, 403: errors.Forbidden,
                        404: errors.NotFound}.get(status, errors.HTTPException)
                raise kind(response)
            return response

    return Client


def map_error(exc: BaseException, *, now: datetime | None, write: bool,
              secrets: Iterable[str]) -> PublishError:
    """The one place tweepy and requests failures become sharebot errors.

    `write`: the request could have changed something (a GET that fails has posted nothing).
    """
    import requests
    from tweepy import errors

    net = str(Network.X)
    if isinstance(exc, errors.HTTPException):
        status = exc.response.status_code
        said = one_line(exc.api_messages[0] if exc.api_messages else f"{status} {exc.response.reason}", secrets)
        if isinstance(exc, errors.TooManyRequests):
            wait = retry_after(exc.response.headers, now, reset="x-rate-limit-reset")
            return RateLimited(net, f"rate limit reached: {said}", 429, retry_after=wait)
        if status == 401:
            return AuthError(net, f"credentials refused: {said}", status)
        if status == 402:
            return Rejected(net, f"no API credits left, top up in the X Developer Console: {said}", status)
        if status == 403 and any("duplicate content" in str(m).lower() for m in exc.api_messages):
            return DuplicateContent(net, said, status)
        if status >= 500:
            return (Unconfirmed if write else NotSent)(net, f"server error: {said}", status)
        return Rejected(net, said, status)
    if isinstance(exc, requests.RequestException):
        why = type(exc).__name__
        if not write:
            return NotSent(net, f"request failed: {why}")
        if requests_never_sent(exc):
            return NotSent(net, f"not sent: {why}")
        if isinstance(exc, requests.Timeout):
            return Unconfirmed(net, f"no answer within the timeout ({why}); the post may exist")
        return Unconfirmed(net, f"connection lost after sending ({why}); the post may exist")
    return Rejected(net, one_line(exc, secrets))  # tweepy's own argument checks

