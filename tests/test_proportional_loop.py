"""The proportional loop through the real client against the fake API server: nodes come and go,
the ConfigMap changes, and only the target's owned field moves."""

from __future__ import annotations

import copy
import json
import threading

import pytest
from prometheus_client import REGISTRY

from scalers.kube.events import EventRecorder
from scalers.proportional.loop import FIELD_MANAGER, Config, ProportionalLoop
from scalers.proportional.targets import Target
from scalers.resources import DEPLOYMENT, HPA, REPLICASET, STATEFULSET
from scalers.runner import Runner
from tests.builders import add_nodes, configmap, coredns_hpa, hpa, node, workload
from tests.support import client_of, sync, wait_for

NS = "kube-system"
HPA_KEY = ("autoscaling/v2", "HorizontalPodAutoscaler")
LINEAR = {"linear": json.dumps({"coresPerReplica": 4, "nodesPerReplica": 2, "min": 1})}


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_sizes_the_hpa_floor_and_changes_nothing_else(server, proportional):
    add_nodes(server, 6)  # 24 cores / 4 = 6; 6 nodes / 2 = 3: CPA takes the larger
    server.create(coredns_hpa(), manager="argocd-controller")
    server.create(configmap(LINEAR))
    before = server.get("autoscaling/v2", "HorizontalPodAutoscaler", NS, "coredns")
    p = proportional()

    [outcome] = p.evaluate()

    after = p.hpa()
    assert (outcome.action, outcome.values) == ("write", {"minReplicas": (2, 6)})
    assert after["spec"]["minReplicas"] == 6
    expected = copy.deepcopy(before)
    expected["spec"]["minReplicas"] = 6
    for volatile in ("resourceVersion", "managedFields", "generation"):
        expected["metadata"].pop(volatile, None)
        after["metadata"].pop(volatile, None)
    assert after == expected
    owners = {
        e["manager"]: e["fieldsV1"]
        for e in p.hpa()["metadata"]["managedFields"]
        if e["operation"] == "Update"
    }
    assert owners[FIELD_MANAGER] == {"f:spec": {"f:minReplicas": {}}}
    assert "ProportionalScale" in p.event_reasons()


def test_no_request_when_the_floor_is_already_right(server, proportional):
    add_nodes(server, 6)
    server.create(coredns_hpa(min_replicas=6))
    server.create(configmap(LINEAR))
    p = proportional()
    sync(p.kube, p.loop.watches.informers)
    server.reset_requests()

    assert p.loop.evaluate(p.clock.now(), 0) == []
    assert p.loop.evaluate(p.clock.now(), 0) == []
    assert server.requests == []  # a pass reads the caches only


def test_nodes_joining_cordoned_not_ready_and_leaving_move_the_floor(server, proportional):
    server.create(coredns_hpa(min_replicas=1))
    server.create(configmap({"linear": json.dumps({"nodesPerReplica": 1})}))
    add_nodes(server, 3)
    p = proportional()
    p.evaluate()
    assert p.hpa()["spec"]["minReplicas"] == 3

    add_nodes(server, 2, first=3)
    p.evaluate()
    assert p.hpa()["spec"]["minReplicas"] == 5

    server.patch("v1", "Node", None, "node-0", {"spec": {"unschedulable": True}}, "kubectl")
    p.evaluate()
    assert p.hpa()["spec"]["minReplicas"] == 4

    server.patch(
        "v1",
        "Node",
        None,
        "node-1",
        {"status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}},
        "node-controller",
        subresource="status",
    )
    p.evaluate()
    assert p.hpa()["spec"]["minReplicas"] == 3

    server.delete("v1", "Node", None, "node-4")
    p.evaluate()
    assert p.hpa()["spec"]["minReplicas"] == 2


def test_include_unschedulable_nodes_counts_them(server, proportional):
    server.create(coredns_hpa(min_replicas=1))
    params = {"nodesPerReplica": 1, "includeUnschedulableNodes": True}
    server.create(configmap({"linear": json.dumps(params)}))
    add_nodes(server, 2)
    server.create(node("cordoned", unschedulable=True))
    server.create(node("broken", ready=False))
    p = proportional()
    p.evaluate()
    assert p.hpa()["spec"]["minReplicas"] == 4


def test_a_floor_above_max_replicas_is_clamped_with_a_warning(server, proportional):
    add_nodes(server, 12)  # 48 cores / 4 = 12 replicas
    server.create(coredns_hpa(min_replicas=2, max_replicas=10))
    server.create(configmap(LINEAR))
    p = proportional()

    [outcome] = p.evaluate()

    assert outcome.values == {"minReplicas": (2, 10)}
    assert p.hpa()["spec"]["maxReplicas"] == 10
    [warning] = [e for e in p.posted_events() if e["reason"] == "ProportionalClamped"]
    assert warning["type"] == "Warning"
    assert "12 replicas" in warning["message"] and "maxReplicas 10" in warning["message"]
    assert warning["involvedObject"]["name"] == "coredns"
    p.evaluate()
    assert p.event_reasons().count("ProportionalClamped") == 1  # not repeated every pass


@pytest.mark.parametrize(
    ("resource", "name"), [(DEPLOYMENT, "coredns"), (STATEFULSET, "dns"), (REPLICASET, "rs")]
)
def test_workload_targets_scale_through_the_scale_subresource(server, proportional, resource, name):
    add_nodes(server, 6)
    server.create(workload(resource.kind, name))
    server.create(configmap(LINEAR))
    p = proportional(targets=(Target(resource, name),))
    server.reset_requests()

    [outcome] = p.evaluate()

    assert outcome.values == {"replicas": (2, 6)}
    obj = server.get("apps/v1", resource.kind, NS, name)
    assert obj is not None and obj["spec"]["replicas"] == 6
    [patch] = [r for r in server.requests if r.method == "PATCH"]
    assert patch.path.endswith(f"/{name}/scale")


def test_several_targets_are_each_sized(server, proportional):
    add_nodes(server, 6)
    server.create(coredns_hpa())
    server.create(workload("Deployment", "nodelocaldns"))
    server.create(configmap(LINEAR))
    p = proportional(targets=(Target(HPA, "coredns"), Target(DEPLOYMENT, "nodelocaldns")))

    outcomes = p.evaluate()

    assert {(o.kind, o.name) for o in outcomes} == {
        ("HorizontalPodAutoscaler", "coredns"),
        ("Deployment", "nodelocaldns"),
    }
    assert p.hpa()["spec"]["minReplicas"] == 6


def test_missing_configmap_is_created_from_default_params(server, proportional):
    add_nodes(server, 6)
    server.create(coredns_hpa())
    p = proportional(default_params=LINEAR)

    p.evaluate()

    created = server.get("v1", "ConfigMap", NS, "dns-autoscaler")
    assert created is not None and created["data"] == LINEAR
    assert p.hpa()["spec"]["minReplicas"] == 6


def test_missing_configmap_without_defaults_changes_nothing(server, proportional):
    add_nodes(server, 6)
    server.create(coredns_hpa())
    p = proportional()

    assert p.evaluate() == []
    assert server.get("v1", "ConfigMap", NS, "dns-autoscaler") is None
    assert p.hpa()["spec"]["minReplicas"] == 2


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"linear": "{not json"}, "bad_json"),
        ({"linear": json.dumps({"coresPerReplica": 0, "nodesPerReplica": 0})}, "invalid_linear"),
        ({"linear": json.dumps({"nodesPerReplica": 1}), "ladder": "{}"}, "too_many_keys"),
        ({}, "no_params"),
    ],
    ids=["bad-json", "no-ratio", "two-keys", "empty"],
)
def test_bad_parameters_leave_the_target_alone_and_say_why(server, proportional, data, reason):
    add_nodes(server, 6)
    server.create(coredns_hpa())
    server.create(configmap(data))
    p = proportional()
    rejected = metric("scalers_rejected_parameters_total", reason=reason)

    assert p.evaluate() == []
    assert p.evaluate() == []

    assert p.hpa()["spec"]["minReplicas"] == 2
    [warning] = [e for e in p.posted_events() if e["reason"] == "InvalidParameters"]
    assert warning["type"] == "Warning"
    assert warning["involvedObject"]["kind"] == "ConfigMap"
    assert metric("scalers_rejected_parameters_total", reason=reason) == rejected + 1

    server.update(configmap(LINEAR), manager="kubectl-edit")
    p.evaluate()
    assert p.hpa()["spec"]["minReplicas"] == 6  # fixed parameters apply at once


def test_node_labels_select_the_nodes_that_count(server, proportional):
    server.create(coredns_hpa(min_replicas=1))
    server.create(configmap({"linear": json.dumps({"nodesPerReplica": 1})}))
    for i in range(3):
        server.create(node(f"worker-{i}", labels={"pool": "workers"}))
    server.create(node("gpu-0", labels={"pool": "gpu"}))
    p = proportional(node_labels="pool=workers")

    p.evaluate()

    assert p.hpa()["spec"]["minReplicas"] == 3


def test_drift_is_repaired_at_the_next_pass(server, proportional):
    add_nodes(server, 6)
    server.create(coredns_hpa())
    server.create(configmap(LINEAR))
    p = proportional()
    p.evaluate()
    server.patch("autoscaling/v2", "HorizontalPodAutoscaler", NS, "coredns",
                 {"spec": {"minReplicas": 1}}, "kubectl-edit")  # fmt: skip

    [outcome] = p.evaluate()

    assert outcome.values == {"minReplicas": (1, 6)}


def test_a_failed_write_is_retried_at_the_next_pass(server, proportional):
    add_nodes(server, 6)
    server.create(coredns_hpa())
    server.create(configmap(LINEAR))
    p = proportional()
    server.faults.inject(500, count=5, method="PATCH")  # more than the client's 4 retries

    [failed] = p.evaluate()
    [retried] = p.evaluate()

    assert (failed.action, retried.action) == ("failed", "write")
    assert "HTTP 500" in failed.detail
    assert "ProportionalWriteFailed" in p.event_reasons()
    assert p.hpa()["spec"]["minReplicas"] == 6


def test_dry_run_writes_nothing(server, proportional):
    add_nodes(server, 6)
    server.create(coredns_hpa())
    p = proportional(dry_run=True, default_params=LINEAR)
    server.reset_requests()

    [outcome] = p.evaluate()

    assert outcome.action == "would-write"
    assert not [r for r in server.requests if r.method in ("PATCH", "PUT", "POST")]
    assert server.get("v1", "ConfigMap", NS, "dns-autoscaler") is None


def test_a_missing_target_is_sized_when_it_appears(server, proportional):
    add_nodes(server, 6)
    server.create(configmap(LINEAR))
    p = proportional()
    assert p.evaluate() == []

    server.create(coredns_hpa())
    [outcome] = p.evaluate()
    assert outcome.values == {"minReplicas": (2, 6)}


def test_a_change_is_written_at_once_and_a_burst_costs_two_writes(server, clock):
    """The loop as the runner drives it, on virtual time: watch-driven, with a leading pass
    at the first change and a trailing one once a burst is quiet. (How soon a change is
    written in wall-clock time is bench/node_latency_bench.py's figure.)"""
    server.create(coredns_hpa(min_replicas=1, max_replicas=1000))
    server.create(configmap({"linear": json.dumps({"nodesPerReplica": 1})}))
    add_nodes(server, 2)
    kube = client_of(server)
    config = Config(resync_seconds=300, debounce_seconds=1.0)
    loop = ProportionalLoop(kube, clock, EventRecorder(kube, clock), config)
    runner, stop = Runner([loop], clock), threading.Event()
    thread = threading.Thread(target=runner.run_loop, args=(loop, stop), daemon=True)
    thread.start()

    def settled() -> None:
        """The caches hold what the server has, and the loop sleeps (resync or settling)."""
        sync(kube, loop.watches.informers)
        wait_for(lambda: clock.waiting() == 1)

    def floor() -> int:
        return server.get(*HPA_KEY, NS, "coredns")["spec"]["minReplicas"]

    def patches() -> int:
        return len([r for r in server.requests if r.method == "PATCH"])

    try:
        wait_for(lambda: floor() == 2)
        settled()
        clock.advance(5.0)  # long after that pass: the next change is not part of a burst

        server.create(node("node-2"))  # an isolated change: written without waiting
        wait_for(lambda: floor() == 3)
        settled()
        clock.advance(5.0)
        server.reset_requests()

        add_nodes(server, 500, first=3)  # a burst: its first node wakes the leading pass
        settled()
        assert patches() <= 1
        clock.advance(0.5)
        settled()  # still settling: the burst's trailing pass waits for a quiet second
        assert patches() <= 1
        clock.advance(0.5)

        wait_for(lambda: floor() == 503)
        settled()
        assert patches() <= 2
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_a_proportional_target_keeps_its_floor_and_its_schedule_is_not_applied(
    server, clock, harness, proportional
):
    """One owner per field: the proportional loop's HPA is not also the schedule loop's."""
    add_nodes(server, 6)
    server.create(configmap(LINEAR))
    actions = '[{"schedule": "0 7 * * *", "minReplicas": 12, "maxReplicas": 30}]'
    server.create(hpa("coredns", actions, 2, 20, namespace=NS))
    server.create(hpa("web", actions, 2, 20, namespace=NS))
    p = proportional()
    schedule = harness(claimed=p.loop.claims())

    p.evaluate()
    outcomes = schedule.tick()

    assert [(o.name, o.values) for o in outcomes] == [
        ("web", {"minReplicas": (2, 12), "maxReplicas": (20, 30)})
    ]
    assert p.hpa()["spec"] == p.hpa()["spec"] | {"minReplicas": 6, "maxReplicas": 20}
    [ignored] = [e for e in p.posted_events() if e["reason"] == "ScheduleIgnored"]
    assert ignored["type"] == "Warning" and ignored["involvedObject"]["name"] == "coredns"


def test_a_write_the_watch_has_not_brought_back_is_not_sent_again(server, proportional):
    add_nodes(server, 6)
    server.create(coredns_hpa())
    server.create(configmap(LINEAR))
    p = proportional()
    sync(p.kube, p.loop.watches.informers)
    p.close()  # the caches stand still from here: our write never comes back through them
    server.reset_requests()

    [outcome] = p.loop.evaluate(p.clock.now(), 0)
    assert p.loop.evaluate(p.clock.now(), 0) == []

    assert outcome.values == {"minReplicas": (2, 6)}
    assert len([r for r in server.requests if r.method == "PATCH"]) == 1
