"""`scalers status` as data: for each annotated object of the live cluster, each scheduled field's
live value, its scheduled value now, who owns it, its next fire and the calendars of the actions
that set it. Pure: the objects (managedFields included) and the calendars' ConfigMap come in as
arguments, read by plan_live.py, with the instant.

Who owns a field is judged as a catch-up at a cold start judges it (`track.field_states` with
nothing seen, then `decide.is_override`): what the status says is what the loop would do."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from scalers import ownership
from scalers.manifests import Manifest, Problem, is_scheduled, schedule_of
from scalers.plan import WIDTH, _Block, _table
from scalers.schedule import track
from scalers.schedule.annotation import (
    FIELDS,
    Held,
    Rejected,
    Rule,
    Schedule,
    resolve,
    warning_reason,
)
from scalers.schedule.calendar import Calendars, parse_calendars
from scalers.schedule.decide import FieldState, Scheduled, is_override, next_scheduled, scheduled_at

# Who owns a field, as a catch-up judges it.
OURS = "this-controller"  # our field manager owns it
OVERRIDE = "override"  # we wrote it; another manager changed it after its last fire: it stands
OTHER = "other"  # we wrote it; another manager changed it before its last fire: not an override
NOT_WRITTEN = "not-written"  # we never wrote to the object (managedFields): a catch-up writes it


@dataclass(frozen=True)
class Owner:
    judged: str  # one of the four above
    managers: tuple[str, ...] = ()  # the managers other than ours that own the field now
    since: datetime | None = None  # when the latest of them wrote

    def said(self) -> str:
        by = ", ".join(self.managers) or "another manager"
        since = "" if self.since is None else f" since {_instant(self.since)}"
        if self.judged == OURS:
            return "this controller"
        if self.judged == OVERRIDE:
            return f"override by {by}{since}"
        if self.judged == NOT_WRITTEN:
            return "not yet written" + (f" (set by {by})" if self.managers else "")
        return f"{by}{since} (not an override)"

    def to_json(self) -> dict[str, Any]:
        since = None if self.since is None else self.since.astimezone(UTC).isoformat()
        return {"by": self.judged, "managers": list(self.managers), "since": since}


def judge(
    state: FieldState, now: Scheduled | None, owners: Iterable[ownership.Owner], manager: str
) -> Owner:
    """Who owns one field, from its state as `track.field_states` reads it; `manager` is ours."""
    if state.ours:
        return Owner(OURS)
    others = tuple(dict.fromkeys(o.manager for o in owners if o.manager != manager))
    if not state.we_wrote:
        judged = NOT_WRITTEN
    elif now is not None and is_override(state, now):
        judged = OVERRIDE
    else:
        judged = OTHER
    return Owner(judged, others, state.changed_at)


@dataclass(frozen=True)
class FieldStatus:
    field: str
    live: int | None
    owner: Owner
    now: Scheduled | None  # None: held, or no fire of its actions yet
    next: Scheduled | None
    rules: tuple[Rule, ...]  # the actions that set it, for their zones and calendars

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "live": self.live,
            "scheduled": self._scheduled(self.now, "firedAt"),
            "owner": self.owner.to_json(),
            "next": self._scheduled(self.next, "at"),
            "calendars": [
                {"action": r.index + 1, "skipDays": list(r.skip), "onlyDays": list(r.only)}
                for r in self.rules
                if r.calendars
            ],
        }

    def _scheduled(self, scheduled: Scheduled | None, at: str) -> dict[str, Any] | None:
        if scheduled is None:
            return None
        return {
            "value": scheduled.value,
            at: self.local(scheduled).isoformat(),
            "action": scheduled.action + 1,
        }

    def local(self, scheduled: Scheduled) -> datetime:
        """The fire's instant in its action's zone."""
        zone = next((r.zone for r in self.rules if r.index == scheduled.action), UTC)
        return scheduled.fired_at.astimezone(zone)


@dataclass(frozen=True)
class ObjectStatus:
    kind: str
    namespace: str
    name: str
    state: str  # track.ACTIVE, REJECTED, HELD or SUSPENDED
    fields: tuple[FieldStatus, ...] = ()
    why: str | None = None  # the rejection or what the object is held for, in one line
    problems: tuple[Problem, ...] = ()  # every issue of a rejection, and the warnings

    @property
    def subject(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"

    @property
    def failed(self) -> bool:
        return self.state in (track.REJECTED, track.HELD)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "state": self.state,
        }
        if self.why is not None:
            document[self.state] = self.why
        if self.problems:
            document["problems"] = [
                {"reason": p.reason, "message": p.message, "warning": p.warning}
                for p in self.problems
            ]
        return {**document, "fields": [f.to_json() for f in self.fields]}


@dataclass(frozen=True)
class CalendarsStatus:
    """The team calendars' ConfigMap as read: what the objects' team calendars come from."""

    source: str
    found: bool
    names: tuple[str, ...] = ()
    problem: str | None = None  # unreadable, or bad as a whole or in some calendar

    def said(self) -> str:
        if self.problem is not None:
            return self.problem
        if not self.found:
            return "does not exist"
        return ", ".join(self.names) or "no calendars"

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "found": self.found,
            "names": list(self.names),
            "problem": self.problem,
        }


@dataclass(frozen=True)
class Status:
    at: datetime
    calendars: CalendarsStatus
    objects: tuple[ObjectStatus, ...]

    @property
    def failed(self) -> bool:
        """Some object is rejected or held: `scalers status` exits 1."""
        return any(o.failed for o in self.objects)

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.astimezone(UTC).isoformat(),
            "calendars": self.calendars.to_json(),
            "objects": [o.to_json() for o in self.objects],
        }


def calendars_read(
    source: str, configmap: Mapping[str, Any] | None, error: str | None
) -> tuple[Calendars, CalendarsStatus]:
    """The calendars as the loop would read them from the ConfigMap (None: it does not exist;
    `error`: it could not be read), and what to say of them."""
    if error is not None:
        unread = f"cannot be read: {error}"
        return Calendars(source, read=False, unread=unread), CalendarsStatus(
            source, False, (), unread
        )
    calendars = parse_calendars(source, configmap)
    names = tuple(sorted(calendars.calendars))
    return calendars, CalendarsStatus(source, calendars.found, names, calendars.said())


def object_status(
    manifest: Manifest, at: datetime, default_zone: ZoneInfo, calendars: Calendars, manager: str
) -> ObjectStatus:
    """One annotated object: its schedule parsed and its calendars read as the loop does it,
    and each field it schedules judged as a cold start's catch-up judges it."""
    obj, subject = dict(manifest.obj), manifest.describe()
    parsed = schedule_of(manifest, default_zone)
    schedule = resolve(parsed, calendars)
    inputs = track.inputs_of(obj)
    assert inputs is not None  # the object is annotated
    # `claimed` (an HPA the proportional loop sizes) depends on `scalers run --target`, which
    # the status does not know.
    state = track.standing(schedule, inputs, claimed=False)
    head = (manifest.kind, manifest.namespace, manifest.name, state)
    problems = tuple(
        Problem(manifest.source, warning_reason(w), w, subject, True) for w in parsed.warnings
    )
    if isinstance(parsed, Rejected):
        issues = tuple(
            Problem(manifest.source, i.reason, i.message, subject) for i in parsed.each()
        )
        return ObjectStatus(
            *head, why=f"{parsed.reason}: {parsed.message}", problems=issues + problems
        )
    if isinstance(schedule, Held):
        rules, why, now, upcoming = parsed.rules, schedule.message, {}, {}
    else:
        assert isinstance(schedule, Schedule)
        rules, why = schedule.rules, None
        now, upcoming = scheduled_at(rules, at), next_scheduled(rules, at)
    states = track.field_states(manifest.kind, obj, {}, set(), manager)
    fields = []
    for name in FIELDS[manifest.kind]:
        setting = tuple(r for r in rules if name in dict(r.values))
        if not setting:
            continue
        field, due = states[name], now.get(name)
        owner = judge(field, due, ownership.owners(obj, ("spec", name)), manager)
        fields.append(FieldStatus(name, field.value, owner, due, upcoming.get(name), setting))
    return ObjectStatus(*head, fields=tuple(fields), why=why, problems=problems)


def make_status(
    at: datetime,
    manifests: Iterable[Manifest],
    default_zone: ZoneInfo,
    source: str,
    configmap: Mapping[str, Any] | None,
    error: str | None,
    manager: str,
) -> Status:
    """The status at `at` of the annotated objects among `manifests`, their team calendars read
    from `configmap` named `source`, "namespace/name" (None: it does not exist; `error`: it could
    not be read). `manager` is the schedule loop's field manager."""
    calendars, said = calendars_read(source, configmap, error)
    scheduled = sorted(
        (m for m in manifests if is_scheduled(m)), key=lambda m: (m.namespace, m.name, m.kind)
    )
    return Status(
        at, said, tuple(object_status(m, at, default_zone, calendars, manager) for m in scheduled)
    )


def render_json(status: Status) -> str:
    return json.dumps(status.to_json(), indent=2)


_HEADINGS = ("FIELD", "LIVE", "NOW", "OWNER", "NEXT FIRE", "SETS", "CALENDARS")
_OWNER = _HEADINGS.index("OWNER") + 1  # in a table's row, after the object


def render_table(status: Status) -> str:
    """The status for a terminal, in plan's tables: WIDTH columns at most, long cells wrapped,
    every problem in full below."""
    lines = [
        f"at {status.at.astimezone(UTC):%a %Y-%m-%d %H:%M:%S} UTC",
        f"calendars {status.calendars.source}: {status.calendars.said()}",
    ]
    if not status.objects:
        return "\n".join([*lines, "", "no annotated objects"])
    blocks: list[_Block] = [(("OBJECT",), [_HEADINGS])]
    for o in status.objects:
        # kubectl's short names, for room: the owner's cell is often long.
        subject = f"{_SHORT.get(o.kind, o.kind)} {o.namespace}/{o.name}"
        if o.state == track.SUSPENDED:
            subject += " (suspended)"
        if o.state == track.REJECTED:
            reason = (o.why or "").split(":", 1)[0]
            rows = [_padded(f"rejected: {reason} (below)", _OWNER - 1)]
        else:
            rows = [_row(o, f) for f in o.fields] or [_padded("-", 0)]
        blocks.append(((subject,), rows))
    # The object and the calendars wrap first, between words: the owner's cell needs the room.
    lines += ["", *_table(blocks, shrink=(0, len(_HEADINGS)))]
    said = [(o.subject, f"held: {o.why}") for o in status.objects if o.state == track.HELD]
    said += [
        (o.subject, f"{'warning: ' if p.warning else ''}{p.reason}: {p.message}")
        for o in status.objects
        for p in o.problems
    ]
    if said:
        lines += ["", "PROBLEMS"]
        for subject, text in said:
            lines += textwrap.wrap(
                f"{subject}: {text}", WIDTH, subsequent_indent="    ", break_on_hyphens=False
            )
    return "\n".join(lines)


_SHORT = {"HorizontalPodAutoscaler": "hpa", "Deployment": "deployment"}


def _padded(cell: str, column: int) -> tuple[str, ...]:
    """A row of one cell, in the field's columns: a table's rows have every column."""
    return tuple(cell if i == column else "-" if i == 0 else "" for i in range(len(_HEADINGS)))


def _row(o: ObjectStatus, f: FieldStatus) -> tuple[str, ...]:
    live = "-" if f.live is None else str(f.live)
    if o.state == track.HELD:
        now, fire, sets = "held", "-", ""
    else:
        now = "-" if f.now is None else str(f.now.value)
        fire = "-" if f.next is None else f"{f.local(f.next):%a %Y-%m-%d %H:%M %Z}"
        sets = "" if f.next is None else str(f.next.value)
    return (f.field, live, now, f.owner.said(), fire, sets, _calendars(f.rules))


def _calendars(rules: Iterable[Rule]) -> str:
    """The calendars of the actions that set a field: once when they all name the same ones,
    else those of each action that names some."""
    said = {r.index + 1: _days(r) for r in rules}
    if len(set(said.values())) == 1:
        return next(iter(said.values())) or "-"
    return "; ".join(f"action {i}: {days}" for i, days in said.items() if days)


def _days(rule: Rule) -> str:
    parts = [f"skip {', '.join(rule.skip)}" if rule.skip else ""]
    parts.append(f"only {', '.join(rule.only)}" if rule.only else "")
    return "; ".join(filter(None, parts))


def _instant(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
