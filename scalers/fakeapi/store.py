"""Object store of the fake API server: resource registry, errors, selectors, defaulting,
validation, the write pipeline (resourceVersion, generation, managedFields), watch history
and per-watcher queues.

Stored objects are never mutated after they are stored: every write builds a new dict, so
readers can hand out the cached JSON bytes without copying the store.
"""

from __future__ import annotations

import functools
import json
import queue
import random
import re
import threading
import uuid
from bisect import bisect_left, bisect_right, insort
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from . import fields as F

Obj = dict[str, Any]


def dumps(obj: Any) -> bytes:
    """Compact, key-sorted JSON: stored objects are canonical, so equal means equal bytes."""
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


# --- registry ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: frozenset[str] = frozenset()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> str:
        return f"{self.group}/{self.plural}"

    @property
    def qualified(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


_STATUS = frozenset({"status"})
_SCALE = frozenset({"scale", "status"})
RESOURCES: tuple[ResourceType, ...] = (
    ResourceType("", "v1", "Namespace", "namespaces", False, ("ns",), _STATUS),
    ResourceType("", "v1", "Node", "nodes", False, ("no",), _STATUS),
    ResourceType("", "v1", "Pod", "pods", True, ("po",), _STATUS),
    ResourceType("", "v1", "ConfigMap", "configmaps", True, ("cm",)),
    ResourceType("", "v1", "Event", "events", True, ("ev",)),
    ResourceType("apps", "v1", "Deployment", "deployments", True, ("deploy",), _SCALE),
    ResourceType("apps", "v1", "StatefulSet", "statefulsets", True, ("sts",), _SCALE),
    ResourceType("apps", "v1", "ReplicaSet", "replicasets", True, ("rs",), _SCALE),
    ResourceType(
        "autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True,
        ("hpa",), _STATUS,
    ),
    ResourceType("coordination.k8s.io", "v1", "Lease", "leases", True),
    ResourceType("events.k8s.io", "v1", "Event", "events", True, ("ev",)),
)  # fmt: skip
BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}
BY_KIND = {(r.api_version, r.kind): r for r in RESOURCES}


def lookup_kind(api_version: str, kind: str) -> ResourceType:
    try:
        return BY_KIND[(api_version, kind)]
    except KeyError:
        raise ApiError(404, "NotFound", f"no kind {kind!r} in {api_version!r}") from None


# --- errors ------------------------------------------------------------------------------


class ApiError(Exception):
    """An error the server answers with a metav1.Status body."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: Obj | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code} {reason}: {message}")
        self.code, self.reason, self.message = code, reason, message
        self.details, self.headers = details, headers or {}

    def status(self) -> Obj:
        body: Obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure"}
        body["message"] = self.message
        if self.reason:  # omitted when empty, as Go's omitempty
            body["reason"] = self.reason
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def not_found(res: ResourceType, name: str) -> ApiError:
    details = {"name": name, "group": res.group, "kind": res.plural}
    return ApiError(404, "NotFound", f'{res.qualified} "{name}" not found', details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def conflict(res: ResourceType, name: str) -> ApiError:
    message = (
        f'Operation cannot be fulfilled on {res.qualified} "{name}": the object has been '
        "modified; please apply your changes to the latest version and try again"
    )
    return ApiError(
        409, "Conflict", message, {"name": name, "group": res.group, "kind": res.plural}
    )


_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")  # a namespace's name (RFC 1123 label)


def invalid(res: ResourceType, name: str, causes: list[Obj]) -> ApiError:
    parts = [f"{c['field']}: {c['message']}" for c in causes]
    text = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    group_kind = f"{res.kind}.{res.group}" if res.group else res.kind
    details = {"name": name, "group": res.group, "kind": res.kind, "causes": causes}
    return ApiError(422, "Invalid", f'{group_kind} "{name}" is invalid: {text}', details)


# --- selectors ---------------------------------------------------------------------------

_SET_RE = re.compile(r"^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$")
_EQ_RE = re.compile(r"^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$")
_KEY_RE = re.compile(r"^(!?)([\w./-]+)$")


def _split_terms(text: str) -> list[str]:
    terms, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return [t.strip() for t in terms if t.strip()]


class LabelSelector:
    """``a=b``, ``a==b``, ``a!=b``, ``a``, ``!a``, ``a in (x,y)``, ``a notin (x)``; comma = AND."""

    def __init__(self, text: str) -> None:
        self.reqs: list[tuple[str, str, frozenset[str]]] = []
        for term in _split_terms(text):
            if m := _SET_RE.match(term):
                values = frozenset(v.strip() for v in m.group(3).split(",") if v.strip())
                self.reqs.append((m.group(1), m.group(2), values))
            elif m := _EQ_RE.match(term):
                op = "in" if m.group(2) in ("=", "==") else "notin"
                self.reqs.append((m.group(1), op, frozenset({m.group(3)})))
            elif m := _KEY_RE.match(term):
                self.reqs.append((m.group(2), "!" if m.group(1) else "exists", frozenset()))
            else:
                raise bad_request(f"unable to parse requirement: {term!r}")

    def matches(self, obj: Obj) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        for key, op, values in self.reqs:
            present = key in labels
            if (
                (op == "exists" and not present)
                or (op == "!" and present)
                or (op == "in" and (not present or labels[key] not in values))
                or (op == "notin" and present and labels[key] in values)
            ):
                return False
        return True


class FieldSelector:
    """``path=value``, ``path==value``, ``path!=value`` on any dotted path, e.g. metadata.name."""

    def __init__(self, text: str) -> None:
        self.reqs: list[tuple[list[str], bool, str]] = []
        for term in _split_terms(text):
            m = re.match(r"^([\w.]+)\s*(==|=|!=)\s*(.*)$", term)
            if not m:
                raise bad_request(f"invalid field selector: {term!r}")
            self.reqs.append((m.group(1).split("."), m.group(2) != "!=", m.group(3)))

    def matches(self, obj: Obj) -> bool:
        for path, equal, value in self.reqs:
            node: Any = obj
            for key in path:
                node = node.get(key) if isinstance(node, dict) else None
            text = (
                "" if node is None else str(node).lower() if isinstance(node, bool) else str(node)
            )
            if (text == value) != equal:
                return False
        return True


def selector_string(selector: Any) -> str:
    """metav1.LabelSelector -> its string form (as in a Scale's status.selector)."""
    if not isinstance(selector, dict):
        return ""
    reqs = [(k, f"{k}={v}") for k, v in (selector.get("matchLabels") or {}).items()]
    ops = {"In": "in", "NotIn": "notin"}
    for expr in selector.get("matchExpressions") or []:
        key, op = expr.get("key", ""), expr.get("operator")
        values = ",".join(sorted(expr.get("values") or []))
        text = {"Exists": key, "DoesNotExist": "!" + key}.get(op or "")
        reqs.append((key, text or f"{key} {ops.get(op or '', 'in')} ({values})"))
    return ",".join(text for _, text in sorted(reqs))


# --- schema bits: unknown fields, type checks, defaults, validation ------------------------

_META_KEYS = F.SYSTEM_METADATA | {
    "generateName", "labels", "annotations", "ownerReferences", "finalizers",
}  # fmt: skip
_TOP_KEYS = {
    "ConfigMap": "data binaryData immutable",
    "v1/Event": "involvedObject reason message source firstTimestamp lastTimestamp count type "
    "eventTime series action related reportingComponent reportingInstance",
    "events.k8s.io/v1/Event": "eventTime series reportingController reportingInstance action "
    "reason regarding related note type deprecatedSource deprecatedFirstTimestamp "
    "deprecatedLastTimestamp deprecatedCount",
    "Lease": "spec",
}
_SPEC_KEYS = {
    "HorizontalPodAutoscaler": "scaleTargetRef minReplicas maxReplicas metrics behavior",
    "Lease": "holderIdentity leaseDurationSeconds acquireTime renewTime leaseTransitions "
    "strategy preferredHolder",
    "Deployment": "replicas selector template strategy minReadySeconds revisionHistoryLimit "
    "paused progressDeadlineSeconds",
    "ReplicaSet": "replicas minReadySeconds selector template",
    "StatefulSet": "replicas selector template volumeClaimTemplates serviceName "
    "podManagementPolicy updateStrategy revisionHistoryLimit minReadySeconds "
    "persistentVolumeClaimRetentionPolicy ordinals",
}
_INT_FIELDS = {
    "HorizontalPodAutoscaler": ("minReplicas", "maxReplicas"),
    "Deployment": ("replicas",),
    "StatefulSet": ("replicas",),
    "ReplicaSet": ("replicas",),
}
_NODE_INFO = (
    "machineID", "systemUUID", "bootID", "kernelVersion", "osImage", "containerRuntimeVersion",
    "kubeletVersion", "kubeProxyVersion", "operatingSystem", "architecture",
)  # fmt: skip
#: kinds whose strategy maintains metadata.generation (1 on create, +1 on a spec change)
_GENERATION_KINDS = frozenset(
    {"HorizontalPodAutoscaler", "Deployment", "StatefulSet", "ReplicaSet"}
)
_INITIAL_STATUS: dict[str, Obj] = {"Pod": {"phase": "Pending"}, "Namespace": {"phase": "Active"}}


def known_fields(res: ResourceType) -> tuple[list[str], list[str], list[str] | None]:
    """The fields the server knows: top level (besides apiVersion/kind/metadata), metadata,
    and spec (None where the spec is not checked). The OpenAPI documents are built from it."""
    top = _TOP_KEYS.get(f"{res.api_version}/{res.kind}") or _TOP_KEYS.get(res.kind, "spec status")
    spec = _SPEC_KEYS.get(res.kind)
    return top.split(), sorted(_META_KEYS), spec.split() if spec else None


def drop_unknown_fields(res: ResourceType, obj: Obj) -> list[str]:
    """Remove fields the schema does not know (top level, metadata, spec); return their paths."""
    top, meta_keys, spec_keys = known_fields(res)
    known = {"apiVersion", "kind", "metadata", *top}
    unknown = [k for k in obj if k not in known]
    meta, spec = obj.get("metadata"), obj.get("spec")
    if isinstance(meta, dict):
        unknown += [f"metadata.{k}" for k in meta if k not in meta_keys]
    if isinstance(spec, dict) and spec_keys is not None:
        unknown += [f"spec.{k}" for k in spec if k not in spec_keys]
    for path in unknown:
        F.remove_path(obj, tuple(path.split(".", 1)))
    return unknown


_MICRO_TIME_FIELDS = {"Lease": ("acquireTime", "renewTime")}
_MICRO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)")


def type_check(res: ResourceType, obj: Obj) -> None:
    """The decode errors (400) a typed Go server gives for the few fields we interpret."""

    def fail(path: str, value: Any, go_type: str) -> ApiError:
        kind = type(value).__name__.replace("str", "string").replace("dict", "object")
        return bad_request(
            f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}: json: '
            f"cannot unmarshal {kind} into Go struct field {path} of type {go_type}"
        )

    for key in ("metadata", "spec", "status"):
        if obj.get(key) is not None and not isinstance(obj[key], dict):
            raise fail(f"{res.kind}.{key}", obj[key], "object")
    meta = obj.get("metadata") or {}
    for key in ("labels", "annotations"):
        value = meta.get(key)
        if value is not None and not (
            isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
        ):
            raise fail(f"ObjectMeta.metadata.{key}", value, "map[string]string")
    spec = obj.get("spec") or {}
    for key in _INT_FIELDS.get(res.kind, ()):
        value = spec.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise fail(f"{res.kind}Spec.spec.{key}", value, "int32")
        if value is not None and not INT32_MIN <= value <= INT32_MAX:
            raise bad_request(
                f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}: json: '
                f"cannot unmarshal number {value} into Go struct field {res.kind}Spec.spec.{key} "
                "of type int32"
            )
    for key in _MICRO_TIME_FIELDS.get(res.kind, ()):
        value = spec.get(key)
        if value is not None and not (isinstance(value, str) and _MICRO_TIME.fullmatch(value)):
            # metav1.MicroTime parses with RFC3339Micro: exactly six fraction digits.
            raise bad_request(
                f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}: '
                f'parsing time {json.dumps(value)} as "2006-01-02T15:04:05.000000Z07:00"'
            )


INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def int32_after_patch(res: ResourceType, obj: Any, strategic: bool) -> Any:
    """A patched object's int32 fields as the real server decodes them: a strategic merge patch
    goes through an unstructured conversion that wraps the number (2147483648 becomes
    -2147483648, 4294967297 becomes 1); a merge or JSON patch is refused with a 422."""
    spec = obj.get("spec") if isinstance(obj, dict) else None
    if not isinstance(spec, dict):
        return obj
    for key in _INT_FIELDS.get(res.kind, ()):
        value = spec.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or INT32_MIN <= value <= INT32_MAX:
            continue  # type_check judges the rest
        if strategic:
            spec[key] = (value - INT32_MIN) % 2**32 + INT32_MIN
        else:
            message = f"json: cannot unmarshal number {value} into Go value of type int32"
            cause = {"reason": "FieldValueInvalid", "message": message, "field": f"spec.{key}"}
            raise ApiError(422, "Invalid", message, {"kind": res.kind, "causes": [cause]})
    return obj


def _sub(obj: Obj, key: str) -> Obj:
    if not isinstance(obj.get(key), dict):
        obj[key] = {}
    value: Obj = obj[key]
    return value


def apply_defaults(res: ResourceType, obj: Obj) -> None:
    """Fill what the real server fills (defaulting plus Go zero values it always serialises)."""
    kind = res.kind
    if kind == "HorizontalPodAutoscaler":
        spec = _sub(obj, "spec")
        if spec.get("minReplicas") is None:
            spec["minReplicas"] = 1
        status = _sub(obj, "status")
        for key in ("currentReplicas", "desiredReplicas"):
            if status.get(key) is None:
                status[key] = 0
        status.setdefault("currentMetrics", None)
    elif res.group == "apps":
        spec = _sub(obj, "spec")
        if spec.get("replicas") is None:
            spec["replicas"] = 1
        status = _sub(obj, "status")
        zeros = {"StatefulSet": ("replicas", "availableReplicas"), "ReplicaSet": ("replicas",)}
        for key in zeros.get(kind, ()):
            if status.get(key) is None:
                status[key] = 0
    elif kind == "Node":
        _sub(obj, "spec")
        status = _sub(obj, "status")
        info = _sub(status, "nodeInfo")
        for key in _NODE_INFO:
            if info.get(key) is None:
                info[key] = {"operatingSystem": "linux", "architecture": "amd64"}.get(key, "")
        _sub(_sub(status, "daemonEndpoints"), "kubeletEndpoint").setdefault("Port", 0)
    elif kind == "Namespace":
        _sub(obj, "spec").setdefault("finalizers", ["kubernetes"])
        _sub(obj, "status").setdefault("phase", "Active")
    elif kind == "Lease":
        _sub(obj, "spec")
    elif kind == "Event" and not res.group:
        _sub(obj, "involvedObject")


ANNOTATIONS_LIMIT = 256 * 1024  # bytes of all keys and values of one object's annotations


def validate(res: ResourceType, obj: Obj) -> list[Obj]:
    """Validation errors (422 causes) for the fields the fake interprets."""
    causes: list[Obj] = []

    def required(field: str) -> None:
        causes.append({"reason": "FieldValueRequired", "message": "Required value", "field": field})

    def bad(field: str, value: Any, message: str) -> None:
        text = f"Invalid value: {json.dumps(value)}: {message}"
        causes.append({"reason": "FieldValueInvalid", "message": text, "field": field})

    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    size = sum(len(k.encode()) + len(v.encode()) for k, v in annotations.items())
    if size > ANNOTATIONS_LIMIT:
        causes.append(
            {
                "reason": "FieldValueTooLong",
                "message": f"Too long: may not be more than {ANNOTATIONS_LIMIT} bytes",
                "field": "metadata.annotations",
            }
        )
    spec = obj.get("spec") or {}
    if res.kind == "HorizontalPodAutoscaler":
        ref = spec.get("scaleTargetRef")
        ref = ref if isinstance(ref, dict) else {}
        for key in ("kind", "name"):
            if not ref.get(key):
                required(f"spec.scaleTargetRef.{key}")
        low, high = spec.get("minReplicas", 1), spec.get("maxReplicas") or 0
        if low < 1:
            bad("spec.minReplicas", low, "must be greater than or equal to 1")
        if high < 1:
            bad("spec.maxReplicas", high, "must be greater than 0")
        if high < low:
            bad("spec.maxReplicas", high, "must be greater than or equal to `minReplicas`")
    elif res.group == "apps":
        if spec.get("replicas", 0) < 0:
            bad("spec.replicas", spec["replicas"], "must be greater than or equal to 0")
        if not spec.get("selector"):
            required("spec.selector")
        template = spec.get("template")
        if res.kind != "ReplicaSet" and not (
            isinstance(template, dict) and (template.get("spec") or {}).get("containers")
        ):
            required("spec.template.spec.containers")
    elif res.kind == "Pod" and not spec.get("containers"):
        required("spec.containers")
    elif res.group == "events.k8s.io" and not obj.get("eventTime"):
        required("eventTime")
    return causes


# --- stored objects, managedFields entries, events -----------------------------------------


@dataclass(frozen=True)
class Entry:
    """One managedFields entry; ``fields`` holds leaf paths (see fields.py)."""

    manager: str
    operation: str
    api_version: str
    time: str
    subresource: str | None
    fields: frozenset[F.Path]

    @property
    def key(self) -> tuple[str, str, str | None]:
        return (self.manager, self.operation, self.subresource)

    def render(self) -> Obj:
        out: Obj = {"manager": self.manager, "operation": self.operation}
        out.update(apiVersion=self.api_version, time=self.time, fieldsType="FieldsV1")
        out["fieldsV1"] = F.to_fields_v1(self.fields)
        if self.subresource:
            out["subresource"] = self.subresource
        return out

    def describe(self) -> str:
        text = f'"{self.manager}"'
        if self.subresource:
            text += f' with subresource "{self.subresource}"'
        if self.operation == "Update":
            text += f" using {self.api_version} at {self.time}"
        return text


@dataclass(frozen=True)
class Stored:
    obj: Obj  # never mutated once stored
    raw: bytes
    entries: tuple[Entry, ...]

    @functools.cached_property
    def item(self) -> bytes:
        """The object as an item of a LIST: a real server leaves out each item's apiVersion
        and kind, which only the list itself carries (kubernetes/kubernetes#3030)."""
        return dumps({k: v for k, v in self.obj.items() if k not in ("apiVersion", "kind")})

    def copy(self) -> Obj:
        value: Obj = json.loads(self.raw)
        return value


@dataclass(frozen=True)
class Event:
    rv: int
    type: str
    res_key: str
    stored: Stored
    old: Stored | None


DROP, STOP = "drop", "stop"


class Watcher:
    def __init__(
        self, res: ResourceType, namespace: str | None, labels: LabelSelector, fields: FieldSelector
    ) -> None:
        self.res, self.namespace, self.labels, self.fields = res, namespace, labels, fields
        self.queue: queue.SimpleQueue[Event | str] = queue.SimpleQueue()
        self.render: Callable[[Stored], bytes] | None = None  # the object as sent; raw JSON

    def _match(self, obj: Obj) -> bool:
        if self.namespace is not None and obj["metadata"].get("namespace") != self.namespace:
            return False
        return self.labels.matches(obj) and self.fields.matches(obj)

    def line(self, event: Event) -> bytes | None:
        """The watch line this watcher sees for ``event``: label changes become ADDED/DELETED."""
        now = self._match(event.stored.obj)
        before = event.old is not None and self._match(event.old.obj)
        kind = event.type
        if kind == "MODIFIED":
            if not (now or before):
                return None
            kind = "MODIFIED" if now and before else "ADDED" if now else "DELETED"
        elif not now:
            return None
        body = self.render(event.stored) if self.render else event.stored.raw
        return b'{"type":"%s","object":%s}\n' % (kind.encode(), body)


# --- the store ---------------------------------------------------------------------------


def _namespace(key: tuple[str, str]) -> str:
    return key[0]


_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"


class Store:
    def __init__(self, now: Callable[[], str], history: int) -> None:
        self.now = now
        self.lock = threading.Lock()
        self.rv = 0
        self.floor = 0  # a watch can resume from any RV >= floor
        self.history: deque[Event] = deque(maxlen=max(1, history))
        self.data: dict[str, dict[str, dict[str, Stored]]] = {}
        self.watchers: dict[str, set[Watcher]] = {}
        # per resource, the (namespace, name) of its objects in order: built by the first LIST,
        # then kept by create and delete, so that a page costs its length and a bisection
        self._order: dict[str, list[tuple[str, str]]] = {}

    def load(
        self,
        data: dict[str, dict[str, dict[str, Stored]]],
        rv: int,
        floor: int,
        history: deque[Event],
    ) -> None:
        """Replace the whole state (an etcd restore; lock held)."""
        self.data, self.rv, self.floor, self.history = data, rv, floor, history
        self._order.clear()

    def _keys(self, key: str) -> list[tuple[str, str]]:
        order = self._order.get(key)
        if order is None:
            spaces = self.data.get(key, {})
            order = self._order[key] = sorted((n, name) for n, b in spaces.items() for name in b)
        return order

    # reads
    def get(self, res: ResourceType, ns: str, name: str) -> Stored | None:
        return self.data.get(res.key, {}).get(ns, {}).get(name)

    def select(
        self,
        res: ResourceType,
        ns: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
        after: tuple[str, str] | None = None,
        limit: int = 0,
    ) -> tuple[int, list[Stored], int]:
        """The objects that match, in (namespace, name) order, those after `after` only (a
        continued LIST), at most `limit` of them (0: all), and how many more match after them.
        Without a selector a page costs its own length and a bisection of the ordered keys,
        whatever the page's place: the server is never a LIST's bottleneck."""
        with self.lock:
            rv, spaces, order = self.rv, self.data.get(res.key, {}), self._keys(res.key)
            lo, hi = 0, len(order)
            if ns is not None:
                lo = bisect_left(order, ns, key=_namespace)
                hi = bisect_right(order, ns, lo, key=_namespace)
            if after is not None:
                lo = max(lo, bisect_right(order, after, lo, hi))
            if not labels.reqs and not fields.reqs:
                end = min(hi, lo + limit) if limit > 0 else hi
                return rv, [spaces[n][name] for n, name in order[lo:end]], hi - end
            found = [spaces[n][name] for n, name in order[lo:hi]]
        found = [s for s in found if labels.matches(s.obj) and fields.matches(s.obj)]
        if 0 < limit < len(found):
            return rv, found[:limit], len(found) - limit
        return rv, found, 0

    # writes
    def create(
        self, res: ResourceType, ns: str, body: Obj, manager: str, dry_run: bool = False
    ) -> Stored:
        meta: Obj = body["metadata"] if isinstance(body.get("metadata"), dict) else {}
        name = meta.get("name") or ""
        if not name and meta.get("generateName"):
            name = meta["generateName"] + "".join(random.choices(_NAME_CHARS, k=5))
        if not name:
            message = "name or generateName is required"
            cause = {"reason": "FieldValueRequired", "message": f"Required value: {message}"}
            raise invalid(res, "", [{**cause, "field": "metadata.name"}])
        if res.namespaced and not _LABEL.fullmatch(ns):
            message = (
                f'Invalid value: "{ns}": a lowercase RFC 1123 label must consist of lower case '
                "alphanumeric characters or '-', and must start and end with an alphanumeric "
                "character (e.g. 'my-name',  or '123-abc', regex used for validation is "
                "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
            )
            cause = {"reason": "FieldValueInvalid", "message": message}
            raise invalid(res, name, [{**cause, "field": "metadata.namespace"}])
        with self.lock:
            if self.get(res, ns, name) is not None:
                details = {"name": name, "group": res.group, "kind": res.plural}
                message = f'{res.qualified} "{name}" already exists'
                raise ApiError(409, "AlreadyExists", message, details)
            return self._write(res, ns, name, None, body, manager, None, None, dry_run)

    def update(
        self,
        res: ResourceType,
        ns: str,
        name: str,
        build: Callable[[Stored], Obj],
        manager: str,
        sub: str | None = None,
        dry_run: bool = False,
    ) -> Stored:
        """Read-modify-write under the lock: ``build`` maps the stored object to the new one."""
        with self.lock:
            old = self.get(res, ns, name)
            if old is None:
                raise not_found(res, name)
            return self._write(res, ns, name, old, build(old), manager, sub, None, dry_run)

    def apply(
        self,
        res: ResourceType,
        ns: str,
        name: str,
        config: Obj,
        manager: str,
        sub: str | None,
        force: bool,
        dry_run: bool = False,
    ) -> tuple[Stored, bool]:
        """Server-side apply of ``config`` (already mapped to the parent's field paths)."""
        with self.lock:
            old = self.get(res, ns, name)
            if old is None and sub:
                raise not_found(res, name)
            akey = (manager, "Apply", sub)
            wanted = F.leaves(config, sub)
            live = F.leaves(old.obj, sub) if old else {}
            entries = old.entries if old else ()
            clashes = [
                (e, p)
                for p in sorted(wanted)
                if p in live and not F.deq(live[p], wanted[p])
                for e in entries
                if e.key != akey and p in e.fields
            ]
            if clashes and not force:
                raise _apply_conflict(clashes)
            taken = {p for _, p in clashes}
            entries = tuple(replace(e, fields=e.fields - taken) for e in entries)
            base = old.copy() if old else {}
            if sub == "status":
                cand = {**base, "status": F.merge_patch(base.get("status"), config.get("status"))}
            elif sub == "scale":
                cand = base
                if "replicas" in config.get("spec", {}):
                    _sub(cand, "spec")["replicas"] = config["spec"]["replicas"]
            else:
                cand = F.merge_patch(base, config)
            previous = next((e.fields for e in entries if e.key == akey), frozenset())
            others = set().union(*(e.fields for e in entries if e.key != akey))
            for path in previous - wanted.keys() - others:
                F.remove_path(cand, path)
            plan = (akey, frozenset(wanted))
            stored = self._write(res, ns, name, old, cand, manager, sub, plan, dry_run, entries)
            return stored, old is None

    def delete(self, res: ResourceType, ns: str, name: str, pre: Obj, dry_run: bool) -> Stored:
        with self.lock:
            old = self.get(res, ns, name)
            if old is None:
                raise not_found(res, name)
            meta = old.obj["metadata"]
            for key, have in (("uid", meta["uid"]), ("resourceVersion", meta["resourceVersion"])):
                if pre.get(key) not in (None, have):
                    raise conflict(res, name)
            if dry_run:
                return old
            self.rv += 1
            obj = old.copy()
            obj["metadata"]["resourceVersion"] = str(self.rv)
            gone = Stored(obj, dumps(obj), old.entries)
            del self.data[res.key][ns][name]
            if (order := self._order.get(res.key)) is not None:
                del order[bisect_left(order, (ns, name))]
            self._publish(Event(self.rv, "DELETED", res.key, gone, old))
            return gone

    def _write(
        self,
        res: ResourceType,
        ns: str,
        name: str,
        old: Stored | None,
        cand: Obj,
        manager: str,
        sub: str | None,
        apply_plan: tuple[tuple[str, str, str | None], frozenset[F.Path]] | None,
        dry_run: bool,
        entries: tuple[Entry, ...] | None = None,
    ) -> Stored:
        """Normalise, default, validate, compute ownership and commit (lock held)."""
        if not isinstance(cand, dict):
            raise bad_request("the object must be a JSON object")
        if cand.get("kind") not in (None, res.kind) or cand.get("apiVersion") not in (
            None,
            res.api_version,
        ):
            raise bad_request(
                f"the object kind/apiVersion ({cand.get('apiVersion')}, {cand.get('kind')}) does "
                f"not match the resource ({res.api_version}, {res.kind})"
            )
        type_check(res, cand)
        meta = _sub(cand, "metadata")
        if meta.get("name") not in (None, "", name):
            raise bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
            )
        if res.namespaced and meta.get("namespace") not in (None, "", ns):
            raise bad_request(
                "the namespace of the provided object does not match the namespace sent on the "
                "request"
            )
        if old is None:
            meta.pop("resourceVersion", None)
        elif meta.get("resourceVersion") not in (None, "", old.obj["metadata"]["resourceVersion"]):
            raise conflict(res, name)
        cand["apiVersion"], cand["kind"] = res.api_version, res.kind
        meta["name"] = name
        if res.namespaced:
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        meta.pop("managedFields", None)
        meta.pop("selfLink", None)
        if old is not None:
            old_meta = old.obj["metadata"]
            meta.pop("generation", None)
            for field in ("uid", "creationTimestamp", "generation", "resourceVersion"):
                if field in old_meta:
                    meta[field] = old_meta[field]
            kept = old.obj.get("status")
            if sub is None and "status" in res.subresources and not F.deq(cand.get("status"), kept):
                cand["status"] = json.loads(dumps(kept))
        else:
            meta.update(uid=str(uuid.uuid4()), creationTimestamp=self.now())
            meta.pop("generation", None)
            if res.kind in _GENERATION_KINDS:
                meta["generation"] = 1
            if "status" in res.subresources and res.kind != "Node":
                cand["status"] = dict(_INITIAL_STATUS.get(res.kind, {}))
        apply_defaults(res, cand)
        causes = validate(res, cand)
        if causes:
            raise invalid(res, name, causes)

        old_entries = entries if entries is not None else old.entries if old else ()
        before = F.leaves(old.obj, sub) if old else {}
        after = F.leaves(cand, sub)
        changed, removed = F.changed_paths(before, after)
        if apply_plan is None:
            key, mine = (manager, "Update", sub), None
        else:
            key, mine = apply_plan[0], frozenset(p for p in apply_plan[1] if p in after)
        new_entries = _ownership(old_entries, key, mine, changed, removed, res, self.now)

        if old is not None:
            old_meta = old.obj["metadata"]
            meta["managedFields"] = old_meta.get("managedFields")
            if old.entries == new_entries and dumps(cand) == old.raw:
                return old  # nothing changed: no new resourceVersion, no event
            if not F.deq(old.obj.get("spec"), cand.get("spec")) and "generation" in old_meta:
                meta["generation"] = old_meta["generation"] + 1
        meta["managedFields"] = [e.render() for e in new_entries]
        if not dry_run:
            self.rv += 1
            meta["resourceVersion"] = str(self.rv)
        stored = Stored(cand, dumps(cand), new_entries)
        if dry_run:
            return stored
        self.data.setdefault(res.key, {}).setdefault(ns, {})[name] = stored
        if old is None and (order := self._order.get(res.key)) is not None:
            insort(order, (ns, name))
        self._publish(Event(self.rv, "ADDED" if old is None else "MODIFIED", res.key, stored, old))
        return stored

    # watch
    def _publish(self, event: Event) -> None:
        if len(self.history) == self.history.maxlen:
            self.floor = self.history[0].rv
        self.history.append(event)
        for watcher in self.watchers.get(event.res_key, ()):
            watcher.queue.put(event)

    def watch(
        self,
        res: ResourceType,
        ns: str | None,
        since: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
    ) -> tuple[Watcher, list[Event]] | ApiError:
        """Register a watcher; return it with the events to send first (or a 410 Status)."""
        with self.lock:
            if since not in (None, "", "0"):
                try:
                    start = int(since or "")
                except ValueError:
                    return bad_request(f"invalid resource version: {since}")
                if start < self.floor:
                    message = f"too old resource version: {start} ({self.floor})"
                    return ApiError(410, "Expired", message)
                first: list[Event] = []
                for event in reversed(self.history):
                    if event.rv <= start:
                        break
                    if event.res_key == res.key:
                        first.append(event)
                first.reverse()
            else:
                spaces = self.data.get(res.key, {})
                buckets = [spaces.get(ns, {})] if ns is not None else list(spaces.values())
                first = [Event(0, "ADDED", res.key, s, None) for b in buckets for s in b.values()]
            watcher = Watcher(res, ns, labels, fields)
            self.watchers.setdefault(res.key, set()).add(watcher)
            return watcher, first

    def unwatch(self, watcher: Watcher) -> None:
        with self.lock:
            self.watchers.get(watcher.res.key, set()).discard(watcher)

    def bookmark_rv(self, watcher: Watcher) -> int | None:
        """Current RV if everything up to it has been queued to and taken by ``watcher``."""
        with self.lock:
            return self.rv if watcher.queue.empty() else None

    def signal_watchers(self, signal: str) -> None:
        with self.lock:
            for group in self.watchers.values():
                for watcher in group:
                    watcher.queue.put(signal)

    def compact(self) -> None:
        with self.lock:
            self.history.clear()
            self.floor = self.rv


def _ownership(
    entries: tuple[Entry, ...],
    key: tuple[str, str, str | None],
    mine: frozenset[F.Path] | None,
    changed: set[F.Path],
    removed: set[F.Path],
    res: ResourceType,
    now: Callable[[], str],
) -> tuple[Entry, ...]:
    """New managedFields entries.

    Update (``mine`` is None): the writer gains the leaves it changed, others lose them.
    Apply: the applier owns exactly ``mine``; others lose only what it removed (forced
    conflicts were already taken from them by the caller). The writer's ``time`` moves
    whenever its set changes or the write changed one of its leaves.
    """
    out: list[Entry | None] = []
    writer: Entry | None = None
    for entry in entries:
        if entry.key == key:
            writer = entry
            out.append(None)  # keep the writer's position
            continue
        lost = removed if mine is not None else changed | removed
        fields = entry.fields - lost
        if fields:
            out.append(entry if fields == entry.fields else replace(entry, fields=fields))
    if mine is None:
        mine = ((writer.fields if writer else frozenset()) | changed) - removed
    if writer is None or writer.fields != mine or changed & mine:  # the time moves on a change
        manager, operation, sub = key
        writer = Entry(manager, operation, res.api_version, now(), sub, frozenset(mine))
    if None not in out:
        out.append(None)
    return tuple(writer if e is None else e for e in out if e is not None or writer.fields)


def _apply_conflict(clashes: list[tuple[Entry, F.Path]]) -> ApiError:
    causes = [
        {"type": "FieldManagerConflict", "message": f"conflict with {e.describe()}",
         "field": F.dotted(p)}
        for e, p in clashes
    ]  # fmt: skip
    if len(clashes) == 1:
        entry, path = clashes[0]
        message = (
            f"Apply failed with 1 conflict: conflict with {entry.describe()}: {F.dotted(path)}"
        )
    else:
        lines: list[str] = []
        for who in sorted({e.describe() for e, _ in clashes}):
            lines.append(f"conflicts with {who}")
            lines += [f"- {F.dotted(p)}" for e, p in clashes if e.describe() == who]
        message = f"Apply failed with {len(clashes)} conflicts: " + "\n".join(lines)
    return ApiError(409, "Conflict", message, {"causes": causes})
