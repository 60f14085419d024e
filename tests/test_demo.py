"""`scalers demo` as a new user meets it: from a plain (not editable) install in any directory,
with their own manifests, on a machine with no writable temporary directory, and held open for
kubectl while the controller runs on in real time."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from scalers.demo import Demo
from scalers.demo.seed import Seeded
from scalers.manifests import load
from tests.support import SCALERS, SCHEDULE, wait_for

ROOT = Path(__file__).resolve().parent.parent
FAST = ["--speed", "50000"]


def demo(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None):
    return subprocess.run(
        [*SCALERS, "demo", *FAST, *args],
        capture_output=True, text=True, timeout=120, cwd=cwd, env=env,
    )  # fmt: skip


def test_the_demo_runs_from_a_plain_install_in_any_directory(tmp_path: Path) -> None:
    """pip install . (not editable), offline, into a directory of its own; run elsewhere."""
    source, site, elsewhere = tmp_path / "src", tmp_path / "site", tmp_path / "elsewhere"
    shutil.copytree(
        ROOT / "scalers", source / "scalers", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    install = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index"]
    install += ["--no-build-isolation", "--target", str(site), str(source)]
    subprocess.run(install, check=True, capture_output=True, timeout=300)
    shutil.rmtree(source)  # nothing may be read from the source tree
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    command = [sys.executable, "-c", "import sys, scalers.cli; sys.exit(scalers.cli.main())"]
    result = subprocess.run(
        [*command, "demo", *FAST], capture_output=True, text=True, timeout=120,
        cwd=elsewhere, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"seeded from {site / 'scalers' / 'examples'}/" in result.stdout
    assert "HorizontalPodAutoscaler kube-system/coredns" in result.stdout
    assert "The demo's cluster has Deployment kube-system/coredns" in result.stdout
    assert "ScheduledScale: minReplicas 2 -> 10 (fire" in result.stdout
    assert "ProportionalScale: minReplicas 2 -> 3" in result.stdout
    assert list(elsewhere.iterdir()) == []  # wrote nothing where it ran


def test_without_a_temporary_directory_the_demo_runs_and_says_how_to_reach_it() -> None:
    """A read-only root file system with no writable /tmp: no kubeconfig, no log file."""
    refuse = "def no(*a, **k): raise OSError(30, 'Read-only file system')"
    script = f"import sys, tempfile\n{refuse}\ntempfile.mkdtemp = no\n"
    script += "import scalers.cli; sys.exit(scalers.cli.main())"
    result = subprocess.run(
        [sys.executable, "-c", script, "demo", *FAST], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "No temporary directory to keep the controller's log lines in" in result.stdout
    assert re.search(r"Watch it: kubectl --server http://127\.0\.0\.1:\d+ get hpa", result.stdout)
    assert "ScheduledScale: minReplicas 2 -> 10 (fire" in result.stdout


HPA_V1 = """\
    apiVersion: autoscaling/v1
    kind: HorizontalPodAutoscaler
    metadata: {name: old, namespace: shop, annotations: {SCHEDULE: '[{"schedule": "0 9 * * *", "minReplicas": 3}]'}}
    spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: old}, maxReplicas: 5}
"""
HPA_V2 = """\
    apiVersion: autoscaling/v2
    kind: HorizontalPodAutoscaler
    metadata: {name: api, namespace: shop, annotations: {SCHEDULE: '[{"schedule": "0 9 * * 1-5", "minReplicas": 4}]'}}
    spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}, minReplicas: 1, maxReplicas: 5}
"""
INVALID = """\
    apiVersion: autoscaling/v2
    kind: HorizontalPodAutoscaler
    metadata: {name: nobounds, namespace: shop, annotations: {SCHEDULE: '[{"schedule": "0 9 * * *", "minReplicas": 2}]'}}
    spec: {minReplicas: 1}
"""


def write(directory: Path, name: str, text: str) -> None:
    directory.mkdir(exist_ok=True)
    (directory / name).write_text(textwrap.dedent(text).replace("SCHEDULE", SCHEDULE))


def test_own_examples_are_seeded_and_what_cannot_be_used_is_named(tmp_path: Path) -> None:
    write(tmp_path, "api.yaml", HPA_V2)
    write(tmp_path, "old.yaml", HPA_V1)
    write(tmp_path, "broken.yaml", "a: [b\n")
    write(tmp_path, "invalid.yaml", INVALID)
    result = demo("--examples", str(tmp_path))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "\n  HorizontalPodAutoscaler shop/api\n" in out
    assert f"skipped: {tmp_path}/broken.yaml: InvalidYAML: line 2" in out
    assert (
        f"skipped: {tmp_path}/old.yaml: HorizontalPodAutoscaler shop/old: apiVersion "
        "'autoscaling/v1': the controller reads HorizontalPodAutoscaler as autoscaling/v2"
    ) in out
    assert (
        f"skipped: {tmp_path}/invalid.yaml: HorizontalPodAutoscaler shop/nobounds: the API server refused it"
        in out
    )
    assert "HorizontalPodAutoscaler shop/api: ScheduledScale: minReplicas 1 -> 4 (" in out
    assert "HorizontalPodAutoscaler shop/api  minReplicas: 4 (kube-scalers-schedule)" in out
    # The bundled story's steps need its objects: none of them happens here.
    assert "on-call raises shop/web" not in out and "shop/checkout" not in out
    assert "CoreDNS floor" not in out


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "no *.yaml, *.yml or *.json files in"),
        ({"old.yaml": HPA_V1, "broken.yaml": "a: [b\n"}, "nothing in"),
        ({"plain.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"}, "nothing in"),
    ],
)
def test_a_directory_with_nothing_to_show_is_refused_at_once(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    for name, text in files.items():
        write(tmp_path, name, text)
    result = demo("--examples", str(tmp_path))
    assert result.returncode == 2
    assert f"scalers demo: {message}" in result.stderr
    assert "Traceback" not in result.stderr and "In-process API server" not in result.stdout
    if "old.yaml" in files:
        assert "scalers demo: skipped: " in result.stderr and "autoscaling/v1" in result.stderr


def test_a_missing_examples_directory_is_refused(tmp_path: Path) -> None:
    result = demo("--examples", str(tmp_path / "nope"))
    assert result.returncode == 2
    assert result.stderr.strip().endswith(f"--examples {tmp_path / 'nope'}: not a directory")


def test_held_the_controller_runs_on_in_real_time_and_acts_on_a_change() -> None:
    process = subprocess.Popen(
        [*SCALERS, "demo", *FAST, "--hold"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True)
    reader.start()
    try:
        wait_for(lambda: any(line.startswith("Holding") for line in lines), timeout=60)
        url = re.search(r"http://127\.0\.0\.1:\d+", "".join(lines))
        assert url is not None
        # A schedule whose last fire is past: its catch-up writes at once, in real time.
        actions = [{"schedule": "* * * * *", "minReplicas": 7}]
        configuration = client.Configuration()
        configuration.host = url.group()
        client.AutoscalingV2Api(
            client.ApiClient(configuration)
        ).patch_namespaced_horizontal_pod_autoscaler(
            "web", "shop", {"metadata": {"annotations": {SCHEDULE: json.dumps(actions)}}}
        )
        wanted = "HorizontalPodAutoscaler shop/web: ScheduledScale: minReplicas 2 -> 7"
        wait_for(lambda: any(wanted in line for line in lines), timeout=30)
        # In real time: at 50,000x the seconds since "Holding" would be half a virtual day.
        [said] = [line for line in lines if wanted in line]
        assert said.startswith("Tue 06:"), said
    finally:
        # SIGTERM (docker stop), which the demo takes as Ctrl-C: a shell without job control
        # starts a background job with SIGINT ignored, and the suite may run as one.
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert process.returncode == 0


def test_without_coredns_the_story_does_not_wait_for_its_floor() -> None:
    """`--examples` without the CoreDNS HPA: no step holds time for a floor that never comes."""

    class NoServer:
        def get(self, *_: object) -> None:
            raise AssertionError("polled the HPA of a floor that nothing sizes")

    story = Demo(argparse.Namespace(speed=1.0, timezone=None, dry_run=False))
    story.server = NoServer()  # type: ignore[assignment]
    story.seeded = Seeded(objects=load([ROOT / "examples" / "business-hours-hpa.yaml"]).manifests)
    story.floor_becomes(3)
    assert story.floor(3) == ""


def test_the_coredns_example_adds_only_what_a_real_cluster_lacks() -> None:
    """Applied to a cluster, it must never replace the cluster's own CoreDNS Deployment."""
    objects = [(m.kind, m.namespace, m.name) for m in load([ROOT / "examples"]).manifests]
    in_kube_system = sorted(o for o in objects if o[1] == "kube-system")
    assert in_kube_system == [
        ("ConfigMap", "kube-system", "dns-autoscaler"),
        ("ConfigMap", "kube-system", "kube-scalers-calendars"),
        ("HorizontalPodAutoscaler", "kube-system", "coredns"),
    ]
    # The demo's cluster has the Deployment, as a real one does, in the demo's own files.
    cluster = yaml.safe_load((ROOT / "scalers" / "demo" / "cluster.yaml").read_text())
    assert (cluster["kind"], cluster["metadata"]["name"]) == ("Deployment", "coredns")
