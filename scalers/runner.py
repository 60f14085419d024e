"""Hosts the loops in one process: each in its own thread, restarted if it raises, so a failure
in one never stops the other; SIGTERM (via `stop`) ends them all."""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Protocol

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


class Runner:
    def __init__(self, loops: list[Loop], restart_delay: float = 5.0) -> None:
        self.loops = loops
        self.restart_delay = restart_delay
        self.restarts: dict[str, int] = {loop.name: 0 for loop in loops}

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
            except Exception:
                self.restarts[loop.name] += 1
                log.exception("loop crashed; restarting", extra={"loop": loop.name})
                stop.wait(self.restart_delay)
