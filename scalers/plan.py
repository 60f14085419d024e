"""`scalers plan` as data: what each annotated object is scheduled to at an instant and its next
fires, and the replica count the proportional parameters give. Pure: the manifests (from files or
the cluster, read by plan_live.py), the instant and the cluster's counts come in as arguments."""

from __future__ import annotations

import itertools
import json
import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from scalers.manifests import (
    HELD,
    Manifest,
    Problem,
    is_scheduled,
    params_of,
    schedule_of,
    schedule_problems,
)
from scalers.proportional.params import LADDER, LINEAR, ClusterStatus, Linear, ParamsError
from scalers.schedule.annotation import Held, Rejected, Rule, resolve
from scalers.schedule.calendar import NO_CALENDARS, Calendars
from scalers.schedule.decide import fires_of, scheduled_at

NEXT_FIRES = 3


@dataclass(frozen=True)
class Fire:
    at: datetime  # in the action's zone
    action: int  # 1-based, as messages about the annotation count them
    values: tuple[tuple[str, int], ...]
    days: str = ""  # the action's calendars: "skips holidays:JP; only campaign"

    @classmethod
    def of(cls, rule: Rule, at: datetime) -> Fire:
        days = [f"skips {', '.join(rule.skip)}"] if rule.skip else []
        days += [f"only {', '.join(rule.only)}"] if rule.only else []
        return cls(at.astimezone(rule.zone), rule.index + 1, rule.values, "; ".join(days))


@dataclass(frozen=True)
class ObjectPlan:
    source: str
    kind: str
    namespace: str
    name: str
    zones: tuple[str, ...] = ()
    scheduled: Mapping[str, int] | None = None
    next: tuple[Fire, ...] = ()
    error: str | None = None  # the annotation is rejected: nothing is scheduled
    # Every problem, one each, as `scalers validate` says them: what rejects the annotation,
    # what the controller would refuse to write, warnings.
    problems: tuple[Problem, ...] = ()

    @property
    def subject(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"

    @property
    def failed(self) -> bool:
        """Rejected, or with an action that the controller would refuse to write."""
        return any(not p.warning for p in self.problems)

    def to_json(self) -> dict[str, Any]:
        head: dict[str, Any] = {"kind": self.kind, "namespace": self.namespace, "name": self.name}
        if self.problems:
            head["problems"] = [
                {"reason": p.reason, "message": p.message, "warning": p.warning}
                for p in self.problems
            ]
        if self.error is not None:
            return {**head, "error": self.error}
        return {
            **head,
            "zone": ", ".join(self.zones),
            "scheduled": dict(self.scheduled or {}),
            "next": [
                {"at": fire.at.isoformat(), "action": fire.action, "field": name, "value": value}
                | ({"calendars": fire.days} if fire.days else {})
                for fire in self.next
                for name, value in fire.values
            ],
        }


@dataclass(frozen=True)
class ProportionalPlan:
    source: str  # "NAMESPACE/NAME in FILE", or "--params"
    mode: str | None = None
    counted: tuple[int, int] | None = None  # the (nodes, cores) the mode scales on
    replicas: int | None = None  # None without a cluster's counts
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        if self.error is not None:
            return {"source": self.source, "error": self.error}
        nodes, cores = self.counted or (None, None)
        return {
            "source": self.source,
            "mode": self.mode,
            "nodes": nodes,
            "cores": cores,
            "replicas": self.replicas,
        }


@dataclass(frozen=True)
class Forecast:
    """What `scalers plan` shows: each annotated object's schedule at `at` and its next fires,
    and the replicas the parameters give."""

    at: datetime
    schedules: tuple[ObjectPlan, ...]
    proportional: ProportionalPlan | None

    @property
    def failed(self) -> bool:
        """Something shown is rejected or refused: `scalers plan` exits 1."""
        proportional = self.proportional is not None and self.proportional.error is not None
        return proportional or any(s.failed for s in self.schedules)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "at": self.at.astimezone(UTC).isoformat(),
            "schedules": [s.to_json() for s in self.schedules],
            "proportional": self.proportional and self.proportional.to_json(),
        }
        if self.proportional is not None and self.proportional.error is None:
            document["replicas"] = self.proportional.replicas
        return document


def next_fires(rules: Iterable[Rule], after: datetime, count: int = NEXT_FIRES) -> list[Fire]:
    """The first `count` fires after `after` across the rules, in order, the days their
    calendars skip left out; rules firing at the same instant are listed in the annotation's
    order (the later one wins, as in the loop)."""
    heads = {rule: fires_of(rule).next_after(after) for rule in rules}
    fires: list[Fire] = []
    while len(fires) < count:
        coming = [at for at in heads.values() if at is not None]
        if not coming:
            break
        when = min(coming)
        for rule, head in heads.items():
            if head == when and len(fires) < count:
                fires.append(Fire.of(rule, when))
                heads[rule] = fires_of(rule).next_after(when)
    return fires


def schedule_plan(
    manifest: Manifest, at: datetime, default_zone: ZoneInfo, calendars: Calendars = NO_CALENDARS
) -> ObjectPlan:
    parsed = schedule_of(manifest, default_zone)
    schedule = resolve(parsed, calendars)
    head = ObjectPlan(
        manifest.source, manifest.kind, manifest.namespace, manifest.name,
        problems=tuple(schedule_problems(manifest, parsed, schedule)),
    )  # fmt: skip
    if isinstance(schedule, Rejected):
        return replace(head, error=f"{schedule.reason}: {schedule.message}")
    if isinstance(schedule, Held):
        return replace(head, error=f"{HELD}: {schedule.message}")
    zones = tuple(dict.fromkeys(str(rule.zone) for rule in schedule.rules))
    now = {name: s.value for name, s in scheduled_at(schedule.rules, at).items()}
    return replace(head, zones=zones, scheduled=now, next=tuple(next_fires(schedule.rules, at)))


def proportional_plan(
    source: str, data: Mapping[str, Any], status: ClusterStatus | None
) -> ProportionalPlan:
    try:
        params = params_of(data)
    except ParamsError as error:
        return ProportionalPlan(source, error=f"{error.reason}: {error}")
    mode = LINEAR if isinstance(params, Linear) else LADDER
    if status is None:
        return ProportionalPlan(source, mode)
    counted = status.counted(params.include_unschedulable_nodes)
    return ProportionalPlan(source, mode, counted, params.replicas(status))


def make_plan(
    at: datetime,
    manifests: Iterable[Manifest],
    default_zone: ZoneInfo,
    proportional: ProportionalPlan | None,
    calendars: Calendars = NO_CALENDARS,
) -> Forecast:
    schedules = tuple(
        schedule_plan(m, at, default_zone, calendars) for m in manifests if is_scheduled(m)
    )
    return Forecast(at, schedules, proportional)


def render_json(forecast: Forecast) -> str:
    return json.dumps(forecast.to_json(), indent=2)


def render_table(forecast: Forecast) -> str:
    """The forecast for a terminal: no line wider than WIDTH, long values wrapped within their
    column, and every problem in full below the table."""
    lines = [f"at {forecast.at.astimezone(UTC):%a %Y-%m-%d %H:%M:%S} UTC"]
    if forecast.schedules:
        blocks: list[_Block] = [
            (
                ("OBJECT", "ZONE", "SCHEDULED NOW"),
                [("NEXT FIRES (action's zone)", "ACTION", "SETS")],
            )
        ]
        for s in forecast.schedules:
            if s.error is not None:
                reason = s.error.split(":", 1)[0]
                said = "held" if reason == HELD else f"rejected: {reason}"
                blocks.append(((s.subject, "-", f"{said} (below)"), [("-", "", "")]))
                continue
            fires: list[tuple[str, ...]] = [
                (
                    f"{f.at:%a %Y-%m-%d %H:%M %Z}",
                    f"{f.action} ({f.days})" if f.days else str(f.action),
                    _values(f.values),
                )
                for f in s.next
            ]
            now = _values((s.scheduled or {}).items())
            blocks.append(((s.subject, ", ".join(s.zones) or "-", now), fires or [("-", "", "")]))
        lines += ["", *_table(blocks, shrink=(5, 2, 0))]
    problems = [(s.subject, problem) for s in forecast.schedules for problem in s.problems]
    if problems:
        lines += ["", "PROBLEMS"]
        for subject, problem in problems:
            said = (
                f"{'warning: ' if problem.warning else ''}{subject}: {problem.reason}: "
                f"{problem.message}"
            )
            lines += textwrap.wrap(said, WIDTH, subsequent_indent="    ", break_on_hyphens=False)
    if forecast.proportional is not None:
        p = forecast.proportional
        block = [("PARAMETERS", p.source)]
        if p.error is not None:
            block.append(("ERROR", p.error))
        else:
            block.append(("MODE", str(p.mode)))
            if p.counted is None:
                block.append(("REPLICAS", "- (give --nodes and --cores)"))
            else:
                block += [("NODES", str(p.counted[0])), ("CORES", str(p.counted[1]))]
                block.append(("REPLICAS", str(p.replicas)))
        lines += ["", *_table([(row, []) for row in block], shrink=(1,))]
    if not forecast.schedules and forecast.proportional is None:
        lines += ["", "no annotated objects and no proportional parameters"]
    return "\n".join(lines)


WIDTH = 120  # of a table's lines
GAP = "  "
NARROWEST = 8  # a column is never made narrower, whatever the width

# One object of a table: its own cells, then a row of further cells for each of its fires.
_Block = tuple[tuple[str, ...], list[tuple[str, ...]]]


def _values(values: Iterable[tuple[str, int]]) -> str:
    return " ".join(f"{name}={value}" for name, value in values) or "-"


def _table(blocks: Sequence[_Block], shrink: Sequence[int]) -> list[str]:
    """Blocks aligned in columns within WIDTH. A cell wider than its column wraps within it:
    the columns in `shrink` give way first, down to their longest word, then the widest ones."""
    rows = [(*head, *sub) for head, subs in blocks for sub in subs or [()]]
    count = max(len(row) for row in rows)
    cells = [[row[i] for row in rows if i < len(row)] for i in range(count)]
    widths = [max(len(cell) for cell in column) for column in cells]
    room = WIDTH - len(GAP) * (count - 1)
    words = [_longest(column, r"\S+") for column in cells]
    for i in shrink:
        widths[i] -= max(0, min(sum(widths) - room, widths[i] - words[i]))
    # Then the widest, first down to their longest word (a name stays whole); where that is not
    # enough, down to the longest part between '/' (namespace/, name); at last further.
    pieces = [_longest(column, r"[^\s/]*/?") for column in cells]
    for floors in (words, pieces, [0] * count):
        while sum(widths) > room:
            over = [width - max(NARROWEST, f) for width, f in zip(widths, floors, strict=True)]
            widest = max(range(count), key=lambda i: (over[i] > 0, widths[i]))
            if over[widest] <= 0:
                break
            widths[widest] -= min(sum(widths) - room, over[widest])
    lines: list[str] = []
    for head, subs in blocks:
        columns = [_wrapped(cell, widths[i]) for i, cell in enumerate(head)]
        under: list[list[str]] = [[] for _ in range(count - len(head))]
        for sub in subs:  # each fire's cells stay side by side
            wrapped = [_wrapped(cell, widths[len(head) + i]) for i, cell in enumerate(sub)]
            height = max(len(w) for w in wrapped)
            for column, w in zip(under, wrapped, strict=True):
                column += w + [""] * (height - len(w))
        columns += under
        for parts in itertools.zip_longest(*columns, fillvalue=""):
            lines.append(GAP.join(p.ljust(w) for p, w in zip(parts, widths, strict=True)).rstrip())
    return lines


def _longest(cells: Iterable[str], piece: str) -> int:
    return max((len(m) for cell in cells for m in re.findall(piece, cell)), default=0)


def _wrapped(cell: str, width: int) -> list[str]:
    """The cell in lines of at most `width`, broken between words; a word longer than that
    breaks after a '/' where it has one (namespace/name), else where it must."""
    lines = []
    for line in textwrap.wrap(cell, width, break_on_hyphens=False, break_long_words=False):
        while len(line) > width:
            cut = line.rfind("/", 0, width) + 1 or width
            lines.append(line[:cut])
            line = line[cut:]
        lines.append(line)
    return lines or [""]
