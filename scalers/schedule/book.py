"""What the schedule loop knows of the cluster, kept by its watches (the shell around `track`):
the annotated objects as parsed, who changed their scheduled fields, the fields this process
wrote, and the agenda of their next fires. The watch threads write it; the passes read it."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from scalers import metrics
from scalers.clock import Clock
from scalers.kube.informer import Object
from scalers.kube.lease import Leadership
from scalers.outcome import Notice
from scalers.report import Reporter
from scalers.resources import HPA, Resource
from scalers.runner import Failures
from scalers.schedule import track
from scalers.schedule.agenda import Agenda
from scalers.schedule.annotation import FIELDS, Schedule
from scalers.schedule.calendar import Calendars, parse_calendars
from scalers.schedule.decide import next_scheduled
from scalers.schedule.track import Ref, Tracked

# With calendars, an action may have no allowed fire within their horizon: look again daily.
LOOK_AGAIN = timedelta(days=1)

_NONE: frozenset[str] = frozenset()
_FIELD_SETS: dict[frozenset[str], frozenset[str]] = {}  # the few sets of fields, shared

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
        calendars: str,
        cached: Callable[[Ref], Object | None],
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
        # The team calendars, unread until their ConfigMap's watch has listed it.
        self.calendars = Calendars(calendars, read=False)
        self._configmap: Object | None = None  # the calendars' ConfigMap, as last delivered
        self._cached = cached  # the object of a Ref, as the watch last delivered it
        self._calendars_said: str | None = None  # the calendars' problem last reported
        self._held_refs: set[Ref] = set()  # objects waiting for their calendars
        self._next_said: dict[Ref, frozenset[str]] = {}  # the fields of its next-fire metrics
        # One change at a time, of an object or of the calendars (each watch has its thread):
        # a re-evaluation for the calendars never overwrites an annotation edit made meanwhile.
        self._changing = threading.RLock()
        self._unsaid: set[Ref] = set()  # objects whose notices no leader has said yet

    def catch_up(self) -> None:
        """Every object at the next pass (start-up, leadership); a new leader also says what
        it saw as a standby and no leader said: rejections, held objects, the calendars."""
        with self.lock:
            self._everything = True
        if self._leadership.term() is not None:
            with self._changing:
                self._say_calendars()
                with self.lock:
                    unsaid, self._unsaid = self._unsaid, set()
                for ref in unsaid:
                    with self.lock:
                        tracked = self.tracked.get(ref)
                    obj = self._cached(ref)
                    if tracked is not None and obj is not None:
                        self._say(tracked, None, obj)
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
        """Put the object's next fire after `after` on the agenda, and say it in the metrics."""
        assert isinstance(tracked.schedule, Schedule)
        coming = next_scheduled(tracked.schedule.rules, after)
        ref = tracked.ref
        for name, due in coming.items():
            metrics.NEXT_FIRE.labels(ref.namespace, ref.name, name).set(due.fired_at.timestamp())
            metrics.NEXT_VALUE.labels(ref.namespace, ref.name, name).set(due.value)
        fields = _FIELD_SETS.setdefault(frozenset(coming), frozenset(coming))  # one of each
        with self.lock:
            before = self._next_said.get(ref, _NONE)
            if fields:
                self._next_said[ref] = fields
            elif before:
                del self._next_said[ref]
        for name in before - fields:  # only what it said before: a removal costs
            _remove(ref, name, metrics.NEXT_FIRE, metrics.NEXT_VALUE)
        at = min((due.fired_at for due in coming.values()), default=None)
        if at is not None:
            self.agenda.add(at, ref, tracked.generation, "fire")
        elif any(rule.days for rule in tracked.schedule.rules):
            self.agenda.add(after + LOOK_AGAIN, ref, tracked.generation, "fire")
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
            with self._changing:
                leading = self._leadership.term() is not None
                if old is not None and new is not None:
                    self._observe(ref, old, new, report=leading)
                self._track(ref, resource, new, report=leading)

        return handler

    def calendars_changed(self, configmap: Object | None) -> None:
        """The calendars' ConfigMap as its watch delivers it (None: it does not exist), or as
        the watch's first LIST left it: every object that names a calendar whose days changed
        is re-evaluated, like an annotation change."""
        with self._changing:
            calendars = parse_calendars(self.calendars.source, configmap, self.calendars)
            with self.lock:
                self.calendars, self._configmap = calendars, configmap
                known = list(self.tracked.values())
            leading = self._leadership.term() is not None
            now = self._clock.now()
            for previous in known:
                claimed = previous.resource is HPA and previous.ref.key in self._claimed
                tracked = track.recalendar(previous, claimed, calendars, now)
                obj = self._cached(previous.ref)
                if tracked is not None and obj is not None:
                    self._store(previous, tracked, obj, report=leading)
            if leading:
                self._say_calendars()

    def _say_calendars(self) -> None:
        """What is wrong with the calendars, once per problem, by the leader: a calendar of the
        ConfigMap that is not valid (an Event on it), or the ConfigMap missing while an object
        needs it (a log line: there is no object to put an Event on)."""
        calendars, configmap = self.calendars, self._configmap
        problem = calendars.said()
        if problem is None and calendars.read and not calendars.found and self._held_refs:
            problem = f"the calendars' ConfigMap {calendars.source} does not exist"
        if problem == self._calendars_said:
            return
        self._calendars_said = problem
        if problem is None:
            return
        reason = "InvalidCalendar" if calendars.found else "MissingCalendars"
        metrics.REJECTED_CALENDARS.labels(reason).inc()
        event = ("Warning", "InvalidCalendar") if configmap is not None else None
        namespace, name = calendars.source.split("/", 1)
        subject = configmap or {"metadata": {"namespace": namespace, "name": name}}
        notice = Notice("calendar", "rejected", problem, event, "ERROR")
        self._report.notice("ConfigMap", subject, notice)

    def _track(self, ref: Ref, resource: Resource, obj: Object | None, report: bool) -> bool:
        """Parse what changed of one object; True when it needs a catch-up now."""
        inputs = track.inputs_of(obj)
        with self.lock:
            previous = self.tracked.get(ref)
            if inputs is None:
                self.tracked.pop(ref, None)
                self._unsaid.discard(ref)
                self._failures.forget(ref)
        if obj is None or inputs is None:
            if previous is not None:
                self._drop(ref)
                self._held(ref, False)
            return False
        claimed = resource is HPA and ref.key in self._claimed
        now = self._clock.now()
        tracked = track.retrack(
            previous, resource, ref, inputs, claimed, self._zone, now, self.calendars
        )
        if tracked is None:
            return False
        return self._store(previous, tracked, obj, report)

    def _store(self, previous: Tracked | None, tracked: Tracked, obj: Object, report: bool) -> bool:
        """Keep what the object is now and say what changed; True when it needs a catch-up."""
        ref = tracked.ref
        with self.lock:
            self.tracked[ref] = tracked
        # Held only until the calendars' first LIST: nothing to say of it.
        waiting = tracked.state == track.HELD and not self.calendars.read
        if report and not waiting:
            self._say(tracked, previous, obj)
        else:
            with self.lock:
                self._unsaid.add(ref)  # for the leader to say, unless a change says it first
        self._held(ref, tracked.state == track.HELD)
        if report and tracked.state == track.HELD:
            self._say_calendars()
        if tracked.state != track.ACTIVE:
            self._drop(ref)
            return False
        self.next_fire(tracked, self._clock.now())
        with self.lock:
            self._dirty.add(ref)
        self._wake.set()
        return True

    def _say(self, tracked: Tracked, previous: Tracked | None, obj: Object) -> None:
        with self.lock:
            self._unsaid.discard(tracked.ref)
        for notice in track.notices(tracked, previous):
            if notice.action == "rejected":  # said once per change, by the leader
                metrics.REJECTED_ANNOTATIONS.labels(notice.reason).inc()
            self._report.notice(tracked.ref.kind, obj, notice)

    def _held(self, ref: Ref, held: bool) -> None:
        with self.lock:
            if held:
                self._held_refs.add(ref)
            else:
                self._held_refs.discard(ref)
            metrics.HELD_SCHEDULES.set(len(self._held_refs))

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
        with self.lock:
            self._next_said.pop(ref, None)
        for name in FIELDS[ref.kind]:
            _remove(ref, name, metrics.SCHEDULED, metrics.NEXT_FIRE, metrics.NEXT_VALUE)


def _remove(ref: Ref, name: str, *gauges: metrics.Gauge) -> None:
    for gauge in gauges:
        with contextlib.suppress(KeyError):  # a field the schedule never set
            gauge.remove(ref.namespace, ref.name, name)
