"""When a cron expression fires, as UTC instants, including the DST rules of the contract.

2026 transitions used here:
- Europe/Berlin springs forward 2026-03-29 02:00 -> 03:00 local (01:00 UTC) and falls back
  2026-10-25 03:00 -> 02:00 local (01:00 UTC).
- America/New_York springs forward 2026-03-08 02:00 -> 03:00 local (07:00 UTC) and falls back
  2026-11-01 02:00 -> 01:00 local (06:00 UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scalers.schedule.cron import cron_problem, last_fire, next_fire

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
UTC_ZONE = ZoneInfo("UTC")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def fires(expression: str, zone: ZoneInfo, after: datetime, until: datetime) -> list[datetime]:
    """Every fire in (after, until], by iterating next_fire."""
    found = []
    instant = next_fire(expression, zone, after)
    while instant <= until:
        found.append(instant)
        instant = next_fire(expression, zone, instant)
    return found


def wall_clock(instants: list[datetime], zone: ZoneInfo) -> list[datetime]:
    return [instant.astimezone(zone).replace(tzinfo=None) for instant in instants]


# --- ordinary days ---------------------------------------------------------------------------

ORDINARY = [
    # expression, zone, after, expected next fire (UTC)
    ("0 9 * * *", BERLIN, utc(2026, 1, 15), utc(2026, 1, 15, 8)),  # CET, UTC+1
    ("0 9 * * *", BERLIN, utc(2026, 7, 15), utc(2026, 7, 15, 7)),  # CEST, UTC+2
    ("0 9 * * *", NEW_YORK, utc(2026, 1, 15), utc(2026, 1, 15, 14)),  # EST, UTC-5
    ("0 9 * * *", NEW_YORK, utc(2026, 7, 15), utc(2026, 7, 15, 13)),  # EDT, UTC-4
    ("0 9 * * *", UTC_ZONE, utc(2026, 7, 15), utc(2026, 7, 15, 9)),
    # the day before and after each transition
    ("0 9 * * *", BERLIN, utc(2026, 3, 28), utc(2026, 3, 28, 8)),
    ("0 9 * * *", BERLIN, utc(2026, 3, 30), utc(2026, 3, 30, 7)),
    ("0 9 * * *", BERLIN, utc(2026, 10, 24), utc(2026, 10, 24, 7)),
    ("0 9 * * *", BERLIN, utc(2026, 10, 26), utc(2026, 10, 26, 8)),
    ("30 17 * * *", NEW_YORK, utc(2026, 3, 7), utc(2026, 3, 7, 22, 30)),
    ("30 17 * * *", NEW_YORK, utc(2026, 3, 9), utc(2026, 3, 9, 21, 30)),
    ("30 17 * * *", NEW_YORK, utc(2026, 10, 31), utc(2026, 10, 31, 21, 30)),
    ("30 17 * * *", NEW_YORK, utc(2026, 11, 2), utc(2026, 11, 2, 22, 30)),
    # weekdays only: Friday 2026-01-16 09:00 Berlin is followed by Monday 2026-01-19
    ("0 9 * * 1-5", BERLIN, utc(2026, 1, 16, 8), utc(2026, 1, 19, 8)),
    ("0 20 * * 1-5", ZoneInfo("Asia/Tokyo"), utc(2026, 1, 13), utc(2026, 1, 13, 11)),
    # macros, from Wednesday 2026-05-13 10:30 UTC
    ("@hourly", UTC_ZONE, utc(2026, 5, 13, 10, 30), utc(2026, 5, 13, 11)),
    ("@daily", BERLIN, utc(2026, 5, 13, 10, 30), utc(2026, 5, 13, 22)),
    ("@midnight", NEW_YORK, utc(2026, 5, 13, 10, 30), utc(2026, 5, 14, 4)),
    ("@weekly", UTC_ZONE, utc(2026, 5, 13, 10, 30), utc(2026, 5, 17)),
    ("@monthly", BERLIN, utc(2026, 5, 13, 10, 30), utc(2026, 5, 31, 22)),
    ("@yearly", BERLIN, utc(2026, 5, 13, 10, 30), utc(2026, 12, 31, 23)),
    ("@annually", UTC_ZONE, utc(2026, 5, 13, 10, 30), utc(2027, 1, 1)),
    ("0 0 29 2 *", UTC_ZONE, utc(2026, 5, 13), utc(2028, 2, 29)),
]


@pytest.mark.parametrize(("expression", "zone", "after", "expected"), ORDINARY)
def test_next_fire_on_ordinary_days(expression, zone, after, expected):
    assert next_fire(expression, zone, after) == expected


@pytest.mark.parametrize(("expression", "zone", "after", "expected"), ORDINARY)
def test_last_fire_on_ordinary_days(expression, zone, after, expected):
    assert last_fire(expression, zone, expected + timedelta(minutes=1)) == expected
    assert last_fire(expression, zone, expected - timedelta(seconds=1)) < expected


def test_last_fire_of_a_rare_schedule_reaches_back_years():
    # 2026 has no 29 February: the most recent one is in 2024.
    assert last_fire("0 0 29 2 *", UTC_ZONE, utc(2026, 5, 13)) == utc(2024, 2, 29)


@pytest.mark.parametrize(
    ("expression", "zone", "instant"),
    [
        ("0 9 * * *", UTC_ZONE, utc(2026, 1, 15, 9)),
        ("0 9 * * *", BERLIN, utc(2026, 1, 15, 8)),
        ("*/15 * * * *", NEW_YORK, utc(2026, 7, 15, 13, 45)),
        ("30 2 * * *", BERLIN, utc(2026, 3, 29, 1)),  # the spring-forward substitute instant
        ("30 2 * * *", BERLIN, utc(2026, 10, 25, 0, 30)),  # first of two 02:30
        ("30 1 * * *", NEW_YORK, utc(2026, 11, 1, 5, 30)),  # first of two 01:30
    ],
)
def test_fire_instant_is_last_fire_and_next_fire_is_strictly_after(expression, zone, instant):
    assert last_fire(expression, zone, instant) == instant
    assert next_fire(expression, zone, instant) > instant
    assert next_fire(expression, zone, instant - timedelta(microseconds=1)) == instant
    assert last_fire(expression, zone, instant - timedelta(microseconds=1)) < instant


def test_results_are_utc_whatever_zone_the_input_instant_is_in():
    local = datetime(2026, 1, 15, 7, tzinfo=BERLIN)  # 06:00 UTC

    assert next_fire("0 9 * * *", BERLIN, local) == utc(2026, 1, 15, 8)
    assert next_fire("0 9 * * *", BERLIN, local).utcoffset() == timedelta(0)
    assert last_fire("0 9 * * *", BERLIN, local) == utc(2026, 1, 14, 8)


# --- spring forward: a local time that does not exist -----------------------------------------


@pytest.mark.parametrize(
    ("zone", "after", "until", "expected"),
    [
        (
            BERLIN,
            utc(2026, 3, 27, 12),
            utc(2026, 3, 30, 12),
            [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30)],
        ),
        (
            NEW_YORK,
            utc(2026, 3, 6, 12),
            utc(2026, 3, 9, 12),
            [utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7), utc(2026, 3, 9, 6, 30)],
        ),
    ],
)
def test_non_existent_local_time_fires_once_at_the_first_valid_instant_after(
    zone, after, until, expected
):
    found = fires("30 2 * * *", zone, after, until)

    assert found == expected
    # 02:30 does not exist on the spring day: the fire is at 03:00 local, once.
    assert found[1].astimezone(zone).replace(tzinfo=None) == datetime(
        expected[1].year, expected[1].month, expected[1].day, 3, 0
    )


@pytest.mark.parametrize(
    ("zone", "substitute"),
    [(BERLIN, utc(2026, 3, 29, 1)), (NEW_YORK, utc(2026, 3, 8, 7))],
)
def test_last_fire_later_on_the_spring_day_is_the_substitute_instant(zone, substitute):
    assert last_fire("30 2 * * *", zone, substitute + timedelta(hours=5)) == substitute
    assert last_fire("30 2 * * *", zone, substitute + timedelta(minutes=30)) == substitute
    assert last_fire("30 2 * * *", zone, substitute - timedelta(seconds=1)) == (
        substitute - timedelta(days=1, minutes=-30)
    )


@pytest.mark.parametrize(
    ("zone", "after", "until", "hours"),
    [
        (BERLIN, utc(2026, 3, 28, 22, 30), utc(2026, 3, 29, 3, 30), [0, 1, 3, 4, 5]),
        (NEW_YORK, utc(2026, 3, 8, 4, 30), utc(2026, 3, 8, 9, 30), [0, 1, 3, 4, 5]),
    ],
)
def test_hourly_across_spring_forward_fires_once_per_existing_hour(zone, after, until, hours):
    # "@hourly" here, "0 * * * *" for the autumn: each (expression, zone) is asked about one
    # season only, so the answers cannot depend on the order the tests run in.
    found = fires("@hourly", zone, after, until)

    assert [local.hour for local in wall_clock(found, zone)] == hours
    assert len(set(found)) == len(found)


@pytest.mark.parametrize(
    ("zone", "after", "until", "expected"),
    [
        # "15 * * * *": 02:15 does not exist, so it fires at 03:00 local, then 03:15 as usual.
        (
            BERLIN,
            utc(2026, 3, 29, 0),
            utc(2026, 3, 29, 1, 30),
            [utc(2026, 3, 29, 0, 15), utc(2026, 3, 29, 1), utc(2026, 3, 29, 1, 15)],
        ),
        (
            NEW_YORK,
            utc(2026, 3, 8, 6),
            utc(2026, 3, 8, 7, 30),
            [utc(2026, 3, 8, 6, 15), utc(2026, 3, 8, 7), utc(2026, 3, 8, 7, 15)],
        ),
    ],
)
def test_every_hour_at_a_minute_past_fires_the_skipped_hour_at_the_first_valid_instant(
    zone, after, until, expected
):
    assert fires("15 * * * *", zone, after, until) == expected
    assert last_fire("15 * * * *", zone, expected[1] + timedelta(minutes=5)) == expected[1]


# --- fall back: a local time that occurs twice ------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "zone", "after", "until", "expected"),
    [
        (
            "30 2 * * *",
            BERLIN,
            utc(2026, 10, 23, 12),
            utc(2026, 10, 26, 12),
            [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)],
        ),
        (
            "30 1 * * *",
            NEW_YORK,
            utc(2026, 10, 30, 12),
            utc(2026, 11, 2, 12),
            [utc(2026, 10, 31, 5, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)],
        ),
    ],
)
def test_ambiguous_local_time_fires_once_at_its_first_occurrence(
    expression, zone, after, until, expected
):
    assert fires(expression, zone, after, until) == expected


@pytest.mark.parametrize(
    ("expression", "zone", "first", "second"),
    [
        ("30 2 * * *", BERLIN, utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)),
        ("30 1 * * *", NEW_YORK, utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30)),
    ],
)
def test_last_fire_after_both_occurrences_is_the_first(expression, zone, first, second):
    # Both instants show the same wall-clock time.
    assert wall_clock([first], zone) == wall_clock([second], zone)

    assert last_fire(expression, zone, second) == first
    assert last_fire(expression, zone, second + timedelta(minutes=1)) == first
    assert last_fire(expression, zone, second + timedelta(hours=3)) == first
    assert next_fire(expression, zone, first) > second
    assert next_fire(expression, zone, first) == first + timedelta(days=1, hours=1)


@pytest.mark.parametrize(
    ("zone", "after", "until", "expected_hours"),
    [
        # Berlin: 00:00 .. 05:00 local on 2026-10-25; 02:00 occurs twice, fires once.
        (BERLIN, utc(2026, 10, 24, 21, 30), utc(2026, 10, 25, 4, 30), [0, 1, 2, 3, 4, 5]),
        # New York: 00:00 .. 04:00 local on 2026-11-01; 01:00 occurs twice, fires once.
        (NEW_YORK, utc(2026, 11, 1, 3, 30), utc(2026, 11, 1, 9, 30), [0, 1, 2, 3, 4]),
    ],
)
def test_hourly_across_fall_back_fires_once_per_wall_clock_hour(zone, after, until, expected_hours):
    found = fires("0 * * * *", zone, after, until)

    local = wall_clock(found, zone)
    assert [moment.hour for moment in local] == expected_hours
    assert len(set(local)) == len(local)
    assert found == sorted(found)


def test_hourly_during_the_repeated_hour_last_fire_is_the_first_occurrence():
    # 01:30 UTC is 02:30 CET, the second pass through 02:xx; 02:00 fired at 00:00 UTC.
    assert last_fire("0 * * * *", BERLIN, utc(2026, 10, 25, 1, 30)) == utc(2026, 10, 25, 0)
    assert next_fire("0 * * * *", BERLIN, utc(2026, 10, 25, 1, 30)) == utc(2026, 10, 25, 2)


# --- cron_problem ------------------------------------------------------------------------------


@pytest.mark.parametrize("expression", ["0 9 * * 1-5", " 0 9 * * * ", "@daily", "@hourly"])
def test_cron_problem_accepts_valid_expressions(expression):
    assert cron_problem(expression) is None


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("0 0 9 * * 1-5", ("6 fields", "seconds", "ambiguous")),
        ("0 9 * *", ("4 fields",)),
        ("0 99 * * *", ("not a valid",)),
        ("0 0 31 2 *", ("never fires",)),
        ("@fortnightly", ("unknown macro", "@daily")),
    ],
)
def test_cron_problem_explains_the_problem(expression, words):
    problem = cron_problem(expression)

    assert problem is not None
    for word in words:
        assert word in problem


# --- answers do not depend on the questions asked before -------------------------------------
# Each case uses its own (expression, zone) so that no other test has asked about it before.


def test_last_and_next_fire_after_a_question_far_ahead():
    zone, expression = ZoneInfo("Asia/Kolkata"), "*/5 * * * *"
    start = utc(2026, 1, 13)

    assert last_fire(expression, zone, start) == start
    assert last_fire(expression, zone, start + timedelta(days=5)) == start + timedelta(days=5)

    at = start + timedelta(days=1, seconds=1)
    assert last_fire(expression, zone, at) == start + timedelta(days=1)
    assert next_fire(expression, zone, at) == start + timedelta(days=1, minutes=5)


def test_last_and_next_fire_long_before_the_first_question():
    zone, expression = ZoneInfo("Asia/Dubai"), "* * * * *"
    start = utc(2026, 1, 13)

    assert next_fire(expression, zone, start) == start + timedelta(minutes=1)
    assert next_fire(expression, zone, start + timedelta(minutes=1000)) == start + timedelta(
        minutes=1001
    )

    earlier = start - timedelta(minutes=600)
    assert last_fire(expression, zone, earlier) == earlier
    assert next_fire(expression, zone, earlier - timedelta(seconds=30)) == earlier
