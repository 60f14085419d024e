"""How a loop tells what it decided, the one way for both loops: one JSON log line per decision
with the stable keys, and an Event on the object when a person should see it.

While writes are held (a pass's writes queued or under way, see `hold`), what is said waits, in
the order it was said, and is said once the last of them ends: a burst of fires is not slowed
by the log lines and Events that describe it (issue 13). Nothing is dropped or reordered; a
write that hangs delays what is said by at most DEFER_AT_MOST seconds."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from scalers.kube.events import EventRecorder
from scalers.log import decision
from scalers.outcome import Change, Notice, Outcome

log = logging.getLogger(__name__)

DEFER_AT_MOST = 5.0  # seconds what is said may wait for held writes

Event = tuple[str, str, str]  # (type, reason, text)


class Reporter:
    def __init__(
        self,
        loop: str,
        logger: logging.Logger,
        events: EventRecorder,
        defer_at_most: float = DEFER_AT_MOST,
    ) -> None:
        self._loop = loop
        self._log = logger
        self._events = events
        self._defer_at_most = defer_at_most
        self._lock = threading.Lock()  # guards what follows
        self._holds = 0
        self._deferred: deque[Callable[[], None]] = deque()  # said while held, in order
        self._draining = False  # one thread says the deferred, first to last
        self._timer: threading.Timer | None = None  # says them anyway after defer_at_most

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
        self._say(
            lambda: self._note(
                kind, obj, message, event, reason=reason, action=action, field=field, old=old,
                new=new, level=level, **extra,
            )
        )  # fmt: skip

    def _note(
        self,
        kind: str,
        obj: dict[str, Any],
        message: str,
        event: tuple[str, str] | None,
        *,
        reason: str,
        action: str,
        field: str | None,
        old: int | None,
        new: int | None,
        level: int | str,
        **extra: Any,
    ) -> None:
        meta = obj["metadata"]
        decision(
            self._log, message, loop=self._loop, namespace=meta.get("namespace", ""),
            name=meta["name"], field=field, old=old, new=new, reason=reason, action=action,
            level=logging.getLevelName(level) if isinstance(level, str) else level,
            kind=kind, **extra,
        )  # fmt: skip
        if event:
            self._events.emit(obj, kind, event[0], event[1], message)

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
        event: Event | Callable[[], Event | None] | None = None,
        level: int | str = logging.INFO,
        extra: Callable[[Change], dict[str, Any]] = lambda change: {},
    ) -> Outcome:
        """What became of one object's changes: a log line per field, `line(change)`, and one
        Event for them all, (type, reason, text), or what `event()` makes of them when it is
        said (the text of an Event is made off the writes' path too)."""

        def said() -> None:
            for change in outcome.changes:
                self._note(
                    outcome.kind, obj, line(change), None, field=change.field, old=change.old,
                    new=change.new, reason=outcome.reason, action=outcome.action, level=level,
                    **extra(change),
                )  # fmt: skip
            made = event() if callable(event) else event
            if made is not None:
                self._events.emit(obj, outcome.kind, *made)

        self._say(said)
        return outcome

    def event(self, obj: dict[str, Any], kind: str, event: tuple[str, str], text: str) -> None:
        """An Event alone, for a decision whose log lines were one per field."""
        self._say(lambda: self._events.emit(obj, kind, event[0], event[1], text))

    def hold(self) -> None:
        """A write is on its way (queued or under way): what is said waits until every write
        held has been released, and so do Events (see EventRecorder.hold)."""
        with self._lock:
            self._holds += 1
        self._events.hold()

    def release(self) -> None:
        """A held write has ended; the last one to end says what waited, first to last."""
        with self._lock:
            self._holds -= 1
            last = self._holds == 0 and bool(self._deferred)
        if last:
            self._drain()
        self._events.release()

    def _say(self, said: Callable[[], None]) -> None:
        """Say now, or after the held writes when there are any (or something waits already:
        nothing said overtakes what waits)."""
        with self._lock:
            if self._holds or self._draining or self._deferred:
                self._deferred.append(said)
                if self._timer is None:
                    self._timer = threading.Timer(self._defer_at_most, self._drain)
                    self._timer.name = f"{self._loop}-said-late"
                    self._timer.daemon = True
                    self._timer.start()
                return
        said()

    def _drain(self) -> None:
        """Say everything deferred, in order, on this thread (the one that ended the last held
        write, or the timer's when a write is held too long)."""
        with self._lock:
            if self._timer is threading.current_thread():
                self._timer = None  # spent: what is deferred next starts another
            if self._draining:
                return  # another thread says them all
            self._draining = True
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        while True:
            with self._lock:
                if not self._deferred:
                    self._draining = False
                    return
                said = self._deferred.popleft()
            try:
                said()
            except Exception:  # a bug in what one decision says: the others are still said
                log.exception("a decision could not be said", extra={"loop": self._loop})

    def forget(self, uid: str) -> None:
        """The object is gone: nothing said of it need be remembered."""
        self._events.forget(uid)
