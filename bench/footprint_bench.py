"""The resident footprint of `scalers run` as shipped (issue 13). Run:
.venv/bin/python -m bench.footprint_bench [--nodes 5000] [--deployments 5000] [--hpas 2000]
[--settle 10]

(1) The floor: RSS of a fresh interpreter after each step of the imports, every step in a new
    process and cumulative (the interpreter alone; + kubernetes.client; + prometheus_client;
    + the other libraries scalers uses; + what `scalers run` imports before its first request),
    with the number of modules loaded; and the RSS of `scalers run` itself once it has sent its
    first request to a server that never answers (everything built, nothing cached).
(2) `scalers run` (defaults: both loops, leader election) against the fake API server in a
    process of its own with --nodes Ready nodes of the size a kubelet reports (about 13 KiB of
    JSON each), the `dns-autoscaler` ConfigMap and the `coredns` HPA: RSS when its start-up
    write is answered, then --settle seconds later (steady), and the peak (VmHWM).
(3) The same with --deployments Deployments and --hpas HPAs as ArgoCD creates them (the
    builders of bench/schedule_memory_bench.py: 6.8 KiB and 2.3 KiB of JSON, one in five with a
    schedule), 10 small nodes, the ConfigMap and coredns: RSS once the catch-up writes and their
    Events are done (no request but the Lease's for 3 s), --settle seconds later, the peak."""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import (
    GITOPS,
    MIB,
    NS,
    ServerProcess,
    proc_kib,
    run_command,
    scalers_run,
    seed_proportional,
    shown,
    stop_scalers,
    wait_until,
)

if TYPE_CHECKING:
    from scalers.fakeapi import FakeApiServer

PARAMS = {"coresPerReplica": 256, "nodesPerReplica": 16, "min": 2}
COREDNS = f"/apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers/coredns"
STEPS = [
    ("the interpreter", "import sys"),
    ("+ kubernetes.client", "import kubernetes.client"),
    ("+ prometheus_client", "import prometheus_client"),
    ("+ pydantic, croniter, pythonjsonlogger, yaml",
     "import pydantic, croniter, pythonjsonlogger.json, yaml"),
    ("+ scalers.cli, .controller, .kube.config (scalers run's imports)",
     "import scalers.cli, scalers.controller, scalers.kube.config"),
]  # fmt: skip
# kubernetes.client loads its API classes and their models on first use. The controller sends its
# requests itself and loads none; these four are the ones it used before: what each would cost.
API_CLASSES = ["CoordinationV1Api", "AutoscalingV2Api", "AppsV1Api", "CoreV1Api"]
MEASURE = (
    "import json, sys\n"
    "status = dict(line.split(':', 1) for line in open('/proc/self/status'))\n"
    "print(json.dumps({'rss': status['VmRSS'], 'modules': len(sys.modules)}))"
)


def rss_after(*statements: str) -> tuple[float, int]:
    """RSS in MiB and modules loaded of a fresh interpreter after `statements`."""
    env = os.environ | {"PYTHONPATH": os.getcwd()}
    code = "\n".join([*statements, MEASURE])
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    measured = json.loads(out.stdout)
    return float(measured["rss"].split()[0]) / MIB, int(measured["modules"])


def import_floor() -> None:
    print(
        "(1) RSS after importing, each step in a fresh interpreter: cumulative, and that step's "
        "import alone:"
    )
    done: list[str] = []
    previous = 0.0
    for label, statement in STEPS:
        done.append(statement)
        rss, modules = rss_after(*done)
        alone, _ = rss_after(statement)
        print(
            f"    {label:66s} {rss:6.1f} MiB (+{rss - previous:4.1f}) {modules:4d} modules; "
            f"alone {alone:5.1f} MiB"
        )
        previous = rss
    print(f"    the last step: {sys.executable} -c '{'; '.join(done)}'")
    libraries = [statement for _, statement in STEPS[1:4]]
    previous, _ = rss_after(*libraries)
    touched: list[str] = []
    print("(1) what the generated API classes the controller no longer loads would add:")
    for name in API_CLASSES:
        touched.append(f"kubernetes.client.{name}")
        rss, modules = rss_after(*libraries, *touched)
        print(f"    + {name:20s} {rss:6.1f} MiB (+{rss - previous:4.1f}) {modules:4d} modules")
        previous = rss


def first_request(workdir: Path) -> None:
    """`scalers run` against a socket that accepts and never answers."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        kubeconfig = workdir / "silent-kubeconfig"
        kubeconfig.write_text(
            json.dumps(
                {
                    "apiVersion": "v1", "kind": "Config", "current-context": "silent",
                    "clusters": [{"name": "silent", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
                    "users": [{"name": "silent", "user": {}}],
                    "contexts": [{"name": "silent", "context": {"cluster": "silent", "user": "silent"}}],
                }
            )
        )  # fmt: skip
        command = run_command(kubeconfig)
        started = time.monotonic()
        controller = scalers_run(command, workdir / "silent.log")
        try:
            listener.settimeout(60)
            conn, _ = listener.accept()
            with conn:
                request = conn.recv(65536).split(b"\r\n", 1)[0].decode()
                asked = time.monotonic() - started
                time.sleep(1)
                rss, hwm = (proc_kib(f, str(controller.pid)) / MIB for f in ("VmRSS", "VmHWM"))
        finally:
            controller.kill()
            controller.wait()
    print(
        f"(1) `scalers run` waiting on its first request ({request!r}, sent {asked:.2f} s after "
        f"the spawn): RSS {rss:.1f} MiB, peak {hwm:.1f} MiB"
    )


def seed_tenants(server: FakeApiServer, deployments: int, hpas: int) -> None:
    from bench.schedule_memory_bench import deployment, hpa

    every = 5
    for count, make in ((deployments, deployment), (hpas, hpa)):
        for i in range(count):
            server.create(make(f"app-{i}", f"team-{i % 40}", i % every == 0), manager=GITOPS)
    seed_proportional(server, 10, False, PARAMS)


def measure(label: str, server: ServerProcess, workdir: Path, settle: float, synced: Any) -> None:
    command = run_command(server.kubeconfig(workdir))
    started = time.time()
    controller = scalers_run(command, workdir / f"{label}.log")
    pid = str(controller.pid)
    try:
        at = synced(server, started)
        first = proc_kib("VmRSS", pid) / MIB
        time.sleep(settle)
        steady, peak = (proc_kib(f, pid) / MIB for f in ("VmRSS", "VmHWM"))
    finally:
        stop_scalers(controller)
        server.stop()
    print(
        f"    {at - started:.1f} s to that point; RSS then {first:.1f} MiB, {settle:g} s later "
        f"(steady) {steady:.1f} MiB, peak (VmHWM) {peak:.1f} MiB"
    )


def floor_written(server: ServerProcess, started: float) -> float:
    return server.await_request("PATCH", COREDNS, started, 300).at


def caught_up(server: ServerProcess, started: float) -> float:
    def quiet() -> float | None:
        requests = [r for r in server.requests(started) if "/leases/" not in r.path]
        if len({r.path for r in requests if r.watch}) < 4 or time.time() - requests[-1].at < 3:
            return None
        return requests[-1].at

    return float(wait_until(quiet, 300, "the catch-up"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--deployments", type=int, default=5000)
    parser.add_argument("--hpas", type=int, default=2000)
    parser.add_argument("--settle", type=float, default=10.0)
    args = parser.parse_args()
    print(
        f"Run: .venv/bin/python -m bench.footprint_bench --nodes {args.nodes} "
        f"--deployments {args.deployments} --hpas {args.hpas} --settle {args.settle:g}"
    )
    workdir = Path(tempfile.mkdtemp(prefix="footprint-bench-"))
    import_floor()
    first_request(workdir)
    print(f"    controller: {shown(run_command(workdir / 'kubeconfig'))} (logs in {workdir})")

    server = ServerProcess(seed_proportional, args.nodes, True, PARAMS)
    print(f"(2) {args.nodes} realistic Nodes, until the start-up write of coredns is answered:")
    measure("nodes", server, workdir, args.settle, floor_written)

    server = ServerProcess(seed_tenants, args.deployments, args.hpas)
    print(
        f"(3) {args.deployments} Deployments + {args.hpas} HPAs (ArgoCD's size, one in five "
        f"scheduled), until the catch-up writes are done:"
    )
    measure("tenants", server, workdir, args.settle, caught_up)


if __name__ == "__main__":
    main()
