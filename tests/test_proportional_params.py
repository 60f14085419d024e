"""CPA's parameters and replica math: CPA's own table tests, ported, then the choices its tables
do not pin down. The Go-JSON rules they are decoded by are test_proportional_gojson's.

Ported tables come from kubernetes-sigs/cluster-proportional-autoscaler:
  pkg/autoscaler/controller/linearcontroller/linear_controller_test.go  (c8dbb176)
  pkg/autoscaler/controller/laddercontroller/ladder_controller_test.go  (d4b6997d)
  pkg/autoscaler/controller/plugin/plugin_test.go                       (59364a80)
CPA's cases have no names; the ids are their comments.
"""

from __future__ import annotations

import json

import pytest

from scalers.proportional.params import (
    ClusterStatus,
    Ladder,
    Linear,
    ParamsError,
    parse_default_params,
    parse_params,
)


def status(
    nodes: int = 0, cores: int = 0, total_nodes: int = 0, total_cores: int = 0
) -> ClusterStatus:
    return ClusterStatus(
        total_nodes=max(total_nodes, nodes),
        schedulable_nodes=nodes,
        total_cores=max(total_cores, cores),
        schedulable_cores=cores,
    )


def refused(data: dict[str, str]) -> ParamsError:
    with pytest.raises(ParamsError) as caught:
        parse_params(data)
    return caught.value


# -- linear_controller_test.go -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            """{
              "coresPerReplica": 2,
              "nodesPerReplica": 1,
              "min": 1,
              "max": 100,
              "preventSinglePointFailure": true
            }""",
            Linear(2, 1, 1, 100, prevent_single_point_failure=True),
        ),
        ('{ "coresPerReplica": {{ 1:1 } }', "bad_json"),
        ('{ "coresPerReplica": "whatisthis"', "bad_json"),
        ('{ "nodesPerReplica":  -20 }', "invalid_linear"),
        ('{ "nodesPerReplica": 1, "min": 100, "max": 50 }', "invalid_linear"),
        ('{ "min": 1, "max": 100 }', "invalid_linear"),
        (
            """{
              "coresPerReplica": 2,
              "nodesPerReplica": 1,
              "min": 1,
              "max": 100,
              "preventSinglePointFailure": invalid,
            }""",
            "bad_json",
        ),
    ],
    ids=[
        "valid",
        "invalid JSON",
        "invalid string value",
        "invalid negative value",
        "invalid max that smaller than min",
        "both coresPerReplica and nodesPerReplica are unset",
        "wrong input for PreventSinglePointFailure",
    ],
)
def test_linear_parser(text: str, expected: Linear | str) -> None:
    if isinstance(expected, Linear):
        assert parse_params({"linear": text}) == expected
    else:
        assert refused({"linear": text}).reason == expected


@pytest.mark.parametrize(
    ("cores", "expected"),
    [(0, 2), (1, 2), (2, 2), (3, 2), (4, 2), (6, 3), (10, 5), (11, 6), (19, 10), (20, 10), (21, 11), (30, 15), (40, 20)],
)  # fmt: skip
def test_linear_scale_from_single_param(cores: int, expected: int) -> None:
    params = Linear(cores_per_replica=2, min_replicas=2, max_replicas=100)
    assert params.replicas(status(cores=cores)) == expected


@pytest.mark.parametrize(
    ("cores", "nodes", "expected"),
    [
        (0, 0, 1), (1, 2, 2), (2, 3, 2), (3, 4, 2), (4, 4, 2), (6, 4, 3), (6, 5, 3), (8, 5, 4),
        (8, 15, 6), (8, 16, 7), (19, 21, 10), (23, 20, 12), (26, 38, 16), (30, 49, 20),
        (40, 20, 20),
    ],
)  # fmt: skip
def test_linear_scale_from_multiple_params(cores: int, nodes: int, expected: int) -> None:
    params = Linear(2, 2.5, 1, 100, prevent_single_point_failure=True)
    assert params.replicas(status(nodes=nodes, cores=cores)) == expected


# -- ladder_controller_test.go -------------------------------------------------------------------

LONG_LADDER = [
    [0, 0], [1, 0], [2, 2], [3, 3], [512, 5], [1024, 7], [2048, 10], [4096, 15], [8192, 20],
    [12288, 30], [16384, 40], [20480, 50], [24576, 60], [28672, 70], [65535, 100], [32768, 80],
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{ "coresToReplicas" : [ [1,1] ] }', Ladder(cores_to_replicas=((1, 1),))),
        ('{ "coresToReplicas" : {{ 1:1 } }', "bad_json"),
        ('{ "coresToReplicas" : [[ "1, "a"]] }', "bad_json"),
        ('{ "coresToReplicas" : [[:-200]] }', "bad_json"),
        (
            json.dumps({"coresToReplicas": LONG_LADDER}),
            Ladder(cores_to_replicas=tuple((a, b) for a, b in LONG_LADDER)),
        ),
        (
            json.dumps(
                {
                    "coresToReplicas": [[0, 0], [1, 0], [2, 2], [3, 3]],
                    "nodesToReplicas": [[1, 1], [2, 2], [3, 3]],
                    "includeUnschedulableNodes": True,
                }
            ),
            Ladder(((0, 0), (1, 0), (2, 2), (3, 3)), ((1, 1), (2, 2), (3, 3)), True),
        ),
    ],
    ids=[
        "valid",
        "invalid JSON",
        "invalid string value in list",
        "invalid negative in list",
        "IncludeUnschedulableNodes must default to false for backwards compatibility",
        "includeUnschedulableNodes",
    ],
)
def test_ladder_parser(text: str, expected: Ladder | str) -> None:
    if isinstance(expected, Ladder):
        assert parse_params({"ladder": text}) == expected
    else:
        assert refused({"ladder": text}).reason == expected


SORTED_LADDER = (
    (1, 1), (2, 2), (3, 3), (512, 5), (1024, 7), (2048, 10), (4096, 15), (8192, 20), (12288, 30),
    (16384, 40), (20480, 50), (24576, 60), (28672, 70), (32768, 80), (65535, 100),
)  # fmt: skip


@pytest.mark.parametrize(
    "steps",
    [
        (
            (2, 2), (3, 3), (512, 5), (1024, 7), (20480, 50), (4096, 15), (2048, 10), (8192, 20),
            (65535, 100), (16384, 40), (12288, 30), (1, 1), (24576, 60), (32768, 80), (28672, 70),
        ),
        tuple(reversed(SORTED_LADDER)),
    ],
    ids=["shuffled", "reversed"],
)  # fmt: skip
def test_ladder_sorter(steps: tuple[tuple[int, int], ...]) -> None:
    assert Ladder(cores_to_replicas=steps).cores_to_replicas == SORTED_LADDER
    parsed = parse_params({"ladder": json.dumps({"coresToReplicas": steps})})
    assert isinstance(parsed, Ladder)
    assert parsed.cores_to_replicas == SORTED_LADDER


@pytest.mark.parametrize(
    ("cores", "expected"),
    [(0, 1), (1, 1), (2, 2), (3, 3), (4, 4), (6, 4), (10, 10), (11, 10), (19, 10), (20, 20), (21, 20), (40, 20)],
)  # fmt: skip
def test_ladder_scaler(cores: int, expected: int) -> None:
    params = Ladder(cores_to_replicas=((1, 1), (2, 2), (3, 3), (4, 4), (10, 10), (20, 20)))
    assert params.replicas(status(cores=cores)) == expected


@pytest.mark.parametrize(
    "steps", [((0, 0), (3, 3)), ((1, 0), (3, 3))], ids=["from-zero", "from-one"]
)
@pytest.mark.parametrize(("cores", "expected"), [(0, 0), (1, 0), (2, 0), (3, 3), (4, 3)])
def test_ladder_scaler_from_zero(
    steps: tuple[tuple[int, int], ...], cores: int, expected: int
) -> None:
    assert Ladder(cores_to_replicas=steps).replicas(status(cores=cores)) == expected


@pytest.mark.parametrize(
    ("cluster", "include", "expected"),
    [
        (
            ClusterStatus(total_nodes=3, schedulable_nodes=2, total_cores=12, schedulable_cores=8),
            True,
            3,
        ),
        (
            ClusterStatus(total_nodes=3, schedulable_nodes=1, total_cores=12, schedulable_cores=4),
            False,
            1,
        ),
    ],
    ids=["include", "exclude"],
)
def test_ladder_scale_from_unschedulable_nodes(
    cluster: ClusterStatus, include: bool, expected: int
) -> None:
    params = Ladder(
        cores_to_replicas=((0, 0), (4, 1), (8, 2), (12, 3)),
        nodes_to_replicas=((0, 0), (1, 1), (2, 2), (3, 3)),
        include_unschedulable_nodes=include,
    )
    assert params.replicas(cluster) == expected


# -- plugin_test.go: which key picks the mode ----------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"invalidmode": ""}, "unknown_mode"),
        ({"toomanyentries1": "", "toomanyentries2": ""}, "too_many_keys"),
        ({}, "no_params"),  # not in CPA's table; the same error there
        ({"linear": '{"nodesPerReplica": 1}', "ladder": "{}"}, "too_many_keys"),
        ({"Linear": '{"nodesPerReplica": 1}'}, "unknown_mode"),  # the mode's key is exact
    ],
    ids=["invalidmode", "toomanyentries", "empty", "both modes", "capitalised mode"],
)
def test_configmap_needs_exactly_one_known_key(data: dict[str, str], reason: str) -> None:
    assert refused(data).reason == reason


def test_one_linear_key_picks_linear() -> None:
    assert parse_params({"linear": '{"nodesPerReplica":1}'}) == Linear(nodes_per_replica=1)


# -- linear: what CPA's tables leave out ---------------------------------------------------------


def test_linear_counts_every_node_and_core_when_told_to_include_unschedulable_nodes() -> None:
    cluster = ClusterStatus(
        total_nodes=10, schedulable_nodes=2, total_cores=40, schedulable_cores=8
    )
    assert Linear(nodes_per_replica=1).replicas(cluster) == 2
    assert Linear(nodes_per_replica=1, include_unschedulable_nodes=True).replicas(cluster) == 10
    assert Linear(cores_per_replica=4, include_unschedulable_nodes=True).replicas(cluster) == 10


@pytest.mark.parametrize(
    ("params", "nodes", "cores", "expected"),
    [
        (Linear(nodes_per_replica=3), 7, 0, 3),  # ceil, not round
        (Linear(cores_per_replica=0.5), 1, 3, 6),  # ratios are floats
        (Linear(nodes_per_replica=1, max_replicas=4), 9, 0, 4),
        (Linear(nodes_per_replica=1, min_replicas=3), 1, 0, 3),
        (Linear(cores_per_replica=1), 5, 0, 1),  # no nodes ratio: that term is 1, not 0
        (Linear(cores_per_replica=1, nodes_per_replica=2), 10, 3, 5),  # the larger term
        (Linear(nodes_per_replica=1, max_replicas=1, prevent_single_point_failure=True), 3, 0, 2),
        (Linear(cores_per_replica=1, prevent_single_point_failure=True), 2, 0, 2),
        (Linear(nodes_per_replica=1, prevent_single_point_failure=True), 1, 0, 1),
        (Linear(cores_per_replica=1e-320), 1, 1, 2**31 - 1),  # overflow: int32's ceiling
        (Linear(cores_per_replica=1e-320, max_replicas=7), 1, 1, 7),
    ],
    ids=[
        "ceil",
        "float ratio",
        "max",
        "min",
        "unset ratio gives 1",
        "larger of the two",
        "spof after max",
        "spof without nodes ratio",
        "spof needs two nodes",
        "overflow saturates",
        "overflow clamped by max",
    ],
)
def test_linear_math(params: Linear, nodes: int, cores: int, expected: int) -> None:
    assert params.replicas(status(nodes=nodes, cores=cores)) == expected


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"nodesPerReplica": 1, "min": -1}, "invalid negative value for min: -1"),
        (
            {"nodesPerReplica": 1, "min": 3, "max": 2},
            "max replicas count 2 should be greater than / equal to min replicas count 3",
        ),
        ({"max": -1, "nodesPerReplica": 1}, "max replicas count -1 should be"),
        ({"coresPerReplica": 0, "nodesPerReplica": 0}, "either coresPerReplica or nodesPerReplica"),
        (
            {"coresPerReplica": -2.5, "nodesPerReplica": 1},
            "invalid negative value for coresPerReplica: -2.5",
        ),
        (
            {"coresPerReplica": 1, "nodesPerReplica": -1e7},
            "invalid negative value for nodesPerReplica: -1e+07",
        ),
    ],
)
def test_linear_refusals_say_what_is_wrong(params: dict[str, float], message: str) -> None:
    error = refused({"linear": json.dumps(params)})
    assert error.reason == "invalid_linear"
    assert str(error).startswith("error parsing linear params: ")
    assert message in str(error)


def test_min_zero_or_unset_means_one() -> None:
    assert parse_params({"linear": '{"nodesPerReplica": 1, "min": 0}'}) == Linear(
        nodes_per_replica=1
    )
    assert parse_params({"linear": '{"nodesPerReplica": 1, "max": 1}'}) == Linear(
        nodes_per_replica=1, max_replicas=1
    )


# -- ladder: what CPA's tables leave out ---------------------------------------------------------


def test_ladder_steps_may_be_zero() -> None:  # older CPA refused them
    assert parse_params({"ladder": '{"coresToReplicas": [[0, 1]]}'}) == Ladder(
        cores_to_replicas=((0, 1),)
    )


@pytest.mark.parametrize(
    ("text", "reason", "detail"),
    [
        (
            '{"coresToReplicas": [[1, 1], [2, -2]]}',
            "invalid_ladder",
            "entry [2 -2] in coresToReplicas",
        ),
        ('{"nodesToReplicas": [[-1, 1]]}', "invalid_ladder", "entry [-1 1] in nodesToReplicas"),
        ('{"coresToReplicas": [[5, -1], [-3, 1]]}', "invalid_ladder", "[5 -1]"),  # first as written
    ],
    ids=["negative replicas", "negative nodes", "first bad step"],
)
def test_ladder_refusals(text: str, reason: str, detail: str) -> None:
    error = refused({"ladder": text})
    assert (error.reason, str(error).startswith("error parsing ladder params: ")) == (reason, True)
    assert detail in str(error)


@pytest.mark.parametrize(
    ("params", "nodes", "cores", "expected"),
    [
        (Ladder(cores_to_replicas=((4, 3), (8, 5))), 0, 2, 3),  # below the first step: its replicas
        (Ladder(cores_to_replicas=((4, 3),), nodes_to_replicas=((1, 7),)), 1, 100, 7),
        (Ladder(), 50, 500, 0),  # CPA accepts an empty ladder and scales to zero
        (Ladder(nodes_to_replicas=((2, 5), (2, 9))), 2, 0, 9),  # same step twice: the later one
        (Ladder(nodes_to_replicas=((2, 9), (2, 5))), 3, 0, 5),
        (Ladder(cores_to_replicas=((0, 3_000_000_000),)), 0, 0, 2**31 - 1),
    ],
    ids=["below first step", "larger ladder wins", "empty", "repeat", "repeat reversed", "int32"],
)
def test_ladder_math(params: Ladder, nodes: int, cores: int, expected: int) -> None:
    assert params.replicas(status(nodes=nodes, cores=cores)) == expected


# -- --default-params ----------------------------------------------------------------------------


def test_default_params_become_the_configmap_cpa_creates() -> None:
    text = '{"linear":{"coresPerReplica":256,"nodesPerReplica":16,"min":1}}'
    data = parse_default_params(text)
    assert data == {"linear": '{"coresPerReplica":256,"min":1,"nodesPerReplica":16}'}
    assert parse_params(data) == Linear(256, 16)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "bad_json"),
        ('[{"linear": {}}]', "bad_json"),
        ('{"linear": {"nodesPerReplica": 1e400}}', "bad_json"),
        ("null", "no_params"),
        ("{}", "no_params"),
        ('{"linear": {"nodesPerReplica": 1}, "ladder": {}}', "too_many_keys"),
        ('{"exponential": {}}', "unknown_mode"),
        ('{"linear": {"min": 5, "max": 2, "nodesPerReplica": 1}}', "invalid_linear"),
        ('{"linear": 16}', "bad_json"),
        ('{"linear": {"nodesPerReplica": 1, "max": 1e21}}', "bad_json"),  # re-encoded as 1e+21
        ('{"ladder": {"coresToReplicas": [[-1, 1]]}}', "invalid_ladder"),
    ],
)
def test_bad_default_params_are_refused(text: str, reason: str) -> None:
    with pytest.raises(ParamsError) as caught:
        parse_default_params(text)
    assert caught.value.reason == reason
    assert str(caught.value).startswith("invalid --default-params: ")
