"""Bluesky: a post is an `app.bsky.feed.post` record in the account's repo on its PDS (AT Protocol).

Retries stay single because the record key is ours: `prepare` derives a TID from the delivery, the queue
stores it, and every attempt first looks for a record at that key before creating one there.
A reply is the same with a `reply` of two strongRefs (uri + cid): `parent`, the post answered, and `root`, the
first post of the thread, which a reply to a reply takes over from its parent. Both are read from the parent's
record, so they name the version that exists. Posts cannot be edited (the lexicon defines no edit).
Facts used here: https://atproto.com/specs/record-key, https://atproto.com/specs/tid and
https://docs.bsky.app/docs/advanced-guides/posts#replies.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sharebot.adapters.base import (
    AccountState,
    AccountStatus,
    Adapter,
    AdapterContext,
    Delivery,
    ImageUse,
    RemotePost,
    Secret,
)
from sharebot.credentials import fingerprint, same_credentials
from sharebot.errors import AuthError, ConfigError, NotSent, PublishError, RateLimited, Rejected, Unconfirmed
from sharebot.files import write_whole
from sharebot.images import BLUESKY_THUMB_MAX_BYTES, article_image
from sharebot.jobs import PublishResult
from sharebot.lazy_import import import_deferring_annotations
from sharebot.models import Account, Facet, Network, RenderedPost
from sharebot.scrub import one_line
from sharebot.times import utc

if TYPE_CHECKING:
    from atproto_client import Client, Session, SessionEvent

log = logging.getLogger(__name__)

T = TypeVar("T")
NETWORK = str(Network.BLUESKY)
DEFAULT_PDS = "https://bsky.social"
COLLECTION = "app.bsky.feed.post"
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable: string order == numeric order
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_AT_URI = re.compile(r"^at://([^/]+)/([^/]+)/([^/]+)$")
# XRPC error names that mean "this token is no good", whatever the status code (the PDS answers 400 for them).
_TOKEN_ERRORS = frozenset({"ExpiredToken", "InvalidToken", "AuthenticationRequired", "AuthMissing"})
# The SDK's generated API modules: imported with their annotations left unevaluated (sharebot.lazy_import).
_SDK_NAMESPACES = ("atproto_client.namespaces.sync_ns", "atproto_client.namespaces.async_ns")


def load_sdk() -> Any:
    """atproto's client package, `atproto_client`: the `atproto` package would also load its firehose, identity
    and server parts, and plain imports of either would build every generated model (see lazy_import)."""
    return import_deferring_annotations("atproto_client", _SDK_NAMESPACES)


def make_tid(micros: int, clock_id: int) -> str:
    """A record key: 13 base32-sortable chars of `(unix_micros << 10) | clock_id`, top bit zero."""
    value = ((micros & ((1 << 53) - 1)) << 10) | (clock_id & 0x3FF)
    chars = []
    for _ in range(13):
        chars.append(TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def _iso(now: datetime) -> str:
    # Millisecond precision with a Z suffix: the form Bluesky's own clients write (atproto `datetime` format).
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _map_error(exc: BaseException, what: str, *, sent: bool, now: datetime | None = None,
               secrets: Iterable[str] = ()) -> PublishError:
    """Every atproto/httpx failure becomes one sharebot error here.

    `sent` is True only for calls that change the repo (createRecord, deleteRecord): a transport failure or
    a 5xx on them may hide a success. A failing read or upload never posted anything, so it is NotSent.
    """
    import httpx
    ax = load_sdk().exceptions

    response = getattr(exc, "response", None)
    status = response.status_code if response is not None else None
    content = response.content if response is not None else None
    name = getattr(content, "error", None) or ""
    message = getattr(content, "message", None) or ""
    if response is None:
        cause = exc if isinstance(exc, httpx.HTTPError) else exc.__cause__
        detail = f"{what}: {type(cause or exc).__name__}" + (f" ({cause})" if cause and str(cause) else "")
    else:
        detail = f"{what}: {name or 'error'}" + (f": {message}" if message else "")
    detail = one_line(detail, secrets)

    if isinstance(exc, ax.RateLimitExceededError):
        retry_after = exc.retry_after
        if retry_after is None and exc.reset_at is not None and now is not None:
            retry_after = max(0.0, (exc.reset_at - utc(now)).total_seconds())
        return RateLimited(NETWORK, detail, status or 429, retry_after=retry_after)
    if isinstance(exc, (ax.UnauthorizedError, ax.LoginRequiredError)) or name in _TOKEN_ERRORS:
        return AuthError(NETWORK, detail, status)
    if isinstance(exc, ax.BadRequestError) or status == 413:  # 413: blob over the PDS upload cap
        return Rejected(NETWORK, detail, status)
    if isinstance(exc, (ax.RequestErrorBase, httpx.HTTPError)) and response is None:  # transport failure
        cause = exc if isinstance(exc, httpx.HTTPError) else exc.__cause__
        before_sending = isinstance(cause, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
        return Unconfirmed(NETWORK, detail) if sent and not before_sending else NotSent(NETWORK, detail)
    if status is not None and (status >= 500 or status == 409):
        return Unconfirmed(NETWORK, detail, status) if sent else NotSent(NETWORK, detail, status)
    if status is not None:
        return Rejected(NETWORK, detail, status)
    # model/parse errors: the server answered something we could not read
    return Unconfirmed(NETWORK, detail) if sent else Rejected(NETWORK, detail)


class BlueskyAdapter(Adapter):
    network = Network.BLUESKY
    dedupe = "rkey"

    def __init__(self, account: Account, credentials: Mapping[str, Secret], context: AdapterContext) -> None:
        super().__init__(account, credentials, context)
        self.handle = str(account.options.get("handle") or "")
        if not self.handle:
            raise ConfigError(f"account {account.name!r}: bluesky needs the option 'handle'")
        self.pds = str(account.options.get("api_base") or account.options.get("pds") or DEFAULT_PDS).rstrip("/")
        safe_name = re.sub(r"[^A-Za-z0-9._-]", "_", account.name)
        self.session_path: Path = context.state_dir / f"bluesky-{safe_name}.session"
        self._client: Client | None = None
        self._did = ""
        self._session_handle = ""
        self._tokens: tuple[str, ...] = ()
        self._logins = 0  # password logins made by this instance
        self._connecting = threading.Lock()  # the worker's threads share this adapter: one login, not one each

    # --- record key and time, chosen before the first attempt ------------------------------------
    def prepare(self, post: RenderedPost, delivery: Delivery) -> Mapping[str, Any]:
        now = utc(delivery.now)
        # A worker prepares a whole batch with one `now`: two posts to the same repo must still get distinct
        # keys, so the key's hash picks both the clock id and an offset of up to a second.
        spread = int.from_bytes(hashlib.sha256(delivery.key.encode()).digest()[:8], "big")
        micros = (now - _EPOCH) // _MICROSECOND + (spread >> 10) % 1_000_000
        return {"rkey": make_tid(micros, spread & 0x3FF), "created_at": _iso(now)}

    # --- the contract ---------------------------------------------------------------------------
    def publish(self, post: RenderedPost, delivery: Delivery) -> PublishResult:
        return self._create(post, delivery, None)

    def find(self, post: RenderedPost, delivery: Delivery) -> PublishResult | None:
        rkey = delivery.data.get("rkey")
        return self._lookup(str(rkey), delivery.now, post) if rkey else None

    def reply(self, parent: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult:
        return self._create(post, delivery, parent)

    def find_reply(self, parent: RemotePost, post: RenderedPost, delivery: Delivery) -> PublishResult | None:
        rkey = delivery.data.get("rkey")
        return self._lookup(str(rkey), delivery.now, post, parent.remote_id) if rkey else None

    def delete(self, remote_id: str) -> None:
        match = _AT_URI.match(remote_id)
        if not match:
            raise Rejected(NETWORK, f"not an at:// record URI: {remote_id!r}")
        repo, collection, rkey = match.groups()
        self._call("deleteRecord", lambda client: client.com.atproto.repo.delete_record(
            {"repo": repo, "collection": collection, "rkey": rkey}), sent=True)
        log.info("bluesky %s: deleted %s", self.account.name, remote_id)

    @classmethod
    def image_use(cls, post: RenderedPost) -> ImageUse | None:
        url = (post.card.image or post.image) if post.card else None
        return ImageUse(url, "card thumbnail", BLUESKY_THUMB_MAX_BYTES, required=False) if url else None

    def check(self) -> AccountStatus:
        try:
            session = self._call("getSession", lambda client: client.com.atproto.server.get_session())
        except AuthError as error:
            return AccountStatus(self.account.name, AccountState.REJECTED, str(error))
        except PublishError as error:
            return AccountStatus(self.account.name, AccountState.UNREACHABLE, str(error))
        if session.active is False:
            return AccountStatus(self.account.name, AccountState.REJECTED, f"account is {session.status or 'inactive'}")
        return AccountStatus(self.account.name, AccountState.OK, f"{session.handle} ({session.did})")

    def close(self) -> None:
        if self._client is not None:
            self._client.request.close()
            self._client = None

    # --- creating the record ----------------------------------------------------------------------
    def _create(self, post: RenderedPost, delivery: Delivery, parent: RemotePost | None) -> PublishResult:
        data = delivery.data if delivery.data.get("rkey") else self.prepare(post, delivery)
        rkey, created_at = str(data["rkey"]), str(data["created_at"])
        parent_uri = parent.remote_id if parent else None
        # On the queue's first attempt nothing can be at this key yet: no getRecord round trip. Should a record
        # be there after all, createRecord refuses the key and the lookup below finds it.
        found = self._lookup(rkey, delivery.now, post, parent_uri) if delivery.attempt != 1 else None
        if found:  # an earlier attempt made it; creating again at this rkey would answer HTTP 500
            log.info("bluesky %s: %s already exists", self.account.name, found.remote_id)
            return found
        reply = self._reply_ref(parent, delivery.now) if parent else None
        record = self._record(post, created_at, delivery.now, reply)

        def create(client: Client) -> Any:
            return client.app.bsky.feed.post.create(self._did, record, rkey=rkey)

        try:
            response = self._call("createRecord", create, sent=True, now=delivery.now)
        except PublishError:
            # Whatever went wrong, the record may exist now (dropped answer, 500 on a duplicate key).
            try:
                found = self._lookup(rkey, delivery.now, post, parent_uri)
            except PublishError:
                found = None
            if found:
                log.info("bluesky %s: %s was created despite the error", self.account.name, found.remote_id)
                return found
            raise
        log.info("bluesky %s: posted %s", self.account.name, response.uri)
        return PublishResult(response.uri, self._web_url(rkey))

    def _record(self, post: RenderedPost, created_at: str, now: datetime, reply: Any = None) -> Any:
        models = load_sdk().models

        facets = self._facets(post.facets, now)
        return models.AppBskyFeedPost.Record(
            text=post.text,
            created_at=created_at,
            facets=facets or None,
            embed=self._card(post, now),
            langs=[post.language] if post.language else None,  # the SDK's send_post would say ["en"]
            reply=reply,
        )

    def _reply_ref(self, parent: RemotePost, now: datetime) -> Any:
        """The record's `reply`: strongRefs to the parent as it is now, and to the root of its thread."""
        ax = load_sdk().exceptions
        models = load_sdk().models

        match = _AT_URI.match(parent.remote_id)
        if not match:
            raise Rejected(NETWORK, f"not an at:// record URI: {parent.remote_id!r}")
        repo, collection, rkey = match.groups()

        def get(client: Client) -> Any:
            try:
                return client.com.atproto.repo.get_record({"repo": repo, "collection": collection, "rkey": rkey})
            except ax.BadRequestError as exc:
                if getattr(exc.response.content, "error", "") == "RecordNotFound":
                    return None
                raise

        response = self._call("getRecord", get, now=now)
        if response is None or not response.cid:
            # A reply to a record that is gone would hang under nothing: refuse rather than post it.
            raise Rejected(NETWORK, f"{parent.remote_id} does not exist (deleted?); nothing to reply under")
        parent_ref = models.ComAtprotoRepoStrongRef.Main(uri=response.uri, cid=response.cid)
        thread = getattr(response.value, "reply", None)
        return models.AppBskyFeedPost.ReplyRef(root=thread.root if thread else parent_ref, parent=parent_ref)

    def _facets(self, facets: Iterable[Facet], now: datetime) -> list[Any]:
        models = load_sdk().models

        rich = models.AppBskyRichtextFacet
        out = []
        for facet in facets:
            feature: Any
            if facet.kind == "link":
                feature = rich.Link(uri=facet.value)
            elif facet.kind == "tag":
                feature = rich.Tag(tag=facet.value)
            elif facet.kind == "mention":
                did = self._resolve_handle(facet.value.lstrip("@"), now)
                if did is None:  # plain text is better than a mention pointing nowhere
                    log.warning("bluesky %s: @%s does not resolve; sent without a mention facet",
                                self.account.name, facet.value.lstrip("@"))
                    continue
                feature = rich.Mention(did=did)
            else:
                raise Rejected(NETWORK, f"unknown facet kind {facet.kind!r}")
            index = rich.ByteSlice(byte_start=facet.byte_start, byte_end=facet.byte_end)
            out.append(rich.Main(features=[feature], index=index))
        return out

    def _resolve_handle(self, handle: str, now: datetime) -> str | None:
        ax = load_sdk().exceptions

        def resolve(client: Client) -> str | None:
            try:
                did: str = client.com.atproto.identity.resolve_handle({"handle": handle}).did
                return did
            except ax.BadRequestError as exc:
                if getattr(exc.response.content, "error", "") in _TOKEN_ERRORS:
                    raise
                return None

        return self._call("resolveHandle", resolve, now=now)

    def _card(self, post: RenderedPost, now: datetime) -> Any:
        models = load_sdk().models

        card = post.card
        if card is None:
            return None
        thumb = None
        image_url = card.image or post.image
        if image_url:
            try:
                jpeg = article_image(image_url, BLUESKY_THUMB_MAX_BYTES, network=NETWORK, context=self.context)
            except Rejected as exc:
                # A broken picture (404, not an image, far too big) should not cost the post: the card goes
                # out without a thumbnail. A transient failure (NotSent) still retries the whole post.
                log.warning("bluesky %s: card without thumbnail: %s", self.account.name, exc.detail)
            else:
                thumb = self._call("uploadBlob", lambda client: client.upload_blob(jpeg.data), now=now).blob
        external = models.AppBskyEmbedExternal.External(
            uri=card.uri, title=card.title, description=card.description, thumb=thumb)
        return models.AppBskyEmbedExternal.Main(external=external)

    # --- reading back -----------------------------------------------------------------------------
    def _lookup(self, rkey: str, now: datetime | None, post: RenderedPost | None = None,
                parent_uri: str | None = None) -> PublishResult | None:
        ax = load_sdk().exceptions

        def get(client: Client) -> Any:
            try:
                return client.com.atproto.repo.get_record({"repo": self._did, "collection": COLLECTION, "rkey": rkey})
            except ax.BadRequestError as exc:
                if getattr(exc.response.content, "error", "") == "RecordNotFound":
                    return None
                raise

        response = self._call("getRecord", get, now=now)
        if response is None:
            return None
        if post is not None and getattr(response.value, "text", post.text) != post.text:
            raise Rejected(NETWORK, f"record key {rkey} already holds a different post; not posting over it")
        answered = getattr(getattr(getattr(response.value, "reply", None), "parent", None), "uri", None)
        if parent_uri is not None and answered != parent_uri:
            raise Rejected(NETWORK, f"record key {rkey} holds a post that is not a reply to {parent_uri}")
        return PublishResult(response.uri, self._web_url(rkey))

    def _web_url(self, rkey: str) -> str:
        return f"https://bsky.app/profile/{self._session_handle or self.handle}/post/{rkey}"

    # --- session ----------------------------------------------------------------------------------
    def _call(self, what: str, fn: Callable[[Client], T], *, sent: bool = False, now: datetime | None = None) -> T:
        """Run one SDK call; a rejected token gets one fresh password login and one more try."""
        import httpx
        ax = load_sdk().exceptions

        # The SDK wraps only httpx's NetworkError and TimeoutException; a connection dropped before the
        # answer (RemoteProtocolError) comes through as the raw httpx exception.
        failures = (ax.AtProtocolError, httpx.HTTPError)
        logins = self._logins
        client = self._connect(now)
        try:
            return fn(client)
        except failures as exc:
            error = _map_error(exc, what, sent=sent, now=now, secrets=self._secrets())
            # createSession is limited to 30 per 5 minutes: a session made for this very call is not redone
            if not isinstance(error, AuthError) or self._logins > logins:
                raise error from exc
            log.info("bluesky %s: session not accepted (%s); logging in again", self.account.name, error.detail)
        with self._connecting:  # threads whose token died together: the first logs in, the rest use its session
            if self._logins == logins:
                self._password_login(client, now)
        try:
            return fn(client)
        except failures as exc:
            raise _map_error(exc, what, sent=sent, now=now, secrets=self._secrets()) from exc

    def _connect(self, now: datetime | None) -> Client:
        if self._client is not None:
            return self._client
        with self._connecting:
            if self._client is None:
                self._client = self._new_client(now)
            return self._client

    def _new_client(self, now: datetime | None) -> Client:
        sdk = load_sdk()

        client = sdk.Client(base_url=self.pds, request=sdk.request.Request(timeout=self.context.timeout))
        client.request.add_additional_header("User-Agent", self.context.user_agent)
        client.on_session_change(self._session_changed)
        stored = self._stored_session()
        if stored:  # no request: the tokens are first tried by the next call
            client.login(session_string=stored, fetch_bsky_profile=False)
        else:
            self._password_login(client, now)
        return client

    def _password_login(self, client: Client, now: datetime | None) -> None:
        import httpx
        ax = load_sdk().exceptions

        try:  # no AppView profile lookup: a bare PDS does not serve app.bsky.*, and the DID is in the session
            client.login(self.handle, str(self.credentials["app_password"]), fetch_bsky_profile=False)
        except (ax.AtProtocolError, httpx.HTTPError) as exc:
            raise _map_error(exc, "createSession", sent=False, now=now, secrets=self._secrets()) from exc
        self._logins += 1
        if self._session_handle.lower() != self.handle.lower():
            log.warning("bluesky %s: logged in as %s, configured handle is %s",
                        self.account.name, self._session_handle, self.handle)

    def _stored_session(self) -> str | None:

        try:
            text = self.session_path.read_text().strip()
            made_for, _, rest = text.rpartition("\n")
            # A session vouches only for the app password it was made with: after a change, log in with the new one
            # (else `accounts check` says ok, and posts go out, with a password the PDS would refuse).
            if made_for and not same_credentials(made_for, self._login_credentials()):
                log.info("bluesky %s: the app password changed since the stored session was made", self.account.name)
                return None
            text = rest
            session = load_sdk().Session.decode(text)
            session.access_jwt_payload  # noqa: B018 - the SDK decodes it before every call; fail here instead
        except FileNotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001 - a damaged file only costs one password login
            log.warning("bluesky %s: ignoring unreadable session file %s (%s)",
                        self.account.name, self.session_path, type(exc).__name__)
            return None
        if session.handle.lower() != self.handle.lower():
            return None
        return text

    def _session_changed(self, event: SessionEvent, session: Session) -> None:

        self._did, self._session_handle = session.did, session.handle
        self._tokens = (session.access_jwt, session.refresh_jwt)
        # Refresh tokens rotate (the old one dies after a 2 h grace), so every new pair is saved at once.
        if event in (load_sdk().SessionEvent.CREATE, load_sdk().SessionEvent.REFRESH):
            self._save_session(session.export())

    def _save_session(self, text: str) -> None:
        try:
            self.session_path.parent.mkdir(parents=True, exist_ok=True)
            # salted: never the password
            write_whole(self.session_path, f"{fingerprint(self._login_credentials())}\n{text}", mode=0o600)
        except OSError as exc:
            log.warning("bluesky %s: cannot save the session to %s (%s)",
                        self.account.name, self.session_path, type(exc).__name__)

    def _login_credentials(self) -> dict[str, str]:
        return {"handle": self.handle.lower(), "app_password": str(self.credentials.get("app_password") or "")}

    def _secrets(self) -> tuple[str, ...]:
        return (str(self.credentials.get("app_password") or ""), *self._tokens)

