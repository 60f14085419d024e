"""Faithfulness tests of scalers.fakeapi through the real kubernetes client (and kubectl)."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import urllib3
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from scalers.fakeapi import FakeApiError, FakeApiServer
from tests.builders import bare_hpa, deployment

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MERGE = "application/merge-patch+json"
APPLY = "application/apply-patch+yaml"


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def srv(clock: FakeClock) -> Iterator[FakeApiServer]:
    with FakeApiServer(clock=clock, history=1000) as server:
        yield server


@pytest.fixture
def api_client(srv: FakeApiServer) -> Iterator[client.ApiClient]:
    """conftest's, on this module's server (its own clock, a longer watch history)."""
    with srv.api_client() as c:
        yield c


def owners(obj: dict[str, Any]) -> dict[tuple[str, str, str | None], dict[str, Any]]:
    """managedFields keyed by (manager, operation, subresource)."""
    return {
        (m["manager"], m["operation"], m.get("subresource")): m
        for m in obj["metadata"].get("managedFields") or []
    }


def status_of(exc: ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exc.body)
    assert body["kind"] == "Status" and body["apiVersion"] == "v1"
    assert body["status"] == "Failure" and body["code"] == exc.status
    return body


def raw(
    srv: FakeApiServer, method: str, path: str, body: Any = None, ctype: str = "application/json"
) -> urllib3.BaseHTTPResponse:
    """A request the typed client would refuse to send (it validates bodies itself)."""
    data = None if body is None else json.dumps(body).encode()
    return urllib3.request(method, srv.url + path, body=data, headers={"Content-Type": ctype})


def collect(stream: Iterator[dict[str, Any]], w: watch.Watch, n: int) -> list[dict[str, Any]]:
    """The first ``n`` events of a watch (the stream has a timeout as a safety net)."""
    out = []
    for event in stream:
        out.append(event)
        if len(out) == n:
            w.stop()
    return out


# --- typed CRUD and errors ---------------------------------------------------------------


def test_create_get_list_typed_models(srv: FakeApiServer, hpas: client.AutoscalingV2Api) -> None:
    created = hpas.create_namespaced_horizontal_pod_autoscaler(
        "default", bare_hpa(), field_manager="t"
    )
    assert isinstance(created, client.V2HorizontalPodAutoscaler)
    assert created.spec.min_replicas == 1  # defaulted
    assert created.status.desired_replicas == 0 and created.status.current_replicas == 0
    assert created.metadata.creation_timestamp == T0
    assert created.metadata.generation == 1 and created.metadata.uid
    got = hpas.read_namespaced_horizontal_pod_autoscaler("web", "default")
    assert got.metadata.resource_version == created.metadata.resource_version
    srv.create(bare_hpa("api", namespace="other"))
    everything = hpas.list_horizontal_pod_autoscaler_for_all_namespaces()
    assert [h.metadata.name for h in everything.items] == ["web", "api"]
    assert everything.metadata.resource_version == srv.current_resource_version()
    only = hpas.list_namespaced_horizontal_pod_autoscaler("other")
    assert [h.metadata.name for h in only.items] == ["api"]
    raw = srv.get("autoscaling/v2", "HorizontalPodAutoscaler", "other", "api")
    assert raw is not None and raw["kind"] == "HorizontalPodAutoscaler"
    by_name = hpas.list_horizontal_pod_autoscaler_for_all_namespaces(
        field_selector="metadata.name=web"
    )
    assert [h.metadata.namespace for h in by_name.items] == ["default"]


def test_manager_defaults_to_user_agent_prefix(srv: FakeApiServer, hpas: Any) -> None:
    created = hpas.create_namespaced_horizontal_pod_autoscaler("default", bare_hpa())
    assert [m.manager for m in created.metadata.managed_fields] == ["OpenAPI-Generator"]


def test_not_found_and_already_exists(srv: FakeApiServer, hpas: client.AutoscalingV2Api) -> None:
    with pytest.raises(ApiException) as missing:
        hpas.read_namespaced_horizontal_pod_autoscaler("nope", "default")
    body = status_of(missing.value)
    assert missing.value.status == 404 and body["reason"] == "NotFound"
    assert body["details"] == {"name": "nope", "group": "autoscaling",
                               "kind": "horizontalpodautoscalers"}  # fmt: skip
    assert body["message"] == 'horizontalpodautoscalers.autoscaling "nope" not found'
    srv.create(bare_hpa())
    with pytest.raises(ApiException) as dup:
        hpas.create_namespaced_horizontal_pod_autoscaler("default", bare_hpa())
    assert dup.value.status == 409 and status_of(dup.value)["reason"] == "AlreadyExists"
    with pytest.raises(ApiException) as patch_missing:
        hpas.patch_namespaced_horizontal_pod_autoscaler("nope", "default", {}, _content_type=MERGE)
    assert patch_missing.value.status == 404


def test_a_namespace_name_that_no_namespace_can_have_is_invalid(
    srv: FakeApiServer, hpas: client.AutoscalingV2Api
) -> None:
    with pytest.raises(ApiException) as bad:
        hpas.create_namespaced_horizontal_pod_autoscaler("Bad_NS", bare_hpa(namespace="Bad_NS"))
    body = status_of(bad.value)
    assert bad.value.status == 422 and body["reason"] == "Invalid"
    [cause] = body["details"]["causes"]
    assert cause["field"] == "metadata.namespace"
    assert cause["message"].startswith('Invalid value: "Bad_NS": a lowercase RFC 1123 label')


@pytest.mark.parametrize(
    ("spec", "fields"),
    [
        ({"minReplicas": 0}, ["spec.minReplicas"]),
        ({"minReplicas": 5, "maxReplicas": 3}, ["spec.maxReplicas"]),
        ({"maxReplicas": 0}, ["spec.maxReplicas", "spec.maxReplicas"]),  # < 1 and < min
    ],
)
def test_hpa_validation_422(hpas: client.AutoscalingV2Api, spec: Any, fields: list[str]) -> None:
    with pytest.raises(ApiException) as err:
        hpas.create_namespaced_horizontal_pod_autoscaler("default", bare_hpa(**spec))
    body = status_of(err.value)
    assert err.value.status == 422 and body["reason"] == "Invalid"
    assert body["details"]["kind"] == "HorizontalPodAutoscaler"
    assert [c["field"] for c in body["details"]["causes"]] == fields
    assert all(c["reason"] == "FieldValueInvalid" for c in body["details"]["causes"])


def test_hpa_missing_scale_target_ref_422(srv: FakeApiServer) -> None:
    # the typed client refuses such a body itself, so send it raw
    resp = raw(srv, "POST", "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers",
               bare_hpa(scaleTargetRef={}))  # fmt: skip
    body = json.loads(resp.data)
    assert resp.status == 422 and body["reason"] == "Invalid"
    fields = ["spec.scaleTargetRef.kind", "spec.scaleTargetRef.name"]
    assert body["details"]["kind"] == "HorizontalPodAutoscaler"
    assert [c["field"] for c in body["details"]["causes"]] == fields
    assert all(c["reason"] == "FieldValueRequired" for c in body["details"]["causes"])


def test_patch_validation_and_type_errors(srv: FakeApiServer, hpas: Any) -> None:
    before = srv.create(bare_hpa())
    with pytest.raises(ApiException) as err:
        hpas.patch_namespaced_horizontal_pod_autoscaler(
            "web", "default", {"spec": {"minReplicas": 20}}, _content_type=MERGE
        )
    assert err.value.status == 422
    with pytest.raises(ApiException) as bad:
        hpas.patch_namespaced_horizontal_pod_autoscaler(
            "web", "default", {"spec": {"minReplicas": "two"}}, _content_type=MERGE
        )
    assert bad.value.status == 400 and status_of(bad.value)["reason"] == "BadRequest"
    assert srv.get("autoscaling/v2", "HorizontalPodAutoscaler", "default", "web") == before


def test_a_lease_time_without_its_six_fraction_digits_is_refused(
    srv: FakeApiServer, api_client: client.ApiClient
) -> None:
    """A Lease's times are MicroTimes, parsed with RFC3339Micro: the typed client's isoformat()
    of a whole second ("...T08:00:00+00:00") is refused, as a real server refuses it."""
    leases = client.CoordinationV1Api(api_client)

    def lease(name: str, renewed: str) -> dict[str, Any]:
        spec = {"holderIdentity": "a", "renewTime": renewed}
        return {"metadata": {"name": name, "namespace": "default"}, "spec": spec}

    leases.create_namespaced_lease("default", lease("good", "2026-11-02T08:00:00.000001Z"))
    with pytest.raises(ApiException) as bad:
        leases.create_namespaced_lease("default", lease("bad", "2026-11-02T08:00:00.000000Z"))
    assert bad.value.status == 400 and "2006-01-02T15:04:05.000000Z07:00" in bad.value.body
    assert srv.get("coordination.k8s.io/v1", "Lease", "default", "bad") is None
    with pytest.raises(ApiException) as patched:
        leases.patch_namespaced_lease(
            "good", "default", {"spec": {"renewTime": "2026-11-02T08:00:01Z"}},
            _content_type=MERGE,
        )  # fmt: skip
    assert patched.value.status == 400


def test_put_with_stale_resource_version_conflicts(srv: FakeApiServer, hpas: Any) -> None:
    srv.create(bare_hpa())
    stale = hpas.read_namespaced_horizontal_pod_autoscaler("web", "default")
    srv.patch("autoscaling/v2", "HorizontalPodAutoscaler", "default", "web",
              {"spec": {"maxReplicas": 20}}, manager="other")  # fmt: skip
    stale.spec.max_replicas = 30
    with pytest.raises(ApiException) as err:
        hpas.replace_namespaced_horizontal_pod_autoscaler("web", "default", stale)
    assert err.value.status == 409 and status_of(err.value)["reason"] == "Conflict"
    stale.metadata.resource_version = srv.current_resource_version()
    assert hpas.replace_namespaced_horizontal_pod_autoscaler("web", "default", stale)


def test_deployment_validation_and_unknown_fields(
    srv: FakeApiServer, api_client: client.ApiClient
) -> None:
    apps = client.AppsV1Api(api_client)
    with pytest.raises(ApiException) as err:
        apps.create_namespaced_deployment("default", deployment(replicas=-1))
    assert err.value.status == 422
    assert status_of(err.value)["details"]["causes"][0]["field"] == "spec.replicas"
    body = deployment()
    body["spec"]["bogus"] = 1  # the typed client refuses unknown fields itself: send it raw
    path = "/apis/apps/v1/namespaces/default/deployments"
    strict = raw(srv, "POST", path + "?fieldValidation=Strict", body)
    assert (
        strict.status == 400 and 'unknown field "spec.bogus"' in json.loads(strict.data)["message"]
    )
    warned = raw(srv, "POST", path, body)
    assert warned.status == 201 and 'unknown field \\"spec.bogus\\"' in warned.headers["Warning"]
    assert "bogus" not in json.loads(warned.data)["spec"]


# --- patches and managedFields -----------------------------------------------------------


def test_merge_patch_changes_one_leaf_and_moves_ownership(
    srv: FakeApiServer, hpas: client.AutoscalingV2Api, clock: FakeClock
) -> None:
    seeded = bare_hpa(minReplicas=2)
    seeded["metadata"]["annotations"] = {"zalando.org/schedule-actions": "[]"}
    before = srv.create(seeded, manager="argocd")
    argocd = owners(before)[("argocd", "Update", None)]["fieldsV1"]
    assert argocd["f:metadata"] == {"f:annotations": {"f:zalando.org/schedule-actions": {}}}
    assert "f:minReplicas" in argocd["f:spec"] and "f:status" not in argocd

    clock.now = T0 + timedelta(minutes=5)
    hpas.patch_namespaced_horizontal_pod_autoscaler(
        "web", "default", {"spec": {"minReplicas": 3}}, field_manager="x", _content_type=MERGE
    )
    after = srv.get("autoscaling/v2", "HorizontalPodAutoscaler", "default", "web")
    assert after is not None
    assert int(after["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])
    assert after["metadata"]["generation"] == 2  # spec changed
    for obj in (before, after):
        for key in ("resourceVersion", "managedFields", "generation"):
            del obj["metadata"][key]
    before["spec"]["minReplicas"] = 3
    assert after == before  # nothing but the patched leaf changed

    managed = owners(srv.get("autoscaling/v2", "HorizontalPodAutoscaler", "default", "web") or {})
    assert managed[("x", "Update", None)]["fieldsV1"] == {"f:spec": {"f:minReplicas": {}}}
    assert managed[("x", "Update", None)]["time"] == "2026-01-01T00:05:00Z"
    assert managed[("x", "Update", None)]["apiVersion"] == "autoscaling/v2"
    assert "f:minReplicas" not in managed[("argocd", "Update", None)]["fieldsV1"]["f:spec"]
    assert managed[("argocd", "Update", None)]["time"] == "2026-01-01T00:00:00Z"


def test_noop_write_keeps_resource_version_and_managed_fields(
    srv: FakeApiServer, hpas: client.AutoscalingV2Api
) -> None:
    before = srv.create(bare_hpa(minReplicas=2), manager="argocd")
    rv = srv.current_resource_version()
    same = hpas.patch_namespaced_horizontal_pod_autoscaler(
        "web", "default", {"spec": {"minReplicas": 2}}, field_manager="x", _content_type=MERGE
    )
    assert same.metadata.resource_version == rv == srv.current_resource_version()
    after = srv.get("autoscaling/v2", "HorizontalPodAutoscaler", "default", "web")
    assert after == before  # managedFields untouched: "x" owns nothing
    w = watch.Watch()
    events = list(w.stream(hpas.list_namespaced_horizontal_pod_autoscaler, "default",
                           resource_version=rv, timeout_seconds=1))  # fmt: skip
    assert events == []


def test_json_patch_and_strategic_patch(srv: FakeApiServer, hpas: Any) -> None:
    srv.create(bare_hpa())
    ops = [{"op": "test", "path": "/spec/minReplicas", "value": 1},
           {"op": "replace", "path": "/spec/minReplicas", "value": 4}]  # fmt: skip
    assert (
        hpas.patch_namespaced_horizontal_pod_autoscaler("web", "default", ops).spec.min_replicas
        == 4
    )
    with pytest.raises(ApiException) as err:
        hpas.patch_namespaced_horizontal_pod_autoscaler("web", "default", ops)  # test op fails now
    assert err.value.status == 422
    patched = hpas.patch_namespaced_horizontal_pod_autoscaler(  # dict body = strategic merge
        "web", "default", {"metadata": {"labels": {"a": "b"}}}
    )
    assert patched.metadata.labels == {"a": "b"} and patched.spec.min_replicas == 4


def test_apply_conflict_force_and_shared_ownership(
    srv: FakeApiServer, hpas: client.AutoscalingV2Api
) -> None:
    srv.create(bare_hpa(minReplicas=2), manager="argocd")
    config = bare_hpa(minReplicas=3)
    with pytest.raises(ApiException) as err:
        hpas.patch_namespaced_horizontal_pod_autoscaler(
            "web", "default", config, field_manager="scaler", _content_type=APPLY
        )
    body = status_of(err.value)
    assert err.value.status == 409 and body["reason"] == "Conflict"
    assert 'conflict with "argocd"' in body["message"] and ".spec.minReplicas" in body["message"]
    cause = body["details"]["causes"][0]
    assert cause["type"] == "FieldManagerConflict" and cause["field"] == ".spec.minReplicas"

    forced = hpas.patch_namespaced_horizontal_pod_autoscaler(
        "web", "default", config, field_manager="scaler", force=True, _content_type=APPLY
    )
    assert forced.spec.min_replicas == 3
    managed = owners(srv.get("autoscaling/v2", "HorizontalPodAutoscaler", "default", "web") or {})
    assert "f:minReplicas" in managed[("scaler", "Apply", None)]["fieldsV1"]["f:spec"]
    assert "f:minReplicas" not in managed[("argocd", "Update", None)]["fieldsV1"]["f:spec"]
    # maxReplicas was applied with the value argocd set: shared, no conflict
    assert "f:maxReplicas" in managed[("argocd", "Update", None)]["fieldsV1"]["f:spec"]
    assert "f:maxReplicas" in managed[("scaler", "Apply", None)]["fieldsV1"]["f:spec"]


def test_apply_requires_field_manager(hpas: client.AutoscalingV2Api) -> None:
    with pytest.raises(ApiException) as err:
        hpas.patch_namespaced_horizontal_pod_autoscaler(
            "web", "default", bare_hpa(), _content_type=APPLY
        )
    assert err.value.status == 422 and "fieldManager" in status_of(err.value)["message"]


def test_apply_creates_and_removes_omitted_fields(
    srv: FakeApiServer, hpas: client.AutoscalingV2Api
) -> None:
    config = bare_hpa(minReplicas=2)
    config["metadata"]["annotations"] = {"a": "1", "b": "2", "c": "3"}
    created = hpas.patch_namespaced_horizontal_pod_autoscaler(
        "web", "default", config, field_manager="scaler", _content_type=APPLY
    )
    assert created.metadata.annotations == {"a": "1", "b": "2", "c": "3"}
    srv.patch(
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        "default",
        "web",
        {"metadata": {"annotations": {"c": "3"}}},
        manager="other",
    )  # same value: no-op
    shared = bare_hpa()
    shared["metadata"]["annotations"] = {"c": "3"}
    srv.apply(shared, manager="other")  # same values: shared ownership, no conflict
    config["metadata"]["annotations"] = {"a": "1"}
    del config["spec"]["minReplicas"]
    after = hpas.patch_namespaced_horizontal_pod_autoscaler(
        "web", "default", config, field_manager="scaler", _content_type=APPLY
    )
    # b: only scaler owned it -> removed; c: "other" co-owns it -> kept
    assert after.metadata.annotations == {"a": "1", "c": "3"}
    assert after.spec.min_replicas == 1  # removed, then defaulted again
    managed = owners(srv.get("autoscaling/v2", "HorizontalPodAutoscaler", "default", "web") or {})
    assert managed[("scaler", "Apply", None)]["fieldsV1"]["f:metadata"] == {
        "f:annotations": {"f:a": {}}
    }


def test_scale_subresource_records_subresource(
    srv: FakeApiServer, api_client: client.ApiClient
) -> None:
    apps = client.AppsV1Api(api_client)
    apps.create_namespaced_deployment("default", deployment(replicas=2), field_manager="argocd")
    scale = apps.read_namespaced_deployment_scale("web", "default")
    assert scale.spec.replicas == 2 and scale.status.selector == "app=web"
    assert scale.kind == "Scale" and scale.api_version == "autoscaling/v1"
    result = apps.patch_namespaced_deployment_scale(
        "web", "default", {"spec": {"replicas": 5}}, field_manager="scaler", _content_type=MERGE
    )
    assert isinstance(result, client.V1Scale) and result.spec.replicas == 5
    dep = srv.get("apps/v1", "Deployment", "default", "web") or {}
    assert dep["spec"]["replicas"] == 5
    managed = owners(dep)
    entry = managed[("scaler", "Update", "scale")]
    assert entry["subresource"] == "scale" and entry["apiVersion"] == "apps/v1"
    assert entry["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in managed[("argocd", "Update", None)]["fieldsV1"]["f:spec"]
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": -1}})
    assert err.value.status == 422


def test_status_subresource_is_separate(srv: FakeApiServer, hpas: Any) -> None:
    srv.create(bare_hpa())
    hpas.patch_namespaced_horizontal_pod_autoscaler(
        "web", "default", {"status": {"desiredReplicas": 7}}, _content_type=MERGE
    )
    assert (
        hpas.read_namespaced_horizontal_pod_autoscaler("web", "default").status.desired_replicas
        == 0
    )
    out = hpas.patch_namespaced_horizontal_pod_autoscaler_status(
        "web", "default", {"status": {"currentReplicas": 3, "desiredReplicas": 4},
                           "spec": {"maxReplicas": 99}},
        field_manager="hpa-controller", _content_type=MERGE,
    )  # fmt: skip
    assert out.status.current_replicas == 3 and out.spec.max_replicas == 10
    managed = owners(srv.get("autoscaling/v2", "HorizontalPodAutoscaler", "default", "web") or {})
    assert set(managed[("hpa-controller", "Update", "status")]["fieldsV1"]["f:status"]) == {
        "f:currentReplicas", "f:desiredReplicas",
    }  # fmt: skip


def test_dry_run_and_generate_name(srv: FakeApiServer, hpas: client.AutoscalingV2Api) -> None:
    rv = srv.current_resource_version()
    hpas.create_namespaced_horizontal_pod_autoscaler("default", bare_hpa(), dry_run="All")
    assert srv.get("autoscaling/v2", "HorizontalPodAutoscaler", "default", "web") is None
    assert srv.current_resource_version() == rv
    body = bare_hpa()
    body["metadata"] = {"generateName": "web-"}
    made = hpas.create_namespaced_horizontal_pod_autoscaler("default", body)
    assert made.metadata.name.startswith("web-") and len(made.metadata.name) == 9


def test_delete_emits_deleted_and_status(srv: FakeApiServer, hpas: Any) -> None:
    srv.create(bare_hpa())
    rv = srv.current_resource_version()
    status = hpas.delete_namespaced_horizontal_pod_autoscaler("web", "default")  # -> dict
    assert status["kind"] == "Status" and status["status"] == "Success"
    assert status["details"]["name"] == "web"
    w = watch.Watch()
    events = collect(w.stream(hpas.list_namespaced_horizontal_pod_autoscaler, "default",
                              resource_version=rv, timeout_seconds=2), w, 1)  # fmt: skip
    assert [e["type"] for e in events] == ["DELETED"]
    assert events[0]["object"].metadata.resource_version == srv.current_resource_version()


# --- other kinds ---------------------------------------------------------------------------


def test_nodes_leases_configmaps_events(srv: FakeApiServer, api_client: Any) -> None:
    core = client.CoreV1Api(api_client)
    srv.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
                "status": {"allocatable": {"cpu": "4"}}})  # fmt: skip
    core.create_node({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n2"}})
    nodes = core.list_node()
    assert [n.metadata.name for n in nodes.items] == ["n1", "n2"]
    assert nodes.items[0].status.allocatable == {"cpu": "4"}
    assert nodes.items[1].status.node_info.operating_system == "linux"
    assert srv.get("v1", "Node", None, "n1") is not None

    leases = client.CoordinationV1Api(api_client)
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "leader"}, "spec": {"holderIdentity": "a"}}  # fmt: skip
    made = leases.create_namespaced_lease("default", lease)
    made.spec.holder_identity = "b"
    assert leases.replace_namespaced_lease("leader", "default", made).spec.holder_identity == "b"

    cm = core.create_namespaced_config_map(
        "default", {"metadata": {"name": "c"}, "data": {"k": "v"}}
    )
    assert cm.data == {"k": "v"} and cm.kind == "ConfigMap"
    event = {"metadata": {"name": "e1"}, "reason": "Scaled", "message": "m",
             "involvedObject": {"kind": "HorizontalPodAutoscaler", "name": "web"}}  # fmt: skip
    assert core.create_namespaced_event("default", event).involved_object.name == "web"
    assert len(core.list_event_for_all_namespaces().items) == 1


# --- watches -------------------------------------------------------------------------------


def test_watch_replays_from_resource_version(srv: FakeApiServer, hpas: Any) -> None:
    srv.create(bare_hpa("a"))
    rv = hpas.list_namespaced_horizontal_pod_autoscaler("default").metadata.resource_version
    srv.create(bare_hpa("b"))
    srv.patch("autoscaling/v2", "HorizontalPodAutoscaler", "default", "a",
              {"spec": {"maxReplicas": 20}}, manager="m")  # fmt: skip
    w = watch.Watch()
    events = collect(w.stream(hpas.list_namespaced_horizontal_pod_autoscaler, "default",
                              resource_version=rv, timeout_seconds=5), w, 2)  # fmt: skip
    assert [(e["type"], e["object"].metadata.name) for e in events] == [
        ("ADDED", "b"), ("MODIFIED", "a"),
    ]  # fmt: skip
    assert isinstance(events[1]["object"], client.V2HorizontalPodAutoscaler)

    w = watch.Watch()  # no resourceVersion: synthetic ADDED for the current state
    events = collect(w.stream(hpas.list_namespaced_horizontal_pod_autoscaler, "default",
                              timeout_seconds=5), w, 2)  # fmt: skip
    assert sorted((e["type"], e["object"].metadata.name) for e in events) == [
        ("ADDED", "a"), ("ADDED", "b"),
    ]  # fmt: skip


def test_live_events_reach_a_watcher(srv: FakeApiServer, hpas: Any) -> None:
    rv = srv.current_resource_version()
    w = watch.Watch()
    events: list[dict[str, Any]] = []
    stream = w.stream(hpas.list_namespaced_horizontal_pod_autoscaler, "default",
                      resource_version=rv, timeout_seconds=5)  # fmt: skip
    reader = threading.Thread(target=lambda: events.extend(collect(stream, w, 1)))
    reader.start()
    srv.create(bare_hpa())
    reader.join(timeout=5)
    assert [e["type"] for e in events] == ["ADDED"]


def test_watch_from_compacted_rv_is_410(srv: FakeApiServer, hpas: Any) -> None:
    srv.create(bare_hpa())
    rv = srv.current_resource_version()
    srv.patch("autoscaling/v2", "HorizontalPodAutoscaler", "default", "web",
              {"spec": {"maxReplicas": 20}}, manager="m")  # fmt: skip
    srv.compact()
    with pytest.raises(ApiException) as err:
        list(watch.Watch().stream(hpas.list_namespaced_horizontal_pod_autoscaler, "default",
                                  resource_version=rv, timeout_seconds=2))  # fmt: skip
    assert err.value.status == 410 and "too old resource version" in err.value.reason
    # the raw stream carries one ERROR event with an Expired Status
    raw = urllib3.PoolManager().request(
        "GET",
        f"{srv.url}/apis/autoscaling/v2/horizontalpodautoscalers?watch=1&resourceVersion={rv}",
    )
    lines = raw.data.decode().splitlines()
    assert len(lines) == 1
    event = json.loads(lines[0])
    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410 and event["object"]["reason"] == "Expired"


def test_history_limit_gives_410() -> None:
    with FakeApiServer(history=3) as small:
        small.create(bare_hpa("a"))
        rv = small.current_resource_version()
        for n in range(5):
            small.patch("autoscaling/v2", "HorizontalPodAutoscaler", "default", "a",
                        {"spec": {"maxReplicas": 20 + n}}, manager="m")  # fmt: skip
        api = client.AutoscalingV2Api(small.api_client())
        with pytest.raises(ApiException) as err:
            list(watch.Watch().stream(api.list_namespaced_horizontal_pod_autoscaler, "default",
                                      resource_version=rv, timeout_seconds=2))  # fmt: skip
        assert err.value.status == 410


def test_bookmarks_arrive(srv: FakeApiServer, hpas: client.AutoscalingV2Api) -> None:
    srv.bookmark_interval = 0.05
    srv.create(bare_hpa())
    w = watch.Watch()
    events = collect(w.stream(hpas.list_namespaced_horizontal_pod_autoscaler, "default",
                              allow_watch_bookmarks=True, timeout_seconds=5), w, 2)  # fmt: skip
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK"]
    bookmark = events[1]["raw_object"]
    assert bookmark["kind"] == "HorizontalPodAutoscaler"
    assert bookmark["metadata"] == {"resourceVersion": srv.current_resource_version()}


def test_drop_watches_ends_stream_abruptly(srv: FakeApiServer, hpas: Any) -> None:
    srv.create(bare_hpa())
    seen: list[Any] = []

    def run() -> None:
        try:
            for event in watch.Watch().stream(
                hpas.list_namespaced_horizontal_pod_autoscaler, "default", timeout_seconds=10
            ):
                seen.append(event["type"])
        except urllib3.exceptions.ProtocolError as exc:
            seen.append(exc)

    reader = threading.Thread(target=run)
    reader.start()
    deadline = time.monotonic() + 5
    while not seen and time.monotonic() < deadline:
        time.sleep(0.01)
    srv.drop_watches()
    reader.join(timeout=5)
    assert not reader.is_alive()
    assert seen[0] == "ADDED" and isinstance(seen[1], urllib3.exceptions.ProtocolError)


def test_label_selector_watch_turns_label_changes_into_added_deleted(
    srv: FakeApiServer, hpas: Any
) -> None:
    srv.create(bare_hpa())
    rv = srv.current_resource_version()
    kind = ("autoscaling/v2", "HorizontalPodAutoscaler", "default", "web")
    srv.patch(*kind, {"metadata": {"labels": {"team": "a"}}}, manager="m")
    srv.patch(*kind, {"spec": {"maxReplicas": 11}}, manager="m")
    srv.patch(*kind, {"metadata": {"labels": {"team": "b"}}}, manager="m")
    srv.patch(*kind, {"spec": {"maxReplicas": 12}}, manager="m")  # invisible: not selected
    w = watch.Watch()
    events = collect(w.stream(hpas.list_namespaced_horizontal_pod_autoscaler, "default",
                              resource_version=rv, label_selector="team=a",
                              timeout_seconds=5), w, 3)  # fmt: skip
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    assert events[2]["object"].metadata.labels == {"team": "b"}
    listed = hpas.list_namespaced_horizontal_pod_autoscaler(
        "default", label_selector="team in (b,c)"
    )
    assert len(listed.items) == 1
    assert not hpas.list_namespaced_horizontal_pod_autoscaler(
        "default", label_selector="!team"
    ).items


# --- faults and the request log --------------------------------------------------------------


def test_injected_429_and_500_without_retry_after(srv: FakeApiServer, hpas: Any) -> None:
    srv.create(bare_hpa())
    srv.faults.inject(status=429, count=1, method="PATCH", path_contains="horizontalpodautoscalers")
    srv.faults.inject(status=500, count=1, method="PATCH", path_contains="horizontalpodautoscalers")
    for code, reason in ((429, "TooManyRequests"), (500, "InternalError")):
        with pytest.raises(ApiException) as err:
            hpas.patch_namespaced_horizontal_pod_autoscaler(
                "web", "default", {"spec": {"maxReplicas": 5}}, _content_type=MERGE
            )
        assert err.value.status == code and status_of(err.value)["reason"] == reason
        assert "Retry-After" not in err.value.headers
    ok = hpas.patch_namespaced_horizontal_pod_autoscaler(
        "web", "default", {"spec": {"maxReplicas": 5}}, _content_type=MERGE
    )
    assert ok.spec.max_replicas == 5
    assert [r.status for r in srv.requests if r.method == "PATCH"] == [429, 500, 200]


def test_retry_after_is_retried_by_urllib3_only_for_idempotent_methods(
    srv: FakeApiServer, hpas: Any
) -> None:
    """urllib3's default Retry honours Retry-After on 429/503 for GET/PUT/DELETE, not PATCH."""
    srv.create(bare_hpa())
    srv.reset_requests()
    srv.faults.inject(status=503, count=1, method="GET", retry_after=0)
    assert hpas.read_namespaced_horizontal_pod_autoscaler("web", "default").metadata.name == "web"
    assert [(r.method, r.status) for r in srv.requests] == [("GET", 503), ("GET", 200)]

    srv.reset_requests()
    srv.faults.inject(status=429, count=1, method="PATCH", retry_after=0)
    with pytest.raises(ApiException) as err:
        hpas.patch_namespaced_horizontal_pod_autoscaler(
            "web", "default", {"spec": {"maxReplicas": 5}}, _content_type=MERGE
        )
    assert err.value.status == 429 and err.value.headers["Retry-After"] == "0"
    assert status_of(err.value)["details"] == {"retryAfterSeconds": 0}
    assert [(r.method, r.status) for r in srv.requests] == [("PATCH", 429)]


def test_request_log_records_watch_and_query(srv: FakeApiServer, hpas: Any) -> None:
    list(watch.Watch().stream(hpas.list_namespaced_horizontal_pod_autoscaler, "default",
                              timeout_seconds=1))  # fmt: skip
    record = srv.requests[-1]
    assert record.watch and record.method == "GET" and record.status == 200
    assert record.query["timeoutSeconds"] == "1"
    assert record.path == "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers"


def test_direct_api_errors(srv: FakeApiServer) -> None:
    with pytest.raises(FakeApiError) as err:
        srv.create(bare_hpa(minReplicas=0))
    assert err.value.code == 422
    with pytest.raises(FakeApiError):
        srv.delete("autoscaling/v2", "HorizontalPodAutoscaler", "default", "missing")


def test_concurrent_patches_from_16_threads(srv: FakeApiServer, hpas: Any) -> None:
    for n in range(16):
        srv.create(bare_hpa(f"h{n}"))
    start_rv = int(srv.current_resource_version())

    def work(i: int) -> None:
        hpas.patch_namespaced_horizontal_pod_autoscaler(
            f"h{i % 16}", "default", {"spec": {"maxReplicas": 11 + i}}, field_manager="bench",
            _content_type=MERGE,
        )  # fmt: skip

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(work, range(320)))
    assert int(srv.current_resource_version()) == start_rv + 320  # none lost, none doubled


# --- kubectl -------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kubectl_get_and_patch(srv: FakeApiServer, tmp_path: Path) -> None:
    srv.create(bare_hpa("web", namespace="prod"))
    config = srv.write_kubeconfig(tmp_path / "kubeconfig")

    def kubectl(*args: str) -> str:
        # Its discovery cache in the test's directory, not the user's ~/.kube/cache.
        done = subprocess.run(["kubectl", "--kubeconfig", str(config),
                               "--cache-dir", str(tmp_path / "cache"), *args],
                              capture_output=True, text=True, timeout=30)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    listed = json.loads(kubectl("get", "hpa", "-A", "-o", "json"))
    assert [i["metadata"]["name"] for i in listed["items"]] == ["web"]
    kubectl("patch", "hpa", "web", "-n", "prod", "--type", "merge",
            "-p", '{"spec":{"minReplicas":3}}')  # fmt: skip
    after = srv.get("autoscaling/v2", "HorizontalPodAutoscaler", "prod", "web") or {}
    assert after["spec"]["minReplicas"] == 3
    assert ("kubectl-patch", "Update", None) in owners(after)
