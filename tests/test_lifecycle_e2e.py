"""`sharebot correct` and `sharebot follow-up` end to end: the real CLI and queue, every adapter, the local stand-ins
and the real PDS, on the test's clock. What each network holds afterwards is read back from it."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import test_publish_e2e
from pds import get_record
from standins import SEED_FRONT_MATTER, Newsroom
from test_publish_e2e import sharebot

from sharebot import app
from sharebot.config import load_settings
from sharebot.jobs import JobKind, JobState
from sharebot.sources.common import disambiguated

SLUG = "putin-xi-videogespraech-partnerschaft"
OLD_TITLE = "Putin und Xi stärken strategische Partnerschaft in Videogespräch"
NEW_TITLE = "Putin und Xi bekräftigen strategische Partnerschaft in Videogespräch"
THIRD_TITLE = "Putin und Xi bekräftigen ihre Partnerschaft"
EDITS = {"mastodon", "linkedin", "facebook", "telegram"}  # Capability.EDIT
REPLIES = {"x", "bluesky", "threads"}
POSTING = EDITS | REPLIES
room = test_publish_e2e.room  # fixture: every network, Bluesky on the PDS, the seed article


def retitle(room: Newsroom, title: str) -> None:
    """The newsroom corrects the article's title in its source."""
    assert room.config is not None
    path = room.config.parent / "content" / f"{SLUG}.md"
    text = SEED_FRONT_MATTER.format(slug=SLUG, image=room.image_url(SLUG))
    path.write_text(text.replace(OLD_TITLE, title), encoding="utf-8")


def jobs(room: Newsroom) -> list[Any]:
    assert room.config is not None
    settings = load_settings(room.config, room.env(), dotenv_path=room.config.parent / "none.env")
    with app.open_queue(settings) as store:
        return store.list_jobs(slug=SLUG)


class Remote(NamedTuple):
    text: str
    parent: str | None  # the remote id it answers
    history: list[str]  # earlier texts, oldest first
    root: str | None = None  # Bluesky: the thread's root


def read_back(room: Newsroom, pds: Any, network: str, remote_id: str) -> Remote:
    """What the network holds for one of our posts or replies."""
    if network == "x":
        tweet = room.x.tweets[remote_id]
        return Remote(tweet.sent, tweet.in_reply_to, [])
    if network == "mastodon":
        status = room.mastodon.statuses[remote_id]
        return Remote(status["text"], status["in_reply_to_id"],
                      [v["text"] for v in room.mastodon.history.get(remote_id, [])][:-1])
    if network == "linkedin":
        post = next((p for p in room.linkedin.live if p.urn == remote_id), None)
        if post is not None:
            return Remote(post.body["commentary"], None, post.history)
        comment = next(c for c in room.linkedin.comments if c.urn == remote_id)
        return Remote(comment.text, comment.parent_comment or comment.parent, [])
    if network == "facebook":
        page_post = next((p for p in room.facebook.live if p.id == remote_id), None)
        if page_post is not None:
            return Remote(page_post.message, None, page_post.history)
        page_comment = next(c for c in room.facebook.comments if c.id == remote_id)
        return Remote(page_comment.message, page_comment.parent, [])
    if network == "threads":
        media = room.threads.media[remote_id]
        return Remote(media.text, media.reply_to, [])
    if network == "telegram":
        message = next(m for m in room.telegram.messages if str(m.message_id) == remote_id)
        return Remote(message.text, None if message.reply_to is None else str(message.reply_to), message.history)
    assert network == "bluesky" and room.bluesky is not None
    record = get_record(pds, room.bluesky.did, remote_id.rsplit("/", 1)[-1])
    assert record is not None, remote_id
    reply = record["value"].get("reply") or {}
    return Remote(record["value"]["text"], (reply.get("parent") or {}).get("uri"), [],
                  (reply.get("root") or {}).get("uri"))


def top_level(room: Newsroom) -> dict[str, int]:
    """Posts that answer nothing, where a stand-in keeps replies with them (X, Mastodon, Threads, Telegram)."""
    return {"x": sum(1 for t in room.x.tweets.values() if not t.in_reply_to),
            "mastodon": sum(1 for s in room.mastodon.statuses.values() if not s["in_reply_to_id"]),
            "threads": sum(1 for m in room.threads.live if not m.reply_to),
            "telegram": sum(1 for m in room.telegram.messages if m.reply_to is None)}


def published_posts(room: Newsroom) -> dict[str, Any]:
    return {j.account: j for j in jobs(room) if j.kind is JobKind.POST and j.state is JobState.PUBLISHED}


def test_correct_edits_where_it_can_replies_elsewhere_and_a_second_run_sends_nothing(room: Newsroom, pds):
    assert sharebot(room, "publish", SLUG).exit_code == 0
    originals = published_posts(room)
    assert set(originals) == POSTING
    before = {name: read_back(room, pds, name, job.remote_id).text for name, job in originals.items()}
    retitle(room, NEW_TITLE)

    preview = sharebot(room, "correct", SLUG, "--dry-run", "--json")
    assert preview.exit_code == 0, preview.output
    planned = {a["account"]: a for a in json.loads(preview.output)["accounts"]}
    assert {name: a["action"] for name, a in planned.items()} == {
        **{name: "edit" for name in EDITS}, **{name: "reply" for name in REPLIES}}
    assert len(jobs(room)) == len(POSTING)  # a dry run queues nothing
    assert {name: read_back(room, pds, name, job.remote_id).text for name, job in originals.items()} == before

    result = sharebot(room, "correct", SLUG)
    assert result.exit_code == 0, result.output
    after = {j.account: j for j in jobs(room) if j.kind is not JobKind.POST}
    assert {name: (j.kind, j.state, j.parent_id) for name, j in after.items()} == {
        name: (JobKind.EDIT if name in EDITS else JobKind.REPLY, JobState.PUBLISHED, originals[name].id)
        for name in POSTING}
    for name in EDITS:  # the same post, reading as the dry run said, its old text kept in its history
        assert after[name].remote_id == originals[name].remote_id
        remote = read_back(room, pds, name, originals[name].remote_id)
        assert remote.text == planned[name]["text"] and NEW_TITLE in remote.text
        assert remote.history == [before[name]]
    for name in REPLIES:  # a correction line under the unchanged post
        remote = read_back(room, pds, name, after[name].remote_id)
        assert remote.text == planned[name]["text"] and remote.text.startswith(f"Korrektur: {NEW_TITLE}")
        assert remote.parent == originals[name].remote_id
        assert read_back(room, pds, name, originals[name].remote_id).text == before[name]
    assert room.posted() == {"x": 2, "mastodon": 1, "linkedin": 1, "facebook": 1, "threads": 2, "telegram": 1}
    assert top_level(room) == {"x": 1, "mastodon": 1, "threads": 1, "telegram": 1}  # no new post anywhere

    again = sharebot(room, "correct", SLUG)
    assert again.exit_code == 0, again.output
    assert again.output.count("· skip") == len(POSTING) and "the text is unchanged since job" in again.output
    assert len(jobs(room)) == 2 * len(POSTING)  # nothing queued the second time

    status = sharebot(room, "status", SLUG)
    assert status.output.count(" post ") == len(POSTING)
    assert sum(status.output.count(f"edit of {j.id}") for j in originals.values()) == len(EDITS)
    assert sum(status.output.count(f"reply to {j.id}") for j in originals.values()) == len(REPLIES)


def test_a_follow_up_thread_of_two_on_every_network(room: Newsroom, pds):
    assert sharebot(room, "publish", SLUG).exit_code == 0
    originals = published_posts(room)
    preview = sharebot(room, "follow-up", SLUG, "--text", "Nachtrag: Der Kreml bestätigt das Gespräch.", "--dry-run",
                       "--json")
    planned = {a["account"]: a["text"] for a in json.loads(preview.output)["accounts"]}
    first = sharebot(room, "follow-up", SLUG, "--text", "Nachtrag: Der Kreml bestätigt das Gespräch.")
    assert first.exit_code == 0, first.output
    second = sharebot(room, "follow-up", SLUG, "--text", "Nachtrag 2: Peking veröffentlicht eine Erklärung.")
    assert second.exit_code == 0, second.output
    replies = [j for j in jobs(room) if j.kind is JobKind.REPLY]
    assert len(replies) == 2 * len(POSTING) and {j.state for j in replies} == {JobState.PUBLISHED}
    for name in POSTING:
        one, two = sorted((j for j in replies if j.account == name), key=lambda j: j.sequence)
        assert (one.sequence, one.parent_id, two.sequence, two.parent_id) == (1, originals[name].id, 2, one.id)
        first_back = read_back(room, pds, name, one.remote_id)
        second_back = read_back(room, pds, name, two.remote_id)
        assert first_back.text == planned[name] and first_back.parent == originals[name].remote_id
        assert second_back.text.startswith("Nachtrag 2: Peking") and second_back.parent == one.remote_id
        if name == "bluesky":  # the root stays the post, the parent is the reply before
            assert first_back.root == originals[name].remote_id and second_back.root == originals[name].remote_id

    rerun = sharebot(room, "follow-up", SLUG, "--text", "Nachtrag 2: Peking veröffentlicht eine Erklärung.")
    assert rerun.exit_code == 0 and rerun.output.count("already sent: job") == len(POSTING)
    assert len([j for j in jobs(room) if j.kind is JobKind.REPLY]) == 2 * len(POSTING)


# --- the same, without Bluesky: what goes wrong on the way -----------------------------------------------------
@pytest.fixture
def desk(newsroom: Newsroom, tmp_path: Path) -> Newsroom:
    """Every stand-in network (no PDS), the seed article published everywhere."""
    newsroom.write_site(tmp_path, [SLUG])
    newsroom.write_config(tmp_path)
    assert sharebot(newsroom, "publish", SLUG).exit_code == 0
    return newsroom


def test_answers_lost_mid_correction_are_unknown_then_settled_without_a_duplicate(desk: Newsroom):
    originals = published_posts(desk)
    retitle(desk, NEW_TITLE)
    desk.mastodon.drop_next(method="PUT", path=r"/api/v1/statuses/\d+$", after=True)  # edit made, answer lost
    desk.telegram.drop_next(method="POST", path="editMessage", after=True)
    desk.x.drop_next(method="POST", path="/2/tweets", after=True)  # reply made, answer lost
    desk.threads.drop_next(method="POST", path="threads_publish$", after=True)

    result = sharebot(desk, "correct", SLUG)
    assert result.exit_code == 4 and "4 account(s) not done" in result.output  # 4: outcomes in doubt
    states = {j.account: j.state for j in jobs(desk) if j.kind is not JobKind.POST}
    assert {a for a, s in states.items() if s is JobState.UNKNOWN} == {"mastodon", "telegram", "x", "threads"}

    rerun = sharebot(desk, "correct", SLUG)  # while in doubt: nothing new is queued for them
    assert rerun.output.count("the text is unchanged since job") == 6, rerun.output
    assert len(jobs(desk)) == 12
    retitle(desk, THIRD_TITLE)  # changed again: one correction in flight per post
    changed = json.loads(sharebot(desk, "correct", SLUG, "--network", "mastodon,x", "--dry-run", "--json").output)
    assert [a["action"] for a in changed["accounts"]] == ["skip", "skip"]
    assert all("is unknown: correct again once it is out" in a["why"] for a in changed["accounts"])
    retitle(desk, NEW_TITLE)

    desk.clock.advance(60)
    assert sharebot(desk, "worker", "--burst").exit_code == 0
    after = {j.account: j for j in jobs(desk) if j.kind is not JobKind.POST}
    assert {a: j.state for a, j in after.items()} == {a: JobState.PUBLISHED for a in after}
    assert len(desk.mastodon.history[originals["mastodon"].remote_id]) == 2  # the original and one edit
    assert read_back(desk, None, "telegram", originals["telegram"].remote_id).history == \
        [originals["telegram"].post.text]
    for name in ("x", "threads"):  # one correction line each, found by find_reply and not sent again
        answers = [j for j in jobs(desk) if j.account == name and j.kind is JobKind.REPLY]
        assert len(answers) == 1
        assert read_back(desk, None, name, answers[0].remote_id).parent == originals[name].remote_id
    assert top_level(desk) == {"x": 1, "mastodon": 1, "threads": 1, "telegram": 1}
    assert len([t for t in desk.x.tweets.values() if t.in_reply_to]) == 1
    assert len([m for m in desk.threads.live if m.reply_to]) == 1


def test_an_edit_the_network_refuses_becomes_a_reply_and_later_corrections_reply_too(desk: Newsroom):
    originals = published_posts(desk)
    desk.telegram.edit_window = timedelta(hours=48)
    desk.clock.advance(49 * 3600)
    retitle(desk, NEW_TITLE)
    result = sharebot(desk, "correct", SLUG, "--network", "telegram")
    assert result.exit_code == 0, result.output
    edit, reply = sorted((j for j in jobs(desk) if j.kind is not JobKind.POST), key=lambda j: j.id)
    assert (edit.kind, edit.state) == (JobKind.EDIT, JobState.CANCELED)
    assert "can't be edited" in (edit.last_error or "") and f"reply job {reply.id}" in (edit.last_error or "")
    assert (reply.kind, reply.state, reply.parent_id) == (JobKind.REPLY, JobState.PUBLISHED, originals["telegram"].id)
    assert "Telegram refused to edit it" in result.output and "reply" in result.output
    message = read_back(desk, None, "telegram", reply.remote_id)
    assert message.text.startswith(f"Korrektur: {NEW_TITLE}") and message.parent == originals["telegram"].remote_id
    assert read_back(desk, None, "telegram", originals["telegram"].remote_id).history == []

    retitle(desk, THIRD_TITLE)
    preview = json.loads(sharebot(desk, "correct", SLUG, "--network", "telegram", "--dry-run", "--json").output)
    [step] = preview["accounts"]
    assert step["action"] == "reply" and "Telegram refused to edit it" in step["why"]


def test_correct_reply_answers_even_where_it_could_edit(desk: Newsroom):
    originals = published_posts(desk)
    retitle(desk, NEW_TITLE)
    result = sharebot(desk, "correct", SLUG, "--network", "mastodon,linkedin", "--reply")
    assert result.exit_code == 0, result.output
    for name in ("mastodon", "linkedin"):
        [answer] = [j for j in jobs(desk) if j.account == name and j.kind is not JobKind.POST]
        assert answer.kind is JobKind.REPLY and answer.state is JobState.PUBLISHED
        remote = read_back(desk, None, name, answer.remote_id)
        assert remote.text.startswith(f"Korrektur: {NEW_TITLE}") and remote.text.endswith(originals[name].post.link)
        assert remote.parent == originals[name].remote_id
        assert read_back(desk, None, name, originals[name].remote_id).history == []


def test_a_correction_template_and_an_unpublished_account(newsroom: Newsroom, tmp_path: Path):
    newsroom.write_site(tmp_path, [SLUG])
    newsroom.write_config(tmp_path, extra='[templates]\ncorrection = "Berichtigt: {title}\\n{link}"\n')
    assert sharebot(newsroom, "publish", SLUG, "--network", "x").exit_code == 0
    retitle(newsroom, NEW_TITLE)
    preview = sharebot(newsroom, "correct", SLUG, "--network", "x,mastodon", "--dry-run")
    assert preview.exit_code == 0, preview.output
    assert f"Berichtigt: {NEW_TITLE}\nhttps://" in preview.output
    assert "── mastodon (mastodon) · skip" in preview.output and "never posted: nothing to correct" in preview.output


def test_a_correction_template_is_checked_when_the_config_is_read(newsroom: Newsroom, tmp_path: Path):
    newsroom.write_site(tmp_path, [SLUG])
    newsroom.write_config(tmp_path, extra='[templates]\ncorrection = "Korrektur: {titel}"\n')
    result = sharebot(newsroom, "correct", SLUG, "--dry-run")
    assert result.exit_code == 1 and "templates.correction: template field {titel} is not one of" in result.stderr


def test_nothing_posted_yet_is_said_and_a_dry_run_creates_no_queue(newsroom: Newsroom, tmp_path: Path):
    newsroom.write_site(tmp_path, [SLUG])
    config = newsroom.write_config(tmp_path)
    for args in (("correct", SLUG, "--dry-run"), ("follow-up", SLUG, "--text", "Nachtrag", "--dry-run")):
        result = sharebot(newsroom, *args)
        assert result.exit_code == 1 and f"sharebot publish {SLUG}` first" in result.stderr
    assert not (config.parent / "var" / "sharebot.db").exists()
    empty = sharebot(newsroom, "follow-up", SLUG, "--text", "  ")
    assert empty.exit_code == 1 and "--text is empty" in empty.stderr


def test_a_follow_up_waits_for_the_reply_it_answers_to_be_settled(desk: Newsroom):
    originals = published_posts(desk)
    desk.x.drop_next(method="POST", path="/2/tweets", after=True)
    first = sharebot(desk, "follow-up", SLUG, "--network", "x", "--text", "Nachtrag: eins")
    assert first.exit_code == 4  # its answer was lost: unknown
    second = sharebot(desk, "follow-up", SLUG, "--network", "x", "--text", "Nachtrag: zwei")
    assert second.exit_code == 0, second.output
    one, two = sorted((j for j in jobs(desk) if j.kind is JobKind.REPLY), key=lambda j: j.sequence)
    assert (one.state, two.state, two.parent_id) == (JobState.UNKNOWN, JobState.QUEUED, one.id)
    assert f"waits for job {one.id}" in (two.last_error or "") and two.attempts == 0
    desk.clock.advance(60)
    assert sharebot(desk, "worker", "--burst").exit_code == 0  # settles the first, then sends the second
    desk.clock.advance(60)
    assert sharebot(desk, "worker", "--burst").exit_code == 0
    one, two = sorted((j for j in jobs(desk) if j.kind is JobKind.REPLY), key=lambda j: j.sequence)
    assert (one.state, two.state) == (JobState.PUBLISHED, JobState.PUBLISHED)
    assert desk.x.tweets[one.remote_id].in_reply_to == originals["x"].remote_id
    assert desk.x.tweets[two.remote_id].in_reply_to == one.remote_id
    assert len([t for t in desk.x.tweets.values() if t.in_reply_to]) == 2


class Racing:
    """The queue, with another `correct` run queueing the same change just before this one does."""

    def __init__(self, store: Any) -> None:
        self.store, self.raced = store, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def insert_answer(self, parent: Any, kind: Any, sequence: int, post: Any, **kw: Any) -> Any:
        if not self.raced:
            self.raced += 1
            assert self.store.insert_answer(parent, kind, sequence, post, **kw) is not None
        return self.store.insert_answer(parent, kind, sequence, post, **kw)


def test_a_run_that_loses_a_race_plans_again_and_queues_nothing_twice(desk: Newsroom):
    from sharebot import lifecycle

    retitle(desk, NEW_TITLE)
    assert desk.config is not None
    settings = load_settings(desk.config, desk.env(), dotenv_path=desk.config.parent / "none.env")
    adapters = app.Adapters(settings)
    with app.open_queue(settings) as store:
        racing = Racing(store)
        report = lifecycle.correct(settings, SLUG, store=racing, adapters=adapters,  # type: ignore[arg-type]
                                   clock=desk.clock, owner="test", networks=["mastodon"])
    adapters.close()
    [step] = report.steps
    assert racing.raced == 1 and step.action is lifecycle.Action.SKIP and "unchanged since job" in step.why
    assert [j.kind for j in jobs(desk) if j.account == "mastodon"] == [JobKind.POST, JobKind.EDIT]


def test_retract_after_a_correction_and_a_follow_up_takes_everything_down(desk: Newsroom):
    retitle(desk, NEW_TITLE)
    assert sharebot(desk, "correct", SLUG).exit_code == 0
    assert sharebot(desk, "follow-up", SLUG, "--text", "Nachtrag: Der Kreml bestätigt das Gespräch.").exit_code == 0
    result = sharebot(desk, "retract", SLUG, "--yes", "--network", "x,mastodon,facebook,threads,telegram")
    assert result.exit_code == 0, result.output
    states = {(j.account, j.kind): j.state for j in jobs(desk) if j.account != "linkedin"}
    assert {k: s for k, s in states.items() if k[1] is not JobKind.EDIT} == {
        k: JobState.DELETED for k in states if k[1] is not JobKind.EDIT}
    assert desk.posted() == {"x": 0, "mastodon": 0, "linkedin": 1, "facebook": 0, "threads": 0, "telegram": 0}
    assert not [c for c in desk.facebook.comments if not c.deleted]


def test_retract_deletes_linkedin_comments(desk: Newsroom):
    assert sharebot(desk, "follow-up", SLUG, "--network", "linkedin", "--text", "Nachtrag").exit_code == 0
    result = sharebot(desk, "retract", SLUG, "--yes", "--network", "linkedin")
    assert result.exit_code == 0, result.output
    assert not desk.linkedin.comments and not desk.linkedin.live


def test_a_lost_telegram_reply_waits_for_a_person_and_an_account_that_cannot_post_is_named(desk: Newsroom):
    desk.telegram.drop_next(method="POST", path="sendMessage", after=True)
    env = {k: v for k, v in desk.env().items() if k != "SHAREBOT_MASTODON_ACCESS_TOKEN"}
    result = sharebot(desk, "follow-up", SLUG, "--network", "telegram,mastodon", "--text", "Nachtrag", env=env)
    assert result.exit_code == 3, result.output  # 3 (mastodon cannot post) wins over 4 (telegram in doubt)
    assert "── mastodon (mastodon) · cannot post" in result.output
    assert "SHAREBOT_MASTODON_ACCESS_TOKEN" in result.output
    [reply] = [j for j in jobs(desk) if j.kind is JobKind.REPLY]
    assert reply.account == "telegram" and reply.state.value == "attention"  # Telegram cannot look: a person can
    assert "queue resolve" in (reply.last_error or "")
    assert len(desk.telegram.replies_to(int(published_posts(desk)["telegram"].remote_id or 0))) == 1
    desk.clock.advance(60)
    assert "worker handled 0 job(s)" in sharebot(desk, "worker", "--burst").output  # nothing is sent again
    assert len([m for m in desk.telegram.messages if m.reply_to is not None]) == 1


def test_a_follow_up_too_long_for_a_network_is_refused_before_anything_is_queued(desk: Newsroom):
    words = "Nachtrag: " + "sehr lang " * 40
    preview = sharebot(desk, "follow-up", SLUG, "--network", "x,mastodon", "--text", words, "--dry-run")
    assert preview.exit_code == 3 and "✗ too-long: the follow-up does not fit in 280" in preview.output
    result = sharebot(desk, "follow-up", SLUG, "--network", "x,mastodon", "--text", words)
    assert result.exit_code == 1 and "nothing queued: the reply for 'x' would be refused" in result.stderr
    assert [j for j in jobs(desk) if j.kind is not JobKind.POST] == []


def test_a_page_filed_under_another_slug_is_corrected_under_that_one(newsroom: Newsroom, tmp_path: Path):
    """Two pages whose addresses end alike are two articles; the second is filed under a slug of its own
    (`pipeline.queue_slug`), and a correction of it reaches its post, not the other's."""
    from fakes.base import FakeAPI, Response
    from test_article_identity import SITE, page

    newsroom.write_site(tmp_path, [SLUG])
    newsroom.write_config(tmp_path)
    image = newsroom.image_url(SLUG)
    html = {"/politik/meldung": page("Politik meldet", SITE + "politik/meldung", image),
            "/sport/meldung": page("Sport meldet", SITE + "sport/meldung", image)}
    with FakeAPI() as pages:
        pages.route("GET", "/(?P<section>politik|sport)/meldung",
                    lambda req, m: Response(200, html[req.path], {"Content-Type": "text/html; charset=utf-8"}))
        for path in html:
            assert sharebot(newsroom, "publish", pages.url + path, "--network", "mastodon").exit_code == 0
        html["/sport/meldung"] = page("Sport meldet mehr", SITE + "sport/meldung", image)
        result = sharebot(newsroom, "correct", pages.url + "/sport/meldung", "--network", "mastodon")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{disambiguated('meldung', SITE + 'sport/meldung')}: correction")
    texts = sorted(status["text"] for status in newsroom.mastodon.statuses.values())
    assert texts[0].startswith("Politik meldet\n") and texts[1].startswith("Sport meldet mehr\n")


def test_a_dry_run_names_the_accounts_that_cannot_post_as_the_real_run_would(desk: Newsroom):
    env = {k: v for k, v in desk.env().items() if k != "SHAREBOT_MASTODON_ACCESS_TOKEN"}
    before = [(j.id, j.state, j.updated_at) for j in jobs(desk)]
    preview = sharebot(desk, "follow-up", SLUG, "--text", "Nachtrag", "--network", "telegram,mastodon", "--dry-run",
                       env=env)
    assert preview.exit_code == 3, preview.output  # as the real run: mastodon cannot post
    assert "── mastodon (mastodon) · cannot post" in preview.output
    assert "SHAREBOT_MASTODON_ACCESS_TOKEN" in preview.output and "it would reply" in preview.output
    assert "── telegram (telegram) · reply" in preview.output
    assert [(j.id, j.state, j.updated_at) for j in jobs(desk)] == before  # a dry run writes nothing
