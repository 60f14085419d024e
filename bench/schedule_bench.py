"""Schedule loop figures (issue 2). Run: .venv/bin/python -m bench.schedule_bench

Time to compute the due actions of 10,000 annotated HPAs at one tick: the loop's agenda and pure
core without I/O (pop the due objects, their fired fields in (last, now], their next fire), for a
realistic mix of schedules at an instant where 1,500 fire, and for 10,000 all-different
schedules; plus the one-off start-up cost of filling the agenda. Goal: < 50 ms.
The writes of such a burst, by `scalers run` as shipped: bench/fires_bench.py."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from scalers.schedule import cron
from scalers.schedule.agenda import Agenda
from scalers.schedule.annotation import Rule, Schedule, parse_schedule
from scalers.schedule.decide import fired_between, next_scheduled

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney"]
TICK = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday


def annotation(i: int, distinct: bool) -> str:
    if distinct:  # every object its own pair of schedules
        minute, hour = i % 60, (i // 60) % 24
        day = 1 + (i // 1440) % 28
        return json.dumps(
            [
                {"schedule": f"{minute} {hour} {day} * *", "minReplicas": 5, "maxReplicas": 20},
                {"schedule": f"{minute} {(hour + 12) % 24} {day} * *", "minReplicas": 2},
            ]
        )
    return json.dumps(
        [
            {
                "schedule": f"0 {7 + i % 4} * * 1-5",
                "minReplicas": 10,
                "maxReplicas": 40,
                "tz": ZONES[i % len(ZONES)],
            },
            {
                "schedule": f"0 {18 + i % 4} * * 1-5",
                "minReplicas": "2",
                "tz": ZONES[i % len(ZONES)],
            },
        ]
    )


def one_tick(schedules: list[tuple[Rule, ...]], tick: datetime) -> tuple[float, float, int]:
    """What the loop computes, without its I/O, caches cold (call after clearing them): at
    start-up, every object's next fire into the agenda; at the tick, the due objects' fired
    fields in (last tick, now] and each field's next fire and value (Book.next_fire's question).
    Returns the tick's seconds, the start-up's, and how many were due."""
    agenda, previous = Agenda(), tick - timedelta(seconds=1)

    def next_fire(key: str, rules: tuple[Rule, ...], after: datetime) -> None:
        coming = next_scheduled(rules, after)
        agenda.add(min(s.fired_at for s in coming.values()), key, 0, "fire")

    started = time.perf_counter()
    for i, rules in enumerate(schedules):
        next_fire(str(i), rules, previous)
    start_up = time.perf_counter() - started

    started = time.perf_counter()
    due = agenda.pop_due(tick)
    for entry in due:
        key = str(entry.key)
        rules = schedules[int(key)]
        assert fired_between(rules, previous, tick)
        next_fire(key, rules, tick)
    return time.perf_counter() - started, start_up, len(due)


def due_at_one_tick(count: int, distinct: bool) -> tuple[float, float, int]:
    schedules = []
    for i in range(count):
        parsed = parse_schedule(
            annotation(i, distinct), "HorizontalPodAutoscaler", None, ZoneInfo("UTC")
        )
        assert isinstance(parsed, Schedule)
        schedules.append(parsed.rules)
    cron.timeline.cache_clear()
    return one_tick(schedules, TICK)


def main() -> None:
    for distinct in (False, True):
        label = "10,000 distinct schedules" if distinct else "a realistic mix (40 schedules)"
        tick, start_up, due = due_at_one_tick(10_000, distinct)
        print(
            f"due actions of 10,000 HPAs at one tick, {label}: {tick * 1000:.1f} ms "
            f"({due} due); at start-up, every next fire: {start_up * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
