"""What calendars cost the schedule loop (issue 12). Run: .venv/bin/python -m bench.calendar_bench

The due-action computation of 10,000 annotated HPAs at one tick, the loop's agenda and pure
core without I/O (pop the due objects; their fired fields in (last tick, now]; each field's next
fire and value, which go on the agenda and into the metrics), with the same schedules plain and
with calendars on every business-hours action: the public holidays of the object's country
(holidays:JP, holidays:DE-BY, holidays:US-NY, ...) and a team calendar of closures. Three ticks:
- an ordinary Monday morning, a realistic mix in five zones (500 due);
- the Friday evening before Monday 2026-11-23, Labor Thanksgiving Day in Japan, same mix: the
  Tokyo objects' next morning fire is skipped, and the core searches for the next allowed day;
- the same Friday with all 10,000 objects in Tokyo and due at once (40 schedules), each search.
With the one-off start-up cost of filling the agenda, caches cold. Goal: < 50 ms a tick."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bench.schedule_bench import one_tick
from scalers.schedule import calendar, cron
from scalers.schedule.annotation import Schedule, parse_schedule, resolve
from scalers.schedule.calendar import parse_calendars

COUNT = 10_000
PLACES = [
    ("UTC", "holidays:GB"),
    ("Europe/Berlin", "holidays:DE-BY"),
    ("America/New_York", "holidays:US-NY"),
    ("Asia/Tokyo", "holidays:JP"),
    ("Australia/Sydney", "holidays:AU-NSW"),
]
TEAM = parse_calendars(
    "kube-system/kube-scalers-calendars",
    {"data": {"closures": "2026-12-24..2027-01-01\n2027-04-02\n2027-08-09..2027-08-13"}},
)
TOKYO = ZoneInfo("Asia/Tokyo")
ORDINARY = datetime(2026, 11, 16, 9, tzinfo=TOKYO).astimezone(UTC)  # a Monday, 00:00 UTC
# Friday 2026-11-20, 18:00 in Tokyo: the evening before a weekend and a holiday.
BEFORE_HOLIDAY = datetime(2026, 11, 20, 18, tzinfo=TOKYO).astimezone(UTC)


def annotation(i: int, calendars: bool, tokyo: bool) -> str:
    zone, holidays = ("Asia/Tokyo", "holidays:JP") if tokyo else PLACES[i % len(PLACES)]
    days = {"skipDays": [holidays, "closures"]} if calendars else {}
    # In Tokyo, 40 schedules that all fire at 09:00 and 18:00 (and at one more minute each).
    also = 1 + i % 40
    tokyo_hours = (f"0,{also} 9", f"0,{also} 18")
    morning, evening = tokyo_hours if tokyo else (f"0 {7 + i % 4}", f"0 {18 + i % 4}")
    return json.dumps(
        [
            {"schedule": f"{morning} * * 1-5", "minReplicas": 10, "maxReplicas": 40, "tz": zone, **days},
            {"schedule": f"{evening} * * 1-5", "minReplicas": "2", "tz": zone},
        ]
    )  # fmt: skip


def due_at_one_tick(tick: datetime, calendars: bool, tokyo: bool) -> tuple[float, float, int]:
    """bench.schedule_bench's tick, caches cold as after a restart, for these schedules."""
    schedules = []
    for i in range(COUNT):
        text = annotation(i, calendars, tokyo)
        parsed = parse_schedule(text, "HorizontalPodAutoscaler", None, ZoneInfo("UTC"))
        resolved = resolve(parsed, TEAM)
        assert isinstance(resolved, Schedule), resolved
        schedules.append(resolved.rules)
    cron.timeline.cache_clear()
    calendar._calendar_timelines.clear()
    return one_tick(schedules, tick)


def main() -> None:
    print(f"due actions of {COUNT:,} HPAs at one tick, best of 3 (caches cold each time):")
    ticks = (
        ("an ordinary Monday, 5 zones", ORDINARY, False),
        ("the Friday before a holiday in Japan, 5 zones", BEFORE_HOLIDAY, False),
        ("the same Friday, all in Tokyo and all due", BEFORE_HOLIDAY, True),
    )
    for label, tick, tokyo in ticks:
        print(f"  {label} ({tick:%Y-%m-%d %H:%M} UTC):")
        for calendars in (False, True):
            took, start_up, due = min(due_at_one_tick(tick, calendars, tokyo) for _ in range(3))
            kind = "with calendars:   " if calendars else "without calendars:"
            print(
                f"    {kind} {took * 1000:6.1f} ms a tick ({due:,} due); "
                f"filling the agenda at start-up {start_up * 1000:6.1f} ms"
            )


if __name__ == "__main__":
    main()
