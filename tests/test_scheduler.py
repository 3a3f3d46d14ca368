"""The scheduler with a fake clock: `now` is passed in, nothing sleeps.

Constraint checks here are written independently of the module (brute force over pairs) so a shared
mistake cannot hide.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sharebot.errors import ConfigError
from sharebot.scheduler import PublishMode, Schedule, describe, duration_seconds, parse_schedule, plan, upcoming_slots
from sharebot.when import UnreadableTime, parse_duration, parse_when

BERLIN = ZoneInfo("Europe/Berlin")
HOUR = timedelta(hours=1)
WHERE = "config/sharebot.toml: accounts.x.schedule"
SLOT_TIMES = (time(2, 30), time(7, 30), time(12, 0), time(18, 45))


def berlin(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=BERLIN, fold=fold).astimezone(UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def daily(*times: time, **limits) -> Schedule:
    return Schedule(immediate=False, zone=BERLIN, slots={d: times for d in range(7)}, **limits)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


# --- independent checks -----------------------------------------------------------------------------


def quiet(t: datetime, spans) -> bool:
    wall = t.astimezone(BERLIN).time()
    return any((a <= wall < b) if a < b else (wall >= a or wall < b) for a, b in spans)


def gap_ok(t: datetime, taken, gap: timedelta) -> bool:
    return all(abs(t - x) >= gap for x in taken)


def cap_ok(t: datetime, taken, cap: int | None) -> bool:
    """No set of more than `cap` posts that includes t spans less than an hour."""
    if cap is None:
        return True
    points = sorted([*taken, t])
    at = points.index(t)
    return not any(
        j - i + 1 > cap and points[j] - points[i] < HOUR
        for i in range(at + 1)
        for j in range(at, len(points))
    )


def allowed(t: datetime, s: Schedule, taken) -> bool:
    return not quiet(t, s.quiet_hours) and gap_ok(t, taken, s.min_gap) and cap_ok(t, taken, s.max_per_hour)


# --- daylight saving --------------------------------------------------------------------------------


def expected_slots(day: date) -> list[datetime]:
    out = []
    for wall in SLOT_TIMES:
        if day == date(2026, 3, 29) and wall == time(2, 30):
            out.append(utc(2026, 3, 29, 1, 0))  # skipped: the moment the clocks jump, 03:00 CEST
        else:
            out.append(datetime.combine(day, wall, tzinfo=BERLIN).astimezone(UTC))  # fold=0: first 02:30
    return out


@pytest.mark.parametrize(
    "first,last,change,before,after",
    [
        (date(2026, 3, 25), date(2026, 4, 2), date(2026, 3, 29), 1, 2),
        (date(2026, 10, 21), date(2026, 10, 29), date(2026, 10, 25), 2, 1),
    ],
)
def test_each_slot_once_per_day_at_its_wall_clock_time_across_dst(first, last, change, before, after):
    s = daily(*SLOT_TIMES)
    for day in days(first, last):
        start = datetime.combine(day, time(0), tzinfo=BERLIN).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=BERLIN).astimezone(UTC)
        got = upcoming_slots(s, start=start, end=end)
        assert got == expected_slots(day), day
        local = [t.astimezone(BERLIN) for t in got]
        offsets = [t.utcoffset() // HOUR for t in local]
        if day < change:
            assert offsets == [before] * 4
        elif day > change:
            assert offsets == [after] * 4
        else:  # 02:30 happens before the change, the rest after
            assert offsets == [2, after, after, after] if before == 2 else [after] * 4
        walls = [t.time() for t in local]
        if day == date(2026, 3, 29):
            assert walls == [time(3, 0), *SLOT_TIMES[1:]]
        else:
            assert walls == list(SLOT_TIMES)


@pytest.mark.parametrize(
    "first,last", [(date(2026, 3, 25), date(2026, 4, 2)), (date(2026, 10, 21), date(2026, 10, 29))]
)
def test_planning_one_post_after_another_walks_every_slot_once(first, last):
    s = daily(*SLOT_TIMES)
    now = datetime.combine(first, time(0), tzinfo=BERLIN).astimezone(UTC)
    stop = datetime.combine(last + timedelta(days=1), time(0), tzinfo=BERLIN).astimezone(UTC)
    walked = []
    while True:
        t = plan(s, now=now, taken=[])
        if t >= stop:
            break
        walked.append(t)
        now = t + timedelta(seconds=1)
    assert walked == [t for day in days(first, last) for t in expected_slots(day)]
    assert utc(2026, 10, 25, 1, 30) not in walked  # the second 02:30 (CET) is not a slot


def test_quiet_hours_are_wall_clock_across_dst():
    s = Schedule(immediate=True, zone=BERLIN, quiet_hours=((time(22), time(6, 30)),))
    assert (
        plan(s, now=berlin(2026, 3, 28, 23, 0), taken=[])
        == berlin(2026, 3, 29, 6, 30)
        == utc(2026, 3, 29, 4, 30)
    )
    assert (
        plan(s, now=berlin(2026, 10, 24, 23), taken=[])
        == berlin(2026, 10, 25, 6, 30)
        == utc(2026, 10, 25, 5, 30)
    )
    # Quiet until 02:30, which the clocks skip on 2026-03-29: free from 03:00 CEST.
    skip = Schedule(immediate=True, zone=BERLIN, quiet_hours=((time(1), time(2, 30)),))
    assert plan(skip, now=berlin(2026, 3, 29, 1, 15), taken=[]) == utc(2026, 3, 29, 1, 0)
    # Quiet 02:50-03:30: at 03:00 CEST the clocks go back to 02:00, outside the range, until 02:50 CET.
    back = Schedule(immediate=True, zone=BERLIN, quiet_hours=((time(2, 50), time(3, 30)),))
    assert plan(back, now=berlin(2026, 10, 25, 2, 55), taken=[]) == utc(2026, 10, 25, 1, 0)
    assert plan(back, now=berlin(2026, 10, 25, 2, 55, fold=1), taken=[]) == berlin(2026, 10, 25, 3, 30)
    # Quiet 02:00-02:45 is quiet in both passes of the repeated hour; each pass ends at its own 02:45.
    twice = Schedule(immediate=True, zone=BERLIN, quiet_hours=((time(2), time(2, 45)),))
    assert plan(twice, now=berlin(2026, 10, 25, 2, 10), taken=[]) == utc(2026, 10, 25, 0, 45)
    assert plan(twice, now=berlin(2026, 10, 25, 2, 10, fold=1), taken=[]) == utc(2026, 10, 25, 1, 45)


# --- modes, embargo, stagger ------------------------------------------------------------------------

NOW = berlin(2026, 6, 10, 9, 0)  # a Wednesday


def test_immediate_goes_at_once_and_slot_accounts_at_the_next_slot():
    assert plan(Schedule(immediate=True, zone=BERLIN), now=NOW, taken=[]) == NOW
    s = daily(time(7, 30), time(12), time(18, 45))
    assert plan(s, now=NOW, taken=[]) == berlin(2026, 6, 10, 12, 0)
    assert plan(s, now=berlin(2026, 6, 10, 12, 0), taken=[]) == berlin(2026, 6, 10, 12, 0)
    assert plan(s, now=berlin(2026, 6, 10, 19, 0), taken=[]) == berlin(2026, 6, 11, 7, 30)
    weekly = Schedule(immediate=False, zone=BERLIN, slots={0: (time(8),)})
    assert plan(weekly, now=NOW, taken=[]) == berlin(2026, 6, 15, 8, 0)


def test_now_ignores_slots_quiet_hours_gap_cap_and_stagger_but_not_the_embargo():
    s = daily(time(7, 30), min_gap=HOUR, max_per_hour=1, stagger=timedelta(minutes=5))
    s = s._replace(quiet_hours=((time(8), time(10)),))
    busy = [NOW, NOW - timedelta(minutes=1)]
    assert plan(s, now=NOW, taken=busy, mode="now", order=3) == NOW
    embargo = NOW + timedelta(minutes=20)
    assert plan(s, now=NOW, taken=busy, mode="now", embargo=embargo) == embargo


def test_at_is_exact_but_never_before_the_embargo_or_in_the_past():
    s = daily(time(7, 30), min_gap=HOUR)
    at = berlin(2026, 12, 1, 8, 0)
    assert plan(s, now=NOW, taken=[at], mode="at", at=at) == at
    assert describe(at, BERLIN) == "Tue 2026-12-01 08:00 CET"
    embargo = at + timedelta(hours=2)
    assert plan(s, now=NOW, taken=[], mode="at", at=at, embargo=embargo) == embargo
    with pytest.raises(ValueError, match="in the past"):
        plan(s, now=NOW, taken=[], mode="at", at=NOW - timedelta(minutes=1))
    with pytest.raises(ValueError, match="needs a time"):
        plan(s, now=NOW, taken=[], mode="at")


def test_next_slot_uses_slots_even_for_an_immediate_account():
    s = Schedule(immediate=True, zone=BERLIN, slots={d: (time(7, 30), time(17)) for d in range(7)})
    assert plan(s, now=NOW, taken=[]) == NOW
    assert plan(s, now=NOW, taken=[], mode="next_slot") == berlin(2026, 6, 10, 17, 0)
    with pytest.raises(ValueError, match="no time slots"):
        plan(Schedule(immediate=True, zone=BERLIN), now=NOW, taken=[], mode="next_slot")
    with pytest.raises(ValueError, match="unknown mode"):
        plan(s, now=NOW, taken=[], mode="soon")


def test_embargo_holds_in_every_mode():
    embargo = berlin(2026, 6, 11, 14, 5)  # published_at tomorrow afternoon
    slots = daily(time(7, 30), time(12), time(18, 45))
    immediate = Schedule(immediate=True, zone=BERLIN, quiet_hours=((time(14), time(15)),))
    assert plan(slots, now=NOW, taken=[], embargo=embargo) == berlin(2026, 6, 11, 18, 45)
    assert plan(slots, now=NOW, taken=[], mode="next_slot", embargo=embargo) == berlin(2026, 6, 11, 18, 45)
    assert plan(immediate, now=NOW, taken=[], embargo=embargo) == berlin(2026, 6, 11, 15, 0)
    assert plan(immediate, now=NOW, taken=[], mode="now", embargo=embargo) == embargo
    assert plan(immediate, now=NOW, taken=[], embargo=NOW - timedelta(days=1)) == NOW  # already out


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="embargo must be an aware datetime"):
        plan(daily(time(8)), now=NOW, taken=[], embargo=datetime(2026, 6, 11, 14))
    with pytest.raises(ValueError, match="taken must be an aware datetime"):
        plan(daily(time(8)), now=NOW, taken=[datetime(2026, 6, 11, 14)])


def test_stagger_spreads_one_article_over_networks():
    s = Schedule(immediate=True, zone=BERLIN, stagger=timedelta(minutes=5))
    assert [plan(s, now=NOW, taken=[], order=k) for k in range(6)] == [
        NOW + timedelta(minutes=5 * k) for k in range(6)
    ]
    # Accounts sharing a slot go out a stagger apart after it; the stagger never pushes one to a later slot.
    slotted = daily(time(9, 2), time(12), stagger=timedelta(minutes=5))
    got = [plan(slotted, now=NOW, taken=[], order=k) for k in range(6)]
    assert got == [berlin(2026, 6, 10, 9, 2) + timedelta(minutes=5 * k) for k in range(6)]


def test_a_staggered_slot_post_still_keeps_quiet_hours_and_gaps():
    late = daily(time(22), time(7), quiet_hours=((time(22, 10), time(6, 30)),), stagger=timedelta(minutes=5))
    assert plan(late, now=berlin(2026, 6, 10, 21, 0), taken=[], order=1) == berlin(2026, 6, 10, 22, 5)
    # 22:00 + 15 min falls in quiet hours: the post takes the next slot, staggered the same.
    assert plan(late, now=berlin(2026, 6, 10, 21, 0), taken=[], order=3) == berlin(2026, 6, 11, 7, 15)
    gapped = daily(time(9, 30), time(12), min_gap=timedelta(minutes=30), stagger=timedelta(minutes=5))
    assert plan(gapped, now=NOW, taken=[berlin(2026, 6, 10, 9, 20)], order=2) == berlin(2026, 6, 10, 12, 10)


# --- gap and cap ------------------------------------------------------------------------------------


def test_gap_holds_on_both_sides_and_the_cap_is_a_rolling_hour():
    s = Schedule(immediate=True, zone=BERLIN, min_gap=timedelta(minutes=30))
    ten = [berlin(2026, 6, 10, 10, 0)]
    assert plan(s, now=berlin(2026, 6, 10, 9, 50), taken=ten) == berlin(2026, 6, 10, 10, 30)
    assert plan(s, now=berlin(2026, 6, 10, 9, 20), taken=ten) == berlin(2026, 6, 10, 9, 20)
    capped = Schedule(immediate=True, zone=BERLIN, max_per_hour=2)
    taken = [berlin(2026, 6, 10, 8, 50), berlin(2026, 6, 10, 8, 55)]
    # 09:05 starts a new clock hour but 08:50-09:50 would hold three posts.
    assert plan(capped, now=berlin(2026, 6, 10, 9, 5), taken=taken) == berlin(2026, 6, 10, 9, 50)
    # Posts planned later count too: 09:00 would make three within 09:00-09:40; 10:30 shares an hour
    # only with 09:40.
    ahead = [berlin(2026, 6, 10, 9, 30), berlin(2026, 6, 10, 9, 40)]
    assert plan(capped, now=berlin(2026, 6, 10, 9, 0), taken=ahead) == berlin(2026, 6, 10, 10, 30)


def check_burst(s: Schedule, now: datetime) -> list[datetime]:
    planned: list[datetime] = []
    for _ in range(50):
        planned.append(plan(s, now=now, taken=planned))
    assert len(planned) == 50
    ordered = sorted(planned)
    assert len(set(planned)) == 50 or s.min_gap == timedelta(0)
    assert all(b - a >= s.min_gap for a, b in pairwise(ordered))
    cap = s.max_per_hour
    assert all(ordered[i + cap] - ordered[i] >= HOUR for i in range(len(ordered) - cap))
    assert not any(quiet(t, s.quiet_hours) for t in planned)
    assert all(t >= now for t in planned)
    return planned


def test_a_burst_of_50_on_an_immediate_account_is_delayed_never_dropped():
    s = Schedule(
        immediate=True,
        zone=BERLIN,
        min_gap=timedelta(minutes=10),
        max_per_hour=4,
        quiet_hours=((time(23), time(6, 30)),),
    )
    now = berlin(2026, 6, 10, 20, 0)
    planned = check_burst(s, now)
    minutes = [int((t - now) / timedelta(minutes=1)) for t in planned[:8]]
    assert minutes == [0, 10, 20, 30, 60, 70, 80, 90]
    assert planned[12] == berlin(2026, 6, 11, 6, 30)  # 20:00-22:59 holds 12, then quiet until 06:30


def test_a_burst_of_50_on_slots_lands_only_on_slots():
    walls = tuple(time(h, m) for h in range(7, 22) for m in (0, 20, 40))
    s = daily(*walls, min_gap=timedelta(minutes=30), max_per_hour=2, quiet_hours=((time(22), time(6, 30)),))
    planned = check_burst(s, berlin(2026, 10, 20, 7, 5))
    assert all(t.astimezone(BERLIN).time() in walls for t in planned)
    assert planned[:3] == [
        berlin(2026, 10, 20, 7, 20),
        berlin(2026, 10, 20, 8, 0),
        berlin(2026, 10, 20, 8, 40),
    ]
    # The gap leaves every other 20-minute slot: 22 fit on the first day, 23 on the next, 5 on the third.
    per_day = [sum(t.astimezone(BERLIN).day == d for t in planned) for d in (20, 21, 22)]
    assert per_day == [22, 23, 5]


def test_an_impossible_schedule_fails_instead_of_looping():
    s = daily(time(8), max_per_hour=1)
    every_slot = [
        berlin(d.year, d.month, d.day, 8, 0) for d in days(NOW.date(), NOW.date() + timedelta(days=400))
    ]
    with pytest.raises(ValueError, match="no time within 366 days"):
        plan(s, now=NOW, taken=every_slot)
    assert plan(s, now=NOW, taken=every_slot[:200] + every_slot[201:]) == every_slot[200]
    # Free again only after the horizon: still refused rather than planned a year out.
    assert every_slot[366] < NOW + timedelta(days=366) < every_slot[367]
    with pytest.raises(ValueError, match="no time within 366 days"):
        plan(s, now=NOW, taken=every_slot[:367])


# --- config -----------------------------------------------------------------------------------------


def test_immediate_and_none():
    for raw in (None, "immediate"):
        s = parse_schedule(raw, zone="Europe/Berlin", where=WHERE)
        assert s == Schedule(immediate=True, zone=BERLIN)


def test_a_full_table_from_toml():
    text = """
    [accounts.x.schedule]
    timezone = "America/New_York"
    min_gap = "1h30m"
    stagger = "90s"
    max_per_hour = 4
    quiet_hours = ["23:00-06:30", "13:00-13:30"]
    [accounts.x.schedule.slots]
    daily = ["09:00"]
    weekdays = ["07:30", "12:00", "07:30"]
    sat = [10:15:00]
    sun = []
    """
    raw = tomllib.loads(text)["accounts"]["x"]["schedule"]
    s = parse_schedule(raw, zone="Europe/Berlin", where=WHERE)
    assert s.zone == ZoneInfo("America/New_York") and not s.immediate
    assert s.slots == {**{d: (time(7, 30), time(12)) for d in range(5)}, 5: (time(10, 15),), 6: ()}
    assert (s.min_gap, s.stagger, s.max_per_hour) == (timedelta(minutes=90), timedelta(seconds=90), 4)
    assert s.quiet_hours == ((time(23), time(6, 30)), (time(13), time(13, 30)))
    limits = parse_schedule({"min_gap": "2h", "max_per_hour": 1}, zone="Europe/Berlin", where=WHERE)
    assert limits.immediate and limits.min_gap == 2 * HOUR and not limits.slots
    both = parse_schedule({"immediate": True, "slots": {"daily": ["08:00"]}}, zone="UTC", where=WHERE)
    assert both.immediate and both.has_slots


@pytest.mark.parametrize(
    "raw,message",
    [
        ({"slots": {"mon": ["25:00"]}}, f"{WHERE}.slots.mon: '25:00' is not a time HH:MM"),
        ({"slots": {"mon": ["7.30"]}}, f"{WHERE}.slots.mon: '7.30' is not a time HH:MM"),
        ({"slots": {"someday": ["07:30"]}}, f"{WHERE}.slots.someday: unknown day 'someday'"),
        ({"slots": {"mon": 730}}, f"{WHERE}.slots.mon: 730 is not a list of times"),
        ({"min_gap": "30 minutes"}, f"{WHERE}.min_gap: '30 minutes' is not a duration"),
        ({"stagger": 5}, f"{WHERE}.stagger: 5 is not a duration"),
        ({"max_per_hour": 0}, f"{WHERE}.max_per_hour: 0 is not a whole number"),
        ({"max_per_hour": True}, f"{WHERE}.max_per_hour: True is not a whole number"),
        ({"quiet_hours": ["23:00-25:00"]}, f"{WHERE}.quiet_hours: '23:00-25:00' is not a range HH:MM-HH:MM"),
        ({"quiet_hours": ["06:00-06:00"]}, f"{WHERE}.quiet_hours: '06:00-06:00' is empty"),
        (
            {"quiet_hours": ["06:00-18:00", "17:00-06:30"]},
            f"{WHERE}.quiet_hours: ['06:00-18:00', '17:00-06:30'] covers the whole day",
        ),
        (
            {"slots": {"daily": ["23:30"]}, "quiet_hours": ["23:00-06:30"]},
            f"{WHERE}.slots.mon: '23:30' falls in quiet hours",
        ),
        ({"timezone": "Mars/Olympus"}, f"{WHERE}.timezone: 'Mars/Olympus' is not a known IANA time zone"),
        ({"immediate": "yes"}, f"{WHERE}.immediate: 'yes' is not true or false"),
        ({"slot": {}}, f"{WHERE}.slot: unknown setting 'slot'"),
        ("hourly", f"{WHERE}: 'hourly' is not a schedule"),
    ],
)
def test_config_errors_name_the_key_and_value(raw, message):
    with pytest.raises(ConfigError) as caught:
        parse_schedule(raw, zone="Europe/Berlin", where=WHERE)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


# --- the one duration grammar ----------------------------------------------------------------------


@pytest.mark.parametrize("text, seconds", [
    ("90s", 90), ("90 sec", 90), ("5m", 300), ("5min", 300), ("2h", 7200), ("1.5h", 5400), ("1d", 86400),
    ("1h30m", 5400), ("1h 30m", 5400), ("1d2h3m4s", 93784), ("0", 0), ("0m", 0), (" 45m ", 2700),
])
def test_durations_read_the_same_everywhere(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)
    assert duration_seconds(text, where="watch.interval") == seconds
    assert parse_when(f"+{text}", now=NOW, zone="Europe/Berlin") == NOW + timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "5", "1.5", "h", "5 minutes", "30m1h", "1h1h", "1h-30m", "-5m", "5mo",
                                  "1e3s", "nan"])
def test_what_is_not_a_duration(text):
    with pytest.raises(UnreadableTime, match="is not a duration like 90s, 30m, 2h or 1h30m"):
        parse_duration(text)
    with pytest.raises(ConfigError, match="is not a duration"):
        duration_seconds(text, where="watch.interval")


def test_a_duration_too_long_for_any_plan():
    with pytest.raises(OverflowError):
        parse_duration("99999999999999d")
    with pytest.raises(ConfigError, match="'99999999999999d' is not a duration"):
        duration_seconds("99999999999999d", where="watch.interval")


def test_an_option_that_names_its_unit_takes_a_bare_number():
    assert parse_duration("90", unit="s") == timedelta(seconds=90)
    assert parse_duration("1.5", unit="h") == timedelta(minutes=90)
    assert parse_duration("2h", unit="s") == timedelta(hours=2)  # a unit typed wins


def test_when_reads_local_time_iso_and_refuses_the_rest():
    assert parse_when("2026-12-01 08:00", now=NOW, zone="Europe/Berlin") == utc(2026, 12, 1, 7, 0)
    assert parse_when("2026-12-01T08:00+00:00", now=NOW, zone="Europe/Berlin") == utc(2026, 12, 1, 8, 0)
    for text, message in (("tomorrowish", "is not a time"), ("+soon", "is not a time"),
                          ("2026-03-29 02:30", "does not exist in Europe/Berlin"),
                          ("+3000d", "more than 5 years ahead"), ("+9999999999d", "more than 5 years ahead")):
        with pytest.raises(UnreadableTime, match=message):
            parse_when(text, now=NOW, zone="Europe/Berlin")


def test_modes_are_one_enum_and_plain_strings_still_read():
    s = daily(time(7, 30))
    assert plan(s, now=NOW, taken=[], mode=PublishMode.NOW) == plan(s, now=NOW, taken=[], mode="now") == NOW
    assert [str(m) for m in PublishMode] == ["schedule", "now", "at", "next_slot"]


def test_describe():
    assert describe(utc(2026, 12, 1, 7, 0), BERLIN) == "Tue 2026-12-01 08:00 CET"
    assert describe(utc(2026, 7, 1, 6, 0), "Europe/Berlin") == "Wed 2026-07-01 08:00 CEST"


# --- property ---------------------------------------------------------------------------------------

minute_of_day = st.integers(0, 1439).map(lambda m: time(m // 60, m % 60))


@st.composite
def quiet_spans(draw):
    spans = []
    for _ in range(draw(st.integers(0, 2))):
        start = draw(st.integers(0, 1439))
        length = draw(st.integers(1, 8 * 60))
        end = (start + length) % 1440
        spans.append((time(start // 60, start % 60), time(end // 60, end % 60)))
    return tuple(spans)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    immediate=st.booleans(),
    walls=st.lists(minute_of_day, min_size=1, max_size=4),
    weekdays=st.sets(st.integers(0, 6), min_size=1),
    spans=quiet_spans(),
    gap=st.integers(0, 120),
    cap=st.none() | st.integers(1, 5),
    stagger=st.integers(0, 15),
    order=st.integers(0, 3),
    base=st.sampled_from([utc(2026, 3, 26), utc(2026, 6, 10), utc(2026, 10, 22)]),
    start=st.integers(0, 7 * 1440),
    offsets=st.lists(st.integers(-180 * 60, 2 * 86400), max_size=30),
    embargo=st.none() | st.integers(0, 600),
)
def test_the_plan_keeps_every_rule_and_is_the_earliest_that_does(
    immediate, walls, weekdays, spans, gap, cap, stagger, order, base, start, offsets, embargo
):
    slots = {d: tuple(sorted(set(walls))) for d in weekdays}
    # A slot account needs a slot whose staggered time is outside quiet hours; without one no time fits and
    # `plan` says so (tested below).
    assume(immediate or any(not quiet(datetime.combine(date(2026, 6, 10), w, BERLIN)
                                      + timedelta(minutes=stagger * order), spans) for w in walls))
    s = Schedule(
        immediate=immediate,
        zone=BERLIN,
        slots=slots,
        min_gap=timedelta(minutes=gap),
        quiet_hours=spans,
        stagger=timedelta(minutes=stagger),
        max_per_hour=cap,
    )
    now = base + timedelta(minutes=start)
    taken = [now + timedelta(seconds=o) for o in offsets]
    released = now + timedelta(minutes=embargo) if embargo is not None else None
    got = plan(s, now=now, taken=taken, embargo=released, order=order)
    earliest = max(now, released or now) + s.stagger * order
    assert got >= earliest
    assert allowed(got, s, taken)
    if immediate:
        # A valid time can only begin at earliest, where a gap or hour ends, or where quiet hours or
        # the clocks' offset change: none of those before `got` may be valid.
        candidates = {earliest} | {x + s.min_gap for x in taken} | {x + HOUR for x in taken}
        candidates |= {utc(2026, 3, 29, 1), utc(2026, 10, 25, 1)}
        for day in days(earliest.date() - timedelta(days=1), got.date() + timedelta(days=1)):
            for _, end in spans:
                for fold in (0, 1):
                    candidates.add(datetime.combine(day, end, BERLIN).replace(fold=fold).astimezone(UTC))
    else:
        offset = s.stagger * order
        # Every slot: the quiet hours are kept at the slot's staggered time, which `allowed` checks.
        slots = upcoming_slots(s._replace(quiet_hours=()), start=earliest - offset,
                               end=got - offset + timedelta(seconds=1))
        candidates = {slot + offset for slot in slots}
        assert got in candidates
    assert not any(earliest <= c < got and allowed(c, s, taken) for c in candidates)


def test_a_stagger_that_always_lands_in_quiet_hours_is_an_error_naming_the_schedule():
    s = Schedule(immediate=False, zone=BERLIN, slots={6: (time(8, 30),)}, quiet_hours=((time(8, 50), time(9, 10)),),
                 stagger=timedelta(minutes=13), min_gap=timedelta(minutes=2))
    assert plan(s, now=utc(2026, 10, 22, 2, 6), taken=[], order=1) == utc(2026, 10, 25, 7, 43)  # Sun 08:43 CET
    with pytest.raises(ValueError, match="no time within 366 days after .* fits the schedule"):
        plan(s, now=utc(2026, 10, 22, 2, 6), taken=[], order=2)  # Sundays 08:30 + 26 min is always quiet
