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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib.metadata import version
from typing import TYPE_CHECKING, Any, NoReturn
from zoneinfo import ZoneInfo

from scalers import log as logs
from scalers import names
from scalers.proportional.params import ParamsError, parse_default_params
from scalers.schedule.annotation import quoted, zone_named

if TYPE_CHECKING:
    from scalers.controller import Settings
    from scalers.manifests import Manifest
    from scalers.proportional.targets import Target

log = logging.getLogger("scalers")

_BOOLEANS = {"true": True, "1": True, "yes": True, "on": True}
_BOOLEANS |= {"false": False, "0": False, "no": False, "off": False}
_INT32 = 2**31 - 1  # what a Kubernetes integer field holds; far below threading.TIMEOUT_MAX
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_DISTRIBUTION = "kube-scalers"  # the package, for its version
_COMMANDS = {"run", "demo", "plan", "validate", "status"}


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

    implied_run = False  # the command line had flags and no command: `run`'s, as CPA's args

    def error(self, message: str) -> NoReturn:
        # One line, without the usage: that of `run` is a screenful above the message.
        if self.implied_run:
            message += " (flags without a command are `scalers run`'s: see scalers run --help)"
        self.exit(2, f"{self.prog}: error: {message}\n")


@dataclass(frozen=True)
class _Later:
    """A default known only when the command runs, and the words its help gives it."""

    shown: str
    compute: Callable[[], str]


@dataclass(frozen=True)
class _Fallback:
    """A flag's default: its environment variable, else `text`. Converted after parsing, so
    that a bad value is blamed on the variable, and only by a command that has the flag."""

    variable: str
    text: str | _Later | None
    convert: Callable[[str], Any]

    def value(self, parser: argparse.ArgumentParser) -> Any:
        text = os.environ.get(self.variable, self.text)
        if isinstance(text, _Later):
            text = text.compute()
        if text is None:
            return None
        try:
            return self.convert(text)
        except argparse.ArgumentTypeError as error:
            parser.error(f"{self.variable}: {error}")


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


def _configmap_ref(text: str) -> str:
    """NAMESPACE/NAME of a ConfigMap."""
    namespace, slash, name = text.partition("/")
    if not slash:
        raise argparse.ArgumentTypeError(f"{quoted(text)}: give NAMESPACE/NAME")
    return f"{_namespace(namespace)}/{_object_name(name)}"


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
    """`plan --params`: --default-params' form, and its errors without that flag's name."""
    try:
        return _default_params(text)
    except argparse.ArgumentTypeError as error:
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


@dataclass(frozen=True)
class _Flag:
    """A flag: `variable` (when it has one) stands in for it, else `default`, both read by
    `parse`; `boolean` makes it a switch. The help ends with the variable and the default."""

    names: tuple[str, ...]
    variable: str | None
    default: Any
    parse: Callable[[str], Any] | None
    help: str | None
    extras: Mapping[str, Any] = field(default_factory=dict)  # argparse's metavar, choices, action

    def add_to(self, group: argparse._ActionsContainer) -> None:
        options = dict(self.extras)
        if self.parse is boolean:
            options.setdefault("action", argparse.BooleanOptionalAction)
        elif self.parse is not None:
            options["type"] = self.parse
        default = self.default
        if self.variable is not None:
            default = _Fallback(self.variable, self.default, self.parse or str)
        group.add_argument(*self.names, default=default, help=self._help(), **options)

    def _help(self) -> str | None:
        if self.variable is None:
            return self.help
        shown = self.default.shown if isinstance(self.default, _Later) else self.default
        if self.parse is boolean:
            shown = "on" if self.default == "true" else None
        bracket = ", ".join(filter(None, (self.variable, shown)))
        return f"{self.help} [{bracket}]" if self.help else f"[{bracket}]"


def _pod_or_host() -> str:
    return os.environ.get("POD_NAME") or socket.gethostname()


# Every flag, once: names, environment variable, default, parser, help (and argparse's extras).
_FLAGS = {
    flag.names[-1]: flag
    for flag in (
        _Flag(("--timezone",), "SCALERS_TIMEZONE", "UTC", _zone,
              "zone of schedules with neither a tz key nor a zone annotation"),
        _Flag(("--dry-run",), "SCALERS_DRY_RUN", "false", boolean,
              "decide and log everything, write nothing (no Events either)",
              {"action": "store_true"}),
        _Flag(("--schedule-loop",), "SCALERS_SCHEDULE_LOOP", "true", boolean,
              "run the schedule loop"),
        _Flag(("--calendars",), "SCALERS_CALENDARS", f"{names.NAMESPACE}/{names.CALENDARS}",
              _configmap_ref, "NAMESPACE/NAME of the ConfigMap of the team calendars that "
              "actions' skipDays and onlyDays name", {"metavar": "NAMESPACE/NAME"}),
        _Flag(("--log-level",), "SCALERS_LOG_LEVEL", "INFO", _log_level, ", ".join(_LOG_LEVELS),
              {"metavar": "LEVEL"}),
        _Flag(("--kubeconfig",), "KUBECONFIG", None, str,
              "kubeconfig file; default in-cluster config, else ~/.kube/config"),
        _Flag(("--context",), "SCALERS_CONTEXT", None, str, "kubeconfig context"),
        _Flag(("--proportional-loop",), "SCALERS_PROPORTIONAL_LOOP", "true", boolean,
              "run the proportional loop"),
        _Flag(("--target",), "SCALERS_TARGET", f"hpa/{names.COREDNS}", _targets,
              "what to size, comma-separated: hpa/NAME (its minReplicas), deployment/NAME, "
              "statefulset/NAME, replicaset/NAME (replicas)"),
        _Flag(("--namespace",), "SCALERS_NAMESPACE", names.NAMESPACE, _namespace,
              "namespace of the targets and the ConfigMap"),
        _Flag(("--configmap",), "SCALERS_CONFIGMAP", names.PARAMS_CONFIGMAP, _object_name,
              "ConfigMap of the parameters"),
        _Flag(("--default-params",), "SCALERS_DEFAULT_PARAMS", None, _default_params,
              "parameters to create the ConfigMap with when it is missing, e.g. "
              '\'{"linear":{"coresPerReplica":256,"nodesPerReplica":16,"min":2}}\''),
        _Flag(("--nodelabels",), "SCALERS_NODELABELS", None, _node_labels,
              "count only nodes with these labels: key=value[,key=value...]"),
        _Flag(("--poll-period-seconds",), "SCALERS_POLL_PERIOD_SECONDS", "10", _seconds,
              "resync period; changes are seen at once through watches"),
        _Flag(("--max-sync-failures",), "SCALERS_MAX_SYNC_FAILURES", "0", _count,
              "exit (status 1) after this many poll periods in a row with a failed pass "
              "(parameters missing or invalid, a target missing or not written); 0 never"),
        _Flag(("--leader-elect",), "SCALERS_LEADER_ELECT", "true", boolean,
              "only the holder of a Lease writes; --no-leader-elect for a single replica"),
        _Flag(("--lease-name",), "SCALERS_LEASE_NAME", names.LEASE, _object_name, None),
        _Flag(("--lease-namespace",), "SCALERS_LEASE_NAMESPACE", names.NAMESPACE, _namespace,
              None),
        _Flag(("--lease-duration",), "SCALERS_LEASE_DURATION", "15", _seconds,
              "seconds a standby waits for a silent leader; renewals are due within 2/3 of it"),
        _Flag(("--identity",), "SCALERS_IDENTITY",
              _Later("else POD_NAME, else the hostname", _pod_or_host), _identity,
              "this replica's name in the Lease"),
        _Flag(("--health-port",), "SCALERS_HEALTH_PORT", "8080", _port,
              "port of /healthz, /readyz and /metrics, 0 for any free one"),
        _Flag(("--qps",), "SCALERS_QPS", "100", _qps,
              "client-side limit on API requests per second, 0 for none"),
        _Flag(("--burst",), "SCALERS_BURST", "1000", _burst, "requests allowed at once above --qps"),
        _Flag(("--examples",), None, None, None,
              "a directory of manifests (*.yaml, *.yml, *.json) to seed instead of the "
              "bundled examples", {"metavar": "DIR"}),
        _Flag(("--speed",), None, 3600.0, _speed, "virtual seconds per real second"),
        _Flag(("--hold",), None, False, None, "keep the API server up afterwards, for kubectl",
              {"action": "store_true"}),
        _Flag(("-v", "--verbose"), None, False, None, "show the JSON log lines",
              {"action": "store_true"}),
        _Flag(("--at",), None, None, _instant,
              "the instant to plan for, ISO 8601 with offset; default now", {"metavar": "TIME"}),
        _Flag(("-o", "--output"), None, "table", None, None, {"choices": ["table", "json"]}),
        _Flag(("--params",), None, None, _params,
              "parameters in --default-params form instead of the ConfigMap; without FILEs, "
              "plan these alone", {"metavar": "JSON"}),
        _Flag(("--nodes",), None, None, _count, "nodes to size for (with --cores)",
              {"metavar": "N"}),
        _Flag(("--cores",), None, None, _count, "cores to size for (with --nodes)",
              {"metavar": "N"}),
    )
}  # fmt: skip


def _as(name: str, **changes: Any) -> _Flag:
    """The flag `name` as a command reads it otherwise: its own help, or another parser."""
    return replace(_FLAGS[name], **changes)


# What each command takes, in the order of its help: groups of flags, under a title or none.
_Groups = tuple[tuple[str | None, tuple[str | _Flag, ...]], ...]
_COMMON = ("--timezone", "--dry-run", "--schedule-loop", "--log-level")
_PROPORTIONAL = (
    "proportional loop (cluster-proportional-autoscaler flags)",
    ("--proportional-loop", "--target", "--namespace", "--configmap", "--default-params",
     "--nodelabels", "--poll-period-seconds", "--max-sync-failures"),
)  # fmt: skip
_OPERATIONS = (
    "operations",
    ("--leader-elect", "--lease-name", "--lease-namespace", "--lease-duration", "--identity",
     "--health-port", "--qps", "--burst"),
)  # fmt: skip
_RUN: _Groups = (
    (None, (*_COMMON, "--calendars", "--kubeconfig", "--context")), _PROPORTIONAL, _OPERATIONS,
)  # fmt: skip
_DEMO: _Groups = ((None, (*_COMMON, "--examples", "--speed", "--hold", "--verbose")),)
_PLAN: _Groups = (
    (None, ("--at", "--output", "--timezone", "--calendars",
            _as("--kubeconfig", help="without FILEs"), _as("--context", help="without FILEs"))),
    ("proportional parameters", (
        "--params",
        # Not checked as names: that would load the kubernetes client for `plan FILE`, and a
        # name that no object can have matches none.
        _as("--namespace", parse=str, help="the ConfigMap's namespace"),
        _as("--configmap", parse=str, help="the ConfigMap"),
        "--nodes", "--cores",
        _as("--nodelabels", variable=None, help="live cluster: count only the nodes with these "
            "labels", extras={"metavar": "K=V,..."}),
    )),
)  # fmt: skip
_VALIDATE: _Groups = ((None, ("--timezone", "--calendars")),)
_STATUS: _Groups = (
    (None, (
        # As kubectl users type them: -n NS, -A (every namespace, which is also the default).
        _as("--namespace", names=("-n", "--namespace"), variable=None, default=None,
            help="only the objects of this namespace; default every namespace",
            extras={"metavar": "NS"}),
        _Flag(("-A", "--all-namespaces"), None, False, None,
              "every namespace (the default; wins over -n, as in kubectl)", {"action": "store_true"}),
        _as("--at", help="the instant to judge at, ISO 8601 with offset; default now"),
        "--output", "--timezone", "--calendars", "--kubeconfig", "--context",
    )),
)  # fmt: skip
PLUGIN = "kubectl scalers"  # the same commands as a kubectl plugin: the executable kubectl-scalers


_GO_BOOLEANS = frozenset({"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false",
                          "False"})  # fmt: skip


def _go_bool(text: str) -> str:
    """Go's strconv.ParseBool."""
    if text not in _GO_BOOLEANS:
        raise argparse.ArgumentTypeError(f"{quoted(text)}: expected true or false")
    return text


def _go_int(text: str) -> str:
    if re.fullmatch(r"[+-]?[0-9]{1,10}", text) is None or abs(int(text)) > _INT32:
        raise argparse.ArgumentTypeError(f"{quoted(text)}: expected a whole number")
    return text


def _go_severity(text: str) -> str:
    if text.upper() not in ("INFO", "WARNING", "ERROR", "FATAL", "0", "1", "2", "3"):
        raise argparse.ArgumentTypeError(f"{quoted(text)}: expected INFO, WARNING, ERROR or FATAL")
    return text


def _go_vmodule(text: str) -> str:
    for item in filter(None, text.split(",")):
        pattern, equals, level = item.partition("=")
        if not pattern or not equals or re.fullmatch(r"[0-9]{1,9}", level) is None:
            raise argparse.ArgumentTypeError(f"{quoted(item)}: expected pattern=N[,pattern=N...]")
    return text


def _go_backtrace(text: str) -> str:
    if text and re.fullmatch(r"[^:]+:[0-9]{1,9}", text) is None:
        raise argparse.ArgumentTypeError(f"{quoted(text)}: expected FILE:LINE, e.g. main.go:42")
    return text


# cluster-proportional-autoscaler's logging flags (glog's), so that its Deployment's args carry
# over unchanged: checked as CPA checks them, then said once at start to have no effect. The
# value is CPA's flag; what it becomes here, the words after it.
_GLOG: dict[str, tuple[Callable[[str], str], str]] = {
    "logtostderr": (_go_bool, "the log goes to standard error always, as JSON lines"),
    "alsologtostderr": (_go_bool, "the log goes to standard error always, as JSON lines"),
    "stderrthreshold": (_go_severity, "the log goes to standard error always, as JSON lines"),
    "log_dir": (str, "no log files are written"),
    "log_link": (str, "no log files are written"),
    "logbuflevel": (_go_int, "no log files are written"),
    "v": (_go_int, "the log's level is --log-level"),
    "vmodule": (_go_vmodule, "the log's level is --log-level"),
    "log_backtrace_at": (_go_backtrace, "the log's level is --log-level"),
}


def _take_glog(command: argparse.ArgumentParser) -> None:
    group = command.add_argument_group(
        "cluster-proportional-autoscaler's logging flags",
        "accepted, so that its args carry over, and said at start to have no effect: "
        + ", ".join(f"--{name}" for name in _GLOG),
    )
    for name, (parse, _) in _GLOG.items():
        # pflag, as CPA sets it up, reads '_' and '-' in a flag's name alike.
        spellings = dict.fromkeys((f"--{name}", f"--{name.replace('_', '-')}"))
        const = "true" if parse is _go_bool else None
        group.add_argument(
            *spellings, dest=f"glog_{name}", type=parse, nargs=None if const is None else "?",
            const=const, default=None, help=argparse.SUPPRESS,
        )  # fmt: skip


def carried_over(args: argparse.Namespace) -> list[str]:
    """CPA's logging flags given, each with what it becomes here."""
    return [
        f"--{name}={value} ({_GLOG[name][1]})"
        for name in _GLOG
        if (value := getattr(args, f"glog_{name}", None)) is not None
    ]


def _take(command: argparse.ArgumentParser, groups: _Groups) -> None:
    for title, flags in groups:
        group = command if title is None else command.add_argument_group(title)
        for flag in flags:
            (_FLAGS[flag] if isinstance(flag, str) else flag).add_to(group)


def parser(implied_run: bool = False, prog: str = "scalers") -> argparse.ArgumentParser:
    """`implied_run`: the command line had flags and no command, taken as `run`'s."""
    root = _Parser(
        prog=prog,
        description="Schedule and cluster-proportional autoscaling for Kubernetes HPAs.",
    )
    root.add_argument("--version", action="version", version=f"%(prog)s {version(_DISTRIBUTION)}")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="run the controller against a cluster")
    root.implied_run = run.implied_run = implied_run
    _take(run, _RUN)
    _take_glog(run)
    demo = commands.add_parser(
        "demo", help="run the real controller against an in-process API server on a fast clock"
    )
    _take(demo, _DEMO)
    plan = commands.add_parser(
        "plan", help="scheduled values now and next fires; replicas from the parameters"
    )
    plan.add_argument(
        "files", nargs="*", metavar="FILE|DIR",
        help="manifests, YAML or JSON (- reads standard input); none: the live cluster",
    )  # fmt: skip
    _take(plan, _PLAN)
    check = commands.add_parser(
        "validate", help="lint manifests' schedule annotations and parameters (exit 1 on error)"
    )
    check.add_argument(
        "files", nargs="+", metavar="FILE|DIR",
        help="manifests, YAML or JSON; - reads standard input: helm template ... | scalers "
        "validate -",
    )  # fmt: skip
    _take(check, _VALIDATE)
    status = commands.add_parser(
        "status", help="each scheduled field in the cluster: its value, owner and next fire"
    )
    _take(status, _STATUS)
    return root


def main(argv: Sequence[str] | None = None, plugin: bool = False) -> int:
    """`plugin`: run as `kubectl scalers`, which always names its command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # Flags and no command: cluster-proportional-autoscaler's args, as its Deployment passes
    # them to the image's entry point (never kubectl's plugin).
    given = bool(argv) and not (_COMMANDS | {"-h", "--help", "--version"}) & set(argv)
    implied_run = given and not plugin
    prog = PLUGIN if plugin else "scalers"
    args = parser(implied_run, prog).parse_args(["run", *argv] if implied_run else argv)
    if args.command == "demo":
        from scalers.demo import run_demo

        return run_demo(args)
    if args.command == "validate":
        return _validate(args)
    if args.command == "plan":
        return _plan(args)
    if args.command == "status":
        return _status(args, prog)
    return _run(args)


def kubectl_main() -> int:
    """The executable `kubectl-scalers`: kubectl runs it for `kubectl scalers ...` with the
    arguments after the plugin's name (flags before it are kubectl's error, not ours)."""
    return main(plugin=True)


def _status(args: argparse.Namespace, prog: str) -> int:
    from scalers.clock import SystemClock
    from scalers.plan_live import Unreachable, read_scheduled
    from scalers.status import make_status, render_json, render_table

    try:
        live = read_scheduled(
            args.kubeconfig, args.context, _user_agent(),
            namespace=None if args.all_namespaces else args.namespace, calendars=args.calendars,
        )  # fmt: skip
    except Unreachable as error:
        print(f"{prog} status: {error}", file=sys.stderr)
        return 2
    result = make_status(
        args.at or SystemClock().now(), live.manifests, args.timezone, args.calendars,
        live.calendars, live.calendars_error, names.SCHEDULE_MANAGER,
    )  # fmt: skip
    shown = render_json(result) if args.output == "json" else render_table(result)
    # 1: an object is rejected or held, so the loop applies nothing of it; 2 is for input.
    return _say([shown], 1 if result.failed else 0)


def _validate(args: argparse.Namespace) -> int:
    from scalers.manifests import (
        calendars_of,
        is_calendars,
        is_params,
        is_scheduled,
        load,
        validate,
    )

    loaded = load(args.files)
    problems = loaded.problems + validate(loaded.manifests, args.timezone, args.calendars)
    errors = sum(not p.warning for p in problems)
    calendars = calendars_of(loaded.manifests, args.calendars)
    checked = sum(
        is_scheduled(m) or is_params(m) or is_calendars(m, calendars) for m in loaded.manifests
    )
    summary = (
        f"{_plural(loaded.files, 'file')}, {_plural(checked, 'object')} checked: "
        f"{_plural(errors, 'error')}, {_plural(len(problems) - errors, 'warning')}"
    )
    return _say([*map(str, problems), summary], 1 if errors else 0)


def _say(lines: Sequence[str], status: int) -> int:
    """Print the lines and return `status`; when the reader has gone (`| head`), 141 as for
    SIGPIPE, without a traceback: Python's recipe puts devnull in place of stdout, so that
    the flush at exit does not fail again."""
    try:
        for line in lines:
            print(line)
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return status


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _plan(args: argparse.Namespace) -> int:
    from scalers.clock import SystemClock
    from scalers.manifests import calendars_of, find_configmap, load
    from scalers.plan import make_plan, proportional_plan, render_json, render_table
    from scalers.proportional.params import ClusterStatus
    from scalers.schedule.calendar import NO_CALENDARS
    from scalers.status import calendars_read

    if (args.nodes is None) != (args.cores is None):
        print("scalers plan: --nodes and --cores go together", file=sys.stderr)
        return 2
    status = None
    if args.nodes is not None:
        status = ClusterStatus(args.nodes, args.nodes, args.cores, args.cores)
    manifests: list[Manifest] = []
    calendars = NO_CALENDARS
    params = None if args.params is None else ("--params", args.params)
    if args.files:
        loaded = load(args.files)
        for problem in loaded.problems:
            print(f"scalers plan: {problem}", file=sys.stderr)
        if any(not problem.warning for problem in loaded.problems):
            return 2
        manifests = loaded.manifests
        calendars = calendars_of(manifests, args.calendars)
        found = find_configmap(manifests, args.namespace, args.configmap)
        if params is None and found is not None:
            params = (f"{found.namespace}/{found.name} in {found.source}", found.data)
    elif params is None or status is None:
        # Imported here: it loads the kubernetes client, which `plan FILE` never needs.
        from scalers.plan_live import Unreachable, read_cluster

        # The live cluster: everything, or with --params only the nodes to count.
        try:
            live = read_cluster(
                args.kubeconfig, args.context, _user_agent(),
                namespace=args.namespace, configmap=args.configmap,
                node_labels=args.nodelabels, only_nodes=params is not None,
                calendars=args.calendars,
            )  # fmt: skip
        except Unreachable as error:
            print(f"scalers plan: {error}", file=sys.stderr)
            return 2
        manifests, status, params = live.manifests, status or live.status, params or live.params
        calendars = calendars_read(args.calendars, *live.calendars)[0]
    proportional = None if params is None else proportional_plan(*params, status)
    at = args.at or SystemClock().now()
    result = make_plan(at, manifests, args.timezone, proportional, calendars)
    shown = render_json(result) if args.output == "json" else render_table(result)
    # 1: something shown is rejected or refused, as `validate` would fail it; 2 is for input.
    return _say([shown], 1 if result.failed else 0)


def _run(args: argparse.Namespace) -> int:
    from scalers.clock import SystemClock
    from scalers.controller import Controller
    from scalers.kube.config import ConfigError, api_client

    settings = run_settings(args)
    if not settings.schedule and settings.proportional is None:
        print("scalers: every loop is switched off; nothing to do", file=sys.stderr)
        return 2
    try:
        connection = api_client(args.kubeconfig, args.context, _user_agent())
    except ConfigError as error:
        print(f"scalers: {error}", file=sys.stderr)
        return 2
    logs.configure(args.log_level)
    controller = Controller(connection, SystemClock(), settings)
    stop = threading.Event()
    _stop_on_signals(stop)
    log.info(
        "starting",
        extra={
            "dry_run": settings.dry_run,
            "timezone": str(settings.timezone),
            "identity": args.identity if settings.election else None,
        },
    )
    if carried := carried_over(args):
        log.info(
            "cluster-proportional-autoscaler's flags accepted, with no effect here: "
            + "; ".join(carried)
        )
    try:
        controller.run(stop)
    except OSError as error:
        # The one OSError that run raises: binding the health server, before any loop starts.
        print(f"scalers: --health-port {args.health_port}: {error.strerror}", file=sys.stderr)
        return 2
    if controller.runner.gave_up is not None:
        print(f"scalers: {controller.runner.gave_up}", file=sys.stderr)
        return 1
    log.info("stopped")
    return 0


def _stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT set `stop`, from a thread of their own. Not from a Python handler:
    CPython runs that in the main thread only, at its next bytecode, so a signal caught while
    the main thread sleeps in stop.wait() without noticing (delivered to another thread, or
    just before the wait began) would never be acted on, and one acted on inside stop.wait()
    while it holds the lock that stop.set() takes would deadlock. The C-level handler writes
    the signal's number to the wakeup pipe at once, whichever thread it interrupts."""
    read, write = os.pipe()
    os.set_blocking(write, False)
    wanted = {signal.SIGTERM, signal.SIGINT}

    def relay() -> None:
        while os.read(read, 1)[0] not in wanted:
            pass
        stop.set()

    threading.Thread(target=relay, name="signals", daemon=True).start()
    signal.set_wakeup_fd(write, warn_on_full_buffer=False)  # before the handlers: none is lost
    for number in wanted:
        signal.signal(number, lambda *_: None)  # caught, so that the wakeup pipe says it


def _user_agent() -> str:
    return f"{_DISTRIBUTION}/{version(_DISTRIBUTION)}"


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
            max_sync_failures=args.max_sync_failures,
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
        qps=args.qps, burst=args.burst, calendars=args.calendars,
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
