"""What the schedule loop says, in words (pure): the text of its log lines and Events."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scalers.outcome import Change as FieldChange
from scalers.schedule.annotation import SUSPEND_ANNOTATION, Schedule
from scalers.schedule.decide import Change, Scheduled

SUSPENDED = f"{SUSPEND_ANNOTATION} is true: not applying the schedule"
CLAIMED = (
    "this HPA is a target of the proportional loop, which owns its minReplicas: "
    "the schedule is not applied (one owner per field)"
)


def held(why: str) -> str:
    return f"held until its calendars can be read, nothing written: {why}"


# The Event (type, reason) that goes with what became of a write.
EVENTS = {
    "write": ("Normal", "ScheduledScale"),
    "refused": ("Warning", "ScheduleRefused"),
    "failed": ("Warning", "ScheduleWriteFailed"),
}


def decided(action: str, change: FieldChange, detail: str) -> str:
    """One change's log line."""
    return f"{action} {change}" + (f": {detail}" if detail else "")


def event_text(
    schedule: Schedule, action: str, reason: str, changes: Iterable[Change], detail: str
) -> str:
    """The Event of one object's changes, saying which actions of the schedule they come from."""
    changes = tuple(changes)
    summary = ", ".join(str(c) for c in changes)
    if action != "write":
        return f"{summary} not written: {detail}"
    sources = (
        f"action {c.scheduled.action + 1} of {local(schedule, c.scheduled)}" for c in changes
    )
    return f"{summary} ({reason}, {', '.join(dict.fromkeys(sources))})"


def override_observed(name: str, before: Any, after: Any, by: str) -> str:
    return f"{name} changed {before} -> {after} by {by}; it stands until the next fire"


def override_kept(schedule: Schedule, kept: Scheduled, value: Any) -> str:
    return (
        f"{kept.field} {value} was changed by another manager after the fire of "
        f"{local(schedule, kept)}; keeping it until the next fire (scheduled {kept.value})"
    )


def local(schedule: Schedule, scheduled: Scheduled) -> str:
    """A fire instant in its action's own zone, as the user wrote the schedule."""
    zone = schedule.rules[scheduled.action].zone
    return f"{scheduled.fired_at.astimezone(zone):%a %Y-%m-%d %H:%M} {zone.key}"
