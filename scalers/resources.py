"""The Kubernetes kinds this project reads or writes (pure: how the official client reaches each
is the adapter's business, in `scalers.kube.client`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Resource:
    kind: str
    api_version: str
    plural: str  # its REST path's resource name
    namespaced: bool = True
    scalable: bool = False  # has the scale subresource


HPA = Resource("HorizontalPodAutoscaler", "autoscaling/v2", "horizontalpodautoscalers")
DEPLOYMENT = Resource("Deployment", "apps/v1", "deployments", scalable=True)
STATEFULSET = Resource("StatefulSet", "apps/v1", "statefulsets", scalable=True)
REPLICASET = Resource("ReplicaSet", "apps/v1", "replicasets", scalable=True)
NODE = Resource("Node", "v1", "nodes", namespaced=False)
CONFIGMAP = Resource("ConfigMap", "v1", "configmaps")
EVENT = Resource("Event", "v1", "events")
LEASE = Resource("Lease", "coordination.k8s.io/v1", "leases")
