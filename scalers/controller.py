"""The controller as `scalers run` and `scalers demo` both start it: the loops that are switched
on, over one adapter, one clock and one Event recorder; the leader election that lets them
write; the probes and metrics endpoint."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from kubernetes import client

from scalers import metrics, names
from scalers.clock import Clock
from scalers.health import Health
from scalers.kube.client import Kube
from scalers.kube.events import EventRecorder
from scalers.kube.lease import Always, LeaderElector
from scalers.proportional.loop import Config, ProportionalLoop
from scalers.runner import Loop, Runner
from scalers.schedule.loop import ScheduleLoop

log = logging.getLogger(__name__)

# From stop (SIGTERM) to run() returning, whatever the API server does: inside the 10 s the
# contract promises, well inside Kubernetes' default grace period of 30 s.
SHUTDOWN = 8.0
# The longest one attempt of a write may take. The schedule loop's writers are a thread pool,
# whose threads the interpreter joins at exit, daemon or not: an attempt under way at `stop`
# (none begins after it) must end inside SHUTDOWN, whatever the API server does.
WRITE_TIMEOUT = 5.0


@dataclass(frozen=True)
class Election:
    """Who may write: the holder of a coordination.k8s.io/v1 Lease."""

    identity: str
    lease: str = names.LEASE
    namespace: str = names.NAMESPACE
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0


@dataclass(frozen=True)
class Settings:
    timezone: ZoneInfo
    dry_run: bool = False
    schedule: bool = True
    proportional: Config | None = None  # None: the proportional loop is off
    election: Election | None = None  # None: a single replica, always writing
    health_port: int | None = None  # None: no HTTP endpoints; 0: any free port
    qps: float = 0.0  # client-side rate limit; 0: none
    burst: int = 1
    calendars: str = f"{names.NAMESPACE}/{names.CALENDARS}"  # the team calendars' ConfigMap


class Controller:
    def __init__(self, api_client: client.ApiClient, clock: Clock, settings: Settings) -> None:
        self.settings = settings
        # A dry run writes nothing, its Lease and Events included: it never takes part in the
        # election, which would keep the deployed controller from writing.
        e = None if settings.dry_run else settings.election
        # An attempt of a write begun while leading ends before anyone else can acquire: the
        # Lease outlasts the renew deadline by this much.
        lease = e.lease_duration - e.renew_deadline if e else WRITE_TIMEOUT
        write_timeout = min(lease, WRITE_TIMEOUT)
        self.kube = Kube(
            api_client, qps=settings.qps, burst=settings.burst, write_timeout=write_timeout
        )
        # Events have their own adapter: closed at the shutdown deadline, not at stop as the
        # loops' is, so that the recorder can post what is queued in between. An Event is best
        # effort: a short timeout and one retry, so that a hung server cannot hold the recorder
        # past its drain and its count of what it dropped.
        self._events_kube = Kube(
            api_client, request_timeout=2.0, qps=settings.qps, burst=settings.burst, retries=1
        )
        self.events = EventRecorder(None if settings.dry_run else self._events_kube, clock)
        self.elector: LeaderElector | None = None
        if e is not None:
            # Its own adapter: no retries and a short timeout, so no request outlasts a renewal.
            fenced = Kube(api_client, request_timeout=max(1.0, e.retry_period), retries=0)
            self.elector = LeaderElector(
                fenced, clock, e.identity, e.lease, e.namespace,
                e.lease_duration, e.renew_deadline, e.retry_period, writes=self.kube,
            )  # fmt: skip
        leadership = self.elector or Always()
        self.schedule: ScheduleLoop | None = None
        self.proportional: ProportionalLoop | None = None
        loops: list[Loop] = []
        if settings.proportional is not None:
            self.proportional = ProportionalLoop(
                self.kube, clock, self.events, settings.proportional,
                dry_run=settings.dry_run, leadership=leadership,
            )  # fmt: skip
            loops.append(self.proportional)
        if settings.schedule:
            self.schedule = ScheduleLoop(
                self.kube, clock, self.events, settings.timezone, dry_run=settings.dry_run,
                claimed=self.proportional.claims() if self.proportional else frozenset(),
                leadership=leadership, calendars=settings.calendars,
            )  # fmt: skip
            loops.append(self.schedule)
        self.runner = Runner(loops, clock, leadership)
        self.health = Health(self.runner)
        self.health_port: int | None = None

    def run(self, stop: threading.Event) -> None:
        """Until `stop`, then at most SHUTDOWN seconds more. Every thread is a daemon (the
        loops' and informers' too, which inherit it), so that one a hanging API server holds
        past the deadline is abandoned, not waited for by the process."""
        threads = [threading.Thread(target=self.runner.run, args=(stop,), name="loops")]
        threads.append(threading.Thread(target=self.events.run, args=(stop,), name="events"))
        if self.elector is not None:
            threads.append(
                threading.Thread(
                    target=self.elector.run, args=(stop, self._lead, self._follow), name="leader"
                )
            )
        else:
            metrics.LEADER.set(1)
        if self.settings.health_port is not None:
            self.health_port = self.health.serve(self.settings.health_port)
        for thread in threads:
            thread.daemon = True
            thread.start()
        try:
            stop.wait()
            deadline = time.monotonic() + SHUTDOWN
            # The fence closed with `stop`: the loops send nothing more, and their retry waits
            # end now. The elector lets writes under way end before it gives the Lease up.
            self.kube.close()
            for thread in threads:
                thread.join(timeout=max(0.0, deadline - time.monotonic()))
            if left := [thread.name for thread in threads if thread.is_alive()]:
                log.warning("shutdown deadline passed; abandoned", extra={"threads": left})
        finally:
            self._events_kube.close()
            self.health.close()

    def _lead(self) -> None:
        """A new leader catches up: a fire that fell in the hand-over is applied late, not lost."""
        metrics.LEADER.set(1)
        for loop in self.runner.loops:
            loop.catch_up()

    def _follow(self) -> None:
        metrics.LEADER.set(0)
