"""The controller's memory over a long run. Run: .venv/bin/python -m bench.churn_bench
[--churn 100000] [--firing 400] [--writes 100000] [--speed 60]

Two things go on at once against the in-process API server (in this process):
- churn: --churn HPAs are created and deleted, a few hundred alive at a time, each with a cron of
  its own (a distinct minute, hour and day), as in a cluster where preview environments come and
  go; each leaves a parse, a timeline, an agenda entry, a gauge series and an Event behind if
  anything is kept for an object that is gone;
- writes: --firing HPAs whose schedule changes minReplicas every minute, on a clock running
  --speed times faster than the wall clock, until --writes writes were made.
The controller (`Controller`, schedule loop only, the real client) runs in a child process
started with "spawn", so that its memory is its own. Prints its RSS as the run goes on: flat
means nothing grows with the number of objects ever seen or writes ever made."""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
from datetime import UTC, datetime
from multiprocessing.connection import Connection

from bench.common import GITOPS, MIB, api_client, argocd_hpa, proc_kib, spawn

START = datetime(2026, 11, 2, 8, 0, 30, tzinfo=UTC)
EVERY_MINUTE = json.dumps(
    [
        {"schedule": "0-58/2 * * * *", "minReplicas": 3},
        {"schedule": "1-59/2 * * * *", "minReplicas": 4},
    ]
)


def controller_process(url: str, speed: float, conn: Connection) -> None:
    from zoneinfo import ZoneInfo

    from scalers import metrics
    from scalers.clock import FastClock
    from scalers.controller import Controller, Settings

    logging.disable(logging.CRITICAL)  # a log line per write: not what is measured here
    settings = Settings(ZoneInfo("UTC"), proportional=None)
    controller = Controller(api_client(url), FastClock(START, speed), settings)
    stop = threading.Event()
    threading.Thread(target=controller.run, args=(stop,), daemon=True).start()
    loop = controller.schedule
    assert loop is not None
    while not conn.poll(2.0):
        writes = metrics.WRITES.labels("schedule", "success")._value.get()
        conn.send({"rss": proc_kib("VmRSS"), "writes": writes, **loop.footprint()})
    stop.set()


def churning(server: object, count: int, alive: int, done: threading.Event, made: list[int]):
    def run() -> None:
        for i in range(count):
            # A distinct cron each (40,320 of them), far from firing: the timeline and the
            # agenda entry are what a leak would keep.
            cron = f"{i % 60} {i // 60 % 24} {i // 1440 % 28 + 1} * *"
            actions = json.dumps([{"schedule": cron, "minReplicas": 3}])
            obj = argocd_hpa(f"preview-{i}", "previews", actions)
            server.create(obj, manager=GITOPS)  # type: ignore[attr-defined]
            if i >= alive:
                gone = f"preview-{i - alive}"
                server.delete("autoscaling/v2", "HorizontalPodAutoscaler", "previews", gone)  # type: ignore[attr-defined]
            made[0] = i + 1
            if i % 50 == 0:
                time.sleep(0.01)  # let the watch keep up, as a real cluster's pace would
        for i in range(max(0, count - alive), count):
            server.delete("autoscaling/v2", "HorizontalPodAutoscaler", "previews", f"preview-{i}")  # type: ignore[attr-defined]
        done.set()

    threading.Thread(target=run, daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--churn", type=int, default=100_000)
    parser.add_argument("--alive", type=int, default=300)
    parser.add_argument("--firing", type=int, default=400)
    parser.add_argument("--writes", type=int, default=100_000)
    parser.add_argument("--speed", type=float, default=60.0)
    args = parser.parse_args()

    from scalers.fakeapi import FakeApiServer

    server = FakeApiServer().start()
    for i in range(args.firing):
        server.create(argocd_hpa(f"app-{i}", f"team-{i % 40}", EVERY_MINUTE), manager=GITOPS)
    child, here = spawn(controller_process, server.url, args.speed)
    began = time.monotonic()
    first = here.recv()
    while first["writes"] < args.firing:  # the start-up catch-up is done
        first = here.recv()
    print(f"{args.firing} HPAs firing every minute at {args.speed:g}x; churn of {args.churn}")
    print("elapsed_s created_deleted writes rss_mib tracked agenda written")
    done, made = threading.Event(), [0]
    churning(server, args.churn, args.alive, done, made)
    baseline, last_print, report = None, 0.0, first
    while True:
        report = here.recv()
        elapsed = time.monotonic() - began
        if baseline is None and made[0] >= args.churn // 5:
            # After a warm-up: the bounded caches (timelines, Events) and the pools at size.
            baseline = report["rss"]
        if elapsed - last_print >= 20:
            last_print = elapsed
            print(
                f"{elapsed:9.0f} {made[0]:15d} {report['writes']:7.0f} "
                f"{report['rss'] / MIB:7.1f} {report['tracked']:7d} {report['agenda']:6d} "
                f"{report['written']:7d}"
            )
        if done.is_set() and report["writes"] >= args.writes and report["tracked"] <= args.firing:
            break
    here.send("stop")
    child.join(timeout=30)
    server.stop()
    print(
        f"done in {time.monotonic() - began:.0f} s: {made[0]} HPAs created and deleted, "
        f"{report['writes']:.0f} writes"
    )
    if baseline is not None:
        print(
            f"RSS after warm-up {baseline / MIB:.1f} MiB, at the end {report['rss'] / MIB:.1f} "
            f"MiB: {(report['rss'] - baseline) / MIB:+.1f} MiB"
        )


if __name__ == "__main__":
    main()
