"""What the schedule loop knows of the cluster, kept by its watches (the shell around `track`):
the annotated objects as parsed, who changed their scheduled fields, the fields this process
wrote, and the agenda of their next fires. The watch threads write it; the passes read it."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from scalers import metrics
from scalers.clock import Clock
from scalers.kube.informer import Object
from scalers.kube.lease import Leadership
from scalers.report import Reporter
from scalers.resources import HPA, Resource
from scalers.runner import Failures
from scalers.schedule import track
from scalers.schedule.agenda import Agenda
from scalers.schedule.annotation import FIELDS, Schedule
from scalers.schedule.decide import next_fire_of
from scalers.schedule.track import Ref, Tracked

Handler = Callable[[str, Object | None, Object | None], None]


class Book:
    def __init__(
        self,
        manager: str,
        clock: Clock,
        report: Reporter,
        failures: Failures,
        leadership: Leadership,
        default_zone: ZoneInfo,
        claimed: frozenset[str],
        wake: threading.Event,
    ) -> None:
        self._manager, self._clock, self._report = manager, clock, report
        self._failures, self._leadership, self._zone = failures, leadership, default_zone
        self._claimed = claimed  # HPAs ("namespace/name") whose floor the proportional loop owns
        self._wake = wake
        self.lock = threading.Lock()
        self.tracked: dict[Ref, Tracked] = {}
        self.agenda = Agenda()
        self.written: dict[str, set[str]] = {}  # uid -> fields written by this process
        self._dirty: set[Ref] = set()
        self._everything = True  # catch every object up at the next pass

    def catch_up(self) -> None:
        with self.lock:
            self._everything = True
        self._wake.set()

    def catching_up(self) -> list[Tracked]:
        """The objects to catch up at this pass, those whose inputs changed or all of them."""
        with self.lock:
            dirty, self._dirty = self._dirty, set()
            everything, self._everything = self._everything, False
            refs = set(self.tracked) if everything else dirty
            return [t for r in refs if (t := self.tracked.get(r)) and t.state == track.ACTIVE]

    def due(self, now: datetime) -> list[tuple[Tracked, str]]:
        """The objects whose fire (or retry) is due by `now`, with why."""
        due = []
        for entry in self.agenda.pop_due(now):
            with self.lock:
                tracked = self.tracked.get(entry.key)  # type: ignore[call-overload]
            if tracked and tracked.generation == entry.generation and tracked.state == track.ACTIVE:
                due.append((tracked, entry.reason))
        return due

    def again(self, at: datetime, tracked: Tracked, reason: str) -> None:
        """Take `tracked` up again at `at` (a retry), unless its inputs change first."""
        self.agenda.add(at, tracked.ref, tracked.generation, reason)

    def next_fire(self, tracked: Tracked, after: datetime) -> datetime | None:
        """Put the object's next fire after `after` on the agenda."""
        assert isinstance(tracked.schedule, Schedule)
        at = next_fire_of(tracked.schedule.rules, after)
        if at is not None:
            self.agenda.add(at, tracked.ref, tracked.generation, "fire")
        return at

    def forget_missing(self, present: Callable[[Ref], bool]) -> None:
        """After a restart's fresh LIST: objects deleted while nothing watched are gone too."""
        with self.lock:
            known = list(self.tracked.values())
        for tracked in known:
            if not present(tracked.ref):
                self._track(tracked.ref, tracked.resource, None, report=False)

    # -- on the watch threads -----------------------------------------------------------------

    def handler(self, resource: Resource) -> Handler:
        def handler(key: str, old: Object | None, new: Object | None) -> None:
            if new is None and old is not None:
                self.written.pop(old["metadata"].get("uid", ""), None)
                self._report.forget(old["metadata"].get("uid", ""))
            if all(track.inputs_of(o) is None for o in (old, new)):
                return  # not ours, before or after: cheap to drop
            ref = Ref.of(resource.kind, key)
            leading = self._leadership.term() is not None
            if old is not None and new is not None:
                self._observe(ref, old, new, report=leading)
            if self._track(ref, resource, new, report=leading):
                with self.lock:
                    self._dirty.add(ref)
                self._wake.set()

        return handler

    def _track(self, ref: Ref, resource: Resource, obj: Object | None, report: bool) -> bool:
        """Parse what changed of one object; True when it needs a catch-up now."""
        inputs = track.inputs_of(obj)
        with self.lock:
            previous = self.tracked.get(ref)
            if inputs is None:
                self.tracked.pop(ref, None)
                self._failures.forget(ref)
        if obj is None or inputs is None:
            if previous is not None:
                self._drop(ref)
            return False
        claimed = resource is HPA and ref.key in self._claimed
        now = self._clock.now()
        tracked = track.retrack(previous, resource, ref, inputs, claimed, self._zone, now)
        if tracked is None:
            return False
        with self.lock:
            self.tracked[ref] = tracked
        for notice in track.notices(tracked, previous) if report else ():
            if notice.action == "rejected":  # said once per change, by the leader
                metrics.REJECTED_ANNOTATIONS.labels(notice.reason).inc()
            self._report.notice(ref.kind, obj, notice)
        if tracked.state != track.ACTIVE:
            self._drop(ref)
            return False
        self.next_fire(tracked, now)
        return True

    def _observe(self, ref: Ref, old: Object, new: Object, report: bool) -> None:
        """Note who changed a scheduled field, on every replica, so that a catch-up here or
        after a take-over judges it; the leader also says when it overrides our write."""
        with self.lock:
            tracked = self.tracked.get(ref)
        if tracked is not None:
            now = self._clock.now()
            seen, said = track.observe(ref.kind, old, new, tracked.seen, self._manager, now)
            tracked.seen.update(seen)
            for notice in said if report else ():
                self._report.notice(ref.kind, new, notice)

    def _drop(self, ref: Ref) -> None:
        """The object's schedule no longer applies: no fire is due, no value is scheduled."""
        self.agenda.remove(ref)
        for name in FIELDS[ref.kind]:
            with contextlib.suppress(KeyError):  # a field the schedule never set
                metrics.SCHEDULED.remove(ref.namespace, ref.name, name)
