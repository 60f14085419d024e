"""Manifests on disk as the controller would read them: the objects it acts on, each with the file
it came from, and what their annotations and parameters parse to. Pure apart from reading files;
`scalers plan` and `scalers validate` share it."""

from __future__ import annotations

import difflib
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import yaml

from scalers import names
from scalers.proportional.params import LADDER, LINEAR, Ladder, Linear, ParamsError, parse_params
from scalers.schedule.annotation import (
    FIELDS,
    SCHEDULE_ANNOTATION,
    SUSPEND_ANNOTATION,
    TIMEZONE_ANNOTATION,
    Held,
    Kind,
    Rejected,
    Schedule,
    parse_schedule,
    quoted,
    resolve,
    warning_reason,
)
from scalers.schedule.calendar import Calendars, parse_calendars


@dataclass(frozen=True)
class Manifest:
    source: str  # the file it came from, or "cluster"
    obj: Mapping[str, Any]

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind"))

    @property
    def namespace(self) -> str:
        return str(_mapping(self.obj, "metadata").get("namespace") or "default")

    @property
    def name(self) -> str:
        return str(_mapping(self.obj, "metadata").get("name"))

    @property
    def annotations(self) -> Mapping[str, Any]:
        return _mapping(_mapping(self.obj, "metadata"), "annotations")

    @property
    def data(self) -> Mapping[str, Any]:
        return _mapping(self.obj, "data")

    @property
    def spec(self) -> Mapping[str, Any]:
        return _mapping(self.obj, "spec")

    def describe(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


def _mapping(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """obj[key] when it is a mapping; anything else reads as empty (see `malformed`)."""
    value = obj.get(key)
    return value if isinstance(value, Mapping) else {}


def malformed(manifest: Manifest) -> str | None:
    """What the API server would refuse in the shape of the object, as far as we read it."""
    metadata = manifest.obj.get("metadata")
    parts = {
        "metadata": metadata,
        "spec": manifest.obj.get("spec"),
        "data": manifest.obj.get("data"),
    }
    if isinstance(metadata, Mapping):
        parts["metadata.annotations"] = metadata.get("annotations")
    for where, value in parts.items():
        if value is not None and not isinstance(value, Mapping):
            return f"{where} must be a mapping, not {type(value).__name__}"
    return None


@dataclass(frozen=True)
class Problem:
    source: str
    reason: str
    message: str
    subject: str | None = None  # "KIND NAMESPACE/NAME", None for the whole file
    warning: bool = False

    def __str__(self) -> str:
        where = f"{self.source}: {self.subject}" if self.subject else self.source
        return f"{'warning: ' if self.warning else ''}{where}: {self.reason}: {self.message}"


@dataclass(frozen=True)
class Loaded:
    files: int
    manifests: list[Manifest]
    problems: list[Problem]  # files that cannot be read or parsed


STDIN = "-"  # as a FILE: standard input (`helm template ... | scalers validate -`)
STDIN_SOURCE = "<stdin>"
SUFFIXES = (".yaml", ".yml", ".json")
HELM_HINT = (
    "looks like a Helm template: run `helm template` first and pipe it: "
    "helm template ... | scalers validate -"
)
# Templating that only an unrendered chart has: Helm's objects and functions. Go templating alone
# (`{{ range }}`, `{{ template }}`, `{{-`) also appears in rendered files (Alertmanager and
# Prometheus templates, ApplicationSets), where it is data.
_HELM = re.compile(
    r"\{\{-?\s*(\.(Values|Release|Chart|Capabilities|Files|Template)\b"
    r"|(include|toYaml|toJson|tpl|required)\b)"
)


def yaml_files(paths: Iterable[str | Path]) -> list[Path]:
    """The files named, and every *.yaml/*.yml/*.json under the directories named, in a stable
    order; `-` stands for standard input."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file()))
        else:
            found.append(path)
    return found


def load(paths: Iterable[str | Path], stdin: TextIO | None = None) -> Loaded:
    """Every Kubernetes object (a mapping with a `kind`, the items of a List included) in the
    files, YAML or JSON; anything else in them is not ours to judge and is skipped. The file
    `-` is `stdin` (default sys.stdin), read once."""
    files = yaml_files(paths)
    manifests: list[Manifest] = []
    problems: list[Problem] = []
    for path in files:
        source = STDIN_SOURCE if str(path) == STDIN else str(path)
        reader = stdin or sys.stdin
        if str(path) == STDIN and reader is None:
            problems.append(Problem(source, "Unreadable", "standard input is closed"))
            continue
        try:
            text = reader.read() if str(path) == STDIN else path.read_text()
        except OSError as error:
            problems.append(Problem(source, "Unreadable", error.strerror or str(error)))
            continue
        except UnicodeDecodeError as error:
            problems.append(Problem(source, "Unreadable", f"not UTF-8 text: {error.reason}"))
            continue
        documents = _documents(source, text, as_json=path.suffix == ".json")
        if isinstance(documents, Problem):
            problems.append(documents)
            continue
        if _HELM.search(text):
            problems.append(Problem(source, "HelmTemplate", HELM_HINT, warning=True))
        found = [Manifest(source, obj) for obj in _objects(documents)]
        if not found and source == STDIN_SOURCE:  # a pipe whose first command failed, say
            message = "no Kubernetes object on standard input (did the command before | fail?)"
            problems.append(Problem(source, "NoObjects", message))
        manifests.extend(found)
    return Loaded(len(files), manifests, problems)


def _documents(source: str, text: str, as_json: bool) -> list[Any] | Problem:
    """The documents of a file, or why it cannot be parsed. JSON (a `.json` file, or standard
    input that is a JSON document) is read as JSON, for JSON's own error messages."""
    try:
        if as_json or (source == STDIN_SOURCE and text.lstrip().startswith("{")):
            try:
                return [json.loads(text)]
            except json.JSONDecodeError as error:
                if as_json:
                    where = f"line {error.lineno}, column {error.colno}"
                    return Problem(source, "InvalidJSON", f"{where}: {error.msg}")
            except ValueError:  # an integer of more digits than Python converts
                if as_json:
                    return Problem(source, "InvalidJSON", "a number far too long")
        return list(yaml.safe_load_all(text))
    except yaml.YAMLError as error:
        message = _yaml_problem(error)
        if "{{" in text:  # a template that does not even parse: say what to do first
            return Problem(source, "HelmTemplate", f"{HELM_HINT} ({message})")
        return Problem(source, "InvalidYAML", message)
    except RecursionError:  # PyYAML and json compose nested collections recursively
        return Problem(source, "InvalidJSON" if as_json else "InvalidYAML", "nested too deep")


def _objects(documents: Iterable[Any]) -> Iterator[Mapping[str, Any]]:
    """The objects of the documents: a List (kubectl's, or an API's `HorizontalPodAutoscalerList`
    whose items carry no kind of their own) stands for its items."""
    for doc in documents:
        if not isinstance(doc, dict) or "kind" not in doc:
            continue
        kind, items = doc["kind"], doc.get("items")
        if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
            item_kind = kind.removesuffix("List")
            for item in items:
                if isinstance(item, dict) and (item_kind or "kind" in item):
                    yield {"kind": item_kind, **item} if item_kind else item
        else:
            yield doc


def _yaml_problem(error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return f"line {mark.line + 1}, column {mark.column + 1}: {error.problem}"
    return " ".join(str(error).split())


def is_scheduled(manifest: Manifest) -> bool:
    return manifest.kind in FIELDS and SCHEDULE_ANNOTATION in manifest.annotations


def schedule_of(manifest: Manifest, default_zone: ZoneInfo) -> Schedule | Rejected:
    """The object's schedule annotation parsed exactly as the schedule loop parses it."""
    text = manifest.annotations[SCHEDULE_ANNOTATION]
    if not isinstance(text, str):
        return Rejected(
            "InvalidJSON",
            f"{SCHEDULE_ANNOTATION} must be a string of JSON (a YAML block: `|`), not YAML",
        )
    kind: Kind = "Deployment" if manifest.kind == "Deployment" else "HorizontalPodAutoscaler"
    zone = manifest.annotations.get(TIMEZONE_ANNOTATION)
    return parse_schedule(text, kind, None if zone is None else str(zone), default_zone)


def calendars_of(manifests: Iterable[Manifest], ref: str) -> Calendars:
    """The team calendars of the ConfigMap `ref` ("namespace/name") among the manifests; one that
    is not there is unknown rather than missing (it may be in another repository): actions that
    name a team calendar are held, and said to be."""
    namespace, _, name = ref.partition("/")
    found = find_configmap(manifests, namespace, name)
    if found is not None:
        return parse_calendars(ref, {"data": found.data})
    return Calendars(ref, read=False, unread="is not among the files: give it too, to check them")


def is_calendars(manifest: Manifest, calendars: Calendars) -> bool:
    return manifest.kind == "ConfigMap" and f"{manifest.namespace}/{manifest.name}" == (
        calendars.source
    )


def calendar_problems(manifest: Manifest, calendars: Calendars) -> list[Problem]:
    """Each calendar of the calendars' ConfigMap that the controller could not read."""
    at = (manifest.source, manifest.describe())
    problems = [calendars.problem] if calendars.problem else list(calendars.problems.values())
    return [Problem(at[0], "InvalidCalendar", text, at[1]) for text in problems]


def refusals(manifest: Manifest, schedule: Schedule) -> list[str]:
    """Actions the controller would refuse to apply against the HPA's bounds in the manifest: a
    scheduled minReplicas above Git's maxReplicas, or a maxReplicas below Git's minReplicas.

    Only where no action schedules the other bound: once one does, that bound always holds a
    scheduled value (the catch-up writes it), never Git's."""
    if manifest.kind != "HorizontalPodAutoscaler":
        return []
    spec = manifest.spec
    git_min, git_max = spec.get("minReplicas", 1), spec.get("maxReplicas")
    scheduled = {name for rule in schedule.rules for name, _ in rule.values}
    problems = []
    for rule in schedule.rules:
        values = dict(rule.values)
        low, high = values.get("minReplicas"), values.get("maxReplicas")
        where = f"action {rule.index + 1}: the schedule's"
        if "maxReplicas" not in scheduled and low is not None and _above(low, git_max):
            problems.append(f"{where} minReplicas {low} is above maxReplicas {git_max} in Git")
        if "minReplicas" not in scheduled and high is not None and _above(git_min, high):
            problems.append(f"{where} maxReplicas {high} is below minReplicas {git_min} in Git")
    return problems


def _above(low: Any, high: Any) -> bool:
    """True when both are numbers and low > high; a bound missing from Git is not ours to judge."""
    return isinstance(low, int) and isinstance(high, int) and low > high


def schedule_problems(
    manifest: Manifest, parsed: Schedule | Rejected, schedule: Schedule | Rejected | Held
) -> list[Problem]:
    """Every problem of an object's schedule, one each: what rejects it, what the controller
    would refuse to write, what holds it, and the warnings of the annotation as `parsed`."""
    at = (manifest.source, manifest.describe())
    if isinstance(schedule, Rejected):
        problems = [Problem(at[0], i.reason, i.message, at[1]) for i in schedule.each()]
    elif isinstance(schedule, Held):
        problems = [Problem(at[0], HELD, schedule.message, at[1], True)]
    else:
        problems = [Problem(at[0], REFUSED, text, at[1]) for text in refusals(manifest, schedule)]
    return problems + [
        Problem(at[0], warning_reason(text), text, at[1], True) for text in parsed.warnings
    ]


REFUSED = "ScheduleRefused"
HELD = "CalendarUnavailable"


def is_params(manifest: Manifest) -> bool:
    """A ConfigMap of proportional parameters: it has a mode key, or it has CPA's usual name."""
    if manifest.kind != "ConfigMap":
        return False
    return manifest.name == names.PARAMS_CONFIGMAP or bool({LINEAR, LADDER} & set(manifest.data))


def find_configmap(manifests: Iterable[Manifest], namespace: str, name: str) -> Manifest | None:
    return next(
        (
            m
            for m in manifests
            if m.kind == "ConfigMap" and (m.namespace, m.name) == (namespace, name)
        ),
        None,
    )


def params_of(data: Mapping[str, Any]) -> Linear | Ladder:
    """A ConfigMap's data as the proportional loop reads it; raises ParamsError."""
    for key, value in data.items():
        if not isinstance(value, str):
            raise ParamsError("bad_json", f"data.{key} must be a string of JSON, not YAML")
    return parse_params(data)


def misspelt_annotations(manifest: Manifest) -> list[Problem]:
    """Annotations of an HPA or Deployment that look like ours and are not: the commonest typo
    of a pull request, which would leave the object unscheduled without a word."""
    if manifest.kind not in FIELDS:
        return []
    ours = (SCHEDULE_ANNOTATION, TIMEZONE_ANNOTATION, SUSPEND_ANNOTATION)
    problems = []
    for key in manifest.annotations:
        close = difflib.get_close_matches(str(key), ours, n=1, cutoff=0.85)
        if close and key not in ours:
            message = f"annotation {quoted(str(key))} is not read: did you mean {close[0]!r}?"
            problems.append(
                Problem(manifest.source, "UnknownAnnotation", message, manifest.describe(), True)
            )
    return problems


def validate(
    manifests: Iterable[Manifest],
    default_zone: ZoneInfo,
    calendars_ref: str = f"{names.NAMESPACE}/{names.CALENDARS}",
) -> list[Problem]:
    """What the controller would reject, refuse or warn about in these objects; the team
    calendars from the ConfigMap `calendars_ref` when it is among them."""
    manifests = list(manifests)
    calendars = calendars_of(manifests, calendars_ref)
    problems = []
    for manifest in manifests:
        at = (manifest.source, manifest.describe())
        problems += misspelt_annotations(manifest)
        shape = malformed(manifest)
        if shape is not None and manifest.kind in (*FIELDS, "ConfigMap"):
            problems.append(Problem(at[0], "InvalidManifest", shape, at[1]))
        elif is_scheduled(manifest):
            parsed = schedule_of(manifest, default_zone)
            problems += schedule_problems(manifest, parsed, resolve(parsed, calendars))
        elif is_calendars(manifest, calendars):
            problems += calendar_problems(manifest, calendars)
        elif is_params(manifest):
            try:
                params_of(manifest.data)
            except ParamsError as error:
                problems.append(Problem(at[0], error.reason, str(error), at[1]))
    return problems
