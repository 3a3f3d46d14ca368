"""After an article is out: corrections (`sharebot correct`) and follow-ups (`sharebot follow-up`).

Both start from each account's post of the article: its post job in the account's latest round, once published.
- A correction renders the article again. Where the text changed, the post is edited in place where the network
  can edit (`Capability.EDIT`) and the edit is allowed; elsewhere, with `--reply`, or where the network refused
  the edit as impossible (`Unsupported`), a correction line (`[templates] correction`) and the link go as a reply
  under the post. A text that did not change is skipped.
- A follow-up replies with the given text under the account's latest reply, or under the post: a thread.

Each becomes a job (`JobKind.EDIT` or `REPLY`) with the job it edits or answers and its sequence among the
account's edits or replies of that round, and so its own idempotency key: a run repeated, or run again after a
crash, finds what the last one queued and queues nothing twice. The worker sends them (`sharebot.dispatch`) and
settles a lost answer with `find_edit` / `find_reply` before sending anything again, as it does posts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

from sharebot.config import Settings
from sharebot.dispatch import CANNOT_EDIT
from sharebot.errors import SharebotError, StoreError, ValidationError
from sharebot.exits import Exit, worst
from sharebot.jobs import IN_DOUBT, Job, JobKind, JobState
from sharebot.models import Account, Article, Issue, Network, RenderedPost, Severity
from sharebot.networks import LINK_ONLY, NETWORKS, Capability, rules_for
from sharebot.pipeline import load_article, newest_jobs, queue_slug, render_article, select_accounts
from sharebot.render import render

if TYPE_CHECKING:
    from sharebot.adapters.base import Adapter
    from sharebot.store import Store

Clock = Callable[[], datetime]

# The correction line by the article's language (its primary subtag); `[templates] correction` replaces it.
CORRECTION_LINES: Mapping[str, str] = {
    "de": "Korrektur", "en": "Correction", "fr": "Correction", "es": "Corrección", "it": "Correzione",
    "nl": "Correctie", "pl": "Korekta", "pt": "Correção",
}
# A template takes article fields only: the follow-up's words fill the teaser's (never shortened: `render_reply`).
FOLLOW_UP_TEMPLATE = "{teaser}"
ENDED = frozenset({JobState.FAILED, JobState.CANCELED, JobState.DELETED})  # not out, and not going out (or taken down)
# A reply carries no image of its own, so what a post says about its image does not apply to it.
_NOT_FOR_REPLIES = frozenset({"no-image", "no-alt-text", "photo-replaces-card"})
_RETRIES = 5  # plans of one account a run makes while other runs take the sequence it chose


class Purpose(StrEnum):
    CORRECTION = "correction"
    FOLLOW_UP = "follow-up"


class Action(StrEnum):
    EDIT = "edit"  # the post is changed in place
    REPLY = "reply"  # an answer under the post or the latest reply
    SKIP = "skip"  # nothing is sent; `why` says why
    CANNOT = "cannot post"  # the account is flagged or lacks a credential: nothing queued or sent for it


class Step(NamedTuple):
    """What a correction or follow-up does for one account, and after a run, the job that does it."""

    account: str
    network: Network
    action: Action
    why: str
    post: RenderedPost | None = None  # exactly what goes out (None: a skip)
    parent: Job | None = None  # the job whose post it edits or answers
    sequence: int = 0  # the account's nth edit or reply of the round
    revision: RenderedPost | None = None  # a correction: the article's post as rendered now
    job: Job | None = None  # the job queued for it; for a skip, the one that already does it, if any

    @property
    def exit(self) -> Exit:
        """FAILED: it would be refused, it cannot be sent, or it failed; UNSETTLED: sent, and in doubt until a
        check or a person settles it."""
        if self.action is Action.CANNOT or (self.post is not None and self.post.blocked):
            return Exit.FAILED
        if self.action is Action.SKIP or self.job is None:
            return Exit.OK
        if self.job.state is JobState.FAILED:
            return Exit.FAILED
        return Exit.UNSETTLED if self.job.state in IN_DOUBT else Exit.OK


class Report(NamedTuple):
    purpose: Purpose
    article: Article
    steps: tuple[Step, ...]
    sent: bool = False  # False: a dry run, nothing was queued or sent

    @property
    def blocked(self) -> list[Step]:
        return [s for s in self.steps if s.post is not None and s.post.blocked]

    @property
    def not_done(self) -> list[Step]:
        """The accounts whose change did not (surely) go through."""
        return [s for s in self.steps if s.exit is not Exit.OK]

    @property
    def exit(self) -> Exit:
        return worst(s.exit for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        def job(j: Job | None) -> dict[str, Any] | None:
            return None if j is None else {"id": j.id, "kind": str(j.kind), "state": str(j.state),
                                           "url": j.remote_url, "error": j.last_error}

        return {
            "purpose": str(self.purpose), "article": self.article.slug, "sent": self.sent,
            "accounts": [{"account": s.account, "network": str(s.network), "action": str(s.action), "why": s.why,
                          "text": s.post.text if s.post else None, "length": s.post.length if s.post else None,
                          "limit": s.post.limit if s.post else None, "link": s.post.link if s.post else None,
                          "issues": [i.to_dict() for i in s.post.issues] if s.post else [],
                          "parent": job(s.parent), "job": job(s.job)} for s in self.steps],
        }


# --- one account's jobs for the article ---------------------------------------------------------------------
class Thread(NamedTuple):
    """An account's jobs for the article in its latest round: the post, and the edits and replies made to it,
    each in the order made."""

    post: Job
    edits: tuple[Job, ...] = ()
    replies: tuple[Job, ...] = ()

    def next_sequence(self, kind: JobKind) -> int:
        return 1 + max((j.sequence for j in (self.edits if kind is JobKind.EDIT else self.replies)), default=0)

    def corrections(self) -> list[Job]:
        """The corrections that are out or on their way, oldest first."""
        return sorted((j for j in (*self.edits, *self.replies) if j.revision is not None and j.state not in ENDED),
                      key=lambda j: j.id)

    def latest_reply(self) -> Job | None:
        live = [j for j in self.replies if j.state not in ENDED]
        return live[-1] if live else None


def threads(store: Store, slug: str, account: str | None = None) -> dict[str, Thread]:
    """Each account's thread (or just `account`'s) for the article, in the account's latest round."""
    jobs = store.list_jobs(slug=slug, account=account)
    latest = newest_jobs(jobs)
    found = {}
    for name, post in latest.items():
        mine = [j for j in jobs if j.account == name and j.round == post.round]
        found[name] = Thread(post, tuple(sorted((j for j in mine if j.kind is JobKind.EDIT), key=lambda j: j.sequence)),
                             tuple(sorted((j for j in mine if j.kind is JobKind.REPLY), key=lambda j: j.sequence)))
    return found


# --- rendering ----------------------------------------------------------------------------------------------
def correction_template(settings: Settings, article: Article, account: Account) -> str:
    """`[templates] correction`, else the article language's line with the title; the link in the text where the
    network takes it there (elsewhere a card or the adapter carries it)."""
    configured = settings.templates.get("correction")
    if configured:
        return configured
    language = (article.language or settings.site.language or "en").replace("_", "-").split("-")[0].lower()
    line = CORRECTION_LINES.get(language, CORRECTION_LINES["en"])
    return f"{line}: {{title}}" + _link_line(account)


def _link_line(account: Account) -> str:
    """Where a reply's link goes in its text: where posts have it there, and in comments, which have no link
    field (elsewhere it is the reply's card, or Threads' link_attachment)."""
    in_text = rules_for(account).link_placement == "text" or NETWORKS[account.network].comment_replies
    return "\n\n{link}" if in_text else ""


def render_reply(settings: Settings, article: Article, account: Account, *, template: str,
                 words: str | None = None, card_from: RenderedPost | None = None) -> RenderedPost:
    """A reply for `account`: `template` filled from the article (with `words` as its teaser), fitted and checked
    as a post is, with the article's link and card (`card_from`: the account's post of it) and no image. `words`
    are never shortened: a follow-up too long for the network is refused instead."""
    source = article._replace(teaser=words) if words is not None else article
    post = render(source, account._replace(template=template), templates={}, utm=settings.utm,
                  site_name=settings.site.name, escape=not NETWORKS[account.network].comment_replies)
    issues = [i for i in post.issues if i.code not in _NOT_FOR_REPLIES]
    if words is not None and any(i.code.startswith("teaser-") for i in issues):
        issues = [i for i in issues if not i.code.startswith("teaser-")]
        issues.append(Issue(Severity.ERROR, "too-long", f"the follow-up does not fit in {post.limit} {post.unit} "
                            f"with the link: shorten it"))
    card = card_from.card if card_from is not None else post.card
    return post._replace(card=card, image=None, image_alt="", share_url=None, issues=tuple(issues))


# --- planning -----------------------------------------------------------------------------------------------
def _label(network: Network) -> str:
    return NETWORKS[network].label


def _not_out(account: Account, thread: Thread | None, purpose: Purpose) -> Step | None:
    """A skip when the account has no post of the article out to correct or answer."""
    if thread is None:
        what = "correct" if purpose is Purpose.CORRECTION else "answer"
        return Step(account.name, account.network, Action.SKIP, f"never posted: nothing to {what}")
    post = thread.post
    if post.state is not JobState.PUBLISHED:
        why = f"its post (job {post.id}) is {post.state}: not out, nothing to change"
    elif not post.remote_id:
        why = f"its post (job {post.id}) was settled by hand without the network's id: sharebot cannot reach it"
    else:
        return None
    return Step(account.name, account.network, Action.SKIP, why, job=post)


def plan_correction(settings: Settings, article: Article, account: Account, thread: Thread | None, *,
                    reply: bool = False) -> Step:
    """What correcting `account`'s post of the article does: edit, reply or skip, and why."""
    if (skip := _not_out(account, thread, Purpose.CORRECTION)) is not None:
        return skip
    assert thread is not None
    name, network = account.name, account.network
    new = render_article(settings, article, [account]).posts[0]
    corrections = thread.corrections()
    current = corrections[-1] if corrections else None
    basis = current.revision if current is not None and current.revision is not None else thread.post.post
    if new.text == basis.text:
        why = "the text is unchanged" + (f" since job {current.id} ({current.kind}, {current.state})"
                                         if current is not None else "")
        return Step(name, network, Action.SKIP, why, parent=thread.post, job=current)
    if current is not None and current.state is not JobState.PUBLISHED:
        # Sent after it, a newer edit could land first and then be undone by it (a retry, or a check that
        # finds the post not reading as it): one correction in flight per post.
        return Step(name, network, Action.SKIP, f"the article changed again, but job {current.id} ({current.kind}) "
                    f"is {current.state}: correct again once it is out", parent=thread.post, job=current)
    refused = [j for j in thread.edits if CANNOT_EDIT in j.data]
    if not reply and Capability.EDIT in NETWORKS[network].capabilities and not refused:
        return Step(name, network, Action.EDIT, f"{_label(network)} edits the post in place", new, thread.post,
                    thread.next_sequence(JobKind.EDIT), new)
    if reply:
        why = "--reply: a correction line goes under the post"
    elif refused:
        why = f"{_label(network)} refused to edit it ({refused[-1].data[CANNOT_EDIT]}): a correction line goes " \
              "under the post"
    else:
        why = f"{_label(network)} cannot edit posts: a correction line goes under the post"
    line = render_reply(settings, article, account, template=correction_template(settings, article, account),
                        card_from=new)
    same = [j for j in thread.replies if j.revision is not None and j.state not in ENDED and j.post.text == line.text]
    if same:
        return Step(name, network, Action.SKIP, f"the correction line would repeat job {same[-1].id}'s "
                    f"({same[-1].state}); set `[templates] correction` to say more", parent=thread.post, job=same[-1])
    return Step(name, network, Action.REPLY, why, line, thread.post, thread.next_sequence(JobKind.REPLY), new)


def plan_follow_up(settings: Settings, article: Article, account: Account, thread: Thread | None, text: str) -> Step:
    """What following up `account`'s post with `text` does: a reply under its latest reply or the post."""
    if (skip := _not_out(account, thread, Purpose.FOLLOW_UP)) is not None:
        return skip
    assert thread is not None
    name, network = account.name, account.network
    own = render_article(settings, article, [account]).posts[0]
    line = render_reply(settings, article, account, template=FOLLOW_UP_TEMPLATE + _link_line(account),
                        words=text.strip(), card_from=own)
    same = [j for j in thread.replies if j.revision is None and j.post.text == line.text]
    if same:
        hint = f": `sharebot queue retry {same[-1].id}` sends it" if same[-1].state is JobState.FAILED else ""
        return Step(name, network, Action.SKIP, f"already sent: job {same[-1].id} ({same[-1].state}){hint}",
                    parent=same[-1], job=same[-1])
    parent = thread.latest_reply() or thread.post
    under = "the post" if parent is thread.post else f"the latest reply (job {parent.id})"
    return Step(name, network, Action.REPLY, f"a reply under {under}", line, parent,
                thread.next_sequence(JobKind.REPLY))


# --- the commands -------------------------------------------------------------------------------------------
Planner = Callable[[Account, Thread | None], Step]


def preview(settings: Settings, purpose: Purpose | str, ref: str, *, networks: Iterable[str] = (),
            accounts: Iterable[str] = (), reply: bool = False, text: str = "") -> Report:
    """A dry run of `correct` or `follow-up`: what each account gets and why, from the queue as it stands (read,
    never created, upgraded or written)."""
    from sharebot.app import cannot_post
    from sharebot.pipeline import _existing_queue  # the dry run's own: opens the queue as it is, if there is one

    purpose = Purpose(purpose)
    article, chosen = _chosen(settings, ref, networks, accounts)
    with _existing_queue(settings) as store:
        if store is not None:
            article = queue_slug(store, article)
        found = threads(store, article.slug) if store is not None else {}
        blocked = cannot_post(settings, store, chosen, read_only=True)
    _some_out(article, found)
    plan = _planner(settings, purpose, article, reply=reply, text=text)
    return Report(purpose, article, tuple(_unless_blocked([plan(a, found.get(a.name)) for a in chosen], blocked)))


def correct(settings: Settings, ref: str, *, store: Store, adapters: Callable[[str], Adapter], clock: Clock,
            owner: str, networks: Iterable[str] = (), accounts: Iterable[str] = (), reply: bool = False) -> Report:
    """`sharebot correct`: bring every account's post of the article in line with the article as it reads now
    (edited in place, or a correction line as a reply), each change queued once and sent at once."""
    article, chosen = _chosen(settings, ref, networks, accounts)
    article = queue_slug(store, article)
    plan = _planner(settings, Purpose.CORRECTION, article, reply=reply)
    steps = _queue(settings, store, article, chosen, plan, clock)
    steps = _send(settings, store, steps, adapters=adapters, clock=clock, owner=owner)
    refused = [i for i, s in enumerate(steps) if s.action is Action.EDIT and s.job is not None
               and CANNOT_EDIT in s.job.data]
    if refused:  # the network said this post cannot be edited: the correction goes as a reply now
        again = _queue(settings, store, article, [settings.account(steps[i].account) for i in refused], plan, clock)
        again = _send(settings, store, again, adapters=adapters, clock=clock, owner=owner)
        for i, step in zip(refused, again, strict=True):
            _supersede(store, steps[i].job, step.job, clock())
            steps[i] = step
    return Report(Purpose.CORRECTION, article, tuple(steps), sent=True)


def follow_up(settings: Settings, ref: str, text: str, *, store: Store, adapters: Callable[[str], Adapter],
              clock: Clock, owner: str, networks: Iterable[str] = (), accounts: Iterable[str] = ()) -> Report:
    """`sharebot follow-up`: reply with `text` under each account's post of the article, or under its latest
    reply (a thread), queued once and sent at once."""
    article, chosen = _chosen(settings, ref, networks, accounts)
    article = queue_slug(store, article)
    plan = _planner(settings, Purpose.FOLLOW_UP, article, text=text)
    steps = _queue(settings, store, article, chosen, plan, clock)
    return Report(Purpose.FOLLOW_UP, article,
                  tuple(_send(settings, store, steps, adapters=adapters, clock=clock, owner=owner)), sent=True)


def _chosen(settings: Settings, ref: str, networks: Iterable[str], accounts: Iterable[str]) -> tuple[Article,
                                                                                                      list[Account]]:
    """The article as its source has it now (filed under the queue's slug by the caller), and the accounts."""
    chosen = [a for a in select_accounts(settings, networks=networks, accounts=accounts) if a.network not in LINK_ONLY]
    if not chosen:
        raise SharebotError("no chosen account posts through an API: share links cannot be corrected or answered")
    return load_article(settings, ref), chosen


def _planner(settings: Settings, purpose: Purpose, article: Article, *, reply: bool = False,
             text: str = "") -> Planner:
    if purpose is Purpose.CORRECTION:
        return lambda account, thread: plan_correction(settings, article, account, thread, reply=reply)
    if not text.strip():
        raise ValidationError("follow-up: --text is empty: give the update to post")
    return lambda account, thread: plan_follow_up(settings, article, account, thread, text)


def _some_out(article: Article, found: Mapping[str, Thread]) -> None:
    if not found:
        raise SharebotError(f"nothing of {article.slug!r} was posted: `sharebot publish {article.slug}` first")


def _unless_blocked(steps: list[Step], blocked: Mapping[str, str]) -> list[Step]:
    """Each step of an account that cannot post (`blocked`: account -> why) made a CANNOT naming what it would do."""
    return [s._replace(action=Action.CANNOT, why=f"{blocked[s.account]} (it would {s.action}: {s.why})", post=None)
            if s.account in blocked and s.action is not Action.SKIP else s for s in steps]


def _queue(settings: Settings, store: Store, article: Article, accounts: list[Account], plan: Planner,
           clock: Clock) -> list[Step]:
    """Plan each account against the queue as it is and queue its job (none for an account that cannot post:
    flagged, or a credential missing). A sequence another run took meanwhile means the queue changed: that
    account is planned again (and may now have nothing left to do)."""
    from sharebot.app import cannot_post

    found = threads(store, article.slug)
    _some_out(article, found)
    steps = _unless_blocked([plan(a, found.get(a.name)) for a in accounts], cannot_post(settings, store, accounts))
    for step in steps:
        if step.post is not None and step.post.blocked:
            reasons = "; ".join(i.message for i in step.post.issues if i.severity is Severity.ERROR)
            raise ValidationError(f"{article.slug}: nothing queued: the {step.action} for {step.account!r} would be "
                                  f"refused: {reasons}")
    done = []
    for account, step in zip(accounts, steps, strict=True):
        for _ in range(_RETRIES):
            if step.action in (Action.SKIP, Action.CANNOT) or step.post is None or step.parent is None:
                break
            kind = JobKind.EDIT if step.action is Action.EDIT else JobKind.REPLY
            job = store.insert_answer(step.parent, kind, step.sequence, step.post, now=clock(), revision=step.revision)
            if job is not None:
                step = step._replace(job=job)
                break
            step = plan(account, threads(store, article.slug, account.name).get(account.name))
        else:
            raise StoreError(f"{account.name}: other runs kept taking the next job for it; try again")
        done.append(step)
    return done


def _send(settings: Settings, store: Store, steps: list[Step], *, adapters: Callable[[str], Adapter], clock: Clock,
          owner: str) -> list[Step]:
    """Send the steps' new jobs now, in parallel; each step with its job as it stands after."""
    from sharebot.app import lease_seconds, retry_policy
    from sharebot.worker import Worker

    sending = [s.action in (Action.EDIT, Action.REPLY) and s.job is not None for s in steps]
    due = [s.job for s, sent in zip(steps, sending, strict=True) if sent and s.job is not None]
    if due:
        with Worker(store, adapters, owner=owner, clock=clock, policy=retry_policy(settings), concurrency=len(due),
                    lease_seconds=lease_seconds(settings), fingerprint=getattr(adapters, "fingerprint", None)) as w:
            w.publish_now(due)
    return [s._replace(job=store.get(s.job.id)) if sent and s.job is not None else s
            for s, sent in zip(steps, sending, strict=True)]


def _supersede(store: Store, edit: Job | None, reply: Job | None, now: datetime) -> None:
    """A refused edit is not a failure once its correction went as a reply: cancel it, naming the reply."""
    if edit is None or edit.state is not JobState.FAILED:
        return
    why = f"cannot edit: {edit.data[CANNOT_EDIT]}; corrected by reply job {reply.id if reply else '?'} instead"
    store.transition(edit.id, JobState.FAILED, JobState.CANCELED, now=now, reason=why, last_error=why)

