"""`scalers status` and `kubectl scalers`: every annotated object of the live cluster, read
through the real client from the fake API server, each scheduled field judged as the schedule
loop's catch-up judges it (checked against the loop itself where it matters)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scalers.cli import main
from scalers.clock import ManualClock
from scalers.fakeapi import FakeApiServer
from tests.builders import configmap, deployment, hpa
from tests.support import BUSINESS_HOURS, HPA, at, min_max
from tests.test_layering import PACKAGE, SHELL, imports, within

SCHEDULE = "zalando.org/schedule-actions"
PLUGIN = Path(sys.executable).parent / "kubectl-scalers"
needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")

Status = Callable[..., tuple[int, Any]]


@pytest.fixture
def kubeconfig(server: FakeApiServer, tmp_path: Path) -> Path:
    return server.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def status(kubeconfig: Path, capsys: pytest.CaptureFixture[str]) -> Status:
    """`scalers status --kubeconfig ... ARGS` in this process: its exit status and its output,
    decoded when it is JSON."""

    def run(*args: str) -> tuple[int, Any]:
        code = main(["status", "--kubeconfig", str(kubeconfig), *args])
        out = capsys.readouterr().out
        return code, json.loads(out) if "json" in args else out

    return run


def iso(hour: int, minute: int = 0, day: int = 2) -> str:
    return at(hour, minute, day=day).isoformat().replace("+00:00", "Z")


def only(document: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [o for o in document["objects"] if o["name"] == name]
    return found


def fields(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["field"]: f for f in obj["fields"]}


def column(table: str, heading: str, following: str) -> str:
    """The text of a table's column, from its heading to the next one's, each cell's wrapped
    lines joined."""
    lines = table.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("OBJECT"))
    start, end = lines[head].index(heading), lines[head].index(following)
    return " ".join(filter(None, (line[start:end].strip() for line in lines[head + 1 :])))


def test_a_field_at_its_scheduled_value_written_by_the_loop_is_ours(
    server: FakeApiServer, harness: Any, status: Status
) -> None:
    server.create(hpa("web", BUSINESS_HOURS, 2, 20), manager="argocd-controller")
    harness().tick(at(9, 0))

    code, shown = status("--at", iso(9, 30), "-o", "json")

    assert code == 0
    web = only(shown, "web")
    assert web["state"] == "active"
    assert fields(web)["minReplicas"] == {
        "field": "minReplicas",
        "live": 10,
        "scheduled": {"value": 10, "firedAt": "2026-11-02T09:00:00+00:00", "action": 1},
        "owner": {"by": "this-controller", "managers": [], "since": None},
        "next": {"value": 2, "at": "2026-11-02T18:00:00+00:00", "action": 2},
        "calendars": [],
    }
    assert fields(web)["maxReplicas"]["live"] == 40
    assert fields(web)["maxReplicas"]["owner"]["by"] == "this-controller"


def test_an_override_after_the_last_fire_names_its_manager_and_time_as_the_catch_up_keeps_it(
    server: FakeApiServer, harness: Any, clock: ManualClock, status: Status
) -> None:
    server.create(hpa("web", BUSINESS_HOURS, 2, 20), manager="argocd-controller")
    loop = harness()
    loop.tick(at(9, 0))
    loop.close()
    clock.set(at(9, 30))
    server.patch(*HPA, "shop", "web", {"spec": {"minReplicas": 15}}, manager="kubectl-patch")

    code, shown = status("--at", iso(10), "-o", "json")
    _, table = status("--at", iso(10))

    assert code == 0
    web = fields(only(shown, "web"))
    assert web["minReplicas"]["live"] == 15
    assert web["minReplicas"]["scheduled"]["value"] == 10
    assert web["minReplicas"]["owner"] == {
        "by": "override",
        "managers": ["kubectl-patch"],
        "since": "2026-11-02T09:30:00+00:00",
    }
    assert web["maxReplicas"]["owner"]["by"] == "this-controller"
    owners = column(table, "OWNER", "NEXT FIRE")
    assert owners == "override by kubectl-patch since 2026-11-02 09:30 UTC this controller"
    assert all(len(line) <= 120 for line in table.splitlines())
    # The loop, started cold now, judges the same: the override stands.
    harness().tick(at(10))
    assert min_max(server, "web") == (15, 40)


def test_a_change_before_the_last_fire_is_not_an_override_and_the_catch_up_rewrites_it(
    server: FakeApiServer, harness: Any, clock: ManualClock, status: Status
) -> None:
    server.create(hpa("web", BUSINESS_HOURS, 2, 20), manager="argocd-controller")
    loop = harness()
    loop.tick(at(9, 0))
    loop.close()
    clock.set(at(9, 30))  # then the controller is down through the 18:00 fire
    server.patch(*HPA, "shop", "web", {"spec": {"minReplicas": 5}}, manager="kubectl-patch")

    _, shown = status("--at", iso(18, 30), "-o", "json")

    web = fields(only(shown, "web"))["minReplicas"]
    assert (web["live"], web["scheduled"]["value"]) == (5, 2)
    assert web["owner"] == {
        "by": "other",
        "managers": ["kubectl-patch"],
        "since": "2026-11-02T09:30:00+00:00",
    }
    harness().tick(at(18, 30))
    assert min_max(server, "web") == (2, 20)


def test_a_field_the_controller_never_wrote_is_not_yet_written(
    server: FakeApiServer, status: Status
) -> None:
    server.create(hpa("web", BUSINESS_HOURS, 2, 20), manager="argocd-controller")

    code, shown = status("--at", iso(9, 30), "-o", "json")
    _, table = status("--at", iso(9, 30))

    assert code == 0
    web = fields(only(shown, "web"))
    assert web["minReplicas"]["live"] == 2
    assert web["minReplicas"]["scheduled"]["value"] == 10
    assert web["minReplicas"]["owner"]["by"] == "not-written"
    assert web["minReplicas"]["owner"]["managers"] == ["argocd-controller"]
    assert column(table, "OWNER", "NEXT FIRE").startswith(
        "not yet written (set by argocd-controller)"
    )


def test_a_rejected_annotation_is_shown_with_every_problem_and_exits_1(
    server: FakeApiServer, status: Status
) -> None:
    server.create(hpa("bad", '[{"schedule": "0 9 * * 1-5", "minReplica": 3}]'))
    server.create(hpa("web", BUSINESS_HOURS))

    code, shown = status("--at", iso(9, 30), "-o", "json")
    _, table = status("--at", iso(9, 30))

    assert code == 1
    bad = only(shown, "bad")
    assert bad["state"] == "rejected"
    assert bad["rejected"].startswith("InvalidAction: action 1: sets none of minReplicas")
    assert [p["reason"] for p in bad["problems"]] == ["InvalidAction", "UnknownKey"]
    assert bad["fields"] == []
    assert only(shown, "web")["state"] == "active"
    assert "rejected: InvalidAction (below)" in table
    assert "HorizontalPodAutoscaler shop/bad: InvalidAction: action 1: sets none" in table


def test_a_public_holiday_moves_the_next_fire_past_it(
    server: FakeApiServer, status: Status
) -> None:
    # Tuesday 3 November 2026 is Culture Day, a public holiday in Japan.
    actions = [{"schedule": "0 9 * * *", "minReplicas": 10, "tz": "Asia/Tokyo",
                "skipDays": "holidays:JP"}]  # fmt: skip
    server.create(hpa("web", json.dumps(actions), 2, 20))

    _, monday = status("--at", iso(8), "-o", "json")  # 17:00 in Tokyo
    _, holiday = status("--at", iso(12, day=3), "-o", "json")  # 21:00 on the holiday
    _, table = status("--at", iso(8))

    web = fields(only(monday, "web"))["minReplicas"]
    assert web["next"] == {"value": 10, "at": "2026-11-04T09:00:00+09:00", "action": 1}
    assert web["calendars"] == [{"action": 1, "skipDays": ["holidays:JP"], "onlyDays": []}]
    on_holiday = fields(only(holiday, "web"))["minReplicas"]
    assert on_holiday["scheduled"]["firedAt"] == "2026-11-02T09:00:00+09:00"
    row = next(line for line in table.splitlines() if "minReplicas" in line)
    assert "Wed 2026-11-04 09:00 JST" in row and "skip holidays:JP" in row


def test_a_team_calendar_is_read_from_the_calendars_configmap(
    server: FakeApiServer, status: Status
) -> None:
    server.create(configmap({"freeze": "2026-11-03..2026-11-05  # release freeze\n"},
                            name="calendars", namespace="ops"))  # fmt: skip
    actions = [{"schedule": "30 1 * * *", "replicas": 6, "skipDays": "freeze"}]
    server.create(deployment("report", 1, namespace="batch",
                             annotations={SCHEDULE: json.dumps(actions)}))  # fmt: skip

    code, shown = status("--at", iso(8), "--calendars", "ops/calendars", "-o", "json")
    _, table = status("--at", iso(8), "--calendars", "ops/calendars")

    assert code == 0
    assert shown["calendars"] == {
        "source": "ops/calendars", "found": True, "names": ["freeze"], "problem": None,
    }  # fmt: skip
    report = fields(only(shown, "report"))["replicas"]
    assert report["next"] == {"value": 6, "at": "2026-11-06T01:30:00+00:00", "action": 1}
    assert "calendars ops/calendars: freeze" in table
    assert "deployment" in table and "batch/report" in table


def test_an_object_whose_team_calendar_cannot_be_read_is_held_and_exits_1(
    server: FakeApiServer, harness: Any, status: Status
) -> None:
    actions = [{"schedule": "30 1 * * *", "replicas": 6, "skipDays": ["holidays:JP", "freeze"]}]
    server.create(deployment("report", 1, namespace="batch",
                             annotations={SCHEDULE: json.dumps(actions)}))  # fmt: skip
    server.create(hpa("web", BUSINESS_HOURS))

    code, shown = status("--at", iso(8), "-o", "json")
    _, table = status("--at", iso(8))

    assert code == 1
    report = only(shown, "report")
    assert report["state"] == "held"
    assert report["held"] == (
        "action 1: the calendars' ConfigMap kube-system/kube-scalers-calendars does not exist"
    )
    [replicas] = report["fields"]
    assert (replicas["live"], replicas["scheduled"], replicas["next"]) == (1, None, None)
    assert replicas["calendars"] == [
        {"action": 1, "skipDays": ["holidays:JP", "freeze"], "onlyDays": []}
    ]
    assert only(shown, "web")["state"] == "active"
    assert "calendars kube-system/kube-scalers-calendars: does not exist" in table
    assert "Deployment batch/report: held: action 1: the calendars' ConfigMap" in table


def test_a_calendars_configmap_the_server_refuses_holds_only_what_needs_it(
    server: FakeApiServer, status: Status
) -> None:
    actions = [{"schedule": "30 1 * * *", "replicas": 6, "skipDays": "freeze"}]
    server.create(deployment("report", 1, namespace="batch",
                             annotations={SCHEDULE: json.dumps(actions)}))  # fmt: skip
    server.create(hpa("web", BUSINESS_HOURS))
    server.faults.inject(403, count=1, method="GET", path_contains="/configmaps/",
                         message="configmaps is forbidden")  # fmt: skip

    code, shown = status("--at", iso(8), "-o", "json")

    assert code == 1
    assert shown["calendars"]["problem"] == "cannot be read: HTTP 403: configmaps is forbidden"
    assert only(shown, "report")["held"] == (
        "action 1: the calendars' ConfigMap kube-system/kube-scalers-calendars cannot be read: "
        "HTTP 403: configmaps is forbidden"
    )
    assert only(shown, "web")["state"] == "active"


def test_namespace_limits_the_objects_listed_and_all_namespaces_wins(
    server: FakeApiServer, status: Status
) -> None:
    server.create(hpa("web", BUSINESS_HOURS, namespace="shop"))
    server.create(hpa("api", BUSINESS_HOURS, namespace="payments"))
    server.create(hpa("plain", None, namespace="shop"))

    _, every = status("--at", iso(8), "-o", "json")
    server.reset_requests()
    _, shop = status("--at", iso(8), "-n", "shop", "-o", "json")
    lists = [r.path for r in server.requests if r.method == "GET" and "configmaps" not in r.path]
    _, both = status("--at", iso(8), "--namespace=shop", "-A", "-o", "json")

    def names(document: dict[str, Any]) -> list[str]:
        return [f"{o['namespace']}/{o['name']}" for o in document["objects"]]

    assert names(every) == names(both) == ["payments/api", "shop/web"]
    assert names(shop) == ["shop/web"]
    assert lists == [
        "/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers",
        "/apis/apps/v1/namespaces/shop/deployments",
    ]


def test_a_suspended_object_says_so(server: FakeApiServer, status: Status) -> None:
    server.create(hpa("web", BUSINESS_HOURS, annotations={"kube-scalers.io/suspend": "true"}))

    code, shown = status("--at", iso(8), "-o", "json")
    _, table = status("--at", iso(8))

    assert code == 0
    assert only(shown, "web")["state"] == "suspended"
    assert column(table, "OBJECT", "FIELD") == "hpa shop/web (suspended)"


def test_an_empty_cluster_and_an_unreachable_one(
    status: Status, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, table = status("--at", iso(8))
    assert code == 0
    assert table.splitlines()[-1] == "no annotated objects"

    assert main(["status", "--kubeconfig", str(tmp_path / "missing")]) == 2
    assert "scalers status: no kubeconfig at" in capsys.readouterr().err


def test_the_cluster_refusing_a_list_is_unreachable(
    server: FakeApiServer, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.faults.inject(403, count=1, method="GET", path_contains="deployments")
    assert main(["status", "--kubeconfig", str(kubeconfig)]) == 2
    assert "scalers status: cannot read the cluster: HTTP 403" in capsys.readouterr().err


def test_the_readme_s_example_is_what_status_prints(
    server: FakeApiServer, clock: ManualClock, status: Status
) -> None:
    clock.set(at(7))
    web = [
        {"schedule": "0 9 * * 1-5", "minReplicas": 10, "maxReplicas": 40, "skipDays": "holidays:DE-BY"},
        {"schedule": "0 20 * * 1-5", "minReplicas": 2, "maxReplicas": 20, "skipDays": "holidays:DE-BY"},
    ]  # fmt: skip
    berlin = {"kube-scalers.io/timezone": "Europe/Berlin"}
    server.create(
        hpa("web", json.dumps(web), 2, 20, annotations=berlin), manager="argocd-controller"
    )
    for name, key in (("search", "minReplicas"), ("legacy", "minReplica")):
        actions = json.dumps([{"schedule": "0 8 * * 1-5", key: 4}])
        server.create(hpa(name, actions, 2, 10), manager="argocd-controller")
    days = ["holidays:JP", "year-end"]
    worker = [{"schedule": "30 1 * * 1-5", "replicas": 6, "skipDays": days},
              {"schedule": "30 5 * * 1-5", "replicas": 0, "skipDays": days}]  # fmt: skip
    tokyo = {SCHEDULE: json.dumps(worker), "kube-scalers.io/timezone": "Asia/Tokyo"}
    server.create(deployment("report-worker", 0, namespace="batch", annotations=tokyo),
                  manager="argocd-controller")  # fmt: skip
    server.create(configmap({"year-end": "2026-12-28..2027-01-03\n"}, "kube-scalers-calendars"))
    clock.set(at(8, 0, 1))  # the 09:00 fire in Berlin
    patch = {"spec": {"minReplicas": 10, "maxReplicas": 40}}
    server.patch(*HPA, "shop", "web", patch, manager="kube-scalers-schedule")
    clock.set(at(9, 41, 12))
    server.patch(*HPA, "shop", "web", {"spec": {"maxReplicas": 60}}, manager="kubectl-edit")

    code, table = status("--at", iso(10))

    readme = (PACKAGE.parent / "README.md").read_text()
    section = readme.split("## Schedule status:", 1)[1]
    assert code == 1
    assert table.rstrip("\n") in section


def test_the_status_is_pure() -> None:
    reached = sorted(m for m in imports(PACKAGE / "status.py") if within(m, SHELL))
    assert reached == []


# -- kubectl scalers: the same CLI as kubectl's plugin ------------------------------------------


def kubectl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real kubectl, with the venv's kubectl-scalers first on PATH."""
    assert PLUGIN.is_file(), "kubectl-scalers is not installed: pip install --no-deps -e ."
    path = f"{PLUGIN.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return subprocess.run(["kubectl", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PATH": path, **(env or {})})  # fmt: skip


@needs_kubectl
def test_kubectl_scalers_runs_status_and_plan(tmp_path: Path) -> None:
    with FakeApiServer() as server:
        server.create(hpa("web", BUSINESS_HOURS, namespace="shop"))
        server.create(hpa("api", BUSINESS_HOURS, namespace="payments"))
        config = str(server.write_kubeconfig(tmp_path / "kubeconfig"))
        # kubectl caches discovery per server: a directory of the test's own, if it ever asks.
        own = {"KUBECACHEDIR": str(tmp_path / "cache")}
        status = kubectl("scalers", "status", "--kubeconfig", config, "--context", "fake",
                         "-n", "shop", "--at", iso(8), "-o", "json", env=own)  # fmt: skip
        # kubectl passes KUBECONFIG on as the user set it.
        table = kubectl("scalers", "status", "--at", iso(8), env={**own, "KUBECONFIG": config})
        plan = kubectl("scalers", "plan", "--kubeconfig", config, "--at", iso(8), "-o", "json")

    assert status.returncode == 0, status.stderr
    assert [o["name"] for o in json.loads(status.stdout)["objects"]] == ["web"]
    assert table.returncode == 0, table.stderr
    assert column(table.stdout, "OBJECT", "FIELD") == "hpa payments/api hpa shop/web"
    assert plan.returncode == 0, plan.stderr
    assert {s["name"] for s in json.loads(plan.stdout)["schedules"]} == {"web", "api"}


@needs_kubectl
def test_kubectl_scalers_names_itself_and_never_implies_run() -> None:
    helped = kubectl("scalers", "--help")
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("usage: kubectl scalers ")
    assert "usage: kubectl scalers status " in kubectl("scalers", "status", "--help").stdout

    # Flags without a command are `scalers run`'s, for CPA's args; not when run by kubectl.
    bare = kubectl("scalers", "--kubeconfig", "/nowhere")
    assert bare.returncode == 2
    assert bare.stderr.startswith("kubectl scalers: error: ")
    assert "scalers run" not in bare.stderr
