"""When each post goes out: per-account slots, gaps, quiet hours and hourly caps. Pure.

Slots and quiet hours are wall-clock times in the account's IANA zone, never UTC minutes: a slot at 07:30
stays at 07:30 local across daylight-saving changes. A slot the clocks skip (02:30 on a spring-forward
night) moves to the moment the clocks jump (03:00); a slot the clocks repeat (02:30 on a fall-back night)
is used once, the first time. A burst is pushed to later times, never dropped.

Every time in and out is an aware datetime; results are in UTC.
"""

from __future__ import annotations

import functools
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sharebot.errors import ConfigError
from sharebot.times import aware_utc
from sharebot.when import UnreadableTime, local_time, parse_duration

HOUR = timedelta(hours=1)
HORIZON = timedelta(days=366)

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_GROUPS = {"daily": range(7), "weekdays": range(5), "weekend": range(5, 7)}
_KEYS = {"immediate", "slots", "min_gap", "quiet_hours", "stagger", "max_per_hour", "timezone"}
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class PublishMode(StrEnum):
    """How `publish` picks each post's time (see `plan`)."""

    SCHEDULE = "schedule"  # each account's own schedule
    NOW = "now"  # breaking news: at once
    AT = "at"  # at a time someone chose
    NEXT_SLOT = "next_slot"  # each account's next free slot


class Schedule(NamedTuple):
    """One account's posting rules. `slots` maps weekday (0 = Monday) to wall-clock times in `zone`;
    a quiet range whose start is after its end wraps midnight (23:00-06:30). Build it with
    `parse_schedule`, which checks every value (a NamedTuple, not a dataclass: a dry run plans with it)."""

    immediate: bool
    zone: ZoneInfo
    slots: Mapping[int, tuple[time, ...]] = MappingProxyType({})
    min_gap: timedelta = timedelta(0)
    quiet_hours: tuple[tuple[time, time], ...] = ()
    stagger: timedelta = timedelta(0)
    max_per_hour: int | None = None

    @property
    def has_slots(self) -> bool:
        return any(self.slots.get(day) for day in range(7))


def parse_schedule(raw: Mapping[str, Any] | str | None, *, zone: str, where: str) -> Schedule:
    """A schedule from config data: None or "immediate", or a table of slots and limits.

    `zone` is the site's time zone (a table's `timezone` overrides it); `where` names the table in errors,
    e.g. "config/sharebot.toml: accounts.x.schedule".
    """
    if raw is None or (isinstance(raw, str) and raw.strip() == "immediate"):
        return Schedule(immediate=True, zone=_zone(zone, f"{where}.timezone"))
    if not isinstance(raw, Mapping):
        raise ConfigError(f'{where}: {raw!r} is not a schedule: use "immediate" or a table of slots')
    for key in raw:
        if key not in _KEYS:
            raise ConfigError(f"{where}.{key}: unknown setting {key!r} (known: {', '.join(sorted(_KEYS))})")
    tz = _zone(raw.get("timezone", zone), f"{where}.timezone")
    slots = _slots(raw.get("slots", {}), f"{where}.slots")
    immediate = raw.get("immediate", not any(slots.values()))
    if not isinstance(immediate, bool):
        raise ConfigError(f"{where}.immediate: {immediate!r} is not true or false")
    quiet = _quiet(raw.get("quiet_hours", []), f"{where}.quiet_hours")
    cap = raw.get("max_per_hour")
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
        raise ConfigError(f"{where}.max_per_hour: {cap!r} is not a whole number of at least 1")
    for day, times in slots.items():
        for slot in times:
            if any(_within(slot, span) for span in quiet):
                raise ConfigError(
                    f"{where}.slots.{_DAYS[day]}: '{slot:%H:%M}' falls in quiet hours and could never be used"
                )
    return Schedule(
        immediate=immediate,
        zone=tz,
        slots=slots,
        min_gap=_duration(raw.get("min_gap", "0"), f"{where}.min_gap"),
        quiet_hours=quiet,
        stagger=_duration(raw.get("stagger", "0"), f"{where}.stagger"),
        max_per_hour=cap,
    )


def plan(
    schedule: Schedule,
    *,
    now: datetime,
    taken: Sequence[datetime],
    mode: PublishMode | str = PublishMode.SCHEDULE,
    at: datetime | None = None,
    embargo: datetime | None = None,
    order: int = 0,
) -> datetime:
    """The UTC time one post of one account goes out.

    `taken` are the account's run times already planned or sent for other articles; `order` is this
    account's place among the accounts posting the same article (it goes `stagger` x `order` after the slot or
    instant its schedule picks);
    `embargo` is the article's `published_at`: nothing goes out before it, in any mode.

    - "schedule": immediate accounts go at the earliest time, slot accounts at the first slot at or after
      it; either way the time is moved later until it is outside quiet hours, at least `min_gap` from every
      taken time (before and after) and no rolling 60 minutes holds more than `max_per_hour` posts.
    - "now" (breaking news): at once, or at the embargo. Slots, quiet hours, gap, cap and stagger do not
      apply: a person decided this cannot wait.
    - "at": exactly `at` (or the embargo if later); nothing else applies. A time before `now` is an error.
    - "next_slot": like "schedule" but always on a slot, even for an immediate account; an account
      without slots is an error.

    Raises ValueError for naive times, an unknown mode, or when nothing fits within 366 days.
    """
    now = aware_utc(now, "now")
    start = max(now, aware_utc(embargo, "embargo")) if embargo is not None else now
    try:
        mode = PublishMode(mode)
    except ValueError:
        raise ValueError(f"unknown mode {mode!r}: use one of {', '.join(PublishMode)}") from None
    if mode is PublishMode.NOW:
        return start
    if mode is PublishMode.AT:
        if at is None:
            raise ValueError('mode "at" needs a time')
        when = aware_utc(at, "at")
        if when < now:
            raise ValueError(f"{describe(when, schedule.zone)} is in the past")
        return max(when, start)
    if order < 0:
        raise ValueError(f"order cannot be negative, got {order}")
    # The stagger is added to the time the schedule picks (a slot, or the earliest instant), so accounts that
    # share a slot go out `stagger` apart instead of together; it never pushes a post on to a later slot.
    offset = schedule.stagger * order
    busy = sorted(t if t.tzinfo is UTC else aware_utc(t, "taken") for t in taken)  # the store's are UTC already
    on_slots = mode is PublishMode.NEXT_SLOT or not schedule.immediate
    if on_slots and not schedule.has_slots:
        raise ValueError("this account has no time slots: configure schedule.slots or post --now/--at")
    limit = start + HORIZON
    base = start  # a slot or instant; the post goes at base + offset
    while base <= limit:
        if on_slots:
            slot = _next_slot(schedule, base)
            if slot is None or slot > limit:
                break
            base = slot
        later = _bump(schedule, base + offset, busy)
        if later is None:
            return base + offset
        base = later - offset
    raise ValueError(f"no time within 366 days after {describe(start + offset, schedule.zone)} fits the schedule")


def lookback(schedules: Iterable[Schedule]) -> timedelta:
    """How long before `now` a taken time can still move a plan: `plan` keeps at least `min_gap` from each
    taken time and counts `max_per_hour` over a rolling hour, and never plans before `now`."""
    return max([HOUR, *(s.min_gap for s in schedules)])


def upcoming_slots(schedule: Schedule, *, start: datetime, end: datetime) -> list[datetime]:
    """The UTC slot times in [start, end), leaving out any the clocks pushed into quiet hours."""
    start, end = aware_utc(start, "start"), aware_utc(end, "end")
    found: list[datetime] = []
    day = start.astimezone(schedule.zone).date()
    while day <= end.astimezone(schedule.zone).date():
        found.extend(t for t in _day_slots(schedule, day) if start <= t < end and not _quiet_at(schedule, t))
        day += timedelta(days=1)
    return found


def describe(dt: datetime, zone: ZoneInfo | str) -> str:
    """`Tue 2026-12-01 08:00 CET`: a time as the newsroom reads it (English day names, any locale)."""
    tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    local = aware_utc(dt, "time").astimezone(tz)
    return f"{_DAYS[local.weekday()].title()} {local:%Y-%m-%d %H:%M} {local.tzname()}"


# --- search -----------------------------------------------------------------------------------------


def _bump(schedule: Schedule, t: datetime, busy: list[datetime]) -> datetime | None:
    """None if `t` breaks no rule, else the earliest later instant that might (all between are ruled out)."""
    if _quiet_at(schedule, t):
        return _quiet_end(schedule, t)
    gap = schedule.min_gap
    if gap:
        # The taken times less than `gap` from t, sorted: the latest is the one to clear.
        clash = busy[bisect_right(busy, t - gap) : bisect_left(busy, t + gap)]
        if clash:
            return clash[-1] + gap
    cap = schedule.max_per_hour
    if cap is not None and _busiest_hour(busy, t) >= cap:
        # The count of a window holding t can only fall when a taken time leaves it, i.e. at x + 1h.
        return busy[bisect_right(busy, t - HOUR)] + HOUR
    return None


def _busiest_hour(busy: list[datetime], t: datetime) -> int:
    """The most taken times in any 60-minute window [w, w + 1h) that also holds `t`."""
    # The fullest window can be slid right until it starts on a taken time or on t itself.
    starts = busy[bisect_right(busy, t - HOUR) : bisect_right(busy, t)] + [t]
    return max(bisect_left(busy, w + HOUR) - bisect_left(busy, w) for w in starts)


def _next_slot(schedule: Schedule, t: datetime) -> datetime | None:
    day = t.astimezone(schedule.zone).date()
    for offset in range(8):
        later = [s for s in _day_slots(schedule, day + timedelta(days=offset)) if s >= t]
        if later:
            return later[0]
    return None


def _day_slots(schedule: Schedule, day: date) -> tuple[datetime, ...]:
    return _slot_instants(day, tuple(schedule.slots.get(day.weekday(), ())), schedule.zone)


@functools.lru_cache(maxsize=512)
def _slot_instants(day: date, walls: tuple[time, ...], zone: ZoneInfo) -> tuple[datetime, ...]:
    """One day's slots in UTC, each worked out once: a plan walks the same few days for every candidate time
    and every account."""
    return tuple(sorted({_instant(day, wall, zone) for wall in walls}))


def _instant(day: date, wall: time, zone: ZoneInfo, fold: int = 0) -> datetime:
    """UTC for a wall-clock time; one the clocks skip becomes the moment they jump."""
    naive = datetime.combine(day, wall)
    if fold:
        return naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    try:
        return local_time(naive, zone).astimezone(UTC)
    except ValueError:
        # In a gap, fold=0/1 read the time with the offsets before/after the change; it lies between.
        ends = sorted(naive.replace(tzinfo=zone, fold=f).astimezone(UTC) for f in (0, 1))
        return _transition(ends[0], ends[1], zone)


def _transition(lo: datetime, hi: datetime, zone: ZoneInfo) -> datetime:
    """The first instant in (lo, hi] with hi's UTC offset; lo's offset differs."""
    target = hi.astimezone(zone).utcoffset()
    while hi - lo > timedelta(seconds=1):
        mid = lo + timedelta(seconds=(hi - lo).total_seconds() // 2)
        if mid.astimezone(zone).utcoffset() == target:
            hi = mid
        else:
            lo = mid
    return hi


def _within(wall: time, span: tuple[time, time]) -> bool:
    begin, end = span
    if begin <= end:
        return begin <= wall < end
    return wall >= begin or wall < end


def _quiet_at(schedule: Schedule, t: datetime) -> bool:
    wall = t.astimezone(schedule.zone).time()
    return any(_within(wall, span) for span in schedule.quiet_hours)


def _quiet_end(schedule: Schedule, t: datetime) -> datetime:
    local = t.astimezone(schedule.zone)
    ends = []
    for begin, end in schedule.quiet_hours:
        if not _within(local.time(), (begin, end)):
            continue
        day = local.date() + timedelta(days=1 if begin > end and local.time() >= begin else 0)
        stop = _instant(day, end, schedule.zone)
        if stop <= t:  # t is in the second pass of a repeated hour: the end is the second one too
            stop = _instant(day, end, schedule.zone, fold=1)
        ends.append(stop)
    stop = min(ends)
    # If the clocks go back inside the range, the wall clock may leave it early: look again from there.
    if stop.astimezone(schedule.zone).utcoffset() != local.utcoffset():
        stop = min(stop, _transition(t, stop, schedule.zone))
    return stop if stop > t else t + timedelta(minutes=1)


# --- config values ----------------------------------------------------------------------------------


def _zone(name: Any, where: str) -> ZoneInfo:
    try:
        if isinstance(name, str) and name:
            return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        pass
    raise ConfigError(f"{where}: {name!r} is not a known IANA time zone (e.g. 'Europe/Berlin')")


def _slots(raw: Any, where: str) -> dict[int, tuple[time, ...]]:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: {raw!r} is not a table of days (mon..sun, daily, weekdays, weekend)")
    days: dict[int, tuple[time, ...]] = {}
    # Wider groups first, so a named day overrides weekdays/weekend, which override daily.
    for key in sorted(raw, key=lambda k: (k not in ("daily",), k in _DAYS)):
        if key not in _GROUPS and key not in _DAYS:
            raise ConfigError(f"{where}.{key}: unknown day {key!r}: use mon..sun, daily, weekdays or weekend")
        value = raw[key]
        items = [value] if isinstance(value, (str, time)) else value
        if not isinstance(items, list):
            raise ConfigError(f"{where}.{key}: {value!r} is not a list of times HH:MM")
        times = tuple(sorted({_time(item, f"{where}.{key}") for item in items}))
        for day in _GROUPS[key] if key in _GROUPS else (_DAYS.index(key),):
            days[day] = times
    return days


def _time(value: Any, where: str) -> time:
    if isinstance(value, time):  # TOML local times (07:30:00) arrive already parsed
        return value.replace(second=0, microsecond=0)
    match = _TIME.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ConfigError(f"{where}: {value!r} is not a time HH:MM")
    return time(int(match.group(1)), int(match.group(2)))


def _quiet(raw: Any, where: str) -> tuple[tuple[time, time], ...]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list):
        raise ConfigError(f"{where}: {raw!r} is not a list of ranges like '23:00-06:30'")
    spans = []
    for item in items:
        parts = item.split("-") if isinstance(item, str) else []
        if len(parts) != 2 or not all(_TIME.match(p.strip()) for p in parts):
            raise ConfigError(f"{where}: {item!r} is not a range HH:MM-HH:MM")
        begin, end = (_time(p, where) for p in parts)
        if begin == end:
            raise ConfigError(f"{where}: {item!r} is empty (start and end are the same)")
        spans.append((begin, end))
    if _covers_the_day(spans):
        raise ConfigError(f"{where}: {raw!r} covers the whole day, so nothing could ever be posted")
    return tuple(spans)


def _covers_the_day(spans: list[tuple[time, time]]) -> bool:
    """Do these quiet ranges (a range may wrap midnight) leave no minute of the day free?"""
    pieces = []
    for begin, end in spans:
        b, e = begin.hour * 60 + begin.minute, end.hour * 60 + end.minute
        pieces += [(b, e)] if b < e else [(b, 1440), (0, e)]
    reached = 0
    for b, e in sorted(pieces):
        if b > reached:
            return False
        reached = max(reached, e)
    return reached >= 1440


def _duration(value: Any, where: str) -> timedelta:
    """A config duration (see `when.parse_duration`); a bare number other than "0" has no unit, so no."""
    try:
        if isinstance(value, str):
            return parse_duration(value)
    except (UnreadableTime, OverflowError):
        pass
    raise ConfigError(f"{where}: {value!r} is not a duration like 90s, 30m, 2h or 1h30m")


def duration_seconds(value: Any, *, where: str) -> float:
    """A config duration (`90s`, `30m`, `2h`, `1h30m`) as seconds; ConfigError naming `where` otherwise."""
    return _duration(value, where).total_seconds()
