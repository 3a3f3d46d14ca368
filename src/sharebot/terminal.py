"""For a person at a terminal: colour on the text the commands print, and a progress line for long work.

Loaded only when stdout (colour) or stderr (progress) is a terminal, so a dry run in a pipe never pays for
it. Plain ANSI SGR codes: the few colours needed do not warrant a styling library.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import TextIO

from sharebot.progress import Progress, Stage


class Tone(StrEnum):
    BAD = "31"  # red: a post that would be refused or cannot go out, a failure
    WARN = "33"  # yellow: a warning, an outcome in doubt, something a person must do
    GOOD = "32"  # green: ok, published


def tint(text: str, tone: Tone) -> str:
    return f"\x1b[{tone.value}m{text}\x1b[0m"


# Job, account and retract states by how they read.
_TONES = {
    "failed": Tone.BAD, "cannot post": Tone.BAD, "NOT deleted": Tone.BAD, "rejected": Tone.BAD,
    "missing": Tone.BAD, "BLOCKED": Tone.BAD, "CANNOT POST": Tone.BAD,
    "unknown": Tone.WARN, "attention": Tone.WARN, "in flight": Tone.WARN, "expiring": Tone.WARN,
    "unreachable": Tone.WARN,
    "published": Tone.GOOD, "ok": Tone.GOOD, "deleted": Tone.GOOD,
}
_WORDS = "|".join(re.escape(w) for w in sorted(_TONES, key=len, reverse=True))
# The line shapes of output.py whose state is marked; anything else (a post's own text) is left alone.
_HEADER = re.compile(rf"^(── .* · )({_WORDS})( ─*)$")  # a dry run's post: `── acct (net) · 12/300 chars · ok ──`
_ISSUE = re.compile(r"^\s+([✗!]) \S+: ")  # `  ✗ too-long: …` / `  ! no-image: …`
_JOB = re.compile(rf"^(\s*\d+  \S+\s+)({_WORDS})\b")  # a job line: id, account, state
_LINE = re.compile(rf"^(  \S+(?: r\d+)?\s+(?:\S+\s+)?)({_WORDS})(:|\s|$)")  # publish and retract lines
_CHECK = re.compile(r"^(?=\S+ +\w)(.{13})(ok|missing|rejected|expiring|unreachable)( )")  # accounts check
_FLAG = re.compile(r"^\s*(FLAGGED|cannot post:|account \S+ cannot post)")
_HINT = re.compile(r"^\s*(settle it:|retracted .* but still up|\d+ due job\(s\) wait)")


def paint(text: str) -> str:
    """`text` as output.py lays it out, with each state, issue and flag in its colour. A post's own text (from
    its `── account …` head to the first blank line) is left as it is."""
    lines, in_post = [], False
    for line in text.split("\n"):
        if in_post and line.strip():
            lines.append(line)
            continue
        in_post = line.startswith("── ")
        lines.append(_paint_line(line))
    return "\n".join(lines)


def _paint_line(line: str) -> str:
    issue = _ISSUE.match(line)
    if issue:
        return tint(line, Tone.BAD if issue.group(1) == "✗" else Tone.WARN)
    if _FLAG.match(line):
        return tint(line, Tone.BAD)
    if _HINT.match(line):
        return tint(line, Tone.WARN)
    for shape in (_HEADER, _JOB, _LINE, _CHECK):
        found = shape.match(line)
        if found:
            word = found.group(2)
            return line[:found.start(2)] + tint(word, _TONES[word]) + line[found.end(2):]
    return line


_STAGES = {Stage.POLL: "polling", Stage.ENQUEUE: "queueing new articles", Stage.POST: "posting"}


class ProgressLine:
    """Progress events drawn as one line that redraws itself on a terminal (stderr); cleared when a stage is
    done, so the command's own output stays clean."""

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.shown = False

    def __call__(self, event: Progress) -> None:
        if event.total is not None and event.done >= event.total:
            self.clear()
            return
        if event.total:
            filled = self.width * event.done // event.total
            bar = f"[{'#' * filled}{'.' * (self.width - filled)}] {event.done}/{event.total}"
        else:
            bar = f"{event.done} done"
        label = f"  {event.label}" if event.label else ""
        self.stream.write(f"\r\x1b[2K{_STAGES[event.stage]} {bar}{label}")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self.shown = False
