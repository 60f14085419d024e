"""The Event recorder, through the real client against the in-process API server: repeats
aggregated on the existing Event, sent only once sent, bounded messages, memory and shutdown."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client import REGISTRY

from scalers.fakeapi import FakeApiServer
from scalers.kube.client import Kube
from scalers.kube.events import MESSAGE_BYTES, EventRecorder, truncate
from scalers.resources import EVENT
from tests.builders import hpa


def events(kube: Kube) -> list[dict[str, Any]]:
    items, _ = kube.list(EVENT, "shop")
    return items


def outcomes(outcome: str) -> float:
    return REGISTRY.get_sample_value("scalers_events_total", {"outcome": outcome}) or 0.0


@pytest.fixture
def web(server: FakeApiServer) -> dict[str, Any]:
    return server.create(hpa("web", None))


@pytest.fixture
def record(kube: Kube, web: dict[str, Any]) -> Callable[..., None]:
    """Emit on the HPA shop/web and post at once."""

    def emit(recorder: EventRecorder, message: str, obj: dict[str, Any] = web) -> None:
        recorder.emit(obj, "HorizontalPodAutoscaler", "Warning", "ScheduleRefused", message)
        recorder.flush()

    return emit


def test_a_repeat_is_counted_on_the_existing_event(kube, clock, record):
    recorder = EventRecorder(kube, clock)
    record(recorder, "bad cron")
    clock.advance(86_400)  # the next day: the same problem shows again
    record(recorder, "bad cron")

    [event] = events(kube)
    assert event["count"] == 2
    assert event["lastTimestamp"] == "2026-11-03T08:00:00Z"
    assert event["message"] == "bad cron" and event["type"] == "Warning"


def test_a_new_message_is_a_new_event(kube, clock, record):
    recorder = EventRecorder(kube, clock)
    record(recorder, "bad cron")
    record(recorder, "bad zone")
    record(recorder, "bad cron")

    counts = sorted((e["message"], e["count"]) for e in events(kube))
    assert counts == [("bad cron", 2), ("bad zone", 1)]


def test_a_failed_post_is_not_remembered_and_the_next_emit_creates_it(
    kube, clock, server, record, caplog
):
    recorder = EventRecorder(kube, clock)
    server.faults.inject(403, count=1, method="POST", path_contains="events")
    failed = outcomes("failed")
    with caplog.at_level(logging.WARNING, logger="scalers.kube.events"):
        record(recorder, "bad cron")
    assert events(kube) == []
    assert outcomes("failed") == failed + 1
    assert [r.getMessage() for r in caplog.records] == ["event not recorded"]

    record(recorder, "bad cron")
    [event] = events(kube)
    assert event["count"] == 1


def test_a_failed_repeat_is_not_counted(kube, clock, server, record):
    recorder = EventRecorder(kube, clock)
    record(recorder, "bad cron")
    server.faults.inject(403, count=1, method="PATCH", path_contains="events")
    record(recorder, "bad cron")
    record(recorder, "bad cron")

    [event] = events(kube)
    assert event["count"] == 2


def test_an_expired_event_is_created_again(kube, clock, server, record):
    recorder = EventRecorder(kube, clock)
    record(recorder, "bad cron")
    [old] = events(kube)
    server.delete("v1", "Event", "shop", old["metadata"]["name"])  # a real server's 1 h TTL

    record(recorder, "bad cron")
    [new] = events(kube)
    assert new["metadata"]["name"] != old["metadata"]["name"] and new["count"] == 1


def test_a_huge_message_is_cut_to_1_kib_on_a_character_boundary(kube, clock, record):
    recorder = EventRecorder(kube, clock)
    record(recorder, "é" * 600 + "x" * 1_048_576)

    [event] = events(kube)
    data = event["message"].encode()
    assert len(data) <= MESSAGE_BYTES
    assert event["message"] == "é" * 510 + "…"  # 1021 bytes would split the 511th "é"


@pytest.mark.parametrize("lead", range(4))
def test_truncation_never_splits_a_character(lead):
    message = "a" * lead + "😀" * 1000  # 4-byte characters at every alignment of the cut
    cut = truncate(message)
    assert len(cut.encode()) <= MESSAGE_BYTES
    assert cut.endswith("…") and message.startswith(cut[:-1])
    assert len(cut.encode()) > MESSAGE_BYTES - 4 - len("…".encode())
    assert truncate("short") == "short"


def test_the_cache_of_posted_events_is_bounded_and_keeps_the_recent(kube, clock, record):
    recorder = EventRecorder(kube, clock, cache_size=2)
    for message in ("one", "two", "one", "three"):  # "one" is recent again: "two" goes
        record(recorder, message)
    record(recorder, "one")  # still remembered: counted
    record(recorder, "two")  # forgotten: a new Event

    counts = sorted((e["message"], e["count"]) for e in events(kube))
    assert counts == [("one", 3), ("three", 1), ("two", 1), ("two", 1)]


def test_a_forgotten_object_starts_afresh(kube, clock, web, record):
    recorder = EventRecorder(kube, clock)
    record(recorder, "bad cron")
    recorder.forget(web["metadata"]["uid"])
    record(recorder, "bad cron")

    assert sorted(e["count"] for e in events(kube)) == [1, 1]


def test_a_full_queue_drops_the_newest_with_one_log_line(kube, clock, web, caplog):
    recorder = EventRecorder(kube, clock, queue_size=3)
    overflow = outcomes("overflow")
    with caplog.at_level(logging.WARNING, logger="scalers.kube.events"):
        for i in range(6):
            recorder.emit(web, "HorizontalPodAutoscaler", "Normal", "ScheduleApplied", f"m{i}")
    assert outcomes("overflow") == overflow + 3
    assert len(caplog.records) == 1 and "queue full" in caplog.records[0].getMessage()

    recorder.flush()
    assert sorted(e["message"] for e in events(kube)) == ["m0", "m1", "m2"]


def test_stop_posts_what_is_queued(kube, clock, web):
    recorder = EventRecorder(kube, clock)
    for i in range(3):
        recorder.emit(web, "HorizontalPodAutoscaler", "Normal", "ScheduleApplied", f"m{i}")
    stop = threading.Event()
    stop.set()
    recorder.run(stop)

    assert sorted(e["message"] for e in events(kube)) == ["m0", "m1", "m2"]


def test_shutdown_gives_up_after_its_bound_with_one_log_line(clock, web, caplog):
    with FakeApiServer(clock=clock.now) as gone:
        unreachable = Kube(gone.api_client(), retries=0)
    seconds = iter(range(100))  # a monotonic clock that moves one second per reading
    recorder = EventRecorder(
        unreachable, clock, shutdown_seconds=3, monotonic=lambda: float(next(seconds))
    )
    for i in range(10):
        recorder.emit(web, "HorizontalPodAutoscaler", "Normal", "ScheduleApplied", f"m{i}")
    abandoned = outcomes("abandoned")
    stop = threading.Event()
    stop.set()
    with caplog.at_level(logging.WARNING, logger="scalers.kube.events"):
        recorder.run(stop)

    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("event not recorded") == 2  # seconds 1 and 2 of the 3
    assert [m for m in messages if m != "event not recorded"] == [
        "shutting down: 8 queued Events not posted"
    ]
    assert outcomes("abandoned") == abandoned + 8
    recorder.flush()  # nothing left
    assert messages == [r.getMessage() for r in caplog.records]


def test_a_dry_run_records_nothing(kube, clock, record):
    record(EventRecorder(None, clock), "bad cron")
    assert events(kube) == []
