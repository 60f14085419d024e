"""The `zalando.org/schedule-actions` annotation, parsed once at the edge into typed rules.

Errors are values (`Rejected`) carrying a message a user can act on; nothing here raises for
bad user input."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from scalers.schedule.cron import cron_problem

SCHEDULE_ANNOTATION = "zalando.org/schedule-actions"
TIMEZONE_ANNOTATION = "kube-scalers.io/timezone"
SUSPEND_ANNOTATION = "kube-scalers.io/suspend"

Kind = Literal["HorizontalPodAutoscaler", "Deployment"]
FIELDS: dict[str, tuple[str, ...]] = {
    "HorizontalPodAutoscaler": ("minReplicas", "maxReplicas"),
    "Deployment": ("replicas",),
}
# Smallest value each field accepts: an HPA's bounds are at least 1; a Deployment may go to zero.
FLOORS = {"minReplicas": 1, "maxReplicas": 1, "replicas": 0}


def _replica_count(value: Any) -> int:
    """An integer or a decimal string, as the kube-schedule-scaler forks accept."""
    if isinstance(value, bool):
        raise ValueError(f"must be an integer or a decimal string, not {json.dumps(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdecimal():
        return int(value.strip())
    raise ValueError(f"must be an integer or a decimal string, not {json.dumps(value)}")


ReplicaCount = Annotated[int, BeforeValidator(_replica_count)]


class Action(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    schedule: str
    minReplicas: ReplicaCount | None = None
    maxReplicas: ReplicaCount | None = None
    replicas: ReplicaCount | None = None
    tz: str | None = None


@dataclass(frozen=True)
class Rule:
    """One action, resolved: its cron, its zone and the fields it sets."""

    index: int
    schedule: str
    zone: ZoneInfo
    values: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Schedule:
    rules: tuple[Rule, ...]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rejected:
    reason: str  # stable, for metrics and Event reasons
    message: str


def zone_named(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def parse_schedule(
    text: str, kind: Kind, object_zone: str | None, default_zone: ZoneInfo
) -> Schedule | Rejected:
    """Parse the annotation of an object of `kind`; `object_zone` is our per-object annotation."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        return Rejected("InvalidJSON", f"{SCHEDULE_ANNOTATION} is not valid JSON: {error}")
    if not isinstance(document, list):
        return Rejected("InvalidJSON", f"{SCHEDULE_ANNOTATION} must be a JSON array of actions")
    zone = default_zone
    if object_zone is not None:
        found = zone_named(object_zone)
        if found is None:
            return Rejected(
                "InvalidTimezone", f"{TIMEZONE_ANNOTATION}: unknown zone {object_zone!r}"
            )
        zone = found
    rules, warnings = [], []
    for index, raw in enumerate(document):
        parsed = _parse_action(index, raw, kind, zone)
        if isinstance(parsed, Rejected):
            return parsed
        rule, action_warnings = parsed
        rules.append(rule)
        warnings.extend(action_warnings)
    return Schedule(tuple(rules), tuple(warnings))


def _parse_action(
    index: int, raw: Any, kind: Kind, zone: ZoneInfo
) -> tuple[Rule, list[str]] | Rejected:
    where = f"action {index + 1}"
    if not isinstance(raw, dict):
        return Rejected("InvalidAction", f"{where}: must be a JSON object")
    try:
        action = Action.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
            for e in error.errors()
        )
        return Rejected("InvalidAction", f"{where}: {problems}")
    problem = cron_problem(action.schedule)
    if problem:
        return Rejected("InvalidSchedule", f"{where}: schedule {problem}")
    if action.tz is not None:
        found = zone_named(action.tz)
        if found is None:
            return Rejected("InvalidTimezone", f"{where}: unknown zone {action.tz!r}")
        zone = found
    allowed = FIELDS[kind]
    given = {
        f: v
        for f in ("minReplicas", "maxReplicas", "replicas")
        if (v := getattr(action, f)) is not None
    }
    wrong = sorted(set(given) - set(allowed))
    if wrong:
        return Rejected(
            "InvalidAction",
            f"{where}: {', '.join(wrong)} cannot be scheduled on a {kind}; use "
            f"{' and/or '.join(allowed)}",
        )
    if not given:
        return Rejected("InvalidAction", f"{where}: sets none of {', '.join(allowed)}")
    for field, value in given.items():
        if value < FLOORS[field]:
            return Rejected(
                "InvalidAction", f"{where}: {field} must be >= {FLOORS[field]}, not {value}"
            )
    low, high = given.get("minReplicas"), given.get("maxReplicas")
    if low is not None and high is not None and low > high:
        return Rejected("InvalidAction", f"{where}: minReplicas {low} is above maxReplicas {high}")
    warnings = [f"{where}: unknown key {key!r} ignored" for key in sorted(action.model_extra or {})]
    rule = Rule(index, action.schedule.strip(), zone, tuple(given.items()))
    return rule, warnings
