"""Node and ConfigMap changes to the floor, by `scalers run` as shipped (issue 13). Run:
.venv/bin/python -m bench.node_latency_bench [--trials 10] [--burst 500] [--steady-minutes 2]

The fake API server runs in a process of its own (spawn), seeded with 10 Ready nodes, the
`dns-autoscaler` ConfigMap with linear {"nodesPerReplica": 1, "min": 1} (every node moves the
floor) and the `coredns` HPA (2..1000) in kube-system. The controller is `scalers run` with its
defaults (both loops, leader election), only --kubeconfig and --health-port 0 given.
(1) One node created -> the server answered the controller's PATCH of coredns, --trials times,
    a few seconds apart (times from the server's side: the create done, the PATCH answered).
(2) The ConfigMap's nodesPerReplica changed (1 <-> 2, each change moves the floor) -> the PATCH
    answered, --cm-trials times.
(3) --burst nodes created at once (one after the other, as fast as the server goes) -> the
    PATCHes of coredns that the controller sends for them, once the floor is right and nothing
    has come for 5 s.
(4) A steady cluster for --steady-minutes: every request counted; no LIST and no write expected
    besides the Lease's renewals. Goals: (1) and (2) within 200 ms; (3) at most two writes."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.common import (
    NS,
    ServerProcess,
    node,
    run_command,
    scalers_run,
    seed_proportional,
    shown,
    spread,
    stop_scalers,
    wait_until,
)

COREDNS = f"/apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers/coredns"
LEASE_PATH = f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases/kube-scalers"
SEEDED = 10


def params(nodes_per_replica: int) -> dict[str, int]:
    return {"nodesPerReplica": nodes_per_replica, "min": 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--cm-trials", type=int, default=4)
    parser.add_argument("--burst", type=int, default=500)
    parser.add_argument("--steady-minutes", type=float, default=2.0)
    args = parser.parse_args()
    print(
        f"Run: .venv/bin/python -m bench.node_latency_bench --trials {args.trials} "
        f"--burst {args.burst} --steady-minutes {args.steady_minutes:g}"
    )
    server = ServerProcess(seed_proportional, SEEDED, False, params(1))
    workdir = Path(tempfile.mkdtemp(prefix="node-latency-bench-"))
    command = run_command(server.kubeconfig(workdir))
    print(f"controller: {shown(command)} (log: {workdir / 'scalers.log'})")
    controller = scalers_run(command, workdir / "scalers.log")
    nodes, per_replica = SEEDED, 1

    def floor() -> int:
        return int(server.get("autoscaling/v2", "HorizontalPodAutoscaler", NS, "coredns")["spec"]["minReplicas"])  # fmt: skip

    def patches(after: float) -> list[float]:
        return [r.at for r in server.requests(after) if r.method == "PATCH" and r.path == COREDNS]

    def wanted() -> int:
        return max(1, -(-nodes // per_replica))

    try:
        wait_until(lambda: floor() == wanted(), 60, "the start-up write")
        time.sleep(3)

        latencies: list[float] = []
        for _ in range(args.trials):
            one = server.create(node(f"node-{nodes}"))[0]
            nodes += 1
            latencies.append(server.await_request("PATCH", COREDNS, one).at - one)
            wait_until(lambda: floor() == wanted(), 10, "the new floor")
            time.sleep(2)
        print(
            f"(1) node created -> coredns PATCH answered, {args.trials} trials: {spread(latencies)}"
        )
        print("    each: " + ", ".join(f"{t:.3f}" for t in latencies))

        latencies = []
        for _ in range(args.cm_trials):
            per_replica = 3 - per_replica
            data = {"data": {"linear": json.dumps(params(per_replica))}}
            server.patch("v1", "ConfigMap", NS, "dns-autoscaler", data)
            changed = time.time()
            latencies.append(server.await_request("PATCH", COREDNS, changed).at - changed)
            wait_until(lambda: floor() == wanted(), 10, "the new floor")
            time.sleep(2)
        print(
            f"(2) ConfigMap changed -> coredns PATCH answered, {args.cm_trials} trials: "
            f"{spread(latencies)}"
        )
        print("    each: " + ", ".join(f"{t:.3f}" for t in latencies))

        burst = [node(f"node-{i}") for i in range(nodes, nodes + args.burst)]
        created = server.create(*burst)
        nodes += args.burst
        wait_until(lambda: floor() == wanted(), 60, "the burst's floor")
        while patches(time.time() - 5):  # none for 5 s
            time.sleep(0.5)
        written = patches(created[0] - 0.001)
        print(
            f"(3) {args.burst} nodes created in {created[-1] - created[0]:.3f} s -> "
            f"{len(written)} PATCH{'' if len(written) == 1 else 'es'} of coredns, at "
            + ", ".join(f"+{t - created[0]:.3f} s" for t in written)
            + f" after the first create; floor {floor()}"
        )

        time.sleep(5)
        began = time.time()
        time.sleep(args.steady_minutes * 60)
        requests = server.requests(began)
        print(f"(4) requests in {args.steady_minutes:g} min of a steady cluster: {len(requests)}")
        groups = Counter((r.method, r.path, r.watch) for r in requests)
        for (method, path, watch), count in sorted(groups.items()):
            print(f"    {count:5d}  {method:6s} {path}{'  (watch)' if watch else ''}")
        writes = [r for r in requests if r.method in ("POST", "PUT", "PATCH", "DELETE")]
        others = [r for r in writes if r.path != LEASE_PATH]
        print(
            f"(4) LISTs: {sum(r.listed for r in requests)}; writes: {len(others)} besides "
            f"{len(writes) - len(others)} Lease renewals"
        )
    finally:
        stop_scalers(controller)
        server.stop()


if __name__ == "__main__":
    main()
