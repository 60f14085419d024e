"""Hand-over under load (issue 9, bench (a)). Run: .venv/bin/python -m bench.handover_bench
[--trials 2]

The cluster, the replicas and the Lease poller are operations_bench's (bench.common's
busy_cluster, replica and Holders): 1,000 annotated HPAs, 500 nodes, coredns; each replica a
spawned child wired as `scalers run` wires it (both loops, SystemClock, leader election with
lease 15 s / renew 10 s / retry 2 s). Each replica sends its own User-Agent
("kube-scalers/<identity>": the field manager the server derives from it is the shipped one),
and the server here tags every request with it, so each write has its sender.

Each trial annotates the 1,000 HPAs with two daily actions: one at the current minute holding
the values they have (so the catch-up on the edit writes nothing) and one at the next whole
minute F (at least 15 s away) with new minReplicas/maxReplicas. Then, with a leader and a
standby that has read the Lease:
(1) SIGKILL: the leader is killed 1 s before F. The standby must wait the lease out, and its
    catch-up on acquisition applies the fire late.
(2) SIGSTOP: the leader's fire writes are answered 429 with Retry-After 20 (one fault per HPA),
    so each is handed back to the loop for a retry 20 s later; once the 1,000 are answered the
    leader is stopped. The standby acquires the Lease and writes the fire; then the faults are
    cleared and, 10 s after its retries fell due, the old leader is resumed and watched for
    20 s. Its retries are due and its cache may still show the values before the fire: the
    leadership check (its renew deadline passed, on a monotonic clock) must drop them all.
Printed per trial: HPA writes (PATCH) by the old leader after the new one acquired the Lease
(goal 0), fires lost (HPAs not at the fired values at the end; goal 0), and the time from the
kill/stop to the new leader's first HPA write (expected ~ lease duration + up to one retry)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

from bench.common import (
    GITOPS,
    HPA,
    LEASE_DURATION,
    SCHEDULE,
    Holders,
    busy_cluster,
    spread,
    start_replica,
    wait_until,
)

if TYPE_CHECKING:
    from scalers.fakeapi import FakeApiServer, RequestRecord

HPAS = [(f"team-{i % 50}", f"app-{i}") for i in range(1000)]
RETRY_AFTER = 20  # seconds: well above the ~1 s a write sleeps itself, so the loop reschedules
WATCH_AFTER = 20.0  # seconds the resumed old leader is watched


class Senders:
    """Every request the server answers, with the User-Agent that sent it. RequestRecord does
    not carry it, so the handler class is wrapped to note it for the record that follows."""

    def __init__(self, server: FakeApiServer) -> None:
        self.lock = threading.Lock()
        self.records: list[tuple[RequestRecord, str]] = []
        local = threading.local()
        httpd: Any = server._httpd

        class Handler(httpd.RequestHandlerClass):  # type: ignore[misc,name-defined]
            def _dispatch(self, method: str) -> None:
                local.agent = self.hdrs.get("user-agent", "")
                super()._dispatch(method)

        httpd.RequestHandlerClass = Handler
        record = server._record

        def tagged(r: RequestRecord) -> None:
            record(r)
            with self.lock:
                self.records.append((r, getattr(local, "agent", "")))

        server._record = tagged  # type: ignore[method-assign]

    def hpa_writes(self, identity: str, after: float) -> list[RequestRecord]:
        with self.lock:
            return [
                r
                for r, agent in self.records
                if agent == f"kube-scalers/{identity}"
                and r.method == "PATCH"
                and "/horizontalpodautoscalers/" in r.path
                and r.at > after
            ]


def schedule(held: tuple[int, int], fired: tuple[int, int], now: datetime, fire: datetime) -> str:
    hold = {"schedule": f"{now.minute} {now.hour} * * *"}
    new = {"schedule": f"{fire.minute} {fire.hour} * * *"}
    hold |= {"minReplicas": held[0], "maxReplicas": held[1]}
    new |= {"minReplicas": fired[0], "maxReplicas": fired[1]}
    return json.dumps([hold, new])


def values(server: FakeApiServer, namespace: str, name: str) -> tuple[int, int]:
    spec = (server.get(*HPA, namespace, name) or {})["spec"]
    return int(spec["minReplicas"]), int(spec["maxReplicas"])


def off(server: FakeApiServer, fired: tuple[int, int]) -> int:
    return sum(values(server, ns, name) != fired for ns, name in HPAS)


def sleep_until(at: datetime) -> None:
    time.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()))


class Bench:
    def __init__(self) -> None:
        self.server = busy_cluster()
        self.senders = Senders(self.server)
        self.holders = Holders(self.server)
        self.n = 0
        self.held = (2, 100)  # what busy_cluster() gives every app HPA
        self.leader, self.leader_name = self.spawn()
        wait_until(lambda: self.holders.now() == self.leader_name, 60, "the first leader")
        self.standby, self.standby_name = self.spawn()
        self.summary: dict[str, list[tuple[int, int, float]]] = {}

    def spawn(self) -> tuple[BaseProcess, str]:
        name = f"scalers-{self.n}"
        self.n += 1
        # Its requests carry its identity, so each write has its sender.
        return start_replica(self.server, name, user_agent=f"kube-scalers/{name}"), name

    def annotate(self, fired: tuple[int, int]) -> datetime:
        """The next fire: a whole minute at least 15 s away, for the edit to settle first."""
        now = datetime.now(UTC)
        fire = (now + timedelta(seconds=75)).replace(second=0, microsecond=0)
        text = schedule(self.held, fired, now, fire)
        for ns, name in HPAS:
            patch = {"metadata": {"annotations": {SCHEDULE: text}}}
            self.server.patch(*HPA, ns, name, patch, GITOPS)
        return fire

    def trial(self, scenario: str, number: int) -> None:
        old, new = self.leader_name, self.standby_name
        fired = (self.held[0] + 1, self.held[1] + 1)
        fire = self.annotate(fired)
        edited = time.time()
        if scenario == "SIGKILL":
            sleep_until(fire - timedelta(seconds=1))
            t0 = time.time()
            os.kill(self.leader.pid or 0, signal.SIGKILL)
            self.leader.join()
        else:
            sleep_until(fire - timedelta(seconds=2))
            self.server.faults.inject(429, count=len(HPAS), retry_after=RETRY_AFTER)
            wait_until(
                lambda: sum(r.status == 429 for r in self.senders.hpa_writes(old, edited))
                >= len(HPAS),
                30, "the leader's 1,000 fire writes answered 429",
            )  # fmt: skip
            t0 = time.time()
            os.kill(self.leader.pid or 0, signal.SIGSTOP)
        acquired = wait_until(lambda: self.holders.first(t0, new), 60, "the take-over")
        with contextlib.suppress(TimeoutError):  # counted below as fires lost
            wait_until(lambda: off(self.server, fired) == 0, 60, "the new leader's writes")
        if scenario == "SIGSTOP":
            self.server.faults.clear()
            # Its retries (Retry-After plus jitter after F) are due the instant it wakes.
            sleep_until(fire + timedelta(seconds=RETRY_AFTER + 10))
            resumed = time.time()
            os.kill(self.leader.pid or 0, signal.SIGCONT)
            time.sleep(WATCH_AFTER)
        else:
            time.sleep(5)
        stale = self.senders.hpa_writes(old, acquired)
        firsts = [r.at for r in self.senders.hpa_writes(new, t0)]
        first = min(firsts) - t0 if firsts else float("nan")
        lost = off(self.server, fired)
        before = [r for r in self.senders.hpa_writes(old, edited) if r.at <= t0]
        print(
            f"({scenario}) trial {number}: fire at {fire:%H:%M:%S}, {old} "
            f"{'killed' if scenario == 'SIGKILL' else 'stopped'} at "
            f"F{t0 - fire.timestamp():+.2f} s "
            f"after {len(before)} fire writes ({dict(Counter(r.status for r in before))}); "
            f"Lease to {new} after {acquired - t0:.3f} s; "
            f"first write by {new} after {first:.3f} s; "
            f"{len(firsts)} writes by {new}"
        )
        print(
            f"    writes by {old} after the take-over: {len(stale)} "
            f"{dict(Counter(r.status for r in stale))} (goal 0); fires lost: {lost} (goal 0)"
        )
        if scenario == "SIGSTOP":
            late = self.senders.hpa_writes(old, resumed)
            print(f"    {old} resumed {resumed - acquired:.1f} s after the take-over; HPA writes "
                  f"by it in the {WATCH_AFTER:.0f} s after: {len(late)}")  # fmt: skip
            for r in stale[:5]:
                print(f"      {r.method} {r.path} -> {r.status} at +{r.at - acquired:.3f} s")
            os.kill(self.leader.pid or 0, signal.SIGTERM)
            self.leader.join(timeout=30)
            if self.leader.exitcode is None:
                self.leader.kill()
                self.leader.join()
        self.summary.setdefault(scenario, []).append((len(stale), lost, first))
        self.held = fired
        self.leader, self.leader_name = self.standby, new
        self.standby, self.standby_name = self.spawn()
        time.sleep(LEASE_DURATION * 2 / 15 * 1.2 + 0.5)  # it has read the Lease: one retry

    def close(self) -> None:
        for child in (self.leader, self.standby):
            os.kill(child.pid or 0, signal.SIGTERM)
            child.join(timeout=30)
        self.holders.stop.set()
        self.server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2)
    args = parser.parse_args()
    bench = Bench()
    try:
        for scenario in ("SIGKILL", "SIGSTOP"):
            for number in range(1, args.trials + 1):
                bench.trial(scenario, number)
    finally:
        bench.close()
    print("summary (1,000 HPAs, two replicas, lease 15 s / renew 10 s / retry 2 s):")
    for scenario, rows in bench.summary.items():
        stale = sum(row[0] for row in rows)
        lost = sum(row[1] for row in rows)
        print(
            f"  {scenario}: {len(rows)} trials; writes by the old leader after the take-over: "
            f"{stale} (goal 0); fires lost: {lost} (goal 0); {scenario.lower()} -> first write "
            f"by the new leader: {spread([row[2] for row in rows])}"
        )


if __name__ == "__main__":
    main()
