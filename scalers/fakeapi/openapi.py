"""OpenAPI v3 documents (``/openapi/v3`` and ``/openapi/v3/apis/{group}/{version}``).

kubectl reads them for three things: whether the PATCH operation of a kind takes the
``fieldValidation`` query parameter (then ``kubectl apply``/``create`` validate on the server
instead of downloading ``/openapi/v2``), the schema of a kind to compute a client-side apply's
strategic merge patch (``x-kubernetes-patch-strategy``/``-merge-key`` on lists), and
``kubectl explain``.

The schemas are built from the store's own field lists, so they claim only what the server
keeps. Levels whose unknown fields the server drops (top level, metadata, the spec of HPAs,
apps kinds and leases) list exactly the known fields; deeper levels, which the server keeps
whole, say so with ``x-kubernetes-preserve-unknown-fields``. No list carries a patch strategy:
the server's strategic merge patch replaces lists whole, and this tells kubectl to send them
whole.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from .store import RESOURCES, Obj, ResourceType, known_fields

_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
_PACKAGES = {"": "core", "events.k8s.io": "events", "coordination.k8s.io": "coordination"}

STRING: Obj = {"type": "string"}
INT32: Obj = {"type": "integer", "format": "int32"}
INT64: Obj = {"type": "integer", "format": "int64"}
BOOL: Obj = {"type": "boolean"}
TIME: Obj = {"type": "string", "format": "date-time"}
KEPT: Obj = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
STRINGS: Obj = {"type": "array", "items": STRING}
LABELS: Obj = {"type": "object", "additionalProperties": STRING}
KEPT_LIST: Obj = {"type": "array", "items": KEPT}
INT_OR_STRING: Obj = {"x-kubernetes-int-or-string": True}


def _ref(name: str) -> Obj:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(props: dict[str, Obj], kept: bool = False) -> Obj:
    out: Obj = {"type": "object", "properties": props}
    if kept:
        out["x-kubernetes-preserve-unknown-fields"] = True
    return out


_OBJECT_META: dict[str, Obj] = {
    "annotations": LABELS, "creationTimestamp": TIME, "deletionGracePeriodSeconds": INT64,
    "deletionTimestamp": TIME, "finalizers": STRINGS, "generateName": STRING,
    "generation": INT64, "labels": LABELS, "managedFields": KEPT_LIST, "name": STRING,
    "namespace": STRING, "ownerReferences": KEPT_LIST, "resourceVersion": STRING,
    "selfLink": STRING, "uid": STRING,
}  # fmt: skip
_SELECTOR = _object({"matchLabels": LABELS, "matchExpressions": KEPT_LIST})
_POD_SPEC = _object(
    {
        **dict.fromkeys(
            ("containers", "initContainers", "ephemeralContainers", "volumes", "tolerations",
             "imagePullSecrets", "hostAliases", "topologySpreadConstraints", "readinessGates",
             "resourceClaims", "schedulingGates"), KEPT_LIST),
        **dict.fromkeys(("affinity", "securityContext", "dnsConfig", "os", "resources"), KEPT),
        **dict.fromkeys(
            ("restartPolicy", "dnsPolicy", "serviceAccountName", "serviceAccount", "nodeName",
             "hostname", "subdomain", "schedulerName", "priorityClassName", "runtimeClassName",
             "preemptionPolicy"), STRING),
        **dict.fromkeys(
            ("hostNetwork", "hostPID", "hostIPC", "shareProcessNamespace",
             "automountServiceAccountToken", "enableServiceLinks", "setHostnameAsFQDN",
             "hostUsers"), BOOL),
        "nodeSelector": LABELS, "overhead": LABELS, "priority": INT32,
        "terminationGracePeriodSeconds": INT64, "activeDeadlineSeconds": INT64,
    },
    kept=True,
)  # fmt: skip
_TEMPLATE = _object({"metadata": _ref(_META + "ObjectMeta"), "spec": _POD_SPEC}, kept=True)
_ROLLING = _object({"maxSurge": INT_OR_STRING, "maxUnavailable": INT_OR_STRING,
                    "partition": INT32}, kept=True)  # fmt: skip
_SCALING_RULES = _object(
    {"stabilizationWindowSeconds": INT32, "selectPolicy": STRING, "policies": KEPT_LIST},
    kept=True,
)
_APPS_SPEC: dict[str, Obj] = {
    "replicas": INT32, "selector": _SELECTOR, "template": _TEMPLATE,
    "strategy": _object({"type": STRING, "rollingUpdate": _ROLLING}, kept=True),
    "updateStrategy": _object({"type": STRING, "rollingUpdate": _ROLLING}, kept=True),
    "minReadySeconds": INT32, "revisionHistoryLimit": INT32, "paused": BOOL,
    "progressDeadlineSeconds": INT32, "volumeClaimTemplates": KEPT_LIST, "serviceName": STRING,
    "podManagementPolicy": STRING, "ordinals": _object({"start": INT32}, kept=True),
    "persistentVolumeClaimRetentionPolicy": _object(
        {"whenDeleted": STRING, "whenScaled": STRING}, kept=True),
}  # fmt: skip
_SPEC_FIELDS: dict[str, dict[str, Obj]] = {
    "HorizontalPodAutoscaler": {
        "scaleTargetRef": _object({"apiVersion": STRING, "kind": STRING, "name": STRING},
                                  kept=True),
        "minReplicas": INT32, "maxReplicas": INT32, "metrics": KEPT_LIST,
        "behavior": _object({"scaleUp": _SCALING_RULES, "scaleDown": _SCALING_RULES}, kept=True),
    },
    "Lease": {
        "holderIdentity": STRING, "leaseDurationSeconds": INT32, "acquireTime": TIME,
        "renewTime": TIME, "leaseTransitions": INT32, "strategy": STRING,
        "preferredHolder": STRING,
    },
    "Deployment": _APPS_SPEC, "StatefulSet": _APPS_SPEC, "ReplicaSet": _APPS_SPEC,
}  # fmt: skip
_TOP_FIELDS: dict[str, Obj] = {
    "data": LABELS, "binaryData": LABELS, "immutable": BOOL, "status": KEPT,
    "count": INT32, "deprecatedCount": INT32, "series": KEPT, "source": KEPT,
    "deprecatedSource": KEPT, "involvedObject": KEPT, "regarding": KEPT, "related": KEPT,
    "firstTimestamp": TIME, "lastTimestamp": TIME, "eventTime": TIME,
    "deprecatedFirstTimestamp": TIME, "deprecatedLastTimestamp": TIME,
}  # fmt: skip


def schema_name(res: ResourceType, kind: str | None = None) -> str:
    package = _PACKAGES.get(res.group, res.group)
    return f"io.k8s.api.{package}.{res.version}.{kind or res.kind}"


def _gvk(group: str, version: str, kind: str) -> Obj:
    return {"group": group, "version": version, "kind": kind}


def _kind_schema(res: ResourceType) -> Obj:
    top, _, spec_keys = known_fields(res)
    props: dict[str, Obj] = {"apiVersion": STRING, "kind": STRING,
                             "metadata": _ref(_META + "ObjectMeta")}  # fmt: skip
    for key in top:
        props[key] = _TOP_FIELDS.get(key, STRING)
    if "spec" in top:
        fields = _SPEC_FIELDS.get(res.kind, {})
        props["spec"] = (
            _object({k: fields.get(k, KEPT) for k in spec_keys})
            if spec_keys is not None
            else _POD_SPEC
            if res.kind == "Pod"
            else KEPT
        )
    out = _object(props)
    out["x-kubernetes-group-version-kind"] = [_gvk(res.group, res.version, res.kind)]
    return out


def _list_schema(res: ResourceType) -> Obj:
    out = _object({"apiVersion": STRING, "kind": STRING, "metadata": KEPT,
                   "items": {"type": "array", "items": _ref(schema_name(res))}})  # fmt: skip
    out["x-kubernetes-group-version-kind"] = [_gvk(res.group, res.version, res.kind + "List")]
    return out


def _param(name: str, schema: Obj, where: str = "query") -> Obj:
    out: Obj = {"name": name, "in": where, "schema": schema, "uniqueItems": True}
    if where == "path":
        out["required"] = True
    return out


_WRITE_PARAMS = [_param("dryRun", STRING), _param("fieldManager", STRING),
                 _param("fieldValidation", STRING)]  # fmt: skip
_LIST_PARAMS = [
    _param(n, STRING) for n in ("labelSelector", "fieldSelector", "continue", "resourceVersion",
                                "resourceVersionMatch")
] + [_param(n, BOOL) for n in ("watch", "allowWatchBookmarks", "sendInitialEvents")] + [
    _param("limit", INT64), _param("timeoutSeconds", INT64),
]  # fmt: skip
_PATCH_TYPES = ("application/apply-patch+yaml", "application/json-patch+json",
                "application/merge-patch+json", "application/strategic-merge-patch+json")  # fmt: skip


def _operation(action: str, gvk: Obj, body: str | None, reply: str, params: list[Obj]) -> Obj:
    op: Obj = {"operationId": f"{action}{gvk['kind']}", "parameters": params}
    op["responses"] = {"200": {"description": "OK",
                               "content": {"application/json": {"schema": _ref(reply)}}}}  # fmt: skip
    if body is not None:
        types = _PATCH_TYPES if action == "patch" else ("application/json",)
        op["requestBody"] = {"required": True,
                             "content": {t: {"schema": _ref(body)} for t in types}}  # fmt: skip
    op["x-kubernetes-action"] = action
    op["x-kubernetes-group-version-kind"] = gvk
    return op


def _paths(res: ResourceType) -> dict[str, Obj]:
    prefix = f"/apis/{res.group}/{res.version}" if res.group else f"/api/{res.version}"
    gvk, kind = _gvk(res.group, res.version, res.kind), schema_name(res)
    patch = _META + "Patch"
    spaced = f"{prefix}/namespaces/{{namespace}}/{res.plural}" if res.namespaced else None
    collection = spaced or f"{prefix}/{res.plural}"
    ns_param = [_param("namespace", STRING, "path")] if res.namespaced else []
    name_params = [_param("name", STRING, "path"), *ns_param]
    paths: dict[str, Obj] = {
        collection: {
            "get": _operation("list", gvk, None, schema_name(res, res.kind + "List"), _LIST_PARAMS),
            "post": _operation("post", gvk, kind, kind, _WRITE_PARAMS),
            "parameters": ns_param,
        },
        f"{collection}/{{name}}": {
            "get": _operation("get", gvk, None, kind, []),
            "put": _operation("put", gvk, kind, kind, _WRITE_PARAMS),
            "patch": _operation("patch", gvk, patch, kind, [*_WRITE_PARAMS, _param("force", BOOL)]),
            "delete": _operation("delete", gvk, _META + "DeleteOptions", _META + "Status",
                                 [_param("dryRun", STRING)]),
            "parameters": name_params,
        },
    }  # fmt: skip
    if spaced:
        list_all = _operation("list", gvk, None, schema_name(res, res.kind + "List"), _LIST_PARAMS)
        paths[f"{prefix}/{res.plural}"] = {"get": list_all, "parameters": []}
    for sub in sorted(res.subresources):
        sub_gvk = _gvk("autoscaling", "v1", "Scale") if sub == "scale" else gvk
        body = "io.k8s.api.autoscaling.v1.Scale" if sub == "scale" else kind
        params = [*_WRITE_PARAMS, _param("force", BOOL)]
        paths[f"{collection}/{{name}}/{sub}"] = {
            "get": _operation("get", sub_gvk, None, body, []),
            "put": _operation("put", sub_gvk, body, body, _WRITE_PARAMS),
            "patch": _operation("patch", sub_gvk, patch, body, params),
            "parameters": name_params,
        }
    return paths


_SCALE = _object({
    "apiVersion": STRING, "kind": STRING, "metadata": _ref(_META + "ObjectMeta"),
    "spec": _object({"replicas": INT32}), "status": _object({"replicas": INT32, "selector": STRING}),
})  # fmt: skip
_SCALE["x-kubernetes-group-version-kind"] = [_gvk("autoscaling", "v1", "Scale")]
_META_SCHEMAS: dict[str, Obj] = {
    _META + "ObjectMeta": _object(_OBJECT_META),
    _META + "Patch": {"type": "object", "description": "A patch in one of the patch formats."},
    _META + "DeleteOptions": _object({"preconditions": _object(
        {"uid": STRING, "resourceVersion": STRING}), "dryRun": STRINGS}, kept=True),
    _META + "Status": KEPT,
}  # fmt: skip


def group_versions() -> list[tuple[str, str]]:
    return list(dict.fromkeys((r.group, r.version) for r in RESOURCES))


def _url_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


@functools.cache
def document(group: str, version: str) -> Obj:
    """The OpenAPI v3 document of one group-version."""
    kinds = [r for r in RESOURCES if (r.group, r.version) == (group, version)]
    paths: dict[str, Obj] = {}
    schemas: dict[str, Obj] = dict(_META_SCHEMAS)
    for res in kinds:
        paths.update(_paths(res))
        schemas[schema_name(res)] = _kind_schema(res)
        schemas[schema_name(res, res.kind + "List")] = _list_schema(res)
        if "scale" in res.subresources:
            schemas["io.k8s.api.autoscaling.v1.Scale"] = _SCALE
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0-fakeapi"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def _hash(doc: Any) -> str:
    data = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha512(data).hexdigest().upper()


@functools.cache
def index() -> Obj:
    """``/openapi/v3``: where each group-version's document is (its hash in the URL, so a
    client's cache knows when it changed)."""
    paths = {}
    for group, version in group_versions():
        path = _url_path(group, version)
        url = f"/openapi/v3/{path}?hash={_hash(document(group, version))}"
        paths[path] = {"serverRelativeURL": url}
    return {"paths": paths}


def lookup(parts: list[str]) -> Obj | None:
    """The document for a path under ``/openapi/v3/`` (``["apis", "apps", "v1"]``), or None."""
    for group, version in group_versions():
        if _url_path(group, version).split("/") == parts:
            return document(group, version)
    return None
