"""The queue's model: a delivery job, its states and the one table of moves between them, its history,
its idempotency key, and what a network answered.

    queued ─claim─► running ─ok─► published ─retract─► deleted
      ▲ ▲             ├─ NotSent / RateLimited ─► queued (run_at = now + backoff | retry_after)
      │ │             ├─ Rejected / AuthError / attempts used up ─► failed ─retry─► queued
      │ │             ├─ Unconfirmed / lease expired ─► unknown ─find: posted─► published
      │ │             │                                   └─ find: not posted, attempts used up ─► failed
      │ │             └─ Unconfirmed, network cannot look (no FIND) ─► attention ─resolve─► published
      │ └─────────────────────────────────────────── find: not posted / resolve ─┘ (unknown, attention)
      └─ retry ◄─ canceled ◄─ cancel (from queued or failed; an unknown job is settled first)
                     ▲
                     └─ retract: queued, failed; running/unknown/attention once known not to be out

A job whose article was retracted (`retracted_at` set) is never claimed again; whatever still holds it
(a post in flight, a check) ends it as canceled, or as published for `retract` to delete.

The store checks every state write against `TRANSITIONS`; `queue` holds the operations on jobs.
NamedTuples like the rest of the value types: a dry run reads the queue to plan post times, and should not
pay for importing dataclasses (and inspect) to do it. Their annotations are evaluated, not strings: typing
compiles every string annotation of a NamedTuple field when the class is made (a third of this module's import).
"""

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple

from sharebot.errors import JobStateError
from sharebot.models import Network, RenderedPost


class PublishResult(NamedTuple):
    """What a network said after accepting a post."""

    remote_id: str
    url: str | None = None


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    PUBLISHED = "published"
    FAILED = "failed"
    UNKNOWN = "unknown"  # may have gone out; settled by a check before any retry
    ATTENTION = "attention"  # may have gone out on a network that cannot look: waits for a person (resolve)
    CANCELED = "canceled"
    DELETED = "deleted"


class JobKind(StrEnum):
    """What a job does on its network. Edits and replies come after the post is out (`sharebot.lifecycle`)."""

    POST = "post"  # the article's post
    EDIT = "edit"  # changes the post of its parent job in place (a correction)
    REPLY = "reply"  # answers the post or reply of its parent job (a correction line, a follow-up)


class Job(NamedTuple):
    """One delivery to one account, and where it stands: the article's post (one per round), or an edit of it
    or a reply under it."""

    id: int
    slug: str
    account: str
    network: Network
    round: int  # 1 for the first delivery; `publish --repost` starts round 2, ...
    state: JobState
    post: RenderedPost
    key: str  # stable idempotency key for this delivery, sent to networks that honour one
    attempts: int
    run_at: datetime
    created_at: datetime
    updated_at: datetime
    lease_owner: str | None = None
    lease_until: datetime | None = None
    remote_id: str | None = None
    remote_url: str | None = None
    last_error: str | None = None
    data: Mapping[str, Any] = MappingProxyType({})  # adapter state kept across attempts (rkey, blob ref)
    retracted_at: datetime | None = None  # `retract` withdrew the article: never sent again
    kind: JobKind = JobKind.POST
    parent_id: int | None = None  # EDIT: the post job it changes; REPLY: the job whose post or reply it answers
    sequence: int = 0  # the account's nth edit, or nth reply, in this article round (0 for the post)
    revision: RenderedPost | None = None  # a correction's article post as re-rendered (what it brings it up to)


class JobEvent(NamedTuple):
    job_id: int
    at: datetime
    from_state: JobState | None
    to_state: JobState
    reason: str


class AccountFlag(NamedTuple):
    """An account that cannot post until its credentials change or a person clears the flag."""

    account: str
    reason: str
    at: datetime
    fingerprint: str | None = None  # salted hash of the credentials it was raised for (`credentials.fingerprint`)


S = JobState
TRANSITIONS: Mapping[JobState, frozenset[JobState]] = {
    # queued -> queued: rescheduled (publish --now/--at on a job already waiting for its slot).
    S.QUEUED: frozenset({S.RUNNING, S.CANCELED, S.QUEUED}),
    # running -> canceled: retracted while in flight, and the post certainly did not go out.
    S.RUNNING: frozenset({S.PUBLISHED, S.QUEUED, S.FAILED, S.UNKNOWN, S.ATTENTION, S.CANCELED}),
    S.PUBLISHED: frozenset({S.DELETED}),
    S.FAILED: frozenset({S.QUEUED, S.CANCELED}),
    # unknown -> unknown: a check ran but could not tell; recorded so the reason and next check show up.
    # unknown -> failed: a check found no post and the attempts are used up, so it is not sent again; a
    # retry from there is not blind, the check said the post is not there.
    # unknown -> attention: the network cannot look for its own posts (no FIND); a person settles it.
    # unknown -> canceled only for a retracted article, after a check found no post (`queue.cancel` refuses
    # it: cancel-then-retry would send blind; settle it first with resolve).
    S.UNKNOWN: frozenset({S.PUBLISHED, S.QUEUED, S.UNKNOWN, S.FAILED, S.ATTENTION, S.CANCELED}),
    # Never checked again by a worker: only `queue resolve` (or `retract` after resolve) moves it.
    S.ATTENTION: frozenset({S.PUBLISHED, S.QUEUED, S.CANCELED}),
    S.CANCELED: frozenset({S.QUEUED}),
    S.DELETED: frozenset(),
}
TERMINAL = frozenset(s for s, targets in TRANSITIONS.items() if not targets)
IN_DOUBT = frozenset({S.UNKNOWN, S.ATTENTION})  # may have gone out: settled by a check or a person first


def check_transition(from_state: JobState, to_state: JobState, job_id: int | None = None) -> None:
    if to_state not in TRANSITIONS[from_state]:
        job = f"job {job_id}: " if job_id is not None else ""
        raise JobStateError(f"{job}cannot go from {from_state} to {to_state}")


def job_key(slug: str, account: str, round: int, kind: JobKind = JobKind.POST, sequence: int = 0) -> str:
    """The idempotency key of one delivery: stable across attempts and processes, new per round, and for each
    edit and reply of the round its own (by kind and sequence)."""
    import hashlib  # loads OpenSSL (~2 ms): only where keys are made, not on every import of the store

    name = f"{slug}:{account}:{round}" + (f":{kind}:{sequence}" if kind is not JobKind.POST else "")
    return hashlib.sha256(name.encode()).hexdigest()
