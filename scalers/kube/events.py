"""Kubernetes Events on the objects we change or reject, sent off the decision path, and never
the same one twice for the same object."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from scalers.clock import Clock
from scalers.kube.client import Kube

log = logging.getLogger(__name__)

COMPONENT = "kube-scalers"


class EventRecorder:
    def __init__(self, kube: Kube | None, clock: Clock, remember: int = 50_000) -> None:
        self._kube = kube  # None: record nothing (dry run)
        self._clock = clock
        self._seen: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        self._remember = remember
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._writing = 0
        self._quiet = threading.Condition()
        self.sent: list[dict[str, Any]] = []  # what was posted, for the demo's account

    def emit(
        self, obj: dict[str, Any], kind: str, event_type: str, reason: str, message: str
    ) -> None:
        """Queue an Event about `obj` (a raw object of `kind`) unless this one was already sent."""
        meta = obj["metadata"]
        key = (meta.get("uid", ""), reason, message)
        with self._lock:
            if key in self._seen:
                return
            self._seen[key] = None
            if len(self._seen) > self._remember:
                self._seen.popitem(last=False)
        if self._kube is None:
            return
        now = self._clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        self._queue.put(
            {
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
        )

    def forget(self, uid: str) -> None:
        """An object changed: the same problem on it is news again."""
        with self._lock:
            for key in [k for k in self._seen if k[0] == uid]:
                del self._seen[key]

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Hold Events back while a pass writes, so that a burst of fires is not slowed by the
        Events describing it."""
        with self._quiet:
            self._writing += 1
        try:
            yield
        finally:
            with self._quiet:
                self._writing -= 1
                self._quiet.notify_all()

    def run(self, stop: threading.Event) -> None:
        def wake_on_stop() -> None:
            stop.wait()
            self._queue.put(None)

        threading.Thread(target=wake_on_stop, daemon=True).start()
        while not stop.is_set():
            body = self._queue.get()
            if body is None:  # stopping
                break
            with self._quiet:
                self._quiet.wait_for(lambda: self._writing == 0 or stop.is_set(), timeout=5)
            self._post(body)

    def flush(self) -> None:
        """Send everything queued now (tests and the demo call this instead of a thread)."""
        while True:
            try:
                body = self._queue.get_nowait()
            except queue.Empty:
                return
            if body is not None:
                self._post(body)

    def _post(self, body: dict[str, Any]) -> None:
        assert self._kube is not None
        try:
            self._kube.create_event(body["metadata"]["namespace"], body)
            self.sent.append(body)
        except Exception as error:  # an Event is best effort: never block a decision on it
            log.warning(
                "event not recorded", extra={"reason": body["reason"], "error": repr(error)}
            )
