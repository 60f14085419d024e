"""The schedule loop: watches annotated HPAs (and Deployments), applies fires and catch-ups.

The shell around `decide`: it keeps the watch caches, asks the core what is due, writes through
the patch helper, and reports each decision as a log line, an Event and a metric."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from scalers import metrics
from scalers.clock import Clock
from scalers.kube import ownership
from scalers.kube.client import Kube, describe, transient
from scalers.kube.events import EventRecorder
from scalers.kube.informer import Informer, Object, Watches
from scalers.kube.patch import write_spec_fields
from scalers.kube.resources import DEPLOYMENT, HPA, Resource
from scalers.report import Outcome, Reporter
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
OURS = (SCHEDULE_ANNOTATION, TIMEZONE_ANNOTATION, SUSPEND_ANNOTATION)
PERIOD = 60.0  # the longest wait between two passes, fires due or not
# The Event (type, reason) that goes with each action on a write.
EVENTS = {
    "write": ("Normal", "ScheduledScale"),
    "refused": ("Warning", "ScheduleRefused"),
    "failed": ("Warning", "ScheduleWriteFailed"),
}


@dataclass
class Tracked:
    """An annotated object as the loop knows it."""

    resource: Resource
    key: str
    inputs: tuple[str | None, str | None, bool]  # annotation, zone annotation, suspended
    schedule: Schedule | Rejected
    evaluated_at: datetime
    generation: int = 0


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
        leading: Callable[[], bool] = lambda: True,
    ) -> None:
        self._kube = kube
        self._clock = clock
        self._events = events
        self._note = Reporter(LOOP, log, events).note
        self._zone = default_zone
        self._claimed = claimed  # HPAs ("namespace/name") whose floor the proportional loop owns
        self._leading = leading  # only the leader decides and writes
        self._dry_run = dry_run
        self._informers = {
            r.kind: Informer(kube, r, self._changed(r), transform=essentials(r))
            for r in (HPA, DEPLOYMENT)
        }
        self.watches = Watches(list(self._informers.values()))
        self._lock = threading.Lock()
        self._dirty: dict[str, Resource] = {}
        self._catch_up_all = True
        self._tracked: dict[str, Tracked] = {}
        self._agenda = Agenda()
        self._written: dict[str, set[str]] = {}  # uid -> fields written by this process
        self._wake = threading.Event()
        self._writers = ThreadPoolExecutor(writers, thread_name_prefix="schedule-write")
        self.last_tick: datetime | None = None
        self.heartbeat: datetime | None = None

    # -- inputs -----------------------------------------------------------------------------

    def _changed(self, resource: Resource) -> Callable[[str, Object | None, Object | None], None]:
        def handler(key: str, old: Object | None, new: Object | None) -> None:
            if new is None and old is not None:
                self._written.pop(old["metadata"].get("uid", ""), None)
            if all(o is None or SCHEDULE_ANNOTATION not in _annotations(o) for o in (old, new)):
                return  # not ours, before or after: cheap to drop before taking the lock
            with self._lock:
                self._dirty[f"{resource.kind}:{key}"] = resource
            if old is not None and new is not None and self._leading():
                self._report_overrides(resource, old, new)
            self._wake.set()

        return handler

    def catch_up(self) -> None:
        """Re-apply what is scheduled now to every object at the next tick (start, leadership)."""
        with self._lock:
            self._catch_up_all = True
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        self.catch_up()
        with self.watches.running(stop, self._wake):
            while not stop.is_set():
                self._wake.clear()
                leading = self._leading()
                if leading:
                    self.tick(self._clock.now())
                self.heartbeat = self._clock.now()
                self._clock.wait(self._seconds_to_next() if leading else PERIOD, self._wake)

    def synced(self) -> bool:
        return self.watches.synced()

    def _seconds_to_next(self) -> float:
        at = self._agenda.next_at()
        if at is None:
            return PERIOD
        return min(PERIOD, max(0.0, (at - self._clock.now()).total_seconds()))

    def tick(self, now: datetime) -> list[Outcome]:
        """One pass: catch up changed objects, then apply every fire in (last pass, now]."""
        work = [(tracked, obj, "catch-up") for tracked, obj in self._refresh(now)]
        work += self._pop_due(now)
        with self._events.deferred():
            results = list(self._writers.map(lambda w: self._apply(w[0], w[1], w[2], now), work))
        outcomes = [o for o in results if o is not None]
        self.last_tick = now
        metrics.LAST_EVALUATION.labels(LOOP).set(now.timestamp())
        return outcomes

    def _refresh(self, now: datetime) -> list[tuple[Tracked, Object]]:
        with self._lock:
            dirty, self._dirty = self._dirty, {}
            everything, self._catch_up_all = self._catch_up_all, False
        if everything:
            dirty = {f"{r.kind}:{k}": r for r in (HPA, DEPLOYMENT) for k in self._keys(r)} | dirty
        ready = []
        for tracked_key, resource in dirty.items():
            obj = self._informers[resource.kind].get(tracked_key.split(":", 1)[1])
            tracked = self._track(tracked_key, resource, obj, now, force=everything)
            if tracked is not None:
                assert obj is not None
                ready.append((tracked, obj))
        return ready

    def _keys(self, resource: Resource) -> list[str]:
        return [
            f"{o['metadata'].get('namespace', '')}/{o['metadata']['name']}"
            for o in self._informers[resource.kind].items()
        ]

    def _track(
        self, key: str, resource: Resource, obj: Object | None, now: datetime, force: bool
    ) -> Tracked | None:
        """Update what we know of one object; return it when it needs a catch-up now."""
        annotations = _annotations(obj) if obj else {}
        text = annotations.get(SCHEDULE_ANNOTATION)
        if obj is None or text is None:
            if self._tracked.pop(key, None) is not None:
                self._forget_scheduled(key)
            return None
        inputs = (
            text,
            annotations.get(TIMEZONE_ANNOTATION),
            annotations.get(SUSPEND_ANNOTATION, "").lower() == "true",
        )
        previous = self._tracked.get(key)
        if previous is not None and previous.inputs == inputs and not force:
            return None
        if previous is not None and previous.inputs == inputs:
            schedule = previous.schedule  # a forced catch-up: the annotation is as parsed before
        else:
            schedule = parse_schedule(text, resource.kind, inputs[1], self._zone)  # type: ignore[arg-type]
        tracked = Tracked(
            resource, key, inputs, schedule, now, (previous.generation + 1) if previous else 0
        )
        self._tracked[key] = tracked
        self._report_parse(tracked, obj, previous)
        if isinstance(schedule, Rejected) or inputs[2]:
            return None
        if resource is HPA and key.split(":", 1)[1] in self._claimed:
            message = (
                "this HPA is a target of the proportional loop, which owns its minReplicas: "
                "the schedule is not applied (one owner per field)"
            )
            self._note(
                resource.kind, obj, message, ("Warning", "ScheduleIgnored"),
                reason="proportional-target", action="ignored", level=logging.WARNING,
            )  # fmt: skip
            return None
        self._push_next_fire(tracked, now)
        return tracked

    def _push(self, at: datetime, tracked: Tracked, reason: str) -> None:
        self._agenda.add(at, tracked.key, tracked.generation, reason)

    def _push_next_fire(self, tracked: Tracked, after: datetime) -> None:
        assert isinstance(tracked.schedule, Schedule)
        at = next_fire_of(tracked.schedule.rules, after)
        if at is not None:
            self._push(at, tracked, "fire")

    def _pop_due(self, now: datetime) -> list[tuple[Tracked, Object, str]]:
        due: dict[str, tuple[Tracked, Object, str]] = {}
        for _, key, generation, reason in self._agenda.pop_due(now):
            tracked = self._tracked.get(key)
            if tracked is None or tracked.generation != generation:
                continue  # the object changed or went away since this entry was pushed
            obj = self._informers[tracked.resource.kind].get(key.split(":", 1)[1])
            if obj is not None and (key not in due or reason == "fire"):
                due[key] = (tracked, obj, reason)
        return list(due.values())

    # -- decisions and writes ---------------------------------------------------------------

    def _apply(self, tracked: Tracked, obj: Object, reason: str, now: datetime) -> Outcome | None:
        assert isinstance(tracked.schedule, Schedule)
        rules = tracked.schedule.rules
        states = self._field_states(tracked.resource, obj)
        if reason == "fire":
            scheduled = fired_between(rules, tracked.evaluated_at, now)
            plan = plan_fire(scheduled, states)
            self._push_next_fire(tracked, now)
        else:
            scheduled = scheduled_at(rules, now)
            plan = plan_catch_up(scheduled, states)
        meta = obj["metadata"]
        for name, value in scheduled.items():
            metrics.SCHEDULED.labels(meta["namespace"], meta["name"], name).set(value.value)
        outcome = self._decide(tracked, obj, reason, plan, now)
        if reason == "fire" and (outcome is None or outcome.action != "failed"):
            tracked.evaluated_at = now  # a failed fire stays in the window of its retry
        return outcome

    def _decide(
        self, tracked: Tracked, obj: Object, reason: str, plan: Plan, now: datetime
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
        if not self._leading():  # the lease was lost during this pass: the new leader catches up
            return self._report(tracked, obj, reason, "not-leader", plan, "no longer the leader")
        meta = obj["metadata"]
        try:
            write_spec_fields(
                self._kube,
                tracked.resource,
                meta["namespace"],
                meta["name"],
                plan.writes,
                FIELD_MANAGER,
            )
        except Exception as error:
            metrics.WRITES.labels(LOOP, "error").inc()
            if transient(error):  # a failed write is not forgotten: it is tried again
                self._push(now + RETRY_AFTER, tracked, reason)
            detail = describe(error)
            return self._report(tracked, obj, reason, "failed", plan, detail, logging.ERROR)
        metrics.WRITES.labels(LOOP, "success").inc()
        written = self._clock.now()
        for change in plan.changes:
            self._written.setdefault(meta.get("uid", ""), set()).add(change.field)
            if reason == "fire":
                metrics.FIRE_DELAY.observe((written - change.scheduled.fired_at).total_seconds())
        return self._report(tracked, obj, reason, "write", plan)

    def _field_states(self, resource: Resource, obj: Object) -> dict[str, FieldState]:
        spec = obj.get("spec") or {}
        uid = obj["metadata"].get("uid", "")
        wrote_object = FIELD_MANAGER in ownership.managers(obj)
        states = {}
        for name in FIELDS[resource.kind]:
            owners = ownership.owners(obj, ("spec", name))
            ours = any(o.manager == FIELD_MANAGER for o in owners)
            others = [o.time for o in owners if o.manager != FIELD_MANAGER and o.time]
            states[name] = FieldState(
                value=spec.get(name),
                ours=ours,
                we_wrote=ours or wrote_object or name in self._written.get(uid, ()),
                changed_at=max(others, default=None),
            )
        return states

    def _forget_scheduled(self, key: str) -> None:
        namespace, name = key.split(":", 1)[1].split("/", 1)
        for field in ("minReplicas", "maxReplicas", "replicas"):
            with contextlib.suppress(KeyError):  # a field the schedule never set
                metrics.SCHEDULED.remove(namespace, name, field)

    # -- reporting --------------------------------------------------------------------------

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

    def _report_parse(self, tracked: Tracked, obj: Object, previous: Tracked | None) -> None:
        kind, schedule = tracked.resource.kind, tracked.schedule
        if isinstance(schedule, Rejected):
            metrics.REJECTED_ANNOTATIONS.labels(schedule.reason).inc()
            self._note(
                kind, obj, schedule.message, ("Warning", "InvalidSchedule"),
                reason=schedule.reason, action="rejected", level=logging.ERROR,
            )  # fmt: skip
            return
        for warning in schedule.warnings:
            self._note(
                kind, obj, warning, ("Warning", "ScheduleWarning"),
                reason="UnknownKey", action="warned", level=logging.WARNING,
            )  # fmt: skip
        if tracked.inputs[2] and (previous is None or not previous.inputs[2]):
            message = f"{SUSPEND_ANNOTATION} is true: not applying the schedule"
            self._note(kind, obj, message, None, reason="suspended", action="paused")

    def _report_overrides(self, resource: Resource, old: Object, new: Object) -> None:
        """Between fires someone else changed a field we set: it stands until the next fire."""
        for name in FIELDS[resource.kind]:
            before, after = (old.get("spec") or {}).get(name), (new.get("spec") or {}).get(name)
            if before == after:
                continue
            was_ours = any(
                o.manager == FIELD_MANAGER for o in ownership.owners(old, ("spec", name))
            )
            now_owners = [o.manager for o in ownership.owners(new, ("spec", name))]
            if was_ours and FIELD_MANAGER not in now_owners:
                by = ", ".join(now_owners) or "another manager"
                message = (
                    f"{name} changed {before} -> {after} by {by}; it stands until the next fire"
                )
                self._note(
                    resource.kind, new, message, ("Normal", "OverrideObserved"),
                    field=name, old=before, new=after, reason="override", action="observed",
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
