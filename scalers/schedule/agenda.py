"""When each annotated object is next due: a heap, so a tick costs the due objects only."""

from __future__ import annotations

import heapq
import threading
from datetime import datetime
from typing import NamedTuple


class Entry(NamedTuple):
    at: datetime
    key: str
    generation: int  # the object's version in the loop: older entries are stale
    reason: str  # "fire", or "catch-up" for a retry


class Agenda:
    def __init__(self) -> None:
        self._heap: list[Entry] = []
        self._lock = threading.Lock()

    def add(self, at: datetime, key: str, generation: int, reason: str) -> None:
        with self._lock:
            heapq.heappush(self._heap, Entry(at, key, generation, reason))

    def pop_due(self, now: datetime) -> list[Entry]:
        due = []
        with self._lock:
            while self._heap and self._heap[0].at <= now:
                due.append(heapq.heappop(self._heap))
        return due

    def next_at(self) -> datetime | None:
        with self._lock:
            return self._heap[0].at if self._heap else None
