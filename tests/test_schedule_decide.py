"""What the schedule loop decides: scheduled values, due fires, catch-up and its overrides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from scalers.schedule.annotation import Rule, Schedule, parse_schedule
from scalers.schedule.decide import (
    FieldState,
    Scheduled,
    fired_between,
    is_override,
    next_fire_of,
    plan_catch_up,
    plan_fire,
    scheduled_at,
)

UTC_ZONE = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")
MIN, MAX = "minReplicas", "maxReplicas"

# Week of Monday 2026-01-12 .. Sunday 2026-01-18 (no DST in either zone used).
FIRE = datetime(2026, 1, 13, 9, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def rule(index: int, schedule: str, zone: ZoneInfo = UTC_ZONE, **values: int) -> Rule:
    return Rule(index, schedule, zone, tuple(values.items()))


def values(scheduled: dict[str, Scheduled]) -> dict[str, int]:
    return {name: s.value for name, s in scheduled.items()}


def sched(field: str, value: int, fired_at: datetime = FIRE, action: int = 0) -> Scheduled:
    return Scheduled(field, value, fired_at, action)


# --- scheduled_at ---------------------------------------------------------------------------

WEEK_RULES = (
    rule(0, "0 9 * * 1-5", minReplicas=10, maxReplicas=40),
    rule(1, "0 20 * * 1-5", minReplicas=2),
    rule(2, "0 12 * * 6", maxReplicas=5),
)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        # Tuesday morning: the 09:00 action set both fields.
        (
            utc(2026, 1, 13, 10),
            {MIN: (10, utc(2026, 1, 13, 9), 0), MAX: (40, utc(2026, 1, 13, 9), 0)},
        ),
        # Tuesday night: min from 20:00, max still from 09:00.
        (
            utc(2026, 1, 13, 21),
            {MIN: (2, utc(2026, 1, 13, 20), 1), MAX: (40, utc(2026, 1, 13, 9), 0)},
        ),
        # Exactly at a fire: that fire counts.
        (
            utc(2026, 1, 14, 9),
            {MIN: (10, utc(2026, 1, 14, 9), 0), MAX: (40, utc(2026, 1, 14, 9), 0)},
        ),
        # One second before it: the previous evening's value.
        (
            utc(2026, 1, 14, 8, 59, 59),
            {MIN: (2, utc(2026, 1, 13, 20), 1), MAX: (40, utc(2026, 1, 13, 9), 0)},
        ),
        # Saturday afternoon: max from Saturday noon, min from Friday evening.
        (
            utc(2026, 1, 17, 13),
            {MIN: (2, utc(2026, 1, 16, 20), 1), MAX: (5, utc(2026, 1, 17, 12), 2)},
        ),
        # Monday before nine: nothing fired since the weekend.
        (
            utc(2026, 1, 19, 8, 59),
            {MIN: (2, utc(2026, 1, 16, 20), 1), MAX: (5, utc(2026, 1, 17, 12), 2)},
        ),
    ],
)
def test_scheduled_value_is_the_most_recent_fire_per_field(at, expected):
    result = scheduled_at(WEEK_RULES, at)

    assert {name: (s.value, s.fired_at, s.action) for name, s in result.items()} == expected
    assert all(s.field == name for name, s in result.items())


def test_field_no_action_sets_is_not_scheduled():
    result = scheduled_at([rule(0, "0 9 * * *", minReplicas=3)], utc(2026, 1, 13, 10))

    assert values(result) == {MIN: 3}


def test_no_rules_schedule_nothing():
    assert scheduled_at([], utc(2026, 1, 13, 10)) == {}


@pytest.mark.parametrize(("first", "second"), [(5, 7), (7, 5)])
def test_two_actions_with_the_same_cron_the_later_in_the_array_wins(first, second):
    rules = [rule(0, "0 9 * * *", minReplicas=first), rule(1, "0 9 * * *", minReplicas=second)]

    result = scheduled_at(rules, utc(2026, 1, 13, 12))

    assert result[MIN].value == second
    assert result[MIN].action == 1


def test_same_instant_in_different_zones_the_later_in_the_array_wins():
    # 10:00 in Berlin in January is 09:00 UTC.
    rules = [
        rule(0, "0 9 * * *", UTC_ZONE, minReplicas=5),
        rule(1, "0 10 * * *", BERLIN, minReplicas=7),
        rule(2, "0 9 * * *", UTC_ZONE, maxReplicas=20),
        rule(3, "0 10 * * *", BERLIN, maxReplicas=30),
    ]
    swapped = [
        rule(0, "0 10 * * *", BERLIN, minReplicas=7),
        rule(1, "0 9 * * *", UTC_ZONE, minReplicas=5),
    ]

    assert values(scheduled_at(rules, FIRE)) == {MIN: 7, MAX: 30}
    assert values(scheduled_at(swapped, FIRE)) == {MIN: 5}


def test_array_order_only_breaks_ties_the_most_recent_fire_wins():
    rules = [rule(0, "0 10 * * *", minReplicas=5), rule(1, "0 9 * * *", minReplicas=7)]

    result = scheduled_at(rules, utc(2026, 1, 13, 11))

    assert (result[MIN].value, result[MIN].action) == (5, 0)


def test_fields_set_by_different_actions_keep_independent_histories():
    rules = [
        rule(0, "0 9 * * *", minReplicas=10, maxReplicas=40),
        rule(1, "0 12 * * *", minReplicas=3),
        rule(2, "0 15 * * *", maxReplicas=8),
    ]

    assert values(scheduled_at(rules, utc(2026, 1, 13, 10))) == {MIN: 10, MAX: 40}
    assert values(scheduled_at(rules, utc(2026, 1, 13, 13))) == {MIN: 3, MAX: 40}
    assert values(scheduled_at(rules, utc(2026, 1, 13, 16))) == {MIN: 3, MAX: 8}
    # Next morning the action that sets both resets both.
    assert values(scheduled_at(rules, utc(2026, 1, 14, 9, 30))) == {MIN: 10, MAX: 40}


def test_design_example_end_to_end():
    schedule = parse_schedule(
        '[{"schedule": "0 9 * * 1-5",  "minReplicas": 10, "maxReplicas": 40},'
        ' {"schedule": "0 20 * * 1-5", "minReplicas": "2", "tz": "Asia/Tokyo"}]',
        "HorizontalPodAutoscaler",
        None,
        UTC_ZONE,
    )
    assert isinstance(schedule, Schedule)

    # 20:00 in Tokyo is 11:00 UTC.
    assert values(scheduled_at(schedule.rules, utc(2026, 1, 13, 10))) == {MIN: 10, MAX: 40}
    assert values(scheduled_at(schedule.rules, utc(2026, 1, 13, 11))) == {MIN: 2, MAX: 40}
    assert next_fire_of(schedule.rules, utc(2026, 1, 13, 10)) == utc(2026, 1, 13, 11)


# --- fired_between -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "until", "due"),
    [
        (utc(2026, 1, 13, 8, 59), utc(2026, 1, 13, 9), True),  # fire exactly at `until`
        (utc(2026, 1, 13, 8, 59, 59), utc(2026, 1, 13, 9, 0, 1), True),
        (utc(2026, 1, 13, 9), utc(2026, 1, 13, 9, 1), False),  # fire exactly at `after`
        (utc(2026, 1, 13, 8), utc(2026, 1, 13, 8, 59, 59), False),
        (utc(2026, 1, 13, 9, 0, 1), utc(2026, 1, 13, 10), False),
    ],
)
def test_fired_between_is_half_open(after, until, due):
    rules = [rule(0, "0 9 * * *", minReplicas=4)]

    result = fired_between(rules, after, until)

    assert (MIN in result) is due
    if due:
        assert result[MIN] == Scheduled(MIN, 4, FIRE, 0)


def test_consecutive_windows_see_each_fire_exactly_once():
    rules = [rule(0, "*/5 * * * *", minReplicas=4)]
    ticks = [utc(2026, 1, 13, 9, 0, 0) + timedelta(seconds=37 * n) for n in range(40)]

    seen = []
    for after, until in pairwise(ticks):
        due = fired_between(rules, after, until)
        if MIN in due:
            seen.append(due[MIN].fired_at)

    expected = [utc(2026, 1, 13, 9, minute) for minute in range(5, 25, 5)]
    assert seen == expected


def test_slow_tick_over_several_fires_returns_the_latest():
    rules = [
        rule(0, "0 9 * * *", minReplicas=10),
        rule(1, "0 10 * * *", minReplicas=20),
        rule(2, "0 11 * * *", maxReplicas=50),
        rule(3, "*/5 * * * *", maxReplicas=60),
    ]

    result = fired_between(rules[:3], utc(2026, 1, 13, 8, 30), utc(2026, 1, 13, 10, 30))
    assert result == {MIN: Scheduled(MIN, 20, utc(2026, 1, 13, 10), 1)}

    result = fired_between(rules[:3], utc(2026, 1, 13, 8, 30), utc(2026, 1, 13, 11, 30))
    assert values(result) == {MIN: 20, MAX: 50}

    result = fired_between(rules[3:], utc(2026, 1, 13, 9), utc(2026, 1, 13, 9, 17))
    assert result[MAX].fired_at == utc(2026, 1, 13, 9, 15)


def test_fired_between_leaves_out_fields_that_did_not_fire():
    rules = [rule(0, "0 9 * * *", minReplicas=10), rule(1, "0 12 * * *", maxReplicas=30)]

    result = fired_between(rules, utc(2026, 1, 13, 11), utc(2026, 1, 13, 12))

    assert values(result) == {MAX: 30}


# --- next_fire_of --------------------------------------------------------------------------


def test_next_fire_of_is_the_earliest_next_fire_of_any_action():
    rules = [
        rule(0, "0 9 * * *", UTC_ZONE, minReplicas=2),
        rule(1, "0 9 * * *", BERLIN, minReplicas=3),  # 08:00 UTC in January
    ]

    assert next_fire_of(rules, utc(2026, 1, 13)) == utc(2026, 1, 13, 8)
    assert next_fire_of(rules, utc(2026, 1, 13, 8)) == utc(2026, 1, 13, 9)  # strictly after
    assert next_fire_of(rules, utc(2026, 1, 13, 9)) == utc(2026, 1, 14, 8)


def test_next_fire_of_no_rules_is_none():
    assert next_fire_of([], utc(2026, 1, 13)) is None


# --- plan_fire -----------------------------------------------------------------------------


def test_plan_fire_writes_only_fields_whose_value_differs():
    due = {MIN: sched(MIN, 10), MAX: sched(MAX, 40)}
    current = {MIN: FieldState(10, ours=True, we_wrote=True), MAX: FieldState(30)}

    plan = plan_fire(due, current)

    assert plan.writes == {MAX: 40}
    assert [(c.field, c.old, c.new, c.reason) for c in plan.changes] == [(MAX, 30, 40, "fire")]
    assert plan.changes[0].scheduled == due[MAX]
    assert plan.unchanged == (MIN,)
    assert plan.refused is None


def test_plan_fire_with_everything_in_place_writes_nothing():
    due = {MIN: sched(MIN, 10), MAX: sched(MAX, 40)}
    current = {MIN: FieldState(10), MAX: FieldState(40)}

    plan = plan_fire(due, current)

    assert plan.writes == {}
    assert plan.changes == ()
    assert set(plan.unchanged) == {MIN, MAX}


def test_plan_fire_does_not_respect_overrides():
    due = {MIN: sched(MIN, 10)}
    overridden = FieldState(25, ours=False, we_wrote=True, changed_at=FIRE + timedelta(minutes=5))
    assert is_override(overridden, due[MIN])

    plan = plan_fire(due, {MIN: overridden, MAX: FieldState(40)})

    assert plan.writes == {MIN: 10}
    assert plan.overrides == ()


def test_plan_fire_sets_a_field_the_object_does_not_have():
    plan = plan_fire({MAX: sched(MAX, 40)}, {MIN: FieldState(3)})

    assert plan.writes == {MAX: 40}
    assert plan.changes[0].old is None


def test_plan_fire_scales_a_deployment_to_zero():
    plan = plan_fire({"replicas": sched("replicas", 0)}, {"replicas": FieldState(3)})

    assert plan.writes == {"replicas": 0}
    assert plan.refused is None


# --- plan_catch_up -------------------------------------------------------------------------


def test_catch_up_gives_a_never_touched_field_the_scheduled_value():
    # A new HPA fresh from Git: another manager set the field after the fire; we never wrote it.
    state = FieldState(40, ours=False, we_wrote=False, changed_at=FIRE + timedelta(hours=1))

    plan = plan_catch_up({MAX: sched(MAX, 20)}, {MIN: FieldState(2), MAX: state})

    assert plan.writes == {MAX: 20}
    assert [(c.field, c.old, c.new, c.reason) for c in plan.changes] == [(MAX, 40, 20, "catch-up")]
    assert plan.overrides == ()


def test_catch_up_keeps_a_deliberate_override():
    # We wrote the field, then someone else changed it after its most recent fire.
    state = FieldState(25, ours=False, we_wrote=True, changed_at=FIRE + timedelta(hours=1))
    scheduled = {MIN: sched(MIN, 10), MAX: sched(MAX, 40)}

    plan = plan_catch_up(scheduled, {MIN: state, MAX: FieldState(30, ours=True, we_wrote=True)})

    assert plan.overrides == (scheduled[MIN],)
    assert MIN not in plan.writes
    assert plan.writes == {MAX: 40}
    assert plan.refused is None


def test_catch_up_override_alone_writes_nothing():
    state = FieldState(25, ours=False, we_wrote=True, changed_at=FIRE + timedelta(hours=1))

    plan = plan_catch_up({MIN: sched(MIN, 10)}, {MIN: state, MAX: FieldState(40)})

    assert plan.changes == ()
    assert plan.writes == {}
    assert [s.value for s in plan.overrides] == [10]


def test_catch_up_applies_a_fire_missed_while_down():
    # Someone changed the field before the most recent fire: that fire, missed, now applies.
    state = FieldState(25, ours=False, we_wrote=True, changed_at=FIRE - timedelta(hours=1))

    plan = plan_catch_up({MIN: sched(MIN, 10)}, {MIN: state, MAX: FieldState(40)})

    assert plan.writes == {MIN: 10}
    assert plan.overrides == ()


def test_catch_up_corrects_a_field_we_still_own():
    state = FieldState(8, ours=True, we_wrote=True, changed_at=FIRE + timedelta(hours=1))

    plan = plan_catch_up({MIN: sched(MIN, 10)}, {MIN: state, MAX: FieldState(40)})

    assert plan.writes == {MIN: 10}
    assert plan.overrides == ()


def test_catch_up_leaves_a_field_at_its_scheduled_value_alone():
    state = FieldState(10, ours=False, we_wrote=True, changed_at=FIRE + timedelta(hours=1))

    plan = plan_catch_up({MIN: sched(MIN, 10)}, {MIN: state, MAX: FieldState(40)})

    assert plan.writes == {}
    assert plan.overrides == ()
    assert plan.unchanged == (MIN,)


@pytest.mark.parametrize(
    ("fired_at", "changed_at", "override"),
    [
        # managedFields times are whole seconds: a change in the fire's own second is after it.
        (utc(2026, 1, 13, 9), utc(2026, 1, 13, 9), True),
        (utc(2026, 1, 13, 9).replace(microsecond=600_000), utc(2026, 1, 13, 9), True),
        (utc(2026, 1, 13, 9), utc(2026, 1, 13, 9, 0, 1), True),
        (utc(2026, 1, 13, 9), utc(2026, 1, 13, 8, 59, 59), False),
    ],
)
def test_managed_fields_time_precision(fired_at, changed_at, override):
    state = FieldState(25, ours=False, we_wrote=True, changed_at=changed_at)
    scheduled = sched(MIN, 10, fired_at)

    plan = plan_catch_up({MIN: scheduled}, {MIN: state, MAX: FieldState(40)})

    assert is_override(state, scheduled) is override
    assert (plan.writes == {}) is override
    assert (plan.overrides == (scheduled,)) is override


def test_a_field_without_change_time_is_not_an_override():
    state = FieldState(25, ours=False, we_wrote=True, changed_at=None)

    assert not is_override(state, sched(MIN, 10))


# --- min <= max ----------------------------------------------------------------------------


@pytest.mark.parametrize("planner", [plan_fire, plan_catch_up])
@pytest.mark.parametrize(
    ("field", "value", "named"),
    [(MIN, 50, ("50", "40")), (MAX, 5, ("10", "5"))],
    ids=["min above current max", "max below current min"],
)
def test_a_scheduled_value_crossing_the_other_current_bound_is_refused(
    planner, field, value, named
):
    plan = planner({field: sched(field, value)}, {MIN: FieldState(10), MAX: FieldState(40)})

    assert plan.refused is not None
    for number in named:
        assert number in plan.refused
    assert plan.writes == {}


def test_override_kept_above_the_scheduled_max_is_refused():
    overridden = FieldState(60, ours=False, we_wrote=True, changed_at=FIRE + timedelta(hours=1))

    plan = plan_catch_up(
        {MIN: sched(MIN, 10), MAX: sched(MAX, 40)}, {MIN: overridden, MAX: FieldState(80)}
    )

    assert plan.refused is not None
    assert "60" in plan.refused
    assert "40" in plan.refused
    assert plan.writes == {}


@pytest.mark.parametrize("planner", [plan_fire, plan_catch_up])
@pytest.mark.parametrize(
    ("scheduled_min", "scheduled_max", "current_min", "current_max"),
    [
        (50, 60, 10, 40),  # both move up past the current max
        (2, 5, 10, 40),  # both move down past the current min
    ],
)
def test_min_and_max_scheduled_together_are_written_in_one_plan(
    planner, scheduled_min, scheduled_max, current_min, current_max
):
    plan = planner(
        {MIN: sched(MIN, scheduled_min), MAX: sched(MAX, scheduled_max)},
        {MIN: FieldState(current_min), MAX: FieldState(current_max)},
    )

    assert plan.refused is None
    assert plan.writes == {MIN: scheduled_min, MAX: scheduled_max}


def test_scheduled_value_does_not_depend_on_earlier_questions():
    # Its own (expression, zone), so that no other test has asked about it before.
    rules = [rule(0, "*/5 * * * *", ZoneInfo("Asia/Karachi"), minReplicas=4)]
    start = utc(2026, 1, 13)

    before = scheduled_at(rules, start + timedelta(days=1, minutes=2))
    scheduled_at(rules, start + timedelta(days=6))
    after = scheduled_at(rules, start + timedelta(days=1, minutes=2))

    assert before == after == {MIN: Scheduled(MIN, 4, start + timedelta(days=1), 0)}


def test_scheduled_value_at_an_earlier_instant_after_a_later_one():
    rules = [rule(0, "*/5 * * * *", ZoneInfo("Asia/Yekaterinburg"), minReplicas=4)]
    start = utc(2026, 1, 13)

    scheduled_at(rules, start + timedelta(days=6))
    result = scheduled_at(rules, start + timedelta(days=1, minutes=2))

    assert result == {MIN: Scheduled(MIN, 4, start + timedelta(days=1), 0)}
