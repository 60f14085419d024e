"""The fake API server explored with the real kubectl: server-side Tables (``kubectl get``),
the OpenAPI v3 documents ``kubectl apply`` needs, strict field validation; and the same
documents read through the real ``kubernetes`` client, which never asks for a Table."""

from __future__ import annotations

import json
import queue
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import urllib3
import yaml
from kubernetes import client

from scalers.fakeapi import RESOURCES, FakeApiServer
from scalers.fakeapi.store import drop_unknown_fields
from scalers.fakeapi.tables import human_duration
from tests.builders import deployment, hpa, node

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LATER = T0 + timedelta(hours=3, minutes=7)  # the clock of every test that reads an AGE
TABLE = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,"
    "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
)
HPA_PATH = "/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers"
EXAMPLE = Path(__file__).parent.parent / "examples" / "business-hours-hpa.yaml"
needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def srv(clock: Clock) -> Iterator[FakeApiServer]:
    """One server for the module, seeded at T0 (tests set the clock to LATER to read ages)."""
    with FakeApiServer(clock=clock) as server:
        server.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
        server.create(hpa())
        ready = node("node-0", labels={"node-role.kubernetes.io/control-plane": ""})
        ready["status"]["addresses"] = [{"type": "InternalIP", "address": "10.0.0.1"}]
        ready["status"]["nodeInfo"] = {"kubeletVersion": "v1.32.0", "osImage": "Debian 12"}
        server.create(ready)
        server.create(node("node-1", ready=False, unschedulable=True))
        server.create(deployment(namespace="shop"))
        server.create({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "1", "b": "2"},
                       "metadata": {"name": "cfg", "namespace": "shop"}})  # fmt: skip
        server.create({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                       "metadata": {"name": "kube-scalers", "namespace": "shop"},
                       "spec": {"holderIdentity": "pod-a"}})  # fmt: skip
        clock.now = T0 + timedelta(minutes=5)
        server.create({
            "apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.1", "namespace": "shop"},
            "involvedObject": {"kind": "HorizontalPodAutoscaler", "name": "web",
                               "namespace": "shop"},
            "reason": "ScheduledScale", "message": "minReplicas 2 -> 10 ", "type": "Normal",
            "firstTimestamp": "2026-01-01T00:01:00Z", "lastTimestamp": "2026-01-01T00:04:00Z",
            "count": 3, "source": {"component": "kube-scalers"},
        })  # fmt: skip
        yield server


@pytest.fixture(scope="module")
def kubeconfig(srv: FakeApiServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return srv.write_kubeconfig(tmp_path_factory.mktemp("kube") / "kubeconfig")


@pytest.fixture
def later(clock: Clock) -> Iterator[None]:
    clock.now = LATER
    yield


def kubectl(config: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    # A cache directory of its own: kubectl caches discovery and OpenAPI per server address.
    cache = str(config.parent / "cache")
    done = subprocess.run(["kubectl", "--kubeconfig", str(config), "--cache-dir", cache, *args],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    if ok:
        assert done.returncode == 0, done.stderr
    return done


def columns(text: str) -> list[list[str]]:
    """kubectl's human-readable output as cells (columns are two or more spaces apart)."""
    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines() if line.strip()]


def api_get(srv: FakeApiServer, path: str, accept: str = TABLE) -> tuple[Any, int, Any]:
    """A GET through the real client's ApiClient.call_api, decoded as plain JSON."""
    with srv.api_client() as api:
        method, url, headers, _, _ = api.param_serialize(
            "GET", path, header_params={"Accept": accept}
        )
        response = api.call_api(method, url, header_params=headers)
        response.read()
        answer = api.response_deserialize(response, {"200": "object"})
    return answer.data, answer.status_code, answer.headers


# --- kubectl get: server-side Tables -----------------------------------------------------


@needs_kubectl
def test_get_hpa_prints_its_columns(kubeconfig: Path, later: None) -> None:
    listed = columns(kubectl(kubeconfig, "get", "hpa", "-n", "shop").stdout)
    assert listed == [
        ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"],
        ["web", "Deployment/web", "cpu: <unknown>/70%", "2", "20", "0", "3h7m"],
    ]
    one = columns(kubectl(kubeconfig, "get", "hpa", "web", "-n", "shop").stdout)
    assert one == listed
    everywhere = columns(kubectl(kubeconfig, "get", "hpa", "-A", "--show-labels").stdout)
    assert everywhere[0][:2] == ["NAMESPACE", "NAME"] and everywhere[0][-1] == "LABELS"
    assert everywhere[1][:2] == ["shop", "web"] and everywhere[1][-1] == "app=web"


@needs_kubectl
def test_get_nodes_prints_status_roles_version_and_wide(kubeconfig: Path, later: None) -> None:
    assert columns(kubectl(kubeconfig, "get", "nodes").stdout) == [
        ["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
        ["node-0", "Ready", "control-plane", "3h7m", "v1.32.0"],
        ["node-1", "NotReady,SchedulingDisabled", "<none>", "3h7m"],  # no kubelet version
    ]
    wide = columns(kubectl(kubeconfig, "get", "nodes", "-o", "wide").stdout)
    assert wide[0] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP",
                       "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"]  # fmt: skip
    assert wide[1][5:] == ["10.0.0.1", "<none>", "Debian 12", "<unknown>", "<unknown>"]


@needs_kubectl
def test_get_events_prints_last_seen_type_reason_object_message(
    kubeconfig: Path, later: None
) -> None:
    assert columns(kubectl(kubeconfig, "get", "events", "-n", "shop").stdout) == [
        ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        ["3h3m", "Normal", "ScheduledScale", "horizontalpodautoscaler/web", "minReplicas 2 -> 10"],
    ]
    wide = columns(kubectl(kubeconfig, "get", "events", "-n", "shop", "-o", "wide").stdout)
    assert wide[0][-3:] == ["FIRST SEEN", "COUNT", "NAME"]
    assert wide[1][-5:] == ["kube-scalers", "minReplicas 2 -> 10", "3h6m", "3", "web.1"]


@needs_kubectl
def test_get_deployments_configmaps_leases(kubeconfig: Path, later: None) -> None:
    assert columns(kubectl(kubeconfig, "get", "deploy", "-n", "shop").stdout) == [
        ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        ["web", "0/2", "0", "0", "3h7m"],  # no controller runs pods here
    ]
    wide = columns(kubectl(kubeconfig, "get", "deploy", "-n", "shop", "-o", "wide").stdout)
    assert wide[1][-3:] == ["c", "x", "app=web"]
    assert columns(kubectl(kubeconfig, "get", "configmaps", "-n", "shop").stdout) == [
        ["NAME", "DATA", "AGE"], ["cfg", "2", "3h7m"],
    ]  # fmt: skip
    assert columns(kubectl(kubeconfig, "get", "leases", "-n", "shop").stdout) == [
        ["NAME", "HOLDER", "AGE"], ["kube-scalers", "pod-a", "3h7m"],
    ]  # fmt: skip


@needs_kubectl
def test_get_as_yaml_and_json_is_the_object(srv: FakeApiServer, kubeconfig: Path) -> None:
    stored = srv.get("autoscaling/v2", "HorizontalPodAutoscaler", "shop", "web") or {}
    del stored["metadata"]["managedFields"]  # kubectl hides them unless --show-managed-fields
    shown = kubectl(kubeconfig, "get", "hpa", "web", "-n", "shop", "-o", "json").stdout
    assert json.loads(shown) == stored
    assert yaml.safe_load(kubectl(kubeconfig, "get", "hpa", "web", "-n", "shop",
                                  "-o", "yaml").stdout) == stored  # fmt: skip


@needs_kubectl
def test_get_watch_prints_a_row_per_event(srv: FakeApiServer, kubeconfig: Path) -> None:
    cache = str(kubeconfig.parent / "cache")
    args = ["kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", cache]
    proc = subprocess.Popen([*args, "get", "hpa", "-n", "shop", "-w"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:  # kubectl's lines as they come; a get with a timeout reads them
        for line in proc.stdout or ():
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        assert columns(lines.get(timeout=30))[0][0] == "NAME"
        assert columns(lines.get(timeout=30))[0][4] == "20"
        srv.patch("autoscaling/v2", "HorizontalPodAutoscaler", "shop", "web",
                  {"spec": {"maxReplicas": 30}}, "t")  # fmt: skip
        assert columns(lines.get(timeout=30))[0][:5] == ["web", "Deployment/web",
                                                         "cpu: <unknown>/70%", "2", "30"]  # fmt: skip
    finally:
        proc.kill()
        proc.wait()
        srv.patch("autoscaling/v2", "HorizontalPodAutoscaler", "shop", "web",
                  {"spec": {"maxReplicas": 20}}, "t")  # fmt: skip


# --- kubectl apply: OpenAPI v3 and server-side field validation ----------------------------


def manifest(tmp_path: Path, namespace: str, edit: Any = None) -> Path:
    """examples/business-hours-hpa.yaml moved to ``namespace``, ``edit`` applied to each doc."""
    docs = list(yaml.safe_load_all(EXAMPLE.read_text()))
    for doc in docs:
        doc["metadata"]["namespace"] = namespace
        if edit is not None:
            edit(doc)
    target = tmp_path / f"{namespace}-{len(list(tmp_path.iterdir()))}.yaml"
    target.write_text(yaml.safe_dump_all(docs))
    return target


def hpa_min(doc: Any, value: int) -> None:
    if doc["kind"] == "HorizontalPodAutoscaler":
        doc["spec"]["minReplicas"] = value


@needs_kubectl
def test_client_side_apply_validates_on_the_server(
    srv: FakeApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    srv.reset_requests()
    first = kubectl(kubeconfig, "apply", "-f", str(manifest(tmp_path, "csa"))).stdout
    assert first.split("\n")[:2] == ["deployment.apps/web created",
                                     "horizontalpodautoscaler.autoscaling/web created"]  # fmt: skip
    made = srv.get("autoscaling/v2", "HorizontalPodAutoscaler", "csa", "web") or {}
    assert "kubectl.kubernetes.io/last-applied-configuration" in made["metadata"]["annotations"]
    posts = [r for r in srv.requests if r.method == "POST"]
    assert [r.query.get("fieldValidation") for r in posts] == ["Strict", "Strict"]
    assert not any(r.path.startswith("/openapi/v2") for r in srv.requests)  # v3 was enough

    changed = manifest(tmp_path, "csa", lambda d: hpa_min(d, 3))
    again = kubectl(kubeconfig, "apply", "-f", str(changed))
    assert "horizontalpodautoscaler.autoscaling/web configured" in again.stdout
    assert "deployment.apps/web unchanged" in again.stdout and not again.stderr
    after = srv.get("autoscaling/v2", "HorizontalPodAutoscaler", "csa", "web") or {}
    assert after["spec"]["minReplicas"] == 3 and after["spec"]["metrics"] == made["spec"]["metrics"]
    managers = {m["manager"] for m in after["metadata"]["managedFields"]}
    assert managers == {"kubectl-client-side-apply"}
    patches = [r for r in srv.requests if r.method == "PATCH"]
    assert [r.query.get("fieldValidation") for r in patches] == ["Strict"]
    assert "unchanged" in kubectl(kubeconfig, "apply", "-f", str(changed)).stdout


@needs_kubectl
def test_server_side_apply(srv: FakeApiServer, kubeconfig: Path, tmp_path: Path) -> None:
    out = kubectl(kubeconfig, "apply", "--server-side", "-f", str(manifest(tmp_path, "ssa")))
    assert "horizontalpodautoscaler.autoscaling/web serverside-applied" in out.stdout
    changed = manifest(tmp_path, "ssa", lambda d: hpa_min(d, 4))
    kubectl(kubeconfig, "apply", "--server-side", "-f", str(changed))
    after = srv.get("autoscaling/v2", "HorizontalPodAutoscaler", "ssa", "web") or {}
    assert after["spec"]["minReplicas"] == 4
    entries = {(m["manager"], m["operation"]) for m in after["metadata"]["managedFields"]}
    assert entries == {("kubectl", "Apply")}


@needs_kubectl
def test_apply_and_diff_a_deployment_change(
    srv: FakeApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    kubectl(kubeconfig, "apply", "-f", str(manifest(tmp_path, "roll")))
    containers = [{"name": "web", "image": "nginx:1.28", "ports": [{"containerPort": 80}]}]

    def bump(doc: Any) -> None:
        if doc["kind"] == "Deployment":
            doc["spec"]["template"]["spec"]["containers"] = containers

    changed = manifest(tmp_path, "roll", bump)
    diff = kubectl(kubeconfig, "diff", "-f", str(changed), ok=False)
    assert diff.returncode == 1, diff.stderr  # 1: there are differences
    assert (
        "-      - image: nginx:1.27" in diff.stdout and "+      - image: nginx:1.28" in diff.stdout
    )
    assert (
        "deployment.apps/web configured" in kubectl(kubeconfig, "apply", "-f", str(changed)).stdout
    )
    live = srv.get("apps/v1", "Deployment", "roll", "web") or {}
    assert live["spec"]["template"]["spec"]["containers"] == containers  # the whole list
    assert kubectl(kubeconfig, "diff", "-f", str(changed), ok=False).returncode == 0


@needs_kubectl
def test_unknown_fields_are_refused(srv: FakeApiServer, kubeconfig: Path, tmp_path: Path) -> None:
    def bogus(doc: Any) -> None:
        doc["spec"]["bogus"] = 1

    wrong = manifest(tmp_path, "strict", bogus)
    created = kubectl(kubeconfig, "apply", "-f", str(wrong), ok=False)
    assert created.returncode == 1
    assert ('Error from server (BadRequest): error when creating "' in created.stderr
            and 'Deployment in version "v1" cannot be handled as a Deployment: strict decoding '
            'error: unknown field "spec.bogus"' in created.stderr)  # fmt: skip
    assert srv.get("apps/v1", "Deployment", "strict", "web") is None

    kubectl(kubeconfig, "apply", "-f", str(manifest(tmp_path, "strict")))
    patched = kubectl(kubeconfig, "apply", "-f", str(wrong), ok=False)
    assert patched.returncode == 1
    assert 'strict decoding error: unknown field "spec.bogus"' in patched.stderr
    applied = kubectl(kubeconfig, "apply", "--server-side", "-f", str(wrong), ok=False)
    assert applied.returncode == 1
    assert ("Error from server: failed to create typed patch object (strict/web; apps/v1, "
            "Kind=Deployment): .spec.bogus: field not declared in schema") in applied.stderr  # fmt: skip
    live = srv.get("apps/v1", "Deployment", "strict", "web") or {}
    assert "bogus" not in live["spec"]


# --- the same through the real Python client -----------------------------------------------


def test_json_stays_the_default(srv: FakeApiServer) -> None:
    with srv.api_client() as api:
        got = client.AutoscalingV2Api(api).read_namespaced_horizontal_pod_autoscaler("web", "shop")
    assert isinstance(got, client.V2HorizontalPodAutoscaler) and got.spec.max_replicas == 20
    data, _, headers = api_get(srv, HPA_PATH, "application/json")
    assert data["kind"] == "HorizontalPodAutoscalerList"
    assert headers["Content-Type"] == "application/json"


def test_table_list_and_get_are_well_formed(srv: FakeApiServer, later: None) -> None:
    data, status, headers = api_get(srv, HPA_PATH)
    assert status == 200
    assert headers["Content-Type"] == "application/json;as=Table;v=v1;g=meta.k8s.io"
    assert data["kind"] == "Table" and data["apiVersion"] == "meta.k8s.io/v1"
    assert data["metadata"]["resourceVersion"] == srv.current_resource_version()
    assert [c["name"] for c in data["columnDefinitions"]] == [
        "Name", "Reference", "Targets", "MinPods", "MaxPods", "Replicas", "Age",
    ]  # fmt: skip
    for column in data["columnDefinitions"]:
        assert set(column) == {"name", "type", "format", "description", "priority"}
    [row] = data["rows"]
    assert row["cells"] == ["web", "Deployment/web", "cpu: <unknown>/70%", "2", 20, 0, "3h7m"]
    assert row["object"]["kind"] == "PartialObjectMetadata"
    assert row["object"]["apiVersion"] == "meta.k8s.io/v1"
    assert row["object"]["metadata"]["name"] == "web"

    one, _, _ = api_get(srv, HPA_PATH + "/web?includeObject=Object")
    assert one["rows"][0]["object"]["kind"] == "HorizontalPodAutoscaler"
    none, _, _ = api_get(srv, HPA_PATH + "/web?includeObject=None")
    assert none["rows"][0]["object"] is None
    beta, _, _ = api_get(srv, HPA_PATH, "application/json;as=Table;v=v1beta1;g=meta.k8s.io")
    assert beta["apiVersion"] == "meta.k8s.io/v1beta1"
    paged, _, _ = api_get(srv, "/api/v1/nodes?limit=1")
    assert len(paged["rows"]) == 1 and paged["metadata"]["continue"]
    assert paged["metadata"]["remainingItemCount"] == 1


def test_table_accept_errors(srv: FakeApiServer) -> None:
    only = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"
    response = urllib3.request("GET", srv.url + HPA_PATH, headers={"Accept": only})
    assert response.status == 406 and json.loads(response.data)["reason"] == "NotAcceptable"
    bad = urllib3.request("GET", srv.url + HPA_PATH + "?includeObject=All",
                          headers={"Accept": TABLE})  # fmt: skip
    assert bad.status == 400
    scale = urllib3.request("GET", srv.url + "/apis/apps/v1/namespaces/shop/deployments/web/scale",
                            headers={"Accept": TABLE})  # fmt: skip
    assert json.loads(scale.data)["kind"] == "Scale"  # no table convertor for a subresource


def test_table_watch_sends_columns_once(srv: FakeApiServer) -> None:
    since = srv.current_resource_version()
    response = urllib3.request(
        "GET", f"{srv.url}{HPA_PATH}?watch=true&resourceVersion={since}",
        headers={"Accept": TABLE}, preload_content=False,
    )  # fmt: skip
    for value in (21, 20):
        srv.patch("autoscaling/v2", "HorizontalPodAutoscaler", "shop", "web",
                  {"spec": {"maxReplicas": value}}, "t")  # fmt: skip
    srv.end_watches()
    events = [json.loads(line) for line in response.data.splitlines()]
    assert [e["type"] for e in events] == ["MODIFIED", "MODIFIED"]
    first, second = (e["object"] for e in events)
    assert first["kind"] == second["kind"] == "Table"
    assert len(first["columnDefinitions"]) == 7 and second["columnDefinitions"] is None
    assert [t["rows"][0]["cells"][4] for t in (first, second)] == [21, 20]


# --- OpenAPI v3 ----------------------------------------------------------------------------


def openapi_documents(srv: FakeApiServer) -> dict[str, Any]:
    index, _, _ = api_get(srv, "/openapi/v3", "application/json")
    docs = {}
    for path, entry in index["paths"].items():
        assert entry["serverRelativeURL"].startswith(f"/openapi/v3/{path}?hash=")
        docs[path], _, _ = api_get(srv, entry["serverRelativeURL"], "application/json")
    return docs


def test_openapi_v3_describes_every_kind(srv: FakeApiServer) -> None:
    docs = openapi_documents(srv)
    assert set(docs) == {"api/v1", "apis/apps/v1", "apis/autoscaling/v2",
                         "apis/coordination.k8s.io/v1", "apis/events.k8s.io/v1"}  # fmt: skip
    for res in RESOURCES:
        doc = docs[f"apis/{res.group}/{res.version}" if res.group else f"api/{res.version}"]
        assert doc["openapi"].startswith("3.")
        gvk = {"group": res.group, "version": res.version, "kind": res.kind}
        [schema] = [
            s for s in doc["components"]["schemas"].values()
            if gvk in s.get("x-kubernetes-group-version-kind", [])
        ]  # fmt: skip
        assert schema["properties"]["metadata"]["$ref"].endswith(".ObjectMeta")
        patches = [
            p["patch"] for p in doc["paths"].values()
            if "patch" in p and p["patch"]["x-kubernetes-group-version-kind"] == gvk
        ]  # fmt: skip
        assert patches  # what kubectl looks for before it validates on the server
        for op in patches:
            assert {"fieldValidation", "fieldManager", "dryRun", "force"} <= {
                p["name"] for p in op["parameters"] if p["in"] == "query"
            }
            assert "application/strategic-merge-patch+json" in op["requestBody"]["content"]
    assert urllib3.request("GET", srv.url + "/openapi/v3/apis/batch/v1").status == 404


def test_openapi_schemas_claim_only_what_the_server_keeps(srv: FakeApiServer) -> None:
    """Every property a checked level lists survives a write; anything else is dropped."""
    docs = openapi_documents(srv)
    for res in RESOURCES:
        doc = docs[f"apis/{res.group}/{res.version}" if res.group else f"api/{res.version}"]
        schemas = doc["components"]["schemas"]
        [schema] = [s for s in schemas.values() if s.get("x-kubernetes-group-version-kind") ==
                    [{"group": res.group, "version": res.version, "kind": res.kind}]]  # fmt: skip
        meta = schemas[schema["properties"]["metadata"]["$ref"].rsplit("/", 1)[1]]
        body: dict[str, Any] = {k: None for k in schema["properties"]}
        body["metadata"] = dict.fromkeys(meta["properties"])
        spec = schema["properties"].get("spec")
        if spec is not None and "x-kubernetes-preserve-unknown-fields" not in spec:
            body["spec"] = dict.fromkeys(spec["properties"])
        assert drop_unknown_fields(res, json.loads(json.dumps(body))) == [], res
        assert drop_unknown_fields(res, {"bogus": 1}) == ["bogus"]


def test_openapi_lists_have_no_merge_strategy(srv: FakeApiServer) -> None:
    """The server replaces lists whole on a strategic merge patch; the schemas say so, so
    kubectl's client-side apply sends them whole."""
    text = json.dumps(openapi_documents(srv))
    assert "x-kubernetes-patch-strategy" not in text and "x-kubernetes-patch-merge-key" not in text


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(-5, "<invalid>"), (-1, "0s"), (0, "0s"), (119, "119s"), (120, "2m"), (125, "2m5s"),
     (600, "10m"), (3 * 3600 - 1, "179m"), (3 * 3600 + 7 * 60, "3h7m"), (8 * 3600, "8h"),
     (47 * 3600, "47h"), (50 * 3600, "2d2h"), (9 * 86400, "9d"), (800 * 86400, "2y70d"),
     (9 * 365 * 86400, "9y")],
)  # fmt: skip
def test_ages_read_as_kubectl_prints_them(seconds: int, shown: str) -> None:
    assert human_duration(seconds) == shown


def test_events_k8s_io_events_print_as_core_events(srv: FakeApiServer, later: None) -> None:
    srv.create({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "web.2", "namespace": "shop"},
        "eventTime": "2026-01-01T03:00:00.000000Z", "reason": "Fired", "note": "floor raised",
        "type": "Normal", "action": "Scale", "reportingController": "kube-scalers",
        "reportingInstance": "pod-a",
        "regarding": {"kind": "HorizontalPodAutoscaler", "name": "web", "namespace": "shop"},
        "series": {"count": 4, "lastObservedTime": "2026-01-01T03:05:00.000000Z"},
    })  # fmt: skip
    data, _, _ = api_get(srv, "/apis/events.k8s.io/v1/namespaces/shop/events")
    assert [c["name"] for c in data["columnDefinitions"] if c["priority"] == 0] == [
        "Last Seen", "Type", "Reason", "Object", "Message",
    ]  # fmt: skip
    [row] = [r["cells"] for r in data["rows"] if r["cells"][-1] == "web.2"]
    assert row == ["2m", "Normal", "Fired", "horizontalpodautoscaler/web", "",
                   "kube-scalers, pod-a", "floor raised", "7m", 4, "web.2"]  # fmt: skip
