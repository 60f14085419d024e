"""The schedule loop: watches annotated HPAs (and Deployments), applies fires and catch-ups.

The shell around `decide`. The watch handlers parse an object's annotations when they change
(never in a pass, so no annotation delays another object's fire) and note who changed each
scheduled field; a pass asks the core what is due and hands the writes to a pool without
waiting for them, so a slow answer delays only its own object."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from kubernetes.client import ApiException
from urllib3.exceptions import HTTPError

from scalers import metrics, ownership
from scalers.clock import Clock
from scalers.kube.client import Closed, Fenced, Kube, RetryLater, describe, transient
from scalers.kube.events import EventRecorder
from scalers.kube.informer import Informer, Object, Watches
from scalers.kube.lease import Always, Leadership
from scalers.kube.patch import write_spec_fields
from scalers.report import Outcome, Reporter
from scalers.resources import DEPLOYMENT, HPA, Resource
from scalers.schedule.agenda import Agenda
from scalers.schedule.annotation import (
    FIELDS,
    SCHEDULE_ANNOTATION,
    SUSPEND_ANNOTATION,
    TIMEZONE_ANNOTATION,
    Rejected,
    Schedule,
    parse_schedule,
)
from scalers.schedule.decide import (
    FieldState,
    Plan,
    Scheduled,
    fired_between,
    next_fire_of,
    plan_catch_up,
    plan_fire,
    scheduled_at,
)

log = logging.getLogger(__name__)

FIELD_MANAGER = "kube-scalers-schedule"
LOOP = "schedule"
RETRY_AFTER = timedelta(seconds=10)
BUSY_RETRY = timedelta(seconds=1)  # an object whose last write is still under way waits
OURS = (SCHEDULE_ANNOTATION, TIMEZONE_ANNOTATION, SUSPEND_ANNOTATION)
PERIOD = 60.0  # the longest wait between two passes, fires due or not
FAILING = 3  # an object that breaks the loop this many passes in a row fails /healthz
# The Event (type, reason) that goes with each action on a write.
EVENTS = {
    "write": ("Normal", "ScheduledScale"),
    "refused": ("Warning", "ScheduleRefused"),
    "failed": ("Warning", "ScheduleWriteFailed"),
}


class Ref(NamedTuple):
    """One object of the loop, like client-go's cache.ObjectName, with its kind."""

    kind: str
    key: str  # "namespace/name", the informer's key

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


class Inputs(NamedTuple):
    """Everything of an object that its schedule depends on."""

    annotation: str
    zone: str | None
    suspended: bool


@dataclass(frozen=True)
class Seen:
    """Who last changed one scheduled field, as the watch saw the change happen."""

    by_us: bool
    at: datetime | None  # the other manager's write, when it was not ours
    we_wrote: bool  # this loop had written the field by then


@dataclass
class Tracked:
    """An annotated object as the loop knows it."""

    resource: Resource
    ref: Ref
    inputs: Inputs
    schedule: Schedule | Rejected
    evaluated_at: datetime
    generation: int = 0
    active: bool = False  # valid, not suspended, not claimed: the loop applies it
    seen: dict[str, Seen] = field(default_factory=dict)


class ScheduleLoop:
    name = LOOP
    period = PERIOD

    def __init__(
        self,
        kube: Kube,
        clock: Clock,
        events: EventRecorder,
        default_zone: ZoneInfo,
        dry_run: bool = False,
        writers: int = 16,
        claimed: frozenset[str] = frozenset(),
        leadership: Leadership | None = None,
    ) -> None:
        self._kube = kube
        self._clock = clock
        self._events = events
        self._note = Reporter(LOOP, log, events).note
        self._zone = default_zone
        self._claimed = claimed  # HPAs ("namespace/name") whose floor the proportional loop owns
        self._leadership = leadership or Always()  # only the leader decides and writes
        self._dry_run = dry_run
        self._lock = threading.Lock()
        self._dirty: set[Ref] = set()
        self._catch_up_all = True
        self._tracked: dict[Ref, Tracked] = {}
        self._agenda = Agenda()
        self._written: dict[str, set[str]] = {}  # uid -> fields written by this process
        self._writing: set[Ref] = set()  # objects with a write under way
        self._failures: dict[Ref, tuple[int, str]] = {}  # passes in a row that broke, and how
        self._dropping = False  # writes are being dropped (fenced off, or shutting down)
        self._wake = threading.Event()
        self._writers = ThreadPoolExecutor(writers, thread_name_prefix="schedule-write")
        self._watch()
        self.last_tick: datetime | None = None
        self.heartbeat: datetime | None = None

    def _watch(self) -> None:
        """Fresh informers: one that was stopped is never started again (client-go's rule)."""
        self._informers = {
            r.kind: Informer(self._kube, r, self._changed(r), transform=essentials(r))
            for r in (HPA, DEPLOYMENT)
        }
        self.watches = Watches(list(self._informers.values()))

    # -- inputs, on the watch threads ---------------------------------------------------------

    def _changed(self, resource: Resource) -> Callable[[str, Object | None, Object | None], None]:
        def handler(key: str, old: Object | None, new: Object | None) -> None:
            if new is None and old is not None:
                self._forget_object(old)
            if all(o is None or SCHEDULE_ANNOTATION not in _annotations(o) for o in (old, new)):
                return  # not ours, before or after: cheap to drop
            ref = Ref(resource.kind, key)
            leading = self._leadership.term() is not None
            if old is not None and new is not None:
                self._observe(ref, resource, old, new, report=leading)
            if self._track(ref, resource, new, report=leading):
                with self._lock:
                    self._dirty.add(ref)
                self._wake.set()

        return handler

    def _track(self, ref: Ref, resource: Resource, obj: Object | None, report: bool) -> bool:
        """Parse what changed of one object; True when it needs a catch-up now."""
        annotations = _annotations(obj) if obj else {}
        text = annotations.get(SCHEDULE_ANNOTATION)
        if obj is None or text is None:
            with self._lock:
                gone = self._tracked.pop(ref, None)
                self._failures.pop(ref, None)
            if gone is not None:
                self._agenda.remove(ref)
                _forget_scheduled(ref)
            return False
        inputs = Inputs(
            text,
            annotations.get(TIMEZONE_ANNOTATION),
            annotations.get(SUSPEND_ANNOTATION, "").strip().lower() == "true",
        )
        with self._lock:
            previous = self._tracked.get(ref)
        if previous is not None and previous.inputs == inputs:
            return False
        if previous is not None and previous.inputs[:2] == inputs[:2]:
            schedule = previous.schedule  # only `suspend` changed: the annotation is as parsed
        else:
            schedule = parse_schedule(text, resource.kind, inputs.zone, self._zone)  # type: ignore[arg-type]
        claimed = resource is HPA and ref.key in self._claimed
        tracked = Tracked(
            resource, ref, inputs, schedule, self._clock.now(),
            (previous.generation + 1) if previous else 0,
            active=isinstance(schedule, Schedule) and not inputs.suspended and not claimed,
            seen=previous.seen if previous else {},
        )  # fmt: skip
        with self._lock:
            self._tracked[ref] = tracked
        if not tracked.active:
            self._agenda.remove(ref)
            _forget_scheduled(ref)
        if report:  # once per change of the inputs, by the leader: a hand-over repeats nothing
            self._report_parse(tracked, obj, previous, claimed)
        if tracked.active:
            self._push_next_fire(tracked, tracked.evaluated_at)
        return tracked.active

    def _observe(
        self, ref: Ref, resource: Resource, old: Object, new: Object, report: bool
    ) -> None:
        """Between fires someone else may change a field we set: note who and when, on every
        replica, so that a catch-up (here or after a take-over) judges overrides per field
        rather than by when a manager last wrote *anything*; the leader also says so."""
        with self._lock:
            tracked = self._tracked.get(ref)
        if tracked is None:
            return
        for name in FIELDS[resource.kind]:
            before, after = (old.get("spec") or {}).get(name), (new.get("spec") or {}).get(name)
            if before == after:
                continue
            path = ("spec", name)
            was_ours = any(o.manager == FIELD_MANAGER for o in ownership.owners(old, path))
            owners = ownership.owners(new, path)
            by_us = any(o.manager == FIELD_MANAGER for o in owners)
            others = [o.time for o in owners if o.manager != FIELD_MANAGER and o.time]
            previous = tracked.seen.get(name)
            tracked.seen[name] = Seen(
                by_us=by_us,
                at=None if by_us else max(others, default=self._clock.now()),
                we_wrote=by_us or was_ours or (previous is not None and previous.we_wrote),
            )
            if report and was_ours and not by_us:
                by = ", ".join(o.manager for o in owners) or "another manager"
                message = (
                    f"{name} changed {before} -> {after} by {by}; it stands until the next fire"
                )
                self._note(
                    resource.kind, new, message, ("Normal", "OverrideObserved"),
                    field=name, old=before, new=after, reason="override", action="observed",
                )  # fmt: skip

    def _forget_object(self, obj: Object) -> None:
        uid = obj["metadata"].get("uid", "")
        self._written.pop(uid, None)
        self._events.forget(uid)

    # -- the loop -----------------------------------------------------------------------------

    def catch_up(self) -> None:
        """Re-apply what is scheduled now to every object at the next pass (start, leadership)."""
        with self._lock:
            self._catch_up_all = True
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        self._watch()  # after a crash too: new informers, a fresh LIST
        self.catch_up()
        with self.watches.running(stop, self._wake):
            self._forget_missing()
            while not stop.is_set():
                self._wake.clear()
                leading = self._leadership.term() is not None
                if leading:
                    self.tick(self._clock.now(), wait=False)
                self.heartbeat = self._clock.now()
                self._clock.wait(self._seconds_to_next() if leading else PERIOD, self._wake)

    def synced(self) -> bool:
        return self.watches.synced()

    def _forget_missing(self) -> None:
        """After a restart's fresh LIST: objects deleted while nothing watched are gone too."""
        with self._lock:
            known = list(self._tracked.values())
        for tracked in known:
            if self._informers[tracked.resource.kind].get(tracked.ref.key) is None:
                self._track(tracked.ref, tracked.resource, None, report=False)

    def problems(self) -> list[str]:
        """Objects that broke the loop pass after pass: /healthz names them."""
        with self._lock:
            failing = list(self._failures.items())
        return [
            f"{LOOP} loop fails on {ref} ({count} passes in a row): {error}"
            for ref, (count, error) in failing
            if count >= FAILING
        ]

    def footprint(self) -> dict[str, int]:
        """How much the loop holds, for the memory bench and for tests: every figure falls back
        to zero when the annotated objects are gone."""
        with self._lock:
            return {
                "tracked": len(self._tracked),
                "agenda": len(self._agenda),
                "written": len(self._written),
                "writing": len(self._writing),
                "failing": len(self._failures),
            }

    def _seconds_to_next(self) -> float:
        at = self._agenda.next_at()
        if at is None:
            return PERIOD
        return min(PERIOD, max(0.0, (at - self._clock.now()).total_seconds()))

    def tick(self, now: datetime, wait: bool = True) -> list[Outcome]:
        """One pass: catch up changed objects, then apply every fire in (last pass, now]. The
        writes go to the pool; with `wait` the pass returns their outcomes once they are done."""
        term = self._leadership.term()
        if term is None:
            return []
        with self._lock:
            dirty, self._dirty = self._dirty, set()
            everything, self._catch_up_all = self._catch_up_all, False
            refs = set(self._tracked) if everything else dirty
            catching_up = [t for r in refs if (t := self._tracked.get(r)) and t.active]
        # A catch-up applies what is scheduled now, a fire due in the same pass included.
        work = {t.ref: (t, "catch-up") for t in catching_up}
        for tracked, reason in self._pop_due(now):
            work.setdefault(tracked.ref, (tracked, reason))
        futures: list[Future[Outcome | None]] = []
        for tracked, reason in work.values():
            with self._lock:
                busy = tracked.ref in self._writing
                self._writing.add(tracked.ref)
            if busy:  # one write per object at a time: this one goes next
                self._push(now + BUSY_RETRY, tracked, reason)
                continue
            futures.append(self._writers.submit(self._guarded, tracked, reason, now, term))
        outcomes = [f.result() for f in futures] if wait else []
        self.last_tick = now
        metrics.LAST_EVALUATION.labels(LOOP).set(now.timestamp())
        return [o for o in outcomes if o is not None]

    def _pop_due(self, now: datetime) -> list[tuple[Tracked, str]]:
        due = []
        for entry in self._agenda.pop_due(now):
            with self._lock:
                tracked = self._tracked.get(entry.key)  # type: ignore[call-overload]
            if tracked is not None and tracked.generation == entry.generation and tracked.active:
                due.append((tracked, entry.reason))
        return due

    def _push(self, at: datetime, tracked: Tracked, reason: str) -> None:
        self._agenda.add(at, tracked.ref, tracked.generation, reason)

    def _push_next_fire(self, tracked: Tracked, after: datetime) -> datetime | None:
        assert isinstance(tracked.schedule, Schedule)
        at = next_fire_of(tracked.schedule.rules, after)
        if at is not None:
            self._push(at, tracked, "fire")
        return at

    # -- decisions and writes, on the pool ----------------------------------------------------

    def _guarded(self, tracked: Tracked, reason: str, now: datetime, term: int) -> Outcome | None:
        """A bug met on one object is the loop's error, with its traceback and a metric: it is
        not dressed up as the user's failure, and it does not stop the other objects."""
        outcome = None
        try:
            with self._events.deferred():  # Events wait while writes are under way
                outcome = self._apply(tracked, reason, now, term)
        except Exception as error:
            metrics.LOOP_ERRORS.labels(LOOP).inc()
            log.exception(f"error applying the schedule of {tracked.ref}", extra={"loop": LOOP})
            with self._lock:
                count = self._failures.get(tracked.ref, (0, ""))[0] + 1
                if tracked.ref in self._tracked:
                    self._failures[tracked.ref] = (count, repr(error))
            self._push(now + RETRY_AFTER, tracked, reason)
        else:
            with self._lock:
                self._failures.pop(tracked.ref, None)
        finally:
            with self._lock:
                self._writing.discard(tracked.ref)
        return outcome

    def _apply(self, tracked: Tracked, reason: str, now: datetime, term: int) -> Outcome | None:
        assert isinstance(tracked.schedule, Schedule)
        obj = self._informers[tracked.resource.kind].get(tracked.ref.key)
        with self._lock:
            current = self._tracked.get(tracked.ref)
        if obj is None or current is not tracked:
            return None  # gone, or changed since: its own catch-up decides
        rules = tracked.schedule.rules
        states = self._field_states(tracked, obj)
        if reason == "fire":
            scheduled = fired_between(rules, tracked.evaluated_at, now)
            plan = plan_fire(scheduled, states)
        else:
            scheduled = scheduled_at(rules, now)
            plan = plan_catch_up(scheduled, states)
        next_fire = self._push_next_fire(tracked, now)
        meta = obj["metadata"]
        for name, value in scheduled.items():
            metrics.SCHEDULED.labels(meta["namespace"], meta["name"], name).set(value.value)
        outcome = self._decide(tracked, obj, reason, plan, now, term, next_fire)
        if outcome is None or outcome.action != "failed":
            tracked.evaluated_at = now  # a failed write stays in the window of its retry
        return outcome

    def _decide(
        self,
        tracked: Tracked,
        obj: Object,
        reason: str,
        plan: Plan,
        now: datetime,
        term: int,
        next_fire: datetime | None,
    ) -> Outcome | None:
        if plan.refused:
            metrics.REFUSED_WRITES.labels(LOOP, "MinAboveMax").inc()
            return self._report(tracked, obj, reason, "refused", plan, plan.refused, logging.ERROR)
        if plan.overrides:
            self._report_kept(tracked, obj, plan)
        if not plan.changes:
            return None
        if self._dry_run:
            return self._report(tracked, obj, reason, "would-write", plan, "dry run")
        meta = obj["metadata"]
        try:
            write_spec_fields(
                self._kube, tracked.resource, meta["namespace"], meta["name"], plan.writes,
                FIELD_MANAGER, fence=lambda: self._leadership.holds(term),
            )  # fmt: skip
        except (Fenced, Closed) as error:  # lost the lease, or stopping: the next leader catches up
            if not self._dropping:  # one line for the burst, not one per object
                self._dropping = True
                log.warning(f"writes not sent: {error}", extra={"loop": LOOP})
            action = "not-leader" if isinstance(error, Fenced) else "abandoned"
            return self._report(tracked, obj, reason, action, plan, str(error), logging.DEBUG)
        except (ApiException, RetryLater, HTTPError, OSError) as error:
            metrics.WRITES.labels(LOOP, "error").inc()
            detail = describe(error)
            if transient(error):  # a failed write is tried again, but never past the next fire
                after = RETRY_AFTER
                if isinstance(error, RetryLater):
                    after = max(after, timedelta(seconds=error.after))
                if next_fire is None or now + after < next_fire:
                    self._push(now + after, tracked, reason)
                else:
                    detail += "; not retried: the next fire comes first"
            return self._report(tracked, obj, reason, "failed", plan, detail, logging.ERROR)
        metrics.WRITES.labels(LOOP, "success").inc()
        self._dropping = False
        written = self._clock.now()
        for change in plan.changes:
            self._written.setdefault(meta.get("uid", ""), set()).add(change.field)
            if reason == "fire":
                metrics.FIRE_DELAY.observe((written - change.scheduled.fired_at).total_seconds())
        return self._report(tracked, obj, reason, "write", plan)

    def _field_states(self, tracked: Tracked, obj: Object) -> dict[str, FieldState]:
        """Who set each field: what the watch saw happen where it saw it, else managedFields
        (a cold start of every replica has nothing else)."""
        spec = obj.get("spec") or {}
        written = self._written.get(obj["metadata"].get("uid", ""), set())
        wrote_object = FIELD_MANAGER in ownership.managers(obj)
        states = {}
        for name in FIELDS[tracked.resource.kind]:
            owners = ownership.owners(obj, ("spec", name))
            ours = any(o.manager == FIELD_MANAGER for o in owners)
            seen = tracked.seen.get(name)
            if seen is not None:
                we_wrote, changed_at = ours or seen.we_wrote or name in written, seen.at
            else:
                others = [o.time for o in owners if o.manager != FIELD_MANAGER and o.time]
                we_wrote = ours or wrote_object or name in written
                changed_at = max(others, default=None)
            states[name] = FieldState(spec.get(name), ours, we_wrote, changed_at)
        return states

    # -- reporting ----------------------------------------------------------------------------

    def _report(
        self,
        tracked: Tracked,
        obj: Object,
        reason: str,
        action: str,
        plan: Plan,
        detail: str = "",
        level: int = logging.INFO,
    ) -> Outcome:
        meta, kind = obj["metadata"], tracked.resource.kind
        for change in plan.changes:
            message = f"{action} {change.field} {change.old} -> {change.new}"
            self._note(
                kind, obj, message + (f": {detail}" if detail else ""), None,
                field=change.field, old=change.old, new=change.new, reason=reason, action=action,
                level=level, schedule_action=change.scheduled.action + 1,
                fired_at=change.scheduled.fired_at.isoformat(),
            )  # fmt: skip
        summary = ", ".join(f"{c.field} {c.old} -> {c.new}" for c in plan.changes)
        if action in EVENTS:
            text = f"{summary} ({reason}, {_sources(tracked, plan)})"
            if action != "write":
                text = f"{summary} not written: {detail}"
            self._events.emit(obj, kind, *EVENTS[action], text)
        changes = {c.field: (c.old, c.new) for c in plan.changes}
        return Outcome(kind, meta["namespace"], meta["name"], reason, action, changes, detail)

    def _report_kept(self, tracked: Tracked, obj: Object, plan: Plan) -> None:
        for kept in plan.overrides:
            value = (obj.get("spec") or {}).get(kept.field)
            message = (
                f"{kept.field} {value} was changed by another manager after the fire of "
                f"{_local(tracked, kept)}; keeping it until the next fire (scheduled {kept.value})"
            )
            self._note(
                tracked.resource.kind, obj, message, ("Normal", "OverrideKept"),
                field=kept.field, old=value, new=value, reason="catch-up", action="kept-override",
            )  # fmt: skip

    def _report_parse(
        self, tracked: Tracked, obj: Object, previous: Tracked | None, claimed: bool
    ) -> None:
        kind, schedule = tracked.resource.kind, tracked.schedule
        if isinstance(schedule, Rejected):
            metrics.REJECTED_ANNOTATIONS.labels(schedule.reason).inc()
            self._note(
                kind, obj, schedule.message, ("Warning", "InvalidSchedule"),
                reason=schedule.reason, action="rejected", level=logging.ERROR,
            )  # fmt: skip
            return
        if previous is None or previous.schedule != schedule:
            for warning in schedule.warnings:
                self._note(
                    kind, obj, warning, ("Warning", "ScheduleWarning"),
                    reason="UnknownKey", action="warned", level=logging.WARNING,
                )  # fmt: skip
        if tracked.inputs.suspended and (previous is None or not previous.inputs.suspended):
            message = f"{SUSPEND_ANNOTATION} is true: not applying the schedule"
            self._note(kind, obj, message, None, reason="suspended", action="paused")
        elif claimed and (previous is None or previous.schedule != schedule):
            message = (
                "this HPA is a target of the proportional loop, which owns its minReplicas: "
                "the schedule is not applied (one owner per field)"
            )
            self._note(
                kind, obj, message, ("Warning", "ScheduleIgnored"),
                reason="proportional-target", action="ignored", level=logging.WARNING,
            )  # fmt: skip


def essentials(resource: Resource) -> Callable[[Object], Object]:
    """What the loop reads of an object, cut out before it is cached: the loop watches every
    HPA and Deployment of the cluster, and a Deployment with its pod template, kubectl's
    last-applied-configuration and managedFields for the whole spec is several KB."""
    fields = FIELDS[resource.kind]
    paths = [("spec", name) for name in fields]

    def cut(obj: Object) -> Object:
        meta, spec, annotations = obj["metadata"], obj.get("spec") or {}, _annotations(obj)
        return {
            "apiVersion": resource.api_version,
            "metadata": {
                k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion") if k in meta
            }
            | {"annotations": {k: annotations[k] for k in OURS if k in annotations}}
            | {"managedFields": ownership.only(obj, paths)},
            "spec": {name: spec[name] for name in fields if name in spec},
        }

    return cut


def _annotations(obj: Object) -> dict[str, str]:
    return obj.get("metadata", {}).get("annotations") or {}


def _forget_scheduled(ref: Ref) -> None:
    namespace, name = ref.key.split("/", 1)
    for name_of_field in ("minReplicas", "maxReplicas", "replicas"):
        with contextlib.suppress(KeyError):  # a field the schedule never set
            metrics.SCHEDULED.remove(namespace, name, name_of_field)


def _sources(tracked: Tracked, plan: Plan) -> str:
    sources = (
        f"action {c.scheduled.action + 1} of {_local(tracked, c.scheduled)}" for c in plan.changes
    )
    return ", ".join(dict.fromkeys(sources))


def _local(tracked: Tracked, scheduled: Scheduled) -> str:
    """A fire instant in its action's own zone, as the user wrote the schedule."""
    assert isinstance(tracked.schedule, Schedule)
    zone = tracked.schedule.rules[scheduled.action].zone
    return f"{scheduled.fired_at.astimezone(zone):%a %Y-%m-%d %H:%M} {zone.key}"
