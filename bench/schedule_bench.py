"""Schedule loop figures (issue 2). Run: .venv/bin/python -m bench.schedule_bench

(a) Time to compute the due actions of 10,000 annotated HPAs at one tick: the loop's agenda and
    pure core without I/O (pop the due objects, their fired fields in (last, now], their next
    fire), for a realistic mix of schedules at an instant where 1,500 fire, and for 10,000
    all-different schedules; plus the one-off start-up cost of filling the agenda.
(b) Delay from the cron instant to the write, for 1,000 HPAs firing at the same minute: the real
    loop and client against the fake API server running in a separate process, which notes
    when it answered each write. Goals: (a) < 50 ms, (b) every write within 1 s."""

from __future__ import annotations

import json
import multiprocessing
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bench.common import GITOPS, api_client, hpa
from scalers.clock import FastClock
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


def serve(ready: multiprocessing.Queue, stop: multiprocessing.Event, count: int) -> None:  # type: ignore[type-arg]
    from scalers.fakeapi import FakeApiServer

    with FakeApiServer() as server:
        # 08:59 leaves them where they are (2/20), so start-up has nothing to catch up.
        actions = json.dumps(
            [
                {"schedule": "59 8 * * *", "minReplicas": 2, "maxReplicas": 20},
                {"schedule": "0 9 * * *", "minReplicas": 10, "maxReplicas": 40},
            ]
        )
        for i in range(count):
            server.create(hpa(f"app-{i}", f"team-{i % 50}", actions, 2, 20), manager=GITOPS)
        ready.put(server.url)
        stop.wait()
        ready.put([r.at for r in server.requests if r.method == "PATCH" and r.status == 200])


def fire_delays(count: int) -> list[float]:
    """Seconds from the cron instant to each write's answer at the API server (wall clock of
    the same machine on both sides)."""
    from scalers.controller import Controller, Settings

    ready: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    stop_server = multiprocessing.Event()
    process = multiprocessing.Process(target=serve, args=(ready, stop_server, count), daemon=True)
    process.start()
    api = api_client(ready.get(timeout=120), pool_maxsize=32)

    instant = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    lead = 3.0  # start-up (list, watch, catch-up) happens before the instant
    clock = FastClock(instant - timedelta(seconds=lead), speed=1.0)
    instant_wall = time.time() + lead
    controller = Controller(api, clock, Settings(ZoneInfo("UTC")))
    stop = threading.Event()
    runner = threading.Thread(target=controller.run, args=(stop,), daemon=True)
    runner.start()
    time.sleep(lead + 5)
    stop.set()
    runner.join(timeout=10)
    stop_server.set()
    answered = ready.get(timeout=30)
    process.join(timeout=10)
    return sorted(at - instant_wall for at in answered)


def main() -> None:
    for distinct in (False, True):
        label = "10,000 distinct schedules" if distinct else "a realistic mix (40 schedules)"
        tick, start_up, due = due_at_one_tick(10_000, distinct)
        print(
            f"(a) due actions of 10,000 HPAs at one tick, {label}: {tick * 1000:.1f} ms "
            f"({due} due); at start-up, every next fire: {start_up * 1000:.1f} ms"
        )
    delays = fire_delays(1000)
    if len(delays) != 1000:
        print(f"(b) {len(delays)} writes for 1,000 HPAs")
    if delays:
        print(
            f"(b) cron instant -> write answered by the API server, 1,000 HPAs at one minute: "
            f"first {delays[0]:.3f} s, median {statistics.median(delays):.3f} s, "
            f"p99 {delays[int(len(delays) * 0.99) - 1]:.3f} s, last {delays[-1]:.3f} s"
        )


if __name__ == "__main__":
    main()
