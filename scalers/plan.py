"""`scalers plan` as data: what each annotated object is scheduled to at an instant and its next
fires, and the replica count the proportional parameters give. Pure: the manifests (from files or
the cluster, read by plan_live.py), the instant and the cluster's counts come in as arguments."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from scalers.manifests import Manifest, is_scheduled, params_of, schedule_of
from scalers.proportional.params import LADDER, LINEAR, ClusterStatus, Linear, ParamsError
from scalers.schedule.annotation import Rejected, Rule
from scalers.schedule.cron import next_fire
from scalers.schedule.decide import scheduled_at

NEXT_FIRES = 3


@dataclass(frozen=True)
class Fire:
    at: datetime  # in the action's zone
    action: int  # 1-based, as messages about the annotation count them
    values: tuple[tuple[str, int], ...]


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

    def to_json(self) -> dict[str, Any]:
        head = {"kind": self.kind, "namespace": self.namespace, "name": self.name}
        if self.error is not None:
            return {**head, "error": self.error}
        return {
            **head,
            "zone": ", ".join(self.zones),
            "scheduled": dict(self.scheduled or {}),
            "next": [
                {"at": fire.at.isoformat(), "action": fire.action, "field": name, "value": value}
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
    """The first `count` fires after `after` across the rules, in order; rules firing at the same
    instant are listed in the annotation's order (the later one wins, as in the loop)."""
    rules = list(rules)
    heads = {rule.index: next_fire(rule.schedule, rule.zone, after) for rule in rules}
    fires: list[Fire] = []
    while rules and len(fires) < count:
        when = min(heads.values())
        for rule in rules:
            if heads[rule.index] == when and len(fires) < count:
                fires.append(Fire(when.astimezone(rule.zone), rule.index + 1, rule.values))
                heads[rule.index] = next_fire(rule.schedule, rule.zone, when)
    return fires


def schedule_plan(manifest: Manifest, at: datetime, default_zone: ZoneInfo) -> ObjectPlan:
    head = ObjectPlan(manifest.source, manifest.kind, manifest.namespace, manifest.name)
    schedule = schedule_of(manifest, default_zone)
    if isinstance(schedule, Rejected):
        return replace(head, error=f"{schedule.reason}: {schedule.message}")
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
) -> Forecast:
    schedules = tuple(schedule_plan(m, at, default_zone) for m in manifests if is_scheduled(m))
    return Forecast(at, schedules, proportional)


def render_json(forecast: Forecast) -> str:
    return json.dumps(forecast.to_json(), indent=2)


def render_table(forecast: Forecast) -> str:
    lines = [f"at {forecast.at.astimezone(UTC):%a %Y-%m-%d %H:%M:%S} UTC"]
    if forecast.schedules:
        rows = [("OBJECT", "ZONE", "SCHEDULED NOW", "NEXT FIRES (action's zone)", "ACTION", "SETS")]
        for s in forecast.schedules:
            subject = f"{s.kind} {s.namespace}/{s.name}"
            if s.error is not None:
                rows.append((subject, "-", f"rejected: {s.error}", "", "", ""))
                continue
            first = (subject, ", ".join(s.zones), _values((s.scheduled or {}).items()))
            fires = [
                (f"{f.at:%a %Y-%m-%d %H:%M %Z}", str(f.action), _values(f.values)) for f in s.next
            ]
            rows.append((*first, *(fires[0] if fires else ("-", "", ""))))
            rows.extend(("", "", "", *fire) for fire in fires[1:])
        lines += ["", *_aligned(rows)]
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
        lines += ["", *_aligned(block)]
    if not forecast.schedules and forecast.proportional is None:
        lines += ["", "no annotated objects and no proportional parameters"]
    return "\n".join(lines)


def _values(values: Iterable[tuple[str, int]]) -> str:
    return " ".join(f"{name}={value}" for name, value in values) or "-"


def _aligned(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
