"""The adapter under throttling and server errors: retried with backoff, counted, never lost."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import urllib3
from kubernetes.client import ApiClient, ApiException, Configuration
from prometheus_client import REGISTRY

from scalers.fakeapi import FakeApiServer
from scalers.kube.client import (
    MAX_RETRY_AFTER,
    Closed,
    Fenced,
    Kube,
    RateLimiter,
    RetryLater,
    Stopper,
    describe,
    transient,
)
from scalers.kube.writer import write_spec_fields
from scalers.resources import CONFIGMAP, HPA
from tests.builders import configmap, hpa
from tests.support import wait_for

PATH = "horizontalpodautoscalers"


def sample(name: str, code: str) -> float:
    return REGISTRY.get_sample_value(name, {"code": code}) or 0.0


def test_a_burst_of_429s_and_500s_ends_with_the_value_written(server: FakeApiServer, kube: Kube):
    server.create(hpa("web", None))
    server.faults.inject(429, count=2, method="PATCH", path_contains=PATH, retry_after=0)
    server.faults.inject(500, count=2, method="PATCH", path_contains=PATH)
    before = {code: sample("scalers_api_retries_total", code) for code in ("429", "500")}

    write_spec_fields(kube, HPA, "shop", "web", {"minReplicas": 7}, "test")

    assert (
        server.get("autoscaling/v2", "HorizontalPodAutoscaler", "shop", "web")["spec"][
            "minReplicas"
        ]
        == 7
    )
    assert [r.status for r in server.requests if r.method == "PATCH"] == [429, 429, 500, 500, 200]
    for code in ("429", "500"):
        assert sample("scalers_api_retries_total", code) == before[code] + 2


def test_retries_give_up_after_four_and_raise(server: FakeApiServer, kube: Kube):
    server.create(hpa("web", None))
    server.faults.inject(503, count=10, method="PATCH", path_contains=PATH)
    errors = sample("scalers_api_errors_total", "503")

    with pytest.raises(ApiException) as raised:
        write_spec_fields(kube, HPA, "shop", "web", {"minReplicas": 7}, "test")

    assert raised.value.status == 503
    assert len([r for r in server.requests if r.method == "PATCH"]) == 5
    assert sample("scalers_api_errors_total", "503") == errors + 5


@pytest.mark.parametrize("status", [404, 409, 422])
def test_a_refusal_is_not_retried(server: FakeApiServer, kube: Kube, status: int):
    server.create(hpa("web", None))
    server.faults.inject(status, count=1, method="PATCH", path_contains=PATH)

    with pytest.raises(ApiException):
        write_spec_fields(kube, HPA, "shop", "web", {"minReplicas": 7}, "test")

    assert len([r for r in server.requests if r.method == "PATCH"]) == 1


def test_a_dropped_connection_is_retried(kube: Kube):
    """Nothing listens on the port: every attempt fails to connect, each counted."""
    unreachable = FakeApiServer()
    unreachable.start()
    client = Kube(unreachable.api_client(), backoff=0.001, retries=2)
    unreachable.stop()
    before = sample("scalers_api_retries_total", "connection")

    with pytest.raises(Exception):  # noqa: B017 - urllib3's MaxRetryError or OSError
        client.get(HPA, "shop", "web")

    assert sample("scalers_api_retries_total", "connection") == before + 2


def test_the_rate_limit_lets_a_burst_through_then_paces_requests():
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    limiter = RateLimiter(qps=10, burst=3, monotonic=lambda: now[0], sleep=sleep)
    for _ in range(5):
        limiter.take()
    assert slept == [0.1, 0.1]  # three at once, then one every 1/qps
    now[0] += 10  # idle: the bucket refills up to the burst, no further
    for _ in range(4):
        limiter.take()
    assert slept == [0.1, 0.1, 0.1]


def test_stopping_a_watch_whose_stream_already_ended_is_harmless(server: FakeApiServer):
    """Shutting down: the stream may have ended on its own just before (the server's timeout),
    and urllib3 has let go of its socket; stop() must not raise in the shutdown path."""
    response = urllib3.PoolManager().request(
        "GET", f"{server.url}/api/v1/namespaces/default/configmaps", preload_content=False
    )
    response.read()
    response.close()
    stopper = Stopper()
    stopper.streaming(response)

    stopper.stop()

    assert stopper.stopped


class Sleeps:
    """Retry waits, recorded instead of slept; `wake` set means the adapter was closed."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    def __call__(self, seconds: float, wake: threading.Event) -> bool:
        self.slept.append(seconds)
        return wake.is_set()


@pytest.mark.parametrize("retry_after", [None, 3])
def test_a_read_waits_for_the_retry_after_and_urllib3_does_not_retry_behind_it(
    server: FakeApiServer, retry_after: int | None
):
    server.create(hpa("web", None))
    server.faults.inject(503, count=1, method="GET", path_contains=PATH, retry_after=retry_after)
    sleeps = Sleeps()
    kube = Kube(server.api_client(), backoff=0.001, sleep=sleeps)

    assert kube.get(HPA, "shop", "web") is not None

    # One wait, ours: at least what the server asked for, else the (tiny) backoff.
    [slept] = sleeps.slept
    assert 3 <= slept <= 3.6 if retry_after else slept < 0.01
    assert [r.status for r in server.requests if r.method == "GET"] == [503, 200]


@pytest.mark.parametrize("retry_after", [None, 5])
def test_a_write_never_waits_long_it_is_handed_back(server: FakeApiServer, retry_after: int | None):
    server.create(hpa("web", None))
    server.faults.inject(429, count=1, method="PATCH", path_contains=PATH, retry_after=retry_after)
    sleeps = Sleeps()
    kube = Kube(server.api_client(), backoff=2.0, sleep=sleeps)  # backoff: 2 s at first

    with pytest.raises(RetryLater) as raised:
        write_spec_fields(kube, HPA, "shop", "web", {"minReplicas": 7}, "test")

    assert raised.value.after >= (retry_after or 1.6)
    assert isinstance(raised.value.error, ApiException) and raised.value.error.status == 429
    assert transient(raised.value) and "HTTP 429" in describe(raised.value)
    assert sleeps.slept == []
    assert [r.status for r in server.requests if r.method == "PATCH"] == [429]


@pytest.mark.parametrize("retry_after", ["inf", "1e12", "nan", "soon"])
def test_a_retry_after_no_clock_can_reach_is_an_hour_at_most_or_the_usual_backoff(
    server: FakeApiServer, retry_after: str
):
    """A broken or hostile server's Retry-After never becomes a wait the loop cannot add to a
    date (an infinite one overflowed the retry's instant, and the write was never told)."""
    server.create(hpa("web", None))
    server.faults.inject(429, count=1, method="PATCH", path_contains=PATH, retry_after=retry_after)
    kube = Kube(server.api_client(), backoff=2.0, sleep=Sleeps())

    with pytest.raises(RetryLater) as raised:
        write_spec_fields(kube, HPA, "shop", "web", {"minReplicas": 7}, "test")

    after = raised.value.after
    expected = (0.0, 1.2 * MAX_RETRY_AFTER) if retry_after == "1e12" else (1.6, 2.4)  # backoff
    assert expected[0] <= after <= expected[1]
    assert datetime.now(UTC) + timedelta(seconds=after) > datetime.now(UTC)


@pytest.mark.parametrize("write", ["patch", "create"])
def test_the_fence_is_checked_before_every_attempt(server: FakeApiServer, write: str):
    server.create(hpa("web", None))
    method = "PATCH" if write == "patch" else "POST"
    server.faults.inject(500, count=1, method=method, path_contains=None)
    answers = iter([True, False])  # leading at the first attempt, deposed at the retry
    kube = Kube(server.api_client(), backoff=0.001)

    with pytest.raises(Fenced) as raised:
        if write == "patch":
            write_spec_fields(kube, HPA, "shop", "web", {"minReplicas": 7}, "test",
                              fence=lambda: next(answers))  # fmt: skip
        else:
            kube.create(CONFIGMAP, "shop", {"metadata": {"name": "c"}, "data": {}},
                        fence=lambda: next(answers))  # fmt: skip

    assert not transient(raised.value) and describe(raised.value) == "not the leader any more"
    assert [r.status for r in server.requests if r.method == method] == [500]
    with pytest.raises(Fenced):  # deposed before the first attempt: nothing is sent
        write_spec_fields(kube, HPA, "shop", "web", {"minReplicas": 7}, "test", fence=lambda: False)
    assert [r.status for r in server.requests if r.method == method] == [500]


def test_close_ends_a_retry_wait_and_every_later_request(server: FakeApiServer):
    server.faults.inject(503, count=100, method="GET", path_contains=PATH, retry_after=30)
    kube = Kube(server.api_client())
    failed: list[Exception] = []

    def read() -> None:
        try:
            kube.get(HPA, "shop", "web")
        except Exception as error:
            failed.append(error)

    reader = threading.Thread(target=read)
    reader.start()
    wait_for(lambda: any(r.method == "GET" for r in server.requests))
    kube.close()
    reader.join(timeout=10)  # not the 30 s the server asked for
    assert not reader.is_alive()
    assert [type(e) for e in failed] == [Closed]
    with pytest.raises(Closed):
        kube.get(HPA, "shop", "web")
    assert len([r for r in server.requests if r.method == "GET"]) == 1
    assert not transient(failed[0])


def test_drain_waits_for_the_fenced_writes_under_way(server: FakeApiServer, kube: Kube):
    server.create(hpa("web", None))
    entered, leave = threading.Event(), threading.Event()

    def fence() -> bool:  # the write is under way while the fence is being asked
        entered.set()
        return leave.wait(timeout=10)

    writer = threading.Thread(
        target=write_spec_fields,
        args=(kube, HPA, "shop", "web", {"minReplicas": 7}, "test"),
        kwargs={"fence": fence},
    )
    writer.start()
    entered.wait(timeout=5)
    assert not kube.drain(0.05)
    leave.set()
    assert kube.drain(10)
    writer.join(timeout=5)
    assert (
        server.get("autoscaling/v2", "HorizontalPodAutoscaler", "shop", "web")["spec"][
            "minReplicas"
        ]
        == 7
    )


# -- the request path: the client's configuration, without its generated API classes ---------


@contextlib.contextmanager
def answering(body: bytes, seen: list[dict[str, str]]) -> Iterator[str]:
    """A server answering every GET 200 with `body`, noting each request's path and headers
    in `seen`; yields its URL."""

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), Recorder) as http:
        threading.Thread(target=http.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{http.server_address[1]}"
        finally:
            http.shutdown()


def test_every_request_carries_the_configured_token_refreshed_and_the_user_agent() -> None:
    """As the client's own API classes would send them: a token an exec plugin or the in-cluster
    loader refreshes (refresh_api_key_hook) is asked for at every request, and a token file's
    final newline is no part of it, as kubectl reads it."""
    seen: list[dict[str, str]] = []
    body = b'{"kind": "ConfigMap", "metadata": {"name": "x", "namespace": "kube-system"}}'
    with answering(body, seen) as url:
        configuration = Configuration(host=url)
        configuration.api_key["authorization"] = "expired"
        configuration.api_key_prefix["authorization"] = "Bearer"
        tokens = iter(["first\n", "second"])
        configuration.refresh_api_key_hook = lambda c: c.api_key.update(authorization=next(tokens))
        api_client = ApiClient(configuration)
        api_client.user_agent = "kube-scalers/test"
        kube = Kube(api_client)
        assert kube.get(CONFIGMAP, "kube-system", "x") == {
            "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "kube-system"},
        }  # fmt: skip
        kube.get(CONFIGMAP, "kube-system", "x")
    assert [s["authorization"] for s in seen] == ["Bearer first", "Bearer second"]
    assert {s["user-agent"] for s in seen} == {"kube-scalers/test"}
    assert {s["path"] for s in seen} == {"/api/v1/namespaces/kube-system/configmaps/x"}


def test_an_error_answer_is_the_client_s_own_exception(server: FakeApiServer, kube: Kube) -> None:
    with pytest.raises(ApiException) as missing:
        kube.merge_patch(HPA, "shop", "nope", {"spec": {}}, field_manager="kube-scalers-test")
    assert missing.value.status == 404
    assert describe(missing.value) == (
        'HTTP 404: horizontalpodautoscalers.autoscaling "nope" not found'
    )


def test_the_server_url_s_path_is_kept_a_closed_pool_found_again_and_a_proxy_used() -> None:
    """Requests go to the pool of the server's URL, found once: a URL with a path (a
    Rancher-style proxy) keeps it, a pool the client's manager closed is found again, and
    behind an HTTP proxy the manager words the request itself (the absolute URL)."""
    seen: list[str] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            body = b'{"kind": "ConfigMap", "metadata": {"name": "x", "namespace": "kube-system"}}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), Recorder) as http:
        threading.Thread(target=http.serve_forever, daemon=True).start()
        here = f"http://127.0.0.1:{http.server_address[1]}"
        kube = Kube(ApiClient(Configuration(host=here + "/k8s/clusters/c-1")))
        kube.get(CONFIGMAP, "kube-system", "x")
        kube.api_client.rest_client.pool_manager.clear()
        kube.get(CONFIGMAP, "kube-system", "x")
        proxied = Configuration(host="http://kube.example:6443")
        proxied.proxy = here
        Kube(ApiClient(proxied)).get(CONFIGMAP, "kube-system", "x")
        http.shutdown()
    path = "/api/v1/namespaces/kube-system/configmaps/x"
    assert seen == [f"/k8s/clusters/c-1{path}"] * 2 + [f"http://kube.example:6443{path}"]


def test_a_list_page_is_decoded_with_the_cycle_collector_paused_never_left_paused(
    server: FakeApiServer, kube: Kube
) -> None:
    """A decoded page holds no cycle; the collector resumes once it is cut down, whatever the
    transform does, and one the process had switched off stays off."""
    for name in ("a", "b"):
        server.create(configmap({}, name))
    seen: list[bool] = []

    def transform(obj: dict[str, Any]) -> dict[str, Any]:
        seen.append(gc.isenabled())
        return obj

    assert len(kube.list(CONFIGMAP, transform=transform)[0]) == 2
    assert seen == [False, False] and gc.isenabled()
    with pytest.raises(ZeroDivisionError):
        kube.list(CONFIGMAP, transform=lambda obj: {"ratio": 1 / 0})
    assert gc.isenabled()
    gc.disable()
    try:
        kube.list(CONFIGMAP)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_every_request_waits_its_turn_under_the_rate_limit(server: FakeApiServer) -> None:
    """--qps/--burst hold for every request the adapter sends, as client-go's limiter does."""
    server.create(configmap({"a": "1"}, name="x", namespace="kube-system"))
    sleeps = Sleeps()
    kube = Kube(server.api_client(), qps=10, burst=1, sleep=sleeps)
    for _ in range(3):
        kube.get(CONFIGMAP, "kube-system", "x")
    # Nothing is slept here, so the second waits for both tokens to come: 0.1 s, then 0.2 s.
    assert [round(s, 1) for s in sleeps.slept] == [0.1, 0.2]


def test_a_list_whose_server_repeats_its_continue_token_ends_with_an_error() -> None:
    """A broken server or proxy that hands back the token it was sent would page forever."""
    pages: list[dict[str, str]] = []
    body = b'{"items": [], "metadata": {"continue": "same", "resourceVersion": "1"}}'
    with answering(body, pages) as url, pytest.raises(ApiException) as raised:
        Kube(ApiClient(Configuration(host=url))).list(CONFIGMAP, "kube-system")
    assert "the same continue token twice" in str(raised.value.reason)
    assert len(pages) == 2
