"""An in-process fake Kubernetes API server speaking the real HTTP/JSON protocol.

The real ``kubernetes`` Python client and ``kubectl`` work against it: ``get`` (with its
usual columns, ``-o wide``, ``-w``, ``-o yaml|json``), ``apply`` client-side and
``--server-side`` with kubectl's default validation, ``diff``, ``patch``, ``scale``,
``explain``. Stdlib only, plus PyYAML and ``kubernetes`` for the client Configuration.

What it models
--------------
* Resources (one registry table): core/v1 namespaces, nodes (cluster-scoped), pods,
  configmaps, events; apps/v1 deployments, statefulsets, replicasets (``/scale``, ``/status``);
  autoscaling/v2 horizontalpodautoscalers (``/status``); coordination.k8s.io/v1 leases;
  events.k8s.io/v1 events. Discovery: ``/version``, ``/api``, ``/api/v1``, ``/apis``,
  ``/apis/{group}[/{version}]`` with verbs and short names.
* Server-side Table printing (tables.py): ``Accept: application/json;as=Table;v=v1|v1beta1;
  g=meta.k8s.io`` on a list, a get or a watch answers a ``meta.k8s.io`` Table with the columns
  and cells of kubernetes' printers.go (1.32) for every modelled kind (HPA NAME REFERENCE
  TARGETS MINPODS MAXPODS REPLICAS AGE; nodes NAME STATUS ROLES AGE VERSION + wide; events
  LAST SEEN TYPE REASON OBJECT MESSAGE + wide; deployments NAME READY UP-TO-DATE AVAILABLE
  AGE + wide; pods, namespaces, configmaps, statefulsets, replicasets, leases likewise), wide
  cells always included as a real server does, ages from the server's ``clock``;
  ``includeObject`` (PartialObjectMetadata by default, Object, None); a watch sends one row
  per event and the column definitions in its first event only; an Accept with nothing
  acceptable is a 406. Plain JSON stays the default, and subresources are never tables.
* OpenAPI v3 (openapi.py): ``/openapi/v3`` (the group-versions with a hashed
  ``serverRelativeURL``) and one document per group-version: paths and operations with
  ``x-kubernetes-group-version-kind``/``-action``, the ``fieldValidation``, ``fieldManager``,
  ``dryRun`` (and ``force``) query parameters on writes, the patch content types, and
  component schemas built from the store's own field lists, so they claim only what the
  server keeps (levels it does not check say ``x-kubernetes-preserve-unknown-fields``; no list
  has a patch strategy, matching the server's strategic merge patch). kubectl therefore
  validates on the server (``fieldValidation=Strict``) and computes client-side apply patches
  from these schemas; it never needs ``/openapi/v2``.
* Verbs: get, list (``labelSelector`` with =, ==, !=, exists, !key, in, notin; ``fieldSelector``
  with =, ==, != on any dotted path; ``limit``/``continue``; items without ``apiVersion`` and
  ``kind``, which only the list carries, as a real server sends them), watch, create (``generateName``),
  update (PUT, optimistic concurrency on ``metadata.resourceVersion``), patch (merge,
  strategic, JSON patch, server-side apply with ``force``), delete (``preconditions``;
  answers a Success Status), ``dryRun=All``, ``fieldValidation`` (Ignore/Warn/Strict, unknown
  fields dropped with a ``Warning`` header) at the top level, in metadata and in the spec of
  HPAs, apps kinds and leases. Strict refusals read as a real server's: a 400 "<Kind> in
  version ... cannot be handled as a <Kind>: strict decoding error: unknown field ..." on
  create/update, a 422 on the field ``patch`` for merge and strategic merge patches; a
  server-side apply with unknown fields is refused whatever ``fieldValidation`` says, with
  structured-merge-diff's "failed to create typed patch object (...): .spec.x: field not
  declared in schema" as a 500 without reason (kubernetes#122480). JSON bodies (apply also
  takes YAML) with Content-Length.
* resourceVersion: one global counter, bumped only by real changes; a write that changes
  nothing keeps the resourceVersion and managedFields and emits no event. generation starts
  at 1 and bumps when ``spec`` changes.
* Status handling as on a real server: main-resource writes keep the stored status of kinds
  with a ``/status`` subresource (create resets it; nodes keep the status given on create);
  ``/status`` writes change only ``.status``; ``/scale`` writes change only ``spec.replicas``.
* Defaults and Go zero values the typed client requires (HPA ``spec.minReplicas`` = 1 and
  ``status.{currentReplicas,desiredReplicas}`` = 0, ``currentMetrics: null``; apps
  ``spec.replicas`` = 1; a full Node ``status.nodeInfo``; ...) and validation with 422
  Invalid Status bodies (HPA scaleTargetRef/minReplicas/maxReplicas, apps replicas, selector
  and containers, pod containers, events.k8s.io eventTime), 400 for wrongly typed fields and
  for Lease times that are not MicroTimes (RFC3339 with exactly six fraction digits).
  Sizes and ranges: 422 for over 256 KiB of annotations; int32 replica fields refused (400 on
  create/update, 422 on merge/JSON patch) or wrapped by a strategic merge patch.
* managedFields (FieldsV1): create/update/non-apply patch are operation ``Update``, taking
  the leaves the write changed away from other managers; server-side apply is operation
  ``Apply``, owning exactly its configuration, with 409 conflicts (``force`` overrides),
  shared ownership of equal values and removal of leaves the applier drops. Scale writes are
  recorded on the parent's ``spec.replicas`` with ``subresource: scale``. The manager is
  ``fieldManager`` or else the User-Agent up to its first ``/``, as on a real server.
* Watches: chunked ``ADDED/MODIFIED/DELETED/BOOKMARK/ERROR`` lines; synthetic ADDED for
  resourceVersion unset or "0"; replay from a retained resourceVersion; an ``ERROR`` event
  with a 410 Expired Status for an older one; label-selector watches see ADDED/DELETED when a
  label change enters/leaves the selector; ``timeoutSeconds``; per-watcher queues so
  watchers never block writers; a BOOKMARK every ``bookmark_interval`` seconds (1 s; a real
  server sends one about every minute).
* A resourceVersion the server has not reached (after ``restore``): a LIST, or a watch with
  ``sendInitialEvents=true``, waits up to ``too_large_delay`` (3 s, as a real server) for it,
  then answers 504 ``Timeout`` with the cause ``ResourceVersionTooLarge`` ("Too large
  resource version") and ``Retry-After: 1``; a plain watch from one opens and stays silent,
  bookmarks included, until the server's version reaches it (1.32's watch cache).
* Test hooks: ``requests`` log, ``faults.inject`` (Status body with optional details,
  optional Retry-After), ``faults.stall`` (matching requests wait until released),
  ``drop_watches`` (abrupt close), ``end_watches`` (clean end), ``compact`` (forget history),
  ``snapshot``/``restore`` (an etcd backup and restore: objects, history and the
  resourceVersion counter go back; the API server restart drops every watch), direct
  ``create/get/update/patch/apply/delete`` as a named field manager, a ``clock`` for every
  timestamp.

What it does NOT model
----------------------
* Authentication, authorization, admission, HTTP/2, protobuf, aggregated discovery
  (kubectl falls back to legacy discovery), ``/openapi/v2`` (404: kubectl uses v3),
  deletecollection, chunked request bodies, the ``/watch/`` path prefix, streaming lists
  (``sendInitialEvents`` is read only to refuse a version not reached), PUT-creates.
  ``metadata.generation`` exists only on HPAs and apps kinds.
* TLS only as a transport option (``FakeApiServer(ssl_context=...)``, which may require a
  client certificate): no one is authenticated by that certificate or by a token, and nothing
  is authorised or refused by who asks.
* Tables: only the modelled kinds' printers (no default "Created At" convertor is needed, so
  none exists); no ``as=PartialObjectMetadata[List]`` (a 406 when it is all that is asked);
  the Pod printer is simplified (phase or reason, ready and restart counts; no per-container
  waiting/terminated reasons, no "(5m ago)" on restarts); HPA TARGETS shows the spec's target
  and ``<unknown>`` until ``status.currentMetrics`` says otherwise (ContainerResource metrics
  print like Resource ones); BOOKMARK events of a Table watch stay plain objects; column
  descriptions are shortened.
* OpenAPI: descriptions, ``required`` lists, enums, defaults, and schemas for objects below
  the levels listed above: those are free-form (``x-kubernetes-preserve-unknown-fields``) beyond one
  level of property names (pod template specs, HPA behavior, selectors). A client-side apply
  that changes a map nested inside such a free-form object (``securityContext.seLinuxOptions``,
  say) makes kubectl warn "error calculating patch from openapi v3 spec" and fall back to its
  built-in strategic merge patch, whose list merge keys this server does not model (see
  below): the change applies, but a list in the same patch would be replaced by the patch's
  items. A JSON patch is not checked for unknown fields at all (it can store them).
* Controllers: no pods behind deployments, no replica counts in status, no garbage
  collection, finalizers or graceful deletion, no namespace existence checks (a namespace's
  name is checked: an RFC 1123 label) or namespace deletion cascade.
* Full schemas: unknown-field detection covers only the levels listed above; validation
  covers only the fields listed above (no object name syntax, label syntax or per-kind field
  selector whitelists; any dotted path is accepted in a field selector).
* Strategic merge patch is a plain merge patch: list merge keys (``$patch``, merge by
  ``name``/``type``) are not modelled and every list is replaced whole (``$`` directives are
  dropped). For managedFields and apply, lists are atomic leaves (no ``k:``/``v:`` item
  ownership) and FieldsV1 carries no ``"."`` entries; managers are keyed by
  (manager, operation, subresource), not by apiVersion.
* Consistent pagination snapshots: a ``continue`` page reads the current state. A LIST from a
  resourceVersion the server has reached reads the current state whatever
  ``resourceVersionMatch`` says (no ``Exact`` reads of the past); get ignores
  ``resourceVersion``. One version per group.
"""

from __future__ import annotations

from .server import FakeApiServer, Faults, RequestRecord
from .store import RESOURCES, ApiError, ResourceType

FakeApiError = ApiError

__all__ = [
    "RESOURCES",
    "ApiError",
    "FakeApiError",
    "FakeApiServer",
    "Faults",
    "RequestRecord",
    "ResourceType",
]
