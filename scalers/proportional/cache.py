"""What the proportional loop's watches keep (the shell around `nodes`): each node reduced to
its share (schedulable or not, and its cores), the parameters' ConfigMap, and the targets. A
change that matters wakes the loop; a heartbeat or a label edit does not."""

from __future__ import annotations

import logging
import threading

from kubernetes.utils.quantity import parse_quantity

from scalers.kube.client import Kube
from scalers.kube.informer import Informer, Object, Watches
from scalers.proportional.nodes import NodeShare, cluster_status, essentials, node_share
from scalers.proportional.params import ClusterStatus
from scalers.proportional.targets import Config
from scalers.resources import CONFIGMAP, NODE

log = logging.getLogger(__name__)


class Cache:
    """Fresh informers, and counts that only they fill: one that was stopped is never started
    again (client-go's rule), so each run of the loop builds a new Cache."""

    def __init__(self, kube: Kube, config: Config, wake: threading.Event) -> None:
        self._wake = wake
        self._lock = threading.Lock()
        self._shares: dict[str, NodeShare] = {}
        self.nodes = Informer(
            kube, NODE, self._node_changed, label_selector=config.node_labels, transform=essentials
        )
        self.configmap = Informer(
            kube, CONFIGMAP, self._changed, config.namespace,
            field_selector=f"metadata.name={config.configmap}",
        )  # fmt: skip
        self.targets = {
            target: Informer(
                kube, target.resource, self._changed, config.namespace,
                field_selector=f"metadata.name={target.name}",
            )
            for target in config.targets
        }  # fmt: skip
        self.watches = Watches([self.nodes, self.configmap, *self.targets.values()])

    def status(self) -> ClusterStatus:
        with self._lock:
            shares = list(self._shares.values())
        return cluster_status(shares)

    def _node_changed(self, key: str, old: Object | None, new: Object | None) -> None:
        try:
            share = node_share(new, parse_quantity) if new is not None else None
        except ValueError as error:  # a CPU quantity no API server would have accepted
            log.warning(f"node {key} not counted: {error}", extra={"loop": "proportional"})
            share = None
        with self._lock:
            before = self._shares.pop(key, None)
            if share is not None:
                self._shares[key] = share
        if share != before:  # a heartbeat or a label edit changes nothing we count
            self._wake.set()

    def _changed(self, key: str, old: Object | None, new: Object | None) -> None:
        self._wake.set()
