"""The schedule loop through the real client, over HTTP, against the in-process API server."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any

from scalers.kube.writer import RETRY_AFTER
from scalers.schedule.loop import FIELD_MANAGER
from tests.builders import hpa, workload
from tests.support import BUSINESS_HOURS, HPA, SCHEDULE, START, at, events_for, patches

START_TEXT = START.strftime("%Y-%m-%dT%H:%M:%SZ")


def without_bookkeeping(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as a user sees it, minus what every write changes."""
    result = copy.deepcopy(obj)
    for key in ("resourceVersion", "managedFields", "generation"):
        result["metadata"].pop(key, None)
    return result


def test_a_fire_changes_min_and_max_and_nothing_else(server, harness):
    server.create(hpa("web", BUSINESS_HOURS, 2, 20), manager="argocd-controller")
    h = harness()
    assert h.tick(at(8, 59)) == []  # catch-up: Monday 08:59 still has Friday 18:00's values
    before = server.get(*HPA, "shop", "web")
    server.reset_requests()

    outcomes = h.tick(at(9, 0, 0.4))

    after = server.get(*HPA, "shop", "web")
    expected = copy.deepcopy(without_bookkeeping(before))
    expected["spec"].update(minReplicas=10, maxReplicas=40)
    assert without_bookkeeping(after) == expected
    assert [(o.reason, o.action, o.values) for o in outcomes] == [
        ("fire", "write", {"minReplicas": (2, 10), "maxReplicas": (20, 40)})
    ]
    assert len(patches(server)) == 1, "min and max go in one request"
    ours = [e for e in after["metadata"]["managedFields"] if e["manager"] == FIELD_MANAGER]
    assert len(ours) == 1 and ours[0]["operation"] == "Update"
    assert ours[0]["fieldsV1"] == {"f:spec": {"f:maxReplicas": {}, "f:minReplicas": {}}}


def test_nothing_is_written_when_already_right(server, harness):
    server.create(hpa("web", BUSINESS_HOURS, 10, 40), manager="argocd-controller")
    h = harness()
    h.tick(at(8, 0))  # catch-up writes Friday evening's 2/20
    server.patch(
        *HPA, "shop", "web", {"spec": {"minReplicas": 10, "maxReplicas": 40}}, manager="ops"
    )
    server.reset_requests()
    assert h.tick(at(9, 0)) == []
    assert server.get(*HPA, "shop", "web")["spec"]["minReplicas"] == 10
    assert patches(server) == []


def test_catch_up_at_start_applies_the_values_scheduled_now(server, harness):
    server.create(hpa("web", BUSINESS_HOURS, 2, 20), manager="argocd-controller")
    h = harness()

    outcomes = h.tick(at(12, 0))  # started at noon: the 09:00 fire was missed

    spec = server.get(*HPA, "shop", "web")["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (10, 40)
    assert [(o.reason, o.action) for o in outcomes] == [("catch-up", "write")]


def test_missed_fires_while_down_are_not_overrides(server, harness, clock):
    server.create(hpa("web", BUSINESS_HOURS, 2, 20), manager="argocd-controller")
    first = harness()
    first.tick(at(8, 0))
    first.close()
    # Someone changes min at 08:30, then the controller is down through the 09:00 fire.
    clock.set(at(8, 30))
    server.patch(*HPA, "shop", "web", {"spec": {"minReplicas": 5}}, manager="kubectl-patch")

    second = harness()
    second.tick(at(9, 30))

    spec = server.get(*HPA, "shop", "web")["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (10, 40)


def test_an_override_after_the_fire_survives_a_restart(server, harness, clock):
    server.create(hpa("web", BUSINESS_HOURS, 2, 20), manager="argocd-controller")
    first = harness()
    first.tick(at(8, 0))
    first.tick(at(9, 0))
    clock.set(at(9, 30))
    server.patch(*HPA, "shop", "web", {"spec": {"minReplicas": 15}}, manager="kubectl-patch")
    first.sync()
    first.events.flush()
    assert [e["reason"] for e in events_for(server, "web")].count("OverrideObserved") == 1
    first.close()

    restarted = harness()
    outcomes = restarted.tick(at(10, 0))

    spec = server.get(*HPA, "shop", "web")["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (15, 40)
    assert outcomes == []
    assert "OverrideKept" in [e["reason"] for e in events_for(server, "web")]
    # The next fire wins again.
    restarted.tick(at(18, 0))
    assert server.get(*HPA, "shop", "web")["spec"]["minReplicas"] == 2


def test_a_new_hpa_fresh_from_git_gets_the_scheduled_values(server, harness, clock):
    h = harness()
    h.tick(at(9, 30))
    server.create(hpa("web", BUSINESS_HOURS, 2, 20), manager="argocd-controller")  # after the fire

    h.tick(at(9, 31))

    spec = server.get(*HPA, "shop", "web")["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (10, 40)


def test_an_annotation_change_catches_up_at_once(server, harness):
    server.create(
        hpa("web", json.dumps([{"schedule": "0 9 * * *", "minReplicas": 3}])), manager="git"
    )
    h = harness()
    h.tick(at(10, 0))
    assert server.get(*HPA, "shop", "web")["spec"]["minReplicas"] == 3

    server.patch(
        *HPA,
        "shop",
        "web",
        {
            "metadata": {
                "annotations": {
                    "zalando.org/schedule-actions": json.dumps(
                        [{"schedule": "0 9 * * *", "minReplicas": 6}]
                    )
                }
            }
        },
        manager="git",
    )
    h.tick(at(10, 1))

    assert server.get(*HPA, "shop", "web")["spec"]["minReplicas"] == 6


def test_a_slow_tick_applies_the_latest_fire_it_spans(server, harness):
    actions = json.dumps(
        [
            {"schedule": "*/10 * * * *", "minReplicas": 4},
            {"schedule": "5 9 * * *", "minReplicas": 7},
        ]
    )
    server.create(hpa("web", actions, 4, 20), manager="git")
    h = harness()
    h.tick(at(9, 0, 30))
    outcomes = h.tick(at(9, 6))  # the 09:05 fire happened during a long pass

    assert server.get(*HPA, "shop", "web")["spec"]["minReplicas"] == 7
    assert [o.reason for o in outcomes] == ["fire"]


def test_a_bad_annotation_affects_only_its_object_and_is_reported_once(server, harness):
    server.create(hpa("broken", '[{"schedule": "0 0 9 * * 1-5", "minReplicas": 4}]'), manager="git")
    server.create(hpa("web", BUSINESS_HOURS, 2, 20), manager="git")
    h = harness()

    h.tick(at(12, 0))
    server.patch(*HPA, "shop", "broken", {"metadata": {"labels": {"team": "a"}}}, manager="git")
    h.tick(at(12, 1))
    h.tick(at(12, 2))

    warnings = [e for e in events_for(server, "broken") if e["type"] == "Warning"]
    assert [e["reason"] for e in warnings] == ["InvalidSchedule"]
    assert "6 fields" in warnings[0]["message"]
    assert server.get(*HPA, "shop", "broken")["spec"]["minReplicas"] == 2
    assert server.get(*HPA, "shop", "web")["spec"]["minReplicas"] == 10


def test_a_scheduled_min_above_the_max_is_refused_with_an_event(server, harness):
    server.create(
        hpa("web", json.dumps([{"schedule": "0 9 * * *", "minReplicas": 50}]), 2, 20), manager="git"
    )
    h = harness()
    server.reset_requests()

    outcomes = h.tick(at(12, 0))

    assert [o.action for o in outcomes] == ["refused"]
    assert patches(server) == []
    assert server.get(*HPA, "shop", "web")["spec"]["minReplicas"] == 2
    refusals = [e for e in events_for(server, "web") if e["reason"] == "ScheduleRefused"]
    assert len(refusals) == 1 and "50" in refusals[0]["message"] and "20" in refusals[0]["message"]


def test_dry_run_writes_nothing(server, harness):
    server.create(hpa("web", BUSINESS_HOURS, 2, 20), manager="git")
    server.create(hpa("broken", "not json"), manager="git")
    h = harness(dry_run=True)
    server.reset_requests()

    outcomes = h.tick(at(12, 0))

    assert [o.action for o in outcomes] == ["would-write"]
    assert [r for r in server.requests if r.method != "GET"] == []
    assert server.get(*HPA, "shop", "web")["spec"]["minReplicas"] == 2


def test_suspended_objects_are_left_alone(server, harness):
    server.create(
        hpa("web", BUSINESS_HOURS, 2, 20, annotations={"kube-scalers.io/suspend": "true"}),
        manager="git",
    )
    h = harness()
    h.tick(at(12, 0))
    h.tick(at(18, 0))
    assert server.get(*HPA, "shop", "web")["spec"]["minReplicas"] == 2


def test_the_zone_annotation_and_the_default_zone(server, harness):
    # 5 at 09:00 on 2 November, 2 since midnight on 1 November.
    actions = json.dumps(
        [{"schedule": "0 9 2 11 *", "minReplicas": 5}, {"schedule": "0 0 1 11 *", "minReplicas": 2}]
    )
    server.create(
        hpa("berlin", actions, annotations={"kube-scalers.io/timezone": "Europe/Berlin"}),
        manager="git",
    )
    server.create(hpa("default", actions), manager="git")
    h = harness(zone="America/New_York")
    h.tick(at(7, 59))  # 08:59 in Berlin, 02:59 in New York: both still at 1 November's 2

    h.tick(at(8, 0))  # 09:00 in Berlin
    assert server.get(*HPA, "shop", "berlin")["spec"]["minReplicas"] == 5
    assert server.get(*HPA, "shop", "default")["spec"]["minReplicas"] == 2

    h.tick(at(14, 0))  # 09:00 in New York
    assert server.get(*HPA, "shop", "default")["spec"]["minReplicas"] == 5


def test_a_failed_write_is_retried(server, harness):
    server.create(hpa("web", BUSINESS_HOURS, 2, 20), manager="git")
    h = harness()
    h.tick(at(8, 0))
    server.faults.inject(  # more than the client's 4 retries
        status=500, count=5, method="PATCH", path_contains="horizontalpodautoscalers"
    )

    assert [o.action for o in h.tick(at(9, 0))] == ["failed"]
    assert server.get(*HPA, "shop", "web")["spec"]["minReplicas"] == 2

    h.tick(at(9, 0) + timedelta(seconds=RETRY_AFTER))
    assert server.get(*HPA, "shop", "web")["spec"]["minReplicas"] == 10


def test_a_write_the_server_refuses_as_invalid_is_reported_not_retried(server, harness):
    server.create(hpa("web", BUSINESS_HOURS, 2, 20), manager="git")
    h = harness()
    h.tick(at(8, 0))
    server.faults.inject(
        status=422, count=1, method="PATCH", path_contains="horizontalpodautoscalers"
    )

    assert [o.action for o in h.tick(at(9, 0))] == ["failed"]
    server.reset_requests()
    h.tick(at(9, 0) + timedelta(seconds=RETRY_AFTER))

    assert patches(server) == []
    failures = [e for e in events_for(server, "web") if e["reason"] == "ScheduleWriteFailed"]
    assert len(failures) == 1 and "HTTP 422" in failures[0]["message"]


def test_deployment_replicas_go_through_the_scale_subresource(server, harness):
    actions = json.dumps([{"schedule": "0 9 * * *", "replicas": 6}])
    worker = workload(
        "Deployment", "worker", 0, namespace="shop", container="w", image="busybox",
        annotations={SCHEDULE: actions},
    )  # fmt: skip
    server.create(worker, manager="git")
    h = harness()
    server.reset_requests()

    h.tick(at(9, 0))

    obj = server.get("apps/v1", "Deployment", "shop", "worker")
    assert obj["spec"]["replicas"] == 6
    assert [r.path for r in patches(server)] == [
        "/apis/apps/v1/namespaces/shop/deployments/worker/scale"
    ]
    ours = [e for e in obj["metadata"]["managedFields"] if e["manager"] == FIELD_MANAGER]
    assert ours and ours[0].get("subresource") == "scale"


def test_the_cache_holds_only_what_the_loop_reads(server, harness):
    """The loop watches every HPA and Deployment of the cluster: it must not keep their pod
    templates, last-applied-configuration and managedFields for the whole spec."""
    template = {
        "metadata": {"labels": {"app": "worker"}},
        "spec": {"containers": [{"name": "w", "image": "busybox", "env": [{"name": "A"}]}]},
    }
    for name, notes in (("worker", {SCHEDULE: json.dumps([{"schedule": "0 9 * * *", "replicas": 6}])}),
                        ("plain", {})):  # fmt: skip
        notes |= {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(template)}
        server.create(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": "shop", "annotations": notes},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}}}
                | {"template": template},
            },
            manager="argocd-controller",
        )
    h = harness()
    h.tick(at(9, 0))
    h.sync()

    (deployments,) = [i for i in h.loop.watches.informers if i.resource.kind == "Deployment"]
    meta = server.get("apps/v1", "Deployment", "shop", "worker")["metadata"]
    assert deployments.get("shop/worker") == {
        "apiVersion": "apps/v1",
        "metadata": {
            "name": "worker",
            "namespace": "shop",
            "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"],
            "annotations": {SCHEDULE: meta["annotations"][SCHEDULE]},
            "managedFields": [  # every writer, but only the fields the loop reads
                {"manager": "argocd-controller", "operation": "Update", "time": START_TEXT}
                | {"fieldsV1": {}},  # it created the object; replicas is ours since 09:00
                {"manager": FIELD_MANAGER, "operation": "Update", "subresource": "scale"}
                | {"time": "2026-11-02T09:00:00Z", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            ],
        },
        "spec": {"replicas": 6},
    }
    assert deployments.get("shop/plain")["spec"] == {"replicas": 1}
    assert deployments.get("shop/plain")["metadata"]["annotations"] == {}
    (event,) = events_for(server, "worker")
    assert event["involvedObject"]["apiVersion"] == "apps/v1"


def test_replicas_on_an_hpa_is_rejected_naming_the_right_fields(server, harness):
    server.create(hpa("web", json.dumps([{"schedule": "0 9 * * *", "replicas": 3}])), manager="git")
    h = harness()
    h.tick(START)
    [event] = events_for(server, "web")
    assert event["reason"] == "InvalidSchedule" and "minReplicas" in event["message"]
