"""What the schedule loop concludes from an object as the watch delivers it, besides its fires
(pure): the inputs its schedule depends on, whether the schedule applies, what a change of those
inputs is worth saying, who changed each scheduled field, and what the cache keeps of it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from scalers import ownership
from scalers.outcome import Notice
from scalers.resources import Resource
from scalers.schedule import messages
from scalers.schedule.annotation import (
    FIELDS,
    SCHEDULE_ANNOTATION,
    SUSPEND_ANNOTATION,
    TIMEZONE_ANNOTATION,
    Held,
    Rejected,
    Schedule,
    parse_schedule,
    resolve,
    warning_reason,
)
from scalers.schedule.calendar import NO_CALENDARS, PUBLIC, Calendars
from scalers.schedule.decide import (
    FieldState,
    Plan,
    Scheduled,
    fired_between,
    plan_catch_up,
    plan_fire,
    scheduled_at,
)

Object = dict[str, Any]
OURS = (SCHEDULE_ANNOTATION, TIMEZONE_ANNOTATION, SUSPEND_ANNOTATION)

# What keeps a parsed schedule from being applied, if anything.
ACTIVE, REJECTED, SUSPENDED, CLAIMED, HELD = "active", "rejected", "suspended", "claimed", "held"


class Inputs(NamedTuple):
    """Everything of an object that its schedule depends on."""

    annotation: str
    zone: str | None
    suspended: bool


def inputs_of(obj: Object | None) -> Inputs | None:
    """None when the object (or its schedule annotation) is not there: nothing to apply."""
    annotations = annotations_of(obj) if obj else {}
    text = annotations.get(SCHEDULE_ANNOTATION)
    if text is None:
        return None
    suspended = annotations.get(SUSPEND_ANNOTATION, "").strip().lower() == "true"
    return Inputs(text, annotations.get(TIMEZONE_ANNOTATION), suspended)


def standing(schedule: Schedule | Rejected | Held, inputs: Inputs, claimed: bool) -> str:
    """Whether the loop applies a schedule: valid, not suspended, on a field no other loop owns
    (an HPA the proportional loop sizes is `claimed`: one owner per field), and with every
    calendar it names at hand."""
    if isinstance(schedule, Rejected):
        return REJECTED
    if inputs.suspended:
        return SUSPENDED
    if claimed:
        return CLAIMED
    return HELD if isinstance(schedule, Held) else ACTIVE


def team_calendars(schedule: Schedule | Rejected) -> frozenset[str]:
    """The team calendars a parsed schedule names: a change of these re-evaluates it."""
    if isinstance(schedule, Rejected):
        return frozenset()
    names = (n for rule in schedule.rules for n in rule.calendars)
    return frozenset(n for n in names if not n.startswith(PUBLIC))


def notices(tracked: Tracked, previous: Tracked | None) -> list[Notice]:
    """What a change of an object's inputs (from `previous`, None for a new object) says."""
    schedule, state = tracked.schedule, tracked.state
    if isinstance(schedule, Rejected):
        event = ("Warning", "InvalidSchedule")
        return [Notice(schedule.reason, "rejected", schedule.message, event, "ERROR")]
    parsed = tracked.parsed
    new_schedule = previous is None or previous.parsed != parsed
    said = []
    if new_schedule and isinstance(parsed, Schedule):
        said += [
            Notice(warning_reason(w), "warned", w, ("Warning", "ScheduleWarning"), "WARNING")
            for w in parsed.warnings
        ]
    if state == SUSPENDED and (previous is None or not previous.inputs.suspended):
        said.append(Notice("suspended", "paused", messages.SUSPENDED, None))
    elif state == CLAIMED and (previous is None or previous.state != CLAIMED or new_schedule):
        event = ("Warning", "ScheduleIgnored")
        said.append(Notice("proportional-target", "ignored", messages.CLAIMED, event, "WARNING"))
    elif isinstance(schedule, Held) and (previous is None or previous.schedule != schedule):
        said.append(Notice("calendar", "held", messages.held(schedule.message), None))
    return said


def retrack(
    previous: Tracked | None,
    resource: Resource,
    ref: Ref,
    inputs: Inputs,
    claimed: bool,
    default_zone: ZoneInfo,
    now: datetime,
    calendars: Calendars = NO_CALENDARS,
) -> Tracked | None:
    """The object as the loop knows it after its inputs changed; None when they did not."""
    if previous is not None and previous.inputs == inputs:
        return None
    if previous is not None and previous.inputs[:2] == inputs[:2]:
        parsed = previous.parsed  # only `suspend` changed: the annotation is as parsed
    else:
        kind: Any = resource.kind
        parsed = parse_schedule(inputs.annotation, kind, inputs.zone, default_zone)
    return _tracked(previous, resource, ref, inputs, parsed, claimed, calendars, now)


def recalendar(
    previous: Tracked, claimed: bool, calendars: Calendars, now: datetime
) -> Tracked | None:
    """The object after its calendars changed; None when none it names did."""
    names = team_calendars(previous.parsed)
    if not names or all(previous.calendars.get(n) == calendars.state(n) for n in names):
        return None
    return _tracked(
        previous, previous.resource, previous.ref, previous.inputs, previous.parsed, claimed,
        calendars, now,
    )  # fmt: skip


def _tracked(
    previous: Tracked | None,
    resource: Resource,
    ref: Ref,
    inputs: Inputs,
    parsed: Schedule | Rejected,
    claimed: bool,
    calendars: Calendars,
    now: datetime,
) -> Tracked:
    schedule = resolve(parsed, calendars)
    return Tracked(
        resource, ref, inputs, schedule, standing(schedule, inputs, claimed), now,
        (previous.generation + 1) if previous else 0, previous.seen if previous else {}, parsed,
        {n: calendars.state(n) for n in team_calendars(parsed)},
    )  # fmt: skip


@dataclass(frozen=True)
class Seen:
    """Who last changed one scheduled field, as the watch saw the change happen."""

    by_us: bool
    at: datetime | None  # the other manager's write, when it was not ours
    we_wrote: bool  # this loop had written the field by then


class Ref(NamedTuple):
    """One object of the loop, like client-go's cache.ObjectName, with its kind."""

    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, kind: str, key: str) -> Ref:
        """From an informer's key, "namespace/name"."""
        namespace, name = key.split("/", 1)
        return cls(kind, namespace, name)

    @property
    def key(self) -> str:
        """The informer's key."""
        return f"{self.namespace}/{self.name}"

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


@dataclass
class Tracked:
    """An annotated object as the loop knows it."""

    resource: Resource
    ref: Ref
    inputs: Inputs
    schedule: Schedule | Rejected | Held  # as applied, its calendars read
    state: str  # ACTIVE when the loop applies the schedule
    evaluated_at: datetime
    generation: int = 0
    seen: dict[str, Seen] = field(default_factory=dict)
    as_parsed: Schedule | Rejected | None = None  # the annotation as parsed, if not `schedule`
    calendars: dict[str, object] = field(default_factory=dict)  # each team calendar, as read

    @property
    def parsed(self) -> Schedule | Rejected:
        if self.as_parsed is not None:
            return self.as_parsed
        assert not isinstance(self.schedule, Held)
        return self.schedule


def observe(
    kind: str,
    old: Object,
    new: Object,
    seen: Mapping[str, Seen],
    manager: str,
    now: datetime,
) -> tuple[dict[str, Seen], list[Notice]]:
    """From one update of an object: the scheduled fields that changed, with who changed them
    (so that a catch-up judges overrides per field rather than by when a manager last wrote
    *anything*), and the overrides of our own writes among them."""
    changed, overrides = {}, []
    for name in FIELDS[kind]:
        before, after = (old.get("spec") or {}).get(name), (new.get("spec") or {}).get(name)
        if before == after:
            continue
        path = ("spec", name)
        was_ours = any(o.manager == manager for o in ownership.owners(old, path))
        owners = ownership.owners(new, path)
        by_us = any(o.manager == manager for o in owners)
        others = [o.time for o in owners if o.manager != manager and o.time]
        previous = seen.get(name)
        changed[name] = Seen(
            by_us=by_us,
            at=None if by_us else max(others, default=now),
            we_wrote=by_us or was_ours or (previous is not None and previous.we_wrote),
        )
        if was_ours and not by_us:
            by = ", ".join(o.manager for o in owners) or "another manager"
            message = messages.override_observed(name, before, after, by)
            event = ("Normal", "OverrideObserved")
            overrides.append(
                Notice("override", "observed", message, event, "INFO", name, before, after)
            )
    return changed, overrides


def field_states(
    kind: str, obj: Object, seen: Mapping[str, Seen], written: set[str], manager: str
) -> dict[str, FieldState]:
    """Who set each scheduled field: what the watch saw happen where it saw it, else
    managedFields (a cold start of every replica has nothing else). `written`: the fields this
    process has written to the object."""
    spec = obj.get("spec") or {}
    wrote_object = manager in ownership.managers(obj)
    states = {}
    for name in FIELDS[kind]:
        owners = ownership.owners(obj, ("spec", name))
        ours = any(o.manager == manager for o in owners)
        noted = seen.get(name)
        if noted is not None:
            we_wrote, changed_at = ours or noted.we_wrote or name in written, noted.at
        else:
            others = [o.time for o in owners if o.manager != manager and o.time]
            we_wrote = ours or wrote_object or name in written
            changed_at = max(others, default=None)
        states[name] = FieldState(spec.get(name), ours, we_wrote, changed_at)
    return states


def plan(
    reason: str,
    schedule: Schedule,
    since: datetime,
    now: datetime,
    states: Mapping[str, FieldState],
) -> tuple[dict[str, Scheduled], Plan]:
    """What is scheduled and what to write: for a "fire", the fires in (since, now], which win
    over whatever is there; for a "catch-up", what is scheduled now, overrides respected."""
    if reason == "fire":
        due = fired_between(schedule.rules, since, now)
        return due, plan_fire(due, states)
    scheduled = scheduled_at(schedule.rules, now)
    return scheduled, plan_catch_up(scheduled, states)


def kept(schedule: Schedule, plan: Plan, obj: Object) -> list[Notice]:
    """The overrides a catch-up leaves standing, as said on the object."""
    said = []
    for scheduled in plan.overrides:
        value = (obj.get("spec") or {}).get(scheduled.field)
        message = messages.override_kept(schedule, scheduled, value)
        event = ("Normal", "OverrideKept")
        said.append(
            Notice(
                "catch-up", "kept-override", message, event, "INFO", scheduled.field, value, value
            )
        )
    return said


def essentials(resource: Resource) -> Callable[[Object], Object]:
    """What the loop reads of an object, cut out before it is cached: the loop watches every
    HPA and Deployment of the cluster, and a Deployment with its pod template, kubectl's
    last-applied-configuration and managedFields for the whole spec is several KB."""
    fields = FIELDS[resource.kind]
    paths = [("spec", name) for name in fields]

    def cut(obj: Object) -> Object:
        meta, spec, annotations = obj["metadata"], obj.get("spec") or {}, annotations_of(obj)
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


def annotations_of(obj: Object) -> dict[str, str]:
    return obj.get("metadata", {}).get("annotations") or {}
