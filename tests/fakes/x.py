"""A stand-in for X API v2: create/delete posts and replies, the account's own timeline, users/me, v2 media upload.

As documented (/work/shared/docs/platforms.md §1): errors are problem-JSON bodies (`title`, `detail`,
`type`, `status`); identical text to a recent post is refused with 403 "duplicate content"; 429 carries
`x-rate-limit-*` headers in epoch seconds and no Retry-After; URLs in a post's text come back t.co-wrapped
with the original in `entities.urls[].expanded_url`. A reply (`reply.in_reply_to_tweet_id`) to a post that is
gone is refused with 403 (the message as reported by users, unverified); replies carry `referenced_tweets`
(`replied_to`) and `conversation_id`, and the timeline leaves them out when asked to (`exclude=replies`).
There is no edit endpoint: X's API cannot edit a post. OAuth 1.0a signatures are verified (HMAC-SHA1 over
query and OAuth parameters; JSON and multipart bodies are not signed), bearer tokens compared.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fakes.base import FakeAPI, Request, Response
from fakes.telegram import parse_multipart

URL = re.compile(r"https?://\S+")
DUPLICATE = "You are not allowed to create a Tweet with duplicate content."
REPLY_GONE = "You attempted to reply to a Tweet that is deleted or not visible to you."


def problem(status: int, title: str, detail: str, kind: str = "about:blank") -> Response:
    return Response(status, {"title": title, "detail": detail, "type": kind, "status": status})


@dataclass
class Tweet:
    id: str
    sent: str  # the text as posted
    text: str  # as X shows it: URLs replaced by t.co links
    created_at: datetime
    urls: list[dict[str, Any]]
    media_ids: list[str] = field(default_factory=list)
    in_reply_to: str | None = None  # the post this one answers
    conversation_id: str = ""  # the first post of its thread

    def to_json(self, fields: set[str]) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "text": self.text, "edit_history_tweet_ids": [self.id]}
        if "referenced_tweets" in fields and self.in_reply_to:
            data["referenced_tweets"] = [{"type": "replied_to", "id": self.in_reply_to}]
        if "conversation_id" in fields:
            data["conversation_id"] = self.conversation_id or self.id
        if "created_at" in fields:
            data["created_at"] = self.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        if "entities" in fields and self.urls:
            data["entities"] = {"urls": self.urls}
        return data


class FakeX(FakeAPI):
    def __init__(self, *, clock: Callable[[], datetime], consumer_key: str = "FAKE-consumer-key-1", consumer_secret: str = "FAKE-consumer-secret-2",
                 access_token: str = "1500-FAKE-access-token-3", access_token_secret: str = "FAKE-token-secret-4",
                 bearer_token: str = "FAKE-bearer-token-5", user_id: str = "1500",
                 username: str = "newsroom") -> None:
        super().__init__(clock=clock)
        self.consumer_key, self.consumer_secret = consumer_key, consumer_secret
        self.access_token, self.access_token_secret = access_token, access_token_secret
        self.bearer_token = bearer_token
        self.user_id, self.username = user_id, username
        self.tweets: dict[str, Tweet] = {}
        self.media: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1_860_000_000_000_000_001)
        self._short = itertools.count(1)
        self.route("POST", r"/2/tweets", self._create)
        self.route("DELETE", r"/2/tweets/(?P<id>\d+)", self._delete)
        self.route("GET", r"/2/users/me", self._me)
        self.route("GET", r"/2/users/(?P<id>\d+)/tweets", self._timeline)
        self.route("POST", r"/2/media/upload", self._upload)

    # --- test helpers ----------------------------------------------------------------------------
    def add_tweet(self, text: str, created_at: datetime | None = None, in_reply_to: str | None = None) -> Tweet:
        """A post the account made earlier (another round, another tool), or a reply when `in_reply_to`."""
        tweet_id = str(next(self._ids))
        urls, shown = [], text
        for match in URL.finditer(text):
            short = f"https://t.co/{next(self._short):010d}"
            start = shown.index(match.group())
            shown = shown.replace(match.group(), short, 1)
            urls.append({"start": start, "end": start + len(short), "url": short,
                         "expanded_url": match.group(), "display_url": match.group().split("://", 1)[1][:26]})
        tweet = Tweet(tweet_id, text, shown, created_at or self.clock(), urls, in_reply_to=in_reply_to)
        if in_reply_to:
            tweet.conversation_id = self.tweets[in_reply_to].conversation_id or in_reply_to
        self.tweets[tweet_id] = tweet
        return tweet

    def replies_to(self, tweet_id: str) -> list[Tweet]:
        return [t for t in self.tweets.values() if t.in_reply_to == tweet_id]

    def rate_limit_next(self, seconds: int, *, path: str | None = None) -> None:
        reset = int(self.clock().timestamp()) + seconds
        self.fail_next(429, {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank",
                             "status": 429},
                       {"x-rate-limit-limit": "100", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)},
                       path=path)

    # --- auth ------------------------------------------------------------------------------------
    def _authorized(self, req: Request) -> bool:
        header = req.headers.get("authorization", "")
        if header.startswith("Bearer "):
            return hmac.compare_digest(header[7:], self.bearer_token)
        if header.startswith("OAuth "):
            return self._oauth1_valid(req, header)
        return False

    def _oauth1_valid(self, req: Request, header: str) -> bool:
        from oauthlib.oauth1.rfc5849 import signature, utils

        oauth = {k: utils.unescape(v) for k, v in utils.parse_authorization_header(header)}
        if oauth.get("oauth_consumer_key") != self.consumer_key or oauth.get("oauth_token") != self.access_token:
            return False
        form = req.body.decode() if "x-www-form-urlencoded" in req.headers.get("content-type", "") else None
        params = signature.collect_parameters(uri_query=urlencode(req.query, doseq=True), body=form,
                                              headers={"Authorization": header})
        base = signature.signature_base_string(
            req.method, signature.base_string_uri(f"http://{req.headers['host']}{req.path}"),
            signature.normalize_parameters(params))
        key = f"{utils.escape(self.consumer_secret)}&{utils.escape(self.access_token_secret)}"
        expected = base64.b64encode(hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()).decode()
        return hmac.compare_digest(expected, oauth.get("oauth_signature", ""))

    @staticmethod
    def _unauthorized() -> Response:
        return problem(401, "Unauthorized", "Unauthorized")

    # --- routes ----------------------------------------------------------------------------------
    def _create(self, req: Request, match: re.Match[str]) -> Response:
        if not self._authorized(req):
            return self._unauthorized()
        body = req.json() or {}
        text = body.get("text") or ""
        media_ids = list((body.get("media") or {}).get("media_ids") or [])
        unknown = [m for m in media_ids if m not in self.media]
        if (not text and not media_ids) or unknown:
            return Response(400, {"errors": [{"message": f"Invalid media ids {unknown}" if unknown
                                              else "text or media is required"}],
                                  "title": "Invalid Request", "type": "https://api.twitter.com/2/problems/invalid-request",
                                  "detail": "One or more parameters to your request was invalid."})
        if any(t.sent == text for t in self.tweets.values()):
            return problem(403, "Forbidden", DUPLICATE)
        parent = str((body.get("reply") or {}).get("in_reply_to_tweet_id") or "") or None
        if parent is not None and parent not in self.tweets:
            return problem(403, "Forbidden", REPLY_GONE)
        tweet = self.add_tweet(text, in_reply_to=parent)
        tweet.media_ids = media_ids
        return Response(201, {"data": {"id": tweet.id, "text": tweet.text, "edit_history_tweet_ids": [tweet.id]}})

    def _delete(self, req: Request, match: re.Match[str]) -> Response:
        if not self._authorized(req):
            return self._unauthorized()
        if self.tweets.pop(match["id"], None) is None:
            return problem(404, "Not Found Error", f"Could not find tweet with id: [{match['id']}].",
                           "https://api.twitter.com/2/problems/resource-not-found")
        return Response(200, {"data": {"deleted": True}})

    def _me(self, req: Request, match: re.Match[str]) -> Response:
        if not self._authorized(req):
            return self._unauthorized()
        return Response(200, {"data": {"id": self.user_id, "name": "Newsroom", "username": self.username}})

    def _timeline(self, req: Request, match: re.Match[str]) -> Response:
        if not self._authorized(req):
            return self._unauthorized()
        count = int(req.query.get("max_results", ["10"])[0])
        if not 5 <= count <= 100 or match["id"] != self.user_id:
            return Response(400, {"errors": [{"message": "invalid max_results or id"}], "title": "Invalid Request",
                                  "type": "https://api.twitter.com/2/problems/invalid-request",
                                  "detail": "One or more parameters to your request was invalid."})
        fields = set(",".join(req.query.get("tweet.fields", [])).split(","))
        tweets = sorted(self.tweets.values(), key=lambda t: t.created_at, reverse=True)
        excluded = set(",".join(req.query.get("exclude", [])).split(","))
        if "replies" in excluded:
            tweets = [t for t in tweets if not t.in_reply_to]
        if "start_time" in req.query:
            start = datetime.strptime(req.query["start_time"][0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            tweets = [t for t in tweets if t.created_at >= start]
        tweets = tweets[:count]
        if not tweets:
            return Response(200, {"meta": {"result_count": 0}})
        return Response(200, {"data": [t.to_json(fields) for t in tweets],
                              "meta": {"result_count": len(tweets), "newest_id": tweets[0].id,
                                       "oldest_id": tweets[-1].id}})

    def _upload(self, req: Request, match: re.Match[str]) -> Response:
        if not self._authorized(req):
            return self._unauthorized()
        fields, files = parse_multipart(req)
        if not files.get("media") or fields.get("media_category") != "tweet_image":
            return Response(400, {"errors": [{"message": "media and media_category=tweet_image are required"}],
                                  "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
                                  "type": "https://api.twitter.com/2/problems/invalid-request"})
        media_id = str(next(self._ids))
        self.media[media_id] = {"data": files["media"], "category": fields["media_category"]}
        return Response(200, {"data": {"id": media_id, "media_key": f"3_{media_id}", "size": len(files["media"]),
                                       "expires_after_secs": 86400}})
