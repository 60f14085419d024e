"""CPA's scaling parameters and the replica count they give, ported with parity from
kubernetes-sigs/cluster-proportional-autoscaler: controller/linearcontroller,
controller/laddercontroller, controller/plugin (which key picks the mode) and the
`--default-params` flag of cmd/.../options.

CPA decodes the parameters with Go's encoding/json, so they are decoded here by its rules
(`gojson`: keys matched case-insensitively, the last of repeated keys winning, `min` refusing
`2.0`) rather than Python's or pydantic's; this module holds what CPA makes of them.

`ParamsError.reason`, a stable label for metrics:
    no_params       the ConfigMap data has no key
    too_many_keys   it has more than one key
    unknown_mode    its one key is neither "linear" nor "ladder"
    bad_json        a value (or --default-params) is not JSON that Go decodes into the parameters
    invalid_linear  linear parameters CPA refuses: negative, max below min, or no ratio at all
    invalid_ladder  a ladder step with a negative number
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import NoReturn

from scalers.proportional import gojson
from scalers.proportional.gojson import Field, as_bool, as_float64, as_int, int_pairs

LINEAR = "linear"
LADDER = "ladder"

Step = tuple[int, int]  # (at least this many cores or nodes, replicas)

_INT32_MAX = 2**31 - 1


@dataclass(frozen=True)
class ClusterStatus:
    """CPA's k8sclient.ClusterStatus."""

    total_nodes: int
    schedulable_nodes: int
    total_cores: int
    schedulable_cores: int

    def counted(self, include_unschedulable_nodes: bool) -> tuple[int, int]:
        """The nodes and cores a mode scales on: the schedulable ones unless told all."""
        if include_unschedulable_nodes:
            return self.total_nodes, self.total_cores
        return self.schedulable_nodes, self.schedulable_cores


class ParamsError(ValueError):
    """Parameters CPA would refuse; `reason` is one of the labels in the module docstring."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Linear:
    """replicas = max(ceil(cores / coresPerReplica), ceil(nodes / nodesPerReplica)), each term
    clamped to [min, max] (max 0: unbounded; a ratio of 0: the term is 1), then the nodes' term
    raised to 2 on more than one node if preventSinglePointFailure."""

    cores_per_replica: float = 0.0
    nodes_per_replica: float = 0.0
    min_replicas: int = 1
    max_replicas: int = 0
    prevent_single_point_failure: bool = False
    include_unschedulable_nodes: bool = False

    def replicas(self, status: ClusterStatus) -> int:
        nodes, cores = status.counted(self.include_unschedulable_nodes)
        from_cores = self._term(cores, self.cores_per_replica)
        from_nodes = self._term(nodes, self.nodes_per_replica)
        # After the clamp, as in CPA: with max 1 this still asks for 2.
        if self.prevent_single_point_failure and nodes > 1 and from_nodes < 2:
            from_nodes = 2
        return _int32(max(from_cores, from_nodes))

    def _term(self, count: int, per_replica: float) -> float:
        if per_replica == 0:
            return 1
        # float64 throughout, as in Go; a ratio so small that the quotient overflows stays +inf.
        quotient = count / per_replica
        replicas = float(math.ceil(quotient)) if math.isfinite(quotient) else quotient
        if self.max_replicas != 0:
            replicas = min(float(self.max_replicas), replicas)
        return max(float(self.min_replicas), replicas)


@dataclass(frozen=True)
class Ladder:
    """The replicas of the highest step at or below the count (the first step's below them all),
    the larger of the cores' and the nodes' ladders. A missing or empty ladder gives 0 (1 in CPA
    before it let ladders reach zero): CPA accepts a ladder with no steps at all, and then scales
    its target to zero."""

    cores_to_replicas: tuple[Step, ...] = ()
    nodes_to_replicas: tuple[Step, ...] = ()
    include_unschedulable_nodes: bool = False

    def __post_init__(self) -> None:
        # CPA sorts the steps by their first number once, when it loads them. Of steps with the
        # same number the later one wins: Go's sort.Sort keeps their order up to 12 steps (an
        # insertion sort) and leaves it unspecified beyond; ours is stable at any length.
        for name in ("cores_to_replicas", "nodes_to_replicas"):
            object.__setattr__(self, name, tuple(sorted(getattr(self, name), key=_first)))

    def replicas(self, status: ClusterStatus) -> int:
        nodes, cores = status.counted(self.include_unschedulable_nodes)
        return _int32(
            max(_climb(cores, self.cores_to_replicas), _climb(nodes, self.nodes_to_replicas))
        )


def _first(step: Step) -> int:
    return step[0]


def _climb(count: int, steps: tuple[Step, ...]) -> int:
    if not steps:
        return 0
    above = bisect_right(steps, count, key=_first)
    return steps[max(above - 1, 0)][1]


def _int32(replicas: float) -> int:
    """CPA answers an int32 and wraps past 2^31-1; we stop there instead."""
    return int(min(replicas, _INT32_MAX))


# -- parsing -------------------------------------------------------------------------------------


def parse_params(data: Mapping[str, str]) -> Linear | Ladder:
    """A ConfigMap's `data` as CPA reads it: exactly one key, the mode, whose value is the mode's
    parameters as JSON."""
    if len(data) != 1:
        raise ParamsError(
            "too_many_keys" if data else "no_params",
            f"invalid configMap format, expected only one entry ({LINEAR!r} or {LADDER!r}), "
            f"got {sorted(data) or 'none'}",
        )
    [(mode, text)] = data.items()
    parse = _PARSERS.get(mode)
    if parse is None:
        raise ParamsError(
            "unknown_mode",
            f"not a supported control mode: {mode!r} (expected {LINEAR!r} or {LADDER!r})",
        )
    try:
        return parse(text)
    except gojson.GoJsonError as error:
        message = f"error parsing {mode} params: could not parse parameters ({error})"
        raise ParamsError("bad_json", message) from None
    except ParamsError as error:
        raise ParamsError(error.reason, f"error parsing {mode} params: {error}") from None


def parse_default_params(text: str) -> dict[str, str]:
    """CPA's `--default-params` (mode -> parameters, e.g. `{"linear": {"nodesPerReplica": 16}}`)
    as the ConfigMap data CPA creates from it: each value re-encoded by Go's json.Marshal, so
    numbers pass through float64 (`2.0` becomes `2`), keys are sorted and spacing dropped. The data
    is checked as that ConfigMap would be."""
    try:
        data = {mode: gojson.marshal(value) for mode, value in gojson.unmarshal_map(text).items()}
        parse_params(data)
    except gojson.GoJsonError as error:
        raise ParamsError("bad_json", f"invalid --default-params: {error}") from None
    except ParamsError as error:
        raise ParamsError(error.reason, f"invalid --default-params: {error}") from None
    return data


# CPA's linearParams and ladderParams, by their JSON names.
_LINEAR_FIELDS = {
    "coresPerReplica": Field("cores_per_replica", as_float64),
    "nodesPerReplica": Field("nodes_per_replica", as_float64),
    "min": Field("min_replicas", as_int),
    "max": Field("max_replicas", as_int),
    "preventSinglePointFailure": Field("prevent_single_point_failure", as_bool),
    "includeUnschedulableNodes": Field("include_unschedulable_nodes", as_bool),
}
_STEPS = int_pairs("laddercontroller.paramEntries", "laddercontroller.paramEntry")
_LADDER_FIELDS = {
    "coresToReplicas": Field("cores_to_replicas", _STEPS, is_list=True),
    "nodesToReplicas": Field("nodes_to_replicas", _STEPS, is_list=True),
    "includeUnschedulableNodes": Field("include_unschedulable_nodes", as_bool),
}


def _parse_linear(text: str) -> Linear:
    params = Linear(
        **gojson.unmarshal_struct(text, "linearcontroller.linearParams", _LINEAR_FIELDS)
    )
    # CPA's checks, in CPA's order.
    if params.min_replicas < 0:
        _invalid_linear(f"invalid negative value for min: {params.min_replicas}")
    if params.min_replicas == 0:
        params = replace(params, min_replicas=1)
    if params.max_replicas != 0 and params.max_replicas < params.min_replicas:
        _invalid_linear(
            f"max replicas count {params.max_replicas} should be greater than / equal to "
            f"min replicas count {params.min_replicas}"
        )
    if params.cores_per_replica == 0 and params.nodes_per_replica == 0:
        _invalid_linear(
            "should at least provide either coresPerReplica or nodesPerReplica (greater than 0)"
        )
    if params.cores_per_replica < 0:
        _invalid_linear(
            f"invalid negative value for coresPerReplica: {_go_v(params.cores_per_replica)}"
        )
    if params.nodes_per_replica < 0:
        _invalid_linear(
            f"invalid negative value for nodesPerReplica: {_go_v(params.nodes_per_replica)}"
        )
    return params


def _invalid_linear(message: str) -> NoReturn:
    raise ParamsError("invalid_linear", message)


def _parse_ladder(text: str) -> Ladder:
    values = gojson.unmarshal_struct(text, "laddercontroller.ladderParams", _LADDER_FIELDS)
    # Checked as written, before sorting, so the first bad step named is CPA's.
    for key, field in _LADDER_FIELDS.items():
        if not field.is_list:
            continue
        for step in values.get(field.attribute, ()):
            # CPA refused 0 too until it let ladders scale to zero.
            if step[0] < 0 or step[1] < 0:
                raise ParamsError(
                    "invalid_ladder",
                    f"invalid negative values in entry [{step[0]} {step[1]}] in {key}",
                )
    return Ladder(**values)


_PARSERS: dict[str, Callable[[str], Linear | Ladder]] = {
    LINEAR: _parse_linear,
    LADDER: _parse_ladder,
}


def _go_v(number: float) -> str:
    """fmt's %v of a float64, for messages: the shortest digits, in exponent form below 1e-4 or
    from 1e6 on (-1e+06, not -1000000.0)."""
    decimal = Decimal(repr(number)).normalize()
    exponent = decimal.adjusted()
    if -4 <= exponent < 6:
        return format(decimal, "f")
    digits = "".join(map(str, decimal.as_tuple().digits))
    mantissa = digits[0] + (f".{digits[1:]}" if len(digits) > 1 else "")
    sign = "-" if decimal.is_signed() else ""
    return f"{sign}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
