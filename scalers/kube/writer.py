"""The one way both loops write: only the spec fields they own, under their own field manager,
each attempt fenced by the leadership term the write was decided in; a dry run sends nothing.
What became of a write is a value, `Written`, which the loops report."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes.client import ApiException
from urllib3.exceptions import HTTPError

from scalers import metrics
from scalers.kube.client import Closed, Fence, Fenced, Kube, RetryLater, describe, transient
from scalers.kube.lease import Leadership
from scalers.resources import Resource

log = logging.getLogger(__name__)

RETRY_AFTER = 10.0  # the soonest a failed write is worth trying again, in seconds


@dataclass(frozen=True)
class Written:
    """What became of one write."""

    action: str  # write | would-write | not-leader | abandoned | failed
    detail: str = ""
    retry_after: float | None = None  # failed, and worth trying again this many seconds on

    @property
    def sent(self) -> bool:
        return self.action == "write"


class Writer:
    def __init__(
        self, kube: Kube, loop: str, field_manager: str, leadership: Leadership, dry_run: bool
    ) -> None:
        self._kube = kube
        self._loop = loop
        self._field_manager = field_manager
        self._leadership = leadership
        self._dry_run = dry_run
        self._dropping = False  # writes are being dropped (fenced off, or shutting down)

    def spec(
        self, resource: Resource, obj: dict[str, Any], values: dict[str, int], term: int
    ) -> Written:
        """Set `spec.<field>` of `obj` for each of `values`, in one request."""
        meta = obj["metadata"]
        return self._send(
            lambda fence: write_spec_fields(
                self._kube, resource, meta["namespace"], meta["name"], values,
                self._field_manager, fence,
            ),
            term,
        )  # fmt: skip

    def create(
        self, resource: Resource, namespace: str, body: dict[str, Any], term: int
    ) -> Written:
        """Create an object the loop needs: not a scaling write, so not counted in WRITES."""
        return self._send(
            lambda fence: self._kube.create(resource, namespace, body, fence=fence), term, False
        )

    def _send(self, request: Callable[[Fence], object], term: int, counted: bool = True) -> Written:
        if self._dry_run:
            return Written("would-write", "dry run")
        try:
            request(lambda: self._leadership.holds(term))
        except (Fenced, Closed) as error:  # lost the lease, or stopping: the next leader catches up
            if not self._dropping:  # one line for the burst, not one per object
                self._dropping = True
                log.warning(f"writes not sent: {error}", extra={"loop": self._loop})
            return Written("not-leader" if isinstance(error, Fenced) else "abandoned", str(error))
        except (ApiException, RetryLater, HTTPError, OSError) as error:
            if counted:
                metrics.WRITES.labels(self._loop, "error").inc()
            after = None
            if transient(error):
                after = max(RETRY_AFTER, error.after if isinstance(error, RetryLater) else 0.0)
            return Written("failed", describe(error), after)
        if counted:
            metrics.WRITES.labels(self._loop, "success").inc()
        self._dropping = False
        return Written("write")


def write_spec_fields(
    kube: Kube,
    resource: Resource,
    namespace: str,
    name: str,
    values: dict[str, int],
    field_manager: str,
    fence: Fence | None = None,
) -> None:
    """Set `spec.<field>` for each of `values`, while `fence()` holds (see Kube.merge_patch). A
    workload's replicas go through the scale subresource, as kubectl scale and the HPA
    controller do. What the server answers is not decoded: the watch brings the object."""
    if resource.scalable and set(values) == {"replicas"}:
        body = {"spec": {"replicas": values["replicas"]}}
        kube.merge_patch(
            resource, namespace, name, body, field_manager, subresource="scale", fence=fence,
            answer=False,
        )  # fmt: skip
        return
    kube.merge_patch(
        resource, namespace, name, {"spec": dict(values)}, field_manager, fence=fence,
        answer=False,
    )  # fmt: skip
