"""How a loop tells what it decided, the one way for both loops: one JSON log line per decision
with the stable keys, and an Event on the object when a person should see it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from scalers.kube.events import EventRecorder
from scalers.log import decision
from scalers.outcome import Change, Notice, Outcome


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
        level: int | str = logging.INFO,
        **extra: Any,
    ) -> None:
        """One decision: its log line and, when `event` = (type, reason) is given, its Event."""
        meta = obj["metadata"]
        decision(
            self._log, message, loop=self._loop, namespace=meta.get("namespace", ""),
            name=meta["name"], field=field, old=old, new=new, reason=reason, action=action,
            level=logging.getLevelName(level) if isinstance(level, str) else level,
            kind=kind, **extra,
        )  # fmt: skip
        if event:
            self.event(obj, kind, event, message)

    def notice(self, kind: str, obj: dict[str, Any], notice: Notice) -> None:
        """Something said once about an object."""
        self.note(
            kind, obj, notice.message, notice.event, reason=notice.reason, action=notice.action,
            field=notice.field, old=notice.old, new=notice.new, level=notice.severity,
        )  # fmt: skip

    def decided(
        self,
        obj: dict[str, Any],
        outcome: Outcome,
        line: Callable[[Change], str],
        event: tuple[str, str, str] | None = None,
        level: int | str = logging.INFO,
        extra: Callable[[Change], dict[str, Any]] = lambda change: {},
    ) -> Outcome:
        """What became of one object's changes: a log line per field, `line(change)`, and one
        Event for them all, (type, reason, text)."""
        for change in outcome.changes:
            self.note(
                outcome.kind, obj, line(change), None, field=change.field, old=change.old,
                new=change.new, reason=outcome.reason, action=outcome.action, level=level,
                **extra(change),
            )  # fmt: skip
        if event is not None:
            self.event(obj, outcome.kind, event[:2], event[2])
        return outcome

    def event(self, obj: dict[str, Any], kind: str, event: tuple[str, str], text: str) -> None:
        """An Event alone, for a decision whose log lines were one per field."""
        self._events.emit(obj, kind, event[0], event[1], text)

    def hold(self) -> None:
        """Events wait while writes are queued or under way (see EventRecorder.hold)."""
        self._events.hold()

    def release(self) -> None:
        self._events.release()

    def forget(self, uid: str) -> None:
        """The object is gone: nothing said of it need be remembered."""
        self._events.forget(uid)
