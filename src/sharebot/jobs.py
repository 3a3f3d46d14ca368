"""The queue's value types: a delivery job, its states and history, and what a network answered.

NamedTuples like the rest of the value types: a dry run reads the queue to plan post times, and should not
pay for importing dataclasses (and inspect) to do it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Mapping, NamedTuple

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
    CANCELED = "canceled"
    DELETED = "deleted"


class Job(NamedTuple):
    """One (article, account) delivery and where it stands."""

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


class JobEvent(NamedTuple):
    job_id: int
    at: datetime
    from_state: JobState | None
    to_state: JobState
    reason: str
