"""Hosts the loops in one process: each in its own thread, restarted if it raises, so a failure
in one never stops the other; SIGTERM (via `stop`) ends them all."""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Protocol

from scalers import metrics

log = logging.getLogger(__name__)


class Loop(Protocol):
    name: str
    period: float  # the longest a healthy loop waits between two rounds, in seconds
    heartbeat: datetime | None  # when it last went round

    def run(self, stop: threading.Event) -> None: ...

    def catch_up(self) -> None:
        """Re-decide everything at the next round (leadership acquired)."""
        ...

    def synced(self) -> bool: ...

    def problems(self) -> list[str]:
        """What keeps it from doing its job, object by object, for /healthz."""
        ...


CRASHES = 3  # a loop that crashes this many times without going round once fails /healthz


class Runner:
    def __init__(self, loops: list[Loop], restart_delay: float = 5.0) -> None:
        self.loops = loops
        self.restart_delay = restart_delay
        self.restarts: dict[str, int] = {loop.name: 0 for loop in loops}
        # loop -> (crashes since it last went round, the last error, its heartbeat then)
        self._crashes: dict[str, tuple[int, str, datetime | None]] = {}

    def problems(self) -> list[str]:
        """Loops that crash again and again: a crash loop is never silent."""
        return [
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

    def _keep_running(self, loop: Loop, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                loop.run(stop)
            except Exception as error:
                self.restarts[loop.name] += 1
                count, _, heartbeat = self._crashes.get(loop.name, (0, "", None))
                went_round = loop.heartbeat is not None and loop.heartbeat != heartbeat
                count = 1 if went_round else count + 1
                self._crashes[loop.name] = (count, repr(error)[:200], loop.heartbeat)
                metrics.LOOP_ERRORS.labels(loop.name).inc()
                log.exception("loop crashed; restarting", extra={"loop": loop.name})
                stop.wait(self.restart_delay)
