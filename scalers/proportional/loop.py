"""The proportional loop: sizes its targets from the cluster's nodes and cores with CPA's math.

The shell around `params`, `nodes` and `targets`: watches keep the nodes (each reduced to its
share: schedulable or not, and its cores), the ConfigMap and the targets; a change wakes the loop,
which lets a burst settle for `debounce_seconds` and then evaluates once, reading only its caches.
Every `resync_seconds` it evaluates anyway, which repairs drift without a single request."""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from functools import partial

from scalers import metrics
from scalers.clock import Clock
from scalers.kube.client import Kube
from scalers.kube.events import EventRecorder
from scalers.kube.informer import Watches
from scalers.kube.lease import Always, Leadership
from scalers.kube.writer import Writer
from scalers.outcome import Change, Outcome
from scalers.proportional.cache import Cache
from scalers.proportional.params import ClusterStatus, Ladder, Linear, ParamsError, parse_params
from scalers.proportional.targets import Config, Target, basis, clamped, size
from scalers.report import Reporter
from scalers.resources import CONFIGMAP
from scalers.runner import Failures, GiveUp

log = logging.getLogger(__name__)

FIELD_MANAGER = "kube-scalers-proportional"
LOOP = "proportional"
# The Event (type, reason) that goes with what became of a write.
EVENTS = {
    "write": ("Normal", "ProportionalScale"),
    "failed": ("Warning", "ProportionalWriteFailed"),
}


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
        self._kube, self._clock, self._config = kube, clock, config
        self._report = Reporter(LOOP, log, events)
        self._writer = Writer(kube, LOOP, FIELD_MANAGER, leadership or Always(), dry_run)
        self._failures = Failures(LOOP)
        self.period = config.resync_seconds
        self.debounce = config.debounce_seconds
        self._said: dict[str, str] = {}  # topic -> the last state logged about it
        # target -> (resourceVersion written over, field, value): a write the watch has not
        # brought back yet, so that the next pass does not send it again
        self._written: dict[Target, tuple[str, str, int]] = {}
        self._failed_passes = 0  # in a row, at most one per poll period (--max-sync-failures)
        self._failure_counted: float | None = None  # monotonic time of the last one counted
        self.wake = threading.Event()
        self.watch()

    def watch(self) -> Watches:
        self.cache = Cache(self._kube, self._config, self.wake)
        self.watches = self.cache.watches
        return self.watches

    def claims(self) -> frozenset[str]:
        return self._config.claims()

    def catch_up(self) -> None:
        """Evaluate now rather than at the next resync (leadership acquired)."""
        self.wake.set()

    def synced(self) -> bool:
        return self.watches.synced()

    def problems(self) -> list[str]:
        """Targets that broke the loop pass after pass: /healthz names them."""
        return self._failures.problems()

    def status(self) -> ClusterStatus:
        return self.cache.status()

    # -- the loop ---------------------------------------------------------------------------

    def resume(self) -> None:
        """Nothing to do: each pass reads the caches whole."""

    def standby(self) -> None:
        """A standby knows the parameters' state, so that a hand-over repeats nothing."""
        self._parameters(None)

    def seconds_to_next(self) -> float:
        return self._config.resync_seconds

    def evaluate(self, now: datetime, term: int) -> list[Outcome]:
        """One pass over the caches: the replica count for the nodes now, given to each target."""
        status = self.status()
        for state, nodes, cores in (
            ("total", status.total_nodes, status.total_cores),
            ("schedulable", status.schedulable_nodes, status.schedulable_cores),
        ):
            metrics.NODES.labels(state).set(nodes)
            metrics.CORES.labels(state).set(cores)
        params = self._parameters(term)
        outcomes: list[Outcome] = []
        failed: list[str] = []  # what made this pass fail, as CPA's poll would have
        if params is None:
            failed.append(f"no valid parameters in ConfigMap {self._config.configmap}")
        else:
            replicas = params.replicas(status)
            metrics.REPLICAS.set(replicas)
            mode, why = basis(params, status)
            for target in self._config.targets:
                work = partial(self._apply, target, replicas, mode, why, term, failed)
                broke = partial(failed.append, f"error on target {target}")
                if outcome := self._failures.guard(target, work, broke):
                    outcomes.append(outcome)
        metrics.LAST_EVALUATION.labels(LOOP).set(now.timestamp())
        self._count_failure(failed)
        return outcomes

    def _count_failure(self, failed: list[str]) -> None:
        """CPA's --max-sync-failures, counted as CPA's polls: a pass fails when the parameters are
        missing or invalid, or a target is missing, cannot be written or breaks the loop; at most
        one failure counts per poll period (passes woken by changes come more often), and so many
        in a row end the process."""
        if not failed:
            self._failed_passes, self._failure_counted = 0, None
            return
        now, last = self._clock.monotonic(), self._failure_counted
        if last is not None and now - last < self._config.resync_seconds:
            return
        self._failed_passes, self._failure_counted = self._failed_passes + 1, now
        limit = self._config.max_sync_failures
        if limit and self._failed_passes >= limit:
            periods = "period" if self._failed_passes == 1 else "periods"
            raise GiveUp(
                f"{self._failed_passes} poll {periods} in a row with a failed pass "
                f"(--max-sync-failures {limit}); the last: {'; '.join(failed)}"
            )

    def _parameters(self, term: int | None) -> Linear | Ladder | None:
        """The ConfigMap's parameters; None (and the targets left alone) when they are bad. A bad
        version is reported once, by whoever leads (`term`) when it is first seen."""
        name = f"{self._config.namespace}/{self._config.configmap}"
        configmap = self.cache.configmap.get(name)
        if configmap is None:
            return self._defaults(name, term) if term is not None else None
        try:
            params = parse_params(configmap.get("data") or {})
        except ParamsError as error:
            version = configmap["metadata"].get("resourceVersion", "")
            if self._first("parameters", f"{version}: {error}") and term is not None:
                metrics.REJECTED_PARAMETERS.labels(error.reason).inc()
                message = f"invalid parameters, targets left as they are: {error}"
                self._report.note(
                    "ConfigMap", configmap, message, ("Warning", "InvalidParameters"),
                    reason=error.reason, action="rejected", level=logging.ERROR,
                )  # fmt: skip
            return None
        self._first("parameters", "valid")
        return params

    def _defaults(self, name: str, term: int) -> Linear | Ladder | None:
        """As CPA: a missing ConfigMap is created from --default-params, which size this pass."""
        defaults = self._config.default_params
        if defaults is None:
            if self._first("parameters", "missing"):
                log.warning(
                    f"ConfigMap {name} not found and no --default-params: waiting for it",
                    extra={"loop": LOOP, "configmap": name},
                )
            return None
        body = self._config.default_configmap()
        written = self._writer.create(CONFIGMAP, self._config.namespace, body, term)
        if written.sent:
            log.info(f"created ConfigMap {name} from --default-params", extra={"loop": LOOP})
        elif written.action == "failed" and self._first("parameters", f"create: {written.detail}"):
            # 409: another writer made it first; the watch brings it
            log.warning(
                f"could not create ConfigMap {name}: {written.detail}", extra={"loop": LOOP}
            )
        return parse_params(defaults)

    def _apply(
        self, target: Target, replicas: int, mode: str, why: str, term: int, failed: list[str]
    ) -> Outcome | None:
        """Size one target; what makes the pass fail (for --max-sync-failures) goes to
        `failed`."""
        obj = self.cache.targets[target].get(f"{self._config.namespace}/{target.name}")
        if obj is None:
            failed.append(f"target {target} not found in {self._config.namespace}")
            if self._first(str(target), "missing"):
                log.warning(
                    f"target {target} not found in {self._config.namespace}; sized when it appears",
                    extra={"loop": LOOP, "target": str(target)},
                )
            return None
        self._first(str(target), "present")
        spec, meta = obj.get("spec") or {}, obj["metadata"]
        pending = self._written.get(target)
        if pending and pending[0] == meta.get("resourceVersion"):
            spec = spec | {pending[1]: pending[2]}
        sizing = size(target, replicas, spec)
        kind = target.resource.kind
        notice = clamped(sizing, mode, why)
        if self._first(f"{target} limit", f"{sizing.wanted} {sizing.limit}") and notice:
            self._report.notice(kind, obj, notice)
        if not sizing.needed:
            return None
        written = self._writer.spec(target.resource, obj, {sizing.field: sizing.new}, term)
        if written.sent:
            self._written[target] = (meta.get("resourceVersion", ""), sizing.field, sizing.new)
        action = written.action  # a failure is tried again at the next pass
        if action == "failed":
            failed.append(f"writing {target}: {written.detail}")
        detail = why if action in ("write", "would-write") else written.detail
        change = Change(sizing.field, sizing.old, sizing.new)
        outcome = Outcome(kind, meta["namespace"], meta["name"], mode, action, (change,), detail)
        line = f"{change} ({detail})" if written.sent else f"{action} {change}: {detail}"
        event = (*EVENTS[action], line) if action in EVENTS else None
        level = "ERROR" if action == "failed" else "INFO"
        return self._report.decided(obj, outcome, lambda _: line, event, level)

    def _first(self, topic: str, state: str) -> bool:
        """Record `state` for `topic`; True when it differs from the last one, so that a steady
        problem is logged once, not at every pass."""
        if self._said.get(topic) == state:
            return False
        self._said[topic] = state
        return True
