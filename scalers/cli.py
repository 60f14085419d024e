"""`scalers`: flags (each with an environment fallback), validated before anything starts."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from importlib.metadata import version
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo

from scalers import log as logs
from scalers.proportional.params import ParamsError, parse_default_params
from scalers.schedule.annotation import zone_named

if TYPE_CHECKING:
    from scalers.manifests import Manifest
    from scalers.proportional.params import ClusterStatus
    from scalers.proportional.targets import Target

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
    # Imported here: it loads the kubernetes client, which `validate` and `plan FILE` never need.
    from scalers.proportional.targets import parse_targets

    try:
        return parse_targets(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _default_params(text: str) -> dict[str, str]:
    try:
        return parse_default_params(text)
    except ParamsError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _params(text: str) -> dict[str, str]:
    try:
        return parse_default_params(text)
    except ParamsError as error:
        raise argparse.ArgumentTypeError(
            str(error).removeprefix("invalid --default-params: ")
        ) from None


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


def _instant(text: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected an ISO 8601 time, e.g. 2026-11-23T08:30:00Z"
        ) from None
    if instant.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset: add Z or e.g. +01:00")
    return instant


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number >= 0")
    return int(text)


def _offline(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timezone",
        type=_zone,
        default=_env("TIMEZONE", "UTC"),
        help="zone of schedules with neither a tz key nor a zone annotation [SCALERS_TIMEZONE, UTC]",
    )


def _plan_flags(plan: argparse.ArgumentParser) -> None:
    plan.add_argument(
        "files", nargs="*", metavar="FILE|DIR", help="manifests; none: the live cluster"
    )
    plan.add_argument(
        "--at",
        type=_instant,
        metavar="TIME",
        help="the instant to plan for, ISO 8601 with offset; default now",
    )
    plan.add_argument("-o", "--output", choices=["table", "json"], default="table")
    _offline(plan)
    plan.add_argument(
        "--kubeconfig", default=os.environ.get("KUBECONFIG"), help="without FILEs [KUBECONFIG]"
    )
    plan.add_argument("--context", default=_env("CONTEXT"), help="without FILEs [SCALERS_CONTEXT]")
    group = plan.add_argument_group("proportional parameters")
    group.add_argument(
        "--params",
        type=_params,
        metavar="JSON",
        help="parameters in --default-params form instead of the ConfigMap; without FILEs, "
        "plan these alone",
    )
    group.add_argument(
        "--namespace",
        default=_env("NAMESPACE", "kube-system"),
        help="the ConfigMap's namespace [SCALERS_NAMESPACE, kube-system]",
    )
    group.add_argument(
        "--configmap",
        default=_env("CONFIGMAP", "dns-autoscaler"),
        help="the ConfigMap [SCALERS_CONFIGMAP, dns-autoscaler]",
    )
    group.add_argument("--nodes", type=_count, metavar="N", help="nodes to size for (with --cores)")
    group.add_argument("--cores", type=_count, metavar="N", help="cores to size for (with --nodes)")
    group.add_argument(
        "--nodelabels",
        type=_node_labels,
        metavar="K=V,...",
        help="live cluster: count only the nodes with these labels",
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

    plan = commands.add_parser(
        "plan", help="scheduled values now and next fires; replicas from the parameters"
    )
    _plan_flags(plan)
    check = commands.add_parser(
        "validate", help="lint manifests' schedule annotations and parameters (exit 1 on error)"
    )
    check.add_argument("files", nargs="+", metavar="FILE|DIR")
    _offline(check)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "demo":
        from scalers.demo import run_demo

        return run_demo(args)
    if args.command == "validate":
        return _validate(args)
    if args.command == "plan":
        return _plan(args)
    return _run(args)


def _validate(args: argparse.Namespace) -> int:
    from scalers.manifests import is_params, is_scheduled, load, validate

    loaded = load(args.files)
    problems = loaded.problems + validate(loaded.manifests, args.timezone)
    for problem in problems:
        print(problem)
    errors = sum(not p.warning for p in problems)
    checked = sum(is_scheduled(m) or is_params(m) for m in loaded.manifests)
    print(
        f"{_plural(loaded.files, 'file')}, {_plural(checked, 'object')} checked: "
        f"{_plural(errors, 'error')}, {_plural(len(problems) - errors, 'warning')}"
    )
    return 1 if errors else 0


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _plan(args: argparse.Namespace) -> int:
    from scalers.clock import SystemClock
    from scalers.manifests import find_configmap, load
    from scalers.plan import make_plan, proportional_plan, render_json, render_table
    from scalers.proportional.params import ClusterStatus

    if (args.nodes is None) != (args.cores is None):
        print("scalers plan: --nodes and --cores go together", file=sys.stderr)
        return 2
    status = None
    if args.nodes is not None:
        status = ClusterStatus(args.nodes, args.nodes, args.cores, args.cores)
    manifests: list[Manifest] = []
    params = None if args.params is None else ("--params", args.params)
    if args.files:
        loaded = load(args.files)
        for problem in loaded.problems:
            print(f"scalers plan: {problem}", file=sys.stderr)
        if loaded.problems:
            return 2
        manifests = loaded.manifests
        found = find_configmap(manifests, args.namespace, args.configmap)
        if params is None and found is not None:
            params = (f"{found.namespace}/{found.name} in {found.source}", found.data)
    elif params is None or status is None:
        # The live cluster: everything, or with --params only the nodes to count.
        try:
            live = _live(args, only_nodes=params is not None)
        except _Unreachable as error:
            print(f"scalers plan: {error}", file=sys.stderr)
            return 2
        manifests, status, params = live.manifests, status or live.status, params or live.params
    proportional = None if params is None else proportional_plan(*params, status)
    result = make_plan(args.at or SystemClock().now(), manifests, args.timezone, proportional)
    print(render_json(result) if args.output == "json" else render_table(result))
    return 0


class _Unreachable(Exception):
    pass


class _Live(NamedTuple):
    manifests: list[Manifest]
    status: ClusterStatus
    params: tuple[str, Mapping[str, Any]] | None


def _live(args: argparse.Namespace, only_nodes: bool) -> _Live:
    """The annotated objects, the parameters' ConfigMap and the node counts of the cluster."""
    from kubernetes.client import ApiException
    from urllib3.exceptions import HTTPError

    from scalers.kube.client import Kube, describe
    from scalers.kube.config import ConfigError, api_client
    from scalers.kube.resources import CONFIGMAP, DEPLOYMENT, HPA, NODE
    from scalers.manifests import Manifest
    from scalers.proportional.nodes import cluster_status, node_share

    try:
        kube = Kube(
            api_client(args.kubeconfig, args.context, f"kube-scalers/{version('kube-scalers')}")
        )
        nodes, _ = kube.list(NODE, label_selector=args.nodelabels)
        status = cluster_status(map(node_share, nodes))
        if only_nodes:
            return _Live([], status, None)
        objects = kube.list(HPA)[0] + kube.list(DEPLOYMENT)[0]
        configmap = kube.get(CONFIGMAP, args.namespace, args.configmap)
    except ConfigError as error:
        raise _Unreachable(str(error)) from None
    except (ApiException, HTTPError, OSError) as error:
        raise _Unreachable(f"cannot read the cluster: {describe(error)}") from None
    params = None
    if configmap is not None:
        params = (f"{args.namespace}/{args.configmap}", configmap.get("data") or {})
    return _Live([Manifest("cluster", o) for o in objects], status, params)


def _run(args: argparse.Namespace) -> int:
    from scalers.clock import SystemClock
    from scalers.controller import Controller, Election, Settings
    from scalers.kube.config import ConfigError, api_client
    from scalers.proportional.loop import Config

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
