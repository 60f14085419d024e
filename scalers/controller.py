"""The controller as `scalers run` and `scalers demo` both start it: the loops that are switched
on, over one adapter, one clock and one Event recorder."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from kubernetes import client

from scalers.clock import Clock
from scalers.kube.client import Kube
from scalers.kube.events import EventRecorder
from scalers.proportional.loop import Config, ProportionalLoop
from scalers.runner import Loop, Runner
from scalers.schedule.loop import ScheduleLoop


@dataclass(frozen=True)
class Settings:
    timezone: ZoneInfo
    dry_run: bool = False
    schedule: bool = True
    proportional: Config | None = None  # None: the proportional loop is off


class Controller:
    def __init__(self, api_client: client.ApiClient, clock: Clock, settings: Settings) -> None:
        self.kube = Kube(api_client)
        # A dry run writes nothing, Events included.
        self.events = EventRecorder(None if settings.dry_run else self.kube, clock)
        self.schedule: ScheduleLoop | None = None
        self.proportional: ProportionalLoop | None = None
        loops: list[Loop] = []
        if settings.proportional is not None:
            self.proportional = ProportionalLoop(
                self.kube, clock, self.events, settings.proportional, dry_run=settings.dry_run
            )
            loops.append(self.proportional)
        if settings.schedule:
            self.schedule = ScheduleLoop(
                self.kube, clock, self.events, settings.timezone, dry_run=settings.dry_run,
                claimed=self.proportional.claims() if self.proportional else frozenset(),
            )  # fmt: skip
            loops.append(self.schedule)
        self.runner = Runner(loops)

    def run(self, stop: threading.Event) -> None:
        sender = threading.Thread(target=self.events.run, args=(stop,), name="events", daemon=True)
        sender.start()
        self.runner.run(stop)
        sender.join(timeout=5)
        self.events.flush()
