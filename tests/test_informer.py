"""The watch cache under a dropped connection and an expired resourceVersion: nothing is lost."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from scalers.fakeapi import FakeApiServer
from scalers.kube import informer as informer_module
from scalers.kube.client import PAGE, Kube
from scalers.kube.informer import Informer, Object, Watches
from scalers.resources import DEPLOYMENT, HPA
from tests.builders import hpa
from tests.support import wait_for


class Seen:
    def __init__(self) -> None:
        self.changes: list[tuple[str, str | None]] = []

    def __call__(self, key: str, old: Object | None, new: Object | None) -> None:
        self.changes.append((key, None if new is None else new["spec"]["minReplicas"]))


@contextlib.contextmanager
def running(informer: Informer) -> Iterator[Informer]:
    stop = threading.Event()
    thread = informer.start(stop)
    wait_for(informer.synced.is_set)
    yield informer
    stop.set()
    informer.stop()
    thread.join(timeout=5)


@pytest.fixture
def watched(kube: Kube) -> Iterator[tuple[Informer, Seen]]:
    seen = Seen()
    with running(Informer(kube, HPA, seen)) as informer:
        yield informer, seen


def names(informer: Informer) -> dict[str, int]:
    return {o["metadata"]["name"]: o["spec"]["minReplicas"] for o in informer.items()}


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {"kind": "HorizontalPodAutoscaler", **labels}) or 0.0


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
    relists = metric("scalers_watch_relists_total", reason="expired")

    server.drop_watches()
    server.delete("autoscaling/v2", "HorizontalPodAutoscaler", "shop", "gone")
    server.create(hpa("new", None, 5))
    server.compact()  # the informer's resourceVersion is now too old: 410 Gone

    wait_for(lambda: names(informer) == {"kept": 2, "new": 5})
    assert informer.lists == 2
    assert ("shop/gone", None) in seen.changes  # the deletion is reported, not just dropped
    assert metric("scalers_watch_relists_total", reason="expired") == relists + 1


def test_a_list_is_read_in_pages_and_reduced(server: FakeApiServer, kube: Kube):

    for i in range(PAGE + 7):
        server.create(hpa(f"web-{i:04d}", None, 2))
    server.reset_requests()

    items, version = kube.list(HPA, transform=lambda o: {"metadata": o["metadata"]})

    assert len(items) == PAGE + 7 and all(set(o) == {"metadata"} for o in items)
    assert [r.query.get("limit") for r in server.requests] == [str(PAGE), str(PAGE)]
    assert version == str(server.current_resource_version())


# -- the server's history gone: an etcd restore ----------------------------------------------


def test_after_an_etcd_restore_a_silent_watch_relists_and_reports_the_restored_state(
    server: FakeApiServer, kube: Kube
):
    server.bookmark_interval = 0.02  # a healthy watch is never silent for long
    server.create(hpa("coredns", None, 1, namespace="kube-system"))
    backup = server.snapshot()
    seen = Seen()
    with running(Informer(kube, HPA, seen, silence_seconds=0.5)) as informer:
        server.patch("autoscaling/v2", "HorizontalPodAutoscaler", "kube-system", "coredns",
                     {"spec": {"minReplicas": 5}}, "scalers")  # fmt: skip
        server.create(hpa("later", None, 3))
        wait_for(lambda: names(informer) == {"coredns": 5, "later": 3})
        silent = metric("scalers_watch_relists_total", reason="silent")

        # The server comes back with the backup's state and a lower resourceVersion: a watch
        # from the informer's version is silent, bookmarks included.
        server.restore(backup)

        wait_for(lambda: names(informer) == {"coredns": 1})
        assert seen.changes[-2:] in (
            [("kube-system/coredns", 1), ("shop/later", None)],
            [("shop/later", None), ("kube-system/coredns", 1)],
        )
        assert informer.lists == 2
        assert metric("scalers_watch_relists_total", reason="silent") == silent + 1
        server.patch("autoscaling/v2", "HorizontalPodAutoscaler", "kube-system", "coredns",
                     {"spec": {"minReplicas": 5}}, "scalers")  # fmt: skip
        wait_for(lambda: names(informer) == {"coredns": 5})  # and it watches on from there


def test_too_large_a_resource_version_relists(server: FakeApiServer, kube: Kube):
    server.create(hpa("web", None, 1))
    backup = server.snapshot()
    seen = Seen()
    with running(Informer(kube, HPA, seen)) as informer:  # silence would take 3 minutes
        server.patch("autoscaling/v2", "HorizontalPodAutoscaler", "shop", "web",
                     {"spec": {"minReplicas": 4}}, "scalers")  # fmt: skip
        wait_for(lambda: names(informer) == {"web": 4})
        too_large = metric("scalers_watch_relists_total", reason="too_large")
        cause = {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
        server.faults.inject(504, 1, "GET", "horizontalpodautoscalers", retry_after=1,
                             message="Timeout: Too large resource version: 9, current: 1",
                             details={"causes": [cause]})  # fmt: skip

        server.restore(backup)  # the re-watch is answered with the 504

        wait_for(lambda: names(informer) == {"web": 1})
        assert seen.changes[-1] == ("shop/web", 1)
        assert metric("scalers_watch_relists_total", reason="too_large") == too_large + 1


def test_repeated_relists_back_off(server: FakeApiServer, kube: Kube, monkeypatch):
    server.bookmark_interval = 3600.0  # no bookmark tells the informer the server is well
    waits: list[int] = []
    monkeypatch.setattr(informer_module, "_backoff", lambda n: waits.append(n) or 0.0)

    def opened() -> int:
        return sum(r.watch and r.status == 200 for r in server.requests)

    with running(Informer(kube, HPA, Seen())) as informer:
        wait_for(opened)
        for _ in range(3):  # the server keeps losing the history the informer lists from
            streams = opened()
            server.faults.inject(410, 1, "GET", "horizontalpodautoscalers")
            server.end_watches()  # the re-watch gets the 410
            wait_for(lambda streams=streams: opened() > streams)
        assert informer.lists == 4
        assert waits == [1, 2]  # the first re-list at once, the next ones later and later

        server.create(hpa("web", None, 2))  # a watch that brings something: the server is well
        wait_for(lambda: "web" in names(informer))
        server.faults.inject(410, 1, "GET", "horizontalpodautoscalers")
        server.end_watches()
        wait_for(lambda: informer.lists == 5)
    assert waits == [1, 2]  # at once again


def test_a_relist_compares_whole_objects(server: FakeApiServer, kube: Kube):
    server.create(hpa("web", None, 1))
    before = server.snapshot()
    server.patch("autoscaling/v2", "HorizontalPodAutoscaler", "shop", "web",
                 {"spec": {"minReplicas": 7}}, "scalers")  # fmt: skip
    other_timeline = server.snapshot()
    server.restore(before)
    seen = Seen()
    with running(Informer(kube, HPA, seen)) as informer:
        server.patch("autoscaling/v2", "HorizontalPodAutoscaler", "shop", "web",
                     {"spec": {"minReplicas": 4}}, "scalers")  # fmt: skip
        wait_for(lambda: names(informer) == {"web": 4})
        cause = {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
        server.faults.inject(504, 1, "GET", "horizontalpodautoscalers", details={"causes": [cause]})

        server.restore(other_timeline)  # the same resourceVersion on another state

        wait_for(lambda: informer.lists == 2)
        assert seen.changes[-1] == ("shop/web", 7)


# -- a handler that raises ------------------------------------------------------------------


class Broken(Seen):
    def __init__(self) -> None:
        super().__init__()
        self.broken = True
        self.taken: list[tuple[str, int | None, int | None]] = []

    def __call__(self, key: str, old: Object | None, new: Object | None) -> None:
        if self.broken and key == "shop/fragile":
            raise KeyError("a bug in the handler")
        self.taken.append(
            (key, *(None if o is None else o["spec"]["minReplicas"] for o in (old, new)))
        )


def test_a_change_the_handler_raised_on_is_handed_again(
    server: FakeApiServer, kube: Kube, caplog: pytest.LogCaptureFixture
):
    handler = Broken()
    errors = metric("scalers_informer_handler_errors_total")
    with running(Informer(kube, HPA, handler, retry_seconds=0)) as informer:
        server.create(hpa("fragile", None, 3))
        wait_for(lambda: "fragile" in names(informer))  # the cache moved on all the same
        server.patch("autoscaling/v2", "HorizontalPodAutoscaler", "shop", "fragile",
                     {"spec": {"minReplicas": 4}}, "kubectl")  # fmt: skip
        wait_for(lambda: names(informer).get("fragile") == 4)
        assert handler.taken == []
        failed = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert failed and failed[0].exc_info is not None  # with its traceback
        assert metric("scalers_informer_handler_errors_total") >= errors + 2

        handler.broken = False
        server.create(hpa("other", None, 2))  # the next event hands it again

        wait_for(lambda: len(handler.taken) == 2)
    # Superseded by the later change, and from what the handler last saw: nothing.
    assert handler.taken == [("shop/fragile", None, 4), ("shop/other", None, 2)]


def test_a_change_raised_on_in_a_list_is_handed_again(server: FakeApiServer, kube: Kube):
    server.create(hpa("fragile", None, 3))
    handler = Broken()
    with running(Informer(kube, HPA, handler, retry_seconds=0)):
        handler.broken = False
        server.create(hpa("other", None, 2))
        wait_for(lambda: len(handler.taken) == 2)
    assert handler.taken == [("shop/fragile", None, 3), ("shop/other", None, 2)]


# -- an informer runs once; a loop's watches leave no thread behind ---------------------------


def test_an_informer_stopped_is_never_started_again(server: FakeApiServer, kube: Kube):
    with running(Informer(kube, HPA, Seen())) as used:
        pass
    with pytest.raises(RuntimeError, match="never started again"):
        used.run(threading.Event())
    with pytest.raises(RuntimeError, match="never started again"):
        Watches([used]).start(threading.Event())
    stopped = Informer(kube, HPA, Seen())
    stopped.stop()
    with pytest.raises(RuntimeError, match="never started again"):
        stopped.run(threading.Event())


def test_watches_leave_no_thread_behind(server: FakeApiServer, kube: Kube):
    def cycle() -> None:
        watches = Watches([Informer(kube, HPA, Seen()), Informer(kube, DEPLOYMENT, Seen())])
        with watches.running(threading.Event(), threading.Event()):
            pass  # a loop body that ends (or crashes) at once; the loop's stop never comes

    cycle()  # the client's connection pool fills once
    before = len(threading.enumerate())
    for _ in range(10):
        cycle()
    wait_for(lambda: len(threading.enumerate()) <= before)


def test_a_change_raised_on_then_undone_is_not_handed(server: FakeApiServer, kube: Kube):
    handler = Broken()
    with running(Informer(kube, HPA, handler, retry_seconds=0)) as informer:
        server.create(hpa("fragile", None, 3))
        server.delete("autoscaling/v2", "HorizontalPodAutoscaler", "shop", "fragile")
        server.create(hpa("other", None, 2))
        wait_for(lambda: set(names(informer)) == {"other"})
        handler.broken = False
        server.create(hpa("last", None, 2))
        wait_for(lambda: ("shop/last", None, 2) in handler.taken)
    assert all(key != "shop/fragile" for key, *_ in handler.taken)  # it never saw it exist


def test_a_handler_that_keeps_raising_is_retried_later_not_at_every_event(
    server: FakeApiServer, kube: Kube
):
    handler = Broken()
    with running(Informer(kube, HPA, handler, retry_seconds=3600)) as informer:
        server.create(hpa("fragile", None, 3))
        wait_for(lambda: "fragile" in names(informer))
        handler.broken = False
        server.create(hpa("other", None, 2))
        wait_for(lambda: handler.taken)
    assert handler.taken == [("shop/other", None, 2)]
