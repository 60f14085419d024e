"""CPA's scaling parameters and the replica count they give, ported with parity from
kubernetes-sigs/cluster-proportional-autoscaler: controller/linearcontroller,
controller/laddercontroller, controller/plugin (which key picks the mode) and the
`--default-params` flag of cmd/.../options.

CPA decodes the parameters with Go's encoding/json, so they are decoded here by its rules rather
than Python's or pydantic's: a key names a field exactly or else case-insensitively, unknown keys
are ignored, of repeated keys the last wins, `null` leaves a field as it was (and empties a list),
an int field takes only an integer literal that fits in 64 bits, a float64 field any finite number,
a bool field only true or false, and a value of any other type is an error.

`ParamsError.reason`, a stable label for metrics:
    no_params       the ConfigMap data has no key
    too_many_keys   it has more than one key
    unknown_mode    its one key is neither "linear" nor "ladder"
    bad_json        a value (or --default-params) is not JSON that Go decodes into the parameters
    invalid_linear  linear parameters CPA refuses: negative, max below min, or no ratio at all
    invalid_ladder  a ladder step with a negative number
"""

from __future__ import annotations

import json
import math
import re
import string
from bisect import bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, NoReturn

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
    except _GoJsonError as error:
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
        document = _load(text)
        if document is None:  # Go leaves the map empty
            members: list[tuple[str, Any]] = []
        elif isinstance(document, _Object):
            members = document.members
        else:
            raise _Mismatch(_kind(document), "map[string]interface {}").in_value()
        data = {_go_string(key): _go_marshal(_go_value(value)) for key, value in members}
        parse_params(data)
    except _GoJsonError as error:
        raise ParamsError("bad_json", f"invalid --default-params: {error}") from None
    except ParamsError as error:
        raise ParamsError(error.reason, f"invalid --default-params: {error}") from None
    return data


def _parse_linear(text: str) -> Linear:
    params = Linear(**_decode(text, "linearcontroller.linearParams", _LINEAR_FIELDS))
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
    values = _decode(text, "laddercontroller.ladderParams", _LADDER_FIELDS)
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


# -- Go's encoding/json --------------------------------------------------------------------------


class _GoJsonError(Exception):
    """What json.Unmarshal would return; becomes a ParamsError with its context."""


@dataclass(frozen=True)
class _Object:
    """A JSON object as written: members in order, repeated keys kept (Go assigns them in turn)."""

    members: list[tuple[str, Any]]


@dataclass(frozen=True)
class _Number:
    """A JSON number as written: Go reads the literal according to the type it fills."""

    literal: str


class _Mismatch(Exception):
    def __init__(self, found: str, go_type: str) -> None:
        self.found = found
        self.go_type = go_type

    def in_value(self) -> _GoJsonError:
        return _GoJsonError(
            f"json: cannot unmarshal {self.found} into Go value of type {self.go_type}"
        )

    def in_field(self, struct: str, name: str) -> _GoJsonError:
        return _GoJsonError(
            f"json: cannot unmarshal {self.found} into Go struct field {struct}.{name} "
            f"of type {self.go_type}"
        )


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _load(text: str) -> Any:
    """The JSON, with objects as `_Object` and numbers as `_Number`; invalid JSON is an error
    before anything is decoded, as in Go (the message is Python's, not Go's scanner's)."""
    try:
        return json.loads(
            text,
            object_pairs_hook=_Object,
            parse_int=_Number,
            parse_float=_Number,
            parse_constant=_no_constant,
        )
    except (ValueError, RecursionError) as error:
        raise _GoJsonError(f"invalid JSON: {error}") from None


def _kind(value: Any) -> str:
    if isinstance(value, _Object):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    return "number"


def _int(value: Any) -> int:
    if isinstance(value, _Number):
        literal = value.literal
        if literal.lstrip("-").isdigit() and len(literal) <= 20:
            number = int(literal)
            if -(2**63) <= number < 2**63:
                return number
        raise _Mismatch(f"number {literal}", "int")
    raise _Mismatch(_kind(value), "int")


def _float64(value: Any) -> float:
    if isinstance(value, _Number):
        number = float(value.literal)
        if math.isfinite(number):
            return number
        raise _Mismatch(f"number {value.literal}", "float64")
    raise _Mismatch(_kind(value), "float64")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise _Mismatch(_kind(value), "bool")


def _steps(value: Any) -> tuple[Step, ...]:
    """A slice of [2]int: an entry too short is padded with 0, one too long cut to two numbers
    (the rest unread), a `null` entry or number is 0."""
    if not isinstance(value, list):
        raise _Mismatch(_kind(value), "laddercontroller.paramEntries")
    steps: list[Step] = []
    for entry in value:
        if entry is not None and not isinstance(entry, list):
            raise _Mismatch(_kind(entry), "laddercontroller.paramEntry")
        pair = [0, 0]
        for index, number in enumerate((entry or [])[:2]):
            if number is not None:
                pair[index] = _int(number)
        steps.append((pair[0], pair[1]))
    return tuple(steps)


@dataclass(frozen=True)
class _Field:
    attribute: str
    convert: Callable[[Any], Any]
    is_list: bool = False  # null empties a Go slice; other fields it leaves as they were


_LINEAR_FIELDS = {
    "coresPerReplica": _Field("cores_per_replica", _float64),
    "nodesPerReplica": _Field("nodes_per_replica", _float64),
    "min": _Field("min_replicas", _int),
    "max": _Field("max_replicas", _int),
    "preventSinglePointFailure": _Field("prevent_single_point_failure", _bool),
    "includeUnschedulableNodes": _Field("include_unschedulable_nodes", _bool),
}
_LADDER_FIELDS = {
    "coresToReplicas": _Field("cores_to_replicas", _steps, is_list=True),
    "nodesToReplicas": _Field("nodes_to_replicas", _steps, is_list=True),
    "includeUnschedulableNodes": _Field("include_unschedulable_nodes", _bool),
}

# Go folds a key to find a field as Unicode simple case folding does, where U+017F (long s) is an
# "s" and U+212A (Kelvin sign) a "k"; no other non-ASCII letter folds to an ASCII one.
_FOLD = str.maketrans(
    {**{c: c.upper() for c in string.ascii_lowercase}, "\u017f": "S", "\u212a": "K"}
)


def _decode(text: str, go_type: str, fields: Mapping[str, _Field]) -> dict[str, Any]:
    """json.Unmarshal into a Go struct, as the keyword arguments of its dataclass."""
    document = _load(text)
    if document is None:  # Go leaves the struct as it was: all zero
        return {}
    if not isinstance(document, _Object):
        raise _Mismatch(_kind(document), go_type).in_value()
    struct = go_type.rpartition(".")[2]
    folded = {name.translate(_FOLD): name for name in fields}
    values: dict[str, Any] = {}
    for key, value in document.members:
        name = key if key in fields else folded.get(key.translate(_FOLD))
        if name is None:
            continue
        field = fields[name]
        if value is None:
            if field.is_list:
                values.pop(field.attribute, None)
            continue
        try:
            values[field.attribute] = field.convert(value)
        except _Mismatch as mismatch:
            raise mismatch.in_field(struct, name) from None
    return values


def _go_string(text: str) -> str:
    """Go decodes an unpaired surrogate escape as U+FFFD; Python keeps it."""
    return re.sub("[\ud800-\udfff]", "\ufffd", text)


def _go_value(value: Any) -> Any:
    """json.Unmarshal into interface{}: objects become maps (the last of repeated keys wins) and
    numbers float64."""
    if isinstance(value, _Object):
        return {_go_string(key): _go_value(member) for key, member in value.members}
    if isinstance(value, list):
        return [_go_value(item) for item in value]
    if isinstance(value, _Number):
        try:
            return _float64(value)
        except _Mismatch as mismatch:
            raise mismatch.in_value() from None
    if isinstance(value, str):
        return _go_string(value)
    return value


_HTML_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def _go_marshal(value: Any) -> str:
    """json.Marshal of a decoded value: compact, map keys sorted, float64 as Go writes it, and
    <, >, & escaped as Go does by default."""
    if isinstance(value, dict):
        members = (f"{_go_marshal(k)}:{_go_marshal(v)}" for k, v in sorted(value.items()))
        return "{" + ",".join(members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_go_marshal(item) for item in value) + "]"
    if isinstance(value, float):
        return _go_json_float(value)
    return json.dumps(value, ensure_ascii=False).translate(_HTML_ESCAPES)  # str, bool, None


def _go_json_float(number: float) -> str:
    """encoding/json's float64: the shortest digits that round-trip, in exponent form only below
    1e-6 or from 1e21 on, with "e-07" written "e-7"."""
    if number != 0 and not 1e-6 <= abs(number) < 1e21:
        return re.sub(r"e-0(\d)$", r"e-\1", repr(number))
    return format(Decimal(repr(number)).normalize(), "f")


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
