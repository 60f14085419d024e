"""The one adapter between the controller and the API server, over the official client.

Objects travel as plain JSON dicts: the loops read a handful of fields, and deserialising
thousands of objects into the client's models would cost more than the decisions themselves.
Requests go straight to the client's connection pool, with its configuration (server, TLS,
the token and its refresh hook, the User-Agent): the generated API classes validate every
argument with pydantic and serialise the body again, about half the CPU of a write, and
importing them costs some 28 MiB that nothing here needs."""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any
from urllib.parse import quote, urlencode

import urllib3
from kubernetes import client
from kubernetes.client.rest import RESTResponse
from kubernetes.watch.watch import iter_resp_lines
from urllib3.exceptions import HTTPError
from urllib3.util.retry import Retry
from urllib3.util.url import parse_url

from scalers import metrics
from scalers.resources import EVENT, Resource

log = logging.getLogger(__name__)

MERGE_PATCH = "application/merge-patch+json"
PAGE = 100  # objects per LIST page: a page's JSON is decoded whole before it is cut down
MAX_READ_WAIT = 30.0  # a read waits for a Retry-After or backoff up to this long, then retries
MAX_RETRY_AFTER = 3600.0  # a longer Retry-After is taken for an hour


class RateLimiter:
    """A token bucket, as client-go's client-side limit: `burst` requests at once, then `qps`
    a second. A qps of 0 means no limit."""

    def __init__(
        self,
        qps: float,
        burst: int,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self._qps = qps
        self._burst = max(1, burst)
        self._tokens = float(self._burst)
        self._monotonic = monotonic
        self._sleep = sleep
        self._at = monotonic()
        self._lock = threading.Lock()

    def take(self) -> None:
        if self._qps <= 0:
            return
        with self._lock:
            now = self._monotonic()
            self._tokens = min(self._burst, self._tokens + (now - self._at) * self._qps)
            self._at = now
            self._tokens -= 1
            wait = -self._tokens / self._qps if self._tokens < 0 else 0.0
        if wait:
            self._sleep(wait)  # a real-time limit on real requests, not schedule time


class _CyclesPaused:
    """Holds off the cyclic garbage collector while a LIST page is decoded and cut down, in
    whichever threads do so at once. A page is a tree of some ten thousand containers and holds
    no cycle, but every one counts towards a collection: while it was decoded, collections of
    the young generations traversed it, and once it was promoted, full collections traversed
    the whole heap (some 20 ms each, every sixth page of real Nodes): a third of the decoding.
    Meanwhile other threads' collections wait, until the page is done."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._was_enabled = False

    def __enter__(self) -> None:
        with self._lock:
            if self._holders == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._holders += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._holders -= 1
            if self._holders == 0 and self._was_enabled:
                gc.enable()


_cycles_paused = _CyclesPaused()


class Stopper:
    """Ends a watch stream from another thread, at once: the connection is shut."""

    def __init__(self) -> None:
        self.stopped = False
        self._response: Any = None
        self._lock = threading.Lock()

    def streaming(self, response: Any) -> None:
        with self._lock:
            self._response = response
        if response is not None and self.stopped:  # stopped while the request was on its way
            self.stop()

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
            if self._response is not None:
                # The stream ended on its own meanwhile: the socket is closed (OSError), or
                # urllib3 has let go of it (ValueError) or of the connection (RuntimeError).
                with contextlib.suppress(OSError, ValueError, RuntimeError):
                    self._response.shutdown()


Fence = Callable[[], bool]


class Fenced(Exception):
    """A write not sent: its fence (the leadership term it was decided in) is closed."""

    def __init__(self) -> None:
        super().__init__("not the leader any more")


class RetryLater(Exception):
    """A write the server asked to wait for longer than a writer may hold its loop: the caller
    reschedules that write alone, `after` seconds from now."""

    def __init__(self, after: float, error: Exception) -> None:
        super().__init__(f"retry in {after:.1f} s")
        self.after = after
        self.error = error


class Closed(ConnectionError):
    """The adapter was closed (shutting down): no request is sent any more. A ConnectionError,
    so that every caller already prepared for a dropped connection handles it."""

    def __init__(self) -> None:
        super().__init__("the API client is closed: shutting down")


class Kube:
    """`write_timeout` bounds each attempt of a write, so that one begun while leading cannot
    land long after (give it at most lease_duration - renew_deadline); a write never waits
    longer than `max_write_wait` before a retry, it raises RetryLater instead. `sleep` waits
    between retries and returns early (True) when its event is set: `close()` sets it."""

    def __init__(
        self,
        api_client: client.ApiClient,
        request_timeout: float = 30.0,
        qps: float = 0.0,
        burst: int = 1,
        retries: int = 4,
        backoff: float = 0.2,
        write_timeout: float | None = None,
        max_write_wait: float = 1.0,
        sleep: Callable[[float, threading.Event], bool] | None = None,
    ) -> None:
        self.api_client = api_client
        _no_hidden_retries(api_client)
        self._timeout = request_timeout
        self._write_timeout = request_timeout if write_timeout is None else write_timeout
        self.max_write_wait = max_write_wait
        self._closed = threading.Event()
        self._sleep = sleep or (lambda seconds, wake: wake.wait(seconds))
        self._limiter = RateLimiter(qps, burst, sleep=lambda s: self._sleep(s, self._closed))
        self._retries = retries
        self._backoff = backoff
        self._in_flight = 0  # fenced writes under way, retries and waits included
        self._pool: tuple[urllib3.HTTPConnectionPool, str, str] | None = None  # see _server_pool
        self._idle = threading.Condition()

    def close(self) -> None:
        """Shutting down: waits between retries return at once, and every further request,
        or attempt, raises Closed."""
        self._closed.set()

    def drain(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for fenced writes under way to end (their fence is
        closed by then, so each is sent at most once more); True when none is left."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def _call(
        self, send: Callable[[], Any], write: bool = False, fence: Fence | None = None
    ) -> Any:
        """One request, `send()`: rate-limited, and retried with jittered exponential backoff
        (or at least the server's Retry-After) on 429, 5xx and dropped connections. Anything
        else, or the last failure, is raised to the caller. A write checks its fence before
        every attempt and never holds its caller in a long wait."""
        if fence is None:
            return self._attempts(send, write, fence)
        with self._idle:
            self._in_flight += 1
        try:
            return self._attempts(send, write, fence)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def _attempts(self, send: Callable[[], Any], write: bool, fence: Fence | None) -> Any:
        for attempt in range(self._retries + 1):
            self._limiter.take()
            if self._closed.is_set():
                raise Closed()
            if fence is not None and not fence():  # right before sending: retries included
                raise Fenced()
            try:
                return send()
            except client.ApiException as error:
                code, retry, after = str(error.status), _retryable(error), _retry_after(error)
                failure: Exception = error
            except (HTTPError, OSError) as error:
                code, retry, after, failure = "connection", True, None, error
            metrics.API_ERRORS.labels(code).inc()
            if not retry or attempt == self._retries:
                raise failure
            if after is not None:  # never sooner than the server asked
                delay = after * random.uniform(1.0, 1.2)
            else:
                delay = min(30.0, self._backoff * 2**attempt) * random.uniform(0.8, 1.2)
            if write and delay > self.max_write_wait:
                metrics.API_RETRIES_DEFERRED.labels(code).inc()
                raise RetryLater(delay, failure)
            metrics.API_RETRIES.labels(code).inc()
            log.info(
                "retrying a request",
                extra={"code": code, "delay": round(delay, 3), "error": describe(failure)},
            )
            self._sleep(min(delay, MAX_READ_WAIT), self._closed)  # close() ends it
        raise AssertionError("unreachable")

    def _send(
        self,
        verb: str,
        path: str,
        query: dict[str, Any] | None = None,
        body: bytes | None = None,
        content_type: str = "application/json",
        timeout: float | tuple[float, float] | None = None,
    ) -> urllib3.BaseHTTPResponse:
        """One HTTP request through the client's pool, the response unread; raises the
        client's own ApiException for an answer other than 2xx, as its API classes do."""
        configuration = self.api_client.configuration
        pools = self.api_client.rest_client.pool_manager
        if query:
            path += "?" + urlencode(query)
        headers = {**self.api_client.default_headers, "Accept": "application/json"}
        for setting in configuration.auth_settings().values():  # refreshes an expiring token
            if setting["in"] == "header" and setting["value"]:
                # A token file's final newline is no part of the token, as kubectl reads it.
                headers[setting["key"]] = setting["value"].strip()
        if body is not None:
            headers["Content-Type"] = content_type
        target = self._server_pool(configuration.host, pools)
        if target is None:
            response = pools.request(
                verb, configuration.host + path, body=body, headers=headers,
                timeout=_timeout(timeout), preload_content=False,
            )  # fmt: skip
        else:  # what PoolManager.urlopen does, but for finding the pool again
            pool, prefix = target
            response = pool.urlopen(
                verb, prefix + path, body=body, headers={**pools.headers, **headers},
                timeout=_timeout(timeout), preload_content=False, assert_same_host=False,
                redirect=False,
            )  # fmt: skip
        if not 200 <= response.status <= 299:
            answer = RESTResponse(response)
            answer.read()
            response.release_conn()
            raise client.ApiException.from_response(http_resp=answer, body=None, data=None)
        return response

    def _server_pool(
        self, host: str, pools: urllib3.PoolManager
    ) -> tuple[urllib3.HTTPConnectionPool, str] | None:
        """The client's connection pool for the API server at `host`, and the path its URL
        begins with: PoolManager.urlopen finds the pool again for every request, parsing the
        URL and normalising a pool key, a tenth of a write's CPU. None behind a proxy, whose
        manager words each request its own way. Found again once the manager has closed it
        (`clear`, or an eviction)."""
        if type(pools) is not urllib3.PoolManager:  # a ProxyManager, a SOCKSProxyManager
            return None
        found = self._pool
        if found is not None and found[2] == host and found[0].pool is not None:
            return found[0], found[1]
        url = parse_url(host)
        pool = pools.connection_from_host(url.host, url.port, url.scheme)
        self._pool = pool, (url.path or "").rstrip("/"), host
        return pool, self._pool[1]

    def _json(self, response: Any) -> Any:
        try:
            return json.loads(response.data)
        finally:
            response.release_conn()

    def list(
        self,
        resource: Resource,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> tuple[list[dict[str, Any]], str]:
        """All objects, and the collection's resourceVersion to watch from. Read in pages of
        `PAGE` objects, each reduced by `transform` before the next is read, so that a LIST of
        thousands of large objects never sits in memory whole. Each object is given the
        apiVersion and kind that a real server leaves out of a LIST's items (only the list has
        them: kubernetes/kubernetes#3030), as a watch event's object has them."""
        path = _path(resource, namespace)
        query: dict[str, Any] = {"limit": PAGE, **_selectors(label_selector, field_selector)}
        items: list[dict[str, Any]] = []
        while True:
            send = partial(self._send, "GET", path, dict(query), timeout=self._timeout)
            response = self._call(send)
            try:
                data = response.data
            finally:
                response.release_conn()
            with _cycles_paused:  # the page is freed before the collector may run again
                body = json.loads(data)
                page = body.get("items") or []
                for item in page:
                    item["apiVersion"], item["kind"] = resource.api_version, resource.kind
                items.extend(map(transform, page) if transform else page)
                metadata = body["metadata"]
                del body, page, data
            token = metadata.get("continue")
            if not token:  # every page is at the first one's resourceVersion
                return items, metadata["resourceVersion"]
            if token == query.get("continue"):  # a broken server (or proxy): never ending
                raise client.ApiException(
                    status=500, reason=f"LIST {path}: the server gave the same continue token twice"
                )
            query["continue"] = token

    def watch(
        self,
        resource: Resource,
        resource_version: str,
        stopper: Stopper,
        namespace: str | None = None,
        label_selector: str | None = None,
        timeout_seconds: int = 300,
        field_selector: str | None = None,
        read_timeout: float | None = None,
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """(type, raw object) events from `resource_version` on; raises ApiException(410) when
        that version has expired. `stopper.stop()` ends the stream from another thread. A
        stream silent for `read_timeout` seconds raises urllib3's ReadTimeoutError.

        The client's own Watch cannot read an ERROR event without deserialising every event into
        models (it looks for a `raw_object` key that only deserialisation adds), so the stream is
        read here, line by line, with the client's line reader."""
        self._limiter.take()
        if self._closed.is_set():
            raise Closed()
        query = {
            "watch": "true",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": timeout_seconds,
            **_selectors(label_selector, field_selector),
        }
        read = read_timeout or timeout_seconds + 30
        response = self._send(
            "GET", _path(resource, namespace), query, timeout=(self._timeout, read)
        )
        stopper.streaming(response)
        try:
            for line in iter_resp_lines(response):
                if stopper.stopped:
                    return
                event = json.loads(line)
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    raise client.ApiException(
                        status=status.get("code"),
                        reason=f"{status.get('reason')}: {status.get('message')}",
                    )
                yield event["type"], event["object"]
        finally:
            stopper.streaming(None)
            response.close()
            response.release_conn()

    def get(self, resource: Resource, namespace: str | None, name: str) -> dict[str, Any] | None:
        send = partial(self._send, "GET", _path(resource, namespace, name), timeout=self._timeout)
        try:
            response = self._call(send)
        except client.ApiException as error:
            if error.status == 404:
                return None
            raise
        result: dict[str, Any] = self._json(response)
        return result

    def create(
        self,
        resource: Resource,
        namespace: str | None,
        body: dict[str, Any],
        fence: Fence | None = None,
    ) -> Any:
        data = json.dumps(body).encode()  # once, whatever the retries
        path = _path(resource, namespace)
        send = partial(self._send, "POST", path, body=data, timeout=self._write_timeout)
        return self._json(self._call(send, write=True, fence=fence))

    def merge_patch(
        self,
        resource: Resource,
        namespace: str | None,
        name: str,
        body: dict[str, Any],
        field_manager: str,
        subresource: str | None = None,
        fence: Fence | None = None,
        answer: bool = True,
    ) -> Any:
        """A JSON merge patch (RFC 7386) as `field_manager`: an Update in managedFields, so we own
        exactly the leaves we change and nothing we omit is touched. Sent only while `fence()`
        holds, checked before every attempt. The object as written, or with `answer` False
        None: the answer is read but not decoded, for a caller that does not look at it."""
        send = partial(
            self._send, "PATCH", _path(resource, namespace, name, subresource),
            {"fieldManager": field_manager}, json.dumps(body).encode(), MERGE_PATCH,
            self._write_timeout,
        )  # fmt: skip
        response = self._call(send, write=True, fence=fence)
        if answer:
            return self._json(response)
        try:
            response.read()  # whole, so that the connection goes back to the pool
        finally:
            response.release_conn()
        return None

    def create_event(self, namespace: str, body: dict[str, Any]) -> Any:
        return self.create(EVENT, namespace, body)


def _path(
    resource: Resource,
    namespace: str | None,
    name: str | None = None,
    subresource: str | None = None,
) -> str:
    """The REST path: /api/v1 for the core group, else /apis/GROUP/VERSION; the namespace
    (none: every namespace), the object and its subresource."""
    prefix = "/api/v1" if resource.api_version == "v1" else f"/apis/{resource.api_version}"
    parts = [prefix]
    if resource.namespaced and namespace is not None:
        parts += ["namespaces", quote(namespace, safe="")]
    parts.append(resource.plural)
    if name is not None:
        parts.append(quote(name, safe=""))
    if subresource is not None:
        parts.append(subresource)
    return "/".join(parts)


def _timeout(timeout: float | tuple[float, float] | None) -> urllib3.Timeout | None:
    if timeout is None:
        return None
    if isinstance(timeout, tuple):
        return urllib3.Timeout(connect=timeout[0], read=timeout[1])
    return urllib3.Timeout(total=timeout)


def _no_hidden_retries(api_client: client.ApiClient) -> None:
    """urllib3 inside the client retries a GET answered 429 or 503 with Retry-After by itself,
    sleeping as long as the server says where close() cannot interrupt, and retries failed
    connections of any verb without asking the fence. Every retry is ours: switch urllib3's
    off, for the pools made from now on (and drop those made already)."""
    pools = api_client.rest_client.pool_manager
    pools.connection_pool_kw["retries"] = Retry(total=False)
    pools.clear()


def _selectors(label_selector: str | None, field_selector: str | None) -> dict[str, str]:
    chosen = {"labelSelector": label_selector, "fieldSelector": field_selector}
    return {name: value for name, value in chosen.items() if value}


def _retryable(error: client.ApiException) -> bool:
    return error.status == 429 or (error.status >= 500 and error.status != 501)


def _retry_after(error: client.ApiException) -> float | None:
    """The server's Retry-After in seconds, at most MAX_RETRY_AFTER; None when it sent none, or
    none that is a number of seconds (an HTTP date, rare from an API server, or `inf`): back
    off as usual."""
    value = (error.headers or {}).get("Retry-After")
    try:
        seconds = float(value) if value is not None else math.nan
    except ValueError:
        return None
    return min(MAX_RETRY_AFTER, max(0.0, seconds)) if math.isfinite(seconds) else None


def transient(error: Exception) -> bool:
    """Worth retrying: throttling, conflicts, server errors and dropped connections; not a
    request the server refused as invalid, a write fenced off, or a closed adapter."""
    if isinstance(error, Fenced | Closed):
        return False
    if isinstance(error, RetryLater):
        return True
    if isinstance(error, client.ApiException):
        return error.status in (409, 429) or error.status >= 500
    return True


def describe(error: Exception) -> str:
    """A failed request as a person reads it: the code and the server's own message."""
    if isinstance(error, RetryLater):
        return f"{describe(error.error)} (retry in {error.after:.1f} s)"
    if isinstance(error, Fenced | Closed):
        return str(error)
    if not isinstance(error, client.ApiException):
        return repr(error)
    try:
        body: dict[str, Any] = json.loads(error.body or "{}")
        message = str(body.get("message") or error.reason)
    except ValueError:
        message = str(error.reason)
    return f"HTTP {error.status}: {message}"
