"""A watch-fed cache, as client-go's informers: LIST once, WATCH from that resourceVersion,
re-watch after a dropped stream without re-listing, and re-list only after 410 Gone."""

from __future__ import annotations

import contextlib
import logging
import random
import threading
from collections.abc import Callable, Iterator
from typing import Any

from kubernetes.client import ApiException

from scalers import metrics
from scalers.kube.client import Kube, Stopper
from scalers.kube.resources import Resource

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
        self._cache: dict[str, Object] = {}
        self._lock = threading.Lock()
        self._stopper: Stopper | None = None
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
        self._version: str | None = None  # the last resourceVersion seen: a watch resumes there
        failures = 0
        while not stop.is_set():
            try:
                if self._version is None:
                    self._version = self._relist()
                self._watch(self._version, stop)
                failures = 0
            except ApiException as error:
                if error.status == 410:
                    log.info("watch expired, re-listing", extra={"resource": self.resource.kind})
                    metrics.WATCH_RELISTS.labels(self.resource.kind).inc()
                    self._version = None
                    continue
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
            if failures and not stop.is_set():
                self.watch_restarts += 1
                metrics.WATCH_RESTARTS.labels(self.resource.kind).inc()
                stop.wait(min(30.0, 0.2 * 2**failures) * random.uniform(0.5, 1.0))

    def stop(self) -> None:
        if self._stopper is not None:
            self._stopper.stop()

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
            if previous is None or _version(previous) != _version(obj):
                self._handler(key, previous, obj)
        for key in old.keys() - fresh.keys():
            self._handler(key, old[key], None)
        self.synced.set()
        return version

    def _watch(self, version: str, stop: threading.Event) -> None:
        self._stopper = Stopper()
        events = self._kube.watch(
            self.resource,
            version,
            self._stopper,
            self.namespace,
            self.label_selector,
            self._watch_timeout,
            self.field_selector,
        )
        for kind, obj in events:
            if stop.is_set():
                break
            self._version = obj.get("metadata", {}).get("resourceVersion", self._version)
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
            self._handler(key, previous, None if kind == "DELETED" else obj)


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
        self._threads = [
            threading.Thread(
                target=i.run, args=(stop,), name=f"watch-{i.resource.kind}", daemon=True
            )
            for i in self.informers
        ]
        for thread in self._threads:
            thread.start()

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
            stop.wait()
            halt.set()
            wake.set()

        threading.Thread(target=relay, daemon=True).start()
        self.start(halt)
        try:
            while not halt.is_set() and not self.synced():
                halt.wait(0.05)
            yield halt
        finally:
            halt.set()
            self.stop()
