"""The fake API server refuses what a real one refuses for sizes and ranges (API-FACTS.md):
256 KiB of annotations per object, and int32 replica fields, verb by verb."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.builders import deployment, hpa

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
LIMIT = 256 * 1024


def status_of(call: Any) -> int:
    with pytest.raises(ApiException) as raised:
        call()
    return int(raised.value.status)


def test_annotations_up_to_256_kib_are_stored(hpas: client.AutoscalingV2Api) -> None:
    key = "example.com/pad"
    body = hpa("web", None, annotations={key: "x" * (LIMIT - len(key))})
    hpas.create_namespaced_horizontal_pod_autoscaler("shop", body)


@pytest.mark.parametrize("pad", ["x" * LIMIT, "é" * (LIMIT // 2)], ids=["ascii", "two-byte"])
def test_annotations_over_256_kib_are_invalid(hpas: client.AutoscalingV2Api, pad: str) -> None:
    body = hpa("web", None, annotations={"a": "1", "example.com/pad": pad})
    assert status_of(lambda: hpas.create_namespaced_horizontal_pod_autoscaler("shop", body)) == 422

    hpas.create_namespaced_horizontal_pod_autoscaler("shop", hpa("web", None))
    patch = {"metadata": {"annotations": {"example.com/pad": pad}}}
    patching = lambda: hpas.patch_namespaced_horizontal_pod_autoscaler(  # noqa: E731
        "web", "shop", patch, _content_type=MERGE
    )
    assert status_of(patching) == 422


TOO_LARGE = [2**31, 2**63, 10**30]


@pytest.mark.parametrize("value", TOO_LARGE)
@pytest.mark.parametrize("field", ["minReplicas", "maxReplicas"])
def test_hpa_bounds_beyond_int32_are_refused_on_create_and_update(
    hpas: client.AutoscalingV2Api, field: str, value: int
) -> None:
    body = hpa("web", None, max_replicas=2**31 - 1)
    body["spec"][field] = value
    assert status_of(lambda: hpas.create_namespaced_horizontal_pod_autoscaler("shop", body)) == 400

    stored = hpas.create_namespaced_horizontal_pod_autoscaler("shop", hpa("web", None)).to_dict()
    update = hpa("web", None)
    update["metadata"]["resourceVersion"] = stored["metadata"]["resource_version"]
    update["spec"][field] = value
    replacing = lambda: hpas.replace_namespaced_horizontal_pod_autoscaler(  # noqa: E731
        "web", "shop", update
    )
    assert status_of(replacing) == 400


@pytest.mark.parametrize("value", TOO_LARGE)
def test_merge_and_json_patches_beyond_int32_are_invalid(
    hpas: client.AutoscalingV2Api, value: int
) -> None:
    hpas.create_namespaced_horizontal_pod_autoscaler("shop", hpa("web", None))
    for kind, patch in [
        (MERGE, {"spec": {"maxReplicas": value}}),
        (JSON_PATCH, [{"op": "replace", "path": "/spec/maxReplicas", "value": value}]),
    ]:
        patching = lambda k=kind, p=patch: hpas.patch_namespaced_horizontal_pod_autoscaler(  # noqa: E731
            "web", "shop", p, _content_type=k
        )
        assert status_of(patching) == 422
    assert hpas.read_namespaced_horizontal_pod_autoscaler("web", "shop").spec.max_replicas == 20


def test_a_strategic_merge_patch_wraps_int32(hpas: client.AutoscalingV2Api) -> None:
    hpas.create_namespaced_horizontal_pod_autoscaler("shop", hpa("web", None))

    def strategic(value: int) -> Any:
        return hpas.patch_namespaced_horizontal_pod_autoscaler(
            "web", "shop", {"spec": {"maxReplicas": value}}, _content_type=STRATEGIC
        )

    assert status_of(lambda: strategic(2**31)) == 422  # -2147483648: not a valid maximum
    assert strategic(2**32 + 21).spec.max_replicas == 21


def test_deployment_and_scale_replicas_beyond_int32(api_client: client.ApiClient) -> None:
    apps = client.AppsV1Api(api_client)
    too_large = deployment(replicas=2**31, namespace="shop", container="web", image="web")
    assert status_of(lambda: apps.create_namespaced_deployment("shop", too_large)) == 400
    apps.create_namespaced_deployment(
        "shop", deployment(replicas=1, namespace="shop", container="web", image="web")
    )

    def scale(kind: str, value: int) -> Any:
        return apps.patch_namespaced_deployment_scale(
            "web", "shop", {"spec": {"replicas": value}}, _content_type=kind
        )

    assert status_of(lambda: scale(MERGE, 2**31)) == 422
    assert scale(STRATEGIC, 2**32 + 3).spec.replicas == 3
    body = {"metadata": {"name": "web", "namespace": "shop"}, "spec": {"replicas": 2**31}}
    replacing = lambda: apps.replace_namespaced_deployment_scale("web", "shop", body)  # noqa: E731
    assert status_of(replacing) == 400
    assert apps.read_namespaced_deployment("web", "shop").spec.replicas == 3
