"""`scalers`: flags (each with an environment fallback), validated before anything starts."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from importlib.metadata import version
from zoneinfo import ZoneInfo

from scalers import log as logs
from scalers.proportional.loop import Config
from scalers.proportional.params import ParamsError, parse_default_params
from scalers.proportional.targets import Target, parse_targets
from scalers.schedule.annotation import zone_named

log = logging.getLogger("scalers")


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"SCALERS_{name}", default)


def _env_flag(name: str) -> bool:
    return (_env(name) or "").lower() in ("1", "true", "yes")


def _zone(text: str) -> ZoneInfo:
    zone = zone_named(text)
    if zone is None:
        raise argparse.ArgumentTypeError(
            f"unknown time zone {text!r} (an IANA name, e.g. Europe/Berlin)"
        )
    return zone


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timezone",
        type=_zone,
        default=_env("TIMEZONE", "UTC"),
        help="zone of schedules with neither a tz key nor a zone annotation [SCALERS_TIMEZONE, UTC]",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        default=_env_flag("DRY_RUN"),
        help="decide and log everything, write nothing (no Events either) [SCALERS_DRY_RUN]",
    )
    parser.add_argument(
        "--schedule-loop",
        action=argparse.BooleanOptionalAction,
        default=_env("SCHEDULE_LOOP", "true") != "false",
        help="run the schedule loop [SCALERS_SCHEDULE_LOOP, on]",
    )
    parser.add_argument(
        "--log-level",
        default=_env("LOG_LEVEL", "INFO"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        type=str.upper,
        help="[SCALERS_LOG_LEVEL, INFO]",
    )


def _targets(text: str) -> tuple[Target, ...]:
    try:
        return parse_targets(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _default_params(text: str) -> dict[str, str]:
    try:
        return parse_default_params(text)
    except ParamsError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _node_labels(text: str) -> str:
    """CPA's "key=value,key2=value2", passed on as a label selector."""
    for item in text.split(","):
        key, equals, _ = item.partition("=")
        if not equals or not key.strip():
            raise argparse.ArgumentTypeError(f"{item!r}: expected key=value[,key=value...]")
    return text


def _seconds(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number of seconds >= 1")
    return int(text)


def _proportional(parser: argparse.ArgumentParser) -> None:
    """The proportional loop's flags: CPA's names and meaning, so its Deployment args carry over."""
    group = parser.add_argument_group("proportional loop (cluster-proportional-autoscaler flags)")
    group.add_argument(
        "--proportional-loop",
        action=argparse.BooleanOptionalAction,
        default=_env("PROPORTIONAL_LOOP", "true") != "false",
        help="run the proportional loop [SCALERS_PROPORTIONAL_LOOP, on]",
    )
    group.add_argument(
        "--target",
        type=_targets,
        default=_env("TARGET", "hpa/coredns"),
        help="what to size, comma-separated: hpa/NAME (its minReplicas), deployment/NAME, "
        "statefulset/NAME, replicaset/NAME (replicas) [SCALERS_TARGET, hpa/coredns]",
    )
    group.add_argument(
        "--namespace",
        default=_env("NAMESPACE", "kube-system"),
        help="namespace of the targets and the ConfigMap [SCALERS_NAMESPACE, kube-system]",
    )
    group.add_argument(
        "--configmap",
        default=_env("CONFIGMAP", "dns-autoscaler"),
        help="ConfigMap of the parameters [SCALERS_CONFIGMAP, dns-autoscaler]",
    )
    group.add_argument(
        "--default-params",
        type=_default_params,
        default=_env("DEFAULT_PARAMS"),
        help="parameters to create the ConfigMap with when it is missing, e.g. "
        '\'{"linear":{"coresPerReplica":256,"nodesPerReplica":16,"min":2}}\' '
        "[SCALERS_DEFAULT_PARAMS]",
    )
    group.add_argument(
        "--nodelabels",
        type=_node_labels,
        default=_env("NODELABELS"),
        help="count only nodes with these labels: key=value[,key=value...] [SCALERS_NODELABELS]",
    )
    group.add_argument(
        "--poll-period-seconds",
        type=_seconds,
        default=_env("POLL_PERIOD_SECONDS", "10"),
        help="resync period; changes are seen at once through watches [SCALERS_POLL_PERIOD_SECONDS, 10]",
    )


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number >= 0")
    return value


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a port number (0 picks a free one)")
    return int(text)


def _operations(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("operations")
    group.add_argument(
        "--leader-elect",
        action=argparse.BooleanOptionalAction,
        default=_env("LEADER_ELECT", "true") != "false",
        help="only the holder of a Lease writes; --no-leader-elect for a single replica "
        "[SCALERS_LEADER_ELECT, on]",
    )
    group.add_argument(
        "--lease-name",
        default=_env("LEASE_NAME", "kube-scalers"),
        help="[SCALERS_LEASE_NAME, kube-scalers]",
    )
    group.add_argument(
        "--lease-namespace",
        default=_env("LEASE_NAMESPACE", "kube-system"),
        help="[SCALERS_LEASE_NAMESPACE, kube-system]",
    )
    group.add_argument(
        "--lease-duration",
        type=_seconds,
        default=_env("LEASE_DURATION", "15"),
        help="seconds a standby waits for a silent leader; renewals are due within 2/3 of it "
        "[SCALERS_LEASE_DURATION, 15]",
    )
    group.add_argument(
        "--identity",
        default=_env("IDENTITY") or os.environ.get("POD_NAME") or socket.gethostname(),
        help="this replica's name in the Lease [SCALERS_IDENTITY, else POD_NAME, else the hostname]",
    )
    group.add_argument(
        "--health-port",
        type=_port,
        default=_env("HEALTH_PORT", "8080"),
        help="port of /healthz, /readyz and /metrics [SCALERS_HEALTH_PORT, 8080]",
    )
    group.add_argument(
        "--qps",
        type=_positive,
        default=_env("QPS", "100"),
        help="client-side limit on API requests per second, 0 for none [SCALERS_QPS, 100]",
    )
    group.add_argument(
        "--burst",
        type=_seconds,
        default=_env("BURST", "1000"),
        help="requests allowed at once above --qps [SCALERS_BURST, 1000]",
    )


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="scalers",
        description="Schedule and cluster-proportional autoscaling for Kubernetes HPAs.",
    )
    root.add_argument("--version", action="version", version=f"%(prog)s {version('kube-scalers')}")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the controller against a cluster")
    _common(run)
    run.add_argument(
        "--kubeconfig",
        default=os.environ.get("KUBECONFIG"),
        help="kubeconfig file; default in-cluster config, else ~/.kube/config [KUBECONFIG]",
    )
    run.add_argument(
        "--context", default=_env("CONTEXT"), help="kubeconfig context [SCALERS_CONTEXT]"
    )
    _proportional(run)
    _operations(run)

    demo = commands.add_parser(
        "demo", help="run the real controller against an in-process API server on a fast clock"
    )
    _common(demo)
    demo.add_argument("--examples", default=None, help="directory of manifests to seed (examples/)")
    demo.add_argument("--speed", type=float, default=3600.0, help="virtual seconds per real second")
    demo.add_argument(
        "--hold", action="store_true", help="keep the API server up afterwards, for kubectl"
    )
    demo.add_argument("-v", "--verbose", action="store_true", help="show the JSON log lines")
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "demo":
        from scalers.demo import run_demo

        return run_demo(args)
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    from scalers.clock import SystemClock
    from scalers.controller import Controller, Election, Settings
    from scalers.kube.config import ConfigError, api_client

    logs.configure(args.log_level)
    try:
        connection = api_client(
            args.kubeconfig, args.context, f"kube-scalers/{version('kube-scalers')}"
        )
    except ConfigError as error:
        print(f"scalers: {error}", file=sys.stderr)
        return 2
    proportional = None
    if args.proportional_loop:
        proportional = Config(
            targets=args.target,
            namespace=args.namespace,
            configmap=args.configmap,
            default_params=args.default_params,
            node_labels=args.nodelabels,
            resync_seconds=args.poll_period_seconds,
        )
    election = None
    if args.leader_elect:
        duration = float(args.lease_duration)
        election = Election(
            args.identity, args.lease_name, args.lease_namespace,
            duration, renew_deadline=duration * 2 / 3, retry_period=duration * 2 / 15,
        )  # fmt: skip
    settings = Settings(
        args.timezone, dry_run=args.dry_run, schedule=args.schedule_loop,
        proportional=proportional, election=election, health_port=args.health_port,
        qps=args.qps, burst=args.burst,
    )  # fmt: skip
    if not settings.schedule and settings.proportional is None:
        print("scalers: every loop is switched off; nothing to do", file=sys.stderr)
        return 2
    controller = Controller(connection, SystemClock(), settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    log.info(
        "starting",
        extra={
            "dry_run": settings.dry_run,
            "timezone": str(settings.timezone),
            "identity": args.identity if election else None,
        },
    )
    controller.run(stop)
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
