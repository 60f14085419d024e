"""Which nodes CPA counts and the cores they bring, as its k8sclient.GetClusterStatus does.

Every node counts towards the totals; a node is schedulable when it is not cordoned
(`spec.unschedulable`) and any of its Ready conditions is "True", as CPA loops over them all (the
Ready check is CPA's since PR #254, 2025; before it, cordoning alone decided). Cores are
`status.allocatable.cpu` (capacity before CPA 1.8.0), summed exactly and rounded up once, as
resource.Quantity.Value() does, so four nodes of 3500m bring 14 cores, not 16.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_UP, Decimal
from typing import Any

from scalers.proportional.params import ClusterStatus


@dataclass(frozen=True)
class NodeShare:
    """What one node adds to the cluster's status."""

    schedulable: bool
    cores: Decimal


def essentials(node: dict[str, Any]) -> dict[str, Any]:
    """The few fields of a Node that `node_share` reads, and the metadata a cache needs: a real
    Node is around 10 KB (images, labels, addresses), and thousands of them add up."""
    meta, spec, status = node["metadata"], node.get("spec") or {}, node.get("status") or {}
    # One True Ready condition stands for them all; without one the node is not ready anyway.
    ready = [{"type": "Ready", "status": "True"}] if _ready(status) else []
    cpu = (status.get("allocatable") or {}).get("cpu")
    return {
        "metadata": {"name": meta["name"], "resourceVersion": meta.get("resourceVersion")},
        "spec": {"unschedulable": spec.get("unschedulable", False)},
        "status": {"allocatable": {} if cpu is None else {"cpu": cpu}, "conditions": ready},
    }


def node_share(node: Mapping[str, Any], quantity: Callable[[str], Decimal]) -> NodeShare:
    """From a Node as the API returns it; `quantity` reads a resource quantity exactly (the
    official client's parse_quantity: the adapter's to give, this module does no I/O). A
    malformed CPU quantity raises ValueError (Go's client would not decode such a node at all)."""
    spec = node.get("spec") or {}
    status = node.get("status") or {}
    cpu = (status.get("allocatable") or {}).get("cpu")
    return NodeShare(
        schedulable=not spec.get("unschedulable", False) and _ready(status),
        cores=Decimal(0) if cpu is None else quantity(cpu),
    )


def _ready(status: Mapping[str, Any]) -> bool:
    """Ready when any Ready condition is "True", as CPA's GetClusterStatus loops over them all."""
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or ()
    )


def cluster_status(shares: Iterable[NodeShare]) -> ClusterStatus:
    total_nodes = schedulable_nodes = 0
    total_cores = schedulable_cores = Decimal(0)
    for share in shares:
        total_nodes += 1
        total_cores += share.cores
        if share.schedulable:
            schedulable_nodes += 1
            schedulable_cores += share.cores
    return ClusterStatus(
        total_nodes=total_nodes,
        schedulable_nodes=schedulable_nodes,
        total_cores=_round_up(total_cores),
        schedulable_cores=_round_up(schedulable_cores),
    )


def _round_up(cores: Decimal) -> int:
    """resource.Quantity.Value(): rounded up, away from zero."""
    return int(cores.to_integral_value(rounding=ROUND_UP))
