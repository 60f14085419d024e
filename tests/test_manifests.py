"""manifests/ and examples/: they build, every object is well formed, and the RBAC grants exactly
the requests the controller makes, no fewer and no more.

The RBAC check is derived from the code, not from a list kept by hand: the whole controller (both
loops, leader election, a proportional HPA and Deployment target, the ConfigMap created from
default parameters, the team calendars' ConfigMap watched, annotated objects that fire, Events)
runs against the in-process API server, and each request it recorded is authorized against the
Roles as the API server would."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from scalers.cli import parser
from scalers.clock import ManualClock
from scalers.controller import Controller, Election, Settings
from scalers.fakeapi import FakeApiServer
from scalers.fakeapi.server import RequestRecord
from scalers.proportional.loop import Config
from scalers.proportional.params import parse_default_params
from scalers.proportional.targets import Target
from scalers.resources import DEPLOYMENT, HPA
from tests.builders import add_nodes, hpa, workload
from tests.support import START, wait_for

ROOT = Path(__file__).resolve().parent.parent
MANIFESTS = ROOT / "manifests"
EXAMPLES = ROOT / "examples"
NAMESPACE = "kube-system"
NAME = "kube-scalers"
CALENDARS = "kube-scalers-calendars"

# (apiVersion, kind) -> namespaced
KINDS: dict[tuple[str, str], bool] = {
    ("v1", "ConfigMap"): True,
    ("v1", "Namespace"): False,
    ("v1", "Service"): True,
    ("v1", "ServiceAccount"): True,
    ("apps/v1", "Deployment"): True,
    ("apps/v1", "StatefulSet"): True,
    ("apps/v1", "ReplicaSet"): True,
    ("autoscaling/v2", "HorizontalPodAutoscaler"): True,
    ("policy/v1", "PodDisruptionBudget"): True,
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): False,
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): False,
    ("rbac.authorization.k8s.io/v1", "Role"): True,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): True,
    ("argoproj.io/v1alpha1", "Application"): True,
    ("monitoring.coreos.com/v1", "ServiceMonitor"): True,
    ("monitoring.coreos.com/v1", "PodMonitor"): True,
}
WORKLOADS = {"Deployment", "StatefulSet", "ReplicaSet"}


def documents(path: Path) -> list[dict[str, Any]]:
    with path.open() as stream:
        docs = [d for d in yaml.safe_load_all(stream) if d is not None]
    assert docs, f"{path}: no YAML document"
    for doc in docs:
        assert isinstance(doc, dict), f"{path}: a document is not a mapping"
    return docs


def kustomization() -> dict[str, Any]:
    [doc] = documents(MANIFESTS / "kustomization.yaml")
    return doc


def manifest_objects() -> list[dict[str, Any]]:
    """What `kubectl apply -k manifests/` sends, read without kubectl: every resource file."""
    return [obj for name in kustomization()["resources"] for obj in documents(MANIFESTS / name)]


def all_files() -> list[Path]:
    files = [*MANIFESTS.glob("*.yaml"), *EXAMPLES.glob("*.yaml"), *EXAMPLES.glob("*.yml")]
    # Not Kubernetes objects: kustomize's input, and helmfile's (tests/test_chart.py renders it).
    return sorted(p for p in files if p.name not in ("kustomization.yaml", "helmfile.yaml"))


def one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    [obj] = [o for o in objects if o["kind"] == kind]
    return obj


# -- the kustomize base builds ------------------------------------------------------------------


def test_the_kustomization_lists_files_that_exist_and_parse():
    k = kustomization()
    assert k["apiVersion"] == "kustomize.config.k8s.io/v1beta1" and k["kind"] == "Kustomization"
    assert k["namespace"] == NAMESPACE
    listed = set(k["resources"])
    for name in listed:
        assert (MANIFESTS / name).is_file(), f"kustomization.yaml lists a missing {name}"
        documents(MANIFESTS / name)
    unlisted = {p.name for p in MANIFESTS.glob("*.yaml")} - listed - {"kustomization.yaml"}
    assert not unlisted, f"in manifests/ but not in kustomization.yaml: {unlisted}"
    images = {i["name"] for i in k.get("images", [])}
    containers = one(manifest_objects(), "Deployment")["spec"]["template"]["spec"]["containers"]
    assert {c["image"].split(":")[0] for c in containers} <= images, "image not pinned by tag"


def test_kubectl_kustomize_builds_it():
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed (the pure-Python checks still ran)")
    built = subprocess.run(
        [kubectl, "kustomize", str(MANIFESTS)], capture_output=True, text=True, timeout=60
    )
    assert built.returncode == 0, built.stderr
    objects = [d for d in yaml.safe_load_all(built.stdout) if d]
    assert sorted((o["kind"], o["metadata"]["name"]) for o in objects) == sorted(
        (o["kind"], o["metadata"]["name"]) for o in manifest_objects()
    )
    for obj in objects:
        if KINDS[(obj["apiVersion"], obj["kind"])]:
            assert obj["metadata"]["namespace"] == NAMESPACE
    image = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"]
    tag = kustomization()["images"][0]
    assert image == f"{tag['name']}:{tag['newTag']}"


# -- every object is well formed ----------------------------------------------------------------


def check_object(obj: dict[str, Any]) -> None:
    key = (obj.get("apiVersion"), obj.get("kind"))
    assert key in KINDS, f"unknown apiVersion/kind {key}"
    meta = obj.get("metadata") or {}
    assert meta.get("name"), "metadata.name missing"
    if KINDS[key]:
        assert meta.get("namespace"), f"{meta['name']}: namespaced, but no metadata.namespace"
    else:
        assert "namespace" not in meta, f"{meta['name']}: cluster-scoped, with a namespace"
    kind, spec = obj["kind"], obj.get("spec") or {}
    if kind in WORKLOADS:
        selector = spec["selector"]["matchLabels"]
        labels = spec["template"]["metadata"]["labels"]
        assert selector and selector.items() <= labels.items(), "selector misses template labels"
        containers = spec["template"]["spec"]["containers"]
        assert containers and all(c.get("name") and c.get("image") for c in containers)
    elif kind == "HorizontalPodAutoscaler":
        ref = spec["scaleTargetRef"]
        assert ref.get("kind") and ref.get("name")
        assert isinstance(spec["maxReplicas"], int) and spec["maxReplicas"] >= 1
        assert spec.get("minReplicas", 1) <= spec["maxReplicas"]
    elif kind in ("Role", "ClusterRole"):
        assert obj["rules"]
        for rule in obj["rules"]:
            assert set(rule) <= {"apiGroups", "resources", "verbs", "resourceNames"}, rule
            assert isinstance(rule["apiGroups"], list) and rule["apiGroups"], rule
            assert rule["resources"] and rule["verbs"], rule
            assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], rule
    elif kind in ("RoleBinding", "ClusterRoleBinding"):
        assert obj["roleRef"]["apiGroup"] == "rbac.authorization.k8s.io"
        assert obj["roleRef"]["kind"] and obj["roleRef"]["name"] and obj["subjects"]
    elif kind == "PodDisruptionBudget":
        assert spec["selector"]["matchLabels"]
        assert ("minAvailable" in spec) != ("maxUnavailable" in spec)
    elif kind == "Application":
        assert spec["destination"] and (spec.get("source") or spec.get("sources"))
        if spec.get("ignoreDifferences"):  # else a sync writes Git's values back
            options = (spec.get("syncPolicy") or {}).get("syncOptions") or []
            assert "RespectIgnoreDifferences=true" in options


@pytest.mark.parametrize("path", all_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_object_is_well_formed(path):
    for obj in documents(path):
        try:
            check_object(obj)
        except (AssertionError, KeyError, TypeError) as error:
            name = (obj.get("metadata") or {}).get("name")
            raise AssertionError(f"{path.name}: {obj.get('kind')} {name}: {error!r}") from error


def test_the_deployment_runs_as_documented():
    objects = manifest_objects()
    deployment = one(objects, "Deployment")
    spec, pod = deployment["spec"], deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert spec["replicas"] == 2
    assert pod["serviceAccountName"] == one(objects, "ServiceAccount")["metadata"]["name"]
    labels = spec["template"]["metadata"]["labels"]
    pdb = one(objects, "PodDisruptionBudget")["spec"]
    assert pdb["minAvailable"] == 1 and pdb["selector"]["matchLabels"].items() <= labels.items()
    spread = {c["topologyKey"]: c for c in pod["topologySpreadConstraints"]}
    assert spread["kubernetes.io/hostname"]["labelSelector"]["matchLabels"] == labels

    # The args are what `scalers run` accepts, with leader election on, and name the Lease and
    # the ConfigMaps the Role grants (in kube-system, the namespace kustomize sets).
    args = parser().parse_args(container["args"])
    assert args.command == "run" and args.leader_elect
    assert (args.lease_name, args.lease_namespace) == (NAME, NAMESPACE)
    assert (args.configmap, args.namespace) == ("dns-autoscaler", NAMESPACE)
    assert args.calendars == f"{NAMESPACE}/{CALENDARS}"
    env = {e["name"]: e for e in container["env"]}
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    [port] = container["ports"]
    assert (port["name"], port["containerPort"]) == ("metrics", args.health_port)
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    resources = container["resources"]
    assert resources["requests"]["cpu"] and resources["requests"]["memory"]
    assert resources["limits"]["memory"]

    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["runAsNonRoot"] is True and security["runAsUser"] == 65532
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "USER 65532:65532" in dockerfile  # the image's user is the one the pod expects
    assert "EXPOSE 8080" in dockerfile


def test_the_bindings_give_the_roles_to_the_service_account():
    objects = manifest_objects()
    account = {"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}
    for binding, role in (("ClusterRoleBinding", "ClusterRole"), ("RoleBinding", "Role")):
        obj = one(objects, binding)
        assert obj["subjects"] == [account]
        assert obj["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": role,
            "name": one(objects, role)["metadata"]["name"],
        }
    assert one(objects, "Role")["metadata"]["namespace"] == NAMESPACE
    assert one(objects, "RoleBinding")["metadata"]["namespace"] == NAMESPACE


# -- the RBAC is exactly what the code uses -----------------------------------------------------


@dataclass(frozen=True)
class Request:
    """A recorded request as the API server's authorizer sees it."""

    group: str
    resource: str  # "deployments/scale" for a subresource
    verb: str
    namespace: str | None  # None: cluster-scoped, or across all namespaces
    name: str | None

    def __str__(self) -> str:
        where = f" in {self.namespace}" if self.namespace else ""
        named = f" {self.name}" if self.name else ""
        return f"{self.verb} {self.group or 'core'}/{self.resource}{named}{where}"


def attributes(record: RequestRecord) -> Request:
    """As the API server's request-info resolver: the path gives the group, namespace,
    resource, name and subresource; the method and the query give the verb; a LIST or WATCH with
    a `metadata.name=` field selector is authorized as a request for that name."""
    parts = record.path.strip("/").split("/")
    if parts[0] == "api":
        group, rest = "", parts[2:]
    else:
        assert parts[0] == "apis", record.path
        group, rest = parts[1], parts[3:]
    namespace = None
    if rest[0] == "namespaces" and len(rest) > 2:
        namespace, rest = rest[1], rest[2:]
    resource = "/".join(rest[::2])  # resources/name/subresource: skip the name
    name = rest[1] if len(rest) > 1 else None
    verbs = {"POST": "create", "PATCH": "patch", "PUT": "update", "DELETE": "delete"}
    if record.method == "GET":
        verb = "get" if name else ("watch" if record.watch else "list")
    else:
        verb = verbs[record.method]
    if verb in ("list", "watch"):
        selector = record.query.get("fieldSelector", "")
        field, equals, value = selector.partition("=")
        if field == "metadata.name" and equals and "," not in value:
            name = value.lstrip("=")
    return Request(group, resource, verb, namespace, name)


def allows(rule: dict[str, Any], request: Request) -> bool:
    names = rule.get("resourceNames")
    return (
        request.group in rule["apiGroups"]
        and request.resource in rule["resources"]
        and request.verb in rule["verbs"]
        and (not names or request.name in names)
    )


def grants(role: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


# At 09:00 UTC (START + 1 h): an HPA's floor goes to 10, a Deployment's replicas to 6.
NINE = START + timedelta(hours=1)
ACTIONS = json.dumps(
    [{"schedule": "0 9 * * *", "minReplicas": 10}, {"schedule": "0 18 * * *", "minReplicas": 2}]
)


def annotated_deployment() -> dict[str, Any]:
    actions = [{"schedule": "0 9 * * *", "replicas": 6}, {"schedule": "0 18 * * *", "replicas": 0}]
    notes = {"zalando.org/schedule-actions": json.dumps(actions)}
    return workload("Deployment", "report-worker", replicas=0, namespace="batch", annotations=notes)


def record(server: FakeApiServer, clock: ManualClock, settings: Settings) -> list[Request]:
    """Every request the controller made with `settings`, start to stop: each target of the
    proportional loop seeded and sized (3 nodes, one replica a node), its ConfigMap created
    from the default parameters, and with the schedule loop the team calendars' ConfigMap
    watched (absent: listed and watched all the same), annotated objects that fire and Events,
    created and repeated."""
    config = settings.proportional
    if settings.schedule:
        server.create(hpa("web", ACTIONS, 2, 20, namespace="shop"))
        server.create(annotated_deployment())
    if config is not None:
        assert config.default_params, "the ConfigMap is created from the default parameters"
        for target in config.targets:
            if target.resource is HPA:
                server.create(hpa(target.name, None, 2, 20, namespace=config.namespace))
            else:
                server.create(
                    workload(target.resource.kind, target.name, namespace=config.namespace)
                )
        add_nodes(server, 3)  # no ConfigMap: the default parameters create it
    clock.set(NINE - timedelta(seconds=10))
    controller = Controller(server.api_client(), clock, settings)
    stop = threading.Event()
    thread = threading.Thread(target=controller.run, args=(stop,))
    thread.start()

    def value(api_version: str, kind: str, namespace: str, name: str, field: str) -> Any:
        obj = server.get(api_version, kind, namespace, name)
        return obj and obj["spec"].get(field)

    def done() -> bool:
        events = {r.path for r in server.requests if r.method == "POST" and "/events" in r.path}
        scheduled = not settings.schedule or (
            value("autoscaling/v2", "HorizontalPodAutoscaler", "shop", "web", "minReplicas") == 10
            and value("apps/v1", "Deployment", "batch", "report-worker", "replicas") == 6
            and any("/namespaces/shop/" in p for p in events)
            and any("/namespaces/batch/" in p for p in events)
        )  # fmt: skip
        sized = config is None or (
            all(
                value(t.resource.api_version, t.resource.kind, config.namespace, t.name, t.field) == 3
                for t in config.targets
            )
            and server.get("v1", "ConfigMap", config.namespace, config.configmap) is not None
        )  # fmt: skip
        return scheduled and sized

    def moved() -> bool:
        result = done()
        if not result:
            clock.advance(0.5)
        return result

    try:
        wait_for(moved, timeout=20)
        if settings.schedule:
            # An annotation broken, fixed and broken again the same way warns again: the same
            # Warning, counted on the Event already posted (a PATCH of the Event).
            for actions in ("not json", ACTIONS, "not json"):
                web = server.get("autoscaling/v2", "HorizontalPodAutoscaler", "shop", "web")
                web["metadata"]["annotations"]["zalando.org/schedule-actions"] = actions
                server.update(web)
            wait_for(
                lambda: any(r.method == "PATCH" and "/events/" in r.path for r in server.requests)
            )
    finally:
        stop.set()  # the leader gives the Lease up on its way out: a request too
        thread.join(timeout=15)
    assert not thread.is_alive()
    return [attributes(r) for r in server.requests]


@pytest.fixture
def recorded(server: FakeApiServer, clock: ManualClock) -> list[Request]:
    """With everything switched on: both loops, leader election, an HPA and a Deployment
    target."""
    config = Config(
        targets=(Target(HPA, "coredns"), Target(DEPLOYMENT, "coredns")),
        default_params=parse_default_params('{"linear": {"nodesPerReplica": 1, "min": 1}}'),
    )
    return record(
        server, clock, Settings(ZoneInfo("UTC"), proportional=config, election=Election("a"))
    )


def authorizers(
    objects: list[dict[str, Any]],
) -> tuple[Callable[[Request], bool], Callable[[Request], bool]]:
    """Whether the ClusterRole of `objects` allows a request, and whether the Role of its
    namespace does."""
    cluster_role = one(objects, "ClusterRole")
    roles = {role["metadata"]["namespace"]: role for role in objects if role["kind"] == "Role"}

    def by_cluster_role(r: Request) -> bool:
        return any(allows(rule, r) for rule in cluster_role["rules"])

    def by_role(r: Request) -> bool:
        role = roles.get(r.namespace or "")
        return role is not None and any(allows(rule, r) for rule in role["rules"])

    return by_cluster_role, by_role


def forbidden(objects: list[dict[str, Any]], recorded: list[Request]) -> list[str]:
    """The requests recorded that neither the ClusterRole nor a Role of `objects` allows."""
    by_cluster_role, by_role = authorizers(objects)
    return sorted({str(r) for r in recorded if not (by_cluster_role(r) or by_role(r))})


def check_rbac(objects: list[dict[str, Any]], recorded: list[Request]) -> None:
    """The ClusterRole and the Roles of `objects` allow every request recorded, each Role in its
    own namespace, and grant nothing that was not used, nothing twice, and each name-restricted
    rule only for its names."""
    cluster_role = one(objects, "ClusterRole")
    roles = {role["metadata"]["namespace"]: role for role in objects if role["kind"] == "Role"}
    by_cluster_role, by_role = authorizers(objects)

    assert forbidden(objects, recorded) == [], "requests the RBAC would forbid"

    used = {(r.group, r.resource, r.verb) for r in recorded}
    assert grants(cluster_role) - used == set(), "granted cluster-wide but never used"
    for namespace, role in roles.items():
        used_there = {(r.group, r.resource, r.verb) for r in recorded if r.namespace == namespace}
        assert grants(role) - used_there == set(), f"granted in {namespace} but never used there"
        assert not grants(cluster_role) & grants(role), f"granted twice (in {namespace})"

    # Each Role serves its namespace; each cluster-wide grant is needed beyond those.
    only_by_roles = {r.namespace for r in recorded if by_role(r) and not by_cluster_role(r)}
    assert only_by_roles == set(roles), "a Role never needed"
    beyond = {(r.group, r.resource, r.verb) for r in recorded if r.namespace not in roles}
    assert grants(cluster_role) <= beyond, (
        "a ClusterRole grant only ever used in a Role's namespace"
    )

    # Every name-restricted rule was used, and only for its names.
    for namespace, role in roles.items():
        for rule in (r for r in role["rules"] if r.get("resourceNames")):
            matched = [r for r in recorded if r.namespace == namespace and allows(rule, r)]
            assert matched and {r.name for r in matched} <= set(rule["resourceNames"]), rule


def test_the_rbac_allows_every_request_the_controller_makes_and_nothing_more(recorded):
    check_rbac(manifest_objects(), recorded)


def test_the_calendars_are_granted_by_namespace_and_name(server, clock):
    """--calendars elsewhere and under another name (the schedule loop alone): the base's rule,
    for kube-system/kube-scalers-calendars, allows neither its LIST nor its WATCH, and nothing
    else is missing; the watch is by name, so that rule covers no other ConfigMap."""
    settings = Settings(ZoneInfo("UTC"), calendars="teams/team-calendars")
    requests = record(server, clock, settings)
    assert forbidden(manifest_objects(), requests) == [
        "list core/configmaps team-calendars in teams",
        "watch core/configmaps team-calendars in teams",
    ]
    elsewhere = [replace(r, namespace=NAMESPACE) for r in requests if r.namespace == "teams"]
    assert forbidden(manifest_objects(), elsewhere) == [
        f"list core/configmaps team-calendars in {NAMESPACE}",
        f"watch core/configmaps team-calendars in {NAMESPACE}",
    ]


def test_the_dockerfile_runs_scalers_as_a_numeric_non_root_user_with_every_zone():
    """Where no Docker engine exists (CI here), the image's contract is checked on its text."""
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    final = lines[max(i for i, line in enumerate(lines) if line.startswith("FROM ")) :]
    [user] = [line.split()[1] for line in final if line.startswith("USER ")]
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) != 0 and gid.isdigit()
    assert 'ENTRYPOINT ["scalers"]' in final and 'CMD ["run"]' in final
    # The zones: the tzdata package is a runtime dependency, and the build loads every zone.
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"tzdata' in pyproject
    assert any("zoneinfo.available_timezones()" in line for line in final)
