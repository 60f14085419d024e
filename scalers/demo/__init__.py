"""`scalers demo`: the real controller, the real client and the in-process API server, seeded
with the package's examples (or the user's --examples DIR), on a fast clock; prints what happened
as a person would want to read it. It writes nothing but a kubeconfig and a log file, in one
temporary directory that it keeps, and goes on without them where there is none (a read-only
root)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from scalers import log as logs
from scalers import names
from scalers.clock import FastClock
from scalers.controller import Controller, Settings
from scalers.demo.seed import NothingToShow, Seeded, examples_dir, seed
from scalers.fakeapi import FakeApiServer
from scalers.kube.client import Kube, Stopper
from scalers.manifests import is_scheduled
from scalers.ownership import owners
from scalers.proportional.loop import Config
from scalers.resources import EVENT
from scalers.schedule.annotation import FIELDS, SCHEDULE_ANNOTATION

LOCAL = ZoneInfo("Europe/Berlin")
# Monday 23 November 2026, 08:50 in Berlin: ten minutes before business hours.
START = datetime(2026, 11, 23, 8, 50, tzinfo=LOCAL).astimezone(UTC)
GITOPS = "argocd-controller"
# The demo's cluster changes in virtual minutes; ten-minute resyncs keep the fast clock calm.
PROPORTIONAL = Config(resync_seconds=600)
# The story's hostile edit: an HPA annotated with a 6-field (Quartz) cron.
CHECKOUT = {
    "apiVersion": "autoscaling/v2",
    "kind": "HorizontalPodAutoscaler",
    "metadata": {
        "name": "checkout",
        "namespace": "shop",
        "annotations": {SCHEDULE_ANNOTATION: '[{"schedule": "0 0 9 * * 1-5", "minReplicas": 4}]'},
    },
    "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "checkout"},
        "minReplicas": 1,
        "maxReplicas": 8,
    },
}


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


class Demo:
    def __init__(
        self,
        args: argparse.Namespace,
        scratch: Path | None = None,
        out: Callable[[str], None] = print,
    ) -> None:
        self.args = args
        self.out = out
        self.clock = FastClock(START, args.speed, running=False)
        self.server = FakeApiServer(clock=self.clock.now)
        self.settings = Settings(
            args.timezone, dry_run=args.dry_run, schedule=True, proportional=PROPORTIONAL
        )
        self.stop_events = threading.Event()
        self.seeded = Seeded()
        self.kubectl = "kubectl"
        self.scratch = scratch

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
        try:
            examples = examples_dir(self.args.examples)
        except NothingToShow as error:
            print(f"scalers demo: {error}", file=sys.stderr)
            return 2
        with self.server:
            try:
                self.seeded = seed(self.server, examples, GITOPS)
            except NothingToShow as error:
                for line in error.skipped:
                    print(f"scalers demo: skipped: {line}", file=sys.stderr)
                print(f"scalers demo: {error}", file=sys.stderr)
                return 2
            self.introduce(examples)
            threading.Thread(target=self.show_events, daemon=True).start()
            stop, thread = self.scenario()
            if not self.args.hold:
                stop.set()
                thread.join()
                self.stop_events.set()
            self.summary()
            if self.args.hold:
                self.hold(stop, thread)
        return 0

    def introduce(self, examples: Path) -> None:
        self.out(f"In-process API server at {self.server.url}, seeded from {examples}/:")
        for manifest in self.seeded.objects:
            self.out(f"  {manifest.describe()}")
        for line in self.seeded.skipped:
            self.out(f"  skipped: {line}")
        if self.seeded.ignored:
            kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.seeded.ignored.items()))
            self.out(f"  not seeded, the controller does not read them: {kinds}")
        has = ", ".join(m.describe() for m in self.seeded.cluster)
        self.out(f"The demo's cluster has {has}, and 3 to 68 nodes as the day goes.")
        kubeconfig = None if self.scratch is None else self.scratch / "kubeconfig"
        if kubeconfig is None:
            self.kubectl = f"kubectl --server {self.server.url}"
        else:
            self.server.write_kubeconfig(str(kubeconfig))
            self.kubectl = f"kubectl --kubeconfig {kubeconfig}"
        self.out(f"Watch it: {self.kubectl} get hpa,deploy -A")
        self.out(
            f"Virtual time runs {self.args.speed:g}x from {self.local(START)} Europe/Berlin; "
            "times below are Berlin wall-clock.\n"
        )

    def hold(self, stop: threading.Event, thread: threading.Thread) -> None:
        """The controller runs on in real time, so that what the user changes with kubectl is
        acted on (and its Events shown), until Ctrl-C."""
        self.clock.set_speed(1)
        self.out(
            f"\nHolding: the controller runs on in real time from {self.local(self.clock.now())};"
            f" try {self.kubectl} patch hpa -n NAMESPACE NAME -p "
            '\'{"spec":{"minReplicas":3}}\'. Ctrl-C ends.'
        )
        with contextlib.suppress(KeyboardInterrupt):
            while thread.is_alive():
                thread.join(0.5)
        stop.set()
        self.stop_events.set()
        thread.join()

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
        that the story is the same on a slow machine; at most 10 s, whatever it writes."""
        if not self.sizes_coredns():
            return
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

    def sizes_coredns(self) -> bool:
        seeded = self.seeded
        return seeded.has("HorizontalPodAutoscaler", names.NAMESPACE, names.COREDNS) and seeded.has(
            "ConfigMap", names.NAMESPACE, names.PARAMS_CONFIGMAP
        )

    def floor(self, replicas: int) -> str:
        return f": CoreDNS floor {replicas}" if self.sizes_coredns() else ""

    def scenario(self) -> tuple[threading.Event, threading.Thread]:
        """A Monday and the night after. The steps on shop/web are the bundled examples' story:
        they happen only where that HPA was seeded. Returns the controller still running."""
        story = self.seeded.has("HorizontalPodAutoscaler", "shop", "web")
        helpdesk = self.seeded.has("HorizontalPodAutoscaler", "support", "helpdesk")
        self.nodes(0, 3, "add")
        self.say(f"controller starts with 3 nodes: the schedules' catch-up{self.floor(2)}")
        if helpdesk:
            self.say(
                "in Tokyo today is Labor Thanksgiving Day, a public holiday: support/helpdesk "
                "skips holidays:JP, so its 09:00 fire did not happen and Friday evening's values "
                "stand"
            )
        stop, thread = self.start_controller()
        self.until(8, 55)
        self.say(f"the cluster-autoscaler adds 45 nodes ahead of business hours{self.floor(3)}")
        self.nodes(3, 45, "add")
        self.floor_becomes(3)
        if story:
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
        self.say(
            "controller restarts (a new pod): its catch-up leaves the override alone"
            if story
            else "controller restarts (a new pod): its catch-up"
        )
        stop.set()
        thread.join()
        stop, thread = self.start_controller()
        if story:
            self.until(11)
            self.say(
                "someone annotates shop/checkout with a 6-field cron: only that HPA is rejected"
            )
            self.server.create(CHECKOUT, manager=GITOPS)
        self.until(11, 30)
        self.say(f"EC2 reclaims 20 spot nodes: NotReady, they stop counting{self.floor(2)}")
        self.nodes(28, 20, "fail")
        self.floor_becomes(2)
        self.until(12)
        self.say(
            f"20 replacement nodes join and the reclaimed ones are deleted{self.floor(3)} again"
        )
        self.nodes(48, 20, "add")
        self.nodes(28, 20, "delete")
        self.floor_becomes(3)
        self.until(20, 30)
        self.say("evening: the cluster-autoscaler removes 40 nodes")
        self.nodes(48, 20, "delete")
        self.nodes(8, 20, "delete")
        self.floor_becomes(2)
        if helpdesk:
            self.until(1, day=24)
            self.say("09:00 in Tokyo, the day after the holiday: support/helpdesk's hours begin")
        self.until(6, day=24)
        self.say("end of the demo")
        return stop, thread

    def summary(self) -> None:
        """Every object the controller acted on, with the values and owners of its fields."""
        self.out("\nWhere things stand (field: value, field managers):")
        shown = [(m, FIELDS[m.kind]) for m in self.seeded.objects if is_scheduled(m)]
        coredns = self.seeded.find("HorizontalPodAutoscaler", names.NAMESPACE, names.COREDNS)
        if self.sizes_coredns() and coredns is not None and not is_scheduled(coredns):
            shown.append((coredns, ("minReplicas",)))
        for manifest, fields in shown:
            api_version = manifest.obj["apiVersion"]
            obj = self.server.get(api_version, manifest.kind, manifest.namespace, manifest.name)
            if obj is None:
                continue
            parts = [f"{f}: {obj['spec'].get(f)} ({_managers_of(obj, f) or '-'})" for f in fields]
            self.out(f"  {manifest.describe()}  " + "; ".join(parts))


def _managers_of(obj: dict[str, Any], field: str) -> str:
    return ", ".join(owner.manager for owner in owners(obj, ("spec", field)))


def scratch() -> Path | None:
    """A new temporary directory for the kubeconfig and the log, kept after the demo so that
    the log can be read; None where none can be made (a read-only root file system without a
    writable /tmp)."""
    try:
        return Path(tempfile.mkdtemp(prefix="scalers-demo-"))
    except OSError:
        return None


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt  # SIGTERM (docker stop) ends the demo as Ctrl-C does


def run_demo(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    directory = scratch()
    if args.verbose:
        logs.configure(args.log_level)
    elif directory is not None:
        path = directory / "controller.log"
        logs.configure(args.log_level, stream=path.open("w"))
        print(f"JSON log lines of the controller go to {path} (-v shows them here)")
    else:
        logs.configure(args.log_level, stream=open(os.devnull, "w"))  # noqa: SIM115
        print("No temporary directory to keep the controller's log lines in (-v shows them)")
    logging.getLogger("scalers.fakeapi").setLevel(logging.WARNING)
    try:
        return Demo(args, directory).run()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
