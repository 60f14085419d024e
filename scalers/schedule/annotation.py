"""The `zalando.org/schedule-actions` annotation, parsed once at the edge into typed rules.

Errors are values (`Rejected`) carrying a message a user can act on; nothing here raises, for any
input: the work is bounded (the text, the actions, the nesting, the numbers, the zone names), and
whatever still goes wrong inside is a rejection of that one object, not a crash of the loop.
Messages quote at most `QUOTED` characters of the input, so an Event or a log line stays small."""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, available_timezones

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from scalers.schedule.calendar import MAX_NAMES, Calendars, DayRule, Fires, fires, name_problem
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
SUMMED_UP = 3  # problems said in a rejection's one-line message; `issues` has them all
QUOTED = 80  # characters of user input quoted in a message

NO_ACTIONS = f"{SCHEDULE_ANNOTATION} is an empty array: nothing is scheduled"


def warning_reason(warning: str) -> str:
    """The reason a schedule's warning is logged and counted under."""
    return "NoActions" if warning == NO_ACTIONS else "UnknownKey"


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


def _calendar_names(value: Any) -> tuple[str, ...]:
    """One calendar's name, or an array of them: each checked, none twice."""
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names:
        raise ValueError(f"must be a calendar's name or an array of them, not {_shown(value)}")
    if len(names) > MAX_NAMES:
        raise ValueError(f"names {len(names)} calendars; at most {MAX_NAMES} are accepted")
    problems = [p for name in names if (p := name_problem(name))]
    if problems:
        raise ValueError("; ".join(dict.fromkeys(problems)))
    return tuple(dict.fromkeys(names))


CalendarNames = Annotated[tuple[str, ...], BeforeValidator(_calendar_names)]


class Action(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    schedule: str | None = None  # required: its absence is a problem of its own, said by name
    minReplicas: ReplicaCount | None = None
    maxReplicas: ReplicaCount | None = None
    replicas: ReplicaCount | None = None
    tz: str | None = None
    skipDays: CalendarNames = ()
    onlyDays: CalendarNames = ()


KEYS = tuple(Action.model_fields)
CALENDAR_KEYS = ("skipDays", "onlyDays")


@dataclass(frozen=True)
class Rule:
    """One action, resolved: its cron, its zone, the fields it sets and its calendars' names;
    `days` holds those calendars once they are read (see `resolve`)."""

    index: int
    schedule: str
    zone: ZoneInfo
    values: tuple[tuple[str, int], ...]
    skip: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    days: DayRule | None = dataclasses.field(default=None, compare=False)
    fires: Fires | None = dataclasses.field(default=None, compare=False, repr=False)  # of `days`

    @property
    def calendars(self) -> tuple[str, ...]:
        return self.skip + self.only


@dataclass(frozen=True)
class Schedule:
    rules: tuple[Rule, ...]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Issue:
    """One thing wrong with an annotation."""

    reason: str
    message: str


@dataclass(frozen=True)
class Rejected:
    """An annotation that is not applied. `reason` and `message` sum it up in one line (the
    Event, the log line, the metric's label); `issues` are every problem, for `scalers
    validate`, and `warnings` what else it would have said of an accepted one."""

    reason: str  # stable, for metrics and Event reasons
    message: str
    issues: tuple[Issue, ...] = ()
    warnings: tuple[str, ...] = ()

    @classmethod
    def of(cls, issues: Sequence[Issue], warnings: Sequence[str] = ()) -> Rejected:
        said = [issue.message for issue in issues] + list(warnings)
        if len(said) > SUMMED_UP:
            said[SUMMED_UP - 1 :] = [f"and {len(said) - SUMMED_UP + 1} more problems"]
        return cls(issues[0].reason, "; ".join(said), tuple(issues), tuple(warnings))

    def each(self) -> tuple[Issue, ...]:
        return self.issues or (Issue(self.reason, self.message),)


def _rejected(reason: str, message: str) -> Rejected:
    return Rejected.of([Issue(reason, message)])


_TOO_DEEP = _rejected("InvalidJSON", f"{SCHEDULE_ANNOTATION} nests deeper than {MAX_DEPTH} levels")


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
    """Parse the annotation of an object of `kind`; `object_zone` is our per-object annotation.
    A rejection names every problem found, not only the first."""
    try:
        return _parse(text, kind, object_zone, default_zone)
    except Exception as error:  # a bug here must reject one object, not stop the loop
        return _rejected(
            "InvalidAnnotation",
            f"{SCHEDULE_ANNOTATION} could not be parsed ({type(error).__name__}: "
            f"{quoted(str(error))})",
        )


def _parse(
    text: str, kind: Kind, object_zone: str | None, default_zone: ZoneInfo
) -> Schedule | Rejected:
    if len(text) > MAX_BYTES or len(text.encode()) > MAX_BYTES:
        return _rejected(
            "TooLarge", f"{SCHEDULE_ANNOTATION} is over {MAX_BYTES // 1024} KiB, the API's limit"
        )
    if _URL.match(text.strip()):
        return _rejected(
            "UnsupportedURL",
            f"{SCHEDULE_ANNOTATION} is a URL ({quoted(text.strip())}): fetching the schedule "
            "from a URL, as a kube-schedule-scaler fork did, is not supported; put the JSON "
            "array of actions in the annotation itself",
        )
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        return _rejected("InvalidJSON", f"{SCHEDULE_ANNOTATION} is not valid JSON: {error}")
    except RecursionError:
        return _TOO_DEEP
    except ValueError:  # an integer of more digits than Python converts (4300)
        return _rejected("InvalidJSON", f"{SCHEDULE_ANNOTATION} has a number far too long")
    if not isinstance(document, list):
        return _rejected("InvalidJSON", f"{SCHEDULE_ANNOTATION} must be a JSON array of actions")
    if _nests_deeper(document, MAX_DEPTH):
        return _TOO_DEEP
    if len(document) > MAX_ACTIONS:
        return _rejected(
            "TooLarge",
            f"{SCHEDULE_ANNOTATION} has {len(document)} actions; at most {MAX_ACTIONS} are accepted",
        )
    issues: list[Issue] = []
    zone = default_zone
    if object_zone is not None:
        found = zone_named(object_zone)
        if found is None:
            message = f"{TIMEZONE_ANNOTATION}: unknown zone {quoted(object_zone)}"
            issues.append(Issue("InvalidTimezone", message))
        else:
            zone = found
    rules, warnings = [], []
    for index, raw in enumerate(document):
        rule, action_issues, action_warnings = _parse_action(index, raw, kind, zone)
        issues += action_issues
        warnings += action_warnings
        if rule is not None:
            rules.append(rule)
    if not document:
        warnings.append(NO_ACTIONS)
    if len(warnings) > MAX_WARNINGS:  # each is an Event: a flood of them says no more
        more = len(warnings) - MAX_WARNINGS + 1
        warnings[MAX_WARNINGS - 1 :] = [f"{more} more unknown keys ignored"]
    if issues:
        return Rejected.of(issues, warnings)
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
) -> tuple[Rule | None, list[Issue], list[str]]:
    """The action's rule, or None, with every problem of it (each bad key once) and warnings."""
    where = f"action {index + 1}"
    if not isinstance(raw, dict):
        return None, [Issue("InvalidAction", f"{where}: must be a JSON object")], []
    issues, action, bad = _validated(where, raw)
    allowed = FIELDS[kind]
    warnings = [
        f"{where}: unknown key {quoted(key)} ignored{_suggestion(key, kind)}"
        for key in sorted(action.model_extra or {})
    ]
    schedule = _schedule_problem(where, action.schedule, said="schedule" in bad)
    if schedule is not None:
        issues.append(schedule)
    if action.tz is not None:
        found = zone_named(action.tz)
        if found is None:
            issues.append(Issue("InvalidTimezone", f"{where}: unknown zone {quoted(action.tz)}"))
        else:
            zone = found
    given = {f: v for f in FLOORS if (v := getattr(action, f)) is not None}
    for field in sorted(set(given) - set(allowed)):
        issues.append(
            Issue(
                "InvalidAction",
                f"{where}: {field} cannot be scheduled on a {kind}; use {' and/or '.join(allowed)}",
            )
        )
    given = {f: v for f, v in given.items() if f in allowed}
    if not any(raw.get(f) is not None for f in FLOORS):
        issues.append(Issue("InvalidAction", f"{where}: sets none of {', '.join(allowed)}"))
    for field, value in given.items():
        if value < FLOORS[field]:
            issues.append(
                Issue(
                    "InvalidAction",
                    f"{where}: {field} must be >= {FLOORS[field]}, not {_shown(value)}",
                )
            )
    low, high = given.get("minReplicas"), given.get("maxReplicas")
    if low is not None and high is not None and low > high:
        issues.append(
            Issue("InvalidAction", f"{where}: minReplicas {low} is above maxReplicas {high}")
        )
    if issues or action.schedule is None:
        return None, issues, warnings
    rule = Rule(
        index, action.schedule.strip(), zone, tuple(given.items()), action.skipDays,
        action.onlyDays,
    )  # fmt: skip
    return rule, [], warnings


def _validated(where: str, raw: dict[str, Any]) -> tuple[list[Issue], Action, set[str]]:
    """The action with each key that fails validation named once and left out, so that the
    other keys are still checked."""
    try:
        return [], Action.model_validate(raw), set()
    except ValidationError as error:
        issues: list[Issue] = []
        bad: set[str] = set()
        for e in error.errors():
            key = ".".join(str(p) for p in e["loc"])
            reason = "InvalidCalendar" if key in CALENDAR_KEYS else "InvalidAction"
            issues.append(
                Issue(reason, f"{where}: {key}: {e['msg'].removeprefix('Value error, ')}")
            )
            bad.add(str(e["loc"][0]) if e["loc"] else key)
        rest = {k: v for k, v in raw.items() if k not in bad}
        return issues, Action.model_validate(rest), bad


def _schedule_problem(where: str, expression: str | None, said: bool) -> Issue | None:
    if expression is None:
        if said:  # present but not a string: _validated said so
            return None
        return Issue("InvalidAction", f"{where}: schedule: missing; give a 5-field cron expression")
    expression = expression.strip()
    if len(expression) > MAX_SCHEDULE:
        return Issue(
            "InvalidSchedule",
            f"{where}: schedule {quoted(expression)} is longer than {MAX_SCHEDULE} characters",
        )
    problem = nonstandard(expression) or cron_problem(expression)
    if problem:
        # cron_problem quotes the whole expression; it is bounded, but quote it as all others.
        problem = problem.replace(repr(expression), quoted(expression))
        return Issue("InvalidSchedule", f"{where}: schedule {problem}")
    return None


# croniter reads more than standard cron: Quartz's L, W, # and ?, Jenkins' H, its own R. The
# contract is standard 5-field cron, the one reading every cron tool shares: these are refused,
# each by name (R and H would also fire at a different minute on each replica or each version).
_EXTENSIONS = {
    "?": "'?' (Quartz's \"no specific value\"; standard cron writes *)",
    "#": "'#' (the nth weekday of the month)",
    "L": "'L' (the last day or weekday of the month)",
    "W": "'W' (the weekday nearest a day)",
    "H": "'H' (a hashed value)",
    "R": "'R' (a random value)",
}
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NAMES = ((), (), (), _MONTHS, _DAYS)  # the names each field accepts besides numbers
_URL = re.compile(r"[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def nonstandard(expression: str) -> str | None:
    """Why a 5-field expression uses a cron extension, or None when it uses none."""
    fields = expression.split()
    if len(fields) != 5:
        return None
    for text, names in zip(fields, _NAMES, strict=True):
        value = "|".join(("[0-9]+", *names))
        standard = rf"(\*|({value})(-({value}))?)(/[0-9]+)?"
        for item in text.lower().split(","):
            if re.fullmatch(standard, item):
                continue
            # Not within a word: "thu" or a name in the wrong field is croniter's to judge.
            marks = re.sub("[a-z]{3,}", "", item)
            used = [words for mark, words in _EXTENSIONS.items() if mark.lower() in marks]
            if used:
                return (
                    f"{quoted(expression)} uses {used[0]}, an extension of some cron tools: "
                    "only standard 5-field cron is accepted"
                )
    return None


def _suggestion(key: str, kind: Kind) -> str:
    """ " (did you mean 'minReplicas'?)" for a key close to one the action of `kind` takes."""
    known = ("schedule", *FIELDS[kind], "tz", "skipDays", "onlyDays")
    by_case = {k.lower(): k for k in known}
    close = difflib.get_close_matches(key.lower(), by_case, n=1)
    if not close and key.lower() in _ZONE_WORDS:
        close = ["tz"]
    return f" (did you mean {by_case[close[0]]!r}?)" if close else ""


_ZONE_WORDS = frozenset({"timezone", "time_zone", "zone", "tzname"})


@dataclass(frozen=True)
class Held:
    """A schedule that waits for its calendars: an action needs one that cannot be read now
    (the ConfigMap missing or bad). The whole object waits, since the value of its other
    actions depends on whether the held ones fire; nothing is written until it can be read."""

    message: str


def resolve(schedule: Schedule | Rejected, calendars: Calendars) -> Schedule | Rejected | Held:
    """The schedule with each action's calendars read from `calendars`: a rejection for a name
    that a valid ConfigMap does not have, held while one cannot be read. A schedule that names
    no calendar is returned as it is."""
    if isinstance(schedule, Rejected) or not any(r.calendars for r in schedule.rules):
        return schedule
    rules, issues, held = [], [], []
    for rule in schedule.rules:
        found = {name: calendars.lookup(name) for name in rule.calendars}
        problems = {name: days for name, days in found.items() if isinstance(days, str)}
        for name, problem in problems.items():
            if calendars.unavailable(name):
                held.append(f"action {rule.index + 1}: {problem}")
            else:
                issues.append(Issue("InvalidCalendar", f"action {rule.index + 1}: {problem}"))
        if not problems:
            days = DayRule(
                tuple(found[n] for n in rule.skip),  # type: ignore[misc]
                tuple(found[n] for n in rule.only),  # type: ignore[misc]
            )
            rules.append(replace(rule, days=days, fires=fires(rule.schedule, rule.zone, days)))
    if issues:
        return Rejected.of(issues, schedule.warnings)
    if held:
        return Held("; ".join(dict.fromkeys(held)))
    return Schedule(tuple(rules), schedule.warnings)
