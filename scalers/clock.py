"""The one source of time. Nothing else reads the wall clock, so tests and the demo can drive
hours of schedule in milliseconds."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds of this clock's time from an arbitrary origin, never stepped: durations
        (a lease's expiry, a renew deadline) are measured on it, so that a wall-clock step
        cannot stretch them."""
        ...

    def wait(self, seconds: float, wake: threading.Event) -> bool:
        """Sleep up to `seconds` of this clock's time; return early (True) when `wake` is set."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, seconds: float, wake: threading.Event) -> bool:
        return wake.wait(max(0.0, seconds))


class FastClock:
    """Virtual time that runs `speed` times faster than the wall clock, from `start`; it stands
    still at `start` until `go()` when created with `running=False`."""

    def __init__(self, start: datetime, speed: float, running: bool = True) -> None:
        self._start = start
        self._epoch = start  # monotonic() counts virtual seconds from here
        self._speed = speed
        self._origin = time.monotonic() if running else None

    def go(self) -> None:
        if self._origin is None:
            self._origin = time.monotonic()

    def pause(self) -> None:
        """Stand still at now until `go()`: the demo lets the controller react to a change
        without virtual time running on, whatever the machine's speed."""
        self._start, self._origin = self.now(), None

    def set_speed(self, speed: float) -> None:
        """Run on from now at `speed` (1: real time)."""
        running = self._origin is not None
        self.pause()
        self._speed = speed
        if running:
            self.go()

    def now(self) -> datetime:
        origin = self._origin
        if origin is None:
            return self._start
        return self._start + timedelta(seconds=(time.monotonic() - origin) * self._speed)

    def monotonic(self) -> float:
        return (self.now() - self._epoch).total_seconds()

    def wait(self, seconds: float, wake: threading.Event) -> bool:
        return wake.wait(max(0.0, seconds) / self._speed)


class ManualClock:
    """Time that moves only when told to: for tests that drive the loops themselves.
    `advance()` moves the wall clock and the monotonic one together; `set()` steps the wall
    clock alone, either way, as an NTP correction would: no time passes for durations.

    `wait()` blocks until `wake` is set or until either clock has moved on by `seconds` (so that
    a test jumping the wall clock to a fire ends the wait for it). `waiting()` counts the threads
    asleep in a wait that has not ended: a test knows that the loops have acted on the time as
    it is now when they are all asleep again, and moves time on exactly then."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._elapsed = 0.0
        self._lock = threading.Lock()
        self._moved = threading.Condition(self._lock)
        self._waits: dict[int, tuple[float, datetime, threading.Event]] = {}  # until when

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._elapsed

    def set(self, instant: datetime) -> None:
        with self._moved:
            self._now = instant
            self._moved.notify_all()

    def advance(self, seconds: float) -> datetime:
        with self._moved:
            self._now += timedelta(seconds=seconds)
            self._elapsed += seconds
            self._moved.notify_all()
            return self._now

    def waiting(self) -> int:
        with self._lock:
            return sum(
                1
                for until, wall, wake in self._waits.values()
                if not wake.is_set() and self._elapsed < until and self._now < wall
            )

    def wait(self, seconds: float, wake: threading.Event) -> bool:
        with self._moved:
            until = self._elapsed + seconds
            wall = self._now + timedelta(seconds=max(0.0, seconds))
            key = threading.get_ident()
            self._waits[key] = (until, wall, wake)
            try:
                while not wake.is_set():
                    if self._elapsed >= until or self._now >= wall:
                        return False
                    self._moved.wait(0.005)  # woken at once by advance() and set(); polls `wake`
                return True
            finally:
                del self._waits[key]
