"""Go's encoding/json as gojson models it: the functions' own tables first, then the Go-JSON rules
as CPA's parameters meet them (decoding ConfigMap data, re-encoding --default-params)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from scalers.proportional.gojson import (
    Field,
    GoJsonError,
    Mismatch,
    Number,
    Object,
    as_bool,
    as_float64,
    as_int,
    int_pairs,
    load,
    marshal,
    unmarshal_map,
    unmarshal_struct,
)
from scalers.proportional.params import (
    Ladder,
    Linear,
    ParamsError,
    parse_default_params,
    parse_params,
)


def refused(data: dict[str, str]) -> ParamsError:
    with pytest.raises(ParamsError) as caught:
        parse_params(data)
    return caught.value


# -- load ----------------------------------------------------------------------------------------


def test_load_keeps_objects_and_numbers_as_written() -> None:
    assert load('{"a": 1, "a": 2.0, "b": [1e2, null, true, "x"]}') == Object(
        [("a", Number("1")), ("a", Number("2.0")), ("b", [Number("1e2"), None, True, "x"])]
    )


@pytest.mark.parametrize(
    "text",
    ["", "{", "NaN", "[Infinity]", "-Infinity", "[1,]", "{'a': 1}", '"\x01"', "[" * 100_000],
    ids=["empty", "unclosed", "NaN", "Infinity", "-Infinity", "trailing comma", "single quotes",
         "control character", "too deep"],
)  # fmt: skip
def test_load_refuses_what_is_not_json(text: str) -> None:
    with pytest.raises(GoJsonError, match=r"^invalid JSON: "):
        load(text)


# -- the field types -----------------------------------------------------------------------------


def mismatch(convert: Callable[[Any], Any], value: Any) -> tuple[str, str]:
    with pytest.raises(Mismatch) as caught:
        convert(value)
    return caught.value.found, caught.value.go_type


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("0", 0),
        ("-0", 0),
        ("42", 42),
        ("9223372036854775807", 2**63 - 1),
        ("-9223372036854775808", -(2**63)),
        ("9223372036854775808", None),
        ("-9223372036854775809", None),
        ("123456789012345678901", None),
        ("2.0", None),
        ("1e2", None),
        ("-1.5", None),
    ],
)
def test_as_int_takes_integer_literals_that_fit_in_64_bits(
    literal: str, expected: int | None
) -> None:
    if expected is None:
        assert mismatch(as_int, Number(literal)) == (f"number {literal}", "int")
    else:
        assert as_int(Number(literal)) == expected


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("0", 0.0),
        ("2", 2.0),
        ("2.5", 2.5),
        ("1e2", 100.0),
        ("1E-3", 0.001),
        ("-1e7", -1e7),
        ("12345678901234567890", 12345678901234567890.0),
        ("1e308", 1e308),
    ],
)
def test_as_float64_takes_any_finite_number(literal: str, expected: float) -> None:
    assert as_float64(Number(literal)) == expected


@pytest.mark.parametrize("literal", ["1e400", "-1e400", "2e308"])
def test_as_float64_refuses_what_overflows(literal: str) -> None:
    assert mismatch(as_float64, Number(literal)) == (f"number {literal}", "float64")


@pytest.mark.parametrize(
    ("convert", "value", "found", "go_type"),
    [
        (as_int, "2", "string", "int"),
        (as_int, True, "bool", "int"),
        (as_int, [Number("1")], "array", "int"),
        (as_float64, Object([]), "object", "float64"),
        (as_float64, "2.5", "string", "float64"),
        (as_bool, Number("1"), "number", "bool"),
        (as_bool, "true", "string", "bool"),
        (as_bool, [True], "array", "bool"),
    ],
)
def test_a_value_of_another_type_is_a_mismatch_naming_both(
    convert: Callable[[Any], Any], value: Any, found: str, go_type: str
) -> None:
    assert mismatch(convert, value) == (found, go_type)


@pytest.mark.parametrize("value", [True, False])
def test_as_bool_takes_only_true_or_false(value: bool) -> None:
    assert as_bool(value) is value


STEPS = int_pairs("pkg.entries", "pkg.entry")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([], ()),
        ([[Number("1"), Number("2")]], ((1, 2),)),
        ([[Number("4")]], ((4, 0),)),
        ([[]], ((0, 0),)),
        ([None], ((0, 0),)),
        ([[None, Number("3")]], ((0, 3),)),
        ([[Number("1"), Number("2"), "ignored", Object([]), [None]]], ((1, 2),)),
        ([[Number("1"), Number("2")], [Number("3"), Number("4")]], ((1, 2), (3, 4))),
    ],
    ids=["empty", "pair", "short", "empty entry", "null entry", "null number", "long", "two"],
)
def test_int_pairs_pad_and_cut_each_entry_to_two(
    value: list[Any], expected: tuple[tuple[int, int], ...]
) -> None:
    assert STEPS(value) == expected


@pytest.mark.parametrize(
    ("value", "found", "go_type"),
    [
        (Object([]), "object", "pkg.entries"),
        ("1,2", "string", "pkg.entries"),
        ([Number("1")], "number", "pkg.entry"),
        ([Object([])], "object", "pkg.entry"),
        ([[Number("1.5")]], "number 1.5", "int"),
        ([[Number("1"), True]], "bool", "int"),
    ],
)
def test_int_pairs_refuse_what_is_not_a_list_of_int_lists(
    value: Any, found: str, go_type: str
) -> None:
    assert mismatch(STEPS, value) == (found, go_type)


# -- unmarshal_struct ----------------------------------------------------------------------------

FIELDS = {
    "count": Field("count", as_int),
    "ratioKnots": Field("ratio_knots", as_float64),
    "items": Field("items", STEPS, is_list=True),
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{}", {}),
        ("null", {}),
        ('{"count": 1}', {"count": 1}),
        ('{"COUNT": 1, "Count": 2}', {"count": 2}),
        ('{"count": 1, "count": null}', {"count": 1}),
        ('{"items": [[1, 1]], "items": null}', {}),
        ('{"items": null, "items": [[1, 1]]}', {"items": ((1, 1),)}),
        ('{"ratio\u212anots": 2}', {"ratio_knots": 2.0}),  # U+212A, the Kelvin sign, folds to k
        ('{"ratio\u212anot\u017f": 2}', {"ratio_knots": 2.0}),  # U+017F, the long s, to s
        ('{"co\u00fcnt": 1}', {}),  # no other non-ASCII letter folds to an ASCII one
        ('{"\u0131tems": [[1, 1]], "\u0130tems": [[2, 2]]}', {}),  # dotless i, dotted I: neither
        ('{"other": "x", "count": 3, "deep": {"count": 4}}', {"count": 3}),
    ],
    ids=["empty", "null", "exact", "case-insensitive, last wins", "null leaves", "null empties",
         "null then set", "kelvin", "long s", "u umlaut", "turkish i", "unknown ignored"],
)  # fmt: skip
def test_unmarshal_struct(text: str, expected: dict[str, Any]) -> None:
    assert unmarshal_struct(text, "pkg.thing", FIELDS) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "json: cannot unmarshal array into Go value of type pkg.thing"),
        ("1", "json: cannot unmarshal number into Go value of type pkg.thing"),
        ('{"count": "1"}', "json: cannot unmarshal string into Go struct field thing.count of type int"),
        ('{"Count": 1.0}', "json: cannot unmarshal number 1.0 into Go struct field thing.count of type int"),
        ('{"items": [3]}', "json: cannot unmarshal number into Go struct field thing.items of type pkg.entry"),
        ('{"count": 1,}', "invalid JSON: "),
    ],
)  # fmt: skip
def test_unmarshal_struct_refusals_read_as_go_writes_them(text: str, message: str) -> None:
    with pytest.raises(GoJsonError) as caught:
        unmarshal_struct(text, "pkg.thing", FIELDS)
    assert str(caught.value).startswith(message)


# -- unmarshal_map and marshal -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("null", {}),
        ("{}", {}),
        ('{"a": 1, "a": {"b": [2, 2.5, null, true]}}', {"a": {"b": [2.0, 2.5, None, True]}}),
        ('{"k": 1, "K": 2}', {"k": 1.0, "K": 2.0}),  # a map's keys are exact
        ('{"\\ud800": "\\udc00x"}', {"\ufffd": "\ufffdx"}),
        ('{"\\ud83d\\ude00": 1}', {"\U0001f600": 1.0}),  # a pair is one character
    ],
    ids=["null", "empty", "float64 and last wins", "exact keys", "lone surrogates", "pair"],
)
def test_unmarshal_map(text: str, expected: dict[str, Any]) -> None:
    decoded = unmarshal_map(text)
    assert decoded == expected
    assert [type(v) for v in decoded.values()] == [type(v) for v in expected.values()]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "json: cannot unmarshal array into Go value of type map[string]interface {}"),
        ('"x"', "json: cannot unmarshal string into Go value of type map[string]interface {}"),
        ('{"a": [1e400]}', "json: cannot unmarshal number 1e400 into Go value of type float64"),
        ("{", "invalid JSON: "),
    ],
)
def test_unmarshal_map_refusals(text: str, message: str) -> None:
    with pytest.raises(GoJsonError) as caught:
        unmarshal_map(text)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (0.0, "0"),
        (-0.0, "-0"),
        (2.0, "2"),
        (0.1, "0.1"),
        (-2.5, "-2.5"),
        (123456789.0, "123456789"),
        (1e20, "100000000000000000000"),
        (12345678901234567890.0, "12345678901234567000"),
        (1e21, "1e+21"),
        (1.5e300, "1.5e+300"),
        (1e-6, "0.000001"),
        (1e-7, "1e-7"),
        (2.5e-8, "2.5e-8"),
        (1.234e-10, "1.234e-10"),
        (5e-324, "5e-324"),
    ],
)
def test_marshal_float64_as_go_writes_it(number: float, expected: str) -> None:
    assert marshal(number) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "null"),
        (True, "true"),
        ("caf\u00e9", '"caf\u00e9"'),  # not escaped: Go writes UTF-8
        ("<a & b>", '"\\u003ca \\u0026 b\\u003e"'),
        ("\u2028\u2029", '"\\u2028\\u2029"'),
        ('quote " and \\ and \n', '"quote \\" and \\\\ and \\n"'),
        ({"b": 1.0, "a": [True, None], "B": {}}, '{"B":{},"a":[true,null],"b":1}'),
        ([], "[]"),
    ],
)
def test_marshal_is_compact_sorted_and_escapes_html(value: Any, expected: str) -> None:
    assert marshal(value) == expected


# -- through CPA's parameters: linear ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"NodesPerReplica": 2, "MIN": 3}', Linear(nodes_per_replica=2, min_replicas=3)),
        ('{"node\u017fPerReplica": 2}', Linear(nodes_per_replica=2)),  # U+017F folds to s in Go
        (
            '{"nodesPerReplica": 2, "colour": "blue", "extra": {"x": [1]}}',
            Linear(nodes_per_replica=2),
        ),
        ('{"nodesPerReplica": 1e2}', Linear(nodes_per_replica=100)),  # float64 takes any number
        (
            '{"nodesPerReplica": 2, "min": 3, "min": null}',
            Linear(nodes_per_replica=2, min_replicas=3),
        ),
        ('{"nodesPerReplica": 2, "min": 3, "MIN": 4}', Linear(nodes_per_replica=2, min_replicas=4)),
        ('{"nodesPerReplica": 2, "max": -0}', Linear(nodes_per_replica=2)),
        ('{"nodesPerReplica": 2, "preventSinglePointFailure": null}', Linear(nodes_per_replica=2)),
    ],
    ids=[
        "keys match case-insensitively",
        "unicode folding",
        "unknown keys ignored",
        "float field takes an exponent",
        "null leaves a field as it was",
        "last of repeated keys wins",
        "negative zero int",
        "null bool",
    ],
)
def test_linear_decodes_as_go_does(text: str, expected: Linear) -> None:
    assert parse_params({"linear": text}) == expected


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        (
            '{"nodesPerReplica": 1, "min": 2.0}',
            "cannot unmarshal number 2.0 into Go struct field linearParams.min of type int",
        ),
        ('{"nodesPerReplica": 1, "min": 1e2}', "number 1e2 into Go struct field linearParams.min"),
        ('{"nodesPerReplica": 1, "max": 9223372036854775808}', "number 9223372036854775808"),
        (
            '{"nodesPerReplica": 1e400}',
            "number 1e400 into Go struct field linearParams.nodesPerReplica of type float64",
        ),
        (
            '{"nodesPerReplica": "2"}',
            "cannot unmarshal string into Go struct field linearParams.nodesPerReplica",
        ),
        (
            '{"nodesPerReplica": 1, "min": true}',
            "cannot unmarshal bool into Go struct field linearParams.min",
        ),
        (
            '{"nodesPerReplica": 1, "preventSinglePointFailure": 1}',
            "cannot unmarshal number into Go struct field linearParams.preventSinglePointFailure of type bool",
        ),
        ('{"nodesPerReplica": 1, "includeUnschedulableNodes": "true"}', "cannot unmarshal string"),
        ("[1]", "cannot unmarshal array into Go value of type linearcontroller.linearParams"),
        ('"linear"', "cannot unmarshal string into Go value"),
        ("", "invalid JSON"),
        ('{"nodesPerReplica": NaN}', "invalid JSON"),
        ('{"nodesPerReplica": 1,}', "invalid JSON"),
        ("{'nodesPerReplica': 1}", "invalid JSON"),
    ],
    ids=[
        "int field refuses 2.0",
        "int field refuses an exponent",
        "int field overflows",
        "float field overflows",
        "string for a number",
        "bool for an int",
        "number for a bool",
        "string for a bool",
        "array",
        "string",
        "empty",
        "NaN",
        "trailing comma",
        "single quotes",
    ],
)
def test_linear_refuses_what_go_cannot_decode(text: str, detail: str) -> None:
    error = refused({"linear": text})
    assert error.reason == "bad_json"
    assert str(error).startswith("error parsing linear params: could not parse parameters (")
    assert detail in str(error)


def test_linear_null_is_all_zero_so_refused_for_want_of_a_ratio() -> None:
    assert refused({"linear": "null"}).reason == "invalid_linear"


# -- through CPA's parameters: ladder ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"coresToReplicas": [[4]]}', Ladder(cores_to_replicas=((4, 0),))),
        ('{"coresToReplicas": [[4, 2, "ignored", {}]]}', Ladder(cores_to_replicas=((4, 2),))),
        ('{"coresToReplicas": [null, [3, null]]}', Ladder(cores_to_replicas=((0, 0), (3, 0)))),
        ('{"coresToReplicas": [[1, 1]], "coresToReplicas": null}', Ladder()),
        ('{"CoresToReplicas": [[1, 1]]}', Ladder(cores_to_replicas=((1, 1),))),
        ("{}", Ladder()),
        ("null", Ladder()),
    ],
    ids=[
        "short entry padded with 0",
        "long entry cut to two",
        "null entry and number are 0",
        "null empties a ladder",
        "keys match case-insensitively",
        "no ladder at all",
        "null",
    ],
)
def test_ladder_decodes_as_go_does(text: str, expected: Ladder) -> None:
    assert parse_params({"ladder": text}) == expected


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        (
            '{"coresToReplicas": [[1.5, 2]]}',
            "number 1.5 into Go struct field ladderParams.coresToReplicas of type int",
        ),
        (
            '{"coresToReplicas": {"1": 1}}',
            "object into Go struct field ladderParams.coresToReplicas of type laddercontroller.paramEntries",
        ),
        ('{"coresToReplicas": [1, 2]}', "of type laddercontroller.paramEntry"),
        (
            '{"coresToReplicas": [[1, "2"]]}',
            "string into Go struct field ladderParams.coresToReplicas of type int",
        ),
    ],
    ids=["float", "object", "flat list", "string"],
)
def test_ladder_refuses_what_go_cannot_decode(text: str, detail: str) -> None:
    error = refused({"ladder": text})
    assert (error.reason, str(error).startswith("error parsing ladder params: ")) == (
        "bad_json",
        True,
    )
    assert detail in str(error)


# -- through CPA's parameters: --default-params re-encoded by json.Marshal -----------------------


def test_default_params_pass_numbers_through_float64() -> None:
    # A ConfigMap with "min": 2.0 is refused; through the flag Go re-encodes it as 2, accepted.
    data = parse_default_params('{ "linear": { "min": 2.0, "nodesPerReplica": 1E1, "max": 1e18 } }')
    assert data == {"linear": '{"max":1000000000000000000,"min":2,"nodesPerReplica":10}'}


def test_default_params_encode_as_go_marshal_does() -> None:
    text = json.dumps(
        {
            "ladder": {
                "nodesToReplicas": [[1, 1]],
                "note": "<a & b>",
                "tiny": 1e-7,
                "big": 12345678901234567890,
            }
        }
    )
    assert parse_default_params(text) == {
        "ladder": '{"big":12345678901234567000,"nodesToReplicas":[[1,1]],'
        '"note":"\\u003ca \\u0026 b\\u003e","tiny":1e-7}'
    }
