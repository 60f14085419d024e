"""What tests share besides fixtures (those are in conftest.py) and object builders (those are
in builders.py): constants, waiting, reading the fake API server back, and the harnesses that run
a loop's watches for real while the test calls its passes."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from scalers.clock import ManualClock
from scalers.fakeapi import FakeApiServer
from scalers.kube.client import Kube
from scalers.kube.events import EventRecorder
from scalers.kube.informer import Informer
from scalers.kube.lease import JITTER, Always, LeaderElector, Leadership
from scalers.proportional.loop import Config, ProportionalLoop
from scalers.resources import EVENT
from scalers.schedule.loop import ScheduleLoop

# Monday 2 November 2026, 08:00 UTC.
START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
SCALERS = [sys.executable, "-m", "scalers.cli"]

HPA = ("autoscaling/v2", "HorizontalPodAutoscaler")
SCHEDULE = "zalando.org/schedule-actions"
BUSINESS_HOURS = json.dumps(
    [
        {"schedule": "0 9 * * 1-5", "minReplicas": 10, "maxReplicas": 40},
        {"schedule": "0 18 * * 1-5", "minReplicas": "2", "maxReplicas": 20},
    ]
)


def at(hour: int, minute: int = 0, second: float = 0.0, day: int = 2) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) + timedelta(seconds=second)


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


def client_of(server: FakeApiServer) -> Kube:
    """The adapter as the controller builds it, with retries backing off for milliseconds."""
    return Kube(server.api_client(), backoff=0.001)


# -- reading the fake API server back ------------------------------------------------------------


def patches(server: Any) -> list[Any]:
    return [r for r in server.requests if r.method == "PATCH"]


def hpa_patches(server: Any) -> list[Any]:
    """The PATCH requests to HPAs, in order."""
    return [r for r in patches(server) if "horizontalpodautoscalers" in r.path]


def events_for(server: Any, name: str) -> list[dict[str, Any]]:
    items, _ = Kube(server.api_client()).list(EVENT, "shop")
    return [e for e in items if e["involvedObject"]["name"] == name]


def reasons(server: Any, name: str) -> list[str]:
    """The reasons of the Events about shop/<name>, oldest first."""
    return [e["reason"] for e in events_for(server, name)]


def min_max(server: Any, name: str, namespace: str = "shop") -> tuple[int, int]:
    spec = server.get(*HPA, namespace, name)["spec"]
    return spec["minReplicas"], spec["maxReplicas"]


# -- loops run for real -----------------------------------------------------------------------------


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


def run_pass(loop: Any, leadership: Leadership, now: datetime) -> list[Any]:
    """One pass as the runner makes it (the leader evaluates, a standby stands by), and the
    outcomes of its writes once they are done."""
    term = leadership.term()
    if term is None:
        loop.standby()
        return []
    done = [w.result() if isinstance(w, Future) else w for w in loop.evaluate(now, term)]
    return [outcome for outcome in done if outcome is not None]


class Watched:
    """A loop whose watches run for real and whose passes the test calls, as the runner would:
    `run_pass` with the caches synced first, and the Events of the pass posted after it."""

    def __init__(
        self,
        server: FakeApiServer,
        clock: ManualClock,
        dry_run: bool,
        leadership: Leadership,
        make: Callable[[Kube, EventRecorder], Any],
    ) -> None:
        self.server = server
        self.clock = clock
        self.kube = client_of(server)
        self.events = EventRecorder(None if dry_run else self.kube, clock)
        self.leadership = leadership
        self.loop = make(self.kube, self.events)
        self.stop = threading.Event()
        self.loop.watches.start(self.stop)
        wait_for(self.loop.watches.synced)
        self.loop.resume()  # as the runner does once the watches have listed

    def sync(self) -> None:
        """Wait until the loop's caches hold what the server has."""
        sync(self.kube, self.loop.watches.informers)

    def evaluate(self) -> list[Any]:
        self.sync()
        outcomes = run_pass(self.loop, self.leadership, self.clock.now())
        self.events.flush()
        return outcomes

    def close(self) -> None:
        self.stop.set()
        self.loop.watches.stop()


class Harness(Watched):
    """The schedule loop, its ticks at the instants the test sets."""

    loop: ScheduleLoop

    def __init__(
        self,
        server: FakeApiServer,
        clock: ManualClock,
        dry_run: bool,
        zone: str,
        claimed: frozenset[str] = frozenset(),
        leadership: Switch | None = None,
    ) -> None:
        switch = leadership or Switch()
        super().__init__(server, clock, dry_run, switch, lambda kube, events: ScheduleLoop(
            kube, clock, events, ZoneInfo(zone), dry_run=dry_run, claimed=claimed,
            leadership=switch,
        ))  # fmt: skip
        self.leadership: Switch = switch

    def tick(self, at: datetime | None = None) -> list[Any]:
        if at is not None:
            self.clock.set(at)
        return self.evaluate()


class Proportional(Watched):
    """The proportional loop."""

    loop: ProportionalLoop

    def __init__(
        self,
        server: FakeApiServer,
        clock: ManualClock,
        config: Config,
        dry_run: bool = False,
        leadership: Switch | None = None,
    ) -> None:
        chosen = leadership or Always()
        super().__init__(server, clock, dry_run, chosen, lambda kube, events: (
            ProportionalLoop(kube, clock, events, config, dry_run=dry_run, leadership=chosen)
        ))  # fmt: skip

    def hpa(self, name: str = "coredns") -> dict[str, Any]:
        obj = self.server.get(*HPA, "kube-system", name)
        assert obj is not None
        return obj

    def posted_events(self) -> list[dict[str, Any]]:
        return self.kube.list(EVENT)[0]

    def event_reasons(self) -> list[str]:
        return [e["reason"] for e in self.posted_events()]


# -- leader election: candidates as separate processes ---------------------------------------------

LEASE_DURATION, RENEW_DEADLINE, RETRY = 15.0, 10.0, 2.0
# After a step this long every candidate is due for another attempt, whatever its jitter.
NEXT_RETRY = RETRY * (1 + JITTER)
NAME, NAMESPACE = "kube-scalers", "kube-system"


class ProcessKube(Kube):
    """One process's adapter: `cut` makes it unreachable, as a crashed or partitioned pod;
    `gate` holds its first write until the other candidate's is ready too."""

    cut = False
    gate: threading.Barrier | None = None

    def get(self, *args: Any, **kwargs: Any) -> Any:
        self._check()
        return super().get(*args, **kwargs)

    def create(self, *args: Any, **kwargs: Any) -> Any:
        self._check(write=True)
        return super().create(*args, **kwargs)

    def merge_patch(self, *args: Any, **kwargs: Any) -> Any:
        self._check(write=True)
        return super().merge_patch(*args, **kwargs)

    def _check(self, write: bool = False) -> None:
        if self.cut:
            raise ConnectionRefusedError("partitioned")
        if write and self.gate is not None:
            gate, self.gate = self.gate, None
            gate.wait(timeout=5)


class ThreadClock:
    """The shared clock as one candidate sees it, counting the waits of its thread."""

    def __init__(self, clock: ManualClock) -> None:
        self._clock = clock
        self.waits = 0

    def now(self) -> datetime:
        return self._clock.now()

    def monotonic(self) -> float:
        return self._clock.monotonic()

    def wait(self, seconds: float, wake: threading.Event) -> bool:
        self.waits += 1
        return self._clock.wait(seconds, wake)


class Candidate:
    """One process: its own adapter (without retries, as the elector wants it) and thread."""

    def __init__(
        self, server: FakeApiServer, clock: ManualClock, identity: str, history: list[Any]
    ) -> None:
        self.identity = identity
        self.kube = ProcessKube(server.api_client(), retries=0)
        self.clock = ThreadClock(clock)
        self.elector = LeaderElector(
            self.kube, self.clock, identity, NAME, NAMESPACE, LEASE_DURATION, RENEW_DEADLINE, RETRY
        )
        self.calls: list[tuple[str, bool]] = []  # callback, and `leading` as it saw it
        self._history = history
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=self.elector.run, args=(self.stop, self._started, self._stopped), daemon=True
        )

    def _started(self) -> None:
        self.calls.append(("started", self.elector.leading.is_set()))
        self._history.append((self.identity, "started"))

    def _stopped(self) -> None:
        self.calls.append(("stopped", self.elector.leading.is_set()))
        self._history.append((self.identity, "stopped"))

    @property
    def leading(self) -> bool:
        return self.elector.leading.is_set()

    def halt(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        assert not self.thread.is_alive()


class Election:
    def __init__(self, server: FakeApiServer, clock: ManualClock) -> None:
        self.server = server
        self.clock = clock
        self.candidates: list[Candidate] = []
        self.history: list[tuple[str, str]] = []  # (identity, callback) across candidates

    def join(self, *identities: str, gate: threading.Barrier | None = None) -> list[Candidate]:
        """Start candidates together; return once each has made its first attempt."""
        made = [Candidate(self.server, self.clock, i, self.history) for i in identities]
        self.candidates += made
        for candidate in made:
            candidate.kube.gate = gate
            candidate.thread.start()
        for candidate in made:
            wait_for(lambda c=candidate: c.clock.waits >= 1)
        return made

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.settle()

    def settle(self) -> None:
        """Wait until every running candidate has acted on the clock as it is now: each is
        asleep again, in a wait that has not ended."""
        running = [c for c in self.candidates if c.thread.is_alive()]
        wait_for(lambda: self.clock.waiting() >= len(running))

    def leaders(self) -> list[str]:
        return [c.identity for c in self.candidates if c.leading]

    def lease(self) -> dict[str, Any]:
        lease = self.server.get("coordination.k8s.io/v1", "Lease", NAMESPACE, NAME)
        assert lease is not None
        spec: dict[str, Any] = lease["spec"]
        return spec

    def close(self) -> None:
        for candidate in self.candidates:
            candidate.stop.set()
        for candidate in self.candidates:
            candidate.thread.join(timeout=5)
