"""What the benches share: the objects they seed the fake API server with, the controller replica
they spawn and the Lease poller that watches it, and how they wait and measure.

The benches run from the repository root as modules (`.venv/bin/python -m bench.<name>`), so they,
and the children they start with "spawn", import `bench` and `scalers` as packages. The children
import the bench's module and this one: nothing here imports the server or the client until a
function needs it."""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

    from scalers.fakeapi import FakeApiServer

MIB = 1024.0  # KiB per MiB: /proc counts KiB
NS = "kube-system"
HPA = "autoscaling/v2", "HorizontalPodAutoscaler"
SCHEDULE = "zalando.org/schedule-actions"
LEASE_DURATION = 15.0  # --lease-duration's default; the rest derived from it as cli.py does
LEASE = ("coordination.k8s.io/v1", "Lease", NS, "kube-scalers")
GITOPS = "argocd-controller"

# -- objects -------------------------------------------------------------------------------------


def hpa(
    name: str,
    namespace: str,
    actions: str | None = None,
    min_replicas: int = 2,
    max_replicas: int = 20,
) -> dict[str, Any]:
    """A plain HPA of a Deployment of the same name, with `actions` as its schedule if given."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app": name},
            "annotations": {SCHEDULE: actions} if actions else {},
        },
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
        },
    }


def argocd_metadata(
    kind: str, name: str, namespace: str, spec: dict[str, Any], actions: str | None
) -> dict[str, Any]:
    """Metadata as ArgoCD leaves it in a multi-tenant cluster: kubectl's last-applied
    configuration, a tracking id, the usual labels; `actions` as the schedule if given."""
    annotations = {
        "kubectl.kubernetes.io/last-applied-configuration": json.dumps({"spec": spec}),
        "argocd.argoproj.io/tracking-id": f"{namespace}:{kind}:{namespace}/{name}",
    }
    if actions:
        annotations[SCHEDULE] = actions
    labels = {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": f"{namespace}-{name}",
        "app.kubernetes.io/part-of": namespace,
        "app.kubernetes.io/managed-by": "argocd",
        "team": namespace,
    }
    return {"name": name, "namespace": namespace, "labels": labels, "annotations": annotations}


def argocd_hpa(name: str, namespace: str, actions: str | None = None) -> dict[str, Any]:
    """An HPA of the size ArgoCD creates: two metrics, a behaviour, `argocd_metadata`."""
    utilization = {"type": "Utilization", "averageUtilization": 70}
    spec = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
        "minReplicas": 2,
        "maxReplicas": 20,
        "metrics": [
            {"type": "Resource", "resource": {"name": resource, "target": utilization}}
            for resource in ("cpu", "memory")
        ],
        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
    }
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": argocd_metadata("HorizontalPodAutoscaler", name, namespace, spec, actions),
        "spec": spec,
    }


def node(name: str, cpu: str = "4", real_size: bool = False) -> dict[str, Any]:
    """A Ready node of `cpu` cores: 0.3 KiB of JSON, or with `real_size` about 13 KiB, what a
    kubelet reports on a real node (labels, conditions, addresses, 50 cached images)."""
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
    if not real_size:
        return obj
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


def dns_configmap(params: dict[str, Any]) -> dict[str, Any]:
    """The `dns-autoscaler` ConfigMap in kube-system, with linear `params`."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "dns-autoscaler", "namespace": NS},
        "data": {"linear": json.dumps(params)},
    }


def schedule_actions(min_replicas: int) -> str:
    """One action, "0 3 1 1 *", setting minReplicas: nothing fires or catches up for months."""
    return json.dumps([{"schedule": "0 3 1 1 *", "minReplicas": min_replicas}])


def busy_cluster() -> FakeApiServer:
    """A started fake API server seeded as a busy cluster: 1,000 annotated HPAs in 50 namespaces
    (holding what their one action sets), 500 Ready nodes, the `dns-autoscaler` ConfigMap and the
    `coredns` HPA."""
    from scalers.fakeapi import FakeApiServer

    server = FakeApiServer().start()
    for i in range(1000):
        server.create(hpa(f"app-{i}", f"team-{i % 50}", schedule_actions(2), 2, 100), GITOPS)
    for i in range(500):
        server.create(node(f"node-{i}"))
    server.create(dns_configmap({"coresPerReplica": 256, "nodesPerReplica": 16, "min": 2}))
    server.create(hpa("coredns", NS, None, 2, 100), GITOPS)
    return server


# -- the controller in a child process -----------------------------------------------------------


def api_client(
    url: str, user_agent: str | None = None, pool_maxsize: int | None = None
) -> ApiClient:
    from kubernetes import client

    configuration = client.Configuration(host=url)
    if pool_maxsize is not None:
        configuration.connection_pool_maxsize = pool_maxsize
    api = client.ApiClient(configuration)
    if user_agent is not None:
        api.user_agent = user_agent
    return api


def spawn(
    target: Callable[..., None], *args: Any, daemon: bool = False
) -> tuple[BaseProcess, Connection]:
    """`target(*args, conn)` in a child started with "spawn" (not fork: the child must not map
    our memory), and our end of `conn`."""
    context = multiprocessing.get_context("spawn")
    here, there = context.Pipe()
    child = context.Process(target=target, args=(*args, there), daemon=daemon)
    child.start()
    return child, here


def replica(url: str, identity: str, user_agent: str | None, conn: Connection) -> None:
    """A replica as `scalers run` wires it: both loops, SystemClock, qps 100 / burst 1000, leader
    election with lease 15 s / renew 10 s / retry 2 s; SIGTERM stops it as in cli.py. Sends
    "synced" once its loops are."""
    from zoneinfo import ZoneInfo

    from scalers.clock import SystemClock
    from scalers.controller import Controller, Election, Settings
    from scalers.proportional.loop import Config

    d = LEASE_DURATION
    election = Election(identity, "kube-scalers", NS, d, renew_deadline=d * 2 / 3, retry_period=d * 2 / 15)  # fmt: skip
    settings = Settings(
        ZoneInfo("UTC"), proportional=Config(), election=election, qps=100.0, burst=1000
    )
    controller = Controller(api_client(url, user_agent), SystemClock(), settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    runner = threading.Thread(target=controller.run, args=(stop,))
    runner.start()
    while not all(loop.synced() for loop in controller.runner.loops):
        time.sleep(0.05)
    conn.send("synced")
    while runner.is_alive():  # the main thread stays free to run the SIGTERM handler
        runner.join(0.1)


def start_replica(
    server: FakeApiServer, identity: str, user_agent: str | None = None
) -> BaseProcess:
    """A `replica` against `server`, once it has synced."""
    child, conn = spawn(replica, server.url, identity, user_agent)
    if not conn.poll(120):
        raise TimeoutError(f"{identity} did not sync")
    conn.recv()
    return child


class Holders:
    """Every change of the Lease's holderIdentity, as (time.time(), holder), read every ms."""

    def __init__(self, server: FakeApiServer) -> None:
        self.server, self.stop = server, threading.Event()
        self.changes: list[tuple[float, str | None]] = [(0.0, "?")]
        threading.Thread(target=self._poll, daemon=True).start()

    def _poll(self) -> None:
        while not self.stop.wait(0.001):
            lease = self.server.get(*LEASE)
            holder = ((lease or {}).get("spec") or {}).get("holderIdentity")
            if holder != self.changes[-1][1]:
                self.changes.append((time.time(), holder))

    def now(self) -> str | None:
        return self.changes[-1][1]

    def first(self, after: float, holder: str | None) -> float | None:
        return next((t for t, h in self.changes if t > after and h == holder), None)


# -- waiting and measuring -----------------------------------------------------------------------


def wait_until(check: Callable[..., Any], timeout: float, what: str, *args: Any) -> Any:
    """The first true `check(*args)`, polled every 5 ms; TimeoutError naming `what` if none."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check(*args):
            return found
        time.sleep(0.005)
    raise TimeoutError(what)


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


def spread(values: list[float]) -> str:
    return (
        f"min {min(values):.3f} s, median {statistics.median(values):.3f} s, "
        f"max {max(values):.3f} s"
    )


# -- the fake API server in a process of its own, `scalers run` as shipped -----------------------


class Request(NamedTuple):
    """A request the server answered, as a bench reads it back: `at` is time.time() when it was
    answered; `listed` marks a LIST (a GET of a collection that is not a watch)."""

    method: str
    path: str
    status: int
    watch: bool
    at: float
    listed: bool


def _create_all(server: FakeApiServer, objs: list[dict[str, Any]], manager: str) -> list[float]:
    answered = []
    for obj in objs:
        server.create(obj, manager)
        answered.append(time.time())
    return answered


def _requests(server: FakeApiServer, after: float) -> list[Request]:
    return [
        Request(r.method, r.path, r.status, r.watch, r.at,
                r.method == "GET" and not r.watch and getattr(server.route(r.path), "name", "") is None)
        for r in list(server.requests)
        if r.at > after
    ]  # fmt: skip


def _await(
    server: FakeApiServer, method: str, path: str, after: float, timeout: float
) -> Request | None:
    """The first `method` of `path` answered after `after`, looked for every 2 ms in the records
    not yet seen: waiting costs the server next to nothing, and the bench nothing."""
    deadline, seen = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        records = server.requests
        end = len(records)
        for r in records[seen:end]:
            if r.at > after and r.method == method and r.path == path:
                return Request(r.method, r.path, r.status, r.watch, r.at, False)
        seen = end
        time.sleep(0.002)
    return None


def _serve(seed: Callable[..., None], args: tuple[Any, ...], conn: Connection) -> None:
    """The server's process: `seed(server, *args)`, its URL sent, then calls answered until
    "stop". A call is (name, args): a method of FakeApiServer, or one of the three above."""
    from scalers.fakeapi import FakeApiServer

    server = FakeApiServer().start()
    seed(server, *args)
    conn.send(server.url)
    calls: dict[str, Callable[..., Any]] = {
        "create_all": _create_all, "requests": _requests, "await": _await,
    }  # fmt: skip
    while (call := conn.recv())[0] != "stop":
        name, call_args = call
        try:
            if name in calls:
                result = calls[name](server, *call_args)
            else:
                result = getattr(server, name)(*call_args)
        except Exception as exc:  # the ApiError does not pickle: its words do
            result = RuntimeError(f"{name}: {exc!r}")
        conn.send(result)
    server.stop()
    conn.send(None)


class ServerProcess:
    """The fake API server in a child process of its own (started with "spawn"), seeded there by
    `seed(server, *args)` (a module-level function: it is pickled by name), so that neither its
    CPU nor its GIL is the controller's or the bench's. Its request log is read back on demand."""

    def __init__(self, seed: Callable[..., None], *args: Any) -> None:
        self.child, self._conn = spawn(_serve, seed, args, daemon=True)
        if not self._conn.poll(600):
            raise TimeoutError("the fake API server did not start")
        self.url: str = self._conn.recv()
        self.pid = self.child.pid or 0
        self._lock = threading.Lock()

    def _call(self, name: str, *args: Any) -> Any:
        with self._lock:
            self._conn.send((name, args))
            result = self._conn.recv()
        if isinstance(result, Exception):
            raise result
        return result

    def create(self, *objs: dict[str, Any], manager: str = "seed") -> list[float]:
        """Create `objs` one after the other, as fast as the server goes; when each was done."""
        return list(self._call("create_all", list(objs), manager))

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> Any:
        return self._call("get", api_version, kind, namespace, name)

    def patch(
        self, api_version: str, kind: str, namespace: str | None, name: str,
        patch: dict[str, Any], manager: str = "seed",
    ) -> Any:  # fmt: skip
        return self._call("patch", api_version, kind, namespace, name, patch, manager)

    def delete(self, api_version: str, kind: str, namespace: str | None, name: str) -> Any:
        return self._call("delete", api_version, kind, namespace, name)

    def requests(self, after: float = 0.0) -> list[Request]:
        """The requests answered after `after` (time.time())."""
        return list(self._call("requests", after))

    def await_request(self, method: str, path: str, after: float, timeout: float = 60) -> Request:
        """The first `method` of `path` answered after `after`, once there is one: the server
        looks for it itself, so that the bench's polling takes no CPU from the processes
        measured."""
        found = self._call("await", method, path, after, timeout)
        if found is None:
            raise TimeoutError(f"no {method} of {path} within {timeout:g} s")
        return found

    def kubeconfig(self, directory: Path) -> Path:
        """A kubeconfig naming the server, written in `directory`."""
        path = directory / "kubeconfig"
        self._call("write_kubeconfig", str(path))
        return path

    def holder(self) -> str | None:
        """The Lease's holderIdentity."""
        lease = self.get(*LEASE)
        return ((lease or {}).get("spec") or {}).get("holderIdentity")

    def stop(self) -> None:
        with self._lock:
            self._conn.send(("stop", ()))
            self._conn.recv()
        self.child.join(timeout=30)


def seed_proportional(
    server: FakeApiServer, nodes: int, real_size: bool, params: dict[str, Any]
) -> None:
    """`nodes` Ready nodes of 4 cores, the `dns-autoscaler` ConfigMap with linear `params`, and
    the `coredns` HPA (2..1000)."""
    for i in range(nodes):
        server.create(node(f"node-{i}", real_size=real_size))
    server.create(dns_configmap(params))
    server.create(hpa("coredns", NS, None, 2, 1000), GITOPS)


def run_command(kubeconfig: Path, *flags: str) -> list[str]:
    """`scalers run` as shipped: the entry point installed beside this interpreter, every flag
    at its default (both loops, leader election, --qps 100, --burst 1000) but --kubeconfig and
    --health-port 0 (no fixed port to collide on), and `flags`."""
    scalers = Path(sys.executable).with_name("scalers")
    return [str(scalers), "run", "--kubeconfig", str(kubeconfig), "--health-port", "0", *flags]


def shown(command: list[str]) -> str:
    """`command` as a reader would type it from the repository root."""
    here = str(Path.cwd()) + os.sep
    return " ".join(part.removeprefix(here) for part in command)


def scalers_run(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    """Start `command` (see `run_command`), its log appended to `log`. The repository the bench
    runs from goes first on PYTHONPATH, so that a worktree's `scalers` runs, not the one the
    entry point was installed from."""
    env = os.environ | {"PYTHONPATH": os.getcwd()}
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)


def stop_scalers(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as the kubelet stops it (the Lease is released), and wait for it."""
    process.terminate()
    process.wait(timeout=60)


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (all cores), from /proc/stat."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # less idle, iowait


class CpuSamples:
    """Each process's CPU seconds (user + system), read from /proc every `period` seconds in a
    thread of the bench, so that nothing is asked of the processes measured; the last of each
    sample is the whole machine's busy seconds (`machine_busy`), to tell what else ran."""

    def __init__(self, pids: list[int], period: float = 0.01) -> None:
        self.pids, self.period, self.stop = pids, period, threading.Event()
        self.samples: list[tuple[float, list[float]]] = []
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self.stop.wait(self.period):
            cpu = [cpu_seconds(pid) for pid in self.pids]
            self.samples.append((time.time(), [*cpu, machine_busy()]))

    def before(self, at: float) -> tuple[float, list[float]]:
        """The last sample taken before `at`."""
        return next(s for s in reversed(self.samples) if s[0] < at)

    def after(self, at: float) -> tuple[float, list[float]]:
        """The first sample taken after `at`, waiting for it."""
        return wait_until(
            lambda: next((s for s in self.samples if s[0] > at), None), 10, "a sample"
        )


def percentile(ordered: list[float], share: float) -> float:
    """The value below which `share` of `ordered` lie (nearest rank)."""
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]
