"""Reading times people type (`--at "2026-12-01 08:00"`, `--at +2h`) in the site's time zone. Pure."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

_RELATIVE = re.compile(r"^\+\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)$")
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
MAX_AHEAD = timedelta(days=5 * 365)  # a typo'd year is more likely than a post planned further out


def local_time(naive: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time in `zone`. A time skipped by a DST change is an error; a repeated one means the first."""
    aware = naive.replace(tzinfo=zone, fold=0)
    back = aware.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None)
    if back != naive:
        raise ValueError(f"{naive:%Y-%m-%d %H:%M} does not exist in {zone.key} (the clocks skip it)")
    return aware


def parse_when(text: str, *, now: datetime, zone: str) -> datetime:
    """`+2h`/`+30m`/`+1d`, `YYYY-MM-DD HH:MM` (site time), or ISO 8601 with an offset. Returns UTC."""
    value = text.strip()
    match = _RELATIVE.match(value)
    try:
        if match:
            when = now + timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
        else:
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                raise ValueError(f"{text!r} is not a time: use +2h, +30m, '2026-12-01 08:00' or ISO 8601") from None
            if parsed.tzinfo is None:
                parsed = local_time(parsed, ZoneInfo(zone))
            when = parsed.astimezone(timezone.utc)
        if when - now > MAX_AHEAD:
            raise OverflowError
    except OverflowError:
        raise ValueError(f"{text!r} is more than {MAX_AHEAD.days // 365} years ahead") from None
    return when
