"""`scalers demo`: the real controller, the real client and the in-process API server, seeded
from examples/, on a fast clock; prints what happened as a person would want to read it."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from scalers import log as logs
from scalers import names
from scalers.clock import FastClock
from scalers.controller import Controller, Settings
from scalers.fakeapi import FakeApiServer
from scalers.kube.client import Kube, Stopper
from scalers.ownership import owners
from scalers.proportional.loop import Config
from scalers.resources import EVENT
from scalers.schedule.annotation import SCHEDULE_ANNOTATION

LOCAL = ZoneInfo("Europe/Berlin")
# Monday 23 November 2026, 08:50 in Berlin: ten minutes before business hours.
START = datetime(2026, 11, 23, 8, 50, tzinfo=LOCAL).astimezone(UTC)
GITOPS = "argocd-controller"
# The demo's cluster changes in virtual minutes; ten-minute resyncs keep the fast clock calm.
PROPORTIONAL = Config(resync_seconds=600)


def node(name: str, ready: bool = True) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"node.kubernetes.io/instance-type": "m6i.xlarge"}},
        "status": {
            "allocatable": {"cpu": "3920m", "memory": "15Gi", "pods": "58"},
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def find_examples(given: str | None) -> Path:
    candidates = (
        [Path(given)] if given else [Path(__file__).parents[1] / "examples", Path("examples")]
    )
    for path in candidates:
        if path.is_dir() and any(path.glob("*.yaml")):
            return path
    raise SystemExit(
        f"scalers demo: no examples directory with manifests at {', '.join(map(str, candidates))}; "
        "run it from the repository or pass --examples DIR"
    )


def seed(server: FakeApiServer, examples: Path) -> list[str]:
    seeded = []
    for path in sorted(examples.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and (
                doc.get("kind") in ("HorizontalPodAutoscaler", "Deployment")
                or (
                    doc.get("kind") == "ConfigMap"
                    and {"linear", "ladder"} & set(doc.get("data", {}))
                )
            ):  # what the controller reads; not the ArgoCD examples
                server.create(doc, manager=GITOPS)
                meta = doc["metadata"]
                seeded.append(f"{doc['kind']} {meta.get('namespace', 'default')}/{meta['name']}")
    return seeded


class Demo:
    def __init__(self, args: argparse.Namespace, out: Callable[[str], None] = print) -> None:
        self.args = args
        self.out = out
        self.clock = FastClock(START, args.speed, running=False)
        self.server = FakeApiServer(clock=self.clock.now)
        self.settings = Settings(
            args.timezone, dry_run=args.dry_run, schedule=True, proportional=PROPORTIONAL
        )
        self.stop_events = threading.Event()

    def local(self, instant: datetime) -> str:
        return instant.astimezone(LOCAL).strftime("%a %H:%M")

    def say(self, text: str) -> None:
        self.out(f"{self.local(self.clock.now())}  {text}")

    def until(self, hour: int, minute: int = 0, day: int = 23) -> None:
        target = datetime(2026, 11, day, hour, minute, tzinfo=LOCAL)
        while (left := (target - self.clock.now()).total_seconds()) > 0:
            self.clock.wait(left, threading.Event())

    def start_controller(self) -> tuple[threading.Event, threading.Thread]:
        self.clock.pause()
        controller = Controller(self.server.api_client(), self.clock, self.settings)
        stop = threading.Event()
        thread = threading.Thread(target=controller.run, args=(stop,), name="controller")
        thread.start()
        beats = controller.runner.heartbeats
        while thread.is_alive() and len(beats) < len(controller.runner.loops):
            threading.Event().wait(0.01)  # the first passes, whatever the speed
        self.clock.go()
        return stop, thread

    def show_events(self) -> None:
        """Print every Event the controller records, like `kubectl get events -w`."""
        kube = Kube(self.server.api_client())
        _, version = kube.list(EVENT)
        stopper = Stopper()

        def stop_at_the_end() -> None:
            self.stop_events.wait()
            stopper.stop()

        threading.Thread(target=stop_at_the_end, daemon=True).start()
        try:
            for kind, event in kube.watch(EVENT, version, stopper, timeout_seconds=3600):
                if kind != "ADDED" or self.stop_events.is_set():
                    continue
                ref = event["involvedObject"]
                self.out(
                    f"{self.local(self.clock.now())}    event {event['type']:<7} "
                    f"{ref['kind']} {ref['namespace']}/{ref['name']}: {event['reason']}: {event['message']}"
                )
        except Exception:
            if not self.stop_events.is_set():
                raise

    def run(self) -> int:
        examples = find_examples(self.args.examples)
        with self.server:
            seeded = seed(self.server, examples)
            kubeconfig = Path(tempfile.mkdtemp(prefix="scalers-demo-")) / "kubeconfig"
            self.server.write_kubeconfig(str(kubeconfig))
            self.out(f"In-process API server at {self.server.url}, seeded from {examples}/:")
            for line in seeded:
                self.out(f"  {line}")
            self.out(f"Watch it: kubectl --kubeconfig {kubeconfig} get hpa,deploy -A")
            self.out(
                f"Virtual time runs {self.args.speed:g}x from {self.local(START)} Europe/Berlin; "
                "times below are Berlin wall-clock.\n"
            )
            threading.Thread(target=self.show_events, daemon=True).start()
            self.scenario()
            self.stop_events.set()
            self.summary()
            if self.args.hold:
                self.out(
                    f"\nHolding the API server open; kubectl --kubeconfig {kubeconfig} ...; Ctrl-C ends."
                )
                with contextlib.suppress(KeyboardInterrupt):
                    threading.Event().wait()
        return 0

    def nodes(self, first: int, count: int, change: str) -> None:
        """Nodes node-<first>... join (add), turn NotReady (fail) or leave (delete)."""
        for name in (f"node-{i:02d}" for i in range(first, first + count)):
            if change == "add":
                self.server.create(node(name), manager="kubelet")
            elif change == "fail":
                self.server.update(node(name, ready=False), manager="kubelet", subresource="status")
            else:
                self.server.delete("v1", "Node", None, name)

    def floor_becomes(self, replicas: int) -> None:
        """Hold virtual time while the controller sees the nodes change and writes the floor, so
        that the story is the same on a slow machine."""
        self.clock.pause()
        deadline = threading.Event()
        for _ in range(1000):
            hpa = self.server.get(
                "autoscaling/v2", "HorizontalPodAutoscaler", names.NAMESPACE, names.COREDNS
            )
            if hpa is not None and hpa["spec"].get("minReplicas") == replicas:
                break
            deadline.wait(0.01)
        self.clock.go()

    def scenario(self) -> None:
        self.nodes(0, 3, "add")
        self.say("controller starts with 3 nodes: the schedules' catch-up, CoreDNS floor stays 2")
        stop, thread = self.start_controller()
        self.until(8, 55)
        self.say("the cluster-autoscaler adds 45 nodes ahead of business hours: CoreDNS floor 3")
        self.nodes(3, 45, "add")
        self.floor_becomes(3)
        self.until(9, 30)
        self.say("on-call raises shop/web minReplicas to 15 by hand (kubectl patch)")
        self.server.patch(
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            "shop",
            "web",
            {"spec": {"minReplicas": 15}},
            manager="kubectl-patch",
        )
        self.until(10)
        self.say("controller restarts (a new pod): its catch-up leaves the override alone")
        stop.set()
        thread.join()
        stop, thread = self.start_controller()
        self.until(11)
        self.say("someone annotates shop/checkout with a 6-field cron: only that HPA is rejected")
        self.server.create(
            {
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "metadata": {
                    "name": "checkout",
                    "namespace": "shop",
                    "annotations": {
                        SCHEDULE_ANNOTATION: '[{"schedule": "0 0 9 * * 1-5", "minReplicas": 4}]'
                    },
                },
                "spec": {
                    "scaleTargetRef": {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": "checkout",
                    },
                    "minReplicas": 1,
                    "maxReplicas": 8,
                },
            },
            manager=GITOPS,
        )
        self.until(11, 30)
        self.say("EC2 reclaims 20 spot nodes: NotReady, they stop counting; CoreDNS floor 2")
        self.nodes(28, 20, "fail")
        self.floor_becomes(2)
        self.until(12)
        self.say("20 replacement nodes join and the reclaimed ones are deleted: floor 3 again")
        self.nodes(48, 20, "add")
        self.nodes(28, 20, "delete")
        self.floor_becomes(3)
        self.until(20, 30)
        self.say("evening: the cluster-autoscaler removes 40 nodes")
        self.nodes(48, 20, "delete")
        self.nodes(8, 20, "delete")
        self.floor_becomes(2)
        self.until(6, day=24)
        self.say("end of the demo")
        stop.set()
        thread.join()

    def summary(self) -> None:
        self.out("\nWhere things stand (field: value, field managers):")
        for api_version, kind, namespace, name, fields in [
            (
                "autoscaling/v2",
                "HorizontalPodAutoscaler",
                "shop",
                "web",
                ("minReplicas", "maxReplicas"),
            ),
            ("apps/v1", "Deployment", "batch", "report-worker", ("replicas",)),
            (
                "autoscaling/v2",
                "HorizontalPodAutoscaler",
                names.NAMESPACE,
                names.COREDNS,
                ("minReplicas",),
            ),
        ]:
            obj = self.server.get(api_version, kind, namespace, name)
            if obj is None:
                continue
            parts = [f"{f}: {obj['spec'].get(f)} ({_managers_of(obj, f) or '-'})" for f in fields]
            self.out(f"  {kind} {namespace}/{name}  " + "; ".join(parts))


def _managers_of(obj: dict[str, Any], field: str) -> str:
    return ", ".join(owner.manager for owner in owners(obj, ("spec", field)))


def run_demo(args: argparse.Namespace) -> int:
    if args.verbose:
        logs.configure(args.log_level)
    else:
        path = Path(tempfile.mkdtemp(prefix="scalers-demo-")) / "controller.log"
        logs.configure(args.log_level, stream=path.open("w"))
        print(f"JSON log lines of the controller go to {path} (-v shows them here)")
    logging.getLogger("scalers.fakeapi").setLevel(logging.WARNING)
    try:
        return Demo(args).run()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
