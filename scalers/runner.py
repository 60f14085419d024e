"""Hosts the loops in one process, and owns the skeleton of every pass: each loop in its own
thread, watching while it runs; woken by a change or its period, it lets a burst settle, decides
when this replica leads, beats, and waits again. A loop that raises is restarted, so a failure in
one never stops the other; SIGTERM (via `stop`) ends them all."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from scalers import metrics
from scalers.clock import Clock
from scalers.kube.informer import Watches
from scalers.kube.lease import Always, Leadership

log = logging.getLogger(__name__)

CRASHES = 3  # a loop that crashes this many times without going round once fails /healthz
FAILING = 3  # an object a loop fails on this many passes in a row fails /healthz
GRACE = timedelta(seconds=30)  # beyond twice its period, before a quiet loop counts as stuck
T = TypeVar("T")


class Loop(Protocol):
    name: str
    period: float  # the longest a healthy loop waits between two passes, in seconds
    debounce: float  # how long a burst of changes must be quiet before its trailing pass, in s
    wake: threading.Event  # set by its watches when something it reads changed

    def watch(self) -> Watches:
        """Fresh informers, for one run: one that was stopped is never started again."""
        ...

    def resume(self) -> None:
        """A run's first LIST is in."""
        ...

    def evaluate(self, now: datetime, term: int) -> object:
        """One pass as the leader in `term`: decide from the caches, and write."""
        ...

    def standby(self) -> None:
        """One pass while another replica leads."""
        ...

    def seconds_to_next(self) -> float:
        """How long the leader may wait for the next pass, at most `period`."""
        ...

    def catch_up(self) -> None:
        """Re-decide everything at the next pass (leadership acquired)."""
        ...

    def synced(self) -> bool: ...

    def problems(self) -> list[str]:
        """What keeps it from doing its job, object by object, for /healthz."""
        ...


class GiveUp(Exception):
    """A loop that must end the process (CPA's --max-sync-failures): every loop stops, and the
    process exits non-zero with this message."""


class Failures:
    """The objects a loop fails on, pass after pass. A bug met on one object is the loop's error,
    with its traceback and a metric: not dressed up as the user's failure, and no reason to stop
    the other objects."""

    def __init__(self, loop: str) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._failing: dict[Hashable, tuple[int, str]] = {}  # passes in a row that broke, and how

    def guard(
        self, key: Hashable, work: Callable[[], T], failed: Callable[[], None] = lambda: None
    ) -> T | None:
        """`work()`, or None when it raised: logged, counted, remembered against `key`, and
        `failed()` called."""
        try:
            result = work()
        except Exception as error:
            failed()
            metrics.LOOP_ERRORS.labels(self._loop).inc()
            log.exception(f"error on {key}", extra={"loop": self._loop})
            with self._lock:
                count = self._failing.get(key, (0, ""))[0] + 1
                self._failing[key] = (count, repr(error))
            return None
        with self._lock:
            self._failing.pop(key, None)
        return result

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._failing.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._failing)

    def problems(self) -> list[str]:
        with self._lock:
            failing = list(self._failing.items())
        return [
            f"{self._loop} loop fails on {key} ({count} passes in a row): {error}"
            for key, (count, error) in failing
            if count >= FAILING
        ]


class Runner:
    def __init__(
        self,
        loops: list[Loop],
        clock: Clock,
        leadership: Leadership | None = None,
        restart_delay: float = 5.0,
    ) -> None:
        self.loops = loops
        self._clock = clock
        self._leadership = leadership or Always()
        self.restart_delay = restart_delay
        self._started = clock.now()
        self.restarts: dict[str, int] = {loop.name: 0 for loop in loops}
        self.heartbeats: dict[str, datetime] = {}  # loop -> when it last went round
        self.gave_up: str | None = None  # why a loop ended the process (GiveUp)
        # loop -> (crashes since it last went round, the last error, its heartbeat then)
        self._crashes: dict[str, tuple[int, str, datetime | None]] = {}

    def problems(self) -> list[str]:
        """Loops that have not gone round for twice their period (and a grace), that crash
        again and again, or that fail on the same object pass after pass."""
        now, found = self._clock.now(), []
        for loop in self.loops:
            last = self.heartbeats.get(loop.name, self._started)
            if now - last > 2 * timedelta(seconds=loop.period) + GRACE:
                found.append(f"{loop.name} loop stuck since {last.isoformat()}")
            found += loop.problems()
        return found + [
            f"{name} loop crashed {count} times in a row: {error}"
            for name, (count, error, _) in self._crashes.items()
            if count >= CRASHES
        ]

    def run(self, stop: threading.Event) -> None:
        threads = [
            threading.Thread(target=self._keep_running, args=(loop, stop), name=loop.name)
            for loop in self.loops
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def run_loop(self, loop: Loop, stop: threading.Event) -> None:
        """One run of one loop, until `stop` or until it raises. A change wakes it at once (the
        leading pass); a change within `debounce` of the last pass a change woke is part of a
        burst, which is let settle first (the trailing pass)."""
        with loop.watch().running(stop, loop.wake):
            loop.resume()
            woken_at = -math.inf  # monotonic time of the last pass a change woke
            while not stop.is_set():
                loop.wake.clear()
                term = self._leadership.term()
                if term is not None:
                    loop.evaluate(self._clock.now(), term)
                else:  # a standby keeps what a take-over needs, so that it repeats nothing
                    loop.standby()
                self.heartbeats[loop.name] = self._clock.now()
                wait = loop.seconds_to_next() if term is not None else loop.period
                woken = self._clock.wait(wait, loop.wake)
                if woken and loop.debounce and not stop.is_set():
                    if self._clock.monotonic() - woken_at < loop.debounce:
                        self._settle(loop, stop)
                    woken_at = self._clock.monotonic()

    def _settle(self, loop: Loop, stop: threading.Event) -> None:
        """Wait until the changes have been quiet for `debounce`, or for `period` at most (a
        stream of changes that never stops is still evaluated, as often as a resync)."""
        deadline = self._clock.monotonic() + loop.period
        while not stop.is_set():
            loop.wake.clear()
            left = deadline - self._clock.monotonic()
            if left <= 0 or not self._clock.wait(min(loop.debounce, left), loop.wake):
                return

    def _keep_running(self, loop: Loop, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.run_loop(loop, stop)
            except GiveUp as error:
                self.gave_up = f"{loop.name} loop: {error}"
                log.error(f"giving up: {error}", extra={"loop": loop.name})
                stop.set()
            except Exception as error:
                self.restarts[loop.name] += 1
                heartbeat = self.heartbeats.get(loop.name)
                count, _, before = self._crashes.get(loop.name, (0, "", None))
                went_round = heartbeat is not None and heartbeat != before
                count = 1 if went_round else count + 1
                self._crashes[loop.name] = (count, repr(error)[:200], heartbeat)
                metrics.LOOP_ERRORS.labels(loop.name).inc()
                log.exception("loop crashed; restarting", extra={"loop": loop.name})
                stop.wait(self.restart_delay)
