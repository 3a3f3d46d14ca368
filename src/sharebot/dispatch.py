"""What the worker asks an adapter for each kind of job: a post is published (and looked for with `find`), an
edit changes its parent's post (`edit`, `find_edit`), a reply answers its parent's post or reply (`reply`,
`find_reply`).

An edit or a reply needs its parent out first: `parent_ready` says whether it is, is still on its way (the
job waits), or never will be (the job fails). Pure: the worker reads the parent job and records the outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import NamedTuple

from sharebot.adapters.base import Adapter, Delivery, RemotePost
from sharebot.errors import Unsupported
from sharebot.jobs import Job, JobKind, JobState, PublishResult
from sharebot.networks import NETWORKS, Capability

# An edit job's data key, set when its network refused the edit as impossible (Unsupported): the reason.
CANNOT_EDIT = "cannot_edit"


class Call(NamedTuple):
    """One job's request to its network, and the look that settles it when its answer was lost."""

    send: Callable[[Delivery], PublishResult]
    find: Callable[[Delivery], PublishResult | None]


def remote_post(job: Job) -> RemotePost:
    """A job's post as the network knows it: what an edit changes and a reply answers."""
    return RemotePost(job.remote_id or "", job.remote_url, job.data, job.post)


def _post(adapter: Adapter, job: Job, parent: RemotePost | None) -> Call:
    return Call(lambda d: adapter.publish(job.post, d), lambda d: adapter.find(job.post, d))


def _edit(adapter: Adapter, job: Job, parent: RemotePost | None) -> Call:
    assert parent is not None

    def send(delivery: Delivery) -> PublishResult:
        try:
            return adapter.edit(parent, job.post, delivery)
        except Unsupported as exc:  # kept on the job, so a correction knows to go as a reply instead
            if delivery.save is not None:
                delivery.save({CANNOT_EDIT: exc.detail})
            raise

    return Call(send, lambda d: adapter.find_edit(parent, job.post, d))


def _reply(adapter: Adapter, job: Job, parent: RemotePost | None) -> Call:
    assert parent is not None
    return Call(lambda d: adapter.reply(parent, job.post, d), lambda d: adapter.find_reply(parent, job.post, d))


CALLS: Mapping[JobKind, Callable[[Adapter, Job, RemotePost | None], Call]] = {
    JobKind.POST: _post, JobKind.EDIT: _edit, JobKind.REPLY: _reply,
}


def call_for(job: Job, adapter: Adapter, parent: Job | None = None) -> Call:
    """The adapter calls for `job`; `parent` is the job its edit or reply goes to (None for a post)."""
    return CALLS[job.kind](adapter, job, remote_post(parent) if parent is not None else None)


def can_look(job: Job) -> bool:
    """Can a lost answer to this job be settled by asking its network? A post or a reply: where the network finds
    its own posts (Capability.FIND). An edit: wherever the network edits, since `find_edit` reads the post back or
    (Telegram) answers None, and the same edit sent again changes nothing."""
    needs = Capability.EDIT if job.kind is JobKind.EDIT else Capability.FIND
    return needs in NETWORKS[job.network].capabilities


class Readiness(StrEnum):
    READY = "ready"
    WAIT = "wait"  # the parent is not out yet, but may still go out
    NEVER = "never"  # the parent is not out and will not be (failed, canceled, deleted)


def parent_ready(job: Job, parent: Job | None) -> tuple[Readiness, str]:
    """Can `job` be sent to its parent now? With the reason when not."""
    if job.kind is JobKind.POST:
        return Readiness.READY, ""
    if parent is None:
        return Readiness.NEVER, f"the job it {_goes_to(job)} is missing"
    if parent.state is JobState.PUBLISHED and parent.remote_id:
        return Readiness.READY, ""
    if parent.state is JobState.PUBLISHED:
        return Readiness.NEVER, f"job {parent.id}, which it {_goes_to(job)}, has no network id (resolved by hand)"
    if parent.state in (JobState.FAILED, JobState.CANCELED, JobState.DELETED):
        return Readiness.NEVER, f"job {parent.id}, which it {_goes_to(job)}, is {parent.state}"
    return Readiness.WAIT, f"waits for job {parent.id}, which it {_goes_to(job)}, to go out ({parent.state})"


def _goes_to(job: Job) -> str:
    return "edits" if job.kind is JobKind.EDIT else "answers"
