"""What a pass says waits for its writes (issue 13): the log lines and Events of a pass's
decisions are said once its last write is done, every one of them, in the order they were
decided, with the same content; a failed write is still said; and a write held too long does
not hold them past the Reporter's bound. The Reporter alone first, then the schedule loop
through the real client against the fake API server, which holds one HPA's PATCH."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from scalers.fakeapi import FakeApiServer
from scalers.outcome import Change, Outcome
from scalers.report import Reporter
from tests.builders import hpa
from tests.support import BUSINESS_HOURS, Harness, at, wait_for

NAMES = [f"web-{i}" for i in range(6)]
SLOW = "web-3"  # its PATCH is held by the server: the pass's last write to end


class Said(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Events:
    """An EventRecorder's surface, remembering what was emitted and how it was held."""

    def __init__(self) -> None:
        self.emitted: list[tuple[str, str, str, str]] = []
        self.holds = 0

    def emit(self, obj: dict[str, Any], kind: str, event_type: str, reason: str, text: str) -> None:
        self.emitted.append((obj["metadata"]["name"], event_type, reason, text))

    def hold(self) -> None:
        self.holds += 1

    def release(self) -> None:
        self.holds -= 1

    def forget(self, uid: str) -> None:
        pass


@pytest.fixture
def said() -> Iterator[tuple[logging.Logger, Said]]:
    logger = logging.getLogger("tests.report-deferred")
    handler = Said()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield logger, handler
    logger.removeHandler(handler)


def obj(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "shop", "uid": f"uid-{name}"}}


def outcome(name: str, action: str = "write") -> Outcome:
    changes = (Change("minReplicas", 2, 10), Change("maxReplicas", 20, 40))
    return Outcome("HorizontalPodAutoscaler", "shop", name, "fire", action, changes)


def lines(handler: Said) -> list[tuple[str, str, str]]:
    return [(r.object_name, r.field, r.getMessage()) for r in handler.records]  # type: ignore[attr-defined]


def test_what_is_said_while_writes_are_held_follows_the_last_in_order(said):
    logger, handler = said
    events = Events()
    report = Reporter("schedule", logger, events)  # type: ignore[arg-type]
    report.hold()
    report.hold()
    made: list[str] = []

    def event(name: str) -> Callable[[], tuple[str, str, str]]:
        def make() -> tuple[str, str, str]:
            made.append(name)  # the Event's text is made when it is said, not before
            return ("Normal", "ScheduledScale", f"{name} scaled")

        return make

    first = report.decided(obj("a"), outcome("a"), lambda c: f"write {c}", event("a"))
    report.decided(obj("b"), outcome("b", "failed"), lambda c: f"failed {c}", None, "ERROR")
    report.note("HorizontalPodAutoscaler", obj("a"), "a notice", ("Warning", "Kept"),
                reason="fire", action="kept")  # fmt: skip
    assert first == outcome("a")  # the outcome is the caller's at once
    assert handler.records == [] and events.emitted == [] and made == []

    report.release()  # one write still held: nothing yet
    assert handler.records == [] and events.emitted == []
    report.release()

    assert lines(handler) == [
        ("a", "minReplicas", "write minReplicas 2 -> 10"),
        ("a", "maxReplicas", "write maxReplicas 20 -> 40"),
        ("b", "minReplicas", "failed minReplicas 2 -> 10"),
        ("b", "maxReplicas", "failed maxReplicas 20 -> 40"),
        ("a", None, "a notice"),
    ]
    assert [r.levelname for r in handler.records] == ["INFO", "INFO", "ERROR", "ERROR", "INFO"]
    assert [getattr(r, "action", None) for r in handler.records] == [
        "write", "write", "failed", "failed", "kept",
    ]  # fmt: skip
    assert events.emitted == [
        ("a", "Normal", "ScheduledScale", "a scaled"),
        ("a", "Warning", "Kept", "a notice"),
    ]
    assert events.holds == 0
    # Nothing held: said at once.
    report.note("HorizontalPodAutoscaler", obj("c"), "now", None, reason="fire", action="x")
    assert lines(handler)[-1] == ("c", None, "now")


def test_a_write_held_too_long_does_not_hold_what_is_said_past_the_bound(said):
    logger, handler = said
    report = Reporter("schedule", logger, Events(), defer_at_most=0.05)  # type: ignore[arg-type]
    report.hold()  # and never released while the test waits
    report.decided(obj("a"), outcome("a"), lambda c: f"write {c}")
    assert handler.records == []
    wait_for(lambda: len(handler.records) == 2, 2.0)
    report.decided(obj("b"), outcome("b"), lambda c: f"write {c}")  # still held: waits again
    assert len(handler.records) == 2
    wait_for(lambda: len(handler.records) == 4, 2.0)
    report.release()
    assert [name for name, _, _ in lines(handler)] == ["a", "a", "b", "b"]


def test_a_bug_in_one_line_does_not_lose_the_others(said, caplog):
    logger, handler = said
    report = Reporter("schedule", logger, Events())  # type: ignore[arg-type]
    report.hold()

    def broken(change: Change) -> str:
        raise RuntimeError("bug")

    report.decided(obj("a"), outcome("a"), broken)
    report.decided(obj("b"), outcome("b"), lambda c: f"write {c}")
    report.release()
    assert [name for name, _, _ in lines(handler)] == ["b", "b"]
    assert any(r.getMessage() == "a decision could not be said" for r in caplog.records)


@pytest.fixture
def loop(server: FakeApiServer, harness: Callable[..., Harness]) -> Iterator[Harness]:
    for name in NAMES:
        server.create(hpa(name, BUSINESS_HOURS, 2, 20), manager="argocd-controller")
    h = harness()
    assert h.tick(at(8, 59)) == []
    h.sync()
    yield h
    server.faults.clear()


def decisions(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str, str]]:
    return [
        (r.object_name, r.field, r.action)  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == "scalers.schedule.loop" and getattr(r, "reason", None) == "fire"
    ]


def test_a_pass_says_its_decisions_once_its_last_write_is_done(server, loop, caplog):
    caplog.set_level(logging.INFO)
    server.faults.inject(403, count=1, path_contains=f"/horizontalpodautoscalers/{NAMES[0]}")
    slow = server.faults.stall("PATCH", f"/horizontalpodautoscalers/{SLOW}")
    loop.clock.set(at(9, 0))

    writes = loop.loop.evaluate(at(9, 0), term=1)

    wait_for(lambda: sum(w.done() for w in writes) == len(NAMES) - 1)
    time.sleep(0.05)
    assert decisions(caplog) == [], "a decision was said before the pass's last write"
    slow.set()
    outcomes = {o.name: o.action for o in (w.result(timeout=5) for w in writes)}

    # Said by the time the last write's future is done: every field of every object, an
    # object's two lines together and in the order of its changes, the failed one too.
    said = decisions(caplog)
    assert sorted(said) == sorted(
        (name, field, outcomes[name]) for name in NAMES for field in ("minReplicas", "maxReplicas")
    )
    assert outcomes[NAMES[0]] == "failed"
    for name in NAMES:
        mine = [(field, action) for who, field, action in said if who == name]
        assert [field for field, _ in mine] == ["minReplicas", "maxReplicas"]
    failed = [r for r in caplog.records if getattr(r, "object_name", None) == NAMES[0]]
    assert {r.levelname for r in failed if getattr(r, "reason", None) == "fire"} == {"ERROR"}
    fires = [r for r in caplog.records if getattr(r, "reason", None) == "fire"]
    assert all(getattr(r, "fired_at", None) and getattr(r, "schedule_action", None) for r in fires)
