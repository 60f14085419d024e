"""`scalers run --dry-run` against a live cluster (the README's own example): it decides what it
would write and sends nothing, no Lease and no Event included, so the deployed controller keeps
the Lease and keeps writing."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

from scalers.fakeapi import FakeApiServer
from tests.builders import hpa, node
from tests.support import SCALERS, wait_for


def test_a_dry_run_takes_no_lease_and_sends_no_write(tmp_path: Path) -> None:
    with FakeApiServer() as server:
        server.create(hpa("web", json.dumps([{"schedule": "* * * * *", "minReplicas": 3}])))
        server.create(hpa("coredns", None, 1, 10, namespace="kube-system"))
        for i in range(4):
            server.create(node(f"node-{i}"))
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
        # Leader election is on by default, and the ConfigMap absent: both would be written.
        process = subprocess.Popen(
            [*SCALERS, "run", "--dry-run", "--kubeconfig", str(kubeconfig), "--health-port", "0",
             "--default-params", '{"linear": {"nodesPerReplica": 2, "min": 1}}'],
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        lines: list[dict[str, Any]] = []
        reader = threading.Thread(target=_read, args=(process, lines), daemon=True)
        reader.start()
        try:

            def decided(loop: str) -> bool:
                return any(
                    line.get("action") == "would-write" and line.get("loop") == loop
                    for line in list(lines)
                )

            wait_for(lambda: decided("schedule") and decided("proportional"), timeout=20)
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)
        finally:
            process.kill()
        reader.join(timeout=5)
        assert process.returncode == 0, lines[-5:]
        sent = [(r.method, r.path) for r in server.requests if r.method != "GET"]
        assert sent == []
        assert server.get("coordination.k8s.io/v1", "Lease", "kube-system", "kube-scalers") is None
        assert server.get("v1", "ConfigMap", "kube-system", "dns-autoscaler") is None


def _read(process: subprocess.Popen[str], lines: list[dict[str, Any]]) -> None:
    assert process.stderr is not None
    for line in process.stderr:
        lines.append(json.loads(line))
