"""The worker: claims due jobs under a lease, posts them in parallel, and records what happened.

Adapters run in a thread pool; every store write happens in the calling thread, so a store needs no
cross-thread transactions (but for `begin_attempt` and `Delivery.save`, single writes from a pool thread).
A job whose outcome is in doubt (read timeout, dead worker) becomes `unknown` and is only ever sent again
after `adapter.find` (for an edit or a reply, `find_edit` / `find_reply`: `sharebot.dispatch`) has said it is
not there; on a network that cannot look (no Capability.FIND) it becomes
`attention` and waits for a person. An attempt is counted just before the request goes out, so a claim that
never reached the network spends none. A job whose article was retracted ends canceled when it certainly
did not go out.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sharebot.adapters.base import Adapter, Delivery, mask
from sharebot.dispatch import Call, Readiness, call_for, can_look, parent_ready
from sharebot.errors import AuthError, JobStateError, NotSent, RateLimited, Rejected, Unconfirmed
from sharebot.fetch import FetchError
from sharebot.jobs import Job, JobState
from sharebot.networks import NETWORKS
from sharebot.queue import RetryPolicy
from sharebot.scrub import one_line
from sharebot.store import Store

if TYPE_CHECKING:
    from sharebot.handoff import Listener

log = logging.getLogger("sharebot.worker")
S = JobState
# ("publish" | "find", the job with the lease we hold on it, its adapter, the attempts counted when it was sent)
_Task = tuple[str, Job, Adapter, list[int]]
Wait = Callable[[Collection[Future[Any]], float], Collection[Future[Any]]]


@dataclass(frozen=True)
class Outcome:
    job_id: int
    slug: str
    account: str
    state: JobState | None  # None: another worker owns the job now, nothing was recorded
    detail: str = ""
    url: str | None = None


class _LeaseLost(Exception):
    """The job was no longer ours when its request was about to go out: nothing was sent."""


def first_done(futures: Collection[Future[Any]], timeout: float) -> Collection[Future[Any]]:
    """Block until one of `futures` is done or `timeout` seconds pass; return those done."""
    return wait_futures(futures, timeout=timeout, return_when=FIRST_COMPLETED).done


NOTE_EVERY = timedelta(minutes=1)  # how often a worker marks the due jobs it leaves to others (a write)
LEFT_NOTE = "left by "  # how such a note begins (`left_note`)


def left_note(owner: str, unset: Iterable[str]) -> str:
    """The note a worker without an account's credentials puts on that account's due jobs."""
    return f"{LEFT_NOTE}{owner}: {', '.join(unset)} not set there; a worker that has them posts it"


def why_not_taken(job: Job) -> str:
    """Why `publish_now` did not claim this job: someone else has or had it, or its account is flagged."""
    if job.state is S.RUNNING:
        return f"being posted by {job.lease_owner or 'another worker'}"
    if job.state is S.QUEUED:
        return "not posted now: its account is flagged"
    return f"not posted now: {job.state} meanwhile" + (f" ({job.last_error})" if job.last_error else "")


class Worker:
    """Leases are judged on `clock`, the same clock other workers expire them by: a post in flight has its
    lease renewed once a third of it has passed on that clock. `wait` is where that time passes while posts
    are in flight (`first_done`: real time); a test passes one that advances its fake clock instead."""

    def __init__(self, store: Store, adapter_for: Callable[[str], Adapter], *, owner: str,
                 clock: Callable[[], datetime], policy: RetryPolicy, concurrency: int = 4,
                 lease_seconds: float = 120, poll_seconds: float = 1.0, wait: Wait = first_done,
                 fingerprint: Callable[[str], str | None] | None = None,
                 housekeeping: Callable[[datetime], object] | None = None,
                 on_outcome: Callable[[Outcome], object] | None = None,
                 handoffs: Listener | None = None, unpostable: Mapping[str, str] | None = None) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.store = store
        self.adapter_for = adapter_for  # owns adapter lifetimes (caching, close)
        self.owner = owner
        self.clock = clock
        self.wait = wait
        self.policy = policy
        self.concurrency = concurrency
        self.lease = timedelta(seconds=lease_seconds)
        self.renew_every = timedelta(seconds=max(0.05, lease_seconds / 3))
        self.poll_seconds = poll_seconds
        self.housekeeping = housekeeping  # called with the clock's time before each claim (history retention)
        self.fingerprint = fingerprint  # account -> a fingerprint of its credentials, kept with a flag
        self.on_outcome = on_outcome  # told of each outcome `run` records, as it is recorded
        self.finals: dict[int, JobState] = {}  # each job this worker recorded an outcome for: its last state
        self.handoffs = handoffs  # job ids `publish` handed over (`sharebot.handoff`): claimed first
        # Accounts this process has no credentials for, each with the note its due jobs get: their jobs are left
        # to workers that have them (a handed one is refused, and `publish`, which may have them, posts it), and
        # the note shows in `status` and `queue` while they wait, so a job no worker can post is never silent.
        self.notes = dict(unpostable or {})
        self.unpostable = frozenset(self.notes)
        self._noted_at: datetime | None = None
        self._asked: set[int] = set()  # handed ids not answered yet
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"sharebot-{owner}")

    def tally(self) -> Counter[JobState]:
        """How the jobs this worker recorded outcomes for stand, by state."""
        return Counter(self.finals.values())

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- entry points ----------------------------------------------------------------------------
    def run_once(self) -> list[Outcome]:
        """Recover dead leases, check due unknown jobs, post due queued ones; up to `concurrency` in all."""
        pending: dict[Future[Any], _Task] = {}
        outcomes, _ = self._fill(pending, self.concurrency)
        return outcomes + self._collect(pending, wait_all=True)

    def publish_now(self, jobs: Iterable[Job]) -> list[Outcome]:
        """Post these queued jobs right away, in parallel (for `sharebot publish`), whatever their run_at."""
        jobs = list(jobs)
        now = self.clock()
        claimed = self.store.claim(self.owner, now=now, lease_until=now + self.lease, limit=len(jobs),
                                   ids=[j.id for j in jobs]) if jobs else []
        taken = {j.id for j in claimed}
        outcomes = []
        for job in jobs:
            if job.id not in taken:
                current = self.store.get(job.id)
                outcomes.append(Outcome(job.id, job.slug, job.account, current.state, why_not_taken(current)))
        pending: dict[Future[Any], _Task] = {}
        outcomes += self._submit([], claimed, now, pending)
        return outcomes + self._collect(pending, wait_all=True)

    def run(self, burst: bool = False, stop: threading.Event | None = None) -> int:
        """Work until `stop` is set; with burst, stop when nothing is due or in flight. Returns jobs handled.

        Unlike repeated run_once calls, a slot freed by a fast post is refilled at once instead of waiting
        for the slowest post of its batch.
        """
        stop = stop or threading.Event()
        pending: dict[Future[Any], _Task] = {}
        handled = 0
        while not stop.is_set():
            free = self.concurrency - len(pending)
            settled, claimed = self._fill(pending, free) if free else self._fill_handed(pending)
            handled += self._told(self._answer(settled))
            if not pending:
                if burst and not claimed:
                    break
                if not claimed:
                    self._idle(stop)
                continue
            handled += self._told(self._answer(self._collect(pending, wait_all=False, timeout=self.poll_seconds)))
        handled += self._told(self._answer(self._collect(pending, wait_all=True)))  # stopped: what is in the air
        return handled

    def _told(self, outcomes: list[Outcome]) -> int:
        if self.on_outcome is not None:
            for outcome in outcomes:
                self.on_outcome(outcome)
        return len(outcomes)

    def _idle(self, stop: threading.Event) -> None:
        """Nothing due: wait for a hand-off, new jobs or the next look at the queue, or until stopped."""
        if self.handoffs is None:
            stop.wait(self.poll_seconds)
            return
        # Listening, the queue is looked at when told (a hand-off, new jobs on PostgreSQL), when the next job's
        # time comes, and otherwise every `handoffs.poll_seconds`; `stop` is checked every poll_seconds.
        # A job overdue yet not claimed (its account is flagged) does not shorten the wait.
        now = self.clock()
        until = now + timedelta(seconds=max(self.handoffs.poll_seconds, self.poll_seconds))
        if self.handoffs.poll_seconds > self.poll_seconds:  # polled as often as before otherwise: nothing to gain
            due = self.store.next_due(after=now)
            if due is not None and due < until:
                until = due
        while not stop.is_set() and self.clock() < until:
            if self.handoffs.wait(min(self.poll_seconds, 0.5)):
                return

    def _answer(self, outcomes: list[Outcome]) -> list[Outcome]:
        """Tell `publish` about the handed jobs that just settled."""
        if self.handoffs is not None and self._asked:
            done = [o.job_id for o in outcomes if o.job_id in self._asked and o.state is not None]
            if done:
                self._asked.difference_update(done)
                self.handoffs.answer(settled=done)
        return outcomes

    # --- claiming, submitting, recording ---------------------------------------------------------
    def _fill(self, pending: dict[Future[Any], _Task], room: int) -> tuple[list[Outcome], int]:
        """Claim up to `room` jobs (unknown ones to check first) and submit them.

        Returns the outcomes settled without a network call (no adapter, say) and how many were claimed.
        """
        now = self.clock()
        if self.housekeeping is not None:
            self.housekeeping(now)
        # A lease runs out only when its worker died or hung (live posts are renewed); give a request it may
        # still have had in the air time to land before looking for the post.
        for job in self.store.expire_leases(now, recheck_at=now + timedelta(seconds=self.policy.base)):
            self._log(job, S.RUNNING, S.UNKNOWN, job.last_error or "lease expired")
        until = now + self.lease
        handed = self._claim_handed(pending, now, until)
        room -= len(handed)
        if room <= 0:
            return self._submit([], handed, now, pending), len(handed)
        checks = self.store.claim_unknown(self.owner, now=now, lease_until=until, limit=room,
                                          skip_accounts=self.unpostable)
        room -= len(checks)
        posts = self.store.claim(self.owner, now=now, lease_until=until, limit=room,
                                 skip_accounts=self.unpostable) if room else []
        if self.notes and (self._noted_at is None or now - self._noted_at >= NOTE_EVERY):
            self.store.note_waiting(self.notes, now=now)
            self._noted_at = now
        return self._submit(checks, handed + posts, now, pending), len(checks) + len(handed) + len(posts)

    def _fill_handed(self, pending: dict[Future[Any], _Task]) -> tuple[list[Outcome], int]:
        """Every slot busy: only what `publish` handed over is claimed (an editor waits on it); the queue's
        housekeeping and lease expiry wait for a free slot, as its other jobs do."""
        now = self.clock()
        handed = self._claim_handed(pending, now, now + self.lease)
        return self._submit([], handed, now, pending), len(handed)

    def _claim_handed(self, pending: dict[Future[Any], _Task], now: datetime, until: datetime) -> list[Job]:
        """Claim the jobs `publish` handed over, beyond `concurrency` if need be: an editor waits on them.
        The claim is the queue's compare-and-set; a job this worker already holds or settled is answered for
        when it settles, or at once; one it cannot claim is refused (someone else has it, or it is not due)."""
        if self.handoffs is None:
            return []
        asked = self.handoffs.take()
        if not asked:
            return []
        holding = {job.id for _, job, _, _ in pending.values()}
        self._asked.update(asked)
        # settled here already (not merely put back to wait: that one is claimed again like any other)
        done = [i for i in asked if self.finals.get(i, S.QUEUED) is not S.QUEUED and i not in holding]
        rest = [i for i in asked if i not in holding and i not in done]
        claimed = self.store.claim(self.owner, now=now, lease_until=until, limit=len(rest), ids=rest,
                                   skip_accounts=self.unpostable) if rest else []
        taken = {j.id for j in claimed}
        refused = [i for i in asked if i not in holding and i not in done and i not in taken]
        self._asked.difference_update(done + refused)
        self.handoffs.answer(settled=done, refused=refused)
        return claimed

    def _collect(self, pending: dict[Future[Any], _Task], *, wait_all: bool,
                 timeout: float | None = None) -> list[Outcome]:
        """Record finished tasks: all of them (wait_all), or those done within `timeout` seconds on the clock.
        While posts are in flight their leases are renewed, so a slow network never makes a live post look
        abandoned."""
        outcomes: list[Outcome] = []
        deadline = None if wait_all else self.clock() + timedelta(seconds=timeout or 0.0)
        while pending:
            now = self.clock()
            renew_at = self._renew_due(pending, now)
            until = renew_at if deadline is None else min(renew_at, deadline)
            done = self.wait(list(pending), max(0.0, (until - now).total_seconds()))
            for fut in done:
                kind, job, adapter, counted = pending.pop(fut)
                record = self._after_find if kind == "find" else self._after_publish
                outcomes.append(record(job, adapter, fut, counted))
            if deadline is not None and (done or self.clock() >= deadline):
                break
        return outcomes

    def _renew_due(self, pending: dict[Future[Any], _Task], now: datetime) -> datetime:
        """Renew the leases in flight once the first to run out is a third used up; returns when the next
        renewal is due."""
        first_out = min(job.lease_until or now for _, job, _, _ in pending.values())
        renew_at = first_out - self.lease + self.renew_every
        if now < renew_at:
            return renew_at
        until = now + self.lease
        self.store.renew_leases([job.id for _, job, _, _ in pending.values()], owner=self.owner, until=until)
        for fut, (kind, job, adapter, counted) in list(pending.items()):
            pending[fut] = (kind, job._replace(lease_until=until), adapter, counted)
        return now + self.renew_every

    def _submit(self, checks: list[Job], posts: list[Job], now: datetime,
                pending: dict[Future[Any], _Task]) -> list[Outcome]:
        for job in posts:
            self._log(job, S.QUEUED, S.RUNNING, f"claimed, attempt {job.attempts + 1}")
        outcomes: list[Outcome] = []
        for job in checks:
            if not can_look(job):  # looking would only fail again: a person settles it, no check loop
                outcomes.append(self._move(job, S.ATTENTION, now, self._attention_reason(job, job.last_error)))
                continue
            adapter = self._adapter(job, outcomes)
            if adapter is not None and (call := self._call(job, adapter, outcomes)) is not None:
                fut = self._pool.submit(call.find, Delivery(job.key, now, job.data))
                pending[fut] = ("find", job, adapter, [])
        for job in posts:
            adapter = self._adapter(job, outcomes)
            if adapter is None or (call := self._call(job, adapter, outcomes)) is None:
                continue
            try:
                data = job.data
                if not data:
                    data = dict(adapter.prepare(job.post, Delivery(job.key, now, {})))
                    if data:  # persisted before the first attempt so a retry reuses e.g. the record key
                        job = self.store.set_data(job.id, data, owner=self.owner)
            except JobStateError as e:
                outcomes.append(Outcome(job.id, job.slug, job.account, None, str(e)))
                continue
            except Exception as e:
                outcomes.append(self._move(job, S.FAILED, self.clock(),
                                           f"prepare failed: {self._scrub(e, adapter)}"))
                continue
            counted: list[int] = []
            fut = self._pool.submit(self._send, job, call.send,
                                    Delivery(job.key, now, data, save=self._saver(job.id, data)), counted)
            pending[fut] = ("publish", job, adapter, counted)
        return outcomes

    def _adapter(self, job: Job, outcomes: list[Outcome]) -> Adapter | None:
        try:
            return self.adapter_for(job.account)
        except Exception as e:
            reason = f"no adapter for account {job.account!r}: {one_line(e)}"
            now = self.clock()
            if isinstance(e, AuthError):
                self._flag(job.account, one_line(e), now)
            if job.state is S.UNKNOWN:  # cannot check now; keep it in doubt, look again later
                outcomes.append(self._move(job, S.UNKNOWN, now, reason, run_at=now + self._wait(job)))
            else:
                outcomes.append(self._move(job, S.FAILED, now, reason))
            return None

    def _call(self, job: Job, adapter: Adapter, outcomes: list[Outcome]) -> Call | None:
        """What to ask the adapter for this kind of job (`dispatch`). An edit or reply whose parent is not out
        yet waits for it (requeued, no attempt spent), or fails when the parent never will be; None then."""
        parent = self.store.get(job.parent_id) if job.parent_id is not None else None
        ready, why = parent_ready(job, parent)
        if ready is Readiness.READY or job.state is S.UNKNOWN:  # a check: the parent was out when it was sent
            return call_for(job, adapter, parent)
        now = self.clock()
        if ready is Readiness.WAIT:
            outcomes.append(self._move(job, S.QUEUED, now, why, run_at=now + timedelta(seconds=self.policy.base)))
        else:
            outcomes.append(self._move(job, S.FAILED, now, why))
        return None

    def _send(self, job: Job, send: Callable[[Delivery], Any], delivery: Delivery, counted: list[int]) -> Any:
        """In a pool thread: count the attempt (if the lease is still ours), then send (`dispatch.Call.send`)."""
        try:
            counted.append(self.store.begin_attempt(job.id, owner=self.owner))
        except JobStateError as e:
            raise _LeaseLost(str(e)) from None
        return send(replace(delivery, attempt=counted[0]))

    # --- the except-ladder -----------------------------------------------------------------------
    def _after_publish(self, job: Job, adapter: Adapter, fut: Future[Any], counted: list[int]) -> Outcome:
        now = self.clock()
        job = job._replace(attempts=counted[0] if counted else job.attempts)
        e = fut.exception()
        if e is None:
            result = fut.result()
            return self._move(job, S.PUBLISHED, now, "posted", remote_id=result.remote_id, remote_url=result.url,
                              last_error=None)
        if isinstance(e, _LeaseLost):
            return Outcome(job.id, job.slug, job.account, None, str(e))
        if isinstance(e, FetchError):  # the safe fetcher only reads (an article image): nothing was posted
            e = (Rejected if e.lasting else NotSent)(str(job.network), f"image: {e}")
        if isinstance(e, RateLimited):
            # Not counted against max_attempts: the network is pacing us, the post itself is fine.
            seconds = self.policy.delay(job.attempts, retry_after=e.retry_after, previous=self._previous(job))
            return self._move(job, S.QUEUED, now, self._scrub(e, adapter),
                              run_at=now + timedelta(seconds=seconds), attempts=max(0, job.attempts - 1))
        if isinstance(e, NotSent):
            msg = self._scrub(e, adapter)
            if not self.policy.may_retry(job.attempts):
                return self._move(job, S.FAILED, now, f"gave up after {job.attempts} attempts: {msg}")
            return self._move(job, S.QUEUED, now, msg, run_at=now + self._wait(job))
        if isinstance(e, AuthError):
            msg = self._scrub(e, adapter)
            self._flag(job.account, msg, now)
            return self._move(job, S.FAILED, now, msg)
        if isinstance(e, Rejected):
            return self._move(job, S.FAILED, now, self._scrub(e, adapter))
        # Unconfirmed, or an adapter bug: nothing proves the post did not go out.
        msg = self._scrub(e, adapter) if isinstance(e, Unconfirmed) else f"unexpected {self._scrub(e, adapter)}"
        if not can_look(job):
            return self._move(job, S.ATTENTION, now, self._attention_reason(job, msg))
        return self._move(job, S.UNKNOWN, now, msg, run_at=now + timedelta(seconds=self.policy.base))

    def _after_find(self, job: Job, adapter: Adapter, fut: Future[Any], counted: list[int]) -> Outcome:
        now = self.clock()
        try:
            result = fut.result()
        except Exception as e:
            msg = self._scrub(e, adapter)
            if isinstance(e, AuthError):
                self._flag(job.account, msg, now)
            return self._move(job, S.UNKNOWN, now, f"check failed: {msg}", run_at=now + self._wait(job))
        if result is None:
            if not self.policy.may_retry(job.attempts):
                # Each round here sent a post whose answer never came and that no check finds: stop sending.
                return self._move(job, S.FAILED, now, f"gave up after {job.attempts} attempts: no answer, and the "
                                  "post is not found; check the account, then `sharebot queue retry`")
            return self._move(job, S.QUEUED, now, "check found no post; sending again", run_at=now)
        return self._move(job, S.PUBLISHED, now, "check found the post", remote_id=result.remote_id,
                          remote_url=result.url, last_error=None)

    # --- helpers ---------------------------------------------------------------------------------
    def _saver(self, job_id: int, data: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], None]:
        """Lets an adapter persist values mid-publish (from a pool thread; the store is thread-safe)."""
        merged = dict(data)

        def save(values: Mapping[str, Any]) -> None:
            merged.update(values)
            self.store.set_data(job_id, merged, owner=self.owner)

        return save

    def _move(self, job: Job, to: JobState, now: datetime, reason: str, **changes: Any) -> Outcome:
        reason = self._masked(job.account, reason)
        if to is S.PUBLISHED and (job.last_error or "").startswith(LEFT_NOTE):
            changes.setdefault("last_error", None)  # a worker without its credentials left it: no error of its own
        if to is not S.PUBLISHED and "last_error" not in changes:
            changes["last_error"] = reason
        elif changes.get("last_error"):
            changes["last_error"] = self._masked(job.account, changes["last_error"])
        try:
            done = self.store.transition(job.id, job.state, to, now=now, reason=reason, owner=self.owner,
                                         **changes)
        except JobStateError as e:
            log.warning("job %d %s/%s: outcome %s not recorded: %s", job.id, job.slug, job.account, to, e)
            return Outcome(job.id, job.slug, job.account, None, str(e))
        self._log(done, job.state, to, reason)
        if to is S.QUEUED and done.retracted_at is not None:
            # `retract` marked it while we held it: it is certainly not out, and must never go out now. No
            # claim takes a marked job, so the lease we just gave up is not needed for this compare-and-set.
            why = "article retracted; not sent again"
            try:
                done = self.store.transition(done.id, S.QUEUED, S.CANCELED, now=now, reason=why, last_error=why)
            except JobStateError as e:  # `retract` canceled it first
                return Outcome(job.id, job.slug, job.account, None, str(e))
            self._log(done, S.QUEUED, S.CANCELED, why)
            to, reason = S.CANCELED, why
        self.finals[done.id] = to
        return Outcome(done.id, done.slug, done.account, done.state, reason, done.remote_url)

    def _flag(self, account: str, reason: str, now: datetime) -> None:
        """Stop posting for the account, noting which credentials failed so that new ones clear the flag."""
        print_ = self.fingerprint(account) if self.fingerprint is not None else None
        self.store.flag_account(account, self._masked(account, reason), now=now, fingerprint=print_)

    def _masked(self, account: str, text: str) -> str:
        """`text` with the account's credential values masked: the last guard before an error is kept (a job's
        `last_error`, its history, an account flag), whatever path it took."""
        values = getattr(self.adapter_for, "secret_values", None)
        secrets = values(account) if values is not None else ()
        return one_line(text, secrets, masked=mask) if secrets else text

    @staticmethod
    def _attention_reason(job: Job, why: str | None) -> str:
        label = NETWORKS[job.network].label
        return (f"{why + '; ' if why else ''}{label} cannot look for its own posts: check the account, then "
                f"`sharebot queue resolve {job.id} --posted URL` or `--not-posted`")

    def _wait(self, job: Job) -> timedelta:
        return timedelta(seconds=self.policy.delay(max(1, job.attempts), previous=self._previous(job)))

    def _previous(self, job: Job) -> float | None:
        """The last backoff this job waited, which decorrelated jitter grows from."""
        if self.policy.jitter != "decorrelated":
            return None
        requeues = [e for e in self.store.events(job.id)
                    if e.to_state is S.QUEUED and e.from_state is S.RUNNING]
        return (job.run_at - requeues[-1].at).total_seconds() if requeues else None

    @staticmethod
    def _scrub(error: BaseException, adapter: Adapter) -> str:
        """One line, with any credential value that slipped into an SDK's message masked."""
        text = str(error) if str(error) else type(error).__name__
        if not isinstance(error, (NotSent, Rejected, Unconfirmed)):
            text = f"{type(error).__name__}: {text}"
        return one_line(text, getattr(adapter, "credentials", {}).values(), masked=mask)

    def _log(self, job: Job, from_state: JobState, to_state: JobState, reason: str) -> None:
        log.info("job %d %s/%s: %s -> %s: %s", job.id, job.slug, job.account, from_state, to_state, reason)
