"""When a cron expression fires, as UTC instants, with the contract's DST rules.

A local time that does not exist (clocks go forward) fires at the first valid instant after it,
which croniter 7 does for fixed hours and this module adds for every-hour expressions. A local time that occurs twice (clocks go back) fires once, at its
first occurrence: croniter 7 yields both, so the repeat is dropped here.

croniter costs about half a millisecond a call, and thousands of objects share a few schedules,
so each (expression, zone) computes its fires once, into a `Timeline` shared by all of them."""

from __future__ import annotations

import bisect
import threading
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from croniter import CroniterBadDateError, croniter

MACROS = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)


def cron_problem(expression: str) -> str | None:
    """Why `expression` is not a schedule we accept, or None when it is."""
    text = expression.strip()
    if text.startswith("@"):
        if text.lower() in MACROS:
            return None
        return f"unknown macro {text!r}; use one of {', '.join(sorted(MACROS))}"
    fields = text.split()
    if len(fields) == 6:
        return (
            f"{text!r} has 6 fields; only 5-field cron is accepted (minute hour day-of-month "
            "month day-of-week): some tools read a sixth field as seconds first, croniter as "
            "seconds last, so a 6-field expression is ambiguous"
        )
    if len(fields) != 5:
        return f"{text!r} has {len(fields)} fields; a cron expression has 5"
    if not croniter.is_valid(text):
        return f"{text!r} is not a valid cron expression"
    try:
        croniter(text, datetime(2000, 1, 1, tzinfo=UTC)).get_next(datetime)
    except CroniterBadDateError:
        return f"{text!r} never fires"
    return None


def _is_repeat(local: datetime, zone: ZoneInfo) -> bool:
    """True for the second occurrence of a wall-clock time that clocks going back repeat."""
    first = local.replace(tzinfo=None).replace(tzinfo=zone, fold=0)
    return first.astimezone(UTC) != local.astimezone(UTC)


class Timeline:
    """The fire instants of one (expression, zone), each computed once and kept in order.

    Every fire in the closed span [`_low`, `_fires[-1]`] is in `_fires`, so a question inside
    the span is a bisection; croniter runs only to extend it."""

    KEEP = 512  # fires kept once the span grows past twice this (an every-minute cron)
    GAP = timedelta(hours=1)  # a question further than this from the span starts a new one
    EARLIEST = datetime.min.replace(tzinfo=UTC)

    def __init__(self, expression: str, zone: ZoneInfo) -> None:
        self._expression = expression
        self._zone = zone
        self._fires: list[datetime] = []
        self._low = self.EARLIEST
        self._forward: croniter | None = None
        self._lock = threading.Lock()

    def _step(self, it: croniter, forward: bool) -> datetime:
        while True:
            local = it.get_next(datetime) if forward else it.get_prev(datetime)
            if not _is_repeat(local, self._zone):
                return local.astimezone(UTC)

    def _between(self, earlier: datetime, later: datetime) -> list[datetime]:
        """A fire croniter skipped between two of its fires, as a one-element list."""
        skipped = _skipped_fire(self._expression, self._zone, earlier, later)
        return [skipped] if skipped else []

    def _cover(self, at: datetime, back_to_a_fire: bool) -> None:
        """Extend the span past `at`, and back to `at` (or to the last fire before it)."""
        if self._fires and (at - self._fires[-1] > self.GAP or self._low - at > self.GAP):
            # A question far from the span (a fire a calendar moved weeks away, a plan --at
            # another year) starts a new span there: stepping to it could take every fire
            # between, half a million of them for an every-minute cron over a year.
            self._fires, self._low = [], self.EARLIEST
        if not self._fires:
            # Fires fall on whole minutes: starting a second early includes one exactly at `at`.
            self._low = at - timedelta(seconds=1)
            self._forward = croniter(self._expression, self._low.astimezone(self._zone))
            first = self._step(self._forward, forward=True)
            self._fires = [*self._between(self._low, first), first]
        while self._fires[-1] <= at:
            assert self._forward is not None
            following = self._step(self._forward, forward=True)
            self._fires += [*self._between(self._fires[-1], following), following]
        if self._low > at or (back_to_a_fire and self._fires[0] > at):
            backward = croniter(self._expression, self._fires[0].astimezone(self._zone))
            try:
                while self._low > at or (back_to_a_fire and self._fires[0] > at):
                    previous = self._step(backward, forward=False)
                    self._fires[:0] = [previous, *self._between(previous, self._fires[0])]
                    self._low = previous
            except CroniterBadDateError:
                self._low = self.EARLIEST  # no earlier fire at all
        if len(self._fires) > 2 * self.KEEP:
            # Forget the oldest fires, but never the ones that answer the question at hand.
            cut = min(bisect.bisect_right(self._fires, at) - 1, len(self._fires) - self.KEEP)
            if cut > 0:
                del self._fires[:cut]
                self._low = self._fires[0]

    def next_after(self, at: datetime) -> datetime:
        with self._lock:
            self._cover(at, back_to_a_fire=False)
            return self._fires[bisect.bisect_right(self._fires, at)]

    def last_at_or_before(self, at: datetime) -> datetime | None:
        with self._lock:
            self._cover(at, back_to_a_fire=True)
            index = bisect.bisect_right(self._fires, at) - 1
            return self._fires[index] if index >= 0 else None


def _skipped_fire(
    expression: str, zone: ZoneInfo, earlier: datetime, later: datetime
) -> datetime | None:
    """croniter 7 moves a fixed hour out of a spring-forward gap (02:30 -> 03:00) but drops the
    gap's times for every-hour expressions ("15 * * * *"). The contract fires a time that does
    not exist at the first valid instant after it: the transition itself."""
    for transition, before, after in _springs_forward(zone, earlier, later):
        gap_start = (transition + before).replace(tzinfo=None)
        match = croniter(expression, gap_start - timedelta(seconds=1)).get_next(datetime)
        if match < gap_start + (after - before) and earlier < transition < later:
            return transition
    return None


def _springs_forward(
    zone: ZoneInfo, earlier: datetime, later: datetime
) -> list[tuple[datetime, timedelta, timedelta]]:
    """(instant, offset before, offset after) of each forward UTC-offset change in the span."""
    found = []
    step = timedelta(hours=1) if later - earlier <= timedelta(days=2) else timedelta(days=1)
    low = earlier
    while low < later:
        high = min(low + step, later)
        before, after = _offset(zone, low), _offset(zone, high)
        if after > before:
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if _offset(zone, middle) == before else (low, middle)
            found.append((high.replace(microsecond=0), before, after))
        low = high
    return found


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


# Bounded: a cluster where objects with distinct crons come and go must not keep every one's.
@lru_cache(maxsize=1024)
def timeline(expression: str, zone: ZoneInfo) -> Timeline:
    return Timeline(expression, zone)


def next_fire(expression: str, zone: ZoneInfo, after: datetime) -> datetime:
    """The first fire strictly after `after`."""
    return timeline(expression, zone).next_after(after)


def last_fire(expression: str, zone: ZoneInfo, at: datetime) -> datetime | None:
    """The most recent fire at or before `at` (None if there was none)."""
    return timeline(expression, zone).last_at_or_before(at)
