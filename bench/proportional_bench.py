"""Proportional loop figures (issue 3). Run: .venv/bin/python bench/proportional_bench.py
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
import multiprocessing
import os
import statistics
import sys
import threading
import time
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

NS = "kube-system"
PARAMS = {
    "coresPerReplica": 256,
    "nodesPerReplica": 16,
    "min": 2,
    "preventSinglePointFailure": True,
}
HPA_PATH = f"/apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers/coredns"
MIB = 1024.0  # KiB per MiB: /proc counts KiB


SMALL = False  # --small-nodes: 0.8 KB Nodes instead of the ~13 KB of a real cluster's


def node(name: str, cpu: str = "4") -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "spec": {"unschedulable": False},
        "status": {
            "allocatable": {"cpu": cpu, "memory": "16Gi"},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }
    if SMALL:
        return obj
    # What a kubelet reports on a real node: labels, conditions, addresses, 50 cached images.
    obj["metadata"]["labels"] |= {f"topology.example.com/label-{i}": f"v-{i}" for i in range(15)}
    obj["metadata"]["annotations"] = {f"node.example.com/note-{i}": "x" * 60 for i in range(8)}
    obj["spec"] |= {"podCIDR": "10.1.2.0/24", "providerID": f"aws:///eu-central-1a/i-{name}"}
    obj["status"]["conditions"] = [
        {"type": t, "status": "True" if t == "Ready" else "False", "reason": f"Kubelet{t}",
         "message": f"kubelet reports {t} " + "m" * 40,
         "lastHeartbeatTime": "2026-11-23T00:00:00Z", "lastTransitionTime": "2026-11-23T00:00:00Z"}
        for t in ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready", "NetworkUnavailable")
    ]  # fmt: skip
    obj["status"]["addresses"] = [{"type": "InternalIP", "address": "10.0.0.1"}]
    obj["status"]["images"] = [
        {"names": [f"registry.example.com/team/image-{i}@sha256:{name}{i:060d}",
                   f"registry.example.com/team/image-{i}:v1.{i}.0"], "sizeBytes": 123456789 + i}
        for i in range(50)
    ]  # fmt: skip
    return obj


def configmap() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "dns-autoscaler", "namespace": NS},
        "data": {"linear": json.dumps(PARAMS)},
    }


def coredns_hpa() -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "coredns", "namespace": NS, "labels": {"app": "coredns"}},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "coredns"},
            "minReplicas": 2,
            "maxReplicas": 1000,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
        },
    }


def proc_kib(field: str, pid: str = "self") -> float:
    """A /proc/PID/status memory field (VmRSS, VmHWM) in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1])
    raise KeyError(field)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc/PID/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def controller_process(url: str, conn: Connection) -> None:
    """The child: the controller as `scalers run` wires it, with only the proportional loop."""
    from zoneinfo import ZoneInfo

    from kubernetes import client

    from scalers.clock import SystemClock
    from scalers.controller import Controller, Settings
    from scalers.proportional.loop import Config

    configuration = client.Configuration()
    configuration.host = url
    settings = Settings(ZoneInfo("UTC"), schedule=False, proportional=Config())
    controller = Controller(client.ApiClient(configuration), SystemClock(), settings)
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

    return parse_params(configmap()["data"]).replicas(
        ClusterStatus(nodes, nodes, 4 * nodes, 4 * nodes)
    )


def wait_until(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.005)
    raise TimeoutError(what)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--small-nodes", action="store_true", help="0.8 KB Nodes, not ~13 KB")
    args = parser.parse_args()
    global SMALL
    SMALL = args.small_nodes
    print(f"node JSON: {len(json.dumps(node('node-0'))) / 1024:.1f} KiB each")

    from scalers.fakeapi import FakeApiServer, RequestRecord

    server = FakeApiServer().start()
    for i in range(args.nodes):
        server.create(node(f"node-{i}"))
    server.create(configmap())
    server.create(coredns_hpa(), manager="argocd-controller")

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

    spawn = multiprocessing.get_context("spawn")  # not fork: the child must not map our memory
    here, there = spawn.Pipe()
    child = spawn.Process(target=controller_process, args=(server.url, there), daemon=True)
    child.start()
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
            server.create(node(f"node-{nodes}"))
            nodes, filler = nodes + 1, filler + 1
        if filler:
            time.sleep(3)  # the loop wakes, debounces 1 s, evaluates, writes nothing
        server.create(node(f"node-{nodes}"))
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
