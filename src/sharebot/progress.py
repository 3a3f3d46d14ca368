"""Progress of long work as events: the library reports how far it got, a command decides how to show it (a
line on a terminal, nothing in a pipe). Nothing here prints."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import NamedTuple


class Stage(StrEnum):
    POLL = "poll"  # a watch poll: sources read so far, of all
    ENQUEUE = "enqueue"  # one source's new articles (a backfill) rendered and queued so far
    POST = "post"  # a worker's jobs settled so far; the total is not known ahead (jobs keep coming due)


class Progress(NamedTuple):
    stage: Stage
    done: int
    total: int | None  # None: open-ended
    label: str = ""  # what it is working on: a source, or the last job settled


OnProgress = Callable[[Progress], object]
