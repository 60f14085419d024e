"""Shared fixtures: the in-process API server on a manual clock, spoken to by the real client,
and the loops and elections run against it. Helpers are in support.py, objects in builders.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client

from scalers.clock import ManualClock
from scalers.fakeapi import FakeApiServer
from scalers.kube.client import Kube
from scalers.proportional.loop import Config
from tests.support import START, Election, Harness, Proportional, Switch, client_of


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def server(clock: ManualClock) -> Iterator[FakeApiServer]:
    with FakeApiServer(clock=clock.now) as srv:
        yield srv


@pytest.fixture
def kube(server: FakeApiServer) -> Kube:
    return client_of(server)


@pytest.fixture
def api_client(server: FakeApiServer) -> Iterator[client.ApiClient]:
    """The generated client itself, for what the adapter does not say."""
    with server.api_client() as made:
        yield made


@pytest.fixture
def hpas(api_client: client.ApiClient) -> client.AutoscalingV2Api:
    return client.AutoscalingV2Api(api_client)


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


@pytest.fixture
def proportional(
    server: FakeApiServer, clock: ManualClock
) -> Iterator[Callable[..., Proportional]]:
    made: list[Proportional] = []

    def make(
        dry_run: bool = False, leadership: Switch | None = None, **config: Any
    ) -> Proportional:
        made.append(Proportional(server, clock, Config(**config), dry_run, leadership))
        return made[-1]

    yield make
    for p in made:
        p.close()


@pytest.fixture
def election(server: FakeApiServer, clock: ManualClock) -> Iterator[Election]:
    made = Election(server, clock)
    yield made
    made.close()
