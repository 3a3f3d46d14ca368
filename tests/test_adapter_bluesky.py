"""The Bluesky adapter against a real local PDS (see tests/pds.py), with a forwarding proxy for faults."""

from __future__ import annotations

import base64
import io
import json
import logging
import stat
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fakes.base import FakeAPI
from fakes.pictures import picture
from pds import PDS, PDSAccount, PDSProxy, create_account, get_blob, get_record, list_rkeys
from PIL import Image

from sharebot.adapters import make_adapter
from sharebot.adapters.base import AdapterContext, Delivery, RemotePost, Secret
from sharebot.adapters.bluesky import TID_ALPHABET, BlueskyAdapter, load_sdk, make_tid
from sharebot.errors import AuthError, NotSent, RateLimited, Rejected, Unconfirmed, Unsupported
from sharebot.fetch import FetchPolicy
from sharebot.models import Account, Card, Facet, Network, RenderedPost

LOOPBACK = FetchPolicy(allow_private=("127.0.0.1",))  # the image hosts in these tests listen on loopback
NOW = datetime(2026, 11, 25, 9, 30, 15, 123456, tzinfo=UTC)
LINK = "https://www.example.de/politik/gruene-aepfel?utm_source=bluesky&utm_medium=social"
WRONG_PASSWORD = "wrong-SECRET-7f3a-9c2e-b1d4"
# atproto's upload_blob passes raw bytes as `data=`, which httpx 0.28 deprecates; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


# --- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def user(pds: PDS) -> PDSAccount:
    return create_account(pds, "sharebot")


@pytest.fixture(scope="module")
def friend(pds: PDS) -> PDSAccount:
    return create_account(pds, "friend")


@pytest.fixture()
def proxy(pds: PDS) -> Iterator[PDSProxy]:
    with PDSProxy(pds) as server:
        yield server


def adapter_for(user: PDSAccount, base: str, state_dir: Path, *, password: str | None = None,
                timeout: float = 10.0) -> BlueskyAdapter:
    account = Account("bsky-main", Network.BLUESKY, options={"handle": user.handle, "pds": base},
                      secrets={"app_password": "BSKY_APP_PASSWORD"})
    credentials = {"app_password": Secret(password or user.app_password)}
    context = AdapterContext(state_dir=state_dir, timeout=timeout, fetch_policy=LOOPBACK)
    adapter = make_adapter(account, credentials, context)
    assert isinstance(adapter, BlueskyAdapter)
    return adapter


def post_with(text: str, facets: tuple[Facet, ...] = (), image: str | None = None) -> RenderedPost:
    card = Card(LINK, "Grüne Äpfel: was der Markt 2027 bringt 📰", "Ein Bericht über Ernte und Preise.", image)
    return RenderedPost(account="bsky-main", network=Network.BLUESKY, text=text, length=len(text), limit=300,
                        unit="graphemes", link=LINK, card=card, language="de", facets=facets, image=image)


def simple_post(image: str | None = None) -> RenderedPost:
    text = f"Grüße aus Köln 🎉 {LINK}"
    start = len("Grüße aus Köln 🎉 ".encode())
    return post_with(text, (Facet(start, start + len(LINK.encode()), "link", LINK),), image)


def delivery(adapter: BlueskyAdapter, post: RenderedPost, now: datetime = NOW) -> Delivery:
    """A delivery whose prepare() data is 'persisted' before the first attempt, as the queue does it."""
    key = f"test-{uuid.uuid4().hex}"
    return Delivery(key, now, dict(adapter.prepare(post, Delivery(key, now))))


def rkey_of(d: Delivery) -> str:
    return str(d.data["rkey"])


# --- prepare: the record key --------------------------------------------------------------------
def test_prepare_gives_a_deterministic_tid_and_created_at(tmp_path: Path) -> None:
    load_sdk()  # before any other import of the SDK, so this process's tests use it as sharebot does
    from atproto_client.models.string_formats import TID_RE

    account = Account("a", Network.BLUESKY, options={"handle": "x.test", "pds": "http://127.0.0.1:9"})
    adapter = BlueskyAdapter(account, {"app_password": Secret("p")}, AdapterContext(tmp_path))
    post = simple_post()
    data = adapter.prepare(post, Delivery("job-1", NOW))
    assert data == adapter.prepare(post, Delivery("job-1", NOW))  # pure: a retry re-derives the same key
    rkey = data["rkey"]
    assert len(rkey) == 13 and set(rkey) <= set(TID_ALPHABET) and TID_RE.match(rkey)
    value = 0
    for char in rkey:
        value = value * 32 + TID_ALPHABET.index(char)
    micros = int((NOW - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))
    assert micros <= value >> 10 < micros + 1_000_000  # spread by the key's hash, at most a second later
    assert data["created_at"] == "2026-11-25T09:30:15.123Z"
    other = adapter.prepare(post, Delivery("job-2", NOW))["rkey"]
    assert other != rkey  # the same `now` for two jobs (one worker batch) still gives two keys
    assert adapter.prepare(post, Delivery("job-1", NOW + timedelta(seconds=1)))["rkey"] > rkey  # sortable
    assert make_tid(0, 0) == "2" * 13


def test_importing_the_adapter_does_not_import_atproto() -> None:
    code = ("import sys, sharebot.adapters.bluesky\n"
            "sys.exit(any(name.split('.')[0] in ('atproto', 'atproto_client') for name in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_the_sdk_loads_only_the_models_a_post_uses() -> None:
    # Plainly imported, atproto_client's generated namespaces load ~390 model modules for their annotations.
    code = textwrap.dedent("""
        import sys
        from sharebot.adapters.bluesky import load_sdk
        sdk = load_sdk()
        assert "atproto" not in sys.modules  # the client package alone: no firehose, identity or server parts
        assert not any(type(finder).__module__ == "sharebot.lazy_import" for finder in sys.meta_path)
        client = sdk.Client(base_url="http://127.0.0.1:9")
        assert callable(client.app.bsky.feed.post.create) and callable(client.com.atproto.repo.get_record)
        models = sdk.models
        rich = models.AppBskyRichtextFacet
        record = models.AppBskyFeedPost.Record(
            text="a #b", created_at="2026-11-25T09:30:15.123Z", langs=["de"],
            facets=[rich.Main(features=[rich.Tag(tag="b")], index=rich.ByteSlice(byte_start=2, byte_end=4))],
            embed=models.AppBskyEmbedExternal.Main(external=models.AppBskyEmbedExternal.External(
                uri="https://example.org/", title="t", description="d")))
        assert record.facets[0].features[0].tag == "b"
        print(sum(name.startswith("atproto_client.models.") for name in sys.modules))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) < 60


# --- publish: the record as stored ---------------------------------------------------------------
def test_publish_stores_text_facets_language_and_card_with_jpeg_thumb(
        pds: PDS, user: PDSAccount, friend: PDSAccount, pictures: FakeAPI, tmp_path: Path) -> None:
    head = "Grüße aus Köln 🎉 — Bericht über Äpfel: "
    text = f"{head}{LINK} #Käsekuchen @{friend.handle} @nobody-here.test"
    raw = text.encode()

    def span(part: str) -> tuple[int, int]:
        start = raw.index(part.encode())
        return start, start + len(part.encode())

    facets = (Facet(*span(LINK), "link", LINK), Facet(*span("#Käsekuchen"), "tag", "Käsekuchen"),
              Facet(*span(f"@{friend.handle}"), "mention", friend.handle),
              Facet(*span("@nobody-here.test"), "mention", "nobody-here.test"))
    adapter = adapter_for(user, pds.url, tmp_path)
    post = post_with(text, facets, f"{pictures.url}/noise-1600x900.png")
    d = delivery(adapter, post)

    result = adapter.publish(post, d)

    assert result.remote_id == f"at://{user.did}/app.bsky.feed.post/{rkey_of(d)}"
    assert result.url == f"https://bsky.app/profile/{user.handle}/post/{rkey_of(d)}"
    value = get_record(pds, user.did, rkey_of(d))["value"]
    assert value["text"] == text
    assert value["langs"] == ["de"]
    assert value["createdAt"] == d.data["created_at"]
    assert [raw[f["index"]["byteStart"]:f["index"]["byteEnd"]].decode() for f in value["facets"]] == [
        LINK, "#Käsekuchen", f"@{friend.handle}"]  # the unresolvable mention is left as plain text
    assert [f["features"] for f in value["facets"]] == [
        [{"$type": "app.bsky.richtext.facet#link", "uri": LINK}],
        [{"$type": "app.bsky.richtext.facet#tag", "tag": "Käsekuchen"}],
        [{"$type": "app.bsky.richtext.facet#mention", "did": friend.did}]]
    index = value["facets"][0]["index"]
    assert (index["byteStart"], index["byteEnd"]) == (len(head.encode()), len(head.encode()) + len(LINK))
    external = value["embed"]["external"]
    assert value["embed"]["$type"] == "app.bsky.embed.external"
    assert (external["uri"], external["title"], external["description"]) == (
        LINK, post.card.title, post.card.description)
    thumb = external["thumb"]
    assert len(picture("noise-1600x900.png")) > 1_000_000
    assert thumb["mimeType"] == "image/jpeg" and 0 < thumb["size"] <= 1_000_000
    blob = get_blob(pds, user.did, thumb["ref"]["$link"])
    assert len(blob) == thumb["size"] and blob[:3] == b"\xff\xd8\xff"
    assert Image.open(io.BytesIO(blob)).format == "JPEG"
    assert adapter.find(post, d) == result


def test_webp_article_image_becomes_a_jpeg_thumb(pds: PDS, user: PDSAccount, pictures: FakeAPI,
                                                 tmp_path: Path) -> None:
    adapter = adapter_for(user, pds.url, tmp_path)
    post = simple_post(f"{pictures.url}/rgba-640x360.webp")
    d = delivery(adapter, post)
    adapter.publish(post, d)
    thumb = get_record(pds, user.did, rkey_of(d))["value"]["embed"]["external"]["thumb"]
    assert thumb["mimeType"] == "image/jpeg"
    assert Image.open(io.BytesIO(get_blob(pds, user.did, thumb["ref"]["$link"]))).size == (640, 360)


def test_an_image_that_404s_costs_the_thumbnail_not_the_post(pds: PDS, user: PDSAccount, pictures: FakeAPI,
                                                               proxy: PDSProxy, tmp_path: Path, caplog) -> None:
    adapter = adapter_for(user, proxy.url, tmp_path)
    post = simple_post(f"{pictures.url}/gone.jpg")
    d = delivery(adapter, post)
    adapter.publish(post, d)
    assert proxy.calls("com.atproto.repo.uploadBlob") == 0
    card = get_record(pds, user.did, rkey_of(d))["value"]["embed"]["external"]
    assert card["uri"] == post.card.uri and "thumb" not in card
    assert any("card without thumbnail" in r.getMessage() and "404" in r.getMessage() for r in caplog.records)


def test_over_long_text_is_rejected_by_the_pds(pds: PDS, user: PDSAccount, tmp_path: Path) -> None:
    adapter = adapter_for(user, pds.url, tmp_path)
    post = post_with("ä" * 301)
    d = delivery(adapter, post)
    with pytest.raises(Rejected, match="InvalidRequest") as caught:
        adapter.publish(post, d)
    assert caught.value.status == 400 and not isinstance(caught.value, AuthError)
    assert get_record(pds, user.did, rkey_of(d)) is None


# --- exactly once ---------------------------------------------------------------------------------
def test_retry_after_a_crash_finds_the_record_instead_of_posting_again(
        pds: PDS, user: PDSAccount, proxy: PDSProxy, tmp_path: Path) -> None:
    first = adapter_for(user, proxy.url, tmp_path / "a")
    post = simple_post()
    d = delivery(first, post)
    result = first.publish(post, d)
    # the worker died before storing the result; a new process retries with the stored prepare() data
    second = adapter_for(user, proxy.url, tmp_path / "b")
    assert second.publish(post, d) == result
    assert proxy.calls("com.atproto.repo.createRecord") == 1
    assert list_rkeys(pds, user.did).count(rkey_of(d)) == 1


@pytest.mark.parametrize("fault, published", [
    ("drop-after", True),    # the PDS made the record, the answer was lost
    ("500-after", True),     # what a create at an existing rkey answers
    ("500-before", False),   # nothing made: stays unconfirmed, find() agrees
])
def test_failed_create_is_decided_by_the_rkey(pds: PDS, user: PDSAccount, proxy: PDSProxy, tmp_path: Path,
                                              fault: str, published: bool) -> None:
    adapter = adapter_for(user, proxy.url, tmp_path)
    post = simple_post()
    d = delivery(adapter, post)
    if fault == "drop-after":
        proxy.drop_next(path="createRecord", after=True)
    else:
        proxy.fail_next(500, {"error": "InternalServerError", "message": "Internal Server Error"},
                        path="createRecord", after=fault == "500-after")
    if published:
        assert adapter.publish(post, d).remote_id == f"at://{user.did}/app.bsky.feed.post/{rkey_of(d)}"
    else:
        with pytest.raises(Unconfirmed) as caught:
            adapter.publish(post, d)
        assert caught.value.status == 500 and adapter.find(post, d) is None
    assert proxy.calls("com.atproto.repo.getRecord") == 2 + (not published)  # before, after, find()
    assert list_rkeys(pds, user.did).count(rkey_of(d)) == int(published)


def test_slow_answer_beyond_the_timeout_is_unconfirmed_then_a_retry_posts_once(
        pds: PDS, user: PDSAccount, proxy: PDSProxy, tmp_path: Path) -> None:
    adapter = adapter_for(user, proxy.url, tmp_path)
    adapter.check()  # log in (stored in tmp_path) with a timeout a busy PDS meets
    hasty = adapter_for(user, proxy.url, tmp_path, timeout=0.5)  # the stored session: only createRecord is timed
    post = simple_post()
    d = delivery(adapter, post)
    proxy.stall_next(path="createRecord")  # nothing made, and no answer before the timeout
    with pytest.raises(Unconfirmed, match="ReadTimeout"):
        hasty.publish(post, d)
    assert adapter.find(post, d) is None
    assert adapter.publish(post, d).remote_id.endswith(rkey_of(d))
    assert list_rkeys(pds, user.did).count(rkey_of(d)) == 1


# --- error mapping --------------------------------------------------------------------------------
@pytest.mark.parametrize("nsid, status, kind", [
    ("getRecord", 502, NotSent),       # SDK NetworkError with a response; a read posts nothing
    ("getRecord", 503, NotSent),
    ("uploadBlob", 413, Rejected),     # blob over the PDS cap: retrying will not help
    ("uploadBlob", 400, Rejected),
    ("createRecord", 404, Rejected),
    ("createRecord", 502, Unconfirmed),
])
def test_status_codes_map_to_error_kinds(pds: PDS, user: PDSAccount, proxy: PDSProxy, pictures: FakeAPI,
                                         tmp_path: Path, nsid: str, status: int, kind: type) -> None:
    adapter = adapter_for(user, proxy.url, tmp_path)
    post = simple_post(f"{pictures.url}/rgba-640x360.webp")
    d = delivery(adapter, post)
    proxy.fail_next(status, {"error": "SomeError", "message": "injected"}, path=nsid)
    with pytest.raises(kind) as caught:
        adapter.publish(post, d)
    assert type(caught.value) is kind and caught.value.status == status
    assert "SomeError: injected" in str(caught.value)
    assert get_record(pds, user.did, rkey_of(d)) is None


def test_rate_limit_uses_retry_after_or_the_reset_time(pds: PDS, user: PDSAccount, proxy: PDSProxy,
                                                        tmp_path: Path) -> None:
    adapter = adapter_for(user, proxy.url, tmp_path)
    post = simple_post()
    body = {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
    proxy.fail_next(429, body, {"Retry-After": "42", "RateLimit-Limit": "5000", "RateLimit-Remaining": "0",
                                "RateLimit-Policy": "5000;w=3600"}, path="createRecord")
    with pytest.raises(RateLimited) as caught:
        adapter.publish(post, delivery(adapter, post))
    assert caught.value.retry_after == 42
    reset = int((NOW + timedelta(seconds=90)).timestamp())
    proxy.fail_next(429, body, {"RateLimit-Reset": str(reset)}, path="createRecord")
    with pytest.raises(RateLimited) as caught:
        adapter.publish(post, delivery(adapter, post))
    assert caught.value.retry_after == pytest.approx(90, abs=1)


# --- auth and the session file --------------------------------------------------------------------
def test_wrong_app_password_is_an_auth_error(pds: PDS, user: PDSAccount, tmp_path: Path) -> None:
    adapter = adapter_for(user, pds.url, tmp_path, password=WRONG_PASSWORD)
    post = simple_post()
    with pytest.raises(AuthError, match="AuthenticationRequired") as caught:
        adapter.publish(post, delivery(adapter, post))
    assert caught.value.status == 401
    assert adapter.check().state == "rejected"
    assert not (tmp_path / "bluesky-bsky-main.session").exists()


def test_session_file_is_private_and_reused_by_the_next_instance(
        pds: PDS, user: PDSAccount, proxy: PDSProxy, tmp_path: Path) -> None:
    first = adapter_for(user, proxy.url, tmp_path)
    status = first.check()
    assert status.state == "ok" and user.handle in status.detail
    path = tmp_path / "bluesky-bsky-main.session"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = path.read_text()
    assert user.did in saved and user.app_password not in saved
    second = adapter_for(user, proxy.url, tmp_path)
    post = simple_post()
    second.publish(post, delivery(second, post))
    assert second.check().state == "ok"
    assert proxy.calls("com.atproto.server.createSession") == 1
    assert path.read_text() == saved


def test_a_saved_session_does_not_vouch_for_another_app_password(
        pds: PDS, user: PDSAccount, proxy: PDSProxy, tmp_path: Path) -> None:
    assert adapter_for(user, proxy.url, tmp_path).check().state == "ok"
    saved = tmp_path / "bluesky-bsky-main.session"  # a salted fingerprint of the password first, never the password
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600 and user.app_password not in saved.read_text()
    # The saved tokens still work, but the password configured now is wrong: check and publish must say so.
    wrong = adapter_for(user, proxy.url, tmp_path, password=WRONG_PASSWORD)
    assert wrong.check().state == "rejected"
    post = simple_post()
    with pytest.raises(AuthError):
        wrong.publish(post, (d := delivery(wrong, post)))
    assert get_record(pds, user.did, rkey_of(d)) is None
    logins = proxy.calls("com.atproto.server.createSession")
    assert adapter_for(user, proxy.url, tmp_path).check().state == "ok"  # the right one reuses the session
    assert proxy.calls("com.atproto.server.createSession") == logins


def _jwt(payload: dict) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{part({'typ': 'at+jwt', 'alg': 'HS256'})}.{part(payload)}.c2lnbmF0dXJl"


def test_invalid_stored_session_falls_back_to_one_password_login(
        pds: PDS, user: PDSAccount, proxy: PDSProxy, tmp_path: Path) -> None:
    exp = int((NOW + timedelta(days=3650)).timestamp())
    claims = {"scope": "com.atproto.appPass", "sub": user.did, "aud": "did:web:localhost", "iat": 1, "exp": exp}
    forged = ":::".join([user.handle, user.did, _jwt(claims), _jwt({**claims, "scope": "com.atproto.refresh"}),
                         proxy.url])
    path = tmp_path / "bluesky-bsky-main.session"
    path.write_text(forged)
    adapter = adapter_for(user, proxy.url, tmp_path)
    assert adapter.check().state == "ok"
    assert proxy.calls("com.atproto.server.getSession") == 2  # rejected token, then the fresh session
    assert proxy.calls("com.atproto.server.createSession") == 1
    assert path.read_text() != forged and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_expired_token_on_create_logs_in_again_once(pds: PDS, user: PDSAccount, proxy: PDSProxy,
                                                     tmp_path: Path) -> None:
    adapter = adapter_for(user, proxy.url, tmp_path)
    post = simple_post()
    expired = {"error": "ExpiredToken", "message": "Token has expired"}
    proxy.fail_next(400, expired, path="createRecord")
    assert adapter.publish(post, (d := delivery(adapter, post))).remote_id.endswith(rkey_of(d))
    assert proxy.calls("com.atproto.server.createSession") == 2
    # refused again after the fresh login: the credentials themselves are bad
    proxy.fail_next(401, {"error": "AuthenticationRequired", "message": "Invalid"}, path="createRecord")
    proxy.fail_next(401, {"error": "AuthenticationRequired", "message": "Invalid"}, path="createRecord")
    with pytest.raises(AuthError):
        adapter.publish(post, (d := delivery(adapter, post)))
    assert proxy.calls("com.atproto.server.createSession") == 3
    assert get_record(pds, user.did, rkey_of(d)) is None
    # a session made for this very call is not made again (createSession allows 30 per 5 minutes)
    proxy.fail_next(401, {"error": "AuthenticationRequired", "message": "Invalid"}, path="getSession")
    assert adapter_for(user, proxy.url, tmp_path / "fresh").check().state == "rejected"
    assert proxy.calls("com.atproto.server.createSession") == 4


def test_secrets_never_appear_in_errors_or_logs(pds: PDS, user: PDSAccount, proxy: PDSProxy,
                                                tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    bad = adapter_for(user, proxy.url, tmp_path / "bad", password=WRONG_PASSWORD)
    post = simple_post()
    with pytest.raises(AuthError) as caught:
        bad.publish(post, delivery(bad, post))
    messages = [str(caught.value), str(caught.value.__cause__), bad.check().detail]
    good = adapter_for(user, proxy.url, tmp_path / "good")
    good.publish(post, delivery(good, post))
    sessions = [(tmp_path / "good" / "bluesky-bsky-main.session").read_text()]
    proxy.fail_next(400, {"error": "ExpiredToken", "message": "Token has expired"}, path="createRecord")
    good.publish(post, delivery(good, post))
    proxy.drop_next(path="createRecord")
    with pytest.raises(Unconfirmed) as dropped:
        good.publish(post, delivery(good, post))
    messages += [str(dropped.value), good.check().detail]
    sessions.append((tmp_path / "good" / "bluesky-bsky-main.session").read_text())
    assert sessions[0] != sessions[1]  # the forced re-login made new tokens
    tokens = [token for text in sessions for token in text.split(":::")[2:4]]
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert caplog.records  # the requests were logged, so the check below looked at something
    for secret in (WRONG_PASSWORD, user.app_password, *tokens):
        assert all(secret not in m for m in messages)
        assert secret not in logged


# --- delete and check -----------------------------------------------------------------------------
def test_delete_removes_the_record(pds: PDS, user: PDSAccount, tmp_path: Path) -> None:
    adapter = adapter_for(user, pds.url, tmp_path)
    post = simple_post()
    d = delivery(adapter, post)
    result = adapter.publish(post, d)
    adapter.delete(result.remote_id)
    assert get_record(pds, user.did, rkey_of(d)) is None
    assert adapter.find(post, d) is None
    with pytest.raises(Rejected):
        adapter.delete("https://bsky.app/profile/x/post/y")


def test_check_reports_the_account_and_find_needs_a_prepared_rkey(pds: PDS, user: PDSAccount,
                                                                  tmp_path: Path) -> None:
    adapter = adapter_for(user, pds.url, tmp_path)
    status = adapter.check()
    assert (status.account, status.state, status.detail) == ("bsky-main", "ok", f"{user.handle} ({user.did})")
    assert adapter.find(simple_post(), Delivery("k", NOW)) is None


# --- replies: a thread of strongRefs --------------------------------------------------------------
def strong_ref(pds: PDS, did: str, uri: str) -> dict[str, str]:
    """{uri, cid} of a record as the PDS serves it over plain XRPC."""
    stored = get_record(pds, did, uri.rsplit("/", 1)[-1])
    assert stored is not None
    return {"uri": stored["uri"], "cid": stored["cid"]}


def test_a_reply_names_the_post_as_root_and_parent_and_a_reply_to_it_keeps_the_root(
        pds: PDS, user: PDSAccount, tmp_path: Path) -> None:
    adapter = adapter_for(user, pds.url, tmp_path)
    original = simple_post()
    d = delivery(adapter, original)
    posted = adapter.publish(original, d)
    correction = post_with("Korrektur: Die Äpfel sind grün, nicht rot. 🍏")
    first = adapter.reply(RemotePost(posted.remote_id, posted.url, d.data, original), correction,
                          delivery(adapter, correction))
    follow_up = post_with("Nachtrag: Die Ernte beginnt im September.")
    second = adapter.reply(RemotePost(first.remote_id, first.url), follow_up, delivery(adapter, follow_up))

    root = strong_ref(pds, user.did, posted.remote_id)
    stored = get_record(pds, user.did, first.remote_id.rsplit("/", 1)[-1])
    assert stored is not None
    assert _ref(stored["value"]["reply"]["root"]) == root == _ref(stored["value"]["reply"]["parent"])
    assert stored["value"]["text"] == correction.text and stored["value"]["langs"] == ["de"]
    assert stored["value"]["embed"]["external"]["uri"] == LINK  # the reply carries the article card too

    deeper = get_record(pds, user.did, second.remote_id.rsplit("/", 1)[-1])
    assert deeper is not None
    assert _ref(deeper["value"]["reply"]["root"]) == root  # the thread's first post, not the reply answered
    assert _ref(deeper["value"]["reply"]["parent"]) == strong_ref(pds, user.did, first.remote_id)
    assert second.url == f"https://bsky.app/profile/{user.handle}/post/{second.remote_id.rsplit('/', 1)[-1]}"


def _ref(value: dict[str, str]) -> dict[str, str]:
    return {"uri": value["uri"], "cid": value["cid"]}


def test_a_reply_retried_after_a_crash_is_found_at_its_record_key(pds: PDS, user: PDSAccount, proxy: PDSProxy,
                                                                 tmp_path: Path) -> None:
    adapter = adapter_for(user, proxy.url, tmp_path)
    original = simple_post()
    posted = adapter.publish(original, delivery(adapter, original))
    parent = RemotePost(posted.remote_id, posted.url)
    answer = post_with("Nachtrag: Die Ernte beginnt im September.")
    d = delivery(adapter, answer)
    proxy.drop_next(path="createRecord", after=True)
    made = adapter.reply(parent, answer, d)  # the read-back at the record key settles the lost answer
    assert made.remote_id.endswith(rkey_of(d))
    assert adapter.find_reply(parent, answer, d) == made
    assert adapter.reply(parent, answer, d) == made  # a retry with the stored key posts nothing new
    assert proxy.calls("com.atproto.repo.createRecord") == 2  # the post and the one reply
    other = RemotePost(f"at://{user.did}/app.bsky.feed.post/{make_tid(1, 1)}")
    with pytest.raises(Rejected, match="not a reply to"):  # the record at that key answers another post
        adapter.find_reply(other, answer, d)


def test_no_edit_and_no_reply_under_a_deleted_post(pds: PDS, user: PDSAccount, proxy: PDSProxy,
                                                   tmp_path: Path) -> None:
    adapter = adapter_for(user, proxy.url, tmp_path)
    original = simple_post()
    d = delivery(adapter, original)
    posted = RemotePost(*adapter.publish(original, d), d.data, original)
    before = len(proxy.requests)
    with pytest.raises(Unsupported, match="cannot edit"):
        adapter.edit(posted, post_with("Korrigiert"), d)
    assert len(proxy.requests) == before  # refused without a request
    adapter.delete(posted.remote_id)
    answer = post_with("Nachtrag")
    with pytest.raises(Rejected, match="does not exist"):
        adapter.reply(posted, answer, delivery(adapter, answer))
    assert proxy.calls("com.atproto.repo.createRecord") == 1
