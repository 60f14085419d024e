"""`scalers plan` without FILEs and `scalers status`: what they show, read from a live cluster —
the annotated objects, the parameters' and the calendars' ConfigMaps, the node counts. The plan
and the status themselves (scalers/plan.py, scalers/status.py) stay pure; this is the one place
where they meet an API server."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NamedTuple

from kubernetes.client import ApiException
from kubernetes.utils.quantity import parse_quantity
from urllib3.exceptions import HTTPError

from scalers.kube.client import Kube, describe
from scalers.kube.config import ConfigError, api_client
from scalers.manifests import Manifest, is_scheduled
from scalers.proportional.nodes import cluster_status, node_share
from scalers.proportional.params import ClusterStatus
from scalers.resources import CONFIGMAP, DEPLOYMENT, HPA, NODE, Resource
from scalers.schedule.track import Object, essentials


class Unreachable(Exception):
    """The cluster cannot be read: a bad kubeconfig, or the API server's answer, in one line."""


class Live(NamedTuple):
    manifests: list[Manifest]
    status: ClusterStatus
    params: tuple[str, Mapping[str, Any]] | None  # (where they came from, the ConfigMap's data)
    calendars: tuple[Mapping[str, Any] | None, str | None] = (None, None)  # as read_calendars


def read_cluster(
    kubeconfig: str | None,
    context: str | None,
    user_agent: str,
    *,
    namespace: str,
    configmap: str,
    node_labels: str | None,
    only_nodes: bool,
    calendars: str | None = None,
) -> Live:
    """The HPAs and Deployments, the parameters' ConfigMap, the calendars' ConfigMap
    ("namespace/name") and the counts of the nodes with `node_labels`; with `only_nodes`, the
    counts alone."""
    with _reading():
        kube = Kube(api_client(kubeconfig, context, user_agent))
        nodes, _ = kube.list(NODE, label_selector=node_labels)
        status = cluster_status(node_share(n, parse_quantity) for n in nodes)
        if only_nodes:
            return Live([], status, None)
        objects = kube.list(HPA)[0] + kube.list(DEPLOYMENT)[0]
        found = kube.get(CONFIGMAP, namespace, configmap)
        read = read_calendars(kube, calendars) if calendars else (None, None)
    params = None
    if found is not None:
        params = (f"{namespace}/{configmap}", found.get("data") or {})
    return Live([Manifest("cluster", o) for o in objects], status, params, read)


class Scheduled(NamedTuple):
    manifests: list[Manifest]  # the annotated objects, their managedFields of scheduled fields
    calendars: Mapping[str, Any] | None  # the calendars' ConfigMap; None when there is none
    calendars_error: str | None  # why the ConfigMap could not be read (the server refused)


def read_scheduled(
    kubeconfig: str | None,
    context: str | None,
    user_agent: str,
    *,
    namespace: str | None,
    calendars: str,
) -> Scheduled:
    """The annotated HPAs and Deployments of `namespace` (None: every namespace), cut to what
    the schedule loop caches of them, and the calendars' ConfigMap, "namespace/name". A refusal
    to read that ConfigMap (RBAC) is said, not raised: only the actions that need it wait."""
    with _reading():
        kube = Kube(api_client(kubeconfig, context, user_agent))
        objects = []
        for resource in (HPA, DEPLOYMENT):
            listed, _ = kube.list(resource, namespace, transform=_cached(resource))
            objects += [m for o in listed if is_scheduled(m := Manifest("cluster", o))]
        return Scheduled(objects, *read_calendars(kube, calendars))


def read_calendars(kube: Kube, calendars: str) -> tuple[Mapping[str, Any] | None, str | None]:
    """The calendars' ConfigMap, "namespace/name" (None: there is none), and why it could not
    be read if the server refused it (RBAC): said, not raised, for only the actions that need it
    wait on it."""
    space, name = calendars.split("/", 1)
    try:
        return kube.get(CONFIGMAP, space, name), None
    except ApiException as error:
        return None, describe(error)


def _cached(resource: Resource) -> Callable[[Object], Object]:
    """What the schedule loop caches of an object, with the kind its cut leaves out."""
    cut = essentials(resource)

    def cached(obj: Object) -> Object:
        return {**cut(obj), "kind": resource.kind}

    return cached


@contextmanager
def _reading() -> Iterator[None]:
    """A bad kubeconfig or a failed request, as `Unreachable` in one line."""
    try:
        yield
    except ConfigError as error:
        raise Unreachable(str(error)) from None
    except (ApiException, HTTPError, OSError) as error:
        raise Unreachable(f"cannot read the cluster: {describe(error)}") from None
