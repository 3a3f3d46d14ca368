"""The operations behind the commands that touch the queue: publish, status, the queue's listings, retract,
accounts, worker and watch.

Each joins settings, the store and the adapters, and returns values; the CLI parses, calls one of these,
and prints.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from sharebot import queue
from sharebot.adapters.base import AccountState, AccountStatus, Adapter, AdapterContext, mask
from sharebot.config import Settings, WatchConfig
from sharebot.errors import MissingCredential, SharebotError, ValidationError
from sharebot.jobs import Job, JobEvent, JobState
from sharebot.models import Account, Article, Network, Severity
from sharebot.networks import LINK_ONLY
from sharebot.pipeline import PublishRequest, render_article, resolve, taken_from
from sharebot.queue import RetryPolicy, enqueue, record_check, reschedule
from sharebot.scheduler import PublishMode, describe
from sharebot.storage import open_store
from sharebot.store import Store
from sharebot.watch import WatchReport, watch_once
from sharebot.worker import Worker

Clock = Callable[[], datetime]


def open_queue(settings: Settings) -> Store:
    if "://" not in settings.database and settings.database != ":memory:":
        from pathlib import Path

        Path(settings.database).parent.mkdir(parents=True, exist_ok=True)
    store = open_store(settings.database)
    store.migrate()
    return store


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

    def close(self) -> None:
        for adapter in self._made.values():
            adapter.close()


class LineState(StrEnum):
    """A publish line's state where its job's state does not say it all."""

    SCHEDULED = "scheduled"  # queued by this run for a later time
    SHARE_LINK = "share link"  # a network without a posting API: the link is the result


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


@dataclass(frozen=True)
class PublishReport:
    article: Article
    round: int
    lines: tuple[PublishLine, ...] = field(default_factory=tuple)

    @property
    def failed(self) -> list[PublishLine]:
        return [d for d in self.lines if d.state in (JobState.FAILED, JobState.UNKNOWN)]

    @property
    def waiting(self) -> list[PublishLine]:
        """The posts left in the queue for a worker to send when due."""
        return [d for d in self.lines if d.state in (JobState.QUEUED, LineState.SCHEDULED)]


def publish(settings: Settings, request: PublishRequest, *, store: Store, adapters: Callable[[str], Adapter],
            clock: Clock, owner: str) -> PublishReport:
    """`sharebot publish`: look up the article, accounts and time `request` names, then `publish_article`."""
    chosen = resolve(settings, request, now=clock())
    return publish_article(settings, chosen.article, chosen.accounts, store=store, adapters=adapters, clock=clock,
                           owner=owner, mode=chosen.mode, at=chosen.at, repost=request.repost)


def publish_article(settings: Settings, article: Article, accounts: Iterable[Account], *, store: Store,
                    adapters: Callable[[str], Adapter], clock: Clock, owner: str,
                    mode: PublishMode = PublishMode.SCHEDULE, at: datetime | None = None,
                    repost: bool = False) -> PublishReport:
    """Render and validate, plan each account's time (by `mode`; `at` for PublishMode.AT), enqueue one job
    per account, and post the ones due now in parallel."""
    mode = PublishMode(mode)
    now = clock()
    preview = render_article(settings, article, accounts, now=now, mode=mode, at=at, taken=taken_from(store, now))
    if preview.blocked:
        post = preview.blocked[0]
        reasons = "; ".join(i.message for i in post.issues if i.severity is Severity.ERROR)
        raise ValidationError(f"{article.slug}: nothing queued: the post for {post.account!r} would be refused: "
                              f"{reasons}")
    postable = [p for p in preview.posts if p.network not in LINK_ONLY]
    queued = enqueue(store, article.slug, postable, now=now, run_at=now, repost=repost, run_at_for=preview.times)
    existing = list(queued.existing)
    if mode is not PublishMode.SCHEDULE:  # --now/--at/--next-slot also move a job still waiting for its time
        reason = f"publish --{mode.value.replace('_', '-')}"
        existing = [reschedule(store, j, preview.times[j.account], now, reason=reason)
                    if j.state is JobState.QUEUED and j.run_at != preview.times[j.account] else j for j in existing]
    moved = [j for j in existing if j.state is JobState.QUEUED and j.run_at <= now]
    zone = settings.site.timezone
    lines = [_line(job, zone, already=True) for job in existing if job not in moved]
    due = [j for j in queued.added if j.run_at <= now] + moved
    if due:
        with Worker(store, adapters, owner=owner, clock=clock, policy=retry_policy(settings),
                    concurrency=len(due), lease_seconds=lease_seconds(settings)) as worker:
            outcomes = worker.publish_now(due)
        lines += [_line(store.get(o.job_id), zone, detail=o.detail) for o in outcomes]
    lines += [_line(j, zone, state=LineState.SCHEDULED, detail=describe(j.run_at, zone))
              for j in queued.added if j.run_at > now]
    lines += [PublishLine(p.account, p.network, LineState.SHARE_LINK, p.share_url, "no posting API: share this link")
              for p in preview.posts if p.network in LINK_ONLY]
    order = {p.account: i for i, p in enumerate(preview.posts)}
    return PublishReport(article, queued.round, tuple(sorted(lines, key=lambda d: order.get(d.account, 0))))


def _line(job: Job, zone: str, *, state: LineState | None = None, detail: str | None = None,
          already: bool = False) -> PublishLine:
    """A job's line: its state and post URL as stored; `detail` says what this run did (default: the last
    error, and for a queued job when it is due)."""
    if detail is None:
        detail = job.last_error or ""
        if job.state is JobState.QUEUED:
            detail = f"due {describe(job.run_at, zone)}" + (f"; last error: {job.last_error}" if job.last_error else "")
    return PublishLine(job.account, job.network, state or job.state, job.remote_url, detail, job.id, already)


def status(store: Store, slug: str) -> list[Job]:
    jobs = store.list_jobs(slug=slug)
    if not jobs:
        raise SharebotError(f"nothing queued or posted for {slug!r}")
    return jobs


class QueueListing(NamedTuple):
    jobs: list[Job]  # those the filters chose
    counts: Mapping[JobState, int]  # the whole queue, by state


def list_queue(store: Store, *, state: JobState | str | None = None, account: str | None = None,
               slug: str | None = None, limit: int | None = None) -> QueueListing:
    return QueueListing(queue.list_jobs(store, state=state, account=account, slug=slug, limit=limit), store.counts())


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


@dataclass(frozen=True)
class Retracted:
    job: Job
    deleted: bool
    detail: str = ""


def retract(store: Store, slug: str, *, adapters: Callable[[str], Adapter], clock: Clock) -> list[Retracted]:
    """Delete every published post of the article (for corrections) and record each deletion."""
    done = []
    for job in store.list_jobs(slug=slug, state=JobState.PUBLISHED):
        if not job.remote_id:  # settled by hand with only a URL
            done.append(Retracted(job, False, f"no network id was recorded; delete {job.remote_url} by hand"))
            continue
        try:
            done.append(Retracted(queue.retract(store, adapters(job.account), job.id, clock()), True))
        except SharebotError as exc:
            done.append(Retracted(job, False, str(exc)))
    if not done:
        raise SharebotError(f"{slug!r} has no published post to retract")
    return done


@dataclass(frozen=True)
class AccountLine:
    account: Account
    credentials: dict[str, str]  # field -> "VAR=ab…yz" (masked) or "VAR (not set)"


def list_accounts(settings: Settings) -> list[AccountLine]:
    lines = []
    for account in settings.accounts:
        present = settings.credentials(account)
        shown = {}
        for name, var in settings.secret_vars(account).items():
            shown[name] = f"{var}={mask(present[name])}" if name in present else f"{var} (not set)"
        lines.append(AccountLine(account, shown))
    return lines


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
        if store is not None:
            record_check(store, result, clock())
        results.append(result)
    return results


def history_retention(settings: Settings, store: Store) -> queue.HistoryRetention | None:
    """`[queue] keep_history` (checked when the config was loaded), if set: what the worker prunes by."""
    keep = settings.raw.get("queue", {}).get("keep_history")
    if not keep:
        return None
    from sharebot.when import parse_duration

    return queue.HistoryRetention(store, parse_duration(keep))


def run_worker(settings: Settings, *, store: Store, adapters: Callable[[str], Adapter], clock: Clock, owner: str,
               concurrency: int, burst: bool, stop: threading.Event) -> int:
    with Worker(store, adapters, owner=owner, clock=clock, policy=retry_policy(settings),
                concurrency=concurrency, lease_seconds=lease_seconds(settings),
                housekeeping=history_retention(settings, store)) as worker:
        return worker.run(burst=burst, stop=stop)


def run_watch(settings: Settings, *, store: Store, adapters: Callable[[str], Adapter], clock: Clock, owner: str,
              stop: threading.Event, on_report: Callable[[WatchReport], None], interval: float | None = None,
              backfill: int = 0, once: bool = False, post: bool = True, concurrency: int = 4) -> WatchReport | None:
    """Poll the sources (`watch.watch_once`), hand each poll's report to `on_report`, post what is due
    (unless `post` is False), then wait `interval` seconds (default: `[watch] interval`) on `stop`; until
    `stop` is set, or after one round with `once`. `backfill` applies to the first poll. Returns the last
    poll's report (None if `stop` was set before the first)."""
    wait = (settings.watch or WatchConfig()).interval if interval is None else interval
    report = None
    while not stop.is_set():
        report = watch_once(settings, store, now=clock(), backfill=backfill)
        backfill = 0
        on_report(report)
        if post:
            run_worker(settings, store=store, adapters=adapters, clock=clock, owner=owner, concurrency=concurrency,
                       burst=True, stop=stop)
        if once:
            break
        stop.wait(wait)
    return report
