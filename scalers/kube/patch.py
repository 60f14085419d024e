"""The one way both loops write: only the spec fields they own, in one request, under their
own field manager."""

from __future__ import annotations

from typing import Any

from scalers.kube.client import Fence, Kube
from scalers.resources import Resource


def write_spec_fields(
    kube: Kube,
    resource: Resource,
    namespace: str,
    name: str,
    values: dict[str, int],
    field_manager: str,
    fence: Fence | None = None,
) -> Any:
    """Set `spec.<field>` for each of `values`, while `fence()` holds (see Kube.merge_patch). A
    workload's replicas go through the scale subresource, as kubectl scale and the HPA
    controller do."""
    if resource.scalable and set(values) == {"replicas"}:
        body = {"spec": {"replicas": values["replicas"]}}
        return kube.merge_patch(
            resource, namespace, name, body, field_manager, subresource="scale", fence=fence
        )
    return kube.merge_patch(
        resource, namespace, name, {"spec": dict(values)}, field_manager, fence=fence
    )
