"""1,000 HPAs firing at one minute, by `scalers run` as shipped (issue 13). Run:
.venv/bin/python -m bench.fires_bench [--runs 2] [--hpas 1000] [--lead 25] [--py-spy PATH] [--flag FLAG]

The fake API server runs in a process of its own (spawn), seeded as a busy cluster: --hpas HPAs
in 50 namespaces, 500 Ready nodes, the `dns-autoscaler` ConfigMap and the `coredns` HPA. Every
HPA holds minReplicas 2 and carries two daily actions in UTC: minReplicas 2 at the minute before
the bench started (what it holds: start-up has nothing to catch up, and nothing fires before
the instant; the writes before the instant are counted, to show it) and minReplicas 5 at the
instant. The instant is the next wall-clock minute at least --lead seconds away (a subprocess's
clock cannot be shifted), so that the controller has started, synced and taken the Lease before
it. The
controller is `scalers run` with its defaults (both loops, leader election, --qps 100, --burst
1000), only --kubeconfig and --health-port 0 given, its log in a file.
Measured from the server's request log (when it answered each request, time.time() on both
sides of the same machine): the delay from the instant to the first, median, p99 and last
answered PATCH of the HPAs; the controller's CPU seconds (/proc, utime + stime) from just before
the instant to just after its last write, per write; the server's share of a core over the same
window; and the delay to the last Event request (POST or PATCH of events) after the instant,
once none has come for --quiet seconds. Each run starts a fresh server and controller. Goal:
every write within 1 s; Events within a few seconds. With --py-spy PATH, the first run is also
profiled by py-spy (`record --gil`: only the thread holding the GIL, so where the interpreter's
time goes; raw collapsed stacks to PATH) from 1 s before the instant for 5 s, or from
--py-spy-from seconds after the instant for --py-spy-for (whole) seconds."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bench.common import (
    GITOPS,
    NS,
    CpuSamples,
    ServerProcess,
    dns_configmap,
    hpa,
    node,
    percentile,
    run_command,
    scalers_run,
    shown,
    stop_scalers,
    wait_until,
)

if TYPE_CHECKING:
    from scalers.fakeapi import FakeApiServer

HPAS = "/apis/autoscaling/v2/namespaces/team-"


def cron_at(instant: datetime) -> str:
    return f"{instant.minute} {instant.hour} * * *"


def seed(server: FakeApiServer, count: int, previous: datetime, instant: datetime) -> None:
    actions = json.dumps(
        [
            {"schedule": cron_at(previous), "minReplicas": 2},
            {"schedule": cron_at(instant), "minReplicas": 5},
        ]
    )
    for i in range(count):
        server.create(hpa(f"app-{i}", f"team-{i % 50}", actions, 2, 20), GITOPS)
    for i in range(500):
        server.create(node(f"node-{i}"))
    server.create(dns_configmap({"coresPerReplica": 256, "nodesPerReplica": 16, "min": 2}))
    server.create(hpa("coredns", NS, None, 2, 100), GITOPS)


def next_instant(lead: float) -> datetime:
    """The next whole minute at least `lead` seconds from now."""
    at = datetime.now(UTC) + timedelta(seconds=lead)
    return at.replace(second=0, microsecond=0) + timedelta(minutes=1)


def profile(
    pid: int, path: str, instant: float, start: float = -1.0, seconds: int = 5, rate: int = 500
) -> subprocess.Popen[bytes] | None:
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy is None:
        print("    py-spy not found on PATH nor beside the interpreter: not profiled")
        return None
    time.sleep(max(0.0, instant + start - time.time()))
    command = [spy, "record", "-p", str(pid), "-o", path, "-d", str(seconds), "-r", str(rate),
               "--format", "raw", "--threads", "--gil", "--nonblocking"]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def summarise(path: str, top: int = 12) -> None:
    """The frames py-spy found the GIL holder in most, by itself and with what it called."""
    own: Counter[str] = Counter()
    within: Counter[str] = Counter()
    for line in Path(path).read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        frames = stack.split(";")[1:]  # the first is the thread
        if frames:
            own[frames[-1]] += int(samples)
            within.update(dict.fromkeys(frames, int(samples)))
    total = sum(own.values())
    packages: Counter[str] = Counter()
    for frame, n in own.items():
        where = frame.rpartition("(")[2]
        packages[where.split("/")[0] if "/" in where else where.split(":")[0]] += n
    print(f"    py-spy: {total} samples with the GIL held, by the package of the frame itself:")
    print("      " + ", ".join(f"{name} {n / total:.0%}" for name, n in packages.most_common(10)))
    print("    by the frame itself:")
    for frame, count in own.most_common(top):
        print(f"      {count / total:5.1%}  {frame}")
    print("    and with the frames below it:")
    for frame, count in within.most_common(top * 3)[3:]:  # the threads' bootstrap frames
        print(f"      {count / total:5.1%}  {frame}")


def one_run(run: int, args: argparse.Namespace, workdir: Path) -> None:
    instant = next_instant(args.lead)
    at = instant.timestamp()
    # The minute before this one: the last fire at start-up, so there is nothing to catch up,
    # and nothing else fires before the instant.
    previous = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    server = ServerProcess(seed, args.hpas, previous, instant)
    command = run_command(server.kubeconfig(workdir), *args.flag)
    if run == 1:
        print(f"controller: {shown(command)}")
    log = workdir / f"scalers-{run}.log"
    controller = scalers_run(command, log)
    samples = CpuSamples([controller.pid, server.pid])
    try:
        wait_until(server.holder, 60, "the Lease")
        watching = wait_until(
            lambda: [r for r in server.requests() if r.watch and r.path.endswith("autoscalers")],
            60, "the HPAs' watch",
        )  # fmt: skip
        ready = at - watching[0].at
        spy = (
            profile(
                controller.pid,
                args.py_spy,
                at,
                args.py_spy_from,
                args.py_spy_for,
                args.py_spy_rate,
            )
            if args.py_spy and run == 1
            else None
        )
        time.sleep(max(0.0, at + 3 - time.time()))

        def writes() -> list[float]:
            return sorted(
                r.at for r in server.requests(at)
                if r.method == "PATCH" and r.path.startswith(HPAS) and r.status == 200
            )  # fmt: skip

        deadline = at + args.timeout
        while len(answered := writes()) < args.hpas and time.time() < deadline:
            time.sleep(1)
        quiet_since, events = time.time(), 0
        while time.time() - quiet_since < args.quiet and time.time() < deadline:
            time.sleep(1)
            sent = [r for r in server.requests(at) if r.path.endswith("/events")]
            if len(sent) != events:
                quiet_since, events = time.time(), len(sent)
        event_requests = [r for r in server.requests(at) if r.path.endswith("/events")]
        early = [
            r for r in server.requests() if r.method == "PATCH" and r.path.startswith(HPAS) and r.at <= at
        ]  # fmt: skip
        if spy is not None:
            spy.wait(timeout=60)
            summarise(args.py_spy)
        delays = [a - at for a in answered]
        if not delays:
            print(f"run {run}: no write answered by {args.timeout:.0f} s after the instant")
            return
        t0, cpu0 = samples.before(at)
        t1, cpu1 = samples.after(answered[-1])
        client, server_cpu = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
        others = max(0.0, cpu1[2] - cpu0[2] - client - server_cpu)
        within = sum(d <= 1.0 for d in delays)
        print(
            f"run {run}: instant {instant:%H:%M} UTC (the controller watching {ready:.1f} s "
            f"before, {len(early)} HPA writes before the instant); {len(delays)} of {args.hpas} "
            f"PATCHes answered, {within} within 1 s"
        )
        print(
            f"    instant -> PATCH answered: first {delays[0]:.3f} s, median "
            f"{statistics.median(delays):.3f} s, p99 {percentile(delays, 0.99):.3f} s, "
            f"last {delays[-1]:.3f} s"
        )
        print(
            f"    controller CPU from {at - t0:.3f} s before the instant to {t1 - answered[-1]:.3f} s "
            f"after the last write: {client:.2f} s = {client / len(delays) * 1000:.2f} ms per write "
            f"({client / (t1 - t0):.0%} of a core over those {t1 - t0:.2f} s)"
        )
        print(
            f"    server CPU over the same window: {server_cpu:.2f} s = {server_cpu / (t1 - t0):.0%} "
            f"of a core; everything else on the machine (this bench too) {others / (t1 - t0):.0%} of a core "
            f"({os.cpu_count()} cores)"
        )
        if event_requests:
            last = max(r.at for r in event_requests) - at
            kinds = {m: sum(r.method == m for r in event_requests) for m in ("POST", "PATCH")}
            print(
                f"    Events: {len(event_requests)} requests ({kinds['POST']} POST, "
                f"{kinds['PATCH']} PATCH); the last answered {last:.3f} s after the instant"
                + ("" if time.time() < deadline else f" (stopped looking at {args.timeout:.0f} s)")
            )
        else:
            print("    Events: none")
    finally:
        samples.stop.set()
        stop_scalers(controller)
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--hpas", type=int, default=1000)
    parser.add_argument("--lead", type=float, default=25.0, help="seconds before the instant")
    parser.add_argument("--quiet", type=float, default=10.0, help="seconds without an Event")
    parser.add_argument("--timeout", type=float, default=150.0, help="seconds after the instant")
    parser.add_argument("--py-spy", metavar="PATH", help="profile the first run's burst")
    parser.add_argument(
        "--flag",
        action="append",
        default=[],
        metavar="FLAG",
        help="a flag for `scalers run` besides its defaults (--flag=--log-level=WARNING, say)",
    )
    parser.add_argument(
        "--py-spy-from",
        type=float,
        default=-1.0,
        help="profile from this many seconds after the instant",
    )
    parser.add_argument(
        "--py-spy-for",
        type=int,
        default=5,
        help="profile for this many whole seconds (py-spy's unit)",
    )
    parser.add_argument("--py-spy-rate", type=int, default=500, help="py-spy's samples per second")
    args = parser.parse_args()
    flags = "".join(f" --flag={flag}" for flag in args.flag)
    print(
        f"Run: .venv/bin/python -m bench.fires_bench --runs {args.runs} --hpas {args.hpas}{flags}"
    )
    workdir = Path(tempfile.mkdtemp(prefix="fires-bench-"))
    print(f"logs in {workdir}")
    for run in range(1, args.runs + 1):
        one_run(run, args, workdir)


if __name__ == "__main__":
    main()
