"""The `zalando.org/schedule-actions` annotation, parsed once at the edge into typed rules.

Errors are values (`Rejected`) carrying a message a user can act on; nothing here raises, for any
input: the work is bounded (the text, the actions, the nesting, the numbers, the zone names), and
whatever still goes wrong inside is a rejection of that one object, not a crash of the loop.
Messages quote at most `QUOTED` characters of the input, so an Event or a log line stays small."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, available_timezones

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
# Every field is an int32 in the API: a larger value is refused by the server.
CEILING = 2**31 - 1

# Bounds on the work one annotation can cause. The API server holds at most 256 KiB of
# annotations per object; the others are far above any schedule a person writes.
MAX_BYTES = 256 * 1024
MAX_ACTIONS = 100
MAX_DEPTH = 16  # arrays and objects within one another; a schedule needs 2
MAX_SCHEDULE = 256  # characters of one cron expression (every minute listed is 170)
MAX_WARNINGS = 10
QUOTED = 80  # characters of user input quoted in a message

_DECIMAL = re.compile(r"-?[0-9]+")


def quoted(text: str) -> str:
    """`text` as repr() shows it, shortened with "…" to QUOTED characters."""
    return repr(text if len(text) <= QUOTED else text[: QUOTED - 1] + "…")


def _shown(value: Any) -> str:
    """A JSON value as JSON, shortened like `quoted`."""
    text = json.dumps(value)
    return text if len(text) <= QUOTED else text[: QUOTED - 1] + "…"


def _replica_count(value: Any) -> int:
    """An integer or a decimal string, as the kube-schedule-scaler forks accept, that an int32
    field holds (the floor is the field's: see FLOORS)."""
    if isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        digits = value.strip().lstrip("-").lstrip("0") or "0"
        if len(digits) > len(str(CEILING)):  # before int(), which is slow on long strings
            raise ValueError(f"must be a 32-bit integer, not {quoted(value)}")
        value = -int(digits) if value.strip().startswith("-") else int(digits)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be an integer or a decimal string, not {_shown(value)}")
    if value > CEILING:
        raise ValueError(f"must be at most {CEILING} (a 32-bit integer), not {_shown(value)}")
    return value


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


_TOO_DEEP = Rejected("InvalidJSON", f"{SCHEDULE_ANNOTATION} nests deeper than {MAX_DEPTH} levels")


@cache
def _zone_keys() -> frozenset[str]:
    # ZoneInfo() opens any file under the zone directories: "Europe" is a directory (an
    # OSError), and "localtime" is the host's own zone, not an IANA key.
    return frozenset(available_timezones() - {"localtime"})


def zone_named(name: str) -> ZoneInfo | None:
    """The zone of an IANA zone key, or None for anything else."""
    if name not in _zone_keys():  # which also refuses an over-long name
        return None
    try:
        return ZoneInfo(name)
    except (OSError, ValueError):  # a damaged zone file
        return None


def parse_schedule(
    text: str, kind: Kind, object_zone: str | None, default_zone: ZoneInfo
) -> Schedule | Rejected:
    """Parse the annotation of an object of `kind`; `object_zone` is our per-object annotation."""
    try:
        return _parse(text, kind, object_zone, default_zone)
    except Exception as error:  # a bug here must reject one object, not stop the loop
        return Rejected(
            "InvalidAnnotation",
            f"{SCHEDULE_ANNOTATION} could not be parsed ({type(error).__name__}: "
            f"{quoted(str(error))})",
        )


def _parse(
    text: str, kind: Kind, object_zone: str | None, default_zone: ZoneInfo
) -> Schedule | Rejected:
    if len(text) > MAX_BYTES or len(text.encode()) > MAX_BYTES:
        return Rejected(
            "TooLarge", f"{SCHEDULE_ANNOTATION} is over {MAX_BYTES // 1024} KiB, the API's limit"
        )
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        return Rejected("InvalidJSON", f"{SCHEDULE_ANNOTATION} is not valid JSON: {error}")
    except RecursionError:
        return _TOO_DEEP
    except ValueError:  # an integer of more digits than Python converts (4300)
        return Rejected("InvalidJSON", f"{SCHEDULE_ANNOTATION} has a number far too long")
    if not isinstance(document, list):
        return Rejected("InvalidJSON", f"{SCHEDULE_ANNOTATION} must be a JSON array of actions")
    if _nests_deeper(document, MAX_DEPTH):
        return _TOO_DEEP
    if len(document) > MAX_ACTIONS:
        return Rejected(
            "TooLarge",
            f"{SCHEDULE_ANNOTATION} has {len(document)} actions; at most {MAX_ACTIONS} are accepted",
        )
    zone = default_zone
    if object_zone is not None:
        found = zone_named(object_zone)
        if found is None:
            return Rejected(
                "InvalidTimezone", f"{TIMEZONE_ANNOTATION}: unknown zone {quoted(object_zone)}"
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
    if len(warnings) > MAX_WARNINGS:  # each is an Event: a flood of them says no more
        more = len(warnings) - MAX_WARNINGS + 1
        warnings[MAX_WARNINGS - 1 :] = [f"{more} more unknown keys ignored"]
    return Schedule(tuple(rules), tuple(warnings))


def _nests_deeper(document: Any, limit: int) -> bool:
    """True when arrays and objects nest more than `limit` deep. Level by level, not by
    recursion: the decoder allows nesting up to the interpreter's recursion limit."""
    level = [document]
    for _ in range(limit):
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
        if not level:
            return False
    return True


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
    expression = action.schedule.strip()
    if len(expression) > MAX_SCHEDULE:
        return Rejected(
            "InvalidSchedule",
            f"{where}: schedule {quoted(expression)} is longer than {MAX_SCHEDULE} characters",
        )
    problem = cron_problem(expression)
    if problem:
        # cron_problem quotes the whole expression; it is bounded, but quote it as all others.
        problem = problem.replace(repr(expression), quoted(expression))
        return Rejected("InvalidSchedule", f"{where}: schedule {problem}")
    if action.tz is not None:
        found = zone_named(action.tz)
        if found is None:
            return Rejected("InvalidTimezone", f"{where}: unknown zone {quoted(action.tz)}")
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
                "InvalidAction", f"{where}: {field} must be >= {FLOORS[field]}, not {_shown(value)}"
            )
    low, high = given.get("minReplicas"), given.get("maxReplicas")
    if low is not None and high is not None and low > high:
        return Rejected("InvalidAction", f"{where}: minReplicas {low} is above maxReplicas {high}")
    warnings = [
        f"{where}: unknown key {quoted(key)} ignored" for key in sorted(action.model_extra or {})
    ]
    rule = Rule(index, expression, zone, tuple(given.items()))
    return rule, warnings
