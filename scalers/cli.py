"""`scalers`: flags (each with an environment fallback), validated before anything starts."""

from __future__ import annotations

import argparse
import logging
import math
import os
import re
import signal
import socket
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn
from zoneinfo import ZoneInfo

from scalers import log as logs
from scalers.proportional.params import ParamsError, parse_default_params
from scalers.schedule.annotation import quoted, zone_named

if TYPE_CHECKING:
    from scalers.controller import Settings
    from scalers.manifests import Manifest
    from scalers.proportional.params import ClusterStatus
    from scalers.proportional.targets import Target

log = logging.getLogger("scalers")

_BOOLEANS = {"true": True, "1": True, "yes": True, "on": True}
_BOOLEANS |= {"false": False, "0": False, "no": False, "off": False}
_INT32 = 2**31 - 1  # what a Kubernetes integer field holds; far below threading.TIMEOUT_MAX
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class _Parser(argparse.ArgumentParser):
    """Resolves the environment fallbacks of the command parsed; errors in one line."""

    def parse_known_args(  # type: ignore[override]  # typeshed overloads the namespace type
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, rest = super().parse_known_args(args, namespace)
        for name, value in list(vars(parsed).items()):
            if isinstance(value, _Fallback):
                setattr(parsed, name, value.value(self))
        return parsed, rest

    def error(self, message: str) -> NoReturn:
        # One line, without the usage: that of `run` is a screenful above the message.
        self.exit(2, f"{self.prog}: error: {message}\n")


@dataclass(frozen=True)
class _Fallback:
    """A flag's default: its environment variable, else `text`. Converted after parsing, so
    that a bad value is blamed on the variable, and only by a command that has the flag."""

    variable: str
    text: str | None
    convert: Callable[[str], Any]

    def value(self, parser: argparse.ArgumentParser) -> Any:
        text = os.environ.get(self.variable, self.text)
        if text is None:
            return None
        try:
            return self.convert(text)
        except argparse.ArgumentTypeError as error:
            parser.error(f"{self.variable}: {error}")


def _option(
    group: argparse._ActionsContainer,
    flag: str,
    name: str,
    default: str | None = None,
    convert: Callable[[str], Any] = str,
    **kwargs: Any,
) -> None:
    """`flag`, else the environment variable SCALERS_`name`, else `default`; one conversion."""
    fallback = _Fallback(f"SCALERS_{name}", default, convert)
    group.add_argument(flag, type=convert, default=fallback, **kwargs)


def _switch(
    group: argparse._ActionsContainer,
    flag: str,
    name: str,
    default: str,
    help: str,
    action: type[argparse.Action] | str = argparse.BooleanOptionalAction,
) -> None:
    """A yes-or-no flag, else SCALERS_`name` read by `boolean`, else `default`."""
    fallback = _Fallback(f"SCALERS_{name}", default, boolean)
    group.add_argument(flag, action=action, default=fallback, help=help)


def boolean(text: str) -> bool:
    """The one reading of every yes-or-no environment variable."""
    try:
        return _BOOLEANS[text.strip().lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(
            f"{quoted(text)}: expected true/false, 1/0, yes/no or on/off"
        ) from None


def _zone(text: str) -> ZoneInfo:
    zone = zone_named(text)
    if zone is None:
        raise argparse.ArgumentTypeError(
            f"unknown time zone {quoted(text)} (an IANA name, e.g. Europe/Berlin)"
        )
    return zone


def _log_level(text: str) -> str:
    if text.upper() not in _LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"{quoted(text)}: expected {', '.join(_LOG_LEVELS)}")
    return text.upper()


def _whole(text: str, low: int, high: int = _INT32, what: str = "a whole number") -> int:
    # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
    if re.fullmatch(r"[0-9]{1,10}", text) is None or not low <= int(text) <= high:
        raise argparse.ArgumentTypeError(f"{quoted(text)}: expected {what} from {low} to {high}")
    return int(text)


def _seconds(text: str) -> int:
    return _whole(text, 1, what="a whole number of seconds")


def _count(text: str) -> int:
    return _whole(text, 0)


def _burst(text: str) -> int:
    return _whole(text, 1)


def _port(text: str) -> int:
    return _whole(text, 0, 65535, "a port number")


def _qps(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    # Below a thousandth a request a second, the limiter's waits pass what a thread can wait.
    if not (value == 0 or 0.001 <= value < math.inf):
        raise argparse.ArgumentTypeError(
            f"{quoted(text)}: expected 0 (no limit) or requests a second from 0.001"
        )
    return value


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.001 <= value <= 1e6:
        raise argparse.ArgumentTypeError(f"{quoted(text)}: expected a number from 0.001 to 1e6")
    return value


def _common(parser: argparse.ArgumentParser) -> None:
    _offline(parser)
    _switch(
        parser, "--dry-run", "DRY_RUN", "false", action="store_true",
        help="decide and log everything, write nothing (no Events either) [SCALERS_DRY_RUN]",
    )  # fmt: skip
    _switch(
        parser, "--schedule-loop", "SCHEDULE_LOOP", "true",
        help="run the schedule loop [SCALERS_SCHEDULE_LOOP, on]",
    )  # fmt: skip
    _option(
        parser, "--log-level", "LOG_LEVEL", "INFO", _log_level, metavar="LEVEL",
        help=f"{', '.join(_LOG_LEVELS)} [SCALERS_LOG_LEVEL, INFO]",
    )  # fmt: skip


def _targets(text: str) -> tuple[Target, ...]:
    # Imported here: it loads the kubernetes client, which `validate` and `plan FILE` never need.
    from scalers.proportional.targets import parse_targets

    try:
        return parse_targets(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _namespace(text: str) -> str:
    from scalers.proportional.targets import is_dns_label

    if not is_dns_label(text):
        raise argparse.ArgumentTypeError(
            f"{quoted(text)} is not a namespace name "
            "(lower-case letters, digits and '-', at most 63 characters)"
        )
    return text


def _object_name(text: str) -> str:
    from scalers.proportional.targets import NAME_RULE, is_dns_subdomain

    if not is_dns_subdomain(text):
        raise argparse.ArgumentTypeError(f"{quoted(text)} is not an object name ({NAME_RULE})")
    return text


def _identity(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("empty: a Lease held by '' has no holder")
    return text


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
            raise argparse.ArgumentTypeError(f"{quoted(item)}: expected key=value[,key=value...]")
    return text


def _proportional(parser: argparse.ArgumentParser) -> None:
    """The proportional loop's flags: CPA's names and meaning, so its Deployment args carry over."""
    group = parser.add_argument_group("proportional loop (cluster-proportional-autoscaler flags)")
    _switch(
        group, "--proportional-loop", "PROPORTIONAL_LOOP", "true",
        help="run the proportional loop [SCALERS_PROPORTIONAL_LOOP, on]",
    )  # fmt: skip
    _option(
        group, "--target", "TARGET", "hpa/coredns", _targets,
        help="what to size, comma-separated: hpa/NAME (its minReplicas), deployment/NAME, "
        "statefulset/NAME, replicaset/NAME (replicas) [SCALERS_TARGET, hpa/coredns]",
    )  # fmt: skip
    _option(
        group, "--namespace", "NAMESPACE", "kube-system", _namespace,
        help="namespace of the targets and the ConfigMap [SCALERS_NAMESPACE, kube-system]",
    )  # fmt: skip
    _option(
        group, "--configmap", "CONFIGMAP", "dns-autoscaler", _object_name,
        help="ConfigMap of the parameters [SCALERS_CONFIGMAP, dns-autoscaler]",
    )  # fmt: skip
    _option(
        group, "--default-params", "DEFAULT_PARAMS", None, _default_params,
        help="parameters to create the ConfigMap with when it is missing, e.g. "
        '\'{"linear":{"coresPerReplica":256,"nodesPerReplica":16,"min":2}}\' '
        "[SCALERS_DEFAULT_PARAMS]",
    )  # fmt: skip
    _option(
        group, "--nodelabels", "NODELABELS", None, _node_labels,
        help="count only nodes with these labels: key=value[,key=value...] [SCALERS_NODELABELS]",
    )  # fmt: skip
    _option(
        group, "--poll-period-seconds", "POLL_PERIOD_SECONDS", "10", _seconds,
        help="resync period; changes are seen at once through watches "
        "[SCALERS_POLL_PERIOD_SECONDS, 10]",
    )  # fmt: skip


def _operations(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("operations")
    _switch(
        group, "--leader-elect", "LEADER_ELECT", "true",
        help="only the holder of a Lease writes; --no-leader-elect for a single replica "
        "[SCALERS_LEADER_ELECT, on]",
    )  # fmt: skip
    _option(
        group, "--lease-name", "LEASE_NAME", "kube-scalers", _object_name,
        help="[SCALERS_LEASE_NAME, kube-scalers]",
    )  # fmt: skip
    _option(
        group, "--lease-namespace", "LEASE_NAMESPACE", "kube-system", _namespace,
        help="[SCALERS_LEASE_NAMESPACE, kube-system]",
    )  # fmt: skip
    _option(
        group, "--lease-duration", "LEASE_DURATION", "15", _seconds,
        help="seconds a standby waits for a silent leader; renewals are due within 2/3 of it "
        "[SCALERS_LEASE_DURATION, 15]",
    )  # fmt: skip
    _option(
        group, "--identity", "IDENTITY", os.environ.get("POD_NAME") or socket.gethostname(),
        _identity,
        help="this replica's name in the Lease [SCALERS_IDENTITY, else POD_NAME, else the hostname]",
    )  # fmt: skip
    _option(
        group, "--health-port", "HEALTH_PORT", "8080", _port,
        help="port of /healthz, /readyz and /metrics, 0 for any free one [SCALERS_HEALTH_PORT, 8080]",
    )  # fmt: skip
    _option(
        group, "--qps", "QPS", "100", _qps,
        help="client-side limit on API requests per second, 0 for none [SCALERS_QPS, 100]",
    )  # fmt: skip
    _option(
        group, "--burst", "BURST", "1000", _burst,
        help="requests allowed at once above --qps [SCALERS_BURST, 1000]",
    )  # fmt: skip


# The instants `plan` can look a year and more around without leaving what datetime holds.
_EARLIEST, _LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)


def _instant(text: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{quoted(text)}: expected an ISO 8601 time, e.g. 2026-11-23T08:30:00Z"
        ) from None
    if instant.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{quoted(text)} has no UTC offset: add Z or e.g. +01:00")
    if not _EARLIEST <= instant < _LATEST:
        raise argparse.ArgumentTypeError(f"{quoted(text)}: expected a time from 1970 to 8999")
    return instant


def _offline(parser: argparse.ArgumentParser) -> None:
    _option(
        parser, "--timezone", "TIMEZONE", "UTC", _zone,
        help="zone of schedules with neither a tz key nor a zone annotation [SCALERS_TIMEZONE, UTC]",
    )  # fmt: skip


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
    _option(plan, "--context", "CONTEXT", help="without FILEs [SCALERS_CONTEXT]")
    group = plan.add_argument_group("proportional parameters")
    group.add_argument(
        "--params",
        type=_params,
        metavar="JSON",
        help="parameters in --default-params form instead of the ConfigMap; without FILEs, "
        "plan these alone",
    )
    # Not checked as names: that would load the kubernetes client for `plan FILE`, and a name
    # that no object can have matches none.
    _option(
        group, "--namespace", "NAMESPACE", "kube-system",
        help="the ConfigMap's namespace [SCALERS_NAMESPACE, kube-system]",
    )  # fmt: skip
    _option(
        group, "--configmap", "CONFIGMAP", "dns-autoscaler",
        help="the ConfigMap [SCALERS_CONFIGMAP, dns-autoscaler]",
    )  # fmt: skip
    group.add_argument("--nodes", type=_count, metavar="N", help="nodes to size for (with --cores)")
    group.add_argument("--cores", type=_count, metavar="N", help="cores to size for (with --nodes)")
    group.add_argument(
        "--nodelabels",
        type=_node_labels,
        metavar="K=V,...",
        help="live cluster: count only the nodes with these labels",
    )


def parser() -> argparse.ArgumentParser:
    root = _Parser(
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
    _option(run, "--context", "CONTEXT", help="kubeconfig context [SCALERS_CONTEXT]")
    _proportional(run)
    _operations(run)

    demo = commands.add_parser(
        "demo", help="run the real controller against an in-process API server on a fast clock"
    )
    _common(demo)
    demo.add_argument("--examples", default=None, help="directory of manifests to seed (examples/)")
    demo.add_argument(
        "--speed", type=_speed, default=3600.0, help="virtual seconds per real second"
    )
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
    from scalers.manifests import Manifest
    from scalers.proportional.nodes import cluster_status, node_share
    from scalers.resources import CONFIGMAP, DEPLOYMENT, HPA, NODE

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
    from scalers.controller import Controller
    from scalers.kube.config import ConfigError, api_client

    settings = run_settings(args)
    if not settings.schedule and settings.proportional is None:
        print("scalers: every loop is switched off; nothing to do", file=sys.stderr)
        return 2
    try:
        connection = api_client(
            args.kubeconfig, args.context, f"kube-scalers/{version('kube-scalers')}"
        )
    except ConfigError as error:
        print(f"scalers: {error}", file=sys.stderr)
        return 2
    logs.configure(args.log_level)
    controller = Controller(connection, SystemClock(), settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    log.info(
        "starting",
        extra={
            "dry_run": settings.dry_run,
            "timezone": str(settings.timezone),
            "identity": args.identity if settings.election else None,
        },
    )
    try:
        controller.run(stop)
    except OSError as error:
        # The one OSError that run raises: binding the health server, before any loop starts.
        print(f"scalers: --health-port {args.health_port}: {error.strerror}", file=sys.stderr)
        return 2
    log.info("stopped")
    return 0


def run_settings(args: argparse.Namespace) -> Settings:
    """The controller's settings from the parsed flags of `scalers run`."""
    from scalers.controller import Election, Settings
    from scalers.proportional.loop import Config

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
    return Settings(
        args.timezone, dry_run=args.dry_run, schedule=args.schedule_loop,
        proportional=proportional, election=election, health_port=args.health_port,
        qps=args.qps, burst=args.burst,
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
