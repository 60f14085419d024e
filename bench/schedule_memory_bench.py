"""The schedule loop's memory in a busy cluster. Run: .venv/bin/python bench/schedule_memory_bench.py
[--deployments 5000] [--hpas 2000] [--annotated 0.2]

The schedule loop watches every HPA and every Deployment of the cluster, since any of them may
carry a schedule. The fake API server runs in this process, seeded with --deployments
Deployments and --hpas HPAs as ArgoCD creates them in a multi-tenant cluster (two containers
with env, probes and resources; kubectl's last-applied-configuration; managedFields for the
whole spec), a fraction --annotated of each with a schedule. The controller (`Controller` with
only the schedule loop, SystemClock, the real client) runs in a child process started with
"spawn", so that its memory is its own.
Prints the controller's RSS after imports, once its caches are synced and its catch-up done,
and its peak (VmHWM). The shipped Deployment's memory limit is 256 MiB."""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.proportional_bench import MIB, proc_kib, wait_until

BERLIN = {"tz": "Europe/Berlin"}
ACTIONS = {
    "HorizontalPodAutoscaler": json.dumps(
        [
            {"schedule": "0 8 * * 1-5", "minReplicas": 6, "maxReplicas": 30} | BERLIN,
            {"schedule": "0 19 * * 1-5", "minReplicas": 2, "maxReplicas": 10} | BERLIN,
        ]
    ),
    "Deployment": json.dumps(
        [
            {"schedule": "0 22 * * *", "replicas": 8} | BERLIN,
            {"schedule": "0 4 * * *", "replicas": 1} | BERLIN,
        ]
    ),
}


def metadata(
    kind: str, name: str, namespace: str, spec: dict[str, Any], annotated: bool
) -> dict[str, Any]:
    annotations = {
        "kubectl.kubernetes.io/last-applied-configuration": json.dumps({"spec": spec}),
        "argocd.argoproj.io/tracking-id": f"{namespace}:{kind}:{namespace}/{name}",
    }
    if annotated:
        annotations["zalando.org/schedule-actions"] = ACTIONS[kind]
    labels = {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": f"{namespace}-{name}",
        "app.kubernetes.io/part-of": namespace,
        "app.kubernetes.io/managed-by": "argocd",
        "team": namespace,
    }
    return {"name": name, "namespace": namespace, "labels": labels, "annotations": annotations}


def container(name: str, image: str) -> dict[str, Any]:
    probe = {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10}
    return {
        "name": name,
        "image": f"registry.example.com/{image}:v1.42.7",
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        "env": [{"name": f"SETTING_{i}", "value": f"value-of-setting-{i}"} for i in range(12)],
        "resources": {
            "requests": {"cpu": "250m", "memory": "512Mi"},
            "limits": {"memory": "1Gi"},
        },
        "livenessProbe": probe,
        "readinessProbe": probe,
        "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}],
    }


def deployment(name: str, namespace: str, annotated: bool) -> dict[str, Any]:
    spec = {
        "replicas": 3,
        "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
        "template": {
            "metadata": {"labels": {"app.kubernetes.io/name": name, "team": namespace}},
            "spec": {
                "containers": [container(name, f"{namespace}/{name}"), container("proxy", "mesh")],
                "volumes": [{"name": "config", "configMap": {"name": f"{name}-config"}}],
                "serviceAccountName": name,
            },
        },
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata("Deployment", name, namespace, spec, annotated),
        "spec": spec,
    }


def hpa(name: str, namespace: str, annotated: bool) -> dict[str, Any]:
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
        "metadata": metadata("HorizontalPodAutoscaler", name, namespace, spec, annotated),
        "spec": spec,
    }


def controller_process(url: str, conn: Connection) -> None:
    from zoneinfo import ZoneInfo

    from kubernetes import client

    from scalers.clock import SystemClock
    from scalers.controller import Controller, Settings

    logging.disable(logging.CRITICAL)  # a log line per catch-up write: not what is measured here
    configuration = client.Configuration()
    configuration.host = url
    settings = Settings(ZoneInfo("UTC"), proportional=None)
    controller = Controller(client.ApiClient(configuration), SystemClock(), settings)
    conn.send({"rss": proc_kib("VmRSS")})
    stop = threading.Event()
    runner = threading.Thread(target=controller.run, args=(stop,), daemon=True)
    runner.start()
    loop = controller.schedule
    assert loop is not None
    wait_until(lambda: loop.synced() and loop.last_tick is not None, 600, "the first pass")
    conn.send({"rss": proc_kib("VmRSS"), "peak": proc_kib("VmHWM")})
    conn.recv()
    stop.set()
    runner.join(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=5000)
    parser.add_argument("--hpas", type=int, default=2000)
    parser.add_argument("--annotated", type=float, default=0.2)
    args = parser.parse_args()

    from scalers.fakeapi import FakeApiServer

    server = FakeApiServer().start()
    every = round(1 / args.annotated) if args.annotated else 0
    sizes = {}
    for kind, count, make in (
        ("Deployment", args.deployments, deployment),
        ("HPA", args.hpas, hpa),
    ):
        for i in range(count):
            obj = make(f"app-{i}", f"team-{i % 40}", bool(every) and i % every == 0)
            server.create(obj, manager="argocd-controller")
        if count:
            stored = server.get(obj["apiVersion"], obj["kind"], obj["metadata"]["namespace"],
                                obj["metadata"]["name"])  # fmt: skip
            sizes[kind] = len(json.dumps(stored)) / 1024
    print(
        f"{args.deployments} Deployments ({sizes.get('Deployment', 0):.1f} KiB of JSON each), "
        f"{args.hpas} HPAs ({sizes.get('HPA', 0):.1f} KiB each), "
        f"one in {every or 'none'} annotated"
    )

    spawn = multiprocessing.get_context("spawn")
    here, there = spawn.Pipe()
    child = spawn.Process(target=controller_process, args=(server.url, there), daemon=True)
    began = time.monotonic()
    child.start()
    print(f"controller RSS after imports: {here.recv()['rss'] / MIB:.1f} MiB")
    synced = here.recv()
    print(f"caches synced and catch-up done in {time.monotonic() - began:.1f} s")
    print(f"controller RSS then: {synced['rss'] / MIB:.1f} MiB")
    print(f"controller peak RSS (VmHWM): {synced['peak'] / MIB:.1f} MiB")
    here.send("stop")
    child.join(timeout=30)
    server.stop()


if __name__ == "__main__":
    main()
