"""Server-side Table printing (``Accept: application/json;as=Table;v=v1;g=meta.k8s.io``).

The columns and cells follow kubernetes/pkg/printers/internalversion/printers.go (1.32) for
every modelled kind. As on a real server, rows always carry the ``-o wide`` cells (the
table convertor prints wide; kubectl hides the priority-1 columns itself), and ages are
``duration.HumanDuration`` of the server's clock minus ``creationTimestamp``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from .store import ApiError, Obj, ResourceType, selector_string

Cell = str | int
Printer = Callable[[Obj, datetime], list[Cell]]

_NAME_DOC = (
    "Name must be unique within a namespace. Is required when creating resources, although "
    "some resources may allow a client to request the generation of a name automatically. "
    "Name is primarily intended for creation idempotence and configuration definition. Cannot "
    "be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/"
    "names#names"
)
_AGE_DOC = (
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created. It is not guaranteed to be set in happens-before order across separate "
    "operations. Clients may not set this value. It is represented in RFC3339 form and is in "
    "UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/"
    "community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)


def _col(name: str, description: str, kind: str = "string", priority: int = 0) -> Obj:
    out: Obj = {"name": name, "type": kind, "format": "", "description": description}
    out["priority"] = priority
    if name == "Name":
        out["format"] = "name"
    return out


_NAME, _AGE = _col("Name", _NAME_DOC), _col("Age", _AGE_DOC)
_CONTAINERS = _col("Containers", "Names of each container in the template.", priority=1)
_IMAGES = _col("Images", "Images referenced by each container in the template.", priority=1)
_SELECTOR = _col("Selector", "Label selector for pods.", priority=1)


def human_duration(seconds: float) -> str:
    """apimachinery's duration.HumanDuration, as kubectl's AGE column prints it."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        years, days = hours // 24 // 365, (hours // 24) % 365
        return f"{years}y" if days == 0 else f"{years}y{days}d"
    return f"{hours // 24 // 365}y"


def _since(stamp: Any, now: datetime) -> str:
    if not isinstance(stamp, str) or not stamp:
        return "<unknown>"
    try:
        then = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return "<unknown>"
    return human_duration((now - then).total_seconds())


def _age(obj: Obj, now: datetime) -> str:
    return _since(obj["metadata"].get("creationTimestamp"), now)


def _d(obj: Any, *path: str) -> Any:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _containers(template: Any) -> list[Cell]:
    containers = _d(template, "spec", "containers") or []
    names = ",".join(str(c.get("name", "")) for c in containers if isinstance(c, dict))
    images = ",".join(str(c.get("image", "")) for c in containers if isinstance(c, dict))
    return [names, images]


# --- printers ------------------------------------------------------------------------------


def _namespace(obj: Obj, now: datetime) -> list[Cell]:
    return [obj["metadata"]["name"], str(_d(obj, "status", "phase") or ""), _age(obj, now)]


_ROLE_PREFIX = "node-role.kubernetes.io/"


def _node(obj: Obj, now: datetime) -> list[Cell]:
    status = obj.get("status") or {}
    ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    states = ["Ready" if ready[-1].get("status") == "True" else "NotReady"] if ready else []
    states = states or ["Unknown"]
    if _d(obj, "spec", "unschedulable"):
        states.append("SchedulingDisabled")
    labels = obj["metadata"].get("labels") or {}
    roles = {k[len(_ROLE_PREFIX) :] for k in labels if k.startswith(_ROLE_PREFIX)} - {""}
    if labels.get("kubernetes.io/role"):
        roles.add(labels["kubernetes.io/role"])
    info = status.get("nodeInfo") or {}

    def address(kind: str) -> str:
        found = [a.get("address") for a in status.get("addresses") or [] if a.get("type") == kind]
        return str(found[0]) if found else "<none>"

    def known(key: str) -> str:
        return str(info.get(key) or "<unknown>")

    return [
        obj["metadata"]["name"], ",".join(states), ",".join(sorted(roles)) or "<none>",
        _age(obj, now), str(info.get("kubeletVersion") or ""), address("InternalIP"),
        address("ExternalIP"), known("osImage"), known("kernelVersion"),
        known("containerRuntimeVersion"),
    ]  # fmt: skip


def _pod(obj: Obj, now: datetime) -> list[Cell]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    statuses = status.get("containerStatuses") or []
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(_int(c.get("restartCount")) for c in statuses)
    reason = str(status.get("reason") or status.get("phase") or "")
    if obj["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    gates = spec.get("readinessGates") or []
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    gates_cell = (
        f"{sum(1 for g in gates if conditions.get(g.get('conditionType')) == 'True')}/{len(gates)}"
        if gates
        else "<none>"
    )
    return [
        obj["metadata"]["name"], f"{ready}/{len(spec.get('containers') or [])}", reason,
        str(restarts), _age(obj, now), str(status.get("podIP") or "<none>"),
        str(spec.get("nodeName") or "<none>"), str(status.get("nominatedNodeName") or "<none>"),
        gates_cell,
    ]  # fmt: skip


def _configmap(obj: Obj, now: datetime) -> list[Cell]:
    count = len(obj.get("data") or {}) + len(obj.get("binaryData") or {})
    return [obj["metadata"]["name"], count, _age(obj, now)]


def _event(obj: Obj, now: datetime) -> list[Cell]:
    """printEvent; an events.k8s.io/v1 Event is read as the core Event it converts to."""
    if obj["apiVersion"] == "events.k8s.io/v1":
        involved, message = obj.get("regarding") or {}, obj.get("note")
        first_stamp, last_stamp = (
            obj.get("deprecatedFirstTimestamp"),
            obj.get("deprecatedLastTimestamp"),
        )
        count, source = obj.get("deprecatedCount"), obj.get("deprecatedSource") or {}
        controller = obj.get("reportingController")
    else:
        involved, message = obj.get("involvedObject") or {}, obj.get("message")
        first_stamp, last_stamp = obj.get("firstTimestamp"), obj.get("lastTimestamp")
        count, source = obj.get("count"), obj.get("source") or {}
        controller = obj.get("reportingComponent")
    first = _since(first_stamp, now) if first_stamp else _since(obj.get("eventTime"), now)
    last = _since(last_stamp, now) if last_stamp else first
    series = obj.get("series")
    if isinstance(series, dict):
        last, count = _since(series.get("lastObservedTime"), now), series.get("count")
    elif not count:
        count = 1  # singleton events have no count in the new API
    kind, name = str(involved.get("kind") or "").lower(), involved.get("name")
    component = source.get("component") or controller or ""
    instance = source.get("host") or obj.get("reportingInstance") or ""
    return [
        last, str(obj.get("type") or ""), str(obj.get("reason") or ""),
        f"{kind}/{name}" if name else kind, str(involved.get("fieldPath") or ""),
        f"{component}, {instance}" if instance else component,
        str(message or "").strip(), first, _int(count), obj["metadata"]["name"],
    ]  # fmt: skip


def _deployment(obj: Obj, now: datetime) -> list[Cell]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return [
        obj["metadata"]["name"],
        f"{_int(status.get('readyReplicas'))}/{_int(spec.get('replicas'))}",
        _int(status.get("updatedReplicas")), _int(status.get("availableReplicas")),
        _age(obj, now), *_containers(spec.get("template")), selector_string(spec.get("selector")),
    ]  # fmt: skip


def _statefulset(obj: Obj, now: datetime) -> list[Cell]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    ready = f"{_int(status.get('readyReplicas'))}/{_int(spec.get('replicas'))}"
    return [obj["metadata"]["name"], ready, _age(obj, now), *_containers(spec.get("template"))]


def _replicaset(obj: Obj, now: datetime) -> list[Cell]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return [
        obj["metadata"]["name"], _int(spec.get("replicas")), _int(status.get("replicas")),
        _int(status.get("readyReplicas")), _age(obj, now), *_containers(spec.get("template")),
        selector_string(spec.get("selector")),
    ]  # fmt: skip


def _quantity(value: Any) -> str:
    return "<unknown>" if value is None else str(value)


def _metric(spec: Obj, status: Any) -> str:
    """One TARGETS entry of formatHPAMetrics: ``<name>: <current>/<target>``."""
    kind = spec.get("type")
    key = {"Resource": "resource", "ContainerResource": "containerResource", "Pods": "pods",
           "Object": "object", "External": "external"}.get(str(kind))  # fmt: skip
    if key is None:
        return "<unknown type>"
    source, current = spec.get(key) or {}, _d(status, key, "current") or {}
    target = source.get("target") or {}
    name = source.get("name") or _d(source, "metric", "name") or ""
    if key in ("resource", "containerResource") and "averageValue" not in target:
        have = current.get("averageUtilization")
        utilization = target.get("averageUtilization")
        text = f"{'<unknown>' if have is None else f'{have}%'}/"
        text += "<auto>" if utilization is None else f"{utilization}%"
    elif "averageValue" in target or key in ("resource", "containerResource", "pods"):
        text = f"{_quantity(current.get('averageValue'))}/{target.get('averageValue')}"
        text += " (avg)" if key in ("object", "external") else ""
    else:
        text = f"{_quantity(current.get('value'))}/{target.get('value')}"
    return f"{name}: {text}"


def _hpa(obj: Obj, now: datetime) -> list[Cell]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    metrics = [m for m in spec.get("metrics") or [] if isinstance(m, dict)]
    current = status.get("currentMetrics") or []
    listed = [_metric(m, current[i] if i < len(current) else None) for i, m in enumerate(metrics)]
    targets = ", ".join(listed[:2]) or "<none>"
    if len(listed) > 2:
        targets += f" + {len(listed) - 2} more..."
    low = spec.get("minReplicas")
    return [
        obj["metadata"]["name"], f"{ref.get('kind', '')}/{ref.get('name', '')}", targets,
        "<unset>" if low is None else str(low), _int(spec.get("maxReplicas")),
        _int(status.get("currentReplicas")), _age(obj, now),
    ]  # fmt: skip


def _lease(obj: Obj, now: datetime) -> list[Cell]:
    holder = _d(obj, "spec", "holderIdentity") or ""
    return [obj["metadata"]["name"], str(holder), _age(obj, now)]


_EVENT_COLUMNS = [
    _col("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
    _col("Type", "Type of this event (Normal, Warning), new types could be added in the future"),
    _col("Reason", "This should be a short, machine understandable string that gives the reason "
         "for the transition into the object's current status."),
    _col("Object", "The object that this event is about."),
    _col("Subobject", "The field of the involved object this event is about.", priority=1),
    _col("Source", "The component reporting this event.", priority=1),
    _col("Message", "A human-readable description of the status of this operation."),
    _col("First Seen", "The time at which the event was first recorded.", priority=1),
    _col("Count", "The number of times this event has occurred.", priority=1),
    _col("Name", _NAME_DOC, priority=1),
]  # fmt: skip
_APPS_WIDE = [_CONTAINERS, _IMAGES]
PRINTERS: dict[str, tuple[list[Obj], Printer]] = {
    "Namespace": ([_NAME, _col("Status", "The status of the namespace"), _AGE], _namespace),
    "Node": (
        [
            _NAME, _col("Status", "The status of the node"), _col("Roles", "The roles of the node"),
            _AGE, _col("Version", "Kubelet Version reported by the node."),
            _col("Internal-IP", "List of addresses reachable to the node.", priority=1),
            _col("External-IP", "List of addresses reachable to the node.", priority=1),
            _col("OS-Image", "OS Image reported by the node.", priority=1),
            _col("Kernel-Version", "Kernel Version reported by the node.", priority=1),
            _col("Container-Runtime", "ContainerRuntime Version reported by the node.",
                 priority=1),
        ],
        _node,
    ),
    "Pod": (
        [
            _NAME, _col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
            _col("Status", "The aggregate status of the containers in this pod."),
            _col("Restarts", "The number of times the containers in this pod have been "
                 "restarted and when the last container in this pod has restarted."),
            _AGE, _col("IP", "IP address allocated to the pod.", priority=1),
            _col("Node", "The node the pod is bound to.", priority=1),
            _col("Nominated Node", "The node the pod is nominated to run on.", priority=1),
            _col("Readiness Gates", "The pod's readiness gates.", priority=1),
        ],
        _pod,
    ),
    "ConfigMap": ([_NAME, _col("Data", "The number of data entries.", "integer"), _AGE],
                  _configmap),
    "Event": (_EVENT_COLUMNS, _event),
    "Deployment": (
        [
            _NAME, _col("Ready", "Number of the pod with ready state"),
            _col("Up-to-date", "Total number of non-terminated pods targeted by this deployment "
                 "that have the desired template spec.", "integer"),
            _col("Available", "Total number of available pods (ready for at least "
                 "minReadySeconds) targeted by this deployment.", "integer"),
            _AGE, *_APPS_WIDE, _SELECTOR,
        ],
        _deployment,
    ),
    "StatefulSet": (
        [_NAME, _col("Ready", "Number of the pod with ready state"), _AGE, *_APPS_WIDE],
        _statefulset,
    ),
    "ReplicaSet": (
        [
            _NAME, _col("Desired", "Replicas is the number of desired replicas.", "integer"),
            _col("Current", "Replicas is the most recently observed number of replicas.",
                 "integer"),
            _col("Ready", "The number of ready replicas for this replica set.", "integer"),
            _AGE, *_APPS_WIDE, _SELECTOR,
        ],
        _replicaset,
    ),
    "HorizontalPodAutoscaler": (
        [
            _NAME, _col("Reference", "The target resource to scale."),
            _col("Targets", "The metrics used to calculate the desired replica count."),
            _col("MinPods", "The lower limit for the number of pods that can be set by the "
                 "autoscaler."),
            _col("MaxPods", "The upper limit for the number of pods that can be set by the "
                 "autoscaler.", "integer"),
            _col("Replicas", "Current number of replicas of pods managed by this autoscaler.",
                 "integer"),
            _AGE,
        ],
        _hpa,
    ),
    "Lease": (
        [_NAME, _col("Holder", "The holder identity of the lease."), _AGE],
        _lease,
    ),
}  # fmt: skip


# --- negotiation and rendering -----------------------------------------------------------


def negotiate(accept: str) -> str | None:
    """The Table group-version an ``Accept`` header asks for, or None for plain JSON.

    As a real server: the first acceptable media type wins; ``as=Table`` must name
    meta.k8s.io v1 or v1beta1; a list of only other ``as=`` transforms is a 406. Any other
    Accept (protobuf, YAML) gets JSON, the one encoding this server speaks."""
    transforms = False
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        media, params = fields[0].lower(), dict(f.partition("=")[::2] for f in fields[1:] if f)
        if media not in ("application/json", "application/*", "*/*"):
            continue
        target = params.get("as")
        if target is None:
            return None
        transforms = True
        if (
            target == "Table"
            and params.get("g") == "meta.k8s.io"
            and params.get("v") in ("v1", "v1beta1")
        ):
            return str(params["v"])
    if not transforms:
        return None
    raise ApiError(406, "NotAcceptable", "only the following media types are accepted: "
                   "application/json, application/json;as=Table;v=v1;g=meta.k8s.io, "
                   "application/json;as=Table;v=v1beta1;g=meta.k8s.io")  # fmt: skip


def content_type(version: str) -> str:
    return f"application/json;as=Table;v={version};g=meta.k8s.io"


def _row_object(obj: Obj, version: str, include: str) -> Obj | None:
    if include == "None":
        return None  # serialised as "object": null, as Go's empty RawExtension
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": f"meta.k8s.io/{version}",
            "metadata": obj["metadata"]}  # fmt: skip


def check_include(include: str) -> None:
    if include not in ("", "None", "Object", "PartialObjectMetadata"):
        raise ApiError(400, "BadRequest", f'unrecognized includeObject value: "{include}"')


def table(
    res: ResourceType,
    objs: Iterable[Obj],
    meta: Obj,
    now: datetime,
    version: str,
    include: str = "",
    headers: bool = True,
) -> Obj:
    """A metav1.Table of ``objs`` (a list's metadata or ``{"resourceVersion": ...}``)."""
    columns, printer = PRINTERS[res.kind]
    rows = []
    for obj in objs:
        row: Obj = {"cells": printer(obj, now)}
        row["object"] = _row_object(obj, version, include)
        rows.append(row)
    out: Obj = {"kind": "Table", "apiVersion": f"meta.k8s.io/{version}", "metadata": meta}
    out["columnDefinitions"] = columns if headers else None  # a watch sends them once
    out["rows"] = rows
    return out
