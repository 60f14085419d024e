"""`scalers` as an operator starts it: flags, kubeconfig, JSON logs, SIGTERM, and the demo."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from scalers.fakeapi import FakeApiServer
from scalers.log import DECISION_KEYS
from tests.conftest import hpa, wait_for

SCALERS = [sys.executable, "-m", "scalers.cli"]


def test_run_writes_through_a_kubeconfig_logs_json_and_stops_on_sigterm(tmp_path: Path) -> None:
    with FakeApiServer() as server:
        server.create(hpa("web", json.dumps([{"schedule": "* * * * *", "minReplicas": 3}])))
        kubeconfig = tmp_path / "kubeconfig"
        server.write_kubeconfig(str(kubeconfig))
        process = subprocess.Popen(
            [*SCALERS, "run", "--kubeconfig", str(kubeconfig)],
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            get = lambda: server.get("autoscaling/v2", "HorizontalPodAutoscaler", "shop", "web")  # noqa: E731
            wait_for(lambda: get()["spec"]["minReplicas"] == 3, timeout=20)
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=20)
        finally:
            process.kill()
    assert process.returncode == 0, stderr[-3000:]
    lines = [json.loads(line) for line in stderr.splitlines()]
    [write] = [line for line in lines if line.get("action") == "write"]
    assert set(DECISION_KEYS) <= set(write)
    assert (write["loop"], write["namespace"], write["name"]) == ("schedule", "shop", "web")
    assert (write["field"], write["old"], write["new"], write["reason"]) == (
        "minReplicas",
        2,
        3,
        "catch-up",
    )
    assert lines[-1]["message"] == "stopped"


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
    ):
        assert expected in out
    assert "minReplicas: 2 (kube-scalers-schedule); maxReplicas: 40 (kube-scalers-schedule)" in out
