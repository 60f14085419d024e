"""Calendars on actions (pure): a fire on a day that an action's calendars refuse does not
happen, the value of the last fire that did happen stands, and every question about fires
(scheduled now, due between two passes, next) follows that one rule."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from scalers.schedule.annotation import (
    Held,
    Rejected,
    Schedule,
    parse_schedule,
    resolve,
)
from scalers.schedule.calendar import (
    Calendars,
    DayRule,
    parse_calendars,
    parse_team_calendar,
    public_holidays,
)
from scalers.schedule.decide import (
    FieldState,
    fired_between,
    next_fire_of,
    next_scheduled,
    plan_catch_up,
    scheduled_at,
)

UTC_ZONE = ZoneInfo("UTC")
TOKYO, BERLIN, NEW_YORK = (
    ZoneInfo("Asia/Tokyo"),
    ZoneInfo("Europe/Berlin"),
    ZoneInfo("America/New_York"),
)
MIN = "minReplicas"
SOURCE = "kube-system/kube-scalers-calendars"
# 2027-01-11, a Monday, is Coming of Age Day in Japan.
COMING_OF_AGE = date(2027, 1, 11)


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone).astimezone(UTC)


def team(**calendars: str) -> Calendars:
    return parse_calendars(SOURCE, {"data": calendars})


def schedule(*actions: dict[str, Any], calendars: Calendars | None = None) -> Schedule:
    parsed = parse_schedule(json.dumps(actions), "HorizontalPodAutoscaler", None, UTC_ZONE)
    resolved = resolve(parsed, calendars or team())
    assert isinstance(resolved, Schedule), resolved
    return resolved


def values_at(rules: Schedule, at: datetime) -> dict[str, int]:
    return {name: s.value for name, s in scheduled_at(rules.rules, at).items()}


# Business hours in Tokyo that skip Japan's public holidays; the evening action does not.
TOKYO_DAY = (
    {"schedule": "0 8 * * 1-5", "tz": "Asia/Tokyo", MIN: 10, "skipDays": ["holidays:JP"]},
    {"schedule": "0 20 * * *", "tz": "Asia/Tokyo", MIN: 2},
)


def test_the_holiday_data_is_the_holidays_package_s():
    assert COMING_OF_AGE in public_holidays("holidays:JP")
    assert date(2027, 1, 12) not in public_holidays("holidays:JP")
    assert public_holidays("holidays:de-by") is public_holidays("holidays:DE-BY")
    assert date(2027, 1, 6) in public_holidays("holidays:DE-BY")  # Epiphany, Bavaria only
    assert date(2027, 1, 6) not in public_holidays("holidays:DE")


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        # The Friday before: business hours.
        (local(TOKYO, 2027, 1, 8, 10), 10),
        # The holiday's morning: the 08:00 fire does not happen; Sunday evening's value stands.
        (local(TOKYO, 2027, 1, 11, 10), 2),
        # The next morning fires as usual.
        (local(TOKYO, 2027, 1, 12, 8), 10),
    ],
)
def test_a_holiday_is_skipped_in_the_action_s_own_zone(at: datetime, expected: int):
    assert values_at(schedule(*TOKYO_DAY), at) == {MIN: expected}


def test_the_next_fire_and_the_due_fires_step_over_the_holiday():
    rules = schedule(*TOKYO_DAY).rules
    sunday_evening = local(TOKYO, 2027, 1, 10, 20)
    # Next after Sunday's 20:00: Monday's 08:00 is skipped, so Monday's 20:00.
    assert next_fire_of(rules, sunday_evening) == local(TOKYO, 2027, 1, 11, 20)
    coming = next_scheduled(rules[:1], sunday_evening)
    assert coming[MIN].fired_at == local(TOKYO, 2027, 1, 12, 8) and coming[MIN].value == 10
    # A pass over the holiday's 08:00 finds nothing due.
    assert (
        fired_between(rules, local(TOKYO, 2027, 1, 11, 7, 59), local(TOKYO, 2027, 1, 11, 8, 1))
        == {}
    )


def test_catch_up_on_a_holiday_writes_the_last_fire_that_happened():
    rules = schedule(*TOKYO_DAY).rules
    scheduled = scheduled_at(rules, local(TOKYO, 2027, 1, 11, 11))
    plan = plan_catch_up(scheduled, {MIN: FieldState(10, ours=True, we_wrote=True)})
    assert plan.writes == {MIN: 2}
    assert plan.changes[0].scheduled.fired_at == local(TOKYO, 2027, 1, 10, 20)


def test_a_fire_at_midnight_on_the_day_after_a_holiday_happens():
    rules = schedule(
        {"schedule": "0 0 * * *", "tz": "Asia/Tokyo", MIN: 5, "skipDays": "holidays:JP"}
    ).rules
    fired = scheduled_at(rules, local(TOKYO, 2027, 1, 12, 0, 0))[MIN].fired_at
    assert fired == local(TOKYO, 2027, 1, 12, 0)
    # And the one at the holiday's own midnight did not: the last before it is the 10th's.
    assert scheduled_at(rules, local(TOKYO, 2027, 1, 11, 23, 59))[MIN].fired_at == local(
        TOKYO, 2027, 1, 10, 0
    )


def test_a_date_range_across_a_dst_change_is_local_days_in_berlin():
    # Clocks go forward in Berlin on Sunday 2027-03-28 at 02:00.
    calendars = team(maintenance="2027-03-27..2027-03-28")
    rules = schedule(
        {"schedule": "30 2 * * *", "tz": "Europe/Berlin", MIN: 3, "skipDays": "maintenance"},
        calendars=calendars,
    ).rules
    # 02:30 does not exist on the 28th; it would fire at 03:00, but the day is skipped anyway.
    assert next_fire_of(rules, local(BERLIN, 2027, 3, 26, 3)) == local(BERLIN, 2027, 3, 29, 2, 30)
    # The first local day after the range starts at 22:00 UTC on the 28th (CEST, UTC+2): a fire
    # at 00:15 on the 29th, still the 28th in UTC, happens.
    early = schedule(
        {"schedule": "15 0 * * *", "tz": "Europe/Berlin", MIN: 3, "skipDays": "maintenance"},
        calendars=calendars,
    ).rules
    after = next_fire_of(early, local(BERLIN, 2027, 3, 26, 1))
    assert after == local(BERLIN, 2027, 3, 29, 0, 15) == datetime(2027, 3, 28, 22, 15, tzinfo=UTC)


def test_one_calendar_day_starts_at_different_instants_for_actions_in_different_zones():
    calendars = team(closed="2027-05-03")
    tokyo, new_york = (
        schedule(
            {"schedule": "30 0 * * *", "tz": zone, MIN: 4, "skipDays": "closed"},
            calendars=calendars,
        ).rules
        for zone in ("Asia/Tokyo", "America/New_York")
    )
    # The 3rd is skipped in each zone's own days: from 15:00 UTC on the 2nd in Tokyo, and from
    # 04:00 UTC on the 3rd in New York (EDT).
    assert next_fire_of(tokyo, local(TOKYO, 2027, 5, 2, 1)) == local(TOKYO, 2027, 5, 4, 0, 30)
    assert next_fire_of(new_york, local(NEW_YORK, 2027, 5, 2, 1)) == local(
        NEW_YORK, 2027, 5, 4, 0, 30
    )
    # At 20:00 UTC on the 2nd it is the 3rd in Tokyo and still the 2nd in New York.
    at = datetime(2027, 5, 2, 20, tzinfo=UTC)
    assert scheduled_at(tokyo, at)[MIN].fired_at == local(TOKYO, 2027, 5, 2, 0, 30)
    assert scheduled_at(new_york, at)[MIN].fired_at == local(NEW_YORK, 2027, 5, 2, 0, 30)


# A campaign on a Sunday: the scale-up fires only on the campaign's days.
CAMPAIGN = (
    {"schedule": "0 9 * * *", MIN: 20, "onlyDays": ["campaign"]},
    {"schedule": "0 18 * * *", MIN: 2},
)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (datetime(2026, 12, 5, 12, tzinfo=UTC), 2),  # the Saturday before
        (datetime(2026, 12, 6, 12, tzinfo=UTC), 20),  # the campaign's Sunday
        (datetime(2026, 12, 6, 19, tzinfo=UTC), 2),
        (datetime(2026, 12, 7, 12, tzinfo=UTC), 2),
    ],
)
def test_an_action_limited_to_a_calendar_fires_on_its_days_only(at: datetime, expected: int):
    rules = schedule(*CAMPAIGN, calendars=team(campaign="2026-12-06")).rules
    assert values_at(Schedule(rules), at) == {MIN: expected}


def test_an_action_with_no_allowed_day_within_a_year_has_no_next_fire_and_no_value():
    rules = schedule(CAMPAIGN[0], calendars=team(campaign="2026-12-06")).rules
    assert next_scheduled(rules, datetime(2026, 12, 7, tzinfo=UTC)) == {}
    assert scheduled_at(rules, datetime(2028, 1, 1, tzinfo=UTC)) == {}
    assert scheduled_at(rules, datetime(2027, 6, 1, tzinfo=UTC))[MIN].value == 20


def test_skip_wins_over_only_and_several_calendars_are_a_union():
    calendars = team(a="2027-02-01", b="2027-02-02..2027-02-03", closed="2027-02-02")
    rules = schedule(
        {"schedule": "0 9 * * *", MIN: 7, "onlyDays": ["a", "b"], "skipDays": ["closed"]},
        calendars=calendars,
    ).rules
    day = datetime(2027, 1, 31, 10, tzinfo=UTC)
    fires = []
    for _ in range(3):
        day = next_fire_of(rules, day)  # type: ignore[assignment]
        fires.append(day.date() if day else None)
    assert fires == [date(2027, 2, 1), date(2027, 2, 3), None]


def brute_force(
    expression: str, zone: ZoneInfo, rule: DayRule, start: datetime, days: int
) -> list[datetime]:
    """Every fire in `days` from `start` that `rule` allows, one croniter step at a time (no
    DST gaps in the zones used here)."""
    it = croniter(expression, start.astimezone(zone))
    found = []
    while (fire := it.get_next(datetime)) < start + timedelta(days=days):
        if rule.allows(fire.date()):
            found.append(fire.astimezone(UTC))
    return found


@pytest.mark.parametrize("expression", ["0 8 * * 1-5", "*/20 7-9 * * *", "0 0 1,15 * *"])
def test_the_answers_equal_filtering_every_fire_by_the_rule(expression: str):
    calendars = team(closed="2027-01-04..2027-01-06\n2027-01-20", extra="2027-01-09")
    days = DayRule(
        (public_holidays("holidays:JP"), calendars.calendars["closed"]),
        (),
    )
    rules = schedule(
        {"schedule": expression, "tz": "Asia/Tokyo", MIN: 1, "skipDays": ["holidays:JP", "closed"]},
        calendars=calendars,
    ).rules
    start = local(TOKYO, 2026, 12, 20)
    expected = brute_force(expression, TOKYO, days, start, 45)
    # Every allowed fire, in turn, from the next-fire question...
    walked, at = [], start
    while (at := next_fire_of(rules, at)) is not None and at < start + timedelta(days=45):  # type: ignore[assignment]
        walked.append(at)
    assert walked == expected
    # ... and from the last-fire question, asked just before and at each.
    for previous, fire in pairwise(expected):
        assert scheduled_at(rules, fire - timedelta(seconds=1))[MIN].fired_at == previous
        assert scheduled_at(rules, fire)[MIN].fired_at == fire


# --- names and the ConfigMap -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "reason", "said"),
    [
        (["holidays:XX"], "InvalidCalendar", "unknown country 'XX'"),
        (["holidays:DE-XX"], "InvalidCalendar", "unknown subdivision 'XX' of DE"),
        (["Holidays-JP"], "InvalidCalendar", "public holidays are named holidays:CC"),
        (["a b"], "InvalidCalendar", "cannot be a team calendar's name"),
        ([3], "InvalidCalendar", "must be a non-empty string"),
        ([], "InvalidCalendar", "must be a calendar's name or an array of them"),
        ([f"c{i}" for i in range(11)], "InvalidCalendar", "at most 10"),
    ],
)
def test_a_bad_calendar_name_rejects_the_object_naming_the_action(names, reason, said):
    text = json.dumps(
        [{"schedule": "0 8 * * *", MIN: 2}, {"schedule": "0 9 * * *", MIN: 3, "skipDays": names}]
    )
    parsed = parse_schedule(text, "HorizontalPodAutoscaler", None, UTC_ZONE)
    assert isinstance(parsed, Rejected)
    assert parsed.reason == reason
    assert parsed.message.startswith("action 2: skipDays: ") and said in parsed.message


def test_a_team_calendar_a_valid_configmap_lacks_is_a_rejection_and_one_it_cannot_read_holds():
    text = json.dumps([{"schedule": "0 9 * * *", MIN: 3, "onlyDays": "campaign"}])
    parsed = parse_schedule(text, "HorizontalPodAutoscaler", None, UTC_ZONE)
    unknown = resolve(parsed, team(closures="2027-01-01"))
    assert isinstance(unknown, Rejected) and unknown.reason == "InvalidCalendar"
    assert (
        "no calendar 'campaign' in kube-system/kube-scalers-calendars (it has: closures)"
        in unknown.message
    )
    missing = resolve(parsed, parse_calendars(SOURCE, None))
    assert isinstance(missing, Held) and "does not exist" in missing.message
    bad = resolve(parsed, team(campaign="2027-02-30"))
    assert isinstance(bad, Held)
    assert "calendar 'campaign' line 1: '2027-02-30': day is out of range for month" in bad.message
    assert isinstance(resolve(parsed, team(campaign="2027-02-03")), Schedule)


def test_public_holidays_need_no_configmap():
    text = json.dumps([{"schedule": "0 9 * * *", MIN: 3, "skipDays": "holidays:US-CA"}])
    parsed = parse_schedule(text, "HorizontalPodAutoscaler", None, UTC_ZONE)
    resolved = resolve(parsed, parse_calendars(SOURCE, None))
    assert isinstance(resolved, Schedule)
    # Cesar Chavez Day, California's own.
    assert next_fire_of(resolved.rules, datetime(2027, 3, 31, 8, tzinfo=UTC)) == datetime(
        2027, 4, 1, 9, tzinfo=UTC
    )


def test_a_team_calendar_s_text_lists_dates_and_ranges_with_comments():
    parsed = parse_team_calendar(
        "closures",
        "# year end\n2026-12-28..2027-01-03  # office closed\n- 2027-05-03\n\n'2026-12-30'\n",
    )
    assert not isinstance(parsed, str)
    inside = [date(2026, 12, 28), date(2027, 1, 3), date(2027, 5, 3)]
    outside = [date(2026, 12, 27), date(2027, 1, 4), date(2027, 5, 2)]
    assert all(d in parsed for d in inside) and not any(d in parsed for d in outside)
    assert sorted(parsed.between(date(2027, 1, 2), date(2027, 5, 31))) == [
        date(2027, 1, 2), date(2027, 1, 3), date(2027, 5, 3),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("2027-01-03..2027-01-01", "line 1: '2027-01-03..2027-01-01' ends before it starts"),
        ("2027-01-01\nnext monday", "line 2: 'next monday' is neither a date"),
        ("2027-13-01", "month must be in 1..12"),
        (["2027-01-01"], "must be text"),
    ],
)
def test_a_bad_team_calendar_says_where(text: Any, said: str):
    problem = parse_team_calendar("closures", text)
    assert isinstance(problem, str) and said in problem


def test_an_edited_calendar_is_a_new_one_and_an_unchanged_one_is_kept():
    before = team(closures="2027-01-04", campaign="2027-02-01")
    after = parse_calendars(
        SOURCE, {"data": {"closures": "2027-01-05", "campaign": "2027-02-01"}}, before
    )
    assert after.calendars["campaign"] is before.calendars["campaign"]
    assert after.calendars["closures"] is not before.calendars["closures"]
    text = json.dumps([{"schedule": "0 9 * * *", MIN: 3, "skipDays": "closures"}])
    parsed = parse_schedule(text, "HorizontalPodAutoscaler", None, UTC_ZONE)
    at = datetime(2027, 1, 4, 12, tzinfo=UTC)
    old, new = (resolve(parsed, c) for c in (before, after))
    assert isinstance(old, Schedule) and isinstance(new, Schedule)
    # The answers computed with the old days are not served for the new ones.
    assert scheduled_at(old.rules, at)[MIN].fired_at.day == 3
    assert scheduled_at(new.rules, at)[MIN].fired_at.day == 4
    assert next_fire_of(new.rules, at) == datetime(2027, 1, 6, 9, tzinfo=UTC)


def test_calendars_that_are_not_names_to_text_are_reported():
    calendars = parse_calendars(SOURCE, {"data": {"holidays-x": "2027-01-01", "ok": "2027-01-01"}})
    assert "holidays-x" in calendars.problems and "ok" in calendars.calendars
    assert calendars.said() is not None and "holidays" in calendars.said()  # type: ignore[operator]
    assert parse_calendars(SOURCE, {"data": {"ok": "2027-01-01"}}).said() is None


def test_a_question_far_from_the_span_does_not_step_through_every_fire_between(monkeypatch):
    from scalers.schedule import cron

    steps: list[int] = []
    real = cron.Timeline._step
    monkeypatch.setattr(
        cron.Timeline, "_step", lambda self, it, forward: steps.append(1) or real(self, it, forward)
    )
    every_minute = cron.Timeline("* * * * *", UTC_ZONE)
    every_minute.next_after(datetime(2027, 1, 1, tzinfo=UTC))
    # Two months later and half a year earlier: a new span each, not 86,000 steps to get there.
    assert every_minute.next_after(datetime(2027, 3, 1, tzinfo=UTC)) == datetime(
        2027, 3, 1, 0, 1, tzinfo=UTC
    )
    assert every_minute.last_at_or_before(datetime(2026, 6, 1, 0, 0, 30, tzinfo=UTC)) == datetime(
        2026, 6, 1, tzinfo=UTC
    )
    assert len(steps) < 50


def test_the_first_allowed_day_s_midnight_fire_is_found_looking_ahead():
    rules = schedule(
        {"schedule": "0 0 * * *", MIN: 5, "skipDays": "closed"},
        calendars=team(closed="2027-03-01..2027-03-03"),
    ).rules
    assert next_fire_of(rules, datetime(2027, 2, 28, 12, tzinfo=UTC)) == datetime(
        2027, 3, 4, tzinfo=UTC
    )


def test_an_allowed_day_beyond_the_horizon_is_not_looked_for():
    rules = schedule(CAMPAIGN[0], calendars=team(campaign="2028-02-01")).rules
    assert next_fire_of(rules, datetime(2026, 12, 7, tzinfo=UTC)) is None
    assert scheduled_at(rules, datetime(2029, 3, 1, tzinfo=UTC)) == {}  # over a year after it


def test_an_unknown_calendar_rejects_even_beside_one_that_cannot_be_read():
    text = json.dumps([{"schedule": "0 9 * * *", MIN: 3, "skipDays": ["bad", "nope"]}])
    parsed = parse_schedule(text, "HorizontalPodAutoscaler", None, UTC_ZONE)
    resolved = resolve(parsed, team(bad="2027-02-30"))
    assert isinstance(resolved, Rejected) and "no calendar 'nope'" in resolved.message
    # A ConfigMap whose data is not a map of calendars holds, as a missing one does.
    broken = parse_calendars(SOURCE, {"data": ["a list"]})
    assert isinstance(resolve(parsed, broken), Held)


def test_the_next_value_of_two_actions_firing_at_one_instant_is_the_later_action_s():
    rules = schedule({"schedule": "0 9 * * *", MIN: 3}, {"schedule": "0 9 * * *", MIN: 7}).rules
    coming = next_scheduled(rules, datetime(2027, 1, 1, tzinfo=UTC))
    assert (coming[MIN].value, coming[MIN].action) == (7, 1)
    assert scheduled_at(rules, datetime(2027, 1, 1, 9, tzinfo=UTC))[MIN].value == 7


@pytest.mark.parametrize("name", ["holidays:JP-", "holidays:US-"])
def test_a_dash_without_a_subdivision_is_refused(name):
    text = json.dumps([{"schedule": "0 9 * * *", MIN: 3, "skipDays": name}])
    parsed = parse_schedule(text, "HorizontalPodAutoscaler", None, UTC_ZONE)
    assert isinstance(parsed, Rejected) and "unknown subdivision ''" in parsed.message


def test_unicode_digits_are_not_dates():
    problem = parse_team_calendar("c", "٢٠٢٦-١٢-٢٤")
    assert isinstance(problem, str) and "is neither a date" in problem
