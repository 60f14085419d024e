"""Kubernetes Events on the objects we change or reject, sent off the decision path.

As client-go's recorder (tools/record, EventCorrelator): a repeat of an Event already posted on
the same object (same type, reason and message) is not a new Event but a patch of the existing
one, `count` + 1 and `lastTimestamp` now, so a daily repeat shows again the next day. When to emit
is the loops' decision (once per input change); nothing is suppressed here. Events are best
effort: a failed post is logged and counted, never retried, never blocks a loop."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes.client import ApiException

from scalers import metrics, names
from scalers.clock import Clock
from scalers.kube.client import Kube, describe
from scalers.resources import EVENT

log = logging.getLogger(__name__)

COMPONENT = names.COMPONENT
# Like kopf, and as events.k8s.io/v1 caps `note`: a message never carries a whole bad value.
MESSAGE_BYTES = 1024
CACHE_SIZE = 4096  # posted Events remembered for aggregation, as client-go's LRU
QUEUE_SIZE = 10_000
SHUTDOWN_SECONDS = 3.0

# involvedObject (kind, namespace, name, uid), type, reason, message: client-go's exact-match key.
Key = tuple[str, str, str, str, str, str, str]


@dataclass(frozen=True)
class _Pending:
    key: Key
    body: dict[str, Any]  # the Event to create; its lastTimestamp is also the patch's


@dataclass(frozen=True)
class _Posted:
    name: str
    namespace: str
    count: int


def truncate(message: str) -> str:
    """At most MESSAGE_BYTES of UTF-8, cut on a character boundary, "…" marking the cut."""
    data = message.encode()
    if len(data) <= MESSAGE_BYTES:
        return message
    mark = "…"
    # Only the last character can be cut in two; "ignore" drops its remains.
    head = data[: MESSAGE_BYTES - len(mark.encode())].decode(errors="ignore")
    return head + mark


class EventRecorder:
    def __init__(
        self,
        kube: Kube | None,
        clock: Clock,
        *,
        cache_size: int = CACHE_SIZE,
        queue_size: int = QUEUE_SIZE,
        shutdown_seconds: float = SHUTDOWN_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`kube` None records nothing (dry run). Each post takes as long as one request of
        `kube`: give it a short timeout and no retries, so that shutdown stays bounded."""
        self._kube = kube
        self._clock = clock
        self._cache: OrderedDict[Key, _Posted] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()  # the cache: posts and forget() come from other threads
        self._pending: deque[_Pending] = deque()
        self._queue_size = queue_size
        self._overflowing = False
        self._ready = threading.Condition()  # guards _pending and _overflowing
        self._shutdown_seconds = shutdown_seconds
        self._monotonic = monotonic
        self._writing = 0
        self._quiet = threading.Condition()

    def emit(
        self, obj: dict[str, Any], kind: str, event_type: str, reason: str, message: str
    ) -> None:
        """Queue an Event about `obj` (a raw object of `kind`); a repeat is counted on the
        Event already posted."""
        if self._kube is None:
            return
        meta = obj["metadata"]
        message = truncate(message)
        key = (
            kind,
            meta["namespace"],
            meta["name"],
            meta.get("uid", ""),
            event_type,
            reason,
            message,
        )
        now = self._clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
            "involvedObject": {
                "apiVersion": obj.get("apiVersion"),
                "kind": kind,
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta.get("uid"),
                "resourceVersion": meta.get("resourceVersion"),
            },
            "type": event_type,
            "reason": reason,
            "message": message,
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        with self._ready:
            if len(self._pending) >= self._queue_size:
                # Drop the newest rather than block a loop; one line per burst.
                metrics.EVENTS.labels("overflow").inc()
                if not self._overflowing:
                    self._overflowing = True
                    log.warning(
                        "event queue full: new Events are dropped until it drains",
                        extra={"queued": len(self._pending), "reason": reason},
                    )
                return
            self._pending.append(_Pending(key, body))
            self._ready.notify()

    def forget(self, uid: str) -> None:
        """The object is gone: its Events need not be remembered."""
        with self._lock:
            for key in [k for k in self._cache if k[3] == uid]:
                del self._cache[key]

    def hold(self) -> None:
        """A write is on its way (queued or under way): Events wait until every one held has
        been released, so that a burst of fires is not slowed by the Events describing it."""
        with self._quiet:
            self._writing += 1

    def release(self) -> None:
        with self._quiet:
            self._writing -= 1
            if self._writing == 0:  # once a burst's last write ends, not after each
                self._quiet.notify_all()

    def run(self, stop: threading.Event) -> None:
        """Post queued Events until `stop`; then go on for at most `shutdown_seconds` and drop
        what is left, so that an unreachable API server cannot hold the process."""

        def wake_on_stop() -> None:
            stop.wait()
            for condition in (self._ready, self._quiet):
                with condition:
                    condition.notify_all()

        threading.Thread(target=wake_on_stop, name="events-stop", daemon=True).start()
        while True:
            with self._ready:
                self._ready.wait_for(lambda: self._pending or stop.is_set())
                if stop.is_set():
                    break
            with self._quiet:
                self._quiet.wait_for(lambda: self._writing == 0 or stop.is_set(), timeout=5)
            if (pending := self._take()) is not None:
                self._post(pending)
        deadline = self._monotonic() + self._shutdown_seconds
        while (pending := self._take()) is not None:
            if self._monotonic() >= deadline:
                with self._ready:
                    dropped = 1 + len(self._pending)
                    self._pending.clear()
                metrics.EVENTS.labels("abandoned").inc(dropped)
                log.warning(
                    f"shutting down: {dropped} queued Events not posted",
                    extra={"dropped": dropped},
                )
                return
            self._post(pending)

    def flush(self) -> None:
        """Post everything queued now (tests call this instead of `run`; never while `run`
        runs)."""
        while (pending := self._take()) is not None:
            self._post(pending)

    def _take(self) -> _Pending | None:
        with self._ready:
            if not self._pending:
                self._overflowing = False  # drained: the next overflow is a new burst
                return None
            return self._pending.popleft()

    def _post(self, pending: _Pending) -> None:
        """Create the Event, or count a repeat on the one posted before; remember it only once
        the server has it."""
        assert self._kube is not None
        body = pending.body
        with self._lock:
            posted = self._cache.get(pending.key)
        try:
            saved = None
            if posted is not None:
                patch = {"count": posted.count + 1, "lastTimestamp": body["lastTimestamp"]}
                try:
                    saved = self._kube.merge_patch(
                        EVENT, posted.namespace, posted.name, patch, field_manager=COMPONENT
                    )
                except ApiException as error:
                    if error.status != 404:
                        raise
                    # Expired (a real server keeps Events for an hour): start a new one.
            outcome = "aggregated" if saved is not None else "created"
            if saved is None:
                saved = self._kube.create_event(body["metadata"]["namespace"], body)
        except Exception as error:  # best effort: a failure is reported, never raised to a loop
            metrics.EVENTS.labels("failed").inc()
            log.warning(
                "event not recorded",
                extra={"reason": body["reason"], "error": describe(error)},
            )
            return
        metrics.EVENTS.labels(outcome).inc()
        meta = saved["metadata"]
        with self._lock:
            self._cache[pending.key] = _Posted(
                meta["name"], meta["namespace"], int(saved.get("count") or 1)
            )
            self._cache.move_to_end(pending.key)
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
