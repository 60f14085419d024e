"""Shared fixtures: the in-process API server on a manual clock, spoken to by the real client."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from scalers.clock import ManualClock
from scalers.fakeapi import FakeApiServer
from scalers.kube.client import Kube
from scalers.kube.events import EventRecorder
from scalers.kube.informer import Informer
from scalers.schedule.loop import ScheduleLoop

# Monday 2 November 2026, 08:00 UTC.
START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def wait_for(condition: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Wait for something asynchronous (a watch event crossing the socket), never for schedule
    time: that is the manual clock's job."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.005)
    raise AssertionError("condition not met in time")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def server(clock: ManualClock) -> Iterator[FakeApiServer]:
    with FakeApiServer(clock=clock.now) as srv:
        yield srv


def client_of(server: FakeApiServer) -> Kube:
    """The adapter as the controller builds it, with retries backing off for milliseconds."""
    return Kube(server.api_client(), backoff=0.001)


@pytest.fixture
def kube(server: FakeApiServer) -> Kube:
    return client_of(server)


def sync(kube: Kube, informers: list[Informer]) -> None:
    """Wait until each cache holds exactly what a LIST of the same query returns now."""

    def versions(objects: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
        return {
            (
                o["metadata"].get("namespace", ""),
                o["metadata"]["name"],
                o["metadata"]["resourceVersion"],
            )
            for o in objects
        }

    for informer in informers:
        items, _ = kube.list(
            informer.resource, informer.namespace, informer.label_selector, informer.field_selector
        )
        want = versions(items)
        wait_for(lambda i=informer, w=want: versions(i.items()) == w)


class Switch:
    """Leadership a test hands over: a standby (term None) until `lead()`, each time a new term."""

    def __init__(self, leading: bool = True) -> None:
        self._term: int | None = 1 if leading else None
        self._terms = self._term or 0

    def term(self) -> int | None:
        return self._term

    def holds(self, term: int) -> bool:
        return self._term == term

    def lead(self) -> None:
        self._terms += 1
        self._term = self._terms

    def lose(self) -> None:
        self._term = None


class Harness:
    """A schedule loop whose watches run for real and whose ticks the test calls."""

    def __init__(
        self,
        server: FakeApiServer,
        clock: ManualClock,
        dry_run: bool,
        zone: str,
        claimed: frozenset[str] = frozenset(),
        leadership: Switch | None = None,
    ) -> None:
        self.server = server
        self.clock = clock
        self.kube = client_of(server)
        self.events = EventRecorder(None if dry_run else self.kube, clock)
        self.leadership = leadership or Switch()
        self.loop = ScheduleLoop(
            self.kube, clock, self.events, ZoneInfo(zone), dry_run=dry_run, claimed=claimed,
            leadership=self.leadership,
        )  # fmt: skip
        self.stop = threading.Event()
        self.loop.watches.start(self.stop)
        wait_for(self.loop.watches.synced)

    def sync(self) -> None:
        """Wait until the loop's caches hold every HPA and Deployment as the server has it."""
        sync(self.kube, self.loop.watches.informers)

    def tick(self, at: datetime | None = None) -> list[Any]:
        if at is not None:
            self.clock.set(at)
        self.sync()
        outcomes = self.loop.tick(self.clock.now())
        self.events.flush()
        return outcomes

    def close(self) -> None:
        self.stop.set()
        self.loop.watches.stop()


@pytest.fixture
def harness(server: FakeApiServer, clock: ManualClock) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(
        dry_run: bool = False,
        zone: str = "UTC",
        claimed: frozenset[str] = frozenset(),
        leadership: Switch | None = None,
    ) -> Harness:
        made.append(Harness(server, clock, dry_run, zone, claimed, leadership))
        return made[-1]

    yield make
    for h in made:
        h.close()


def hpa(
    name: str,
    actions: str | None,
    min_replicas: int = 2,
    max_replicas: int = 20,
    namespace: str = "shop",
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    notes = dict(annotations or {})
    if actions is not None:
        notes["zalando.org/schedule-actions"] = actions
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "annotations": notes,
            "labels": {"app": name},
        },
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
        },
    }
