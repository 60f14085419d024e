"""The proportional loop: sizes its targets from the cluster's nodes and cores with CPA's math.

The shell around `params`, `nodes` and `targets`: watches keep the nodes (each reduced to its
share: schedulable or not, and its cores), the ConfigMap and the targets; a change wakes the loop,
which lets a burst settle for `debounce_seconds` and then evaluates once, reading only its caches.
Every `resync_seconds` it evaluates anyway, which repairs drift without a single request."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from kubernetes.client import ApiException
from urllib3.exceptions import HTTPError

from scalers import metrics, names
from scalers.clock import Clock
from scalers.kube.client import Closed, Fenced, Kube, RetryLater, describe
from scalers.kube.events import EventRecorder
from scalers.kube.informer import Informer, Object, Watches
from scalers.kube.lease import Always, Leadership
from scalers.kube.patch import write_spec_fields
from scalers.proportional.nodes import NodeShare, cluster_status, essentials, node_share
from scalers.proportional.params import ClusterStatus, Ladder, Linear, ParamsError, parse_params
from scalers.proportional.targets import Sizing, Target, size
from scalers.report import Outcome, Reporter
from scalers.resources import CONFIGMAP, HPA, NODE

log = logging.getLogger(__name__)

FIELD_MANAGER = "kube-scalers-proportional"
LOOP = "proportional"


@dataclass(frozen=True)
class Config:
    targets: tuple[Target, ...] = (Target(HPA, names.COREDNS),)
    namespace: str = names.NAMESPACE  # of the ConfigMap and the targets, as CPA's --namespace
    configmap: str = names.PARAMS_CONFIGMAP
    default_params: dict[str, str] | None = None  # ConfigMap data to create when it is missing
    node_labels: str | None = None  # a label selector: only these nodes count
    resync_seconds: float = 10.0
    debounce_seconds: float = 1.0


class ProportionalLoop:
    name = LOOP

    def __init__(
        self,
        kube: Kube,
        clock: Clock,
        events: EventRecorder,
        config: Config,
        dry_run: bool = False,
        leadership: Leadership | None = None,
    ) -> None:
        self._kube = kube
        self._clock = clock
        self._note = Reporter(LOOP, log, events).note
        self._config = config
        self._dry_run = dry_run
        self._leadership = leadership or Always()  # only the leader decides and writes
        self.period = config.resync_seconds
        self._lock = threading.Lock()
        self._shares: dict[str, NodeShare] = {}
        self._said: dict[str, str] = {}  # topic -> the last state logged about it
        # target -> (resourceVersion written over, field, value): a write the watch has not
        # brought back yet, so that the next pass does not send it again
        self._written: dict[Target, tuple[str, str, int]] = {}
        self._wake = threading.Event()
        self._watch()
        self.last_evaluation: datetime | None = None
        self.heartbeat: datetime | None = None

    def _watch(self) -> None:
        """Fresh informers, and counts that only they fill: one that was stopped is never
        started again (client-go's rule)."""
        config, kube = self._config, self._kube
        with self._lock:
            self._shares = {}
        self._nodes = Informer(
            kube, NODE, self._node_changed, label_selector=config.node_labels, transform=essentials
        )
        self._configmap = Informer(
            kube,
            CONFIGMAP,
            self._changed,
            config.namespace,
            field_selector=f"metadata.name={config.configmap}",
        )
        self._targets = {
            target: Informer(
                kube, target.resource, self._changed, config.namespace,
                field_selector=f"metadata.name={target.name}",
            )
            for target in config.targets
        }  # fmt: skip
        self.watches = Watches([self._nodes, self._configmap, *self._targets.values()])

    def claims(self) -> frozenset[str]:
        """The HPAs ("namespace/name") whose floor this loop owns."""
        return frozenset(
            f"{self._config.namespace}/{t.name}" for t in self._config.targets if t.resource is HPA
        )

    # -- inputs -----------------------------------------------------------------------------

    def _node_changed(self, key: str, old: Object | None, new: Object | None) -> None:
        try:
            share = node_share(new) if new is not None else None
        except ValueError as error:  # a CPU quantity no API server would have accepted
            log.warning(f"node {key} not counted: {error}", extra={"loop": LOOP})
            share = None
        with self._lock:
            before = self._shares.pop(key, None)
            if share is not None:
                self._shares[key] = share
        if share != before:  # a heartbeat or a label edit changes nothing we count
            self._wake.set()

    def _changed(self, key: str, old: Object | None, new: Object | None) -> None:
        self._wake.set()

    def catch_up(self) -> None:
        """Evaluate now rather than at the next resync (leadership acquired)."""
        self._wake.set()

    def synced(self) -> bool:
        return self.watches.synced()

    def problems(self) -> list[str]:
        return []  # a failing target is logged and counted; the loop itself goes on

    def status(self) -> ClusterStatus:
        with self._lock:
            shares = list(self._shares.values())
        return cluster_status(shares)

    # -- the loop ---------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        self._watch()  # after a crash too: new informers, a fresh LIST
        with self.watches.running(stop, self._wake) as halt:
            while not stop.is_set():
                self._wake.clear()
                if self._leadership.term() is not None:
                    self.evaluate()
                else:  # a standby knows the parameters' state, so a hand-over repeats nothing
                    self._parameters(report=False)
                self.heartbeat = self._clock.now()
                woken = self._clock.wait(self._config.resync_seconds, self._wake)
                if woken and not stop.is_set():
                    self._clock.wait(self._config.debounce_seconds, halt)  # let a burst settle

    def evaluate(self) -> list[Outcome]:
        """One pass over the caches: the replica count for the nodes now, given to each target."""
        status = self.status()
        for state, nodes, cores in (
            ("total", status.total_nodes, status.total_cores),
            ("schedulable", status.schedulable_nodes, status.schedulable_cores),
        ):
            metrics.NODES.labels(state).set(nodes)
            metrics.CORES.labels(state).set(cores)
        term = self._leadership.term()
        params = self._parameters() if term is not None else None
        outcomes = []
        if params is not None:
            replicas = params.replicas(status)
            metrics.REPLICAS.set(replicas)
            mode = "linear" if isinstance(params, Linear) else "ladder"
            basis = (
                f"{mode}: {status.schedulable_nodes} of {status.total_nodes} nodes and "
                f"{status.schedulable_cores} of {status.total_cores} cores schedulable"
            )
            for target in self._config.targets:
                try:
                    outcome = self._apply(target, replicas, mode, basis, term)
                except Exception:  # a bug, not the user's failure: the other targets go on
                    metrics.LOOP_ERRORS.labels(LOOP).inc()
                    log.exception(f"error sizing {target}", extra={"loop": LOOP})
                    continue
                if outcome is not None:
                    outcomes.append(outcome)
        self.last_evaluation = self._clock.now()
        metrics.LAST_EVALUATION.labels(LOOP).set(self.last_evaluation.timestamp())
        return outcomes

    def _parameters(self, report: bool = True) -> Linear | Ladder | None:
        """The ConfigMap's parameters; None (and the targets left alone) when they are bad. A bad
        version is reported once, by whoever leads when it is first seen."""
        name = f"{self._config.namespace}/{self._config.configmap}"
        configmap = self._configmap.get(name)
        if configmap is None:
            return self._defaults(name) if report else None
        try:
            params = parse_params(configmap.get("data") or {})
        except ParamsError as error:
            version = configmap["metadata"].get("resourceVersion", "")
            if self._first("parameters", f"{version}: {error}") and report:
                metrics.REJECTED_PARAMETERS.labels(error.reason).inc()
                message = f"invalid parameters, targets left as they are: {error}"
                self._note(
                    "ConfigMap", configmap, message, ("Warning", "InvalidParameters"),
                    reason=error.reason, action="rejected", level=logging.ERROR,
                )  # fmt: skip
            return None
        self._first("parameters", "valid")
        return params

    def _defaults(self, name: str) -> Linear | Ladder | None:
        """As CPA: a missing ConfigMap is created from --default-params, which size this pass."""
        defaults = self._config.default_params
        if defaults is None:
            if self._first("parameters", "missing"):
                log.warning(
                    f"ConfigMap {name} not found and no --default-params: waiting for it",
                    extra={"loop": LOOP, "configmap": name},
                )
            return None
        term = self._leadership.term()
        if not self._dry_run and term is not None:
            body = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": self._config.configmap, "namespace": self._config.namespace},
                "data": defaults,
            }
            try:
                self._kube.create(
                    CONFIGMAP, self._config.namespace, body,
                    fence=lambda: self._leadership.holds(term),
                )  # fmt: skip
                log.info(f"created ConfigMap {name} from --default-params", extra={"loop": LOOP})
            except Exception as error:  # 409: another writer made it first; the watch brings it
                if self._first("parameters", f"create failed: {describe(error)}"):
                    log.warning(
                        f"could not create ConfigMap {name}: {describe(error)}",
                        extra={"loop": LOOP},
                    )
        return parse_params(defaults)

    def _apply(
        self, target: Target, replicas: int, mode: str, basis: str, term: int | None
    ) -> Outcome | None:
        obj = self._targets[target].get(f"{self._config.namespace}/{target.name}")
        if obj is None:
            if self._first(str(target), "missing"):
                log.warning(
                    f"target {target} not found in {self._config.namespace}; sized when it appears",
                    extra={"loop": LOOP, "target": str(target)},
                )
            return None
        self._first(str(target), "present")
        spec = obj.get("spec") or {}
        written = self._written.get(target)
        if written and written[0] == obj["metadata"].get("resourceVersion"):
            spec = spec | {written[1]: written[2]}
        sizing = size(target, replicas, spec)
        kind = target.resource.kind
        if self._first(f"{target} limit", f"{sizing.wanted} {sizing.limit}") and sizing.limit:
            message = f"{basis} give {sizing.wanted} replicas; {sizing.field} {sizing.limit}"
            event = ("Warning", "ProportionalClamped") if sizing.new < sizing.wanted else None
            self._note(
                kind, obj, message, event, field=sizing.field, old=sizing.old, new=sizing.new,
                reason=mode, action="clamped", level=logging.WARNING,
            )  # fmt: skip
        if not sizing.changes:
            return None
        return self._write(target, obj, sizing, mode, basis, term)

    def _write(
        self, target: Target, obj: Object, sizing: Sizing, mode: str, basis: str, term: int | None
    ) -> Outcome:
        kind, meta = target.resource.kind, obj["metadata"]
        change = f"{sizing.field} {sizing.old} -> {sizing.new}"
        action, detail, level = "write", basis, logging.INFO
        event: tuple[str, str] | None = ("Normal", "ProportionalScale")
        if self._dry_run:
            action, event = "would-write", None
        else:
            try:
                write_spec_fields(
                    self._kube, target.resource, meta["namespace"], meta["name"],
                    {sizing.field: sizing.new}, FIELD_MANAGER,
                    fence=lambda: term is not None and self._leadership.holds(term),
                )  # fmt: skip
                metrics.WRITES.labels(LOOP, "success").inc()
                self._written[target] = (meta.get("resourceVersion", ""), sizing.field, sizing.new)
            except Fenced:  # the lease was lost during this pass: the new leader sizes
                action, detail, event = "not-leader", "no longer the leader", None
            except Closed:  # stopping: the next leader sizes
                action, detail, event = "abandoned", "shutting down", None
            except (
                ApiException,
                RetryLater,
                HTTPError,
                OSError,
            ) as error:  # tried at the next pass
                metrics.WRITES.labels(LOOP, "error").inc()
                action, detail = "failed", describe(error)
                event, level = ("Warning", "ProportionalWriteFailed"), logging.ERROR
        message = f"{change} ({detail})" if action == "write" else f"{action} {change}: {detail}"
        self._note(
            kind, obj, message, event, field=sizing.field,
            old=sizing.old, new=sizing.new, reason=mode, action=action, level=level,
        )  # fmt: skip
        changes = {sizing.field: (sizing.old, sizing.new)}
        return Outcome(kind, meta["namespace"], meta["name"], mode, action, changes, detail)

    def _first(self, topic: str, state: str) -> bool:
        """Record `state` for `topic`; True when it differs from the last one, so that a steady
        problem is logged once, not at every pass."""
        if self._said.get(topic) == state:
            return False
        self._said[topic] = state
        return True
