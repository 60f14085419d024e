"""charts/kube-scalers, rendered and linted by the real Helm engine (Helm v4, embedded in
helm-python-sdk: offline, no helm binary): it renders with its defaults and with every value
set, its schema refuses bad values, its defaults are the kustomize base object for object, the
arguments it gives the container are read by the real CLI into the settings asked for, and its
RBAC is exactly the requests the controller makes with those settings."""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

import helm_python as helm
import pytest
import yaml

from scalers.cli import parser, run_settings
from scalers.clock import ManualClock
from scalers.controller import Election, Settings
from scalers.fakeapi import FakeApiServer
from scalers.proportional.loop import Config
from scalers.proportional.params import parse_default_params
from scalers.proportional.targets import KINDS as TARGET_KINDS
from scalers.proportional.targets import parse_targets
from tests.test_manifests import (
    EXAMPLES,
    KINDS,
    NAMESPACE,
    ROOT,
    check_object,
    check_rbac,
    documents,
    kustomization,
    manifest_objects,
    one,
    record,
)

CHART = ROOT / "charts" / "kube-scalers"
RELEASE = "kube-scalers"
# Helm's own labels: the kustomize base has only app.kubernetes.io/name.
HELM_LABELS = {
    "helm.sh/chart",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
}
PARAMS = {"linear": {"nodesPerReplica": 1, "min": 1}}  # 3 nodes: 3 replicas

# Every value away from its default (a ServiceMonitor; the PodMonitor is in POD_MONITOR: the
# schema refuses both at once).
EVERYTHING: dict[str, Any] = {
    "fullnameOverride": "scalers",
    "image": {
        "repository": "registry.example.com/kube-scalers",
        "tag": "0.1.0-rc.1",
        "digest": "sha256:" + "a" * 64,
        "pullPolicy": "Always",
        "pullSecrets": [{"name": "regcred"}],
    },
    "replicaCount": 3,
    "leaderElection": {
        "enabled": True,
        "leaseName": "scalers-leader",
        "namespace": "scalers",
        "leaseDurationSeconds": 30,
    },
    "schedule": {
        "enabled": True,
        "timeZone": "Europe/Berlin",
        "calendars": {"configMap": "team-calendars", "namespace": "teams"},
    },
    "proportional": {
        "enabled": True,
        "targets": ["hpa/coredns", "deployment/coredns", "statefulset/cache", "replicaset/legacy"],
        "configmap": "coredns-params",
        "namespace": "dns",
        "defaultParams": {"linear": {"coresPerReplica": 256, "nodesPerReplica": 16, "min": 2}},
        "nodeLabels": {"node-role.kubernetes.io/worker": "true", "pool": "general"},
        "pollPeriodSeconds": 30,
        "maxSyncFailures": 5,
    },
    "dryRun": True,
    "logLevel": "DEBUG",
    "extraArgs": ["--qps=50"],
    "extraEnv": [{"name": "SCALERS_BURST", "value": "500"}],
    "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
    "nodeSelector": {"kubernetes.io/os": "linux", "pool": "system"},
    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "system"}],
    "affinity": {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "spot", "operator": "DoesNotExist"}]}
                ]
            }
        }
    },
    "topologySpreadConstraints": [
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"app.kubernetes.io/instance": "{{ .Release.Name }}"}},
        }
    ],
    "priorityClassName": "platform-critical",
    "terminationGracePeriodSeconds": 20,
    "revisionHistoryLimit": 5,
    "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
    "podSecurityContext": {"runAsNonRoot": True, "runAsUser": 10001, "fsGroup": 10001},
    "securityContext": {"readOnlyRootFilesystem": True, "runAsUser": 10001},
    "podAnnotations": {"team": "platform"},
    "podLabels": {"team": "platform"},
    "serviceAccount": {
        "create": True,
        "name": "scalers-sa",
        "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/scalers"},
    },
    "rbac": {"create": True, "scaleTargets": {"statefulsets": True, "replicasets": True}},
    "metrics": {
        "port": 9090,
        "scrapeAnnotations": False,
        "service": {"enabled": True, "type": "ClusterIP", "port": 80, "annotations": {"a": "b"}},
        "serviceMonitor": {
            "enabled": True,
            "namespace": "monitoring",
            "labels": {"release": "prometheus"},
            "interval": "15s",
            "scrapeTimeout": "5s",
            "relabelings": [{"action": "labeldrop", "regex": "pod_template_hash"}],
            "metricRelabelings": [{"action": "drop", "regex": "python_gc_.*"}],
        },
    },
    "podDisruptionBudget": {"enabled": True, "minAvailable": "50%"},
}
POD_MONITOR: dict[str, Any] = {
    "metrics": {"podMonitor": {"enabled": True, "labels": {"release": "prometheus"}}}
}
# Everything optional off: one replica without election, no schedule loop, no chart-made RBAC,
# ServiceAccount or PDB, no scheduling constraints.
MINIMAL: dict[str, Any] = {
    "replicaCount": 1,
    "leaderElection": {"enabled": False},
    "schedule": {"enabled": False},
    "serviceAccount": {"create": False, "name": "existing"},
    "rbac": {"create": False},
    "podDisruptionBudget": {"enabled": False},
    "priorityClassName": "",
    "nodeSelector": None,  # null takes a default mapping out ({} would merge with it)
    "tolerations": [],
    "topologySpreadConstraints": [],
    "metrics": {"scrapeAnnotations": False},
    "podSecurityContext": None,
    "securityContext": None,
    "resources": None,
}
VARIANTS: dict[str, tuple[dict[str, Any], str]] = {
    "defaults": ({}, NAMESPACE),
    "everything": (EVERYTHING, "scalers"),
    "pod-monitor": (POD_MONITOR, NAMESPACE),
    "minimal": (MINIMAL, "scalers"),
}


@pytest.fixture(scope="module")
def chart() -> Iterator[helm.Chart]:
    with helm.Chart.load(CHART) as loaded:
        yield loaded


_rendered: dict[str, dict[str, str]] = {}


def rendered(chart: helm.Chart, values: dict[str, Any], namespace: str) -> dict[str, str]:
    """The chart's files rendered for the release kube-scalers, once per set of values."""
    key = json.dumps([values, namespace], sort_keys=True)
    if key not in _rendered:
        _rendered[key] = chart.render(values, name=RELEASE, namespace=namespace)
    return _rendered[key]


def render(chart: helm.Chart, values: dict[str, Any], namespace: str) -> list[dict[str, Any]]:
    return [
        obj
        for path, text in sorted(rendered(chart, values, namespace).items())
        if path.endswith((".yaml", ".yml"))
        for obj in yaml.safe_load_all(text)
        if obj is not None
    ]


def container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    [only] = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    return only


def settings_from(
    objects: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> tuple[argparse.Namespace, Settings]:
    """What `scalers run` makes of the rendered container: its args, under its env."""
    for variable in [v for v in os.environ if v.startswith("SCALERS_")]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv("POD_NAME", "kube-scalers-0")  # the Downward API's metadata.name
    for env in container(objects).get("env", []):
        if "value" in env:
            monkeypatch.setenv(env["name"], env["value"])
    args = parser().parse_args(container(objects)["args"])
    assert args.command == "run"
    return args, run_settings(args)


# -- it renders, lints, and every object is well formed -----------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_it_renders_and_lints(chart, variant):
    values, namespace = VARIANTS[variant]
    report = helm.lint(CHART, values, strict=True, namespace=namespace)
    problems = [m for m in report["messages"] if m["severity"] >= 2]  # 2 warning, 3 error
    assert (problems, report["errors"]) == ([], [])
    objects = render(chart, values, namespace)
    assert objects
    for obj in objects:
        try:
            check_object(obj)
        except (AssertionError, KeyError, TypeError) as error:
            name = (obj.get("metadata") or {}).get("name")
            raise AssertionError(f"{variant}: {obj.get('kind')} {name}: {error!r}") from error
    # Namespaced objects are in the release's namespace, but for the Roles (where what they
    # grant is) and the monitors (where Prometheus looks).
    elsewhere = {"Role", "RoleBinding", "ServiceMonitor", "PodMonitor"}
    for obj in objects:
        if KINDS[(obj["apiVersion"], obj["kind"])] and obj["kind"] not in elsewhere:
            assert obj["metadata"]["namespace"] == namespace, obj["kind"]


def test_every_value_set_reaches_its_object(chart):
    objects = render(chart, EVERYTHING, "scalers")
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == sorted(
        ["ClusterRole", "ClusterRoleBinding", "Deployment", "PodDisruptionBudget"]
        # the Lease's in scalers, the ConfigMap's in dns, the calendars' in teams
        + ["Role", "RoleBinding"] * 3
        + ["Service", "ServiceAccount", "ServiceMonitor"]
    )
    deployment = one(objects, "Deployment")
    pod, meta = deployment["spec"]["template"]["spec"], deployment["spec"]["template"]["metadata"]
    c = container(objects)
    assert deployment["metadata"]["name"] == "scalers" and deployment["spec"]["replicas"] == 3
    assert c["image"] == "registry.example.com/kube-scalers@sha256:" + "a" * 64
    assert c["imagePullPolicy"] == "Always" and pod["imagePullSecrets"] == [{"name": "regcred"}]
    merged = chart.merge_values(EVERYTHING)  # Helm merges mappings with the defaults
    for key in ("resources", "securityContext"):
        assert c[key] == merged[key]
    for key in ("nodeSelector", "tolerations", "affinity", "priorityClassName"):
        assert pod[key] == merged[key]
    assert pod["securityContext"] == merged["podSecurityContext"]
    assert pod["securityContext"]["fsGroup"] == 10001
    assert pod["terminationGracePeriodSeconds"] == 20
    [spread] = pod["topologySpreadConstraints"]  # templated: the release's name filled in
    assert spread["labelSelector"]["matchLabels"] == {"app.kubernetes.io/instance": RELEASE}
    assert deployment["spec"]["revisionHistoryLimit"] == 5
    assert deployment["spec"]["strategy"] == EVERYTHING["strategy"]
    assert meta["annotations"] == {"team": "platform"}  # no scrape annotations
    assert meta["labels"]["team"] == "platform"
    assert c["ports"][0]["containerPort"] == 9090
    assert {"name": "SCALERS_BURST", "value": "500"} in c["env"]

    account = one(objects, "ServiceAccount")
    assert account["metadata"]["name"] == pod["serviceAccountName"] == "scalers-sa"
    assert account["metadata"]["annotations"] == EVERYTHING["serviceAccount"]["annotations"]
    for binding in (o for o in objects if o["kind"] in ("RoleBinding", "ClusterRoleBinding")):
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "scalers-sa", "namespace": "scalers"}
        ]
    roles = {o["metadata"]["namespace"]: o["rules"] for o in objects if o["kind"] == "Role"}
    assert set(roles) == {"dns", "scalers", "teams"}
    assert roles["teams"] == [
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["team-calendars"], "verbs": ["list", "watch"]}
    ]  # fmt: skip
    assert {r["resources"][0] for r in roles["dns"]} == {
        "configmaps", "statefulsets", "statefulsets/scale", "replicasets", "replicasets/scale"
    }  # fmt: skip
    assert {r["resources"][0] for r in roles["scalers"]} == {"leases"}
    named = {r["resources"][0]: r.get("resourceNames") for r in roles["dns"] + roles["scalers"]}
    assert named["leases"] in (["scalers-leader"], None)
    assert named["statefulsets"] is None  # rbac.scaleTargets: any name

    service = one(objects, "Service")
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 80, "targetPort": "metrics", "protocol": "TCP"}
    ]
    assert service["spec"]["selector"].items() <= meta["labels"].items()
    monitor = one(objects, "ServiceMonitor")
    assert monitor["metadata"]["namespace"] == "monitoring"
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["scalers"]}
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    [endpoint] = monitor["spec"]["endpoints"]
    assert (endpoint["port"], endpoint["interval"], endpoint["scrapeTimeout"]) == (
        "metrics",
        "15s",
        "5s",
    )
    assert endpoint["relabelings"] and endpoint["metricRelabelings"]
    assert one(objects, "PodDisruptionBudget")["spec"]["minAvailable"] == "50%"


def test_a_pod_monitor_scrapes_the_pods_without_a_service(chart):
    objects = render(chart, POD_MONITOR, NAMESPACE)
    assert not [o for o in objects if o["kind"] in ("Service", "ServiceMonitor")]
    monitor = one(objects, "PodMonitor")
    labels = one(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert monitor["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"


def test_minimal_values_leave_out_what_is_switched_off(chart):
    objects = render(chart, MINIMAL, "scalers")
    assert [o["kind"] for o in objects] == ["Deployment"]
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "existing"
    absent = {"priorityClassName", "nodeSelector", "tolerations", "topologySpreadConstraints"}
    assert not (absent | {"securityContext"}) & set(pod)
    assert not {"resources", "securityContext"} & set(container(objects))
    assert "annotations" not in one(objects, "Deployment")["spec"]["template"]["metadata"]


# -- bad values fail at render time, saying where -----------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"replicaCount": "two"}, "at '/replicaCount': got string, want integer"),
        ({"replicas": 2}, "additional properties 'replicas' not allowed"),
        ({"image": {"tag": 1}}, "at '/image/tag': got number, want string"),
        ({"leaderElection": {"enabled": "yes"}}, "at '/leaderElection/enabled': got string, want boolean"),
        ({"leaderElection": {"leaseName": "Kube_Scalers"}}, "at '/leaderElection/leaseName'"),
        ({"proportional": {"targets": ["rollout/web"]}}, "at '/proportional/targets/0': 'rollout/web' does not match"),
        ({"proportional": {"targets": "hpa/coredns"}}, "at '/proportional/targets': got string, want array"),
        ({"proportional": {"targets": []}}, "at '/proportional/targets': minItems"),
        ({"proportional": {"defaultParams": {"linaer": {}}}}, "invalid propertyName 'linaer'"),
        ({"proportional": {"pollPeriodSeconds": 0}}, "at '/proportional/pollPeriodSeconds': minimum"),
        ({"proportional": {"maxSyncFailures": -1}}, "at '/proportional/maxSyncFailures': minimum"),
        ({"logLevel": "verbose"}, "at '/logLevel': value must be one of"),
        ({"schedule": {"timeZone": "Europe Berlin"}}, "at '/schedule/timeZone'"),
        ({"schedule": {"calendars": {"configMap": "Team_Calendars"}}}, "at '/schedule/calendars/configMap'"),
        ({"schedule": {"calendars": {"namespace": "kube.system"}}}, "at '/schedule/calendars/namespace'"),
        ({"schedule": {"calendars": {"name": "team-calendars"}}}, "additional properties 'name' not allowed"),
        ({"schedule": {"calendars": "kube-system/kube-scalers-calendars"}}, "at '/schedule/calendars': got string, want object"),
        ({"metrics": {"port": 70000}}, "at '/metrics/port': maximum"),
        ({"podDisruptionBudget": {"minAvailable": "half"}}, "at '/podDisruptionBudget/minAvailable'"),
        ({"rbac": {"scaleTargets": {"rollouts": True}}}, "additional properties 'rollouts' not allowed"),
        ({"leaderElection": {"enabled": False}}, "at '/replicaCount': maximum: got 2, want 1"),
        ({"schedule": {"enabled": False}, "proportional": {"enabled": False}}, "at '/schedule/enabled': value must be true"),
        ({"metrics": {"serviceMonitor": {"enabled": True}}}, "at '/metrics/service/enabled': value must be true"),
        (
            {"metrics": {"service": {"enabled": True}, "serviceMonitor": {"enabled": True}, "podMonitor": {"enabled": True}}},
            "at '/metrics/serviceMonitor/enabled': value must be false",
        ),
    ],
    ids=lambda v: json.dumps(v)[:60] if isinstance(v, dict) else "",
)  # fmt: skip
def test_bad_values_fail_with_the_schema_s_message(chart, values, message):
    with pytest.raises(helm.HelmValuesError) as raised:
        chart.render(values, name=RELEASE, namespace=NAMESPACE)
    assert message in str(raised.value)


def test_an_existing_service_account_must_be_named(chart):
    with pytest.raises(helm.HelmRenderError, match=r"serviceAccount\.name: the existing"):
        chart.render({"serviceAccount": {"create": False}}, name=RELEASE, namespace=NAMESPACE)


# -- the defaults are the kustomize base -------------------------------------------------------


def without_helm_labels(value: Any) -> Any:
    """`value` with Helm's labels taken out of every labels and matchLabels mapping."""
    if isinstance(value, dict):
        return {
            key: (
                {k: v for k, v in item.items() if k not in HELM_LABELS}
                if key in ("labels", "matchLabels") and isinstance(item, dict)
                else without_helm_labels(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [without_helm_labels(item) for item in value]
    return value


def kustomized() -> list[dict[str, Any]]:
    """manifest_objects() as kustomize builds them: the image tag from kustomization.yaml."""
    tags = {i["name"]: f"{i['name']}:{i['newTag']}" for i in kustomization()["images"]}
    objects = manifest_objects()
    for c in one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]:
        c["image"] = tags.get(c["image"], c["image"])
    return objects


def by_identity(objects: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {
        (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in objects
    }


def test_the_defaults_render_the_kustomize_base_object_for_object(chart):
    """Field for field, but for Helm's labels. The base has no metrics Service (Prometheus finds
    the pods by their scrape annotations), so the chart's is off by default too."""
    chart_objects = by_identity(without_helm_labels(render(chart, {}, NAMESPACE)))
    base = by_identity(kustomized())
    assert sorted(chart_objects) == sorted(base)
    for key, obj in base.items():
        assert chart_objects[key] == obj, key


def test_the_chart_s_defaults_are_the_controller_s(chart, monkeypatch):
    """Every setting the chart passes with its defaults is what `scalers run` alone would use."""
    _, rendered_settings = settings_from(render(chart, {}, NAMESPACE), monkeypatch)
    assert rendered_settings == run_settings(parser().parse_args(["run"]))


def test_the_values_reach_the_controller_s_settings(chart, monkeypatch):
    args, settings = settings_from(render(chart, EVERYTHING, "scalers"), monkeypatch)
    p = EVERYTHING["proportional"]
    assert settings.timezone == ZoneInfo("Europe/Berlin")
    assert settings.dry_run and settings.schedule
    assert settings.calendars == "teams/team-calendars"
    assert settings.proportional == Config(
        targets=parse_targets(",".join(p["targets"])),
        namespace="dns",
        configmap="coredns-params",
        default_params=parse_default_params(json.dumps(p["defaultParams"])),
        node_labels="node-role.kubernetes.io/worker=true,pool=general",
        resync_seconds=30,
        max_sync_failures=5,
    )
    assert settings.election == Election(
        "kube-scalers-0", "scalers-leader", "scalers", 30.0, renew_deadline=20.0, retry_period=4.0
    )
    assert (settings.health_port, settings.qps, settings.burst) == (9090, 50.0, 500)
    assert args.log_level == "DEBUG"


def test_minimal_values_reach_the_controller_s_settings(chart, monkeypatch):
    _, settings = settings_from(render(chart, MINIMAL, "scalers"), monkeypatch)
    assert settings.election is None and not settings.schedule
    assert settings.proportional is not None and not settings.dry_run


def test_the_schema_s_target_kinds_are_the_controller_s():
    """No kind the code cannot size (an Argo Rollout, say) can be asked for or granted."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    pattern = schema["properties"]["proportional"]["properties"]["targets"]["items"]["pattern"]
    kinds = re.match(r"\^\(([a-z|]+)\)/", pattern)
    assert kinds is not None and set(kinds.group(1).split("|")) == set(TARGET_KINDS)


# -- the chart's RBAC is exactly what the controller uses ----------------------------------------

# Each with proportional.defaultParams, which the check needs (the ConfigMap is created) and
# which changes no rule.
RBAC_VARIANTS: dict[str, tuple[dict[str, Any], str]] = {
    "defaults": ({}, NAMESPACE),
    "statefulset target": ({"proportional": {"targets": ["hpa/coredns", "statefulset/cache"]}}, NAMESPACE),
    "replicaset target": ({"proportional": {"targets": ["replicaset/legacy"]}}, NAMESPACE),
    "statefulsets of any name": (
        {"proportional": {"targets": ["statefulset/cache"]}, "rbac": {"scaleTargets": {"statefulsets": True}}},
        NAMESPACE,
    ),
    "other configmap and lease names": (
        {"proportional": {"configmap": "coredns-params"}, "leaderElection": {"leaseName": "scalers-leader"}},
        NAMESPACE,
    ),
    "lease, targets and release in three namespaces": (
        {"proportional": {"namespace": "dns", "targets": ["hpa/coredns", "deployment/coredns"]}, "leaderElection": {"namespace": "leases"}},
        "scalers",
    ),
    "calendars in another namespace, under another name": (
        {"schedule": {"calendars": {"configMap": "team-calendars", "namespace": "teams"}}},
        NAMESPACE,
    ),
    "the schedule loop alone, its calendars with the lease": (
        {"proportional": {"enabled": False}, "schedule": {"calendars": {"namespace": "leases"}}, "leaderElection": {"namespace": "leases"}},
        "scalers",
    ),
}  # fmt: skip


def with_params(values: dict[str, Any]) -> dict[str, Any]:
    proportional = {**values.get("proportional", {}), "defaultParams": PARAMS}
    return {**values, "proportional": proportional}


def rbac_of(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kinds = ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
    return [o for o in objects if o["kind"] in kinds]


@pytest.mark.parametrize("variant", RBAC_VARIANTS)
def test_the_chart_s_rbac_allows_every_request_and_nothing_more(
    chart, variant, server: FakeApiServer, clock: ManualClock, monkeypatch
):
    values, namespace = RBAC_VARIANTS[variant]
    objects = render(chart, with_params(values), namespace)
    assert rbac_of(objects) == rbac_of(render(chart, values, namespace))
    _, settings = settings_from(objects, monkeypatch)
    # No HTTP endpoints and no client-side limit: the limiter would wait on the manual clock.
    settings = replace(settings, health_port=None, qps=0.0)
    check_rbac(objects, record(server, clock, settings))


def test_without_the_schedule_loop_the_targets_are_granted_in_their_namespace_only(chart):
    """The ClusterRole keeps the nodes alone; the targets, by name, and Events go to the Role;
    the calendars are neither watched nor granted, wherever they are."""
    values = {
        "schedule": {"enabled": False, "calendars": {"namespace": "teams"}},
        "proportional": {"targets": ["hpa/coredns", "deployment/coredns"]},
    }
    objects = render(chart, values, NAMESPACE)
    assert not [a for a in container(objects)["args"] if a.startswith("--calendars")]
    assert [o["metadata"]["namespace"] for o in objects if o["kind"] == "Role"] == [NAMESPACE]
    assert one(objects, "ClusterRole")["rules"] == [
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["list", "watch"]}
    ]
    rules = {(r["resources"][0], tuple(r.get("resourceNames", ()))): r["verbs"] for r in one(objects, "Role")["rules"]}  # fmt: skip
    assert rules == {
        ("configmaps", ("dns-autoscaler",)): ["list", "watch"],
        ("configmaps", ()): ["create"],
        ("horizontalpodautoscalers", ("coredns",)): ["list", "watch", "patch"],
        ("deployments", ("coredns",)): ["list", "watch"],
        ("deployments/scale", ("coredns",)): ["patch"],
        ("events", ()): ["create", "patch"],
        ("leases", ("kube-scalers",)): ["get", "patch"],
        ("leases", ()): ["create"],
    }


# -- NOTES, README, examples ---------------------------------------------------------------------


def test_the_notes_say_how_to_check_it_works(chart):
    notes = rendered(chart, {}, NAMESPACE)["kube-scalers/templates/NOTES.txt"]
    for expected in (
        "kubectl -n kube-system get lease kube-scalers",
        "kubectl -n kube-system logs deploy/kube-scalers",
        "port-forward deploy/kube-scalers 8080:metrics",
        "/healthz",
        "scalers plan --namespace kube-system --configmap dns-autoscaler",
        "--calendars kube-system/kube-scalers-calendars",
    ):
        assert expected in notes


# Values that are Kubernetes objects of their own: a row each in the README, not a row a field.
WHOLE = {"resources", "nodeSelector", "strategy", "podSecurityContext", "securityContext"}


def leaves(values: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and name not in WHOLE:
            yield from leaves(value, f"{name}.")
        else:
            yield name, value


def test_the_readme_s_table_lists_every_value_with_its_default(chart):
    with (CHART / "values.yaml").open() as stream:
        defaults = yaml.safe_load(stream)
    assert defaults == chart.values
    readme = (CHART / "README.md").read_text()
    rows = re.findall(r"^\| `([^`]+)` \| `([^`]*)` \| \S", readme, re.MULTILINE)
    expected = [(name, json.dumps(value)) for name, value in leaves(defaults)]
    assert rows == expected, "the README's values table (name, default, description)"


def helmfile() -> dict[str, Any]:
    [doc] = documents(EXAMPLES / "helmfile.yaml")
    return doc


def test_the_helmfile_example_installs_this_chart_with_valid_values(chart):
    doc = helmfile()
    [repository] = doc["repositories"]
    [release] = doc["releases"]
    assert release["chart"] == f"{repository['name']}/{chart.name}"
    assert release["version"] == chart.version
    values: dict[str, Any] = {}
    for layer in release["values"]:
        values |= layer
    objects = render(chart, values, release["namespace"])
    args = container(objects)["args"]
    assert "--timezone=Europe/Berlin" in args and "--target=hpa/coredns" in args


def test_the_argocd_example_installs_this_chart_with_valid_values(chart):
    [app] = documents(EXAMPLES / "argocd-helm-application.yaml")
    source = app["spec"]["source"]
    assert (source["chart"], source["targetRevision"]) == (chart.name, chart.version)
    assert source["repoURL"] == helmfile()["repositories"][0]["url"]
    assert source["helm"]["releaseName"] == RELEASE
    objects = render(chart, source["helm"]["valuesObject"], app["spec"]["destination"]["namespace"])
    assert "--timezone=Europe/Berlin" in container(objects)["args"]


def test_the_chart_s_version_and_image_are_the_project_s(chart):
    metadata = chart.metadata
    pyproject = (ROOT / "pyproject.toml").read_text()
    [version] = re.findall(r'^version = "([^"]+)"', pyproject, re.MULTILINE)
    assert metadata["appVersion"] == version == kustomization()["images"][0]["newTag"]
    assert metadata["apiVersion"] == "v2" and metadata["kubeVersion"]
    assert (CHART / "values.schema.json").is_file()


def test_the_schema_is_draft_07_and_closed_wherever_the_chart_owns_the_keys():
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"

    def closed(node: dict[str, Any], where: str) -> Iterator[str]:
        if "properties" in node and node.get("additionalProperties") is not False:
            yield where or "/"
        for key, child in node.get("properties", {}).items():
            yield from closed(child, f"{where}/{key}")

    assert list(closed(schema, "")) == []
