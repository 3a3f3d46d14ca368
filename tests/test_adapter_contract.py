"""What every adapter promises the worker, run against each network: its local stand-in (tests/fakes/), and
for Bluesky the real PDS behind a fault-injecting proxy (tests/pds.py).

Each network's own file tests what is particular to it; this one tests the promises the queue relies on:
a refused connection posted nothing, a lost answer is unknown and `find` settles it (Telegram cannot, and
says so), secrets stay out of messages and logs, `delete` removes, `check` tells good credentials from bad.
After a post is out (corrections and follow-ups, docs/lifecycle.md): where the registry says a network can edit,
an edit lands, is read back, and is safe to send again; where it says it cannot, `edit` raises Unsupported and
sends nothing; a reply hangs under its parent, a follow-up under the reply before it, and a lost reply is found
exactly once.
"""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fakes.base import Clock
from fakes.facebook import FakeFacebook
from fakes.linkedin import FakeLinkedIn
from fakes.mastodon import FakeMastodon
from fakes.telegram import Chat, FakeTelegram
from fakes.threads import FakeThreads
from fakes.x import FakeX
from pds import PDSProxy, create_account, get_record, list_rkeys

from sharebot.adapters import adapter_class, make_adapter
from sharebot.adapters.base import Adapter, AdapterContext, Delivery, RemotePost, Secret
from sharebot.errors import AuthError, NotSent, PublishError, Rejected, Unconfirmed, Unsupported
from sharebot.jobs import PublishResult
from sharebot.models import Account, Card, Network, RenderedPost
from sharebot.networks import LINK_ONLY, NETWORKS, Capability

LINK = "https://news.example/politik/wahl-2026?utm_source=sharebot"
TITLE = "Wahl 2026: das Ergebnis im Überblick"
# Secrets are recognisable, so a leak is easy to spot; the wrong ones are what a typo'd .env would hold.
WRONG = "FAKE-SECRET-wrong-5d0c1e"


@dataclass
class Subject:
    """One network as the contract sees it."""

    network: Network
    url: str  # where its adapter is pointed
    options: dict[str, Any]  # account options, less the base URL
    url_option: str  # the account option that names the base URL
    credentials: dict[str, str]
    wrong: dict[str, str]  # the credentials with the secret that signs replaced by WRONG
    secrets: tuple[str, ...]  # values that must never be shown (WRONG too)
    posted: Callable[[], list[str]]  # the remote ids the network holds now
    lose_next_answer: Callable[[], None]  # the next post is made, and its answer never arrives
    lost: str  # what the Unconfirmed message says when that happened
    finds: bool = True  # False: `find` cannot tell, and raises Unconfirmed for a person to settle
    # After a post is out: what the network now holds for a remote id (its text, its earlier texts, the post it
    # answers), how to lose the answer to the next edit and to the next reply, and an id that names nothing.
    text_of: Callable[[str], str] = lambda remote_id: ""
    history_of: Callable[[str], list[str]] = lambda remote_id: []
    parent_of: Callable[[str], str | None] = lambda remote_id: None
    lose_next_edit: Callable[[], None] = lambda: None
    lose_next_reply: Callable[[], None] = lambda: None
    missing: str = ""
    edits_read_back: bool = True  # False: `find_edit` cannot read (Telegram); sending the edit again settles it
    closing: ExitStack = field(default_factory=ExitStack)
    adapters_made: int = 0

    def can(self, capability: Capability) -> bool:
        return capability in NETWORKS[self.network].capabilities

    def connect(self, state_dir: Path, url: str | None = None, *, wrong: bool = False) -> Adapter:
        self.adapters_made += 1
        options = {**self.options, self.url_option: url or self.url}
        account = Account(f"contract-{self.network}", self.network, options=options)
        secrets = {name: Secret(value) for name, value in (self.wrong if wrong else self.credentials).items()}
        # Each adapter its own state folder: a wrong password must not borrow a good session file.
        context = AdapterContext(state_dir / f"adapter-{self.adapters_made}", timeout=2.0)
        adapter = make_adapter(account, secrets, context)
        self.closing.callback(adapter.close)
        return adapter

    def post(self) -> RenderedPost:
        text = f"{TITLE} {LINK}"
        return RenderedPost(f"contract-{self.network}", self.network, text, len(text), 280, "characters", LINK,
                            Card(LINK, TITLE, "Was die Zahlen sagen."), "de")

    def corrected(self) -> RenderedPost:
        """The post as a correction would have it: the same article, the text changed."""
        text = f"{TITLE} (korrigiert: vorläufiges Ergebnis) {LINK}"
        return self.post()._replace(text=text, length=len(text))

    def answer(self, words: str) -> RenderedPost:
        """A reply: a correction line or a follow-up, with the article's link."""
        text = f"{words} {LINK}"
        return self.post()._replace(text=text, length=len(text))

    def delivery(self, adapter: Adapter, post: RenderedPost, clock: Clock, key: str = "contract-job-1") -> Delivery:
        """A delivery whose prepare() data is persisted before the first attempt, as the queue does it."""
        return Delivery(key, clock(), dict(adapter.prepare(post, Delivery(key, clock()))))

    def published(self, adapter: Adapter, clock: Clock) -> RemotePost:
        """A post made through `adapter`, referred to as the queue would after it went out."""
        post = self.post()
        delivery = self.delivery(adapter, post, clock, "contract-original")
        made = adapter.publish(post, delivery)
        return RemotePost(made.remote_id, made.url, delivery.data, post)

    def replied(self, adapter: Adapter, parent: RemotePost, words: str, clock: Clock,
                key: str) -> tuple[RemotePost, Delivery]:
        post = self.answer(words)
        delivery = self.delivery(adapter, post, clock, key)
        made = adapter.reply(parent, post, delivery)
        return RemotePost(made.remote_id, made.url, delivery.data, post), delivery


def _x(stack: ExitStack, clock: Clock, request: pytest.FixtureRequest) -> Subject:
    api = stack.enter_context(FakeX(clock=clock, consumer_key="FAKE-x-consumer-key",
                                    consumer_secret="FAKE-SECRET-x-consumer-9d1f7a",
                                    access_token="1500-FAKE-x-access-token",
                                    access_token_secret="FAKE-SECRET-x-token-4b7a22"))
    names = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
    credentials = {name: getattr(api, name) for name in names}
    # oauthlib logs the consumer key and access token (the public halves of OAuth 1.0a) at DEBUG.
    return Subject(Network.X, api.url, {}, "api_base", credentials, {**credentials, "consumer_secret": WRONG},
                   (api.consumer_secret, api.access_token_secret, WRONG),
                   lambda: [t.id for t in api.tweets.values() if not t.in_reply_to],
                   lambda: api.drop_next(method="POST", path="/2/tweets", after=True), "connection lost",
                   text_of=lambda i: api.tweets[i].sent, parent_of=lambda i: api.tweets[i].in_reply_to,
                   lose_next_reply=lambda: api.drop_next(method="POST", path="/2/tweets", after=True),
                   missing="1860000000000999999")


def _mastodon(stack: ExitStack, clock: Clock, request: pytest.FixtureRequest) -> Subject:
    api = stack.enter_context(FakeMastodon(clock=clock, token="FAKE-SECRET-mastodon-5e2a90"))
    return Subject(Network.MASTODON, api.url, {}, "instance", {"access_token": api.token},
                   {"access_token": WRONG}, (api.token, WRONG),
                   lambda: [i for i, s in api.statuses.items() if not s["in_reply_to_id"]],
                   lambda: api.drop_next(method="POST", path="/api/v1/statuses", after=True),
                   "the status may exist",
                   text_of=lambda i: api.statuses[i]["text"],
                   history_of=lambda i: [v["text"] for v in api.history.get(i, [])][:-1],
                   parent_of=lambda i: api.statuses[i]["in_reply_to_id"],
                   lose_next_edit=lambda: api.drop_next(method="PUT", path=r"/api/v1/statuses/\d+$", after=True),
                   lose_next_reply=lambda: api.drop_next(method="POST", path="/api/v1/statuses", after=True),
                   missing="113000000000999999")


def _linkedin(stack: ExitStack, clock: Clock, request: pytest.FixtureRequest) -> Subject:
    api = stack.enter_context(FakeLinkedIn("FAKE-SECRET-linkedin-83c1d4", clock=clock))
    def node(urn: str) -> Any:
        return next(n for n in [*api.live, *api.comments] if n.urn == urn)

    return Subject(Network.LINKEDIN, api.url, {"author": f"urn:li:organization:{api.organization}"}, "api_base",
                   {"access_token": api.token}, {"access_token": WRONG}, (api.token, WRONG),
                   lambda: [p.urn for p in api.live],
                   lambda: api.drop_next(method="POST", path="/rest/posts", after=True), "connection lost",
                   text_of=lambda urn: node(urn).text if urn.startswith("urn:li:comment") else node(urn).body["commentary"],
                   history_of=lambda urn: node(urn).history, parent_of=lambda urn: node(urn).parent,
                   lose_next_edit=lambda: api.drop_next(method="POST", path="^/rest/posts/.", after=True),
                   lose_next_reply=lambda: api.drop_next(method="POST", path="/comments$", after=True),
                   missing="urn:li:share:7100000000000999999")


def _facebook(stack: ExitStack, clock: Clock, request: pytest.FixtureRequest) -> Subject:
    api = stack.enter_context(FakeFacebook(token="FAKE-SECRET-facebook-61f0b3", clock=clock))
    def node(node_id: str) -> Any:
        return next(n for n in [*api.live, *api.comments] if n.id == node_id)

    return Subject(Network.FACEBOOK, api.url, {"page_id": api.page_id}, "api_base",
                   {"page_access_token": api.token}, {"page_access_token": WRONG}, (api.token, WRONG),
                   lambda: [p.id for p in api.live],
                   lambda: api.drop_next(method="POST", path="/feed$", after=True), "connection lost",
                   text_of=lambda i: node(i).message, history_of=lambda i: node(i).history,
                   parent_of=lambda i: getattr(node(i), "parent", None),
                   lose_next_edit=lambda: api.drop_next(method="POST", path=r"/\d+_\d+$", after=True),
                   lose_next_reply=lambda: api.drop_next(method="POST", path="/comments$", after=True),
                   missing=f"{api.page_id}_999999")


def _threads(stack: ExitStack, clock: Clock, request: pytest.FixtureRequest) -> Subject:
    api = stack.enter_context(FakeThreads(token="FAKE-SECRET-threads-2a97e5", clock=clock))
    return Subject(Network.THREADS, api.url, {"user_id": api.user_id, "poll_interval": 0.01}, "api_base",
                   {"access_token": api.token}, {"access_token": WRONG}, (api.token, WRONG),
                   lambda: [m.id for m in api.live if not m.reply_to],
                   lambda: api.drop_next(method="POST", path="threads_publish$", after=True), "connection lost",
                   text_of=lambda i: api.media[i].text, parent_of=lambda i: api.media[i].reply_to,
                   lose_next_reply=lambda: api.drop_next(method="POST", path="threads_publish$", after=True),
                   missing="18000000000999999")


def _telegram(stack: ExitStack, clock: Clock, request: pytest.FixtureRequest) -> Subject:
    api = stack.enter_context(FakeTelegram("123456:FAKE-SECRET-telegram-7c4e1b", clock=clock))
    # The bot's id before the colon is public; the part after it is the secret.
    channel: Chat = api.chats["@sharebot_news"]

    def message(message_id: str) -> Any:
        return next(m for m in channel.messages if str(m.message_id) == message_id)

    return Subject(Network.TELEGRAM, api.url, {"chat_id": "@sharebot_news"}, "api_base",
                   {"bot_token": api.token}, {"bot_token": f"123456:{WRONG}"},
                   (api.token.split(":")[1], WRONG),
                   lambda: [str(m.message_id) for m in api.messages if m.reply_to is None],
                   lambda: api.drop_next(method="POST", path="sendMessage", after=True), "connection lost",
                   finds=False, text_of=lambda i: message(i).text, history_of=lambda i: message(i).history,
                   parent_of=lambda i: None if message(i).reply_to is None else str(message(i).reply_to),
                   lose_next_edit=lambda: api.drop_next(method="POST", path="editMessage", after=True),
                   lose_next_reply=lambda: api.drop_next(method="POST", path="sendMessage", after=True),
                   missing="999999", edits_read_back=False)


def _bluesky(stack: ExitStack, clock: Clock, request: pytest.FixtureRequest) -> Subject:
    pds = request.getfixturevalue("pds")
    user = create_account(pds, "contract")
    proxy = stack.enter_context(PDSProxy(pds))

    def lose_next_answer() -> None:
        # The adapter reads the record back when a create fails, which would settle it: lose that too.
        proxy.drop_next(path="createRecord", after=True)
        proxy.after("com.atproto.repo.createRecord", lambda: proxy.drop_next(path="getRecord"))

    def record(uri: str) -> dict[str, Any]:
        found = get_record(pds, user.did, uri.rsplit("/", 1)[-1])
        assert found is not None, uri
        return found["value"]

    def posts() -> list[str]:
        uris = [f"at://{user.did}/app.bsky.feed.post/{rkey}" for rkey in list_rkeys(pds, user.did)]
        return [uri for uri in uris if "reply" not in record(uri)]

    return Subject(Network.BLUESKY, proxy.url, {"handle": user.handle}, "pds",
                   {"app_password": user.app_password}, {"app_password": WRONG}, (user.app_password, WRONG),
                   posts, lose_next_answer, "createRecord: RemoteProtocolError",
                   text_of=lambda uri: record(uri)["text"],
                   parent_of=lambda uri: (record(uri).get("reply") or {}).get("parent", {}).get("uri"),
                   lose_next_reply=lose_next_answer, missing=f"at://{user.did}/app.bsky.feed.post/3aaaaaaaaaaa2")


SUBJECTS: dict[str, Callable[[ExitStack, Clock, pytest.FixtureRequest], Subject]] = {
    "x": _x, "mastodon": _mastodon, "linkedin": _linkedin, "facebook": _facebook, "threads": _threads,
    "telegram": _telegram, "bluesky": _bluesky,
}


@pytest.fixture(params=[pytest.param(name, marks=[pytest.mark.pds] if name == "bluesky" else [])
                        for name in SUBJECTS])
def subject(request: pytest.FixtureRequest, clock: Clock) -> Iterator[Subject]:
    with ExitStack() as stack:
        made = SUBJECTS[request.param](stack, clock, request)
        with made.closing:
            yield made


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A local port that refuses connections: bound, so nobody else takes it, but not listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_a_refused_connection_is_not_sent_and_check_says_unreachable(subject: Subject, refused_url: str,
                                                                       clock: Clock, tmp_path: Path) -> None:
    adapter = subject.connect(tmp_path, refused_url)
    post = subject.post()
    with pytest.raises(NotSent) as caught:
        adapter.publish(post, subject.delivery(adapter, post, clock))
    assert type(caught.value) is NotSent  # certainly not posted: the worker may simply try again
    assert re.search(r"Connect(ion)?Error", str(caught.value))  # and says why
    assert adapter.check().state == "unreachable"


def test_an_answer_lost_after_the_post_is_unconfirmed_and_find_settles_it(subject: Subject, clock: Clock,
                                                                          tmp_path: Path) -> None:
    adapter = subject.connect(tmp_path)
    post = subject.post()
    delivery = subject.delivery(adapter, post, clock)
    subject.lose_next_answer()
    with pytest.raises(Unconfirmed, match=subject.lost):
        adapter.publish(post, delivery)
    [made] = subject.posted()
    if subject.finds:
        found = adapter.find(post, delivery)
        assert found is not None and found.remote_id == made
        assert adapter.find(post, delivery) == found
    else:  # "not found" would let the worker post again: a person settles it with `sharebot queue resolve`
        with pytest.raises(Unconfirmed, match="queue resolve"):
            adapter.find(post, delivery)


def test_delete_removes_the_post(subject: Subject, clock: Clock, tmp_path: Path) -> None:
    adapter = subject.connect(tmp_path)
    post = subject.post()
    made = adapter.publish(post, subject.delivery(adapter, post, clock))
    assert subject.posted() == [made.remote_id]
    adapter.delete(made.remote_id)
    assert subject.posted() == []


def test_check_accepts_good_credentials_and_rejects_bad_ones(subject: Subject, tmp_path: Path) -> None:
    assert subject.connect(tmp_path).check().state == "ok"
    assert subject.connect(tmp_path, wrong=True).check().state == "rejected"


def test_secrets_never_reach_error_messages_or_logs(subject: Subject, refused_url: str, clock: Clock,
                                                   tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    post = subject.post()
    good, wrong = subject.connect(tmp_path), subject.connect(tmp_path, wrong=True)
    away = subject.connect(tmp_path, refused_url)
    shown: list[str] = []

    def publish(adapter: Adapter, key: str, kind: type[PublishError] | None = None) -> None:
        delivery = subject.delivery(adapter, post, clock, key)
        if kind is None:
            adapter.publish(post, delivery)
            return
        with pytest.raises(kind) as caught:
            adapter.publish(post, delivery)
        shown.extend(str(error) for error in (caught.value, caught.value.__cause__, caught.value.__context__)
                     if error is not None)

    publish(good, "job-ok")
    subject.lose_next_answer()
    publish(good, "job-lost", Unconfirmed)
    publish(wrong, "job-wrong", AuthError)
    publish(away, "job-away", NotSent)
    shown += [a.check().detail for a in (good, wrong, away)]
    shown += [repr(a.credentials) for a in (good, wrong)]
    logged = [caplog.text, *(f"{r.getMessage()} {r.args}" for r in caplog.records)]
    assert caplog.records  # the calls were logged, so the check below looked at something
    for secret in subject.secrets:
        assert not [text for text in shown if secret in text], f"{secret} in an error message"
        assert not [text for text in logged if secret in text], f"{secret} in the log"


# --- after a post is out: corrections and follow-ups ------------------------------------------------------
CAPABLE_NETWORKS = sorted(set(NETWORKS) - LINK_ONLY)


@pytest.mark.parametrize("network", CAPABLE_NETWORKS)
def test_each_adapter_offers_exactly_what_the_registry_says_its_api_can(network: Network) -> None:
    made = adapter_class(network)
    capabilities = NETWORKS[network].capabilities
    assert (made.edit is not Adapter.edit) == (Capability.EDIT in capabilities)
    assert (made.find_edit is not Adapter.find_edit) == (Capability.EDIT in capabilities)
    assert (made.reply is not Adapter.reply) == (Capability.REPLY in capabilities)
    assert (made.find_reply is not Adapter.find_reply) == (Capability.REPLY in capabilities)


def test_an_edit_lands_reads_back_and_is_safe_to_send_again(subject: Subject, clock: Clock, tmp_path: Path) -> None:
    adapter = subject.connect(tmp_path)
    original = subject.published(adapter, clock)
    corrected = subject.corrected()
    delivery = subject.delivery(adapter, corrected, clock, "contract-edit-1")
    if not subject.can(Capability.EDIT):
        with pytest.raises(Unsupported) as caught:
            adapter.edit(original, corrected, delivery)
        assert caught.value.capability == "edit" and isinstance(caught.value, Rejected)  # the job fails, no retry
        with pytest.raises(Unsupported):
            adapter.find_edit(original, corrected, delivery)
        assert subject.text_of(original.remote_id) == subject.post().text  # nothing else was sent
        assert subject.posted() == [original.remote_id]
        return
    assert adapter.find_edit(original, corrected, delivery) is None  # not yet
    edited = adapter.edit(original, corrected, delivery)
    assert edited.remote_id == original.remote_id  # the same post, changed in place
    assert subject.text_of(original.remote_id) == corrected.text
    assert subject.history_of(original.remote_id) == [subject.post().text]
    if subject.edits_read_back:
        assert adapter.find_edit(original, corrected, delivery) == PublishResult(original.remote_id, edited.url)
    assert adapter.edit(original, corrected, delivery).remote_id == original.remote_id  # a retry is harmless
    assert subject.history_of(original.remote_id) == [subject.post().text]  # and leaves no second version
    assert subject.posted() == [original.remote_id]


def test_an_edit_whose_answer_is_lost_is_unconfirmed_and_settled_without_a_second_version(
        subject: Subject, clock: Clock, tmp_path: Path) -> None:
    adapter = subject.connect(tmp_path)
    original = subject.published(adapter, clock)
    corrected = subject.corrected()
    delivery = subject.delivery(adapter, corrected, clock, "contract-edit-2")
    if not subject.can(Capability.EDIT):  # nothing to settle: nothing was sent
        with pytest.raises(Unsupported):
            adapter.find_edit(original, corrected, delivery)
        return
    subject.lose_next_edit()
    with pytest.raises(Unconfirmed):
        adapter.edit(original, corrected, delivery)
    found = adapter.find_edit(original, corrected, delivery)
    if subject.edits_read_back:
        assert found is not None and found.remote_id == original.remote_id
    else:  # cannot be read back: the worker sends it again, and the network says it is already so
        assert found is None
        assert adapter.edit(original, corrected, delivery).remote_id == original.remote_id
    assert subject.history_of(original.remote_id) == [subject.post().text]


def test_editing_a_post_that_is_not_there_is_rejected(subject: Subject, clock: Clock, tmp_path: Path) -> None:
    adapter = subject.connect(tmp_path)
    corrected = subject.corrected()
    gone = RemotePost(subject.missing)
    with pytest.raises(Rejected) as caught:  # never Unconfirmed: nothing can have changed
        adapter.edit(gone, corrected, subject.delivery(adapter, corrected, clock, "contract-edit-3"))
    assert isinstance(caught.value, Unsupported) != subject.can(Capability.EDIT)


def test_a_reply_hangs_under_its_post_and_a_follow_up_under_the_reply(subject: Subject, clock: Clock,
                                                                      tmp_path: Path) -> None:
    assert subject.can(Capability.REPLY)  # every posting network can; one that cannot raises Unsupported
    adapter = subject.connect(tmp_path)
    original = subject.published(adapter, clock)
    first, _ = subject.replied(adapter, original, "Korrektur: Das Ergebnis ist vorläufig.", clock, "contract-reply-1")
    second, _ = subject.replied(adapter, first, "Nachtrag: Das amtliche Ergebnis kommt am Montag.", clock,
                                "contract-reply-2")
    assert subject.parent_of(first.remote_id) == original.remote_id
    assert subject.parent_of(second.remote_id) == first.remote_id
    assert subject.text_of(second.remote_id) == subject.answer("Nachtrag: Das amtliche Ergebnis kommt am Montag.").text
    assert subject.posted() == [original.remote_id]  # the replies are not posts of their own
    assert subject.text_of(original.remote_id) == subject.post().text


def test_a_lost_reply_is_unconfirmed_and_find_reply_finds_it_exactly_once(subject: Subject, clock: Clock,
                                                                          tmp_path: Path) -> None:
    adapter = subject.connect(tmp_path)
    original = subject.published(adapter, clock)
    # Another answer under the same post, with the same link: it must not pass for the lost one.
    subject.replied(adapter, original, "Korrektur: Das Ergebnis ist vorläufig.", clock, "contract-reply-3")
    follow_up = subject.answer("Nachtrag: Das amtliche Ergebnis kommt am Montag.")
    delivery = subject.delivery(adapter, follow_up, clock, "contract-reply-4")
    if subject.finds:
        assert adapter.find_reply(original, follow_up, delivery) is None
    subject.lose_next_reply()
    with pytest.raises(Unconfirmed):
        adapter.reply(original, follow_up, delivery)
    if not subject.finds:  # "not found" would let the worker send it again: a person settles it
        with pytest.raises(Unconfirmed, match="queue resolve"):
            adapter.find_reply(original, follow_up, delivery)
        return
    found = adapter.find_reply(original, follow_up, delivery)
    assert found is not None
    assert subject.parent_of(found.remote_id) == original.remote_id
    assert subject.text_of(found.remote_id) == follow_up.text
    assert adapter.find_reply(original, follow_up, delivery) == found


def test_a_reply_to_a_post_that_is_not_there_is_rejected(subject: Subject, clock: Clock, tmp_path: Path) -> None:
    adapter = subject.connect(tmp_path)
    follow_up = subject.answer("Nachtrag: Das amtliche Ergebnis kommt am Montag.")
    with pytest.raises(Rejected):  # never Unconfirmed, and nothing is posted in its place
        adapter.reply(RemotePost(subject.missing), follow_up,
                      subject.delivery(adapter, follow_up, clock, "contract-reply-5"))
    assert subject.posted() == []
