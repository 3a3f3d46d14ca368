"""Reading times and durations people type, on the command line and in the config file. Pure.

One duration grammar serves every place a length of time is typed: `publish --at +2h`, `watch --interval`,
`queue --hours`, and the config's `min_gap`, `stagger` and `[watch] interval`. A duration is a number
(decimals allowed) with a unit, or several of those from the largest unit to the smallest:
`90s`, `5m`, `5min`, `2h`, `1.5h`, `1d`, `1h30m`. An option that documents its unit also takes a bare number.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|min|m|sec|s)\s*")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_SECONDS = {"d": 86400, "h": 3600, "min": 60, "m": 60, "sec": 1, "s": 1}
MAX_AHEAD = timedelta(days=5 * 365)  # a typo'd year is more likely than a post planned further out


class UnreadableTime(ValueError):
    """A time or duration, as someone typed it, that cannot be read."""


def parse_duration(text: str, *, unit: str | None = None) -> timedelta:
    """`text` read by the duration grammar. With `unit` (a unit of the grammar, e.g. "s" for a number of
    seconds), a bare number is read in that unit; "0" is zero in any unit. Raises UnreadableTime, or
    OverflowError for more than `timedelta` holds."""
    value = text.strip()
    if _NUMBER.fullmatch(value) and (unit is not None or float(value) == 0):
        return timedelta(seconds=float(value) * _SECONDS[unit or "s"])
    seconds, end, smallest = 0.0, 0, float("inf")
    for match in _PART.finditer(value):
        size = _SECONDS[match.group(2)]
        if match.start() != end or size >= smallest:  # a gap, or units out of order or repeated
            break
        seconds, end, smallest = seconds + float(match.group(1)) * size, match.end(), size
    if end and end == len(value):
        return timedelta(seconds=seconds)
    raise UnreadableTime(f"{text!r} is not a duration like 90s, 30m, 2h or 1h30m")


def local_time(naive: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time in `zone`. A time skipped by a DST change is an error; a repeated one means the first."""
    aware = naive.replace(tzinfo=zone, fold=0)
    back = aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if back != naive:
        raise ValueError(f"{naive:%Y-%m-%d %H:%M} does not exist in {zone.key} (the clocks skip it)")
    return aware


def parse_when(text: str, *, now: datetime, zone: str) -> datetime:
    """`+` and a duration (`+2h`, `+30m`, `+1d`), `YYYY-MM-DD HH:MM` (site time), or ISO 8601 with an offset.
    Returns UTC; raises UnreadableTime."""
    value = text.strip()
    unreadable = f"{text!r} is not a time: use +2h, +30m, '2026-12-01 08:00' or ISO 8601"
    try:
        if value.startswith("+"):
            try:
                when = now + parse_duration(value[1:])
            except UnreadableTime:
                raise UnreadableTime(unreadable) from None
        else:
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                raise UnreadableTime(unreadable) from None
            if parsed.tzinfo is None:
                try:
                    parsed = local_time(parsed, ZoneInfo(zone))
                except ValueError as exc:
                    raise UnreadableTime(str(exc)) from None
            when = parsed.astimezone(UTC)
        if when - now > MAX_AHEAD:
            raise OverflowError
    except OverflowError:
        raise UnreadableTime(f"{text!r} is more than {MAX_AHEAD.days // 365} years ahead") from None
    return when
