"""What the proportional loop sizes, and the value it gives each target: pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from scalers import names
from scalers.outcome import Change, Notice
from scalers.proportional.params import ClusterStatus, Ladder, Linear
from scalers.resources import DEPLOYMENT, HPA, REPLICASET, STATEFULSET, Resource

KINDS = {"hpa": HPA, "deployment": DEPLOYMENT, "statefulset": STATEFULSET, "replicaset": REPLICASET}

NAME_RULE = "lower-case letters, digits, '-' and '.', at most 253 characters"
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def is_dns_label(name: str) -> bool:
    """Kubernetes' IsDNS1123Label, the rule for a namespace's name."""
    return len(name) <= 63 and _DNS_LABEL.fullmatch(name) is not None


def is_dns_subdomain(name: str) -> bool:
    """Kubernetes' IsDNS1123Subdomain, the rule for the names of the targets, ConfigMaps and
    Leases: dot-separated labels, 253 characters in all."""
    return len(name) <= 253 and all(_DNS_LABEL.fullmatch(label) for label in name.split("."))


@dataclass(frozen=True)
class Target:
    resource: Resource
    name: str

    @property
    def field(self) -> str:
        """An HPA gets its floor; a workload gets its replicas, through the scale subresource."""
        return "minReplicas" if self.resource is HPA else "replicas"

    def __str__(self) -> str:
        kind = next(k for k, r in KINDS.items() if r is self.resource)
        return f"{kind}/{self.name}"


def parse_targets(text: str) -> tuple[Target, ...]:
    """CPA's `--target` list, e.g. "hpa/coredns" or "deployment/a,statefulset/b"."""
    targets = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        kind, _, name = item.partition("/")
        resource = KINDS.get(kind.lower())
        if resource is None or not name or "/" in name:
            raise ValueError(
                f"target {item!r}: expected KIND/NAME with KIND one of {', '.join(KINDS)}"
            )
        if not is_dns_subdomain(name):
            raise ValueError(f"target {item!r}: {name!r} is not an object name ({NAME_RULE})")
        targets.append(Target(resource, name))
    if not targets:
        raise ValueError("no target given (e.g. hpa/coredns)")
    if len(set(targets)) != len(targets):
        raise ValueError(f"target list {text!r} names the same object twice")
    return tuple(targets)


@dataclass(frozen=True)
class Sizing(Change):
    """The value one target should have: `wanted` is what the parameters asked for, `new` what
    the target can take."""

    wanted: int
    limit: str = ""  # why new != wanted

    @property
    def needed(self) -> bool:
        return self.old != self.new


def size(target: Target, replicas: int, spec: dict[str, Any]) -> Sizing:
    if target.resource is not HPA:
        return Sizing("replicas", spec.get("replicas"), replicas, replicas)
    old = spec.get("minReplicas", 1)  # the API server's default
    ceiling = spec["maxReplicas"]
    if replicas > ceiling:
        return Sizing("minReplicas", old, ceiling, replicas, f"clamped to maxReplicas {ceiling}")
    if replicas < 1:
        return Sizing("minReplicas", old, 1, replicas, "an HPA's minReplicas is at least 1")
    return Sizing("minReplicas", old, replicas, replicas)


def basis(params: Linear | Ladder, status: ClusterStatus) -> tuple[str, str]:
    """The mode of the parameters, and what a sizing is based on, in words."""
    mode = "linear" if isinstance(params, Linear) else "ladder"
    return mode, (
        f"{mode}: {status.schedulable_nodes} of {status.total_nodes} nodes and "
        f"{status.schedulable_cores} of {status.total_cores} cores schedulable"
    )


def clamped(sizing: Sizing, mode: str, why: str) -> Notice | None:
    """What to say when the target cannot take what the parameters ask for (`why`: the basis)."""
    if not sizing.limit:
        return None
    message = f"{why} give {sizing.wanted} replicas; {sizing.field} {sizing.limit}"
    event = ("Warning", "ProportionalClamped") if sizing.new < sizing.wanted else None
    return Notice(mode, "clamped", message, event, "WARNING", sizing.field, sizing.old, sizing.new)


@dataclass(frozen=True)
class Config:
    targets: tuple[Target, ...] = (Target(HPA, names.COREDNS),)
    namespace: str = names.NAMESPACE  # of the ConfigMap and the targets, as CPA's --namespace
    configmap: str = names.PARAMS_CONFIGMAP
    default_params: dict[str, str] | None = None  # ConfigMap data to create when it is missing
    node_labels: str | None = None  # a label selector: only these nodes count
    resync_seconds: float = 10.0
    debounce_seconds: float = 1.0
    max_sync_failures: int = 0  # CPA's: give up after this many failed passes in a row, 0 never

    def claims(self) -> frozenset[str]:
        """The HPAs ("namespace/name") whose floor the loop owns."""
        return frozenset(f"{self.namespace}/{t.name}" for t in self.targets if t.resource is HPA)

    def default_configmap(self) -> dict[str, Any]:
        """The ConfigMap CPA creates from --default-params when it is missing."""
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": self.configmap, "namespace": self.namespace},
            "data": self.default_params,
        }
