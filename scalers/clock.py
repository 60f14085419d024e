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
    """Time that moves only when told to: for tests that call a loop's `tick` themselves.
    `advance()` moves the wall clock and the monotonic one together; `set()` steps the wall
    clock alone, either way, as an NTP correction would: no time passes for durations."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._elapsed = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._elapsed

    def set(self, instant: datetime) -> None:
        with self._lock:
            self._now = instant

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._now += timedelta(seconds=seconds)
            self._elapsed += seconds
            return self._now

    def wait(self, seconds: float, wake: threading.Event) -> bool:
        # Time does not pass by itself here: yield briefly so threads driving the clock can run.
        return wake.wait(min(seconds, 0.01))
