"""The whole controller as SREs run it: two replicas sharing a Lease, a loop that crashes or
hangs, and the probes that notice."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from scalers.clock import ManualClock
from scalers.controller import Controller, Election, Settings
from scalers.fakeapi import FakeApiServer
from scalers.proportional.loop import Config
from tests.builders import add_nodes, configmap, coredns_hpa, hpa
from tests.support import HPA, START, hpa_patches, wait_for

# Scheduled at 08:00 (START): 2, from Sunday 18:00; at 09:00 it fires 10.
ACTIONS = json.dumps(
    [{"schedule": "0 9 * * *", "minReplicas": 10}, {"schedule": "0 18 * * *", "minReplicas": 2}]
)
NINE = START + timedelta(hours=1)


class Running:
    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self.stop = threading.Event()
        self.thread = threading.Thread(target=controller.run, args=(self.stop,))
        self.thread.start()

    def halt(self) -> None:
        self.stop.set()
        self.thread.join(timeout=15)
        assert not self.thread.is_alive()


@pytest.fixture
def start(server: FakeApiServer, clock: ManualClock) -> Iterator[Callable[..., Running]]:
    running: list[Running] = []

    def make(identity: str | None = None, **settings: Any) -> Running:
        election = Election(identity) if identity else None
        defaults: dict[str, Any] = {"election": election, "proportional": None}
        controller = Controller(
            server.api_client(), clock, Settings(ZoneInfo("UTC"), **(defaults | settings))
        )
        controller.runner.restart_delay = 0.01
        running.append(Running(controller))
        return running[-1]

    yield make
    for r in running:
        if r.thread.is_alive():
            r.halt()


def run_clock(clock: ManualClock, condition: Callable[[], Any], step: float = 0.5) -> Any:
    """Move virtual time on in small steps until `condition` holds (the threads react in
    between): a lease or a fire is reached without waiting real seconds for it."""

    def moved() -> Any:
        result = condition()
        if not result:
            clock.advance(step)
        return result

    return wait_for(moved, timeout=20)


def min_replicas(server: FakeApiServer, namespace: str = "shop", name: str = "web") -> int:
    obj = server.get(*HPA, namespace, name)
    assert obj is not None
    return int(obj["spec"]["minReplicas"])


def test_two_replicas_share_a_lease_and_only_the_leader_writes(server, clock, start):
    server.create(hpa("web", ACTIONS, 2, 20))
    clock.set(NINE - timedelta(seconds=10))
    a, b = start("a"), start("b")
    run_clock(clock, lambda: a.controller.elector.is_leader() or b.controller.elector.is_leader())
    electors = [a.controller.elector, b.controller.elector]
    assert sum(e.is_leader() for e in electors) == 1
    server.reset_requests()

    run_clock(clock, lambda: min_replicas(server) == 10)

    assert clock.now() >= NINE
    assert len(hpa_patches(server)) == 1  # the standby saw the same fire and wrote nothing
    assert sum(e.is_leader() for e in electors) == 1


def test_a_dead_leader_is_replaced_and_the_fire_in_between_is_applied_late(server, clock, start):
    server.create(hpa("web", ACTIONS, 2, 20))
    clock.set(NINE - timedelta(seconds=30))
    a = start("a")
    run_clock(clock, a.controller.elector.is_leader)
    b = start("b")
    run_clock(clock, lambda: "schedule" in b.controller.runner.heartbeats)
    run_clock(clock, lambda: clock.now() >= NINE - timedelta(seconds=5))
    assert a.controller.elector.is_leader() and min_replicas(server) == 2
    a.controller.elector._release = lambda: None  # killed: it never gives the Lease up
    a.halt()
    lease = server.get("coordination.k8s.io/v1", "Lease", "kube-system", "kube-scalers")
    last_renewed = datetime.fromisoformat(lease["spec"]["renewTime"])

    run_clock(clock, lambda: min_replicas(server) == 10)

    assert b.controller.elector.is_leader()
    # Not before the Lease ran out: 15 s after a's last renewal, which b saw no later than that.
    assert clock.now() >= last_renewed + timedelta(seconds=15)
    assert clock.now() > NINE  # the 09:00 fire fell in the gap: applied late, by the catch-up
    lease = server.get("coordination.k8s.io/v1", "Lease", "kube-system", "kube-scalers")
    assert lease["spec"]["holderIdentity"] == "b" and lease["spec"]["leaseTransitions"] == 1


def test_a_loop_that_raises_is_restarted_while_the_other_keeps_firing(server, clock, start):
    server.create(hpa("web", ACTIONS, 2, 20))
    server.create(coredns_hpa())
    server.create(configmap({"linear": json.dumps({"nodesPerReplica": 1})}))
    add_nodes(server, 3)
    clock.set(NINE - timedelta(seconds=10))
    crashes = []

    def crash_once(original: Callable[..., Any]) -> Callable[..., Any]:
        def evaluate(*args: Any) -> Any:
            if not crashes:
                crashes.append(clock.now())
                raise RuntimeError("boom")
            return original(*args)

        return evaluate

    r = start(proportional=Config())
    loop = r.controller.proportional
    loop.evaluate = crash_once(loop.evaluate)

    run_clock(clock, lambda: min_replicas(server) == 10)
    wait_for(lambda: min_replicas(server, "kube-system", "coredns") == 3)
    assert r.controller.runner.restarts == {"proportional": 1, "schedule": 0}


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_healthz_fails_while_a_loop_is_stuck(server, clock, start):
    server.create(hpa("web", ACTIONS, 2, 20))
    r = start(proportional=Config(), health_port=0)
    wait_for(
        lambda: r.controller.health_port and get(r.controller.health_port, "/readyz")[0] == 200
    )
    port = r.controller.health_port
    assert get(port, "/healthz") == (200, "ok\n")
    stuck, release = threading.Event(), threading.Event()
    evaluate = r.controller.schedule.evaluate

    def hang(now: Any, term: int) -> Any:
        stuck.set()
        release.wait()
        return evaluate(now, term)

    r.controller.schedule.evaluate = hang  # type: ignore[method-assign]
    r.controller.schedule.catch_up()  # wake it: its next pass hangs
    try:
        wait_for(stuck.is_set)
        clock.advance(60 * 2 + 31)  # twice the schedule loop's period, and the grace

        def only_schedule_stuck() -> bool:
            status, body = get(port, "/healthz")
            return status == 500 and body == f"schedule loop stuck since {START.isoformat()}\n"

        wait_for(only_schedule_stuck)  # the proportional loop goes round: not reported
    finally:
        release.set()
    wait_for(lambda: get(port, "/healthz")[0] == 200)
