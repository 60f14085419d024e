"""Writes fenced by the leadership term: a deposed or stopping leader sends nothing, and gives the
Lease up only once its writes are done; durations run on the monotonic clock."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from scalers.clock import ManualClock
from scalers.fakeapi import FakeApiServer
from scalers.kube.client import Fenced, Kube
from scalers.kube.lease import LeaderElector
from scalers.kube.writer import write_spec_fields
from scalers.resources import HPA
from tests.builders import hpa
from tests.support import (
    HPA as HPA_KIND,
)
from tests.support import (
    LEASE_DURATION,
    NEXT_RETRY,
    RENEW_DEADLINE,
    RETRY,
    Election,
    hpa_patches,
    wait_for,
)

PATH = "horizontalpodautoscalers"


class Frozen:
    """A retry wait during which the process is frozen (SIGSTOP) until `thaw`."""

    def __init__(self) -> None:
        self.entered, self.thaw = threading.Event(), threading.Event()

    def __call__(self, seconds: float, wake: threading.Event) -> bool:
        self.entered.set()
        self.thaw.wait(timeout=10)
        return wake.is_set()


def write(kube: Kube, elector: LeaderElector, term: int, failed: list[Exception]) -> None:
    try:
        write_spec_fields(kube, HPA, "shop", "web", {"minReplicas": 9}, "kube-scalers",
                          fence=lambda: elector.holds(term))  # fmt: skip
    except Exception as error:
        failed.append(error)


def test_a_deposed_leader_never_sends_the_write_it_was_retrying(
    election: Election, server: FakeApiServer
) -> None:
    server.create(hpa("web", None))
    [a] = election.join("a")
    [b] = election.join("b")
    election.advance(RETRY)
    term = a.elector.term()
    assert term is not None and a.elector.holds(term)
    frozen, failed = Frozen(), []
    writes = Kube(server.api_client(), sleep=frozen)
    server.faults.inject(429, count=1, method="PATCH", path_contains=PATH, retry_after=0)
    writer = threading.Thread(target=write, args=(writes, a.elector, term, failed))
    writer.start()
    frozen.entered.wait(timeout=5)

    a.kube.cut = True  # frozen: no renewal reaches the server any more
    while not b.leading:
        election.advance(1)
    frozen.thaw.set()  # woken after the take-over
    writer.join(timeout=5)

    assert [type(e) for e in failed] == [Fenced]
    assert [r.status for r in hpa_patches(server)] == [429]  # the first attempt only, refused
    assert server.get(*HPA_KIND, "shop", "web")["spec"]["minReplicas"] == 2
    assert a.elector.term() is None and not a.elector.holds(term)


class Drained(Kube):
    """The loops' adapter, noting what the Lease looked like when the elector drained it."""

    def __init__(self, *args: Any, server: FakeApiServer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.server = server
        self.holder_at_drain: list[str | None] = []

    def drain(self, timeout: float) -> bool:
        lease = self.server.get("coordination.k8s.io/v1", "Lease", "kube-system", "kube-scalers")
        self.holder_at_drain.append(lease["spec"].get("holderIdentity") if lease else None)
        return super().drain(timeout)


def test_stop_closes_the_fence_then_drains_the_writes_then_releases(
    server: FakeApiServer, clock: ManualClock
) -> None:
    server.create(hpa("web", None))
    frozen, failed = Frozen(), []
    writes = Drained(server.api_client(), sleep=frozen, server=server)
    elector = LeaderElector(
        Kube(server.api_client(), retries=0), clock, "a", "kube-scalers", "kube-system",
        LEASE_DURATION, RENEW_DEADLINE, RETRY, writes=writes,
    )  # fmt: skip
    stop = threading.Event()
    thread = threading.Thread(target=elector.run, args=(stop, lambda: None, lambda: None))
    thread.start()
    term = wait_for(elector.term)
    server.faults.inject(429, count=1, method="PATCH", path_contains=PATH, retry_after=0)
    writer = threading.Thread(target=write, args=(writes, elector, term, failed))
    writer.start()
    frozen.entered.wait(timeout=5)

    stop.set()
    wait_for(lambda: writes.holder_at_drain)
    assert writes.holder_at_drain == ["a"]  # still ours while the write is under way
    assert not elector.holds(term)  # and the fence already closed
    frozen.thaw.set()
    writer.join(timeout=5)
    thread.join(timeout=10)

    assert not thread.is_alive()
    assert [type(e) for e in failed] == [Fenced] and [r.status for r in hpa_patches(server)] == [
        429
    ]
    lease = server.get("coordination.k8s.io/v1", "Lease", "kube-system", "kube-scalers")
    assert not lease["spec"].get("holderIdentity")  # released after


def test_a_wall_clock_step_back_does_not_extend_leadership(
    election: Election, server: FakeApiServer
) -> None:
    [a] = election.join("a")
    election.advance(RETRY)
    term = a.elector.term()
    assert term is not None
    server.faults.inject(500, count=1000, method="PATCH", path_contains="leases")
    election.clock.set(election.clock.now() - timedelta(hours=1))  # NTP steps the clock back
    election.advance(RENEW_DEADLINE)

    assert not a.elector.is_leader() and not a.elector.holds(term)


def test_a_wall_clock_step_forward_does_not_expire_the_holders_lease(
    election: Election,
) -> None:
    [a] = election.join("a")
    [b] = election.join("b")
    election.advance(RETRY)
    a.kube.cut = True  # silent from now on
    election.advance(NEXT_RETRY)  # b has read a's last renewal: the lease runs from there
    election.clock.set(election.clock.now() + timedelta(hours=1))
    elapsed = 0.0
    while not b.leading:
        election.advance(1)
        elapsed += 1
    assert elapsed >= LEASE_DURATION - NEXT_RETRY
