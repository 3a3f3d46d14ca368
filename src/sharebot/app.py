"""The operations behind the commands that touch the queue: publish, status, the queue's listings, retract,
accounts, worker and watch.

Each joins settings, the store and the adapters, and returns values; the CLI parses, calls one of these,
and prints.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

from sharebot import queue
from sharebot.adapters.base import AccountState, AccountStatus, Adapter, AdapterContext, mask
from sharebot.config import Settings, WatchConfig
from sharebot.credentials import fingerprint, same_credentials
from sharebot.errors import ConfigError, MissingCredential, SharebotError, StoreError, ValidationError
from sharebot.exits import Exit, worst
from sharebot.jobs import IN_DOUBT, AccountFlag, Job, JobEvent, JobState
from sharebot.models import Account, Article, Network, Severity
from sharebot.networks import LINK_ONLY
from sharebot.pipeline import (
    Correction,
    PublishRequest,
    apply_corrections,
    find_corrections,
    missing_credentials,
    queue_slug,
    render_article,
    resolve,
    select_accounts,
    taken_from,
)
from sharebot.progress import OnProgress, Progress, Stage
from sharebot.queue import (
    Retracted,
    RetractResult,
    RetractStep,
    RetryPolicy,
    enqueue,
    record_check,
    reschedule,
    retract_step,
    settle_retracted,
)
from sharebot.scheduler import PublishMode, describe
from sharebot.scrub import one_line
from sharebot.storage import open_store
from sharebot.store import Store
from sharebot.watch import WatchReport, check_interval, watch_once
from sharebot.worker import Outcome, Worker, left_note, why_not_taken

if TYPE_CHECKING:
    from sharebot.handoff import Handed, Listener

Clock = Callable[[], datetime]


def open_queue(settings: Settings) -> Store:
    if "://" not in settings.database and settings.database != ":memory:":
        from pathlib import Path

        folder = Path(settings.database).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a path under a file, a read-only or /proc folder
            blocking = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
            why = f"{blocking} is a file, not a folder" if blocking else \
                f"cannot create its folder {folder}: {exc.strerror or exc}"
            raise StoreError(f"queue database {settings.database}: {why}") from None
    store = open_store(settings.database)
    store.migrate()
    return store


def open_queue_if_there(settings: Settings) -> Store | None:
    """The queue (upgraded if need be), or None when its SQLite file does not exist yet: for commands that only
    read it, such as `accounts`, which should not leave a new queue behind."""
    if "://" not in settings.database and not os.path.isfile(settings.database):
        return None
    return open_queue(settings)


def retry_policy(settings: Settings) -> RetryPolicy:
    raw = settings.raw.get("queue", {})
    return RetryPolicy(base=float(raw.get("retry_base_seconds", 30)), cap=float(raw.get("retry_cap_seconds", 3600)),
                       max_attempts=int(raw.get("max_attempts", 5)))


def lease_seconds(settings: Settings) -> float:
    """How long a worker holds a job it posts before others take it for dead (renewed while it posts)."""
    return float(settings.raw.get("queue", {}).get("lease_seconds", 120))


class Adapters:
    """One adapter per account, built on first use and shared by the worker's threads."""

    def __init__(self, settings: Settings, context: AdapterContext | None = None) -> None:
        self.settings = settings
        timeout = float(settings.raw.get("queue", {}).get("timeout_seconds", 20))
        self.context = context or AdapterContext(state_dir=settings.state_dir, timeout=timeout,
                                                 fetch_policy=settings.fetch)
        self._made: dict[str, Adapter] = {}
        self._lock = threading.Lock()
        # oauthlib logs the OAuth 1.0a request parameters (consumer key, access token) at DEBUG.
        for name in ("oauthlib", "requests_oauthlib"):
            logging.getLogger(name).setLevel(max(logging.INFO, logging.getLogger(name).level))

    def __call__(self, name: str) -> Adapter:
        from sharebot.adapters import make_adapter

        with self._lock:
            if name not in self._made:
                account = self.settings.account(name)
                self.context.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
                self._made[name] = make_adapter(account, self.settings.credentials(account), self.context)
            return self._made[name]

    def fingerprint(self, name: str) -> str | None:
        """A salted fingerprint of the account's credentials as configured now (None: no such account)."""
        try:
            account = self.settings.account(name)
        except ConfigError:
            return None
        return fingerprint(self.settings.credentials(account))

    def secret_values(self, name: str) -> list[str]:
        """The account's credential values as configured now: what the worker masks in every error it keeps."""
        try:
            account = self.settings.account(name)
        except ConfigError:
            return []
        return list(self.settings.credentials(account).values())

    def close(self) -> None:
        for adapter in self._made.values():
            adapter.close()


# --- accounts that cannot post ------------------------------------------------------------------------
def refresh_flags(settings: Settings, store: Store, *, clear: bool = True) -> dict[str, AccountFlag]:
    """The account flags still in force: a flag raised for credentials that have since changed is not (each flag
    keeps a salted fingerprint of the credentials it was raised for), and is cleared in the queue unless
    `clear` is False (a dry run writes nothing)."""
    flags = store.account_flags()
    configured = {a.name: a for a in settings.accounts}
    for name, flag in list(flags.items()):
        account = configured.get(name)
        if flag.fingerprint and account is not None and \
                not same_credentials(flag.fingerprint, settings.credentials(account)):
            if clear and store.clear_account_flag(name, fingerprint=flag.fingerprint):
                logging.getLogger("sharebot.accounts").info("account %s: credentials changed, flag cleared", name)
            del flags[name]
    return flags


def flag_advice(flag: AccountFlag) -> str:
    return (f"flagged {flag.at:%Y-%m-%d %H:%M}Z: {flag.reason}; change its credentials, or "
            f"`sharebot accounts clear {flag.account}`")


def cannot_post(settings: Settings, store: Store | None, accounts: Iterable[Account], *,
                read_only: bool = False) -> dict[str, str]:
    """Of these accounts, those that cannot post now, and why: flagged, or a credential missing. `read_only`
    (a dry run): a flag raised for credentials since changed is skipped here but not cleared in the queue."""
    flags = refresh_flags(settings, store, clear=not read_only) if store is not None else {}
    blocked = {}
    for account in accounts:
        if account.network in LINK_ONLY:
            continue
        unset = missing_credentials(settings, account)
        if unset:
            blocked[account.name] = f"missing credential(s) {', '.join(unset)}: set them, then publish again"
        elif account.name in flags:
            blocked[account.name] = flag_advice(flags[account.name])
    return blocked


class LineState(StrEnum):
    """A publish line's state where its job's state does not say it all."""

    SCHEDULED = "scheduled"  # queued by this run for a later time
    SHARE_LINK = "share link"  # a network without a posting API: the link is the result
    CANNOT_POST = "cannot post"  # flagged or without credentials: nothing queued or sent for it
    IN_PROGRESS = "in progress"  # handed to a worker, not settled when publish stopped waiting


@dataclass(frozen=True)
class PublishLine:
    """How one account's post stands after `publish`: what its job's state is, or a LineState."""

    account: str
    network: Network
    state: JobState | LineState
    url: str | None = None
    detail: str = ""
    job_id: int | None = None
    already: bool = False  # from an earlier run: nothing was sent now
    correction: Correction | None = None  # the job held an older post: updated, or too late to be


@dataclass(frozen=True)
class PublishReport:
    article: Article
    round: int
    lines: tuple[PublishLine, ...] = field(default_factory=tuple)

    @property
    def failed(self) -> list[PublishLine]:
        """Lines that did not go through: failed, in doubt, or for an account that cannot post."""
        return [d for d in self.lines
                if d.state in (JobState.FAILED, LineState.CANNOT_POST, LineState.IN_PROGRESS, *IN_DOUBT)]

    @property
    def exit(self) -> Exit:
        return worst(_exit_for(d.state) for d in self.lines)

    @property
    def waiting(self) -> list[PublishLine]:
        """The posts left in the queue for a worker to send when due."""
        return [d for d in self.lines if d.state in (JobState.QUEUED, LineState.SCHEDULED)]


def handoff_seconds(settings: Settings) -> float:
    """How long `publish` waits for a worker to settle the posts it handed over (`[queue] handoff_seconds`)."""
    return float(settings.raw.get("queue", {}).get("handoff_seconds", 60))


HandOff = Callable[[Store, list[Job]], "Handed | None"]


def worker_handoff(settings: Settings) -> HandOff:
    """Hands due jobs to a worker listening on the settings' queue, if one is live (`sharebot.handoff`)."""
    from sharebot.handoff import hand_off

    return lambda store, jobs: hand_off(settings.database, store, jobs, timeout=handoff_seconds(settings))


def publish(settings: Settings, request: PublishRequest, *, store: Store, adapters: Callable[[str], Adapter],
            clock: Clock, owner: str, hand_off: bool = False) -> PublishReport:
    """`sharebot publish`: look up the article, accounts and time `request` names, then `publish_article`.
    With `hand_off`, posts due now go to a worker running on the queue when there is one (`worker_handoff`)."""
    chosen = resolve(settings, request, now=clock())
    return publish_article(settings, chosen.article, chosen.accounts, store=store, adapters=adapters, clock=clock,
                           owner=owner, mode=chosen.mode, at=chosen.at, repost=request.repost,
                           handoff=worker_handoff(settings) if hand_off else None)


def publish_article(settings: Settings, article: Article, accounts: Iterable[Account], *, store: Store,
                    adapters: Callable[[str], Adapter], clock: Clock, owner: str,
                    mode: PublishMode = PublishMode.SCHEDULE, at: datetime | None = None,
                    repost: bool = False, handoff: HandOff | None = None) -> PublishReport:
    """Render and validate, plan each account's time (by `mode`; `at` for PublishMode.AT), enqueue one job
    per account, correct the posts of jobs from an earlier run that are still queued, and post the ones due
    now in parallel: through `handoff` (a running worker) when it takes them, else here. The article is filed
    under its `pipeline.queue_slug`."""
    mode = PublishMode(mode)
    now = clock()
    article = queue_slug(store, article, now=now)
    accounts = list(accounts)
    blocked = cannot_post(settings, store, accounts)
    accounts = [a for a in accounts if a.name not in blocked]
    preview = render_article(settings, article, accounts, now=now, mode=mode, at=at,
                             taken=taken_from(store, now, settings.schedules.values()))
    if preview.blocked:
        post = preview.blocked[0]
        reasons = "; ".join(i.message for i in post.issues if i.severity is Severity.ERROR)
        raise ValidationError(f"{article.slug}: nothing queued: the post for {post.account!r} would be refused: "
                              f"{reasons}")
    postable = [p for p in preview.posts if p.network not in LINK_ONLY]
    queued = enqueue(store, article.slug, postable, now=now, run_at=now, repost=repost, run_at_for=preview.times)
    corrected = {c.job.account: c for c in apply_corrections(store, find_corrections(queued.existing, postable),
                                                             postable, now=now)}
    existing = [corrected[j.account].job if j.account in corrected else j for j in queued.existing]
    if mode is not PublishMode.SCHEDULE:  # --now/--at/--next-slot also move a job still waiting for its time
        reason = f"publish --{mode.value.replace('_', '-')}"
        existing = [reschedule(store, j, preview.times[j.account], now, reason=reason)
                    if j.state is JobState.QUEUED and j.run_at != preview.times[j.account] else j for j in existing]
    moved = [j for j in existing if j.state is JobState.QUEUED and j.run_at <= now]
    zone = settings.site.timezone
    lines = [_line(job, zone, already=True, correction=corrected.get(job.account))
             for job in existing if job not in moved]
    due = [j for j in queued.added if j.run_at <= now] + moved
    handed = handoff(store, due) if due and handoff is not None else None
    if handed is not None:
        lines += _handed_lines(store, handed, zone, corrected)
        # A worker that stopped before claiming them, or refused them (it lacks the account's credentials, or
        # the account is flagged), leaves them queued: they are posted here, or refused here likewise (the
        # claim is a compare-and-set, so one the worker did take after all is not sent twice).
        due = [job for i in [*(handed.waiting if handed.lost else []), *handed.refused]
               for job in [store.get(i)] if job.state is JobState.QUEUED]
        lines = [d for d in lines if d.job_id not in {j.id for j in due}]
    if due:
        with Worker(store, adapters, owner=owner, clock=clock, policy=retry_policy(settings),
                    concurrency=len(due), lease_seconds=lease_seconds(settings),
                    fingerprint=getattr(adapters, "fingerprint", None)) as worker:
            outcomes = worker.publish_now(due)
        # A job another worker took meanwhile is in progress there, not done here: `status` shows how it ends.
        lines += [_line(job, zone, detail=o.detail, correction=corrected.get(job.account),
                        state=LineState.IN_PROGRESS if job.state is JobState.RUNNING else None)
                  for o in outcomes for job in [store.get(o.job_id)]]
    lines += [_line(j, zone, state=LineState.SCHEDULED, detail=describe(j.run_at, zone))
              for j in queued.added if j.run_at > now]
    lines += [PublishLine(p.account, p.network, LineState.SHARE_LINK, p.share_url, "no posting API: share this link")
              for p in preview.posts if p.network in LINK_ONLY]
    lines += [PublishLine(name, settings.account(name).network, LineState.CANNOT_POST, None, why)
              for name, why in blocked.items()]
    order = {a.name: i for i, a in enumerate(settings.accounts)}
    return PublishReport(article, queued.round, tuple(sorted(lines, key=lambda d: order.get(d.account, 0))))


def _handed_lines(store: Store, handed: Handed, zone: str, corrected: Mapping[str, Correction]) -> list[PublishLine]:
    """The lines of jobs a worker was handed: as it recorded them, refused as `publish_now` refuses, or still
    in progress when the wait ran out (they stay with the worker; `status` shows how they end)."""
    lines = []
    for job_id, detail in handed.settled.items():
        job = store.get(job_id)
        lines.append(_line(job, zone, detail=detail, correction=corrected.get(job.account)))
    for job_id in handed.refused:  # those still queued are posted (or refused) by publish itself after this
        job = store.get(job_id)
        lines.append(_line(job, zone, detail=why_not_taken(job), correction=corrected.get(job.account),
                           state=LineState.IN_PROGRESS if job.state is JobState.RUNNING else None))
    for job_id in handed.waiting:
        job = store.get(job_id)
        lines.append(_line(job, zone, state=LineState.IN_PROGRESS, correction=corrected.get(job.account),
                           detail=f"handed to a running worker, not settled yet ({job.state}): "
                                  f"see `sharebot status {job.slug}`"))
    return lines


def _line(job: Job, zone: str, *, state: LineState | None = None, detail: str | None = None,
          already: bool = False, correction: Correction | None = None) -> PublishLine:
    """A job's line: its state and post URL as stored; `detail` says what this run did (default: the last
    error, and for a queued job when it is due)."""
    if detail is None:
        detail = job.last_error or ""
        if job.state is JobState.QUEUED:
            detail = f"due {describe(job.run_at, zone)}" + (f"; last error: {job.last_error}" if job.last_error else "")
    return PublishLine(job.account, job.network, state or job.state, job.remote_url, detail, job.id, already,
                       correction)


def _exit_for(state: JobState | LineState) -> Exit:
    if state in (JobState.FAILED, LineState.CANNOT_POST):
        return Exit.FAILED
    return Exit.UNSETTLED if state in IN_DOUBT or state is LineState.IN_PROGRESS else Exit.OK


class StatusReport(NamedTuple):
    jobs: list[Job]
    flags: Mapping[str, AccountFlag]  # the flagged accounts among the jobs'

    @property
    def exit(self) -> Exit:
        """FAILED when a post failed or an account with a waiting post cannot post; UNSETTLED when in doubt."""
        waiting = {j.account for j in self.jobs if j.state is JobState.QUEUED}
        codes = [_exit_for(j.state) for j in self.jobs]
        return worst(codes + [Exit.FAILED] * bool(waiting & set(self.flags)))


def status(store: Store, slug: str) -> StatusReport:
    jobs = store.list_jobs(slug=slug)
    if not jobs:
        raise SharebotError(f"nothing queued or posted for {slug!r}")
    flags = store.account_flags()
    return StatusReport(jobs, {a: f for a, f in flags.items() if a in {j.account for j in jobs}})


class QueueListing(NamedTuple):
    jobs: list[Job]  # those the filters chose
    counts: Mapping[JobState, int]  # the whole queue, by state
    flags: Mapping[str, AccountFlag] = {}  # accounts whose jobs no worker takes until they are fixed


def list_queue(store: Store, *, state: JobState | str | None = None, account: str | None = None,
               slug: str | None = None, limit: int | None = None) -> QueueListing:
    return QueueListing(queue.list_jobs(store, state=state, account=account, slug=slug, limit=limit), store.counts(),
                        store.account_flags())


class JobHistory(NamedTuple):
    job: Job
    events: list[JobEvent]  # every state change, oldest first


def job_history(store: Store, job_id: int) -> JobHistory:
    return JobHistory(store.get(job_id), store.events(job_id))


class Planned(NamedTuple):
    job: Job
    due_now: bool  # its time has come: the next worker run sends it


def upcoming(store: Store, *, now: datetime, within: timedelta | None = None, account: str | None = None,
             slug: str | None = None) -> dict[str, list[Planned]]:
    """What goes out when: queued posts (within `within` from `now`, if given) by account, soonest first;
    accounts in the order of their soonest post."""
    plan: dict[str, list[Planned]] = {}
    for job in store.upcoming(until=now + within if within else None):
        if (account is None or job.account == account) and (slug is None or job.slug == slug):
            plan.setdefault(job.account, []).append(Planned(job, job.run_at <= now))
    return plan


class RetractReport(NamedTuple):
    slug: str
    plan: list[RetractStep]  # what it would do with each job, by its state when it looked
    results: list[Retracted]  # what it did (empty for a dry run, or when not confirmed)
    done: bool  # False: a dry run, or the person said no; nothing was changed

    @property
    def exit(self) -> Exit:
        if not self.done:
            return Exit.OK
        codes = {RetractResult.NOT_DELETED: Exit.FAILED, RetractResult.IN_FLIGHT: Exit.UNSETTLED}
        return worst(codes.get(r.result, Exit.OK) for r in self.results)


def retract(store: Store, slug: str, *, adapters: Callable[[str], Adapter], clock: Clock, owner: str = "retract",
            settings: Settings | None = None, networks: Iterable[str] = (), accounts: Iterable[str] = (),
            dry_run: bool = False, confirm: Callable[[list[RetractStep]], bool] | None = None,
            wait: Callable[[float], object] | None = None, patience: float = 60.0) -> RetractReport:
    """Withdraw the article everywhere (for corrections): delete its posts, cancel what has not gone out,
    settle what may have gone out by looking first. With `networks`/`accounts` (checked against `settings`),
    only those. `confirm` sees the plan first and may say no; `dry_run` stops at the plan.

    The jobs are first marked retracted in one statement, so no worker claims them from then on. A post in
    flight is waited for (`wait(seconds)`, up to `patience` seconds on `clock`), then deleted or canceled
    as it came out; should it outlast that, a worker cancels it if it was not sent, and a later run deletes
    it if it was.
    """
    jobs = store.list_jobs(slug=slug)
    if networks or accounts:
        if settings is None:
            raise ValueError("retract: filtering by network or account needs the settings")
        chosen = {a.name for a in select_accounts(settings, networks=networks, accounts=accounts)}
        jobs = [j for j in jobs if j.account in chosen]
    if not jobs:
        raise SharebotError(f"nothing queued or posted for {slug!r}" + (" on those accounts" if accounts or networks
                                                                        else ""))
    plan = [retract_step(j) for j in jobs]
    if dry_run or (confirm is not None and not confirm(plan)):
        return RetractReport(slug, plan, [], False)
    names = sorted({j.account for j in jobs}) if networks or accounts else None
    marked = {j.id: j for j in store.mark_retracted(slug, now=clock(), accounts=names)}
    lease = timedelta(seconds=lease_seconds(settings) if settings is not None else 120)
    deadline = clock() + timedelta(seconds=patience)
    results: dict[int, Retracted] = {}
    todo = [marked.get(j.id) or store.get(j.id) for j in jobs]  # as marked: a worker's write is before or after
    while todo:
        # Newest first: a reply before the post it answers, whose deletion takes comments with it (Facebook).
        for job in sorted(todo, key=lambda j: j.id, reverse=True):
            if job.state is not JobState.RUNNING or clock() >= deadline:
                results[job.id] = settle_retracted(store, job, adapters, now=clock(), owner=owner, lease=lease)
            else:
                results[job.id] = Retracted(job, RetractResult.IN_FLIGHT)
        todo = [r.job for r in results.values() if r.result is RetractResult.IN_FLIGHT]
        if not todo or wait is None or clock() >= deadline:
            break
        wait(1.0)
        # A post whose worker died stays running until its lease runs out; expiring it (as any worker would)
        # makes it unknown, and so looked for here rather than waited for in vain.
        store.expire_leases(clock())
        todo = [store.get(j.id) for j in todo]
    return RetractReport(slug, plan, [results[j.id] for j in jobs], True)


@dataclass(frozen=True)
class AccountLine:
    account: Account
    credentials: dict[str, str]  # field -> "VAR=ab…yz" (masked) or "VAR (not set)"
    flag: AccountFlag | None = None  # why it cannot post, since when
    missing: tuple[str, ...] = ()  # required credentials not set


def list_accounts(settings: Settings, store: Store | None = None) -> list[AccountLine]:
    """The configured accounts, secrets masked, with any flag the queue holds (`store`) for them."""
    flags = refresh_flags(settings, store) if store is not None else {}
    lines = []
    for account in settings.accounts:
        present = settings.credentials(account)
        shown = {}
        for name, var in settings.secret_vars(account).items():
            shown[name] = f"{var}={mask(present[name])}" if name in present else f"{var} (not set)"
        missing = () if account.network in LINK_ONLY else tuple(missing_credentials(settings, account))
        lines.append(AccountLine(account, shown, flags.get(account.name), missing))
    return lines


def clear_account(settings: Settings, store: Store | None, name: str) -> bool:
    """`sharebot accounts clear NAME`: let the account post again; False when it was not flagged (or there
    is no queue yet)."""
    settings.account(name)  # a ConfigError naming the configured accounts for a typo
    return store is not None and store.clear_account_flag(name)


def masked_credentials(settings: Settings, name: str, text: str) -> str:
    """`text` on one line with account `name`'s credential values masked: for whatever a network or an SDK
    answered to a check (an unknown account: the text as it is, on one line)."""
    try:
        secrets = settings.credentials(settings.account(name)).values()
    except ConfigError:
        secrets = {}.values()
    return one_line(text, secrets, masked=mask)


def check_accounts(settings: Settings, *, adapters: Callable[[str], Adapter], store: Store | None,
                   clock: Clock) -> list[AccountStatus]:
    """One authenticated read per account; keeps the queue's account flags in step."""
    results = []
    for account in settings.accounts:
        if account.network in LINK_ONLY:
            results.append(AccountStatus(account.name, AccountState.OK, "share links only, nothing to check"))
            continue
        try:
            result = adapters(account.name).check()
        except MissingCredential as exc:
            result = AccountStatus(account.name, AccountState.MISSING, str(exc))
        except SharebotError as exc:
            result = AccountStatus(account.name, AccountState.REJECTED, str(exc))
        # Shown, and kept with a flag: whatever a network or SDK echoed of a credential is masked.
        result = AccountStatus(result.account, result.state, masked_credentials(settings, account.name, result.detail))
        if store is not None:
            record_check(store, result, clock(), fingerprint=fingerprint(settings.credentials(account)))
        results.append(result)
    return results


def history_retention(settings: Settings, store: Store) -> queue.HistoryRetention | None:
    """`[queue] keep_history` (checked when the config was loaded), if set: what the worker prunes by."""
    keep = settings.raw.get("queue", {}).get("keep_history")
    if not keep:
        return None
    from sharebot.when import parse_duration

    return queue.HistoryRetention(store, parse_duration(keep))


class WorkerReport(NamedTuple):
    handled: int
    states: Mapping[JobState, int]  # where the jobs it handled ended, by state
    waiting: Mapping[str, int]  # due jobs no worker takes, per flagged account
    flags: Mapping[str, AccountFlag]
    # due jobs this worker left because it has no credentials for their account: account -> (jobs, variables)
    left: Mapping[str, tuple[int, tuple[str, ...]]] = MappingProxyType({})

    @property
    def exit(self) -> Exit:
        failed = bool(self.states.get(JobState.FAILED) or self.waiting or self.left)
        unsettled = any(self.states.get(s) for s in IN_DOUBT)
        return Exit.FAILED if failed else Exit.UNSETTLED if unsettled else Exit.OK


def run_worker(settings: Settings, *, store: Store, adapters: Callable[[str], Adapter], clock: Clock, owner: str,
               concurrency: int, burst: bool, stop: threading.Event,
               on_done: Callable[[WorkerReport], object] | None = None,
               on_outcome: Callable[[Outcome], object] | None = None,
               on_progress: OnProgress | None = None, listen: bool | Listener = False) -> int:
    """Post due jobs until `stop` (or, with `burst`, until none is due); returns how many it handled and
    hands `on_done` the full report: where they ended, and the due jobs flagged accounts hold up.
    `on_outcome` hears of each job as it is settled, `on_progress` how many are (Stage.POST).
    With `listen`, it takes the posts `publish` hands over (`sharebot.handoff`; a Listener: that one)."""
    refresh_flags(settings, store)
    fingerprint_of = getattr(adapters, "fingerprint", None)
    settled = 0
    # Jobs of an account this process has no credentials for are left to a worker that has them (another
    # machine's), not failed here: failing would flag the account for every worker.
    unset = {a.name: missing for a in settings.accounts if a.enabled and a.network not in LINK_ONLY
             if (missing := tuple(missing_credentials(settings, a)))}
    for name, variables in unset.items():
        logging.getLogger("sharebot.worker").warning(
            "account %s: no credentials here (%s not set): its jobs are left to workers that have them",
            name, ", ".join(variables))

    def told(outcome: Outcome) -> None:
        nonlocal settled
        settled += 1
        if on_outcome is not None:
            on_outcome(outcome)
        if on_progress is not None:
            on_progress(Progress(Stage.POST, settled, None, f"{outcome.account} {outcome.state or 'skipped'}"))

    listener = handoff_listener(settings, store) if listen is True else listen or None
    try:
        with Worker(store, adapters, owner=owner, clock=clock, policy=retry_policy(settings),
                    concurrency=concurrency, lease_seconds=lease_seconds(settings), fingerprint=fingerprint_of,
                    housekeeping=history_retention(settings, store), on_outcome=told,
                    handoffs=listener,
                    unpostable={name: left_note(owner, variables) for name, variables in unset.items()}) as worker:
            handled = worker.run(burst=burst, stop=stop)
    finally:
        if listener is not None and listen is True:
            listener.close()
    if on_done is not None:
        left = {name: (n, unset[name]) for name, n in store.due_counts(list(unset), clock()).items()}
        on_done(WorkerReport(handled, worker.tally(), store.waiting_on_flags(clock()), store.account_flags(),
                             MappingProxyType(left)))
    return handled


def run_watch(settings: Settings, *, store: Store, adapters: Callable[[str], Adapter], clock: Clock, owner: str,
              stop: threading.Event, on_report: Callable[[WatchReport], None], interval: float | None = None,
              backfill: int = 0, once: bool = False, post: bool = True, concurrency: int = 4,
              on_posted: Callable[[WorkerReport], object] | None = None,
              on_outcome: Callable[[Outcome], object] | None = None,
              on_progress: OnProgress | None = None) -> WatchReport | None:
    """Poll the sources (`watch.watch_once`), hand each poll's report to `on_report`, post what is due
    (unless `post` is False; each round's worker report goes to `on_posted`), then wait `interval` seconds
    (default: `[watch] interval`; at least `watch.MIN_INTERVAL`) on `stop`; until `stop` is set, or after one
    round with `once`. `backfill` applies to the first poll. `on_outcome` and `on_progress` hear what
    `run_worker` says, and `on_progress` also how each poll (Stage.POLL) and backfill (Stage.ENQUEUE) goes.
    Returns the last poll's report (None if `stop` was set before the first)."""
    if interval is None:
        wait = check_interval((settings.watch or WatchConfig()).interval, "watch.interval")
    else:
        wait = check_interval(interval, "interval")
    report = None
    # Between polls it takes the posts `publish` hands over, as `sharebot worker` does.
    listener = handoff_listener(settings, store) if post and not once else None

    def post_due() -> None:
        run_worker(settings, store=store, adapters=adapters, clock=clock, owner=owner, concurrency=concurrency,
                   burst=True, stop=stop, on_done=on_posted, on_outcome=on_outcome, on_progress=on_progress,
                   listen=listener or False)

    try:
        while not stop.is_set():
            report = watch_once(settings, store, now=clock(), backfill=backfill, progress=on_progress)
            backfill = 0
            on_report(report)
            if post:
                post_due()
            if once:
                break
            until = clock() + timedelta(seconds=wait)
            while listener is not None and not stop.is_set() and clock() < until:
                if listener.wait(min(1.0, max(0.0, (until - clock()).total_seconds()))):
                    post_due()
            if listener is None:
                stop.wait(wait)
    finally:
        if listener is not None:
            listener.close()
    return report


def handoff_listener(settings: Settings, store: Store) -> Listener | None:
    """Listen for the posts `publish` hands over on this queue; None when another worker already does."""
    from sharebot.handoff import listen

    return listen(settings.database, store)
