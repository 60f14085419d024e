"""Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it.

Expiry is judged on this process's clock, from the moment it last saw the Lease's spec change,
never from another machine's renewTime: clock skew between nodes does not matter, only their
rates. Every update carries the observed resourceVersion, so of two candidates racing one wins
and the other gets a 409 and tries again later.

Durations (the lease's expiry, the renew deadline) are measured on the clock's monotonic time:
a wall-clock step cannot extend leadership.

Give the elector an adapter without retries (`Kube(..., retries=0)`) and a request timeout under
`retry_period`: it retries on its own schedule, and one request must not outlast the renew
deadline. `is_leader()` stays right even if one does."""

from __future__ import annotations

import logging
import math
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from kubernetes.client import ApiException

from scalers import names
from scalers.clock import Clock
from scalers.kube.client import Kube, describe
from scalers.resources import LEASE

log = logging.getLogger(__name__)

FIELD_MANAGER = "kube-scalers-leader-election"

# Candidates retry every retry_period times 1 to 1 + JITTER, so that they do not poll in step.
JITTER = 0.2


class Leadership(Protocol):
    """Who may write, as the loops see it. A decision is taken in a term and its writes are
    fenced by it: `holds(term)` is checked before every attempt, so a write decided by a leader
    that has since been deposed (or paused past its renew deadline) is never sent."""

    def term(self) -> int | None:
        """The current term while this process leads, else None."""
        ...

    def holds(self, term: int) -> bool:
        """Still leading, in that same term."""
        ...


class Always:
    """A single replica without election: it always leads, in one term."""

    def term(self) -> int | None:
        return 0

    def holds(self, term: int) -> bool:
        return term == 0


def micro_time(instant: datetime) -> str:
    """A Kubernetes MicroTime: "2026-11-02T08:00:00.000000Z"."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    """`leading` is set exactly while this process holds the Lease; `transitions` counts the
    times it acquired it, and is the term of the loops' writes (see Leadership).

    `writes` is the adapter the loops write through: on stop the fence closes first, the
    writes under way end or are abandoned, and only then is the Lease given up (client-go's
    ReleaseOnCancel), so that no write of ours lands after another replica acquired it."""

    def __init__(
        self,
        kube: Kube,
        clock: Clock,
        identity: str,
        name: str = names.LEASE,
        namespace: str = names.NAMESPACE,
        lease_duration: float = 15.0,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
        writes: Kube | None = None,
    ) -> None:
        if not lease_duration > renew_deadline > retry_period > 0:
            raise ValueError("need lease_duration > renew_deadline > retry_period > 0")
        self._kube = kube
        self._clock = clock
        self._identity = identity
        self._name = name
        self._namespace = namespace
        self._lease_duration = lease_duration
        self._renew_deadline = renew_deadline
        self._retry_period = retry_period
        self._writes = writes
        self.leading = threading.Event()
        self.transitions = 0
        self._stopping = threading.Event()
        self._lease: dict[str, Any] | None = None  # the Lease as last read or written
        self._observed_at = clock.monotonic()  # when its spec last changed, on our clock
        self._renewed_at = clock.monotonic()  # when our last successful write started

    def is_leader(self) -> bool:
        """Leading and renewed within the renew deadline, even while a request hangs; never
        once stopping has begun."""
        return self.leading.is_set() and not self._overdue() and not self._stopping.is_set()

    def term(self) -> int | None:
        term = self.transitions  # read first: `leading` is set only after it is counted
        return term if self.is_leader() else None

    def holds(self, term: int) -> bool:
        return self.term() == term

    def run(
        self,
        stop: threading.Event,
        on_started: Callable[[], None],
        on_stopped: Callable[[], None],
    ) -> None:
        """Acquire, renew, step down and re-acquire until `stop`; then give the Lease up. The
        callbacks run on this thread, `leading` already set or cleared: they must be quick."""
        while not stop.is_set():
            self._cycle(on_started, on_stopped)
            self._pause(stop)
        self._stopping.set()  # the fence closes: no attempt of any write starts from now on
        # An attempt under way ends within the writes' timeout, at most what the Lease gives
        # beyond the renew deadline; one waiting to retry finds the fence closed.
        drain = self._lease_duration - self._renew_deadline
        if self._writes is not None and not self._writes.drain(drain):
            log.warning("writes still under way abandoned", extra=self._extra())
        if self.leading.is_set():
            self._stop_leading(on_stopped, "shutting down", logging.INFO)
        self._release()

    def _cycle(self, on_started: Callable[[], None], on_stopped: Callable[[], None]) -> None:
        if self.leading.is_set() and self._overdue():  # e.g. this process was paused
            self._stop_leading(on_stopped, "renewal deadline passed")
        try:
            held = self._try_acquire_or_renew()
        except Exception as error:
            conflict = isinstance(error, ApiException) and error.status == 409
            log.log(
                logging.INFO if conflict else logging.WARNING,
                "lease not acquired or renewed",
                extra=self._extra(error=describe(error)),
            )
            held = False
        if held and not self.leading.is_set():
            self.transitions += 1  # a new term, counted before anyone can see it lead
            self.leading.set()
            log.info("became leader", extra=self._extra(action="acquire"))
            _notify(on_started, "on_started")
        elif not held and self.leading.is_set():
            holder = self._holder()
            if holder != self._identity:
                self._stop_leading(on_stopped, f"lease held by {holder or 'no one'}")
            elif self._overdue():
                self._stop_leading(on_stopped, "renewal deadline passed")

    def _try_acquire_or_renew(self) -> bool:
        now, started = self._clock.now(), self._clock.monotonic()
        if self._holder() == self._identity:
            try:  # fast path: renew the version we last wrote, without reading it first
                self._write(now, started)
                return True
            except ApiException as error:
                log.debug("renewal failed", extra=self._extra(error=describe(error)))
        lease = self._kube.get(LEASE, self._namespace, self._name)
        if lease is None:
            self._lease = None
            # The typed client re-serialises a created Lease's times with isoformat(), which
            # drops a zero fraction that a real server's MicroTime requires: a whole second
            # goes out one microsecond later.
            stamp = now if now.microsecond else now + timedelta(microseconds=1)
            body = {
                "apiVersion": LEASE.api_version,
                "kind": LEASE.kind,
                "metadata": {"name": self._name, "namespace": self._namespace},
                "spec": self._spec(stamp),
            }
            self._observe(self._kube.create(LEASE, self._namespace, body))
            self._renewed_at = started
            return True
        self._observe(lease)
        holder = self._holder()
        if holder and holder != self._identity and self._valid():
            return False
        self._write(now, started)
        return True

    def _write(self, now: datetime, started: float) -> None:
        self._patch(self._spec(now))
        self._renewed_at = started

    def _patch(self, spec: dict[str, Any]) -> None:
        """Change `spec` only if the Lease is still the version we observed, else a 409, as a
        PUT would get (controller-runtime's optimistic lock). Unlike the typed client's PUT, a
        merge patch sends our MicroTimes as written."""
        assert self._lease is not None
        version = self._lease["metadata"]["resourceVersion"]
        patch = {"metadata": {"resourceVersion": version}, "spec": spec}
        self._observe(
            self._kube.merge_patch(LEASE, self._namespace, self._name, patch, FIELD_MANAGER)
        )

    def _spec(self, now: datetime) -> dict[str, Any]:
        """Our record; acquireTime and leaseTransitions change only when the holder does."""
        spec: dict[str, Any] = {
            "holderIdentity": self._identity,
            "leaseDurationSeconds": math.ceil(self._lease_duration),
            "renewTime": micro_time(now),
        }
        old = (self._lease or {}).get("spec") or {}
        if old.get("holderIdentity") != self._identity:
            spec["acquireTime"] = micro_time(now)
            spec["leaseTransitions"] = (old.get("leaseTransitions") or 0) + 1 if self._lease else 0
        return spec

    def _observe(self, lease: dict[str, Any]) -> None:
        if self._lease is None or lease.get("spec") != self._lease.get("spec"):
            self._observed_at = self._clock.monotonic()
        self._lease = lease

    def _holder(self) -> str | None:
        spec = (self._lease or {}).get("spec") or {}
        holder: str | None = spec.get("holderIdentity")
        return holder

    def _valid(self) -> bool:
        seconds = ((self._lease or {}).get("spec") or {}).get("leaseDurationSeconds") or 0
        return self._observed_at + seconds > self._clock.monotonic()

    def _overdue(self) -> bool:
        return self._clock.monotonic() - self._renewed_at >= self._renew_deadline

    def _stop_leading(
        self, on_stopped: Callable[[], None], reason: str, level: int = logging.WARNING
    ) -> None:
        self.leading.clear()
        log.log(level, "stopped leading", extra=self._extra(action="lose", reason=reason))
        _notify(on_stopped, "on_stopped")

    def _release(self) -> None:
        """As client-go's ReleaseOnCancel: no holder, and a 1 s lease for older readers."""
        if self._holder() != self._identity:
            return
        now = micro_time(self._clock.now())
        spec = {"holderIdentity": None, "leaseDurationSeconds": 1}
        try:
            self._patch({**spec, "acquireTime": now, "renewTime": now})
            log.info("released the lease", extra=self._extra(action="release"))
        except Exception as error:
            log.warning("lease not released", extra=self._extra(error=describe(error)))

    def _pause(self, stop: threading.Event) -> None:
        period = self._retry_period
        if not self.leading.is_set():
            period *= 1 + JITTER * random.random()
        due = self._clock.monotonic() + period
        while not stop.is_set() and (left := due - self._clock.monotonic()) > 0:
            self._clock.wait(left, stop)

    def _extra(self, **fields: Any) -> dict[str, Any]:
        # LogRecord owns `name`: ours travels as object_name (see scalers.log).
        where = {"namespace": self._namespace, "object_name": self._name}
        return {**where, "identity": self._identity, **fields}


def _notify(callback: Callable[[], None], what: str) -> None:
    try:
        callback()
    except Exception:
        log.exception(f"{what} failed")
