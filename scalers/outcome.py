"""What a loop decided about one object, in one shape for both loops (pure): the changes, and
what became of them. The log lines, the Events, the demo's account and the tests all read it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Change:
    """One field of one object set to a new value."""

    field: str
    old: int | None
    new: int

    def __str__(self) -> str:
        return f"{self.field} {self.old} -> {self.new}"


@dataclass(frozen=True)
class Outcome:
    """What one pass did to one object."""

    kind: str
    namespace: str
    name: str
    reason: str  # schedule: fire | catch-up; proportional: linear | ladder
    action: str  # write | would-write | refused | failed | not-leader | abandoned
    changes: tuple[Change, ...] = ()
    detail: str = ""

    @property
    def values(self) -> dict[str, tuple[int | None, int]]:
        """field -> (old, new): the changes as a reader compares them."""
        return {c.field: (c.old, c.new) for c in self.changes}


@dataclass(frozen=True)
class Notice:
    """Something a person should hear about an object once, when what the loop sees changes."""

    reason: str
    action: str
    message: str
    event: tuple[str, str] | None  # (type, reason) of its Event, if it has one
    severity: str = "INFO"  # the log level's name
    field: str | None = None  # the field it is about, if one
    old: Any = None
    new: Any = None
