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


@pytest.fixture
def kube(server: FakeApiServer) -> Kube:
    return Kube(server.api_client())


class Harness:
    """A schedule loop whose watches run for real and whose ticks the test calls."""

    def __init__(self, server: FakeApiServer, clock: ManualClock, dry_run: bool, zone: str) -> None:
        self.server = server
        self.clock = clock
        self.kube = Kube(server.api_client())
        self.events = EventRecorder(None if dry_run else self.kube, clock)
        self.loop = ScheduleLoop(self.kube, clock, self.events, ZoneInfo(zone), dry_run=dry_run)
        self.stop = threading.Event()
        self.loop.watches.start(self.stop)
        wait_for(self.loop.watches.synced)

    def sync(self) -> None:
        """Wait until the loop's caches hold every HPA and Deployment as the server has it."""
        for informer in self.loop.watches.informers:
            items, _ = self.kube.list(informer.resource)
            want = {
                (
                    o["metadata"]["namespace"],
                    o["metadata"]["name"],
                    o["metadata"]["resourceVersion"],
                )
                for o in items
            }
            wait_for(
                lambda i=informer, w=want: (
                    {
                        (
                            o["metadata"]["namespace"],
                            o["metadata"]["name"],
                            o["metadata"]["resourceVersion"],
                        )
                        for o in i.items()
                    }
                    == w
                )
            )

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

    def make(dry_run: bool = False, zone: str = "UTC") -> Harness:
        made.append(Harness(server, clock, dry_run, zone))
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
