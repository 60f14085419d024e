"""The watch cache under a dropped connection and an expired resourceVersion: nothing is lost."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from scalers.fakeapi import FakeApiServer
from scalers.kube.client import PAGE, Kube
from scalers.kube.informer import Informer, Object
from scalers.kube.resources import HPA
from tests.conftest import hpa, wait_for


class Seen:
    def __init__(self) -> None:
        self.changes: list[tuple[str, str | None]] = []

    def __call__(self, key: str, old: Object | None, new: Object | None) -> None:
        self.changes.append((key, None if new is None else new["spec"]["minReplicas"]))


@pytest.fixture
def watched(kube: Kube) -> Iterator[tuple[Informer, Seen]]:
    seen = Seen()
    informer = Informer(kube, HPA, seen)
    stop = threading.Event()
    thread = threading.Thread(target=informer.run, args=(stop,), daemon=True)
    thread.start()
    wait_for(informer.synced.is_set)
    yield informer, seen
    stop.set()
    informer.stop()
    thread.join(timeout=5)


def names(informer: Informer) -> dict[str, int]:
    return {o["metadata"]["name"]: o["spec"]["minReplicas"] for o in informer.items()}


def metric(name: str) -> float:
    return REGISTRY.get_sample_value(name, {"kind": "HorizontalPodAutoscaler"}) or 0.0


def test_a_dropped_watch_resumes_from_its_version_without_a_list(server: FakeApiServer, watched):
    informer, seen = watched
    server.create(hpa("before", None, 2))
    wait_for(lambda: "before" in names(informer))
    restarts = metric("scalers_watch_restarts_total")

    server.drop_watches()
    server.create(hpa("during", None, 3))
    server.patch("autoscaling/v2", "HorizontalPodAutoscaler", "shop", "before",
                 {"spec": {"minReplicas": 4}}, "kubectl")  # fmt: skip

    wait_for(lambda: names(informer) == {"before": 4, "during": 3})
    assert informer.lists == 1  # resumed, not re-listed
    assert ("shop/during", 3) in seen.changes and ("shop/before", 4) in seen.changes
    assert metric("scalers_watch_restarts_total") >= restarts + 1


def test_an_expired_version_relists_and_misses_nothing(server: FakeApiServer, watched):
    informer, seen = watched
    server.create(hpa("kept", None, 2))
    server.create(hpa("gone", None, 2))
    wait_for(lambda: set(names(informer)) == {"kept", "gone"})
    relists = metric("scalers_watch_relists_total")

    server.drop_watches()
    server.delete("autoscaling/v2", "HorizontalPodAutoscaler", "shop", "gone")
    server.create(hpa("new", None, 5))
    server.compact()  # the informer's resourceVersion is now too old: 410 Gone

    wait_for(lambda: names(informer) == {"kept": 2, "new": 5})
    assert informer.lists == 2
    assert ("shop/gone", None) in seen.changes  # the deletion is reported, not just dropped
    assert metric("scalers_watch_relists_total") == relists + 1


def test_a_list_is_read_in_pages_and_reduced(server: FakeApiServer, kube: Kube):

    for i in range(PAGE + 7):
        server.create(hpa(f"web-{i:04d}", None, 2))
    server.reset_requests()

    items, version = kube.list(HPA, transform=lambda o: {"metadata": o["metadata"]})

    assert len(items) == PAGE + 7 and all(set(o) == {"metadata"} for o in items)
    assert [r.query.get("limit") for r in server.requests] == [str(PAGE), str(PAGE)]
    assert version == str(server.current_resource_version())
