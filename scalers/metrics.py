"""Prometheus metrics, on prometheus-client's default registry."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

WRITES = Counter(
    "scalers_writes_total",
    "Writes sent to the API server, by loop and outcome",
    ["loop", "outcome"],
)
REJECTED_ANNOTATIONS = Counter(
    "scalers_rejected_annotations_total", "Schedule annotations rejected, by reason", ["reason"]
)
REFUSED_WRITES = Counter(
    "scalers_refused_writes_total",
    "Writes not sent because the result was invalid",
    ["loop", "reason"],
)
FIRE_DELAY = Histogram(
    "scalers_fire_delay_seconds",
    "From a schedule's cron instant to the write that applied it",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
REJECTED_PARAMETERS = Counter(
    "scalers_rejected_parameters_total",
    "Proportional parameters (the ConfigMap) rejected, by reason",
    ["reason"],
)
NODES = Gauge("scalers_proportional_nodes", "Nodes counted, by state", ["state"])
CORES = Gauge("scalers_proportional_cores", "Allocatable cores counted, by node state", ["state"])
REPLICAS = Gauge("scalers_proportional_replicas", "Replicas the proportional parameters give")
