"""What every adapter promises the worker, run against each network: its local stand-in (tests/fakes/), and
for Bluesky the real PDS behind a fault-injecting proxy (tests/pds.py).

Each network's own file tests what is particular to it; this one tests the promises the queue relies on:
a refused connection posted nothing, a lost answer is unknown and `find` settles it (Telegram cannot, and
says so), secrets stay out of messages and logs, `delete` removes, `check` tells good credentials from bad.
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
from fakes.telegram import FakeTelegram
from fakes.threads import FakeThreads
from fakes.x import FakeX
from pds import PDSProxy, create_account, list_rkeys

from sharebot.adapters import make_adapter
from sharebot.adapters.base import Adapter, AdapterContext, Delivery, Secret
from sharebot.errors import AuthError, NotSent, PublishError, Unconfirmed
from sharebot.models import Account, Card, Network, RenderedPost

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
    closing: ExitStack = field(default_factory=ExitStack)
    adapters_made: int = 0

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

    def delivery(self, adapter: Adapter, post: RenderedPost, clock: Clock, key: str = "contract-job-1") -> Delivery:
        """A delivery whose prepare() data is persisted before the first attempt, as the queue does it."""
        return Delivery(key, clock(), dict(adapter.prepare(post, Delivery(key, clock()))))


def _x(stack: ExitStack, clock: Clock, request: pytest.FixtureRequest) -> Subject:
    api = stack.enter_context(FakeX(clock=clock, consumer_key="FAKE-x-consumer-key",
                                    consumer_secret="FAKE-SECRET-x-consumer-9d1f7a",
                                    access_token="1500-FAKE-x-access-token",
                                    access_token_secret="FAKE-SECRET-x-token-4b7a22"))
    names = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
    credentials = {name: getattr(api, name) for name in names}
    # oauthlib logs the consumer key and access token (the public halves of OAuth 1.0a) at DEBUG.
    return Subject(Network.X, api.url, {}, "api_base", credentials, {**credentials, "consumer_secret": WRONG},
                   (api.consumer_secret, api.access_token_secret, WRONG), lambda: list(api.tweets),
                   lambda: api.drop_next(method="POST", path="/2/tweets", after=True), "connection lost")


def _mastodon(stack: ExitStack, clock: Clock, request: pytest.FixtureRequest) -> Subject:
    api = stack.enter_context(FakeMastodon(clock=clock, token="FAKE-SECRET-mastodon-5e2a90"))
    return Subject(Network.MASTODON, api.url, {}, "instance", {"access_token": api.token},
                   {"access_token": WRONG}, (api.token, WRONG), lambda: list(api.statuses),
                   lambda: api.drop_next(method="POST", path="/api/v1/statuses", after=True),
                   "the status may exist")


def _linkedin(stack: ExitStack, clock: Clock, request: pytest.FixtureRequest) -> Subject:
    api = stack.enter_context(FakeLinkedIn("FAKE-SECRET-linkedin-83c1d4", clock=clock))
    return Subject(Network.LINKEDIN, api.url, {"author": f"urn:li:organization:{api.organization}"}, "api_base",
                   {"access_token": api.token}, {"access_token": WRONG}, (api.token, WRONG),
                   lambda: [p.urn for p in api.live],
                   lambda: api.drop_next(method="POST", path="/rest/posts", after=True), "connection lost")


def _facebook(stack: ExitStack, clock: Clock, request: pytest.FixtureRequest) -> Subject:
    api = stack.enter_context(FakeFacebook(token="FAKE-SECRET-facebook-61f0b3", clock=clock))
    return Subject(Network.FACEBOOK, api.url, {"page_id": api.page_id}, "api_base",
                   {"page_access_token": api.token}, {"page_access_token": WRONG}, (api.token, WRONG),
                   lambda: [p.id for p in api.live],
                   lambda: api.drop_next(method="POST", path="/feed$", after=True), "connection lost")


def _threads(stack: ExitStack, clock: Clock, request: pytest.FixtureRequest) -> Subject:
    api = stack.enter_context(FakeThreads(token="FAKE-SECRET-threads-2a97e5", clock=clock))
    return Subject(Network.THREADS, api.url, {"user_id": api.user_id, "poll_interval": 0.01}, "api_base",
                   {"access_token": api.token}, {"access_token": WRONG}, (api.token, WRONG),
                   lambda: [m.id for m in api.live],
                   lambda: api.drop_next(method="POST", path="threads_publish$", after=True), "connection lost")


def _telegram(stack: ExitStack, clock: Clock, request: pytest.FixtureRequest) -> Subject:
    api = stack.enter_context(FakeTelegram("123456:FAKE-SECRET-telegram-7c4e1b", clock=clock))
    # The bot's id before the colon is public; the part after it is the secret.
    return Subject(Network.TELEGRAM, api.url, {"chat_id": "@sharebot_news"}, "api_base",
                   {"bot_token": api.token}, {"bot_token": f"123456:{WRONG}"},
                   (api.token.split(":")[1], WRONG), lambda: [str(m.message_id) for m in api.messages],
                   lambda: api.drop_next(method="POST", path="sendMessage", after=True), "connection lost",
                   finds=False)


def _bluesky(stack: ExitStack, clock: Clock, request: pytest.FixtureRequest) -> Subject:
    pds = request.getfixturevalue("pds")
    user = create_account(pds, "contract")
    proxy = stack.enter_context(PDSProxy(pds))

    def lose_next_answer() -> None:
        # The adapter reads the record back when a create fails, which would settle it: lose that too.
        proxy.drop_next(path="createRecord", after=True)
        proxy.after("com.atproto.repo.createRecord", lambda: proxy.drop_next(path="getRecord"))

    return Subject(Network.BLUESKY, proxy.url, {"handle": user.handle}, "pds",
                   {"app_password": user.app_password}, {"app_password": WRONG}, (user.app_password, WRONG),
                   lambda: [f"at://{user.did}/app.bsky.feed.post/{rkey}" for rkey in list_rkeys(pds, user.did)],
                   lose_next_answer, "createRecord: RemoteProtocolError")


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
