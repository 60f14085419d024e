"""The fake API server after an etcd restore, as a real 1.32 one: a resourceVersion it has not
issued is a 504 "Too large resource version" for a LIST or a streaming watch, and a plain
watch from one is silent, bookmarks included, until the server's version passes it."""

from __future__ import annotations

import contextlib
import json
import threading
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client import ApiException
from urllib3.exceptions import ProtocolError

from scalers.fakeapi import FakeApiServer
from scalers.kube.client import Kube, Stopper
from scalers.resources import HPA
from tests.builders import hpa
from tests.support import wait_for

V2 = "autoscaling/v2"
KIND = "HorizontalPodAutoscaler"


@pytest.fixture
def api(server: FakeApiServer) -> client.AutoscalingV2Api:
    server.too_large_delay = 0.0
    return client.AutoscalingV2Api(server.api_client())


def restored(server: FakeApiServer) -> int:
    """Writes after a snapshot, then the restore: returns the version clients last saw."""
    server.create(hpa("kept", None, 1))
    snapshot = server.snapshot()
    server.patch(V2, KIND, "shop", "kept", {"spec": {"minReplicas": 5}})
    server.create(hpa("later", None, 2))
    seen = int(server.current_resource_version())
    server.restore(snapshot)
    return seen


def too_large(error: ApiException) -> dict[str, Any]:
    assert error.status == 504
    body: dict[str, Any] = json.loads(error.body)
    assert body["reason"] == "Timeout"
    assert body["details"]["causes"] == [
        {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
    ]
    assert error.headers["Retry-After"] == "1"
    return body


def test_a_restore_brings_back_the_objects_and_the_version_counter(server: FakeApiServer, api):
    seen = restored(server)

    listed = api.list_namespaced_horizontal_pod_autoscaler("shop")
    assert [(h.metadata.name, h.spec.min_replicas) for h in listed.items] == [("kept", 1)]
    assert int(listed.metadata.resource_version) < seen
    server.create(hpa("after", None, 3))  # the counter goes on from the snapshot's
    assert int(server.current_resource_version()) < seen


def test_a_list_from_a_version_never_issued_is_too_large(server: FakeApiServer, api):
    seen = restored(server)

    for match in (None, "NotOlderThan"):
        with pytest.raises(ApiException) as caught:
            api.list_namespaced_horizontal_pod_autoscaler(
                "shop", resource_version=str(seen), resource_version_match=match
            )
        body = too_large(caught.value)
        assert f"Too large resource version: {seen}" in body["message"]
    # A version it has reached is served; a LIST without one reads the current state.
    now = server.current_resource_version()
    assert api.list_namespaced_horizontal_pod_autoscaler("shop", resource_version=now).items
    assert api.list_namespaced_horizontal_pod_autoscaler("shop", resource_version="0").items


def test_a_streaming_watch_from_a_version_never_issued_is_too_large(server: FakeApiServer, api):
    seen = restored(server)

    with pytest.raises(ApiException) as caught:
        api.list_namespaced_horizontal_pod_autoscaler(
            "shop",
            watch=True,
            send_initial_events=True,
            resource_version_match="NotOlderThan",
            allow_watch_bookmarks=True,
            resource_version=str(seen),
            _preload_content=False,
        )
    too_large(caught.value)


def test_a_plain_watch_from_a_version_never_issued_is_silent_until_the_server_passes_it(
    server: FakeApiServer, kube: Kube
):
    server.bookmark_interval = 0.02
    seen = restored(server)
    got: list[tuple[str, str]] = []
    silent = Stopper()

    def read() -> None:
        with contextlib.suppress(ProtocolError):  # the stop at the end cuts the connection
            for kind, obj in kube.watch(HPA, str(seen), silent, "shop"):
                got.append((kind, obj["metadata"]["resourceVersion"]))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    wait_for(lambda: any(r.watch and r.query.get("resourceVersion") == str(seen)
                         for r in server.requests))  # fmt: skip
    # Writes that bring the server up to just below the version asked for are not sent...
    while int(server.current_resource_version()) < seen - 1:
        server.create(hpa(f"catching-up-{server.current_resource_version()}", None, 2))
    # ...nor bookmarks: a healthy watch meanwhile gets several.
    healthy = Stopper()
    bookmarks = 0
    for kind, _ in kube.watch(HPA, server.current_resource_version(), healthy, "shop"):
        bookmarks += kind == "BOOKMARK"
        if bookmarks == 5:
            break
    healthy.stop()
    assert got == []

    server.create(hpa("reaching", None, 2))  # at the version asked for: the client has it
    passed = server.create(hpa("passed", None, 2))  # past it: events flow
    wait_for(lambda: any(kind == "ADDED" for kind, _ in got))
    assert [e for e in got if e[0] != "BOOKMARK"] == [
        ("ADDED", passed["metadata"]["resourceVersion"])
    ]
    assert all(int(version) >= seen for _, version in got)
    silent.stop()
    reader.join(timeout=5)


def test_a_restore_ends_open_watches(server: FakeApiServer, kube: Kube):
    snapshot = server.snapshot()
    server.create(hpa("web", None, 2))
    events = kube.watch(HPA, server.current_resource_version(), Stopper(), "shop")
    ended: list[Exception] = []

    def read() -> None:
        try:
            list(events)
        except ProtocolError as error:
            ended.append(error)

    opened = threading.Thread(target=read, daemon=True)
    opened.start()
    wait_for(lambda: any(r.watch for r in server.requests))
    server.restore(snapshot)  # the API server restarts after an etcd restore
    wait_for(lambda: ended)  # the connection was cut, not ended cleanly
