"""HTTP front of the fake API server: routing, discovery, OpenAPI, verbs, Tables, watch
streaming, faults."""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import json
import queue
import select
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

from . import fields as F
from . import openapi, tables
from .store import (
    BY_PATH,
    DROP,
    RESOURCES,
    STOP,
    ApiError,
    Event,
    FieldSelector,
    LabelSelector,
    Obj,
    ResourceType,
    Store,
    Stored,
    Watcher,
    bad_request,
    conflict,
    drop_unknown_fields,
    dumps,
    int32_after_patch,
    lookup_kind,
    not_found,
    selector_string,
)

if TYPE_CHECKING:
    from kubernetes.client import ApiClient, Configuration

_PATCH_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
    "application/strategic-merge-patch+json",
)
_REASONS = {
    400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
    405: "MethodNotAllowed", 409: "Conflict", 410: "Expired", 415: "UnsupportedMediaType",
    422: "Invalid", 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
    504: "Timeout",
}  # fmt: skip
_MESSAGES = {
    429: "Too many requests, please try again later.",
    500: "Internal error occurred: injected fault",
    503: "the server is currently unable to handle the request",
}
_VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


class RequestRecord(NamedTuple):
    method: str
    path: str
    query: dict[str, str]
    status: int
    watch: bool
    at: float = 0.0  # wall-clock time.time() when answered, for benchmarks across processes


@dataclass
class _Fault:
    status: int
    count: int
    method: str | None
    path_contains: str | None
    retry_after: int | str | None
    message: str | None
    details: Obj | None


class Faults:
    """Injected failures: the next ``count`` matching requests get ``status``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Fault] = []
        self._stalls: list[tuple[str | None, str | None, threading.Event]] = []

    def inject(
        self,
        status: int = 429,
        count: int = 3,
        method: str | None = "PATCH",
        path_contains: str | None = "horizontalpodautoscalers",
        retry_after: int | str | None = None,
        message: str | None = None,
        details: Obj | None = None,
    ) -> None:
        """``method``/``path_contains`` None match anything; ``retry_after`` adds the header;
        ``details`` is the Status's (``causes``, say)."""
        with self._lock:
            rule = _Fault(status, count, method, path_contains, retry_after, message, details)
            self._rules.append(rule)

    def stall(
        self, method: str | None = "PATCH", path_contains: str | None = None
    ) -> threading.Event:
        """Matching requests wait, before they are served, until the returned Event is set (or
        ``clear``): an answer as slow as a test wants. None matches anything, as ``inject``."""
        released = threading.Event()
        with self._lock:
            self._stalls.append((method, path_contains, released))
        return released

    def wait(self, method: str, path: str) -> None:
        """Hold a request while a stall matches it."""
        with self._lock:
            stalls = [
                released
                for rule_method, contains, released in self._stalls
                if rule_method in (None, method) and (contains is None or contains in path)
            ]
        for released in stalls:
            released.wait()

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            for _, _, released in self._stalls:
                released.set()
            self._stalls.clear()

    def take(self, method: str, path: str) -> ApiError | None:
        with self._lock:
            for rule in self._rules:
                if (rule.method in (None, method)) and (
                    rule.path_contains is None or rule.path_contains in path
                ):
                    rule.count -= 1
                    if rule.count <= 0:
                        self._rules.remove(rule)
                    break
            else:
                return None
        text = rule.message or _MESSAGES.get(rule.status, f"injected fault {rule.status}")
        err = ApiError(rule.status, _REASONS.get(rule.status, "InternalError"), text, rule.details)
        if rule.retry_after is not None:
            err.details = {**(rule.details or {}), "retryAfterSeconds": rule.retry_after}
            err.headers["Retry-After"] = str(rule.retry_after)
        return err


@dataclass(frozen=True)
class Snapshot:
    """What an etcd backup holds: the objects, the resourceVersion counter and its history."""

    data: dict[str, dict[str, dict[str, Stored]]]
    rv: int
    floor: int
    history: deque[Event]


def _copy_data(data: dict[str, dict[str, dict[str, Stored]]]) -> dict[str, Any]:
    # Stored objects are never mutated; only the tables that hold them are.
    return {key: {ns: dict(names) for ns, names in spaces.items()} for key, spaces in data.items()}


def _too_large(wanted: int, current: int) -> ApiError:
    """A real server's answer to a version it has not reached (apiserver's storage package)."""
    cause = {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
    return ApiError(
        504, "Timeout", f"Timeout: Too large resource version: {wanted}, current: {current}",
        {"causes": [cause], "retryAfterSeconds": 1}, {"Retry-After": "1"},
    )  # fmt: skip


def _version_of(query: dict[str, str]) -> int:
    """The resourceVersion a request asks for, 0 for any."""
    since = query.get("resourceVersion") or "0"
    try:
        return int(since)
    except ValueError:
        raise bad_request(f"invalid resource version: {since!r}") from None


@dataclass
class _Target:
    res: ResourceType
    ns: str | None
    name: str | None
    sub: str | None

    @property
    def space(self) -> str:
        return self.ns or ""


def _not_found_path() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def _scale_view(res: ResourceType, obj: Obj) -> Obj:
    meta = obj["metadata"]
    keep = ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
    status: Obj = {"replicas": (obj.get("status") or {}).get("replicas", 0)}
    selector = selector_string(obj["spec"].get("selector"))
    if selector:
        status["selector"] = selector
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in keep if k in meta},
        "spec": {"replicas": obj["spec"].get("replicas", 0)},
        "status": status,
    }


def _go_repr(value: Any) -> str:
    """Go's ``%+v`` of a decoded JSON value, as the server quotes a strategic merge patch."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_repr(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, list):
        return "[" + " ".join(map(_go_repr, value)) + "]"
    if value is None:
        return "<nil>"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _strict(res: ResourceType, method: str, payload: Any, unknown: list[str]) -> ApiError:
    """fieldValidation=Strict refusing unknown fields: a 400 from the decoder of a create or
    update, a 422 on the field "patch" from a merge or strategic merge patch."""
    text = "strict decoding error: " + ", ".join(f'unknown field "{u}"' for u in unknown)
    if method != "PATCH":
        return bad_request(
            f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}: {text}'
        )
    detail = f"Invalid value: {json.dumps(_go_repr(payload))}: {text}"
    cause = {"reason": "FieldValueInvalid", "message": detail, "field": "patch"}
    details = {"name": "", "group": "", "kind": "", "causes": [cause]}
    return ApiError(422, "Invalid", f' "" is invalid: patch: {detail}', details)


def _undeclared(res: ResourceType, config: Obj, unknown: list[str]) -> ApiError:
    """Server-side apply of unknown fields: structured-merge-diff refuses them whatever
    fieldValidation says, with a plain error a real server turns into a 500 without reason."""
    meta: Obj = config["metadata"] if isinstance(config.get("metadata"), dict) else {}
    group_version = f"{res.group}/{res.version}"  # Go prints the core group as "/v1"
    where = f"{meta.get('namespace', '')}/{meta.get('name', '')}; {group_version}"
    errors = [f".{u}: field not declared in schema" for u in unknown]
    text = errors[0] if len(errors) == 1 else "\n  ".join(["errors:", *errors])
    return ApiError(
        500, "", f"failed to create typed patch object ({where}, Kind={res.kind}): {text}"
    )


def _load(body: bytes, yaml_ok: bool = False) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError:
        if not yaml_ok:
            raise bad_request("the request body is not valid JSON") from None
    try:
        return yaml.safe_load(body)
    except yaml.YAMLError as exc:
        raise bad_request(f"error decoding YAML: {exc}") from None


def _utcnow() -> datetime:
    return datetime.now(UTC)


class FakeApiServer:
    """An in-process Kubernetes API server; see the package docstring for what it models.
    With `ssl_context` (a server-side context) it serves HTTPS; `write_kubeconfig` then takes
    the CA and the client's credentials to inline in the kubeconfig."""

    def __init__(
        self,
        clock: Callable[[], datetime] | None = None,
        history: int = 1000,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.clock = clock or _utcnow
        self.ssl_context = ssl_context
        self.store = Store(self._now, history)
        self.faults = Faults()
        self.requests: list[RequestRecord] = []
        self.bookmark_interval = 1.0  # seconds between BOOKMARK events on an idle watch
        # How long a LIST (or a watch with sendInitialEvents) from a resourceVersion the server
        # has not reached waits for it before its 504; a real server waits about 3 s.
        self.too_large_delay = 3.0
        self._records_lock = threading.Lock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle
    def start(self) -> FakeApiServer:
        if self._httpd is None:
            self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler, self.ssl_context)
            self._httpd.api = self
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, args=(0.05,), name="fakeapi", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self.store.signal_watchers(DROP)
        self.faults.clear()  # a stalled request goes on, not a thread left waiting
        httpd.shutdown()
        httpd.server_close()
        with httpd.conns_lock:
            for conn in list(httpd.conns):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("FakeApiServer is not started")
        scheme = "http" if self.ssl_context is None else "https"
        return f"{scheme}://127.0.0.1:{self._httpd.server_address[1]}"

    def configuration(self) -> Configuration:
        from kubernetes import client

        return client.Configuration(host=self.url)

    def api_client(self) -> ApiClient:
        from kubernetes import client

        return client.ApiClient(self.configuration())

    def write_kubeconfig(
        self, path: str | Path, ca: bytes = b"", user: dict[str, str] | None = None
    ) -> Path:
        """A kubeconfig for this server: `ca` (PEM) goes inline as certificate-authority-data,
        `user` as the user's entries (client-certificate-data, client-key-data, token)."""
        cluster = {"server": self.url}
        if ca:
            cluster["certificate-authority-data"] = base64.b64encode(ca).decode()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": cluster}],
            "users": [{"name": "fake", "user": user or {}}],
            "contexts": [
                {"name": "fake", "context": {"cluster": "fake", "user": "fake"}},
            ],
            "current-context": "fake",
        }
        target = Path(path)
        target.write_text(yaml.safe_dump(config))
        return target

    # direct access (same code paths as HTTP); errors raise ApiError
    def create(self, obj: Obj, manager: str = "seed") -> Obj:
        res, ns, _ = self._locate(obj)
        return self.store.create(res, ns, copy.deepcopy(obj), manager).copy()

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> Obj | None:
        res = lookup_kind(api_version, kind)
        stored = self.store.get(res, self._space(res, namespace), name)
        return stored.copy() if stored else None

    def update(self, obj: Obj, manager: str = "seed", subresource: str | None = None) -> Obj:
        res, ns, name = self._locate(obj)
        target = _Target(res, ns, name, subresource)
        return self._put(target, copy.deepcopy(obj), manager, False).copy()

    def patch(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        name: str,
        patch: Obj,
        manager: str = "seed",
        subresource: str | None = None,
    ) -> Obj:
        """Merge-patch (RFC 7386) as ``manager`` (operation Update)."""
        res = lookup_kind(api_version, kind)
        target = _Target(res, self._space(res, namespace) or None, name, subresource)
        kind_ = "application/merge-patch+json"
        return self._patch(target, kind_, patch, manager, False, False)[0].copy()

    def apply(
        self, obj: Obj, manager: str, force: bool = False, subresource: str | None = None
    ) -> Obj:
        """Server-side apply of ``obj`` as ``manager``."""
        res, ns, name = self._locate(obj)
        target = _Target(res, ns, name, subresource)
        kind_ = "application/apply-patch+yaml"
        return self._patch(target, kind_, obj, manager, force, False)[0].copy()

    def delete(self, api_version: str, kind: str, namespace: str | None, name: str) -> Obj:
        """Delete and return the object's last state (raises ApiError 404 when absent)."""
        res = lookup_kind(api_version, kind)
        return self.store.delete(res, self._space(res, namespace), name, {}, False).copy()

    def current_resource_version(self) -> str:
        return str(self.store.rv)

    def reset_requests(self) -> None:
        with self._records_lock:
            self.requests.clear()

    def drop_watches(self) -> None:
        """Abruptly close every open watch connection (no final event, no last chunk)."""
        self.store.signal_watchers(DROP)

    def end_watches(self) -> None:
        """End every open watch stream cleanly, as at ``timeoutSeconds``."""
        self.store.signal_watchers(STOP)

    def compact(self) -> None:
        """Forget the watch history: resuming from any older resourceVersion gets 410."""
        self.store.compact()

    def snapshot(self) -> Snapshot:
        """An etcd backup, for ``restore``."""
        with self.store.lock:
            store = self.store
            return Snapshot(_copy_data(store.data), store.rv, store.floor, copy.copy(store.history))

    def restore(self, snapshot: Snapshot) -> None:
        """An etcd restore: objects, history and the resourceVersion counter go back to
        ``snapshot``, so clients hold versions this server has not issued. The API server
        restart a restore needs ends every watch connection."""
        with self.store.lock:
            data, history = _copy_data(snapshot.data), copy.copy(snapshot.history)
            self.store.load(data, snapshot.rv, snapshot.floor, history)
        self.store.signal_watchers(DROP)

    def await_version(self, query: dict[str, str]) -> None:
        """Wait, as a real server's watch cache does, until this server has reached the
        resourceVersion asked for; a 504 "Too large resource version" if it does not in time."""
        wanted = _version_of(query)
        deadline = time.monotonic() + self.too_large_delay
        while (current := self.store.rv) < wanted:
            if time.monotonic() >= deadline:
                raise _too_large(wanted, current)
            time.sleep(0.01)

    # internals shared by HTTP and direct access
    def _now(self) -> str:
        return self.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _record(self, record: RequestRecord) -> None:
        with self._records_lock:
            self.requests.append(record)

    @staticmethod
    def _space(res: ResourceType, namespace: str | None) -> str:
        return (namespace or "default") if res.namespaced else ""

    def _locate(self, obj: Obj) -> tuple[ResourceType, str, str]:
        res = lookup_kind(obj.get("apiVersion", ""), obj.get("kind", ""))
        meta = obj.get("metadata") or {}
        return res, self._space(res, meta.get("namespace")), meta.get("name") or ""

    def _view(self, t: _Target, old: Stored) -> Obj:
        return _scale_view(t.res, old.obj) if t.sub == "scale" else old.copy()

    def _unview(self, t: _Target, old: Stored, view: Any) -> Obj:
        """Map a written (sub)resource body back to the full object."""
        if not isinstance(view, dict):
            raise bad_request("the object must be a JSON object")
        if t.sub is None:
            return view
        meta = view.get("metadata") or {}
        if meta.get("name") not in (None, "", t.name):
            raise bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL "
                f"({t.name})"
            )
        if meta.get("resourceVersion") not in (None, "", old.obj["metadata"]["resourceVersion"]):
            raise conflict(t.res, t.name or "")
        base = old.copy()
        if t.sub == "status":
            base["status"] = view.get("status")
        else:
            replicas = (view.get("spec") or {}).get("replicas", 0)
            if not isinstance(replicas, int) or isinstance(replicas, bool):
                raise bad_request(f"Scale.spec.replicas: expected int32, got {replicas!r}")
            base["spec"]["replicas"] = replicas
        return base

    def _put(self, t: _Target, body: Any, manager: str, dry: bool) -> Stored:
        return self.store.update(
            t.res, t.space, t.name or "", lambda old: self._unview(t, old, body), manager,
            t.sub, dry,
        )  # fmt: skip

    def _patch(
        self, t: _Target, kind: str, patch: Any, manager: str, force: bool, dry: bool
    ) -> tuple[Stored, bool]:
        name = t.name or ""
        if kind == "application/apply-patch+yaml":
            if not isinstance(patch, dict):
                raise bad_request("the applied configuration must be an object")
            if t.sub is not None:
                meta = patch.get("metadata") or {}
                if meta.get("name") not in (None, name):
                    raise bad_request("the name of the object does not match the name on the URL")
                spec: Obj = patch["spec"] if isinstance(patch.get("spec"), dict) else {}
                if t.sub == "scale":
                    patch = {"spec": {"replicas": spec["replicas"]}} if "replicas" in spec else {}
                else:
                    patch = {"status": patch["status"]} if "status" in patch else {}
            return self.store.apply(t.res, t.space, name, patch, manager, t.sub, force, dry)

        def build(old: Stored) -> Obj:
            view = self._view(t, old)
            try:
                if kind == "application/json-patch+json":
                    new = F.json_patch(view, patch)
                else:
                    if not isinstance(patch, dict):
                        raise bad_request("a merge patch must be a JSON object")
                    new = F.merge_patch(view, F.strip_directives(patch))
            except F.PatchError as exc:
                cause = {"reason": "FieldValueInvalid", "message": str(exc), "field": "patch"}
                raise ApiError(422, "Invalid", f"the patch could not be applied: {exc}",
                               {"name": name, "kind": t.res.kind, "causes": [cause]}) from None  # fmt: skip
            strategic = kind == "application/strategic-merge-patch+json"
            return self._unview(t, old, int32_after_patch(t.res, new, strategic))

        return self.store.update(t.res, t.space, name, build, manager, t.sub, dry), False

    # HTTP
    def route(self, path: str) -> _Target | Obj:
        """Resolve a URL path to a resource target, or to a discovery document."""
        parts = [unquote(p) for p in path.split("/") if p]
        if parts[:2] == ["openapi", "v3"]:
            doc = openapi.index() if len(parts) == 2 else openapi.lookup(parts[2:])
            if doc is None:
                raise _not_found_path()
            return doc
        if parts == ["version"]:
            return {
                "major": "1", "minor": "32", "gitVersion": "v1.32.0-fakeapi",
                "gitCommit": "0000000000000000000000000000000000000000",
                "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
                "goVersion": "go1.23.0", "compiler": "gc", "platform": "linux/amd64",
            }  # fmt: skip
        if parts == ["api"]:
            address = f"127.0.0.1:{self.url.rsplit(':', 1)[1]}"
            cidr = [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}]
            return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": cidr}
        if parts == ["apis"]:
            groups = list(dict.fromkeys((r.group, r.version) for r in RESOURCES if r.group))
            items = [self._group(g, v) for g, v in groups]
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": items}
        if len(parts) == 2 and parts[0] == "apis" and any(r.group == parts[1] for r in RESOURCES):
            first = next(r for r in RESOURCES if r.group == parts[1])
            return {
                "kind": "APIGroup",
                "apiVersion": "v1",
                **self._group(first.group, first.version),
            }
        if parts[:1] == ["api"] and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise _not_found_path()
        if not any(r.group == group and r.version == version for r in RESOURCES):
            raise _not_found_path()
        if not rest:
            return self._resource_list(group, version)
        ns = None
        head = BY_PATH.get((group, version, rest[2])) if len(rest) >= 3 else None
        if rest[0] == "namespaces" and head is not None and head.namespaced:
            ns, rest = rest[1], rest[2:]
        res = BY_PATH.get((group, version, rest[0]))
        if res is None or len(rest) > 3 or (ns is not None and not res.namespaced):
            raise _not_found_path()
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if (sub is not None and sub not in res.subresources) or (
            res.namespaced and ns is None and name is not None
        ):
            raise _not_found_path()
        return _Target(res, ns, name, sub)

    @staticmethod
    def _group(group: str, version: str) -> Obj:
        gv = {"groupVersion": f"{group}/{version}", "version": version}
        return {"name": group, "versions": [gv], "preferredVersion": gv}

    @staticmethod
    def _resource_list(group: str, version: str) -> Obj:
        items: list[Obj] = []
        for r in RESOURCES:
            if (r.group, r.version) != (group, version):
                continue
            item: Obj = {"name": r.plural, "singularName": r.kind.lower()}
            item.update(namespaced=r.namespaced, kind=r.kind, verbs=_VERBS)
            if r.short_names:
                item["shortNames"] = list(r.short_names)
            items.append(item)
            for sub in sorted(r.subresources):
                entry: Obj = {"name": f"{r.plural}/{sub}", "singularName": ""}
                entry.update(namespaced=r.namespaced, kind=r.kind, verbs=["get", "patch", "update"])
                if sub == "scale":
                    entry.update(group="autoscaling", version="v1", kind="Scale")
                items.append(entry)
        gv = f"{group}/{version}" if group else version
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": gv,
            "resources": items,
        }

    def serve(
        self, method: str, t: _Target, query: dict[str, str], body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        """Handle a non-watch request on a resource; returns (status, body, extra headers)."""
        res, name = t.res, t.name or ""
        dry = query.get("dryRun") == "All"
        agent = headers.get("user-agent") or "unknown"
        manager = query.get("fieldManager") or agent.split("/")[0]
        extra: dict[str, str] = {}
        as_table = tables.negotiate(headers.get("accept", "")) if method == "GET" else None
        if as_table is not None and t.sub is None:
            tables.check_include(query.get("includeObject", ""))
            extra["Content-Type"] = tables.content_type(as_table)
        else:
            as_table = None  # a subresource has no table convertor: plain JSON, as a real server
        if method == "GET" and t.name is None:
            if not query.get("continue"):  # a continue token carries its own version
                self.await_version(query)
            meta, items = self._list(t, query)
            if as_table is not None:
                objs = (s.obj for s in items)
                return 200, dumps(self._table(t.res, objs, meta, as_table, query)), extra
            head = {"kind": res.kind + "List", "apiVersion": res.api_version, "metadata": meta}
            listed = dumps(head)[:-1] + b',"items":[' + b",".join(s.item for s in items) + b"]}"
            return 200, listed, extra
        if method == "GET":
            stored = self.store.get(res, t.space, name)
            if stored is None:
                raise not_found(res, name)
            if as_table is not None:
                meta = {"resourceVersion": stored.obj["metadata"]["resourceVersion"]}
                return 200, dumps(self._table(res, [stored.obj], meta, as_table, query)), extra
            return 200, self._render(t, stored), extra
        if method == "DELETE" and t.name is not None:
            options = _load(body) if body else None
            pre = options.get("preconditions") or {} if isinstance(options, dict) else {}
            gone = self.store.delete(res, t.space, name, pre, dry)
            details = {"name": name, "group": res.group, "kind": res.plural}
            details["uid"] = gone.obj["metadata"]["uid"]
            status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
            return 200, dumps({**status, "details": details}), extra
        if (method == "POST") != (t.name is None) or method not in ("POST", "PUT", "PATCH"):
            raise ApiError(405, "MethodNotAllowed", f"{method} is not supported on this path")
        if method == "POST" and res.namespaced and t.ns is None:
            raise _not_found_path()
        ctype = (headers.get("content-type") or "application/json").split(";")[0].strip()
        validation = query.get("fieldValidation", "Warn")
        apply = method == "PATCH" and ctype == "application/apply-patch+yaml"
        payload = _load(body, yaml_ok=apply)
        if method == "PATCH" and ctype not in _PATCH_TYPES:
            raise ApiError(
                415, "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types "
                "include: " + ", ".join(_PATCH_TYPES),
            )  # fmt: skip
        if method == "PATCH" and "force" in query and not apply:
            cause = {"reason": "FieldValueForbidden", "field": "force"}
            cause["message"] = "Forbidden: may not be specified for non-apply patch"
            raise ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: force: '
                           "Forbidden: may not be specified for non-apply patch",
                           {"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [cause]})  # fmt: skip
        if apply and not query.get("fieldManager"):
            cause = {"reason": "FieldValueRequired", "field": "fieldManager"}
            cause["message"] = "Required value: is required for apply patch"
            raise ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: '
                           "Required value: is required for apply patch",
                           {"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [cause]})  # fmt: skip
        if t.sub is None and isinstance(payload, dict) and ctype != "application/json-patch+json":
            strict_patch = method == "PATCH" and validation == "Strict"
            original = copy.deepcopy(payload) if strict_patch else payload  # quoted as sent
            unknown = drop_unknown_fields(res, payload)
            if unknown and apply:  # whatever fieldValidation says
                raise _undeclared(res, payload, unknown)
            if unknown and validation == "Strict":
                raise _strict(res, method, original, unknown)
            if unknown and validation != "Ignore":
                extra["Warning"] = ", ".join(f'299 - "unknown field \\"{u}\\""' for u in unknown)
        if method == "POST":
            if isinstance(payload, dict) and isinstance(payload.get("metadata"), dict):
                payload["metadata"].pop("resourceVersion", None)
            return 201, self.store.create(res, t.space, payload, manager, dry).raw, extra
        if method == "PUT":
            return 200, self._render(t, self._put(t, payload, manager, dry)), extra
        force = query.get("force") in ("true", "1")
        stored, created = self._patch(t, ctype, payload, manager, force, dry)
        return 201 if created else 200, self._render(t, stored), extra

    def _render(self, t: _Target, stored: Stored) -> bytes:
        return dumps(_scale_view(t.res, stored.obj)) if t.sub == "scale" else stored.raw

    def _table(
        self,
        res: ResourceType,
        objs: Iterable[Obj],
        meta: Obj,
        version: str,
        query: dict[str, str],
        headers: bool = True,
    ) -> Obj:
        include = query.get("includeObject", "")
        return tables.table(res, objs, meta, self.clock(), version, include, headers)

    def table_rows(
        self, res: ResourceType, version: str, query: dict[str, str]
    ) -> Callable[[Stored], bytes]:
        """A watch's object renderer for ``as=Table``: one row per event, the column
        definitions in the first event only (apiserver's watchEmbeddedEncoder)."""
        first = [True]

        def render(stored: Stored) -> bytes:
            meta = {"resourceVersion": stored.obj["metadata"]["resourceVersion"]}
            headers, first[0] = first[0], False
            return dumps(self._table(res, [stored.obj], meta, version, query, headers))

        return render

    def _list(self, t: _Target, query: dict[str, str]) -> tuple[Obj, list[Stored]]:
        labels = LabelSelector(query.get("labelSelector", ""))
        fields = FieldSelector(query.get("fieldSelector", ""))
        token, after, version = query.get("continue"), None, None
        if token:
            try:
                state = json.loads(base64.urlsafe_b64decode(token))
                namespace, name = state["after"]
                after, version = (str(namespace), str(name)), state["rv"]
            except (ValueError, KeyError, TypeError, binascii.Error):
                raise bad_request(f"invalid continue token: {token!r}") from None
        limit = int(query.get("limit") or 0)
        rv, items, remaining = self.store.select(t.res, t.ns, labels, fields, after, limit)
        meta: Obj = {"resourceVersion": str(rv) if version is None else version}
        if remaining:
            state = {"rv": meta["resourceVersion"], "after": list(_key(items[-1]))}
            meta["continue"] = base64.urlsafe_b64encode(dumps(state)).decode()
            meta["remainingItemCount"] = remaining
        return meta, items

    def open_watch(
        self, t: _Target, query: dict[str, str]
    ) -> tuple[Watcher, list[Event]] | ApiError:
        labels = LabelSelector(query.get("labelSelector", ""))
        fields = FieldSelector(query.get("fieldSelector", ""))
        return self.store.watch(t.res, t.ns, query.get("resourceVersion"), labels, fields)


def _key(stored: Stored) -> tuple[str, str]:
    meta = stored.obj["metadata"]
    return (meta.get("namespace", ""), meta["name"])


class _Headers(dict[str, str]):
    """Request headers, keys lower-cased."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    api: FakeApiServer

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(address, handler)
        self.ssl_context = ssl_context
        self.conns: set[socket.socket] = set()
        self.conns_lock = threading.Lock()

    def finish_request(self, request: Any, client_address: Any) -> None:
        """TLS handshakes in the connection's own thread, not in the accepting one; a failed
        one (a client that does not trust us, or shows no certificate) ends that connection."""
        if self.ssl_context is not None:
            try:
                request = self.ssl_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
            try:
                super().finish_request(request, client_address)
            finally:  # the caller shuts the plain socket, which the TLS one has taken over
                self.shutdown_request(request)
            return
        super().finish_request(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _HTTPServer
    hdrs: _Headers

    def setup(self) -> None:
        super().setup()
        with self.server.conns_lock:
            self.server.conns.add(self.connection)

    def finish(self) -> None:
        with self.server.conns_lock:
            self.server.conns.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle_one_request(self) -> None:
        """A lean HTTP/1.1 request parser (the stdlib one goes through the email package)."""
        try:
            line = self.rfile.readline(65537)
            parts = line.decode("latin-1").split()
            if len(parts) != 3:
                self.close_connection = True
                return
            self.command, self.path, version = parts
            hdrs = _Headers()
            while (raw := self.rfile.readline(65537)) not in (b"\r\n", b"\n", b""):
                key, _, value = raw.decode("latin-1").partition(":")
                hdrs[key.strip().lower()] = value.strip()
            self.hdrs = hdrs
            connection = hdrs.get("connection", "").lower()
            self.close_connection = connection == "close" or (
                version == "HTTP/1.0" and connection != "keep-alive"
            )
            if self.command in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                self._dispatch(self.command)
            else:
                err = ApiError(405, "MethodNotAllowed", f"{self.command} is not supported")
                self._send(405, dumps(err.status()), {})
        except (TimeoutError, ConnectionError):
            self.close_connection = True

    def _body(self) -> bytes:
        length = int(self.hdrs.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self, method: str) -> None:
        api = self.server.api
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        watch = method == "GET" and query.get("watch") in ("true", "1")
        status, payload, extra = 500, b"", dict[str, str]()
        try:
            body = self._body()
            api.faults.wait(method, url.path)
            fault = api.faults.take(method, url.path)
            if fault is not None:
                raise fault
            target = api.route(url.path)
            if isinstance(target, dict):
                if method != "GET":
                    raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed here")
                status, payload = 200, dumps(target)
            elif watch and target.name is None:
                as_table = tables.negotiate(self.hdrs.get("accept", ""))
                tables.check_include(query.get("includeObject", ""))
                if query.get("sendInitialEvents") in ("true", "1"):
                    api.await_version(query)  # refused before the stream opens, as a LIST
                api._record(RequestRecord(method, url.path, query, 200, True, time.time()))
                self._watch(target, query, as_table)
                return
            else:
                status, payload, extra = api.serve(method, target, query, body, self.hdrs)
        except ApiError as exc:
            status, payload, extra = exc.code, dumps(exc.status()), exc.headers
        except Exception as exc:  # an unexpected bug is a 500, as on a real server
            err = ApiError(500, "InternalError", f"Internal error occurred: {exc!r}")
            status, payload = 500, dumps(err.status())
        api._record(RequestRecord(method, url.path, query, status, watch, time.time()))
        self._send(status, payload, extra)

    def _send(self, status: int, payload: bytes, extra: dict[str, str]) -> None:
        head = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}"]
        ctype = extra.get("Content-Type", "application/json")
        head += [f"Content-Type: {ctype}", f"Content-Length: {len(payload)}"]
        head += [f"{k}: {v}" for k, v in extra.items() if k != "Content-Type"]
        if self.close_connection:
            head.append("Connection: close")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _watch(self, t: _Target, query: dict[str, str], as_table: str | None) -> None:
        api = self.server.api
        opened = api.open_watch(t, query)
        if as_table is not None and not isinstance(opened, ApiError):
            opened[0].render = api.table_rows(t.res, as_table, query)
        head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        self.wfile.write((head + "\r\n").encode())
        if isinstance(opened, ApiError):
            self._chunk(b'{"type":"ERROR","object":%s}\n' % dumps(opened.status()))
            self.wfile.write(b"0\r\n\r\n")
            return
        watcher, first = opened
        try:
            lines = [line for line in map(watcher.line, first) if line]
            if lines:
                self._chunk(b"".join(lines))
            if self._stream(watcher, query):
                self.wfile.write(b"0\r\n\r\n")
            else:  # dropped: end abruptly, without the terminating chunk
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            self.close_connection = True
        finally:
            api.store.unwatch(watcher)

    def _peer_closed(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and not self.connection.recv(1, socket.MSG_PEEK)
        except (OSError, ValueError):  # ValueError: a TLS socket cannot peek; readable is gone
            return True

    def _stream(self, watcher: Watcher, query: dict[str, str]) -> bool:
        """Send live events until timeout/stop (True) or a drop / a gone client (False)."""
        api = self.server.api
        timeout = float(query.get("timeoutSeconds") or 0)
        deadline = time.monotonic() + timeout if timeout > 0 else None
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        last_bookmark = time.monotonic()
        # A watch from a version the server has not reached (after an etcd restore) stays
        # silent, bookmarks included, until the server passes it: 1.32's watch cache.
        since = _version_of(query)
        while True:
            now = time.monotonic()
            wait = api.bookmark_interval - (now - last_bookmark) if bookmarks else 1.0
            if deadline is not None:
                wait = min(wait, deadline - now)
            items: list[Event | str] = []
            try:
                items.append(watcher.queue.get(timeout=max(0.0, wait)))
                while len(items) < 256:
                    items.append(watcher.queue.get_nowait())
            except queue.Empty:
                pass
            out = []
            for item in items:
                if item == DROP:
                    return False
                if item == STOP:
                    deadline = 0.0
                elif isinstance(item, Event) and item.rv > since and (line := watcher.line(item)):
                    out.append(line)
            if out:
                self._chunk(b"".join(out))
            elif not items and self._peer_closed():
                return False
            if deadline is not None and time.monotonic() >= deadline:
                return True
            if bookmarks and time.monotonic() - last_bookmark >= api.bookmark_interval:
                rv = api.store.bookmark_rv(watcher)
                if rv is not None and rv >= since:
                    res = watcher.res
                    obj = {"kind": res.kind, "apiVersion": res.api_version, "metadata": {}}
                    obj["metadata"] = {"resourceVersion": str(rv)}
                    self._chunk(b'{"type":"BOOKMARK","object":%s}\n' % dumps(obj))
                if rv is not None:
                    last_bookmark = time.monotonic()
