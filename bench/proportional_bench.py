"""Proportional loop figures (issue 3). Run: .venv/bin/python -m bench.proportional_bench
[--minutes 10] [--nodes 5000] [--trials 10] [--small-nodes]

The fake API server runs in this process, seeded with --nodes Ready nodes of 4 CPU (each the
size of a real cluster's Node, about 13 KB of JSON with its images and conditions), the
`dns-autoscaler` ConfigMap (linear: coresPerReplica 256, nodesPerReplica 16, min 2, no single
point of failure) and the `coredns` HPA (2..1000) in kube-system. The controller (`Controller`
with only the proportional loop, default Config, SystemClock, the real client) runs in a child
process started with "spawn", so that its memory is its own and not a fork of the server's.
(1) Controller RSS after imports, and its peak over the whole run. Goal: < 150 MiB.
(2) Node created -> the server answered the controller's PATCH of the HPA, for one node that
    moves the count: nodesPerReplica 16 steps once per 16 nodes, so each trial first adds the
    nodes that change nothing, waits for the loop to settle, then times the one that crosses
    the step. Includes the shipped 1 s debounce. Goal: < 2 s.
(3) Requests in --minutes with nothing changing. Goal: no write, no LIST (CPA: a LIST of all
    nodes and a GET of its ConfigMap every 10 s).
(4) Start-up: the LIST of all nodes, and the first evaluation's write."""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from collections import Counter
from multiprocessing.connection import Connection
from typing import Any

from bench.common import (
    GITOPS,
    MIB,
    NS,
    api_client,
    cpu_seconds,
    dns_configmap,
    hpa,
    node,
    proc_kib,
    spawn,
    wait_until,
)

PARAMS = {
    "coresPerReplica": 256,
    "nodesPerReplica": 16,
    "min": 2,
    "preventSinglePointFailure": True,
}
HPA_PATH = f"/apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers/coredns"


def controller_process(url: str, conn: Connection) -> None:
    """The child: the controller as `scalers run` wires it, with only the proportional loop."""
    from zoneinfo import ZoneInfo

    from scalers.clock import SystemClock
    from scalers.controller import Controller, Settings
    from scalers.proportional.loop import Config

    settings = Settings(ZoneInfo("UTC"), schedule=False, proportional=Config())
    controller = Controller(api_client(url), SystemClock(), settings)
    stop = threading.Event()
    conn.send({"rss": proc_kib("VmRSS"), "started": time.time()})
    runner = threading.Thread(target=controller.run, args=(stop,), daemon=True)
    runner.start()
    conn.recv()
    stop.set()
    runner.join(timeout=30)
    assert controller.proportional is not None
    informers = controller.proportional.watches.informers
    conn.send(
        {
            # Not ru_maxrss: Linux carries it over exec, so it would count the server's memory
            # that the child mapped between spawn's fork and its exec.
            "peak": proc_kib("VmHWM"),
            "rss": proc_kib("VmRSS"),
            "lists": sum(i.lists for i in informers),
            "restarts": sum(i.watch_restarts for i in informers),
        }
    )


def wanted(nodes: int) -> int:
    from scalers.proportional.params import ClusterStatus, parse_params

    return parse_params(dns_configmap(PARAMS)["data"]).replicas(
        ClusterStatus(nodes, nodes, 4 * nodes, 4 * nodes)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--small-nodes", action="store_true", help="0.8 KB Nodes, not ~13 KB")
    args = parser.parse_args()

    def new_node(name: str) -> dict[str, Any]:
        return node(name, real_size=not args.small_nodes)

    print(f"node JSON: {len(json.dumps(new_node('node-0'))) / 1024:.1f} KiB each")

    from scalers.fakeapi import FakeApiServer, RequestRecord

    server = FakeApiServer().start()
    for i in range(args.nodes):
        server.create(new_node(f"node-{i}"))
    server.create(dns_configmap(PARAMS))
    server.create(hpa("coredns", NS, None, 2, 1000), manager=GITOPS)

    def floor() -> int:
        hpa = server.get("autoscaling/v2", "HorizontalPodAutoscaler", NS, "coredns")
        assert hpa is not None
        return int(hpa["spec"]["minReplicas"])

    def patches(after: float) -> list[RequestRecord]:
        return [
            r
            for r in list(server.requests)
            if r.method == "PATCH" and r.path == HPA_PATH and r.at > after
        ]

    child, here = spawn(controller_process, server.url, daemon=True)
    before = here.recv()
    started, nodes = before["started"], args.nodes
    print(f"nodes: {nodes}, linear params {json.dumps(PARAMS)} -> {wanted(nodes)} replicas")
    print(
        f"(1) controller RSS after imports, before the loop starts: {before['rss'] / MIB:.1f} MiB"
    )

    # (4) start-up
    wait_until(lambda: floor() == wanted(nodes), 300, "the first write")
    listed = [r.at for r in server.requests if r.path == "/api/v1/nodes" and not r.watch]
    print(f"(4) start -> LIST of {nodes} nodes answered: {listed[0] - started:.3f} s")
    first = patches(started)[0].at
    print(f"(4) start -> first evaluation's PATCH answered: {first - started:.3f} s")
    settled = proc_kib("VmRSS", str(child.pid))
    print(f"(1) controller RSS once settled, {nodes} nodes cached: {settled / MIB:.1f} MiB")
    time.sleep(3)

    # (2) node created -> PATCH answered
    latencies: list[float] = []
    for _ in range(args.trials):
        filler = 0
        while wanted(nodes + 1) == wanted(nodes):  # nodes that leave the count as it is
            server.create(new_node(f"node-{nodes}"))
            nodes, filler = nodes + 1, filler + 1
        if filler:
            time.sleep(3)  # the loop wakes, debounces 1 s, evaluates, writes nothing
        server.create(new_node(f"node-{nodes}"))
        created, nodes = time.time(), nodes + 1
        answered = wait_until(lambda c=created: patches(c), 30, "the PATCH")[0].at
        latencies.append(answered - created)
        wait_until(lambda n=nodes: floor() == wanted(n), 10, "the new floor")
    latencies.sort()
    print(
        f"(2) node created -> HPA PATCH answered, {len(latencies)} trials "
        f"(each one node crossing a step of nodesPerReplica 16): min {latencies[0]:.3f} s, "
        f"median {statistics.median(latencies):.3f} s, max {latencies[-1]:.3f} s"
    )
    print(f"    now {nodes} nodes, floor {floor()}")

    # (3) steady cluster
    time.sleep(3)  # the last trial's Event is posted
    server.reset_requests()
    cpu_before = cpu_seconds(child.pid or 0)
    time.sleep(args.minutes * 60)
    cpu = cpu_seconds(child.pid or 0) - cpu_before
    requests = list(server.requests)
    groups = Counter((r.method, r.path, r.watch) for r in requests)
    print(f"(3) requests in {args.minutes:g} min of a steady cluster: {len(requests)}")
    for (method, path, watch), count in sorted(groups.items()):
        print(f"    {count:5d}  {method:6s} {path}{'  (watch)' if watch else ''}")

    def is_list(r: RequestRecord) -> bool:
        target = server.route(r.path)
        return r.method == "GET" and not r.watch and getattr(target, "name", "") is None

    events = [r for r in requests if r.method == "POST" and r.path.endswith("/events")]
    writes = [r for r in requests if r.method in ("POST", "PUT", "PATCH", "DELETE")]
    print(f"(3) LIST requests: {sum(map(is_list, requests))}")
    print(f"(3) writes: {len(writes) - len(events)} besides {len(events)} Event creations")
    print(f"(3) watch (re)connections: {sum(r.watch for r in requests)}")
    print(
        f"(3) CPA in the same time: {round(args.minutes * 6)} LISTs of all {nodes} nodes "
        f"+ {round(args.minutes * 6)} GETs of its ConfigMap (one of each every 10 s)"
    )
    print(f"(3) controller CPU in that time: {cpu:.2f} s")

    here.send("stop")
    after = here.recv()
    child.join(timeout=30)
    server.stop()
    print(f"(1) controller peak RSS (VmHWM): {after['peak'] / MIB:.1f} MiB")
    print(f"(1) controller RSS at the end: {after['rss'] / MIB:.1f} MiB")
    print(f"    controller informers: {after['lists']} LISTs, {after['restarts']} failed watches")


if __name__ == "__main__":
    main()
