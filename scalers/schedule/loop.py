"""The schedule loop: watches annotated HPAs (and Deployments), applies fires and catch-ups.

The shell around `track` and `decide`. The watch handlers parse an object's annotations when
they change (never in a pass, so no annotation delays another object's fire) and note who
changed each scheduled field; a pass asks the core what is due and hands the writes to a pool
without waiting for them, so a slow answer delays only its own object."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from scalers import metrics, names
from scalers.clock import Clock
from scalers.kube.client import Kube
from scalers.kube.events import EventRecorder
from scalers.kube.informer import Informer, Object, Watches
from scalers.kube.lease import Always, Leadership
from scalers.kube.writer import RETRY_AFTER, Writer
from scalers.outcome import Outcome
from scalers.report import Reporter
from scalers.resources import CONFIGMAP, DEPLOYMENT, HPA
from scalers.runner import Failures
from scalers.schedule import messages, track
from scalers.schedule.annotation import Schedule
from scalers.schedule.book import Book
from scalers.schedule.decide import Change
from scalers.schedule.track import Ref, Tracked

log = logging.getLogger(__name__)

FIELD_MANAGER = names.SCHEDULE_MANAGER
LOOP = "schedule"
BUSY_RETRY = timedelta(seconds=1)  # an object whose last write is still under way waits
PERIOD = 60.0  # the longest wait between two passes, fires due or not
# How loud each thing that can become of a change is said; anything else (a write fenced off,
# or dropped at shutdown) is said once for the burst by the writer, and per object at DEBUG.
LEVELS = {"write": "INFO", "would-write": "INFO", "refused": "ERROR", "failed": "ERROR"}


class ScheduleLoop:
    name = LOOP
    period = PERIOD
    debounce = 0.0  # a fire is due at its instant: nothing to let settle

    def __init__(
        self,
        kube: Kube,
        clock: Clock,
        events: EventRecorder,
        default_zone: ZoneInfo,
        dry_run: bool = False,
        writers: int = 16,
        claimed: frozenset[str] = frozenset(),
        leadership: Leadership | None = None,
        calendars: str = f"{names.NAMESPACE}/{names.CALENDARS}",
    ) -> None:
        self._kube, self._clock = kube, clock
        self._calendars = calendars  # "namespace/name" of the team calendars' ConfigMap
        leadership = leadership or Always()
        self._writer = Writer(kube, LOOP, FIELD_MANAGER, leadership, dry_run)
        self._report = Reporter(LOOP, log, events)
        self._failures = Failures(LOOP)
        self.wake = threading.Event()
        self._book = Book(
            FIELD_MANAGER, clock, self._report, self._failures, leadership, default_zone, claimed,
            self.wake, calendars, lambda ref: self._informers[ref.kind].get(ref.key),
        )  # fmt: skip
        self._writing: set[Ref] = set()  # objects with a write under way
        self._pool = ThreadPoolExecutor(writers, thread_name_prefix="schedule-write")
        self.watch()

    def watch(self) -> Watches:
        """Fresh informers: one that was stopped is never started again (client-go's rule)."""
        self._informers = {
            r.kind: Informer(self._kube, r, self._book.handler(r), transform=track.essentials(r))
            for r in (HPA, DEPLOYMENT)
        }
        namespace, name = self._calendars.split("/", 1)
        self._calendar_watch = Informer(
            self._kube, CONFIGMAP, lambda _, __, new: self._book.calendars_changed(new),
            namespace=namespace, field_selector=f"metadata.name={name}",
        )  # fmt: skip
        self.watches = Watches([*self._informers.values(), self._calendar_watch])
        return self.watches

    def catch_up(self) -> None:
        """Re-apply what is scheduled now to every object at the next pass (start, leadership)."""
        self._book.catch_up()

    def resume(self) -> None:
        """After the watches' first LISTs: the calendars as listed (the ConfigMap may be absent,
        which no watch event says), then every object caught up."""
        self._book.calendars_changed(self._calendar_watch.get(self._calendars))
        self.catch_up()
        self._book.forget_missing(lambda ref: self._informers[ref.kind].get(ref.key) is not None)

    def standby(self) -> None:
        """A standby decides nothing: its watches keep what a take-over needs."""

    def synced(self) -> bool:
        return self.watches.synced()

    def problems(self) -> list[str]:
        """Objects that broke the loop pass after pass: /healthz names them."""
        return self._failures.problems()

    def footprint(self) -> dict[str, int]:
        """How much the loop holds, for the memory bench and for tests: every figure falls back
        to zero when the annotated objects are gone."""
        book = self._book
        with book.lock:
            tracked, written, writing = len(book.tracked), len(book.written), len(self._writing)
        return {"tracked": tracked, "agenda": len(book.agenda), "written": written,
                "writing": writing, "failing": len(self._failures)}  # fmt: skip

    def seconds_to_next(self) -> float:
        at = self._book.agenda.next_at()
        if at is None:
            return PERIOD
        return min(PERIOD, max(0.0, (at - self._clock.now()).total_seconds()))

    def evaluate(self, now: datetime, term: int) -> list[Future[Outcome | None]]:
        """One pass in leadership `term`: catch up changed objects, then apply every fire in
        (last pass, now]. The writes go to the pool, one per object at a time: the pass does not
        wait for them, and returns them for whoever would (the tests)."""
        # A catch-up applies what is scheduled now, a fire due in the same pass included.
        work = {t.ref: (t, "catch-up") for t in self._book.catching_up()}
        for tracked, reason in self._book.due(now):
            work.setdefault(tracked.ref, (tracked, reason))
        writes = []
        self._report.hold()  # what the pass says waits while it hands out its writes, too
        try:
            for tracked, reason in work.values():
                with self._book.lock:
                    busy = tracked.ref in self._writing
                    self._writing.add(tracked.ref)
                if busy:  # one write per object at a time: this one goes next
                    self._book.again(now + BUSY_RETRY, tracked, reason)
                    continue
                self._report.hold()  # what it says waits until the pass's last write is done
                writes.append(self._pool.submit(self._guarded, tracked, reason, now, term))
        finally:
            self._report.release()
        metrics.LAST_EVALUATION.labels(LOOP).set(now.timestamp())
        return writes

    # -- decisions and writes, on the pool ----------------------------------------------------

    def _guarded(self, tracked: Tracked, reason: str, now: datetime, term: int) -> Outcome | None:
        """A bug met on one object is tried again later, alone (see Failures)."""

        def failed() -> None:
            self._book.again(now + timedelta(seconds=RETRY_AFTER), tracked, reason)

        try:
            work = partial(self._apply, tracked, reason, now, term)
            return self._failures.guard(tracked.ref, work, failed)
        finally:
            self._report.release()
            with self._book.lock:
                self._writing.discard(tracked.ref)
                if tracked.ref not in self._book.tracked:  # deleted meanwhile: nothing to retry
                    self._failures.forget(tracked.ref)

    def _apply(self, tracked: Tracked, reason: str, now: datetime, term: int) -> Outcome | None:
        assert isinstance(tracked.schedule, Schedule)
        obj = self._informers[tracked.ref.kind].get(tracked.ref.key)
        with self._book.lock:
            current = self._book.tracked.get(tracked.ref)
        if obj is None or current is not tracked:
            return None  # gone, or changed since: its own catch-up decides
        kind, uid = tracked.ref.kind, obj["metadata"].get("uid", "")
        ours = self._book.written.get(uid, set())
        states = track.field_states(kind, obj, tracked.seen, ours, FIELD_MANAGER)
        scheduled, plan = track.plan(reason, tracked.schedule, tracked.evaluated_at, now, states)
        next_fire = self._book.next_fire(tracked, now)
        for name, due in scheduled.items():
            metrics.SCHEDULED.labels(tracked.ref.namespace, tracked.ref.name, name).set(due.value)
        for notice in track.kept(tracked.schedule, plan, obj):
            self._report.notice(kind, obj, notice)
        if plan.refused:
            metrics.REFUSED_WRITES.labels(LOOP, "MinAboveMax").inc()
            return self._told(tracked, obj, reason, plan.changes, "refused", plan.refused, now)
        if not plan.changes:
            tracked.evaluated_at = now
            return None
        written = self._writer.spec(tracked.resource, obj, plan.writes, term)
        detail = written.detail
        if written.retry_after is not None:  # tried again, but never past the next fire
            retry = now + timedelta(seconds=written.retry_after)
            if next_fire is None or retry < next_fire:
                self._book.again(retry, tracked, reason)
            else:
                detail += "; not retried: the next fire comes first"
        if written.sent:
            at = self._clock.now()
            self._book.written.setdefault(uid, set()).update(c.field for c in plan.changes)
            for change in plan.changes if reason == "fire" else ():
                metrics.FIRE_DELAY.observe((at - change.scheduled.fired_at).total_seconds())
        return self._told(tracked, obj, reason, plan.changes, written.action, detail, now)

    def _told(
        self,
        tracked: Tracked,
        obj: Object,
        reason: str,
        changes: tuple[Change, ...],
        action: str,
        detail: str,
        now: datetime,
    ) -> Outcome:
        """Report what became of one object's changes: said once the pass's writes are done
        (see Reporter), its Event's text made then too."""
        schedule = tracked.schedule
        assert isinstance(schedule, Schedule)
        if action != "failed":
            tracked.evaluated_at = now  # a failed write stays in the window of its retry
        ref = tracked.ref
        outcome = Outcome(ref.kind, ref.namespace, ref.name, reason, action, changes, detail)

        def event() -> tuple[str, str, str] | None:
            if action not in messages.EVENTS:
                return None
            text = messages.event_text(schedule, action, reason, changes, detail)
            return (*messages.EVENTS[action], text)

        return self._report.decided(
            obj, outcome, lambda change: messages.decided(action, change, detail), event,
            LEVELS.get(action, "DEBUG"), lambda change: {
                "schedule_action": change.scheduled.action + 1,  # type: ignore[attr-defined]
                "fired_at": change.scheduled.fired_at.isoformat(),  # type: ignore[attr-defined]
            },
        )  # fmt: skip
