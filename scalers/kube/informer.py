"""A watch-fed cache, as client-go's informers: LIST once, WATCH from that resourceVersion,
re-watch after a dropped stream without re-listing. It re-lists when the server's history is
gone: a 410 Gone, a "Too large resource version" (the server came back from an etcd restore
with a lower version than ours), or a watch silent for several bookmark intervals (how a plain
watch from such a version behaves). A handler that raises never loses the change: it is handed
again later. An informer runs once: one stopped is never started again (client-go's rule)."""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from kubernetes.client import ApiException
from urllib3.exceptions import ReadTimeoutError

from scalers import metrics
from scalers.kube.client import Kube, Stopper
from scalers.resources import Resource

log = logging.getLogger(__name__)

Object = dict[str, Any]
# (key "namespace/name", previous object or None, current object or None)
Handler = Callable[[str, Object | None, Object | None], None]


def key_of(obj: Object) -> str:
    meta = obj["metadata"]
    return f"{meta.get('namespace', '')}/{meta['name']}"


class Informer:
    def __init__(
        self,
        kube: Kube,
        resource: Resource,
        handler: Handler,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        watch_timeout: int = 300,
        transform: Callable[[Object], Object] | None = None,
        silence_seconds: float = 180.0,
        retry_seconds: float = 1.0,
    ) -> None:
        self.resource = resource
        self._kube = kube
        self._handler = handler
        # The query this cache answers: what a LIST of the same objects would pass.
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self._watch_timeout = watch_timeout
        # Reduces each object before it is cached (client-go's SetTransform): the cache holds
        # only what the loop reads. It must keep metadata.name, namespace and resourceVersion.
        self._transform = transform
        # A healthy watch brings a bookmark about every minute; three minutes of nothing means
        # a server that is not there yet (an etcd restore) or a stream that is dead.
        self._silence = silence_seconds
        self._cache: dict[str, Object] = {}
        self._lock = threading.Lock()
        self._stopper: Stopper | None = None
        self._state = threading.Lock()
        self._started = self._stopped = False
        self._version: str | None = None  # the last resourceVersion seen: a watch resumes there
        self._relists_in_a_row = 0  # re-lists whose watch brought nothing yet: backed off
        # Changes the handler raised on, by key: (what it last saw, what it has not seen yet).
        self._pending: dict[str, tuple[Object | None, Object | None]] = {}
        self._retry_seconds = retry_seconds
        self._retry_delay = retry_seconds
        self._retry_at = 0.0
        self.synced = threading.Event()
        self.lists = 0
        self.watch_restarts = 0

    def get(self, key: str) -> Object | None:
        with self._lock:
            return self._cache.get(key)

    def items(self) -> list[Object]:
        with self._lock:
            return list(self._cache.values())

    def run(self, stop: threading.Event) -> None:
        """Watch until `stop`, in this thread. Once only: raises RuntimeError on a second call
        or after `stop()`."""
        self._claim()
        self._run(stop)

    def start(self, stop: threading.Event) -> threading.Thread:
        """`run` in a new thread; the claim is made here, so a reuse raises in the caller."""
        self._claim()
        thread = threading.Thread(
            target=self._run, args=(stop,), name=f"watch-{self.resource.kind}", daemon=True
        )
        thread.start()
        return thread

    def stop(self) -> None:
        with self._state:
            self._stopped = True
            stopper = self._stopper
        if stopper is not None:
            stopper.stop()

    def _claim(self) -> None:
        with self._state:
            if self._started or self._stopped:
                raise RuntimeError(
                    f"this {self.resource.kind} informer has already run: an informer stopped "
                    "is never started again, build a new one"
                )
            self._started = True

    def _run(self, stop: threading.Event) -> None:
        failures = 0
        while not stop.is_set():
            relist: str | None = None
            try:
                if self._version is None:
                    self._version = self._relist()
                self._watch(self._version, stop)
                failures = 0
            except _Silent:
                relist = "silent"
            except ApiException as error:
                if error.status == 410:
                    relist = "expired"
                elif _too_large(error):
                    relist = "too_large"
                else:
                    failures += 1
                    log.warning(
                        "watch failed",
                        extra={"resource": self.resource.kind, "code": error.status},
                    )
            except Exception as error:  # a dropped connection: resume from the last version
                if stop.is_set():
                    break
                failures += 1
                log.warning(
                    "watch interrupted",
                    extra={"resource": self.resource.kind, "error": repr(error)},
                )
            if relist is not None:
                self._version = None
                self._relists_in_a_row += 1
                log.info(
                    "the server's history is gone, re-listing",
                    extra={"resource": self.resource.kind, "reason": relist},
                )
                metrics.WATCH_RELISTS.labels(self.resource.kind, relist).inc()
                if self._relists_in_a_row > 1:  # the server keeps losing it: do not hammer it
                    stop.wait(_backoff(self._relists_in_a_row - 1))
            elif failures and not stop.is_set():
                self.watch_restarts += 1
                metrics.WATCH_RESTARTS.labels(self.resource.kind).inc()
                stop.wait(_backoff(failures))

    def _relist(self) -> str:
        items, version = self._kube.list(
            self.resource, self.namespace, self.label_selector, self.field_selector, self._transform
        )
        self.lists += 1
        fresh = {key_of(obj): obj for obj in items}
        with self._lock:
            old, self._cache = self._cache, fresh
        for key, obj in fresh.items():
            previous = old.get(key)
            # Compared whole, not by resourceVersion: after an etcd restore a version number
            # can come back on a different state.
            if previous != obj:
                self._deliver(key, previous, obj)
        for key in old.keys() - fresh.keys():
            self._deliver(key, old[key], None)
        self.synced.set()
        return version

    def _watch(self, version: str, stop: threading.Event) -> None:
        with self._state:
            if self._stopped:
                return
            self._stopper = Stopper()
        events = self._kube.watch(
            self.resource,
            version,
            self._stopper,
            self.namespace,
            self.label_selector,
            self._watch_timeout,
            self.field_selector,
            read_timeout=self._silence,
        )
        try:
            for kind, obj in events:
                if stop.is_set():
                    break
                self._relists_in_a_row = 0  # the server has our version: its history is there
                self._version = obj.get("metadata", {}).get("resourceVersion", self._version)
                self._redeliver()
                if kind == "BOOKMARK":
                    continue
                if self._transform is not None:
                    obj = self._transform(obj)
                key = key_of(obj)
                with self._lock:
                    previous = self._cache.get(key)
                    if kind == "DELETED":
                        self._cache.pop(key, None)
                    else:
                        self._cache[key] = obj
                self._deliver(key, previous, None if kind == "DELETED" else obj)
        except ReadTimeoutError:
            raise _Silent() from None

    def _deliver(self, key: str, old: Object | None, new: Object | None) -> None:
        """Hand a change to the handler. One it raises on is kept (merged with any later change
        of the key) and handed again by `_redeliver`: the cache has moved on, so a lost change
        would never come back."""
        pending = self._pending.pop(key, None)
        if pending is not None:
            old = pending[0]  # the handler never took the failed change: it still has this
            if old is None and new is None:
                return  # created and deleted unseen: nothing to tell
        try:
            self._handler(key, old, new)
        except Exception:
            log.exception(
                "informer handler failed; the change is handed again later",
                extra={"resource": self.resource.kind, "key": key},
            )
            metrics.HANDLER_ERRORS.labels(self.resource.kind).inc()
            self._pending[key] = (old, new)
            self._retry_at = time.monotonic() + self._retry_delay
            self._retry_delay = min(60.0, max(self._retry_delay * 2, self._retry_seconds))

    def _redeliver(self) -> None:
        """Hand again what the handler raised on, at the watch's next event or bookmark
        (a real server sends one about every minute), backing off while it keeps raising."""
        if not self._pending or time.monotonic() < self._retry_at:
            return
        for key, (old, new) in list(self._pending.items()):
            self._deliver(key, old, new)
        if not self._pending:
            self._retry_delay = self._retry_seconds


class _Silent(Exception):
    """A watch brought neither an event nor a bookmark for `silence_seconds`."""


def _too_large(error: ApiException) -> bool:
    """The server has not reached the version asked for (a 504 Timeout whose cause is
    ResourceVersionTooLarge): it lost its history, so the version will not come soon."""
    text = f"{error.reason} {error.body}"
    return error.status == 504 and (
        "ResourceVersionTooLarge" in text or "Too large resource version" in text
    )


def _backoff(attempt: int) -> float:
    return min(30.0, 0.2 * 2**attempt) * random.uniform(0.5, 1.0)


def _version(obj: Object) -> str:
    return str(obj.get("metadata", {}).get("resourceVersion", ""))


class Watches:
    """A loop's informers, run together for as long as the loop runs."""

    def __init__(self, informers: list[Informer]) -> None:
        self.informers = informers
        self._threads: list[threading.Thread] = []

    def synced(self) -> bool:
        return all(i.synced.is_set() for i in self.informers)

    def start(self, stop: threading.Event) -> None:
        """Raises RuntimeError for informers that already ran: build fresh ones."""
        self._threads = [i.start(stop) for i in self.informers]

    def stop(self) -> None:
        for informer in self.informers:
            informer.stop()
        for thread in self._threads:
            thread.join(timeout=5)

    @contextlib.contextmanager
    def running(self, stop: threading.Event, wake: threading.Event) -> Iterator[threading.Event]:
        """Watch while the loop's body runs, and wait for the first LIST of each. Yields `halt`:
        set on `stop` (which also sets `wake`, to end the loop's wait at once) or when the body
        exits, raising or not."""
        halt = threading.Event()

        def relay() -> None:
            # Polls halt too, so that it ends with the body: one thread per run, not a leak.
            while not halt.is_set():
                if stop.wait(0.05):
                    halt.set()
                    wake.set()

        relaying = threading.Thread(target=relay, name="watch-relay", daemon=True)
        relaying.start()
        try:
            self.start(halt)
            for informer in self.informers:  # woken by the last LIST at once, not by a poll
                while not halt.is_set() and not informer.synced.wait(0.05):
                    pass
            yield halt
        finally:
            halt.set()
            self.stop()
            relaying.join()
