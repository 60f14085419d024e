"""Manifests on disk as the controller would read them: the objects it acts on, each with the file
it came from, and what their annotations and parameters parse to. Pure apart from reading files;
`scalers plan` and `scalers validate` share it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from scalers import names
from scalers.proportional.params import LADDER, LINEAR, Ladder, Linear, ParamsError, parse_params
from scalers.schedule.annotation import (
    FIELDS,
    SCHEDULE_ANNOTATION,
    TIMEZONE_ANNOTATION,
    Kind,
    Rejected,
    Schedule,
    parse_schedule,
)


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


def yaml_files(paths: Iterable[str | Path]) -> list[Path]:
    """The files named, and every *.yaml/*.yml under the directories named, in a stable order."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
            )
        else:
            found.append(path)
    return found


def load(paths: Iterable[str | Path]) -> Loaded:
    """Every Kubernetes object (a mapping with a `kind`) in the files; anything else in them is
    not ours to judge and is skipped."""
    files = yaml_files(paths)
    manifests: list[Manifest] = []
    problems: list[Problem] = []
    for path in files:
        try:
            documents = list(yaml.safe_load_all(path.read_text()))
        except OSError as error:
            problems.append(Problem(str(path), "Unreadable", error.strerror or str(error)))
            continue
        except UnicodeDecodeError as error:
            problems.append(Problem(str(path), "Unreadable", f"not UTF-8 text: {error.reason}"))
            continue
        except yaml.YAMLError as error:
            problems.append(Problem(str(path), "InvalidYAML", _yaml_problem(error)))
            continue
        except RecursionError:  # PyYAML composes nested collections recursively
            problems.append(Problem(str(path), "InvalidYAML", "nested too deep"))
            continue
        manifests.extend(
            Manifest(str(path), doc) for doc in documents if isinstance(doc, dict) and "kind" in doc
        )
    return Loaded(len(files), manifests, problems)


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


def validate(manifests: Iterable[Manifest], default_zone: ZoneInfo) -> list[Problem]:
    """What the controller would reject, refuse or warn about in these objects."""
    problems = []
    for manifest in manifests:
        at = (manifest.source, manifest.describe())
        shape = malformed(manifest)
        if shape is not None and manifest.kind in (*FIELDS, "ConfigMap"):
            problems.append(Problem(at[0], "InvalidManifest", shape, at[1]))
        elif is_scheduled(manifest):
            schedule = schedule_of(manifest, default_zone)
            if isinstance(schedule, Rejected):
                problems.append(Problem(at[0], schedule.reason, schedule.message, at[1]))
                continue
            problems.extend(
                Problem(at[0], "UnknownKey", text, at[1], warning=True)
                for text in schedule.warnings
            )
            problems.extend(
                Problem(at[0], "ScheduleRefused", text, at[1])
                for text in refusals(manifest, schedule)
            )
        elif is_params(manifest):
            try:
                params_of(manifest.data)
            except ParamsError as error:
                problems.append(Problem(at[0], error.reason, str(error), at[1]))
    return problems
