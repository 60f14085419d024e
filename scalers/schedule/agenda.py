"""When each annotated object is next due: a heap, so a tick costs the due objects only.

One entry per object: adding keeps the earlier of two, removing forgets it at once, and entries
made stale by either are dropped from the heap as it is popped or compacted, so a cluster where
objects come and go holds no entry for an object that is gone."""

from __future__ import annotations

import heapq
import threading
from collections.abc import Hashable
from datetime import datetime
from typing import NamedTuple


class Entry(NamedTuple):
    at: datetime
    order: int  # ties at one instant pop in the order they were added
    key: Hashable
    generation: int  # the object's version in the loop when the entry was made
    reason: str  # "fire", or "catch-up" for a retry


class Agenda:
    def __init__(self) -> None:
        self._heap: list[Entry] = []
        self._entries: dict[Hashable, Entry] = {}  # the one live entry of each object
        self._added = 0
        self._lock = threading.Lock()

    def add(self, at: datetime, key: Hashable, generation: int, reason: str) -> None:
        """Due at `at`, unless the object is already due earlier in the same generation."""
        with self._lock:
            current = self._entries.get(key)
            if current is not None and current.generation == generation and current.at <= at:
                return
            self._added += 1
            entry = Entry(at, self._added, key, generation, reason)
            self._entries[key] = entry
            heapq.heappush(self._heap, entry)
            if len(self._heap) > 2 * len(self._entries) + 64:
                self._heap = list(self._entries.values())
                heapq.heapify(self._heap)

    def remove(self, key: Hashable) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def pop_due(self, now: datetime) -> list[Entry]:
        due = []
        with self._lock:
            while self._heap and self._heap[0].at <= now:
                entry = heapq.heappop(self._heap)
                if self._entries.get(entry.key) is entry:
                    del self._entries[entry.key]
                    due.append(entry)
        return due

    def next_at(self) -> datetime | None:
        with self._lock:
            while self._heap and self._entries.get(self._heap[0].key) is not self._heap[0]:
                heapq.heappop(self._heap)
            return self._heap[0].at if self._heap else None

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
