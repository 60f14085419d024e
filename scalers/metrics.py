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
API_ERRORS = Counter(
    "scalers_api_errors_total", "Failed API requests, by HTTP code (or connection)", ["code"]
)
API_RETRIES = Counter(
    "scalers_api_retries_total",
    "API requests retried after a 429, 5xx or dropped connection",
    ["code"],
)
WATCH_RESTARTS = Counter(
    "scalers_watch_restarts_total", "Watches restarted after a failure, by kind", ["kind"]
)
WATCH_RELISTS = Counter(
    "scalers_watch_relists_total",
    "Full LISTs after the server lost a watch's history, by kind and reason "
    "(expired: 410 Gone; too_large: Too large resource version; silent: no bookmark)",
    ["kind", "reason"],
)
LAST_EVALUATION = Gauge(
    "scalers_last_evaluation_timestamp_seconds",
    "When each loop last finished a pass (Unix time)",
    ["loop"],
)
LEADER = Gauge("scalers_leader", "1 while this process holds the leader Lease")
SCHEDULED = Gauge(
    "scalers_scheduled_replicas",
    "The value the schedule sets now, per object and field",
    ["namespace", "name", "field"],
)
NEXT_FIRE = Gauge(
    "scalers_schedule_next_fire_timestamp_seconds",
    "When the schedule next sets each object's field (Unix time); calendars' skipped days left out",
    ["namespace", "name", "field"],
)
NEXT_VALUE = Gauge(
    "scalers_schedule_next_replicas",
    "The value the schedule's next fire sets, per object and field",
    ["namespace", "name", "field"],
)
REJECTED_CALENDARS = Counter(
    "scalers_rejected_calendars_total",
    "Versions of the team calendars' ConfigMap with a calendar that is not valid, by reason",
    ["reason"],
)
HELD_SCHEDULES = Gauge(
    "scalers_schedules_held",
    "Annotated objects held, nothing written, until a calendar they name can be read",
)
LOOP_ERRORS = Counter(
    "scalers_loop_errors_total",
    "Unexpected errors (bugs, not API failures) met by a loop, by loop",
    ["loop"],
)
API_RETRIES_DEFERRED = Counter(
    "scalers_api_retries_deferred_total",
    "Writes handed back to their loop to retry later: the server asked for a longer wait",
    ["code"],
)
EVENTS = Counter(
    "scalers_events_total",
    "Kubernetes Events by outcome: created; aggregated (a repeat counted on the existing Event); "
    "failed (the post failed); overflow (the queue was full); abandoned (left at shutdown)",
    ["outcome"],
)
HANDLER_ERRORS = Counter(
    "scalers_informer_handler_errors_total",
    "Exceptions an informer's handler raised (bugs); the change is handed again later, by kind",
    ["kind"],
)
