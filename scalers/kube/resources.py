"""The Kubernetes kinds this project reads or writes, and how the official client names them."""

from __future__ import annotations

from dataclasses import dataclass

from kubernetes import client


@dataclass(frozen=True)
class Resource:
    kind: str
    api_version: str
    api: type  # the official client's API class
    snake: str  # the client's method suffix, e.g. list_namespaced_<snake>
    namespaced: bool = True
    scalable: bool = False  # has the scale subresource


HPA = Resource(
    "HorizontalPodAutoscaler",
    "autoscaling/v2",
    client.AutoscalingV2Api,
    "horizontal_pod_autoscaler",
)
DEPLOYMENT = Resource("Deployment", "apps/v1", client.AppsV1Api, "deployment", scalable=True)
STATEFULSET = Resource("StatefulSet", "apps/v1", client.AppsV1Api, "stateful_set", scalable=True)
REPLICASET = Resource("ReplicaSet", "apps/v1", client.AppsV1Api, "replica_set", scalable=True)
NODE = Resource("Node", "v1", client.CoreV1Api, "node", namespaced=False)
CONFIGMAP = Resource("ConfigMap", "v1", client.CoreV1Api, "config_map")
EVENT = Resource("Event", "v1", client.CoreV1Api, "event")
LEASE = Resource("Lease", "coordination.k8s.io/v1", client.CoordinationV1Api, "lease")
