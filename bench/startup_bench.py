"""Start-up to the first write with 5,000 nodes, by `scalers run` as shipped (issue 13). Run:
.venv/bin/python -m bench.startup_bench [--nodes 5000] [--trials 3]

The fake API server runs in a process of its own (spawn), seeded with --nodes Ready nodes of the
size a kubelet reports (about 13 KiB of JSON each), the `dns-autoscaler` ConfigMap (linear:
coresPerReplica 256, nodesPerReplica 16, min 2) and the `coredns` HPA holding minReplicas 2,
which the nodes raise. Each trial spawns `scalers run` with its defaults (both loops, leader
election), only --kubeconfig and --health-port 0 given, and times from the spawn to: its first
request answered, the Lease taken, the last page of the nodes' LIST answered, and the PATCH of
coredns answered; and the CPU the controller and the server took meanwhile (/proc, sampled
every 10 ms from the first sample after the spawn). Between trials the controller is stopped with SIGTERM (it releases the Lease)
and coredns' minReplicas put back to 2. Goal: no slower than CPA's 1.7 s."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.common import (
    GITOPS,
    HPA,
    NS,
    CpuSamples,
    ServerProcess,
    run_command,
    scalers_run,
    seed_proportional,
    shown,
    spread,
    stop_scalers,
)

PARAMS = {"coresPerReplica": 256, "nodesPerReplica": 16, "min": 2}
COREDNS = f"/apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers/coredns"
LEASES = f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    print(
        f"Run: .venv/bin/python -m bench.startup_bench --nodes {args.nodes} --trials {args.trials}"
    )
    server = ServerProcess(seed_proportional, args.nodes, True, PARAMS)
    workdir = Path(tempfile.mkdtemp(prefix="startup-bench-"))
    command = run_command(server.kubeconfig(workdir))
    print(f"controller: {shown(command)} (logs in {workdir})")
    firsts: list[float] = []
    try:
        for trial in range(1, args.trials + 1):
            started = time.time()
            controller = scalers_run(command, workdir / f"scalers-{trial}.log")
            try:
                samples = CpuSamples([controller.pid, server.pid])
                written = server.await_request("PATCH", COREDNS, started, 120).at
                requests = server.requests(started)
                (_, cpu0), (_, cpu1) = samples.before(started + 0.02), samples.after(written)
            finally:
                samples.stop.set()
                stop_scalers(controller)
            lease = next(r.at for r in requests if r.path.startswith(LEASES) and r.method != "GET")
            listed = [r.at for r in requests if r.path == "/api/v1/nodes" and r.listed]
            firsts.append(written - started)
            print(
                f"trial {trial}: spawn -> first request answered {requests[0].at - started:.3f} s, "
                f"Lease taken {lease - started:.3f} s, last of {len(listed)} LIST pages of nodes "
                f"{listed[-1] - started:.3f} s, coredns PATCH answered {written - started:.3f} s; "
                f"CPU in that time: controller {cpu1[0] - cpu0[0]:.2f} s, server "
                f"{cpu1[1] - cpu0[1]:.2f} s"
            )
            server.patch(*HPA, NS, "coredns", {"spec": {"minReplicas": 2}}, GITOPS)
            time.sleep(1)
        print(f"spawn -> first write answered, {args.trials} trials: {spread(firsts)}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
