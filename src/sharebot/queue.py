"""The delivery queue's operations (enqueue, reschedule, retry, cancel, resolve, retract) and the retry policy.

The jobs, their states and the table of allowed moves are in `sharebot.jobs`. Every state write is a
compare-and-set on the old state, checked against that table, that appends a `job_events` row in the same
transaction: one job at a time through `Store.transition` (the operations here and the worker's outcomes),
many at once through `Store.claim` (queued -> running) and `Store.expire_leases` (running -> unknown).
Writes of a lease alone (`Store.claim_unknown`, `Store.renew_leases`) change no state and log nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

from sharebot.errors import JobStateError, SharebotError, StoreError, ValidationError
from sharebot.jobs import IN_DOUBT, Job, JobEvent, JobKind, JobState
from sharebot.models import RenderedPost
from sharebot.networks import NETWORKS

if TYPE_CHECKING:
    from random import Random

    from sharebot.adapters.base import AccountStatus, Adapter
    from sharebot.store import Store

log = logging.getLogger("sharebot.queue")


class RetryPolicy:
    """Exponential backoff with jitter (see https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).

    `attempt` counts tries already made (1 after the first). "full": uniform(0, min(cap, base·2^(attempt-1))).
    "decorrelated": min(cap, uniform(base, 3·previous)). "none": the exponential itself.
    A server's `retry_after` wins over all of these: waiting less would only earn another 429.
    """

    def __init__(self, base: float = 30.0, cap: float = 3600.0, max_attempts: int = 5, jitter: str = "full",
                 rng: Random | None = None) -> None:
        if jitter not in ("full", "decorrelated", "none"):
            raise ValueError(f"jitter must be full, decorrelated or none, not {jitter!r}")
        self.base, self.cap, self.max_attempts, self.jitter = base, cap, max_attempts, jitter
        if rng is None:
            from random import Random

            rng = Random()
        self.rng = rng

    def __repr__(self) -> str:
        return (f"RetryPolicy(base={self.base}, cap={self.cap}, max_attempts={self.max_attempts}, "
                f"jitter={self.jitter!r})")

    def delay(self, attempt: int, *, retry_after: float | None = None,
              previous: float | None = None) -> float:
        if retry_after is not None:
            return max(0.0, float(retry_after))
        ceiling: float = min(self.cap, self.base * 2 ** max(0, attempt - 1))
        if self.jitter == "none":
            return ceiling
        if self.jitter == "full":
            return self.rng.uniform(0.0, ceiling)
        prev = previous if previous is not None else self.base
        return min(self.cap, self.rng.uniform(self.base, max(self.base, prev * 3)))

    def may_retry(self, attempts: int) -> bool:
        return attempts < self.max_attempts


class EnqueueResult(NamedTuple):
    round: int
    added: tuple[Job, ...]
    existing: tuple[Job, ...]  # already queued or sent in this round: where the article already went


def enqueue(store: Store, slug: str, posts: Iterable[RenderedPost], *, now: datetime,
            run_at: datetime | None = None, repost: bool = False,
            run_at_for: Mapping[str, datetime] | None = None) -> EnqueueResult:
    """One job per post's account; idempotent per (slug, account) in the latest round; repost opens one."""
    posts = list(posts)
    blocked = [p for p in posts if p.blocked]
    if blocked:
        first = blocked[0]
        codes = ", ".join(i.code for i in first.issues if i.severity == "error")
        raise ValidationError(f"{slug}: post for account {first.account!r} is blocked ({codes})")
    accounts = [p.account for p in posts]
    if len(set(accounts)) != len(accounts):
        raise ValueError(f"{slug}: more than one post for the same account")
    latest = store.latest_round(slug)
    if repost or latest == 0:
        round_ = latest + 1
        added = store.insert_jobs(slug, round_, posts, now=now, run_at=run_at or now, run_at_for=run_at_for)
        return EnqueueResult(round_, tuple(added), ())
    # Without --repost an account gets the article once, whatever round its job is in: a repost of one
    # network must not open a second round for the others.
    newest: dict[str, Job] = {}
    for job in store.list_jobs(slug=slug):
        if job.kind is not JobKind.POST:  # an edit or reply of a post is not another delivery of the article
            continue
        if job.account in accounts and (job.account not in newest or job.round > newest[job.account].round):
            newest[job.account] = job
    fresh = [p for p in posts if p.account not in newest]
    added = store.insert_jobs(slug, latest, fresh, now=now, run_at=run_at or now, run_at_for=run_at_for)
    return EnqueueResult(latest, tuple(added), tuple(newest[a] for a in accounts if a in newest))


def reschedule(store: Store, job: Job, run_at: datetime, now: datetime, *, reason: str) -> Job:
    """Move a job that is still waiting to `run_at` (e.g. `publish --now` for breaking news)."""
    return store.transition(job.id, JobState.QUEUED, JobState.QUEUED, now=now, reason=reason, run_at=run_at)


def retry(store: Store, job_id: int, now: datetime, *, run_at: datetime | None = None) -> Job:
    """Send a failed or canceled job again, with a fresh attempt budget."""
    job = store.get(job_id)
    if job.state in IN_DOUBT:
        raise JobStateError(f"job {job_id} may already be posted: settle it with resolve first")
    if job.retracted_at is not None:
        raise JobStateError(f"job {job_id}: its article was retracted; `sharebot publish {job.slug} --repost` "
                            "posts it again")
    if job.state not in (JobState.FAILED, JobState.CANCELED):
        raise JobStateError(f"job {job_id} is {job.state}: only failed or canceled jobs are retried")
    return store.transition(job_id, job.state, JobState.QUEUED, now=now, reason="retry requested",
                            attempts=0, run_at=run_at or now)


def cancel(store: Store, job_id: int, now: datetime, *, reason: str = "canceled") -> Job:
    job = store.get(job_id)
    if job.state in IN_DOUBT:  # canceled, it could be retried blind
        raise JobStateError(f"job {job_id} is {job.state}: it may already be posted; settle it with resolve first")
    return store.transition(job_id, job.state, JobState.CANCELED, now=now, reason=reason)


def resolve(store: Store, job_id: int, now: datetime, *, posted_url: str | None = None,
            remote_id: str | None = None, not_posted: bool = False) -> Job:
    """A person settles an unknown or attention job: it went out (at posted_url), or it did not (send it
    again; canceled instead when its article was retracted).

    Without the network's own `remote_id` the job is published with no id: `retract` then says it cannot
    delete that post itself, rather than sending a URL where the network expects an id.
    """
    if (posted_url is None) == (not not_posted):
        raise ValueError("resolve needs exactly one of posted_url or not_posted=True")
    if posted_url is not None and not posted_url.startswith(("https://", "http://")):
        raise ValidationError(f"--posted: {posted_url!r} is not an http(s) URL")
    job = store.get(job_id)
    if job.state not in IN_DOUBT:
        raise JobStateError(f"job {job_id} is {job.state}, only unknown or attention jobs are resolved")
    if not_posted and job.retracted_at is not None:
        return store.transition(job_id, job.state, JobState.CANCELED, now=now,
                                reason="resolved: not posted; article retracted", last_error=None)
    if not_posted:
        return store.transition(job_id, job.state, JobState.QUEUED, now=now,
                                reason="resolved: not posted", run_at=now)
    return store.transition(job_id, job.state, JobState.PUBLISHED, now=now, reason="resolved: posted",
                            remote_id=remote_id, remote_url=posted_url, last_error=None)


def mark_deleted(store: Store, job_id: int, now: datetime, *, reason: str = "deleted") -> Job:
    return store.transition(job_id, JobState.PUBLISHED, JobState.DELETED, now=now, reason=reason)


def retract(store: Store, adapter: Adapter, job_id: int, now: datetime) -> Job:
    """Delete a published post on its network, then record it. Raises the adapter's PublishError."""
    job = store.get(job_id)
    if job.state is not JobState.PUBLISHED or not job.remote_id:
        raise JobStateError(f"job {job_id} is {job.state}, only published posts can be retracted")
    adapter.delete(job.remote_id)
    return mark_deleted(store, job_id, now, reason="retracted")


# --- retracting a whole article ----------------------------------------------------------------------
class RetractAction(StrEnum):
    """What `retract` does (or, in a dry run, would do) with one job."""

    DELETE = "delete"  # published: delete the post on its network
    CANCEL = "cancel"  # queued or failed: it never goes out
    LOOK = "look"  # unknown: ask the network whether it went out, then delete or cancel
    WAIT = "wait"  # in flight: wait for its outcome, then delete or cancel
    BY_HAND = "by hand"  # sharebot cannot settle it: a person must (the detail says how)
    GONE = "gone"  # canceled or deleted already


class RetractResult(StrEnum):
    DELETED = "deleted"
    CANCELED = "canceled"
    GONE = "already gone"
    NOT_DELETED = "NOT deleted"  # could not: the detail says why and what a person must do
    IN_FLIGHT = "in flight"  # still being posted when retract stopped waiting; the worker cancels it if unsent


class RetractStep(NamedTuple):
    job: Job
    action: RetractAction
    detail: str = ""


class Retracted(NamedTuple):
    job: Job
    result: RetractResult
    detail: str = ""


def _label(job: Job) -> str:
    return NETWORKS[job.network].label


def _by_hand(job: Job) -> str:
    return (f"it may be out, and {_label(job)} cannot look for its own posts: check the account; if the post is "
            f"there, `sharebot queue resolve {job.id} --posted URL --remote-id ID` and retract again, else "
            f"`sharebot queue resolve {job.id} --not-posted`")


def retract_step(job: Job) -> RetractStep:
    """What retracting the article does with this job, judged by its state alone."""
    from sharebot.dispatch import can_look

    state, A = job.state, RetractAction
    if state is JobState.PUBLISHED:
        if job.kind is JobKind.EDIT:  # nothing of its own is out: the post it changed is deleted by its job
            return RetractStep(job, A.GONE, f"an edit of job {job.parent_id}'s post, which goes with it")
        if not job.remote_id:  # settled by hand with only a URL
            return RetractStep(job, A.BY_HAND, f"no network id was recorded; delete {job.remote_url} by hand")
        return RetractStep(job, A.DELETE, job.remote_url or job.remote_id)
    if state in (JobState.QUEUED, JobState.FAILED):
        return RetractStep(job, A.CANCEL, "not sent")
    if state is JobState.RUNNING:
        return RetractStep(job, A.WAIT, "in flight: waits for its outcome, then deletes or cancels it")
    if state is JobState.UNKNOWN and can_look(job):
        return RetractStep(job, A.LOOK, f"may be out: asks {_label(job)} first")
    if state in IN_DOUBT:
        return RetractStep(job, A.BY_HAND, _by_hand(job))
    return RetractStep(job, A.GONE, str(state))


def settle_retracted(store: Store, job: Job, adapter_for: Callable[[str], Adapter], *, now: datetime,
                     owner: str, lease: timedelta) -> Retracted:
    """Carry out `retract_step` for one job already marked retracted (`Store.mark_retracted`), as it stands
    now. Every write is a compare-and-set; one lost to a worker is looked at again, once it has settled."""
    R = RetractResult
    step = retract_step(job)
    try:
        if step.action is RetractAction.GONE:
            return Retracted(job, R.GONE, step.detail)
        if step.action is RetractAction.CANCEL:
            return Retracted(store.transition(job.id, job.state, JobState.CANCELED, now=now,
                                              reason="article retracted", last_error=None), R.CANCELED)
        if step.action is RetractAction.DELETE:
            assert job.remote_id is not None
            adapter_for(job.account).delete(job.remote_id)
            return Retracted(mark_deleted(store, job.id, now, reason="retracted"), R.DELETED, step.detail)
        if step.action is RetractAction.WAIT:
            return Retracted(job, R.IN_FLIGHT, "still in flight: a worker cancels it if it is not sent; if it is "
                             f"posted, `sharebot retract {job.slug}` again deletes it")
        if step.action is RetractAction.LOOK:
            return _look_then_settle(store, job, adapter_for, now=now, owner=owner, lease=lease)
        if job.state is JobState.UNKNOWN:  # no way to look: make it wait for a person where all can see it
            job = store.transition(job.id, JobState.UNKNOWN, JobState.ATTENTION, now=now,
                                   reason=f"article retracted; {step.detail}", last_error=step.detail)
        return Retracted(job, R.NOT_DELETED, step.detail)
    except JobStateError:  # a worker moved it meanwhile: judge it again as it is now
        current = store.get(job.id)
        if current.state is job.state:
            raise
        return settle_retracted(store, current, adapter_for, now=now, owner=owner, lease=lease)
    except SharebotError as exc:
        return Retracted(job, R.NOT_DELETED, str(exc))


def _look_then_settle(store: Store, job: Job, adapter_for: Callable[[str], Adapter], *, now: datetime, owner: str,
                      lease: timedelta) -> Retracted:
    from sharebot.adapters.base import Delivery
    from sharebot.dispatch import call_for

    leased = store.claim_unknown(owner, now=now, lease_until=now + lease, limit=1, ids=[job.id])
    if not leased:  # a worker is checking it right now
        return Retracted(job, RetractResult.IN_FLIGHT, "a worker is checking it now: if it finds the post, "
                         f"`sharebot retract {job.slug}` again deletes it, else it is canceled")
    try:
        held = leased[0]
        parent = store.get(held.parent_id) if held.parent_id is not None else None
        found = call_for(held, adapter_for(job.account), parent).find(Delivery(held.key, now, held.data))
    except SharebotError as exc:
        why = f"cannot look ({exc}): run `sharebot retract {job.slug}` again later, or settle it by hand with " \
              f"`sharebot queue resolve {job.id}`"
        job = store.transition(job.id, JobState.UNKNOWN, JobState.UNKNOWN, now=now, owner=owner,
                               reason=f"check during retract failed: {exc}", last_error=str(exc))
        return Retracted(job, RetractResult.NOT_DELETED, why)
    if found is None:
        job = store.transition(job.id, JobState.UNKNOWN, JobState.CANCELED, now=now, owner=owner,
                               reason="article retracted; the check found no post", last_error=None)
        return Retracted(job, RetractResult.CANCELED, "the check found no post")
    job = store.transition(job.id, JobState.UNKNOWN, JobState.PUBLISHED, now=now, owner=owner,
                           reason="check found the post", remote_id=found.remote_id, remote_url=found.url,
                           last_error=None)
    return settle_retracted(store, job, adapter_for, now=now, owner=owner, lease=lease)


def record_check(store: Store, status: AccountStatus, now: datetime, *, fingerprint: str | None = None) -> None:
    """Keep the account flag in step with a credential check: ok clears it, rejected sets it (for the
    credentials `fingerprint` names)."""
    if status.state == "ok":
        store.clear_account_flag(status.account)
    elif status.state in ("rejected", "missing"):
        store.flag_account(status.account, status.detail or status.state, now=now, fingerprint=fingerprint)


def jobs_for_slug(store: Store, slug: str) -> list[Job]:
    return store.list_jobs(slug=slug)


def list_jobs(store: Store, *, state: JobState | str | None = None, account: str | None = None,
              slug: str | None = None, limit: int | None = None) -> list[Job]:
    return store.list_jobs(state=JobState(state) if state else None, account=account, slug=slug, limit=limit)


def job_events(store: Store, job_id: int) -> list[JobEvent]:
    store.get(job_id)  # NotFound for a wrong id rather than an empty history
    return store.events(job_id)


# --- history retention -------------------------------------------------------------------------------------
KEEP_AT_LEAST = timedelta(days=1)  # the scheduler spaces posts by the last day's published jobs


class PruneReport(NamedTuple):
    before: datetime  # jobs last changed before this were (or, in a dry run, would be) deleted
    jobs: Mapping[JobState, int]  # per finished state
    events: int
    dry_run: bool
    more: bool = False  # stopped after `max_batches` full batches of some state: there may be more


def prune(store: Store, *, now: datetime, older_than: timedelta, dry_run: bool = False, batch: int = 500,
          max_batches: int | None = None) -> PruneReport:
    """Delete finished jobs (published, deleted, canceled, failed) last changed more than `older_than` before
    `now`, with their events, `batch` jobs per transaction so that workers carry on between batches; with
    `max_batches`, at most that many batches of each state. Queued, running and unknown jobs, and any job a
    person still has to act on, are never touched. After this, sharebot no longer knows where those articles
    went: `publish` would post them again."""
    from sharebot.store import PRUNABLE

    if older_than < KEEP_AT_LEAST:
        raise ValidationError(f"--older-than: keep at least {KEEP_AT_LEAST.days} day of history; the scheduler "
                              "spaces posts by the last day's")
    if batch < 1:
        raise ValueError("batch must be at least 1")
    before = now - older_than
    jobs = dict.fromkeys(PRUNABLE, 0)
    events = 0
    if dry_run:
        for state in PRUNABLE:
            jobs[state], found = store.count_finished(state, before=before)
            events += found
        return PruneReport(before, jobs, events, dry_run)
    while True:  # a pass frees the jobs whose edits and replies it deleted for the next
        deleted_in_pass, more = 0, False
        for state in PRUNABLE:
            batches = 0
            while max_batches is None or batches < max_batches:
                deleted, found = store.prune_finished(state, before=before, limit=batch)
                batches += 1
                jobs[state] += deleted
                events += found
                deleted_in_pass += deleted
                if deleted < batch:
                    break
            else:
                more = True
        if more or not deleted_in_pass or max_batches is not None:
            return PruneReport(before, jobs, events, dry_run, more)


class HistoryRetention:
    """`[queue] keep_history`, applied by a worker on its clock: a prune when it starts and then once a day,
    one batch per call while there is more to delete, so that a long first prune never holds up posting."""

    def __init__(self, store: Store, keep: timedelta, *, every: timedelta = timedelta(days=1),
                 batch: int = 500) -> None:
        if keep < KEEP_AT_LEAST:
            raise ValidationError(f"queue.keep_history: keep at least {KEEP_AT_LEAST.days} day of history")
        self.store, self.keep, self.every, self.batch = store, keep, every, batch
        self.due: datetime | None = None  # None: at the first call

    def __call__(self, now: datetime) -> PruneReport | None:
        if self.due is not None and now < self.due:
            return None
        try:
            report = prune(self.store, now=now, older_than=self.keep, batch=self.batch, max_batches=1)
        except StoreError as e:  # a busy database: posting goes on, and the prune is tried again later
            log.warning("history prune failed, trying again in an hour: %s", e)
            self.due = now + timedelta(hours=1)
            return None
        self.due = now if report.more else now + self.every
        if sum(report.jobs.values()):
            log.info("pruned %d finished job(s) and %d event(s) last changed before %s",
                     sum(report.jobs.values()), report.events, report.before.isoformat())
        return report
