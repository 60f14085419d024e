"""Operations figures (issue 4). Run: .venv/bin/python -m bench.operations_bench
[--minutes 10] [--trials 3]

The fake API server runs in this process, seeded as a busy cluster: 1,000 annotated HPAs in 50
namespaces (one action, "0 3 1 1 *", equal to what they hold: nothing fires or catches up), 500
Ready nodes, the `dns-autoscaler` ConfigMap and the `coredns` HPA. Each controller is a child
started with "spawn", wired as `scalers run` wires it: both loops, SystemClock, qps 100 / burst
1000, leader election with the shipped defaults (lease 15 s; renew 2/3 and retry 2/15 of it:
10 s and 2 s), no health port (two replicas on one host).
(1) Fail-over. A leader and a standby share the Lease. One more HPA, shop/web, holds the value
    of its schedule ("0 3 1 1 *"), written by the leader. Each trial starts a fresh standby,
    waits until it has read the Lease, then ends the leader at a noted instant t0: SIGKILL (no
    release: the standby must wait the lease out) or SIGTERM (the leader releases the Lease).
    Once the old leader can no longer write (exited after SIGKILL; the Lease released after
    SIGTERM) the bench edits web's annotation, as argocd would, to the other value (3 <-> 4).
    Only a leader writes, so the write waits for the standby to take over; its catch-up on
    acquisition re-applies every schedule and must write web. Timed from t0: the Lease naming
    the new holder (a poller reading the Lease every ms) and the server's answer to the new
    leader's PATCH of web. Expected: SIGKILL ~ lease duration +- one retry period (expiry is
    judged from when the standby last saw the Lease change); SIGTERM ~ up to one retry period.
(2) Idle cost. One controller alone: it acquires the Lease and writes coredns' floor; after
    a settling pause the request log is reset and --minutes of nothing happening are counted,
    by (method, path, watch), and extrapolated to an hour. Expected: 1,800 Lease renewals/h,
    watch reconnections every 300 s per informer, no LIST, no other write, no Event."""

from __future__ import annotations

import argparse
import os
import signal
import time
from collections import Counter
from typing import TYPE_CHECKING

from bench.common import (
    GITOPS,
    HPA,
    LEASE_DURATION,
    NS,
    SCHEDULE,
    Holders,
    busy_cluster,
    hpa,
    schedule_actions,
    spread,
    start_replica,
    wait_until,
)

if TYPE_CHECKING:
    from scalers.fakeapi import FakeApiServer, RequestRecord

LEASE_PATH = f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases/kube-scalers"
WEB_PATH = "/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers/web"
COREDNS_FLOOR = 32  # 500 nodes / nodesPerReplica 16 (2,000 cores / 256 is 8)


def floor(server: FakeApiServer, namespace: str, name: str) -> int:
    obj = server.get(*HPA, namespace, name)
    assert obj is not None
    return int(obj["spec"]["minReplicas"])


def fail_over(trials: int) -> None:
    server = busy_cluster()
    server.create(hpa("web", "shop", schedule_actions(3), 2, 100), GITOPS)
    holders, value = Holders(server), 3
    leader, name, n = start_replica(server, "scalers-0"), "scalers-0", 1
    wait_until(lambda: holders.now() == name and floor(server, "shop", "web") == 3, 60, "leader")
    print(f"(1) fail-over: {name} leads; web's minReplicas {value} written by it")
    for sig, label in ((signal.SIGKILL, "SIGKILL"), (signal.SIGTERM, "SIGTERM")):
        to_lease: list[float] = []
        to_write: list[float] = []
        for trial in range(1, trials + 1):
            standby_name = f"scalers-{n}"
            standby, n = start_replica(server, standby_name), n + 1
            time.sleep(LEASE_DURATION * 2 / 15 * 1.2 + 0.5)  # it has read the Lease: one retry
            value = 7 - value  # 3 <-> 4
            t0 = time.time()
            os.kill(leader.pid or 0, sig)
            if sig == signal.SIGKILL:
                leader.join()
            else:  # released: holder None, or already the standby's
                wait_until(lambda t: holders.changes[-1][0] > t, 10, "the release", t0)
            server.patch(
                *HPA, "shop", "web",
                {"metadata": {"annotations": {SCHEDULE: schedule_actions(value)}}},
                GITOPS,
            )  # fmt: skip
            edited = time.time() - t0
            wait_until(lambda v: floor(server, "shop", "web") == v, 60, "the new leader", value)
            leased = holders.first(t0, standby_name)
            assert leased is not None and holders.now() == standby_name
            written = next(
                r.at
                for r in list(server.requests)
                if r.method == "PATCH" and r.path == WEB_PATH and r.status == 200 and r.at > t0
            )
            to_lease.append(leased - t0)
            to_write.append(written - t0)
            print(
                f"    {label} trial {trial}: {name} ended -> Lease held by {standby_name} after "
                f"{leased - t0:.3f} s, web PATCH answered after {written - t0:.3f} s "
                f"(annotation edited at +{edited:.3f} s)"
            )
            leader.join(timeout=30)
            assert leader.exitcode is not None, f"{name} did not exit"
            leader, name = standby, standby_name
        print(f"(1) {label}: leader ended -> Lease to the new holder: {spread(to_lease)}")
        print(f"(1) {label}: leader ended -> first write by the new leader: {spread(to_write)}")
    os.kill(leader.pid or 0, signal.SIGTERM)
    leader.join(timeout=30)
    holders.stop.set()
    server.stop()


def idle(minutes: float) -> None:
    server = busy_cluster()
    holders = Holders(server)
    child = start_replica(server, "scalers-idle")
    wait_until(lambda: holders.now() == "scalers-idle", 30, "the Lease")
    wait_until(lambda: floor(server, NS, "coredns") == COREDNS_FLOOR, 30, "coredns' floor")
    time.sleep(10)  # the start-up Event is posted; the loops have gone round
    server.reset_requests()
    started = time.time()
    time.sleep(minutes * 60)
    requests = [r for r in list(server.requests) if r.at >= started]
    elapsed = time.time() - started
    hourly = 3600 / elapsed

    def line(label: str, count: int, expected: str) -> None:
        print(f"(2) {label}: {count} in {elapsed / 60:.1f} min = {count * hourly:.0f}/h {expected}")

    def is_list(r: RequestRecord) -> bool:
        target = server.route(r.path)
        return r.method == "GET" and not r.watch and getattr(target, "name", "") is None

    print(
        f"(2) idle controller, 1,000 annotated HPAs + 500 nodes + coredns, leader election on: "
        f"{len(requests)} requests in {elapsed / 60:.1f} min = {len(requests) * hourly:.0f}/h"
    )
    groups = Counter((r.method, r.path, r.watch) for r in requests)
    for (method, path, watch), count in sorted(groups.items()):
        kind = "  (watch)" if watch else ""
        print(f"    {count:5d}  {count * hourly:7.0f}/h  {method:6s} {path}{kind}")
    lease = [r for r in requests if r.path == LEASE_PATH]
    renewals = [r for r in lease if r.method == "PATCH" and r.status == 200]
    events = [r for r in requests if r.method == "POST" and r.path.endswith("/events")]
    writes = [
        r
        for r in requests
        if r.method in ("POST", "PUT", "PATCH", "DELETE") and r.path != LEASE_PATH
    ]
    line("Lease renewals", len(renewals), "(expected 1800/h: one per 2 s retry period)")
    if len(renewals) > 1:
        gap = (renewals[-1].at - renewals[0].at) / (len(renewals) - 1)
        print(f"    mean time between renewals: {gap:.3f} s")
    line("other Lease requests", len(lease) - len(renewals), "(expected 0)")
    line("watch (re)connections", sum(r.watch for r in requests), "(5 informers, 300 s each: 60/h)")
    line("LISTs", sum(map(is_list, requests)), "(expected 0)")
    line("writes other than the Lease", len(writes) - len(events), "(expected 0)")
    line("Events", len(events), "(expected 0)")
    line("failed requests", sum(r.status >= 400 for r in requests), "(expected 0)")
    os.kill(child.pid or 0, signal.SIGTERM)
    child.join(timeout=30)
    released = holders.first(started, None) is not None
    print(f"    SIGTERM: exited with {child.exitcode}, Lease released: {released}")
    holders.stop.set()
    server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    fail_over(args.trials)
    idle(args.minutes)


if __name__ == "__main__":
    main()
