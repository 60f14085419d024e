"""SIGTERM ends the controller within its deadline whatever the API server does."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from kubernetes import client

from scalers.clock import SystemClock
from scalers.controller import Controller, Election, Settings
from scalers.fakeapi import FakeApiServer
from scalers.proportional.loop import Config
from tests.builders import hpa
from tests.support import wait_for


@pytest.fixture
def silent() -> Iterator[str]:
    """An API server that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@pytest.mark.parametrize("server_does", ["retry-after", "unreachable", "hangs"])
def test_stop_ends_the_controller_whatever_the_server_does(silent: str, server_does: str):
    with FakeApiServer() as server:
        server.create(hpa("web", '[{"schedule": "* * * * *", "minReplicas": 3}]'))
        api = server.api_client()
        if server_does == "hangs":
            api = client.ApiClient(client.Configuration(host=silent))
        settings = Settings(ZoneInfo("UTC"), proportional=Config(), election=Election("a"))
        controller = Controller(api, SystemClock(), settings)
        stop = threading.Event()
        thread = threading.Thread(target=controller.run, args=(stop,), daemon=True)
        thread.start()
        if server_does != "hangs":
            wait_for(lambda: controller.elector and controller.elector.is_leader(), timeout=10)
        if server_does == "retry-after":  # every request, Events and the Lease included
            server.faults.inject(503, count=10**6, method=None, path_contains=None,
                                 retry_after=120)  # fmt: skip
            server.drop_watches()  # the informers re-list, and wait
            wait_for(lambda: any(r.method == "GET" and r.status == 503 for r in server.requests))
        if server_does == "unreachable":
            server.stop()
        stop.set()
        thread.join(timeout=15)  # a liveness bound, not a measurement: the deadline is 8 s
        assert not thread.is_alive()
