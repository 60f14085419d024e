"""The Kubernetes kinds this project reads or writes (pure: how the official client reaches each
is the adapter's business, in `scalers.kube.client`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Resource:
    kind: str
    api_version: str
    snake: str  # the kind in snake case, as the client's methods name it: list_namespaced_<snake>
    namespaced: bool = True
    scalable: bool = False  # has the scale subresource


HPA = Resource("HorizontalPodAutoscaler", "autoscaling/v2", "horizontal_pod_autoscaler")
DEPLOYMENT = Resource("Deployment", "apps/v1", "deployment", scalable=True)
STATEFULSET = Resource("StatefulSet", "apps/v1", "stateful_set", scalable=True)
REPLICASET = Resource("ReplicaSet", "apps/v1", "replica_set", scalable=True)
NODE = Resource("Node", "v1", "node", namespaced=False)
CONFIGMAP = Resource("ConfigMap", "v1", "config_map")
EVENT = Resource("Event", "v1", "event")
LEASE = Resource("Lease", "coordination.k8s.io/v1", "lease")
