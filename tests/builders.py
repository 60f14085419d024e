"""Every Kubernetes object the tests build, in one place: one builder per kind, keyword arguments
for what a test cares about, and the defaults the rest of the suite relies on."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from scalers.fakeapi import FakeApiServer

KUBE_SYSTEM = "kube-system"
READY = {"type": "Ready", "status": "True"}
MEMORY_OK = {"type": "MemoryPressure", "status": "False"}
# A default of "no labels": the field is there and empty. Pass None to leave it out.
NO_LABELS: Mapping[str, str] = MappingProxyType({})


def hpa(
    name: str = "web",
    actions: str | None = None,
    min_replicas: int | None = 2,
    max_replicas: int = 20,
    namespace: str = "shop",
    annotations: dict[str, str] | None = None,
    *,
    minimal: bool = False,
    **spec: Any,
) -> dict[str, Any]:
    """An HPA scaling the Deployment of the same name, `actions` its schedule annotation.

    minimal: only what the API requires (name, namespace, scaleTargetRef, maxReplicas) and
    minReplicas unless None: no labels, annotations or metrics, so the server's defaults show.
    **spec: further spec fields (the API's camelCase), set last, so they may override."""
    target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    body: dict[str, Any] = {"scaleTargetRef": target}
    if not minimal:
        notes = dict(annotations or {})
        if actions is not None:
            notes["zalando.org/schedule-actions"] = actions
        metadata |= {"annotations": notes, "labels": {"app": name}}
    if min_replicas is not None:
        body["minReplicas"] = min_replicas
    body["maxReplicas"] = max_replicas
    if not minimal:
        body["metrics"] = [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 70},
                },
            }
        ]
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata,
        "spec": body | spec,
    }


def bare_hpa(name: str = "web", namespace: str = "default", **spec: Any) -> dict[str, Any]:
    """The fake API server's tests' HPA: `hpa(minimal=True)` with no floor and a ceiling of 10."""
    return hpa(name, None, None, 10, namespace, minimal=True, **spec)


def coredns_hpa(min_replicas: int = 2, max_replicas: int = 20) -> dict[str, Any]:
    """The proportional loop's usual target: kube-system/coredns, no schedule."""
    return hpa("coredns", None, min_replicas, max_replicas, namespace=KUBE_SYSTEM)


def node(
    name: str = "n",
    cpu: str | None = "4",
    ready: bool = True,
    unschedulable: bool | None = False,
    labels: Mapping[str, str] | None = NO_LABELS,
    *,
    conditions: list[dict[str, str]] | None = None,
    capacity: str | None = None,
    memory: str = "16Gi",
) -> dict[str, Any]:
    """A Node with `cpu` allocatable (None: no cpu there) and one Ready condition.

    unschedulable None and labels None leave those fields out; conditions replaces the Ready
    condition `ready` makes; capacity adds status.capacity with that many cores."""
    metadata: dict[str, Any] = {"name": name}
    if labels is not None:
        metadata["labels"] = dict(labels)
    status: dict[str, Any] = {}
    if capacity is not None:
        status["capacity"] = {"cpu": capacity, "memory": "16Gi"}
    status["allocatable"] = ({"cpu": cpu} if cpu is not None else {}) | {"memory": memory}
    if conditions is None:
        conditions = [{"type": "Ready", "status": "True" if ready else "False"}]
    status["conditions"] = [dict(c) for c in conditions]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": metadata,
        "spec": {} if unschedulable is None else {"unschedulable": unschedulable},
        "status": status,
    }


def kubelet_node(**overrides: Any) -> dict[str, Any]:
    """A `node` as a kubelet reports it, for the counting rules: capacity as well as allocatable,
    a MemoryPressure condition before Ready, no labels and no spec.unschedulable."""
    defaults: dict[str, Any] = {
        "labels": None,
        "unschedulable": None,
        "conditions": [MEMORY_OK, READY],
        "capacity": "64",
        "memory": "15Gi",
    }
    return node(**(defaults | overrides))


def add_nodes(server: FakeApiServer, count: int, cpu: str = "4", first: int = 0) -> None:
    """Nodes node-<first> to node-<first + count - 1>, `cpu` cores each."""
    for i in range(first, first + count):
        server.create(node(f"node-{i}", cpu))


def configmap(
    data: dict[str, str], name: str = "dns-autoscaler", namespace: str = KUBE_SYSTEM
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }


def workload(
    kind: str,
    name: str = "web",
    replicas: int = 2,
    *,
    namespace: str = KUBE_SYSTEM,
    container: str | None = None,
    image: str = "coredns:1.11",
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Deployment, StatefulSet or ReplicaSet of one container (named like the workload
    unless `container` says otherwise), pods labelled app=<name>."""
    labels = {"app": name}
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if annotations is not None:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": metadata,
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {"containers": [{"name": container or name, "image": image}]},
            },
        },
    }


def deployment(
    name: str = "web",
    replicas: int = 2,
    *,
    namespace: str = "default",
    container: str = "c",
    image: str = "x",
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A `workload` of kind Deployment with the fake API server's tests' defaults."""
    return workload(
        "Deployment", name, replicas, namespace=namespace, container=container, image=image,
        annotations=annotations,
    )  # fmt: skip
