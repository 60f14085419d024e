"""Leader election: candidates as separate processes (each its own client and thread) on one
fake API server and one manual clock that only the test moves."""

from __future__ import annotations

import logging
import re
import threading
from datetime import datetime, timedelta

import pytest

from scalers.clock import ManualClock
from scalers.fakeapi import FakeApiServer
from scalers.kube.client import Kube
from scalers.kube.lease import LeaderElector, micro_time
from tests.support import (
    LEASE_DURATION,
    NAME,
    NAMESPACE,
    NEXT_RETRY,
    RENEW_DEADLINE,
    RETRY,
    START,
    Election,
)


def parse(micro: str) -> datetime:
    return datetime.fromisoformat(micro)


def seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


def test_one_of_two_leads_and_keeps_the_lease(election: Election) -> None:
    first, second = election.join("a", "b")
    [leader] = election.leaders()
    standby = second if leader == "a" else first
    for _ in range(int(3 * LEASE_DURATION)):  # steps well inside the lease, three leases long
        election.advance(1)
        assert election.leaders() == [leader]
        assert not standby.elector.is_leader()
        lease = election.lease()
        assert election.clock.now() - parse(lease["renewTime"]) < seconds(RETRY)
    assert lease["holderIdentity"] == leader
    assert lease["leaseDurationSeconds"] == 15 and isinstance(lease["leaseDurationSeconds"], int)
    # Created then (a whole second goes out a microsecond later, the MicroTime a server takes),
    # and kept by every renewal.
    assert parse(lease["acquireTime"]) == START + seconds(0.000001)
    assert re.fullmatch(r"2026-11-02T08:00:\d\d\.000000Z", lease["renewTime"])
    assert lease["leaseTransitions"] == 0
    assert {c.identity: c.elector.transitions for c in election.candidates} == {
        leader: 1,
        standby.identity: 0,
    }
    assert standby.calls == []


@pytest.mark.parametrize("existing", ["none", "released"])
def test_racing_candidates_one_wins_the_other_gets_a_conflict(
    election: Election, server: FakeApiServer, existing: str
) -> None:
    if existing == "released":
        spec = {"leaseDurationSeconds": 1, "leaseTransitions": 3}
        server.create({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                       "metadata": {"name": NAME, "namespace": NAMESPACE}, "spec": spec})  # fmt: skip
    # Both read the Lease before either writes: both write, on the same resourceVersion.
    election.join("a", "b", gate=threading.Barrier(2))
    method = "POST" if existing == "none" else "PATCH"
    writes = [r.status for r in server.requests if r.method == method and "leases" in r.path]
    assert sorted(writes) == [200 if existing == "released" else 201, 409]
    [leader] = election.leaders()
    lease = election.lease()
    assert lease["holderIdentity"] == leader
    assert lease["leaseTransitions"] == (4 if existing == "released" else 0)
    for _ in range(3):
        election.advance(RETRY)
        assert election.leaders() == [leader]


def test_stop_releases_and_the_standby_takes_over_at_its_next_retry(
    election: Election,
) -> None:
    [a] = election.join("a")
    election.join("b")
    for _ in range(3):
        election.advance(RETRY)
    a.halt()
    assert a.calls == [("started", True), ("stopped", False)]
    released = election.lease()
    assert not released.get("holderIdentity") and released["leaseDurationSeconds"] == 1
    assert released["leaseTransitions"] == 0
    assert election.leaders() == []

    election.advance(NEXT_RETRY)
    assert election.leaders() == ["b"]
    lease = election.lease()
    assert lease["holderIdentity"] == "b" and lease["leaseTransitions"] == 1
    assert lease["acquireTime"] == lease["renewTime"] == micro_time(election.clock.now())
    assert lease["leaseDurationSeconds"] == 15


def test_a_dead_leader_is_replaced_only_after_the_lease_duration(election: Election) -> None:
    [a] = election.join("a")
    [b] = election.join("b")
    for _ in range(3):
        election.advance(RETRY)
    last_renewal = parse(election.lease()["renewTime"])
    a.kube.cut = True  # gone: no more renewals, and its release never reaches the server
    a.halt()
    assert election.lease()["holderIdentity"] == "a"

    while not b.leading:
        assert election.clock.now() - last_renewal < seconds(LEASE_DURATION + 3 * NEXT_RETRY)
        election.advance(1)
    lease = election.lease()
    assert lease["holderIdentity"] == "b" and lease["leaseTransitions"] == 1
    assert parse(lease["acquireTime"]) - last_renewal >= seconds(LEASE_DURATION)
    assert b.calls == [("started", True)]


@pytest.mark.parametrize("skew", [-3600, 3600], ids=["holder-clock-behind", "holder-clock-ahead"])
def test_expiry_is_judged_on_the_candidates_own_clock(
    election: Election, server: FakeApiServer, skew: int
) -> None:
    written = micro_time(START + seconds(skew))
    spec = {"holderIdentity": "elsewhere", "leaseDurationSeconds": 15, "acquireTime": written,
            "renewTime": written, "leaseTransitions": 4}  # fmt: skip
    server.create({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                   "metadata": {"name": NAME, "namespace": NAMESPACE}, "spec": spec})  # fmt: skip
    [b] = election.join("b")
    while not b.leading:
        assert election.clock.now() - START < seconds(LEASE_DURATION + 2 * NEXT_RETRY)
        election.advance(1)
    lease = election.lease()
    # First seen at START: expired a lease duration later by b's clock, whatever renewTime says.
    assert parse(lease["acquireTime"]) - START >= seconds(LEASE_DURATION)
    assert lease["holderIdentity"] == "b" and lease["leaseTransitions"] == 5


def test_failing_renewals_step_down_before_anyone_else_can_acquire(
    election: Election, server: FakeApiServer
) -> None:
    [a] = election.join("a")
    election.join("b")
    election.advance(RETRY)
    last_renewal = parse(election.lease()["renewTime"])
    server.faults.inject(500, count=1000, method="PATCH", path_contains="leases")
    while election.clock.now() - last_renewal < seconds(RENEW_DEADLINE - 1):
        election.advance(1)
        assert a.leading
    election.clock.advance(1)
    # At the deadline, before its thread has even looked: no longer safe to act as leader.
    assert not a.elector.is_leader()
    election.settle()
    assert not a.leading and a.calls == [("started", True), ("stopped", False)]
    assert election.clock.now() - last_renewal < seconds(LEASE_DURATION)
    assert election.leaders() == [] and election.lease()["holderIdentity"] == "a"

    server.faults.clear()  # the thread lived through every error, and the Lease is still its own
    election.advance(NEXT_RETRY)
    assert election.leaders() == ["a"]
    assert a.calls[-1] == ("started", True) and a.elector.transitions == 2
    assert election.lease()["leaseTransitions"] == 0


def test_callbacks_in_order_once_per_transition(
    election: Election, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="scalers.kube.lease")
    [a] = election.join("a")
    [b] = election.join("b")
    election.advance(RETRY)
    a.halt()
    election.advance(NEXT_RETRY)
    election.join("c")
    election.advance(RETRY)
    b.halt()
    election.advance(NEXT_RETRY)
    assert election.leaders() == ["c"]
    assert election.history == [
        ("a", "started"), ("a", "stopped"), ("b", "started"), ("b", "stopped"), ("c", "started"),
    ]  # fmt: skip
    for candidate in (a, b):
        assert candidate.calls == [("started", True), ("stopped", False)]
        assert candidate.elector.transitions == 1
    assert election.lease()["leaseTransitions"] == 2
    actions = [
        (r.identity, r.action) for r in caplog.records if getattr(r, "action", None) is not None
    ]
    assert actions == [
        ("a", "acquire"), ("a", "lose"), ("a", "release"), ("b", "acquire"), ("b", "lose"),
        ("b", "release"), ("c", "acquire"),
    ]  # fmt: skip


def test_durations_must_leave_room_for_renewals(server: FakeApiServer, clock: ManualClock) -> None:
    with pytest.raises(ValueError, match="lease_duration > renew_deadline"):
        LeaderElector(Kube(server.api_client()), clock, "a", renew_deadline=20.0)
