"""`scalers` as an operator starts it: flags, kubeconfig, JSON logs, SIGTERM, and the demo."""

from __future__ import annotations

import json
import math
import re
import signal
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from scalers.fakeapi import FakeApiServer
from scalers.log import DECISION_KEYS
from tests.builders import hpa, node
from tests.support import SCALERS, wait_for


def test_run_writes_through_a_kubeconfig_logs_json_and_stops_on_sigterm(tmp_path: Path) -> None:
    with FakeApiServer() as server:
        server.create(hpa("web", json.dumps([{"schedule": "* * * * *", "minReplicas": 3}])))
        server.create(hpa("coredns", None, 1, 10, namespace="kube-system"))
        for i in range(4):
            server.create(node(f"node-{i}"))
        kubeconfig = tmp_path / "kubeconfig"
        server.write_kubeconfig(str(kubeconfig))
        port = free_port()
        process = subprocess.Popen(
            [*SCALERS, "run", "--kubeconfig", str(kubeconfig), "--health-port", str(port),
             "--default-params", '{"linear": {"nodesPerReplica": 2, "min": 1}}'],
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            get = lambda ns, name: server.get("autoscaling/v2", "HorizontalPodAutoscaler", ns, name)  # noqa: E731
            wait_for(lambda: get("shop", "web")["spec"]["minReplicas"] == 3, timeout=20)
            wait_for(lambda: get("kube-system", "coredns")["spec"]["minReplicas"] == 2, timeout=20)
            created = server.get("v1", "ConfigMap", "kube-system", "dns-autoscaler")
            assert created is not None and "linear" in created["data"]
            lease = server.get("coordination.k8s.io/v1", "Lease", "kube-system", "kube-scalers")
            assert lease is not None and lease["spec"]["holderIdentity"] == socket.gethostname()
            for probe in ("healthz", "readyz"):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/{probe}") as answer:
                    assert answer.status == 200 and answer.read() == b"ok\n"
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics") as answer:
                families = {
                    f.name: f for f in text_string_to_metric_families(answer.read().decode())
                }
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=20)
        finally:
            process.kill()
    assert process.returncode == 0, stderr[-3000:]
    lines = [json.loads(line) for line in stderr.splitlines()]
    [write, floor] = sorted(
        (line for line in lines if line.get("action") == "write"), key=lambda line: line["loop"]
    )[::-1]
    assert set(DECISION_KEYS) <= set(write) and set(DECISION_KEYS) <= set(floor)
    assert (floor["loop"], floor["namespace"], floor["name"], floor["field"]) == (
        "proportional",
        "kube-system",
        "coredns",
        "minReplicas",
    )
    assert (floor["old"], floor["new"], floor["reason"]) == (1, 2, "linear")
    assert (write["loop"], write["namespace"], write["name"]) == ("schedule", "shop", "web")
    assert (write["field"], write["old"], write["new"], write["reason"]) == (
        "minReplicas",
        2,
        3,
        "catch-up",
    )
    assert lines[-1]["message"] == "stopped"
    for name in (
        "scalers_writes", "scalers_rejected_annotations", "scalers_rejected_parameters",
        "scalers_fire_delay_seconds", "scalers_last_evaluation_timestamp_seconds",
        "scalers_watch_restarts", "scalers_api_errors", "scalers_leader",
        "scalers_proportional_nodes", "scalers_proportional_cores",
        "scalers_proportional_replicas", "scalers_scheduled_replicas",
    ):  # fmt: skip
        assert name in families, name
    assert families["scalers_leader"].samples[0].value == 1
    writes = {
        (s.labels["loop"], s.labels["outcome"]): s.value
        for s in families["scalers_writes"].samples
        if s.name.endswith("_total")
    }
    assert writes[("schedule", "success")] == 1 and writes[("proportional", "success")] == 1
    nodes = {s.labels["state"]: s.value for s in families["scalers_proportional_nodes"].samples}
    assert nodes == {"total": 4, "schedulable": 4}
    assert families["scalers_proportional_replicas"].samples[0].value == 2
    scheduled = {
        (s.labels["name"], s.labels["field"]): s.value
        for s in families["scalers_scheduled_replicas"].samples
    }
    assert scheduled == {("web", "minReplicas"): 3}
    lease = server.get("coordination.k8s.io/v1", "Lease", "kube-system", "kube-scalers")
    assert lease["spec"]["leaseDurationSeconds"] == 1  # released on SIGTERM


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_missing_kubeconfig_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [*SCALERS, "run", "--kubeconfig", str(tmp_path / "absent")],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert "no kubeconfig at" in result.stderr and "absent" in result.stderr


def test_an_unknown_timezone_flag_is_refused_before_anything_starts() -> None:
    result = subprocess.run(
        [*SCALERS, "run", "--timezone", "Mars/Olympus"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "unknown time zone 'Mars/Olympus'" in result.stderr


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--target", "pod/coredns", "expected KIND/NAME with KIND one of hpa, deployment"),
        ("--default-params", '{"linear": {"min": 1}}', "linear"),
        ("--default-params", "{nope", "--default-params"),
        ("--nodelabels", "pool", "expected key=value"),
        ("--poll-period-seconds", "0", "whole number of seconds from 1"),
    ],
)
def test_bad_proportional_flags_are_refused_before_anything_starts(
    flag: str, value: str, message: str
) -> None:
    result = subprocess.run(
        [*SCALERS, "run", f"{flag}={value}"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert flag in result.stderr and message in result.stderr


def test_flags_fall_back_to_the_environment() -> None:
    result = subprocess.run(
        [*SCALERS, "run"],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin", "SCALERS_TARGET": "cronjob/x"},
    )
    assert result.returncode == 2
    assert "'cronjob/x'" in result.stderr


def test_the_demo_tells_the_story_of_a_day() -> None:
    result = subprocess.run(
        [*SCALERS, "demo", "--speed", "20000"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for expected in (
        "ScheduledScale: maxReplicas 20 -> 40 (catch-up",
        "ScheduledScale: minReplicas 2 -> 10 (fire",
        "OverrideObserved: minReplicas changed 10 -> 15 by kubectl-patch",
        "OverrideKept: minReplicas 15",
        "InvalidSchedule: action 1: schedule '0 0 9 * * 1-5' has 6 fields",
        "ScheduledScale: replicas 0 -> 6",
        "ScheduledScale: minReplicas 15 -> 2 (fire",
        # Monday is a public holiday in Tokyo: the helpdesk's catch-up takes Friday evening's
        # values, and its business hours begin on Tuesday.
        "support/helpdesk: ScheduledScale: minReplicas 3 -> 1, maxReplicas 12 -> 10 (catch-up, "
        "action 2 of Fri 2026-11-20 18:00 Asia/Tokyo)",
        "support/helpdesk: ScheduledScale: minReplicas 1 -> 6, maxReplicas 10 -> 30 (fire, "
        "action 1 of Tue 2026-11-24 09:00 Asia/Tokyo)",
    ):
        assert expected in out
    # The floor follows the nodes: up before business hours, down when spot nodes go NotReady,
    # up with their replacements, down in the evening. How much of a burst the controller had
    # seen when it wrote depends on the machine's speed, so each write is checked against the
    # counts it names: max(2, ceil(schedulable nodes / 16)) with the example's parameters.
    writes = re.findall(r"ProportionalScale: minReplicas (\d+) -> (\d+) \(linear: (\d+) of", out)
    assert [(int(old), int(new)) for old, new, _ in writes] == [(2, 3), (3, 2), (2, 3), (3, 2)]
    for _, new, schedulable in writes:
        assert int(new) == max(2, math.ceil(int(schedulable) / 16))
    assert "minReplicas: 2 (kube-scalers-schedule); maxReplicas: 40 (kube-scalers-schedule)" in out
    assert "kube-system/coredns  minReplicas: 2 (kube-scalers-proportional)" in out
