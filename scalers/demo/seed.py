"""What the demo's API server starts with: the cluster a real one already has (the CoreDNS
Deployment, in this package's cluster.yaml), and the examples (this package's scalers/examples/,
or the user's --examples DIR). Every object is told: seeded, or skipped and why, so that a
user's own directory never leaves the demo silent or stuck."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from scalers import names
from scalers.fakeapi import ApiError, FakeApiServer
from scalers.manifests import Manifest, is_params, is_scheduled, load
from scalers.resources import CONFIGMAP, DEPLOYMENT, HPA, REPLICASET, STATEFULSET
from scalers.schedule.annotation import SCHEDULE_ANNOTATION

# The kinds the controller reads, and the one API version of each that it reads.
VERSIONS = {r.kind: r.api_version for r in (HPA, DEPLOYMENT, STATEFULSET, REPLICASET, CONFIGMAP)}


def bundled_examples() -> Path:
    """The examples shipped inside the package: the demo runs from any install and any
    directory, and reads nothing but its own files."""
    return Path(str(resources.files("scalers") / "examples"))


def cluster() -> Path:
    return Path(str(resources.files("scalers.demo") / "cluster.yaml"))


@dataclass
class Seeded:
    objects: list[Manifest] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # one line each: what and why
    ignored: dict[str, int] = field(default_factory=dict)  # kind -> objects the demo leaves out
    cluster: list[Manifest] = field(default_factory=list)  # what a real cluster would have

    def find(self, kind: str, namespace: str, name: str) -> Manifest | None:
        wanted = (kind, namespace, name)
        return next((m for m in self.objects if (m.kind, m.namespace, m.name) == wanted), None)

    def has(self, kind: str, namespace: str, name: str) -> bool:
        return self.find(kind, namespace, name) is not None

    def acted_on(self) -> list[Manifest]:
        """What the controller has something to do with: scheduled objects and parameters."""
        return [m for m in self.objects if is_scheduled(m) or is_params(m)]


class NothingToShow(Exception):
    """The directory has nothing the demo can use; the message says what it looked for, and
    `skipped` what it found and could not use."""

    def __init__(self, message: str, skipped: list[str] | None = None) -> None:
        super().__init__(message)
        self.skipped = skipped or []


def examples_dir(given: str | None) -> Path:
    if given is None:
        return bundled_examples()
    path = Path(given)
    if not path.is_dir():
        raise NothingToShow(f"--examples {given}: not a directory")
    return path


def seed(server: FakeApiServer, examples: Path, manager: str) -> Seeded:
    """Create in `server` what the controller reads from `examples` (and the demo's cluster);
    raises NothingToShow when none of it has a schedule or proportional parameters."""
    seeded = Seeded()
    found = load([examples])
    if found.files == 0:
        raise NothingToShow(f"no *.yaml, *.yml or *.json files in {examples}")
    seeded.skipped += [
        f"{p.source}: {p.reason}: {p.message}" for p in found.problems if not p.warning
    ]
    for manifest in found.manifests:
        why = _unusable(manifest)
        if why == "":
            seeded.ignored[manifest.kind] = seeded.ignored.get(manifest.kind, 0) + 1
            continue
        if why is None:
            try:
                server.create(dict(manifest.obj), manager=manager)
            except ApiError as error:
                why = f"the API server refused it: {error.message}"
            else:
                seeded.objects.append(manifest)
                continue
        seeded.skipped.append(f"{manifest.source}: {manifest.describe()}: {why}")
    base = load([cluster()])
    if base.problems or not base.manifests:  # an installation without its package data
        raise RuntimeError(f"the demo's {cluster()} is missing from this installation")
    for manifest in base.manifests:
        with contextlib.suppress(ApiError):  # AlreadyExists: the user's own copy wins
            server.create(dict(manifest.obj), manager=manager)
        seeded.cluster.append(manifest)
    if not seeded.acted_on():
        raise NothingToShow(
            f"nothing in {examples} for the controller to act on: no HorizontalPodAutoscaler or "
            f"Deployment with the {SCHEDULE_ANNOTATION} annotation, and no ConfigMap of "
            "proportional parameters (see `scalers demo` without --examples, and its examples)",
            seeded.skipped,
        )
    return seeded


def _read(configmap: Manifest) -> bool:
    """A ConfigMap the controller reads: proportional parameters, or the team calendars."""
    calendars = f"{names.NAMESPACE}/{names.CALENDARS}"
    return is_params(configmap) or f"{configmap.namespace}/{configmap.name}" == calendars


def _unusable(manifest: Manifest) -> str | None:
    """Why the demo cannot seed the object; "" for a kind it does not seed at all (an ArgoCD
    Application, say); None when it can."""
    wanted = VERSIONS.get(manifest.kind)
    if wanted is None or (manifest.kind == "ConfigMap" and not _read(manifest)):
        return ""
    api_version = manifest.obj.get("apiVersion")
    if api_version != wanted:
        return f"apiVersion {api_version!r}: the controller reads {manifest.kind} as {wanted}" + (
            " (minReplicas and maxReplicas are the same fields)"
            if manifest.kind == "HorizontalPodAutoscaler"
            else ""
        )
    metadata = manifest.obj.get("metadata")
    if not isinstance(metadata, dict) or not metadata.get("name"):
        return "no metadata.name"
    return None
