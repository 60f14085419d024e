"""Counting nodes and cores as CPA's k8sclient.GetClusterStatus does: who is schedulable, what
counts as a core, and where the rounding happens."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from kubernetes.utils.quantity import parse_quantity

from scalers.proportional.nodes import NodeShare, cluster_status, essentials, node_share
from scalers.proportional.params import ClusterStatus
from tests.builders import READY, kubelet_node


def share(node: dict[str, Any]) -> NodeShare:
    return node_share(node, parse_quantity)


@pytest.mark.parametrize(
    ("raw", "schedulable"),
    [
        (kubelet_node(), True),
        (kubelet_node(unschedulable=False), True),
        (kubelet_node(unschedulable=True), False),
        (kubelet_node(conditions=[{"type": "Ready", "status": "False"}]), False),
        (kubelet_node(conditions=[{"type": "Ready", "status": "Unknown"}]), False),
        (kubelet_node(conditions=[{"type": "MemoryPressure", "status": "False"}]), False),
        (kubelet_node(conditions=[]), False),
        ({"metadata": {"name": "bare"}}, False),
        (kubelet_node(unschedulable=True, conditions=[READY]), False),
        (kubelet_node(conditions=[{"type": "Ready", "status": "False"}, READY]), True),
        (kubelet_node(conditions=[READY, {"type": "Ready", "status": "Unknown"}]), True),
    ],
    ids=[
        "ready",
        "explicitly schedulable",
        "cordoned",
        "NotReady",
        "Ready unknown",
        "no Ready condition",
        "no conditions",
        "no spec or status",
        "cordoned though ready",
        "a later Ready condition is True",
        "the first Ready condition is True",
    ],
)
def test_schedulable_means_not_cordoned_and_ready(raw: dict[str, Any], schedulable: bool) -> None:
    assert share(raw).schedulable is schedulable


@pytest.mark.parametrize(
    ("cpu", "cores"),
    [
        ("4", Decimal(4)),
        ("3500m", Decimal("3.5")),
        ("1.5", Decimal("1.5")),
        ("250m", Decimal("0.25")),
        (None, Decimal(0)),
    ],
)
def test_cores_are_allocatable_cpu_not_capacity(cpu: str | None, cores: Decimal) -> None:
    assert share(kubelet_node(cpu=cpu, capacity="64")).cores == cores


def test_a_malformed_quantity_is_an_error() -> None:
    with pytest.raises(ValueError):
        share(kubelet_node(cpu="four"))


def test_totals_count_every_node_and_schedulable_only_the_usable_ones() -> None:
    nodes = [
        kubelet_node(cpu="4"),
        kubelet_node(cpu="8", unschedulable=True),
        kubelet_node(cpu="16", conditions=[{"type": "Ready", "status": "False"}]),
        kubelet_node(cpu="2"),
    ]
    assert cluster_status(share(n) for n in nodes) == ClusterStatus(
        total_nodes=4, schedulable_nodes=2, total_cores=30, schedulable_cores=6
    )


@pytest.mark.parametrize(
    ("cpus", "cores"),
    [
        (["3500m"] * 4, 14),  # 14, not 4 x ceil(3.5) = 16: the sum is rounded, once
        (["3500m"] * 3, 11),  # 10.5 rounds up
        (["1m"], 1),
        (["999m", "1m"], 1),
        (["2", "100n"], 3),
        ([], 0),
    ],
)
def test_milli_cpus_are_summed_then_rounded_up_once(cpus: list[str], cores: int) -> None:
    result = cluster_status(
        NodeShare(schedulable=True, cores=share(kubelet_node(cpu=c)).cores) for c in cpus
    )
    assert (result.total_cores, result.schedulable_cores) == (cores, cores)
    assert result.total_nodes == result.schedulable_nodes == len(cpus)


def test_schedulable_cores_are_rounded_separately_from_the_total() -> None:
    shares = [NodeShare(True, Decimal("1.5")), NodeShare(False, Decimal("1.5"))]
    assert cluster_status(shares) == ClusterStatus(
        total_nodes=2, schedulable_nodes=1, total_cores=3, schedulable_cores=2
    )


def test_the_essentials_of_a_node_count_the_same_as_the_whole_node() -> None:
    """The loop caches only what it reads: the share must not change by the reduction."""
    node = {
        "metadata": {"name": "n", "resourceVersion": "7", "labels": {"a": "b"}, "uid": "u"},
        "spec": {"unschedulable": True, "podCIDR": "10.0.0.0/24"},
        "status": {
            "allocatable": {"cpu": "3500m", "memory": "15Gi"},
            "conditions": [
                {"type": "MemoryPressure", "status": "False"},
                {"type": "Ready", "status": "True"},
                {"type": "Ready", "status": "False"},
            ],
            "images": [{"names": ["x"], "sizeBytes": 1}],
        },
    }
    false_first = {"conditions": [{"type": "Ready", "status": "False"}, READY]}
    for variant in (
        node,
        {**node, "spec": {}},
        {**node, "status": {"conditions": []}},
        {**node, "spec": {}, "status": false_first},
    ):
        assert share(essentials(variant)) == share(variant)
    assert share(essentials({**node, "spec": {}, "status": false_first})).schedulable
    assert essentials(node)["metadata"] == {"name": "n", "resourceVersion": "7"}
    assert "images" not in essentials(node)["status"]
