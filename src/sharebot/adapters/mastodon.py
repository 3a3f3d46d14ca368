"""Mastodon through Mastodon.py, one instance per account.

Mastodon keeps an `Idempotency-Key` for an hour and answers a repeated key with the original status, so
a retry after an unknown outcome is safe within that hour; after it, `find` reads the account's own recent
statuses for the article link. A reply is a status with `in_reply_to_id` and its own key; a lost one is found
in the parent's context. An edit is PUT /api/v1/statuses/:id, which replaces the whole status: the attachments
it keeps must be named again. Facts: https://docs.joinmastodon.org/methods/statuses/#create,
https://docs.joinmastodon.org/methods/statuses/#edit, https://docs.joinmastodon.org/api/rate-limits
"""

from __future__ import annotations

import functools
import html
import json
import re
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

from sharebot import counting
from sharebot.adapters.base import AccountState, AccountStatus, Adapter, Delivery, ImageUse, RemotePost
from sharebot.adapters.http import requests_never_sent, retry_after, same_text, status_from_error
from sharebot.errors import AuthError, ConfigError, NotSent, PublishError, RateLimited, Rejected, Unconfirmed
from sharebot.files import write_whole
from sharebot.images import article_image
from sharebot.jobs import PublishResult
from sharebot.models import Network, RenderedPost
from sharebot.scrub import one_line
from sharebot.times import utc

# Instances that are not told otherwise (app/validators/status_length_validator.rb, MAX_CHARS).
DEFAULT_LIMITS = (500, 23)
LIMITS_MAX_AGE = timedelta(days=1)
# Mastodon 4 takes images up to 16 MB (configuration.media_attachments.image_size_limit); older
# instances stopped at 8 MB, so stay under that.
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
IMAGE_MAX_BYTES = 8_000_000
VISIBILITIES = ("public", "unlisted", "private", "direct")
CLOCK_SKEW = timedelta(minutes=10)
FIND_COUNT = 40
HREF = re.compile(r'href="([^"]*)"')

T = TypeVar("T")


class MastodonAdapter(Adapter):
    network: ClassVar[Network] = Network.MASTODON
    dedupe: ClassVar[str] = "key"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        options = self.account.options
        instance = str(options.get("instance") or "")
        if not instance:
            raise ConfigError(f"account {self.account.name!r}: option instance is not set "
                              f"(e.g. instance = \"https://mastodon.social\")")
        base = str(options.get("api_base") or instance).rstrip("/")
        self.api_base = base if "://" in base else f"https://{base}"
        self.visibility = str(options.get("visibility") or "public")
        self.media_poll_attempts = int(options.get("media_poll_attempts", 10))
        self.media_poll_interval = float(options.get("media_poll_interval", 1.0))
        if self.visibility not in VISIBILITIES:
            raise ConfigError(f"account {self.account.name!r}: visibility {self.visibility!r} is not one of "
                              f"{', '.join(VISIBILITIES)}")
        self.secrets: dict[str, str] = {"access_token": self.credentials["access_token"]}
        self._api: Any = None
        self._last: Any = None  # the last HTTP response, for the rate-limit headers Mastodon.py does not keep
        self._account_id: str | None = None

    # --- the Adapter contract --------------------------------------------------------------------
    def prepare(self, post: RenderedPost, delivery: Delivery) -> dict[str, Any]:
        # Kept on the job so `find` ignores an earlier round's status for the same article.
        return {"not_before": delivery.now.isoformat()}

    def publish(self, post: RenderedPost, delivery: Delivery) -> PublishResult:
        return self._post(post, delivery, None)

    def reply(self, parent: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult:
        return self._post(post, delivery, parent.remote_id)

    def find_reply(self, parent: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult | None:
        since = self._round_start(delivery)
        account_id = self._me(delivery.now)
        context = self._call(lambda api: api.status_context(parent.remote_id), now=delivery.now)
        for status in context.get("descendants") or ():
            if (str(status.get("in_reply_to_id")) == parent.remote_id
                    and str((status.get("account") or {}).get("id")) == account_id
                    and not _before(status.get("created_at"), since)
                    and same_text(plain(str(status.get("content") or "")), post.text)):
                return PublishResult(str(status["id"]), status.get("url"))
        return None

    def edit(self, original: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult:
        self._check_length(post, delivery.now)
        # The edit replaces the whole status: attachments not named again are dropped, so the status is read
        # first and its media kept. Language, visibility and a card fetched from the new text follow on their own.
        current = self._call(lambda api: api.status(original.remote_id), now=delivery.now)
        media_ids = [str(m["id"]) for m in current.get("media_attachments") or ()] or None
        status = self._call(lambda api: api.status_update(original.remote_id, post.text, media_ids=media_ids),
                            now=delivery.now, write=True)
        return PublishResult(str(status["id"]), status.get("url") or original.url)

    def find_edit(self, original: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult | None:
        # The source is the plain text as last sent, so no HTML needs reading.
        source = self._call(lambda api: api.status_source(original.remote_id), now=delivery.now)
        if same_text(str(source.get("text") or ""), post.text):
            return PublishResult(original.remote_id, original.url)
        return None

    def find(self, post: RenderedPost, delivery: Delivery) -> PublishResult | None:
        since = self._round_start(delivery)
        account_id = self._me(delivery.now)
        statuses = self._call(lambda api: api.account_statuses(account_id, limit=FIND_COUNT, exclude_replies=True),
                              now=delivery.now)
        for status in statuses:
            if _before(status.get("created_at"), since):
                continue
            if is_post_of(status, post):
                return PublishResult(str(status["id"]), status.get("url"))
        return None

    def delete(self, remote_id: str) -> None:
        try:
            self._call(lambda api: api.status_delete(remote_id), write=True)
        except Rejected as exc:
            if exc.status != 404:  # 404: already gone, which is what we wanted
                raise

    @classmethod
    def image_use(cls, post: RenderedPost) -> ImageUse | None:
        if not (post.image and post.options.get("attach_image")):
            return None
        return ImageUse(post.image, "photo", IMAGE_MAX_BYTES, IMAGE_TYPES)

    def check(self) -> AccountStatus:
        try:
            me = self._call(lambda api: api.account_verify_credentials())
        except PublishError as exc:
            return status_from_error(self.account.name, exc)
        self._account_id = str(me["id"])
        detail = f"@{me['acct']}"
        try:
            info = self._call(lambda api: api.instance_v2())
            limit = int(((info.get("configuration") or {}).get("statuses") or {}).get("max_characters") or 500)
        except (PublishError, TypeError, ValueError):
            return AccountStatus(self.account.name, AccountState.OK,
                                 detail + "; the instance's limits could not be read")
        configured = self.account.options.get("max_characters", DEFAULT_LIMITS[0])
        if configured != limit:  # the renderer fits posts to the configured value
            detail += f"; the instance allows {limit} characters, the config says {configured}"
        return AccountStatus(self.account.name, AccountState.OK, detail)

    def close(self) -> None:
        if self._api is not None:
            self._api.session.close()

    # --- instance facts --------------------------------------------------------------------------
    def instance_limits(self, now: datetime, *, fresh: bool = False) -> tuple[int, int]:
        """(max_characters, characters_reserved_per_url) of this instance, cached in state_dir for a day;
        `fresh` asks the instance even when the cache is young (and renews the cache)."""
        path = self.context.state_dir / f"mastodon-limits-{urlsplit(self.api_base).netloc.replace(':', '_')}.json"
        try:
            cached = json.loads(path.read_text())
            if not fresh and timedelta(0) <= utc(now) - datetime.fromisoformat(cached["fetched_at"]) < LIMITS_MAX_AGE:
                return int(cached["max_characters"]), int(cached["characters_reserved_per_url"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        info = self._call(lambda api: api.instance_v2(), now=now)
        statuses = (info.get("configuration") or {}).get("statuses") or {}
        limits = (int(statuses.get("max_characters") or DEFAULT_LIMITS[0]),
                  int(statuses.get("characters_reserved_per_url") or DEFAULT_LIMITS[1]))
        path.parent.mkdir(parents=True, exist_ok=True)
        # Private, as the state directory's files are (config: [queue] state_dir); written whole, as two first
        # posts to one instance may fetch its limits at once.
        write_whole(path, json.dumps({"instance": self.api_base, "fetched_at": utc(now).isoformat(),
                                      "max_characters": limits[0], "characters_reserved_per_url": limits[1]}))
        return limits

    # --- helpers ---------------------------------------------------------------------------------
    def _post(self, post: RenderedPost, delivery: Delivery, in_reply_to_id: str | None) -> PublishResult:
        media_ids = None
        if post.image and post.options.get("attach_image"):
            media_ids = [self._upload(post.image, post.image_alt)]
        visibility = str(post.options.get("visibility") or self.visibility)
        if visibility not in VISIBILITIES:  # Mastodon.py would raise a bare ValueError
            raise Rejected(str(self.network), f"visibility {visibility!r} is not one of {', '.join(VISIBILITIES)}")
        self._check_length(post, delivery.now)
        # The same key within an hour returns the status made by the first attempt instead of a second one.
        status = self._call(lambda api: api.status_post(
            # Mastodon takes an ISO 639 code, not a BCP 47 tag: pt-BR goes as pt.
            post.text, in_reply_to_id=in_reply_to_id, media_ids=media_ids, visibility=visibility,
            language=post.language.split("-")[0], idempotency_key=delivery.key), now=delivery.now, write=True)
        return PublishResult(str(status["id"]), status.get("url"))

    def _check_length(self, post: RenderedPost, now: datetime) -> None:
        max_characters, per_url = self.instance_limits(now)
        length = counting.mastodon_length(post.text, url_length=per_url)
        if length > max_characters:  # the config's max_characters is higher than this instance allows
            raise Rejected(str(self.network), f"{length} characters, but {urlsplit(self.api_base).netloc} allows "
                                              f"{max_characters}: set max_characters = {max_characters} for "
                                              f"account {self.account.name!r}")

    @staticmethod
    def _round_start(delivery: Delivery) -> datetime | None:
        not_before = delivery.data.get("not_before")
        return utc(datetime.fromisoformat(str(not_before))) - CLOCK_SKEW if not_before else None

    def _me(self, now: datetime | None) -> str:
        if self._account_id is None:
            self._account_id = str(self._call(lambda api: api.account_verify_credentials(), now=now)["id"])
        return self._account_id

    def _upload(self, url: str, description: str) -> Any:
        image = article_image(url, IMAGE_MAX_BYTES, network=str(self.network), context=self.context,
                              keep=IMAGE_TYPES)
        try:
            media = self._call(lambda api: api.media_post(image.data, mime_type=image.mime_type,
                                                          description=description or None), write=True)
            # The attachment must be processed before a status may use it. Mastodon.py's synchronous mode
            # polls every 5 s with no end; this gives up after a bounded wait instead.
            for _ in range(self.media_poll_attempts):
                if media.get("url"):
                    return media
                time.sleep(self.media_poll_interval)
                media = self._call(functools.partial(_fetch_media, media_id=media["id"]))
        except Unconfirmed as exc:
            # Only the upload is in doubt; no status exists yet, so trying again is safe.
            raise NotSent(str(self.network), f"image upload: {exc.detail}", exc.status) from exc
        if media.get("url"):
            return media
        raise NotSent(str(self.network), f"image still processing after {self.media_poll_attempts} checks; "
                                         "nothing was posted")

    def _call(self, fn: Callable[[Any], T], *, now: datetime | None = None, write: bool = False) -> T:
        from mastodon import MastodonError

        api = self._client()
        self._last = None
        try:
            return fn(api)
        except MastodonError as exc:
            raise map_error(exc, self._last, now=now, write=write, secrets=self.secrets.values()) from exc

    def _client(self) -> Any:
        if self._api is None:
            import requests
            from mastodon import Mastodon

            session = requests.Session()

            def keep(response: Any, *args: Any, **kwargs: Any) -> None:
                self._last = response

            session.hooks["response"].append(keep)
            # "throw": never sleep inside a worker waiting for a rate limit; the queue schedules the retry.
            self._api = Mastodon(access_token=self.secrets["access_token"], api_base_url=self.api_base,
                                 ratelimit_method="throw", request_timeout=self.context.timeout,
                                 version_check_mode="none", session=session, user_agent=self.context.user_agent)
        return self._api


def _before(created: Any, since: datetime | None) -> bool:
    """Was a status (created_at as Mastodon.py parses it) made before this round began?"""
    return since is not None and isinstance(created, datetime) and utc(created) < since


def is_post_of(status: Any, post: RenderedPost) -> bool:
    """Is this (own, recent) status the rendered post? By link (card or content), else by text."""
    content = str(status.get("content") or "")
    if post.link:
        card = status.get("card") or {}
        return card.get("url") == post.link or post.link in (html.unescape(h) for h in HREF.findall(content))
    return plain(content) == " ".join(post.text.split())


def plain(content: str) -> str:
    """Mastodon's HTML content as whitespace-normalised text (links keep their full text in spans)."""
    text = re.sub(r"<br\s*/?>|</p>", " ", content)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", text)).split())


def map_error(exc: BaseException, last: Any, *, now: datetime | None, write: bool,
              secrets: Iterable[str]) -> PublishError:
    """The one place Mastodon.py's failures become sharebot errors.

    `last` is the last HTTP response seen (None when the request got none); `write`: the request could
    have changed something (a GET that fails has posted nothing).
    """
    from mastodon import MastodonAPIError, MastodonNetworkError, MastodonRatelimitError

    net = str(Network.MASTODON)
    if isinstance(exc, MastodonRatelimitError):
        if last is not None and last.status_code == 429:
            wait = retry_after(last.headers, now, reset="X-RateLimit-Reset")
            return RateLimited(net, "rate limit reached", 429, retry_after=wait)
        # Mastodon.py also raises this when it cannot read the headers of an answer it got.
        return (Unconfirmed if write else NotSent)(net, one_line(f"unreadable rate-limit headers: {exc}", secrets))
    if isinstance(exc, MastodonNetworkError):
        cause = exc.__cause__ or exc.__context__  # Mastodon.py raises it without `from`
        why = type(cause).__name__ if cause else type(exc).__name__
        if not write:
            return NotSent(net, f"request failed: {why}")
        if cause is not None and requests_never_sent(cause):
            return NotSent(net, f"not sent: {why}")
        return Unconfirmed(net, f"no answer after sending ({why}); the status may exist")
    if isinstance(exc, MastodonAPIError) and len(exc.args) >= 4 and isinstance(exc.args[1], int):
        status = exc.args[1]
        said = one_line(exc.args[3] or exc.args[2] or "error", secrets)
        if status == 401:
            return AuthError(net, f"access token refused: {said}", status)
        if status >= 500:
            return (Unconfirmed if write else NotSent)(net, f"server error: {said}", status)
        return Rejected(net, said, status)
    if isinstance(exc, MastodonAPIError):  # an answer that was not JSON: the request did arrive
        return (Unconfirmed if write else NotSent)(net, one_line(f"unreadable answer: {exc}", secrets))
    return Rejected(net, one_line(f"{type(exc).__name__}: {exc}", secrets))


def _fetch_media(api: Any, *, media_id: str) -> Any:
    return api.media(media_id)
