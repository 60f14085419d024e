"""The adapter under throttling and server errors: retried with backoff, counted, never lost."""

from __future__ import annotations

import pytest
import urllib3
from kubernetes.client import ApiException
from prometheus_client import REGISTRY

from scalers.fakeapi import FakeApiServer
from scalers.kube.client import Kube, RateLimiter, Stopper
from scalers.kube.patch import write_spec_fields
from scalers.kube.resources import HPA
from tests.conftest import hpa

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
