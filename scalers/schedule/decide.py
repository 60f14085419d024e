"""What the schedule loop should write: pure functions of the rules, the object's fields and now.

Per field, the *scheduled value* at t is the value of the most recent fire at or before t among
the rules that set that field; two fires at one instant go to the later action in the array."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from scalers.outcome import Change as FieldChange
from scalers.schedule.annotation import Rule
from scalers.schedule.calendar import Fires, fires


@dataclass(frozen=True)
class Scheduled:
    field: str
    value: int
    fired_at: datetime
    action: int  # index in the annotation's array


@dataclass(frozen=True)
class FieldState:
    """One field of the live object, and who last set it (from metadata.managedFields)."""

    value: int | None
    ours: bool = False  # our field manager owns it now
    we_wrote: bool = False  # we have written this field before (owned now or not)
    changed_at: datetime | None = None  # when the manager that owns it now last wrote


@dataclass(frozen=True)
class Change(FieldChange):
    reason: str  # "fire" or "catch-up"
    scheduled: Scheduled


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...] = ()
    overrides: tuple[Scheduled, ...] = ()  # deliberate overrides left standing
    refused: str | None = None  # why nothing may be written (min above max)
    unchanged: tuple[str, ...] = field(default=())  # fields already at their scheduled value

    @property
    def writes(self) -> dict[str, int]:
        return {} if self.refused else {c.field: c.new for c in self.changes}


def fires_of(rule: Rule) -> Fires:
    """The fires of an action: every fire of its cron, or those its calendars allow (a skipped
    fire does not happen: see scalers/schedule/calendar.py)."""
    if rule.fires is not None:
        return rule.fires
    if rule.calendars:
        raise ValueError(f"action {rule.index + 1} names calendars that were not read")
    return fires(rule.schedule, rule.zone, None)


def _per_field(
    rules: Iterable[Rule], when: Callable[[Fires], datetime | None], earliest: bool
) -> dict[str, Scheduled]:
    """Per field, the fire that `when` picks of each rule that sets it: the latest, or with
    `earliest` the earliest; of two at one instant, the later action in the array's."""
    best: dict[str, Scheduled] = {}
    for rule in rules:
        at = when(fires_of(rule))
        if at is None:
            continue
        for name, value in rule.values:
            current = best.get(name)
            if (
                current is None
                or (at < current.fired_at if earliest else at > current.fired_at)
                or (at == current.fired_at and rule.index > current.action)
            ):
                best[name] = Scheduled(name, value, at, rule.index)
    return best


def scheduled_at(rules: Iterable[Rule], at: datetime) -> dict[str, Scheduled]:
    return _per_field(rules, lambda fires: fires.last_at_or_before(at), earliest=False)


def fired_between(rules: Iterable[Rule], after: datetime, until: datetime) -> dict[str, Scheduled]:
    """Fields whose most recent fire falls in (after, until], with the value of that fire."""
    return {f: s for f, s in scheduled_at(rules, until).items() if s.fired_at > after}


def next_fire_of(rules: Iterable[Rule], after: datetime) -> datetime | None:
    found = (fires_of(r).next_after(after) for r in rules)
    return min((at for at in found if at is not None), default=None)


def next_scheduled(rules: Iterable[Rule], after: datetime) -> dict[str, Scheduled]:
    """Per field, its next fire after `after` and the value that fire sets."""
    return _per_field(rules, lambda fires: fires.next_after(after), earliest=True)


def is_override(state: FieldState, scheduled: Scheduled) -> bool:
    """A field we wrote, that another manager changed after its most recent fire.

    managedFields times have whole-second precision, hence the comparison on whole seconds."""
    return (
        state.we_wrote
        and not state.ours
        and state.changed_at is not None
        and state.changed_at >= scheduled.fired_at.replace(microsecond=0)
    )


def plan_fire(due: Mapping[str, Scheduled], current: Mapping[str, FieldState]) -> Plan:
    """At a fire the scheduled value wins over whatever is there."""
    return _plan(due, current, "fire", respect_overrides=False)


def plan_catch_up(scheduled: Mapping[str, Scheduled], current: Mapping[str, FieldState]) -> Plan:
    """At start-up, on leadership or on a new annotation: apply what is scheduled now, except
    where someone deliberately overrode our last write."""
    return _plan(scheduled, current, "catch-up", respect_overrides=True)


def _plan(
    scheduled: Mapping[str, Scheduled],
    current: Mapping[str, FieldState],
    reason: str,
    respect_overrides: bool,
) -> Plan:
    changes, overrides, unchanged = [], [], []
    for name, wanted in scheduled.items():
        state = current.get(name, FieldState(None))
        if state.value == wanted.value:
            unchanged.append(name)
        elif respect_overrides and is_override(state, wanted):
            overrides.append(wanted)
        else:
            changes.append(Change(name, state.value, wanted.value, reason, wanted))
    result = {name: state.value for name, state in current.items()}
    result.update({c.field: c.new for c in changes})
    low, high = result.get("minReplicas"), result.get("maxReplicas")
    refused = None
    if changes and low is not None and high is not None and low > high:
        refused = f"minReplicas {low} would be above maxReplicas {high}"
    return Plan(tuple(changes), tuple(overrides), refused, tuple(unchanged))
