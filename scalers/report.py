"""How a loop tells what it decided: one JSON log line with the stable keys, an Event on the
object when a person should see it, and an Outcome for the demo's account and the tests."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from scalers.kube.events import EventRecorder
from scalers.log import decision


@dataclass(frozen=True)
class Outcome:
    """What one pass did to one object."""

    kind: str
    namespace: str
    name: str
    reason: str  # schedule: fire | catch-up; proportional: linear | ladder
    action: str  # write | would-write | refused | failed | clamped
    changes: dict[str, tuple[int | None, int]] = field(default_factory=dict)
    detail: str = ""


class Reporter:
    def __init__(self, loop: str, logger: logging.Logger, events: EventRecorder) -> None:
        self._loop = loop
        self._log = logger
        self._events = events

    def note(
        self,
        kind: str,
        obj: dict[str, Any],
        message: str,
        event: tuple[str, str] | None,
        *,
        reason: str,
        action: str,
        field: str | None = None,
        old: int | None = None,
        new: int | None = None,
        level: int = logging.INFO,
        **extra: Any,
    ) -> None:
        """One decision: its log line and, when `event` = (type, reason) is given, its Event."""
        meta = obj["metadata"]
        decision(
            self._log, message, loop=self._loop, namespace=meta.get("namespace", ""),
            name=meta["name"], field=field, old=old, new=new, reason=reason, action=action,
            level=level, kind=kind, **extra,
        )  # fmt: skip
        if event:
            self._events.emit(obj, kind, event[0], event[1], message)
