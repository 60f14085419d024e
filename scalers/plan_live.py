"""`scalers plan` without FILEs: what it plans from, read from a live cluster — the annotated
objects, the parameters' ConfigMap and the node counts. The plan itself (scalers/plan.py) stays
pure; this is the one place where it meets an API server."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from kubernetes.client import ApiException
from kubernetes.utils.quantity import parse_quantity
from urllib3.exceptions import HTTPError

from scalers.kube.client import Kube, describe
from scalers.kube.config import ConfigError, api_client
from scalers.manifests import Manifest
from scalers.proportional.nodes import cluster_status, node_share
from scalers.proportional.params import ClusterStatus
from scalers.resources import CONFIGMAP, DEPLOYMENT, HPA, NODE


class Unreachable(Exception):
    """The cluster cannot be read: a bad kubeconfig, or the API server's answer, in one line."""


class Live(NamedTuple):
    manifests: list[Manifest]
    status: ClusterStatus
    params: tuple[str, Mapping[str, Any]] | None  # (where they came from, the ConfigMap's data)


def read_cluster(
    kubeconfig: str | None,
    context: str | None,
    user_agent: str,
    *,
    namespace: str,
    configmap: str,
    node_labels: str | None,
    only_nodes: bool,
) -> Live:
    """The HPAs and Deployments, the parameters' ConfigMap and the counts of the nodes with
    `node_labels`; with `only_nodes`, the counts alone."""
    try:
        kube = Kube(api_client(kubeconfig, context, user_agent))
        nodes, _ = kube.list(NODE, label_selector=node_labels)
        status = cluster_status(node_share(n, parse_quantity) for n in nodes)
        if only_nodes:
            return Live([], status, None)
        objects = kube.list(HPA)[0] + kube.list(DEPLOYMENT)[0]
        found = kube.get(CONFIGMAP, namespace, configmap)
    except ConfigError as error:
        raise Unreachable(str(error)) from None
    except (ApiException, HTTPError, OSError) as error:
        raise Unreachable(f"cannot read the cluster: {describe(error)}") from None
    params = None
    if found is not None:
        params = (f"{namespace}/{configmap}", found.get("data") or {})
    return Live([Manifest("cluster", o) for o in objects], status, params)
