"""The schedule loop's memory in a busy cluster. Run: .venv/bin/python -m bench.schedule_memory_bench
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
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from bench.common import (
    GITOPS,
    MIB,
    api_client,
    argocd_hpa,
    argocd_metadata,
    proc_kib,
    spawn,
    wait_until,
)

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
        "metadata": argocd_metadata(
            "Deployment", name, namespace, spec, ACTIONS["Deployment"] if annotated else None
        ),
        "spec": spec,
    }


def hpa(name: str, namespace: str, annotated: bool) -> dict[str, Any]:
    return argocd_hpa(name, namespace, ACTIONS["HorizontalPodAutoscaler"] if annotated else None)


def controller_process(url: str, conn: Connection) -> None:
    from zoneinfo import ZoneInfo

    from scalers.clock import SystemClock
    from scalers.controller import Controller, Settings

    logging.disable(logging.CRITICAL)  # a log line per catch-up write: not what is measured here
    settings = Settings(ZoneInfo("UTC"), proportional=None)
    controller = Controller(api_client(url), SystemClock(), settings)
    conn.send({"rss": proc_kib("VmRSS")})
    stop = threading.Event()
    runner = threading.Thread(target=controller.run, args=(stop,), daemon=True)
    runner.start()
    loop = controller.schedule
    assert loop is not None
    beats = controller.runner.heartbeats
    wait_until(lambda: loop.synced() and "schedule" in beats, 600, "the first pass")
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
            server.create(obj, manager=GITOPS)
        if count:
            stored = server.get(obj["apiVersion"], obj["kind"], obj["metadata"]["namespace"],
                                obj["metadata"]["name"])  # fmt: skip
            sizes[kind] = len(json.dumps(stored)) / 1024
    print(
        f"{args.deployments} Deployments ({sizes.get('Deployment', 0):.1f} KiB of JSON each), "
        f"{args.hpas} HPAs ({sizes.get('HPA', 0):.1f} KiB each), "
        f"one in {every or 'none'} annotated"
    )

    began = time.monotonic()
    child, here = spawn(controller_process, server.url, daemon=True)
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
