"""The Events of a pass's fires wait for the pass's last write, then follow at once (issue 13):
a burst of fires is not slowed by the Events that describe it, and those Events wait for
neither the recorder's safety timeout nor the next pass. The schedule loop through the real
client against the fake API server, its EventRecorder posting in a thread of its own as the
controller runs it; the server holds one HPA's PATCH for as long as the test wants."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from scalers.fakeapi import FakeApiServer
from tests.builders import hpa
from tests.support import BUSINESS_HOURS, Harness, at, reasons, wait_for

NAMES = [f"web-{i}" for i in range(6)]
SLOW = "web-3"  # its PATCH is held by the server: the pass's last write to end


def event_posts(server: FakeApiServer) -> list[Any]:
    return [r for r in server.requests if r.method in ("POST", "PATCH") and "/events" in r.path]


def hpa_patches(server: FakeApiServer) -> list[Any]:
    return [
        r for r in server.requests if r.method == "PATCH" and "horizontalpodautoscalers" in r.path
    ]


def stays_false(check: Callable[[], object], seconds: float) -> bool:
    """Whether `check()` stays false for `seconds` of real time. The recorder's thread runs on
    no test clock, so proving that it posts nothing takes letting it run a while; it posts
    within milliseconds when nothing holds it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return False
        time.sleep(0.005)
    return True


@pytest.fixture
def loop(server: FakeApiServer, harness: Callable[..., Harness]) -> Iterator[Harness]:
    """Six HPAs of business hours holding Friday evening's 2/20, the loop caught up at 08:59
    (nothing to write), then its Events posted by a thread of their own."""
    for name in NAMES:
        server.create(hpa(name, BUSINESS_HOURS, 2, 20), manager="argocd-controller")
    h = harness()
    assert h.tick(at(8, 59)) == []  # flushes the recorder itself: before `run` starts
    h.sync()
    server.reset_requests()
    stop = threading.Event()
    posting = threading.Thread(target=h.events.run, args=(stop,), name="events", daemon=True)
    posting.start()
    yield h
    server.faults.clear()
    stop.set()
    posting.join(timeout=10)


def test_the_events_of_a_pass_wait_for_its_last_write_then_follow_at_once(server, loop):
    slow = server.faults.stall("PATCH", f"/horizontalpodautoscalers/{SLOW}")
    loop.clock.set(at(9, 0))

    writes = loop.loop.evaluate(at(9, 0), term=1)

    assert len(writes) == len(NAMES)
    # Every write but the held one is done, and each has queued its Event...
    wait_for(lambda: sum(w.done() for w in writes) == len(NAMES) - 1)
    assert len(hpa_patches(server)) == len(NAMES) - 1
    # ...which waits while a write of the pass is under way.
    assert stays_false(lambda: event_posts(server), 0.3), "an Event went before the last write"

    slow.set()
    outcomes = [w.result(timeout=5) for w in writes]

    assert sorted((o.name, o.action) for o in outcomes) == [(n, "write") for n in NAMES]
    # All six follow at once: well inside the recorder's 5 s safety timeout.
    posts = wait_for(lambda: len(event_posts(server)) == len(NAMES) and event_posts(server), 2.0)
    last_write = max(r.at for r in hpa_patches(server))
    assert hpa_patches(server)[-1].path.endswith(f"/{SLOW}")  # the held one answered last
    assert all(r.at >= last_write and r.status == 201 for r in posts)
    assert max(r.at for r in posts) - last_write < 1.0
    for name in NAMES:
        assert reasons(server, name) == ["ScheduledScale"]
