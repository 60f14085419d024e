"""Go's encoding/json, as far as CPA's parameters need it: pure, standard library only.

Modelled:
- json.Unmarshal into a struct (`unmarshal_struct`): a key names a field exactly or else
  case-insensitively (Unicode simple folding, so U+017F is an "s" and U+212A a "k"); unknown keys
  are ignored; repeated keys are assigned in turn, so the last wins; `null` leaves a field as it
  was and empties a slice; a `null` document leaves the struct all zero.
- The field types CPA's parameters have: int (an integer literal that fits in 64 bits, as Go's
  int on the platforms CPA ships for; `2.0` and `1e2` are refused), float64 (any finite number),
  bool (only true or false), and a slice of [2]int (an entry too short is padded with 0, one too
  long cut to two, a `null` entry or number is 0). A value of another type is refused with Go's
  message: "json: cannot unmarshal string into Go struct field linearParams.min of type int".
- json.Unmarshal into map[string]interface{} (`unmarshal_map`): objects become dicts (the last
  of repeated keys wins), numbers float64, and an unpaired surrogate escape U+FFFD.
- json.Marshal of such a value (`marshal`): compact, map keys sorted, a float64 in Go's shortest
  form (exponent form only below 1e-6 or from 1e21 on, "1e-7" not "1e-07"), and <, >, &, U+2028
  and U+2029 escaped as Go does by default.

Not modelled:
- Go's syntax errors: invalid JSON is refused before anything is decoded, as in Go, but the
  message is Python's ("invalid JSON: Expecting value: line 1 column 1 (char 0)"), not Go's
  scanner's ("invalid character ..."). Nesting deeper than Python's recursion limit is invalid
  JSON here; Go's limit is 10,000.
- Go decodes on past a value of the wrong type and reports the earliest; here decoding stops at
  it. The error is the same; only what Go would have half-filled differs, and CPA discards that.
- Every other Go type and option: strings, nested structs, pointers, struct tags beyond the
  field's name, Unmarshaler, UseNumber, DisallowUnknownFields, invalid UTF-8 (a `str` has none).
"""

from __future__ import annotations

import json
import math
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


class GoJsonError(Exception):
    """What json.Unmarshal would return, with Go's message."""


@dataclass(frozen=True)
class Object:
    """A JSON object as written: members in order, repeated keys kept (Go assigns them in turn)."""

    members: list[tuple[str, Any]]


@dataclass(frozen=True)
class Number:
    """A JSON number as written: Go reads the literal according to the type it fills."""

    literal: str


class Mismatch(Exception):
    """A JSON value of a type the Go value cannot hold; placed by `in_value` or `in_field`."""

    def __init__(self, found: str, go_type: str) -> None:
        self.found = found
        self.go_type = go_type

    def in_value(self) -> GoJsonError:
        return GoJsonError(
            f"json: cannot unmarshal {self.found} into Go value of type {self.go_type}"
        )

    def in_field(self, struct: str, name: str) -> GoJsonError:
        return GoJsonError(
            f"json: cannot unmarshal {self.found} into Go struct field {struct}.{name} "
            f"of type {self.go_type}"
        )


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def load(text: str) -> Any:
    """The JSON, with objects as `Object` and numbers as `Number`; invalid JSON is an error
    before anything is decoded, as in Go (the message is Python's, not Go's scanner's)."""
    try:
        return json.loads(
            text,
            object_pairs_hook=Object,
            parse_int=Number,
            parse_float=Number,
            parse_constant=_no_constant,
        )
    except (ValueError, RecursionError) as error:
        raise GoJsonError(f"invalid JSON: {error}") from None


def _kind(value: Any) -> str:
    if isinstance(value, Object):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    return "number"


def as_int(value: Any) -> int:
    """A loaded value into a Go int (64 bits)."""
    if isinstance(value, Number):
        literal = value.literal
        if literal.lstrip("-").isdigit() and len(literal) <= 20:
            number = int(literal)
            if -(2**63) <= number < 2**63:
                return number
        raise Mismatch(f"number {literal}", "int")
    raise Mismatch(_kind(value), "int")


def as_float64(value: Any) -> float:
    """A loaded value into a Go float64."""
    if isinstance(value, Number):
        number = float(value.literal)
        if math.isfinite(number):
            return number
        raise Mismatch(f"number {value.literal}", "float64")
    raise Mismatch(_kind(value), "float64")


def as_bool(value: Any) -> bool:
    """A loaded value into a Go bool."""
    if isinstance(value, bool):
        return value
    raise Mismatch(_kind(value), "bool")


def int_pairs(slice_type: str, array_type: str) -> Callable[[Any], tuple[tuple[int, int], ...]]:
    """A converter of a loaded value into a Go slice of [2]int, named `slice_type` (of entries
    named `array_type`) in messages."""

    def convert(value: Any) -> tuple[tuple[int, int], ...]:
        if not isinstance(value, list):
            raise Mismatch(_kind(value), slice_type)
        pairs: list[tuple[int, int]] = []
        for entry in value:
            if entry is not None and not isinstance(entry, list):
                raise Mismatch(_kind(entry), array_type)
            pair = [0, 0]
            for index, number in enumerate((entry or [])[:2]):
                if number is not None:
                    pair[index] = as_int(number)
            pairs.append((pair[0], pair[1]))
        return tuple(pairs)

    return convert


@dataclass(frozen=True)
class Field:
    """A Go struct field: the keyword `attribute` it becomes, and how its value is read."""

    attribute: str
    convert: Callable[[Any], Any]
    is_list: bool = False  # null empties a Go slice; other fields it leaves as they were


# Go folds a key to find a field as Unicode simple case folding does, where U+017F (long s) is an
# "s" and U+212A (Kelvin sign) a "k"; no other non-ASCII letter folds to an ASCII one.
_FOLD = str.maketrans(
    {**{c: c.upper() for c in string.ascii_lowercase}, "\u017f": "S", "\u212a": "K"}
)


def unmarshal_struct(text: str, go_type: str, fields: Mapping[str, Field]) -> dict[str, Any]:
    """json.Unmarshal into a Go struct of type `go_type` ("package.name") whose fields, by their
    Go names, are `fields`: the keyword arguments of the fields the JSON sets."""
    document = load(text)
    if document is None:  # Go leaves the struct as it was: all zero
        return {}
    if not isinstance(document, Object):
        raise Mismatch(_kind(document), go_type).in_value()
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
        except Mismatch as mismatch:
            raise mismatch.in_field(struct, name) from None
    return values


def unmarshal_map(text: str) -> dict[str, Any]:
    """json.Unmarshal into map[string]interface{}; a `null` document leaves it empty."""
    document = load(text)
    if document is None:
        return {}
    if not isinstance(document, Object):
        raise Mismatch(_kind(document), "map[string]interface {}").in_value()
    return _interface(document)


def _go_string(text: str) -> str:
    """Go decodes an unpaired surrogate escape as U+FFFD; Python keeps it."""
    return re.sub("[\ud800-\udfff]", "\ufffd", text)


def _interface(value: Any) -> Any:
    """json.Unmarshal into interface{}: objects become maps (the last of repeated keys wins) and
    numbers float64."""
    if isinstance(value, Object):
        return {_go_string(key): _interface(member) for key, member in value.members}
    if isinstance(value, list):
        return [_interface(item) for item in value]
    if isinstance(value, Number):
        try:
            return as_float64(value)
        except Mismatch as mismatch:
            raise mismatch.in_value() from None
    if isinstance(value, str):
        return _go_string(value)
    return value


_HTML_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def marshal(value: Any) -> str:
    """json.Marshal of a value `unmarshal_map` gives: compact, map keys sorted, float64 as Go
    writes it, and <, >, & escaped as Go does by default."""
    if isinstance(value, dict):
        members = (f"{marshal(k)}:{marshal(v)}" for k, v in sorted(value.items()))
        return "{" + ",".join(members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(marshal(item) for item in value) + "]"
    if isinstance(value, float):
        return _float(value)
    return json.dumps(value, ensure_ascii=False).translate(_HTML_ESCAPES)  # str, bool, None


def _float(number: float) -> str:
    """encoding/json's float64: the shortest digits that round-trip, in exponent form only below
    1e-6 or from 1e21 on, with "e-07" written "e-7"."""
    if number != 0 and not 1e-6 <= abs(number) < 1e21:
        return re.sub(r"e-0(\d)$", r"e-\1", repr(number))
    return format(Decimal(repr(number)).normalize(), "f")
