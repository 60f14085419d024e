"""The `zalando.org/schedule-actions` annotation: what parses, what is rejected and why."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from scalers.schedule.annotation import (
    CEILING,
    MAX_ACTIONS,
    MAX_BYTES,
    MAX_DEPTH,
    MAX_WARNINGS,
    NO_ACTIONS,
    QUOTED,
    Rejected,
    Schedule,
    parse_schedule,
    zone_named,
)

DEFAULT_ZONE = ZoneInfo("UTC")
HPA = "HorizontalPodAutoscaler"
DEPLOYMENT = "Deployment"

DESIGN_EXAMPLE = """[{"schedule": "0 9 * * 1-5",  "minReplicas": 10, "maxReplicas": 40},
       {"schedule": "0 20 * * 1-5", "minReplicas": "2", "tz": "Asia/Tokyo"}]"""


def parse(
    text: str,
    kind: Any = HPA,
    object_zone: str | None = None,
    default_zone: ZoneInfo = DEFAULT_ZONE,
) -> Schedule | Rejected:
    return parse_schedule(text, kind, object_zone, default_zone)


def actions(*items: Any) -> str:
    return json.dumps(list(items))


def accepted(text: str, **kwargs: Any) -> Schedule:
    result = parse(text, **kwargs)
    assert isinstance(result, Schedule), result
    return result


def rejected(text: str, **kwargs: Any) -> Rejected:
    result = parse(text, **kwargs)
    assert isinstance(result, Rejected), result
    return result


def rejected_naming_field(field: str, value: Any) -> None:
    """One action setting `field` to `value` is refused as an InvalidAction that names both."""
    result = rejected(actions({"schedule": "0 9 * * *", field: value}))

    assert result.reason == "InvalidAction"
    assert "action 1" in result.message
    assert field in result.message


def test_design_example_parses_into_two_rules():
    schedule = accepted(DESIGN_EXAMPLE)

    first, second = schedule.rules
    assert (first.index, first.schedule) == (0, "0 9 * * 1-5")
    assert (second.index, second.schedule) == (1, "0 20 * * 1-5")
    assert dict(first.values) == {"minReplicas": 10, "maxReplicas": 40}
    assert dict(second.values) == {"minReplicas": 2}
    assert all(type(value) is int for rule in schedule.rules for _, value in rule.values)
    assert first.zone == DEFAULT_ZONE
    assert second.zone == ZoneInfo("Asia/Tokyo")
    assert schedule.warnings == ()


@pytest.mark.parametrize(
    ("given", "expected"),
    [(2, 2), ("2", 2), (40, 40), ("40", 40), ("007", 7)],
)
def test_replica_counts_are_integers_or_decimal_strings(given, expected):
    schedule = accepted(actions({"schedule": "0 9 * * *", "minReplicas": given}))

    (rule,) = schedule.rules
    assert rule.values == (("minReplicas", expected),)
    assert type(rule.values[0][1]) is int


@pytest.mark.parametrize(
    "expression",
    [
        "0 9 * * 1-5",
        "*/15 * * * *",
        "30 2 * * *",
        "0 0 1 1 *",
        "0 0 29 2 *",
        "0 8-18/2 * * mon-fri",
        "@hourly",
        "@daily",
        "@weekly",
        "@monthly",
        "@yearly",
        "@annually",
        "@midnight",
    ],
)
def test_five_field_cron_and_every_macro_are_accepted(expression):
    schedule = accepted(actions({"schedule": expression, "minReplicas": 1}))

    assert [rule.schedule for rule in schedule.rules] == [expression]


@pytest.mark.parametrize(
    "expression", ["0 0 9 * * 1-5", "* * * * * *", "0 9 * * 1-5 2026", "0 30 9 * * *"]
)
def test_six_field_cron_is_rejected_with_the_reason(expression):
    result = rejected(actions({"schedule": expression, "minReplicas": 1}))

    assert result.reason == "InvalidSchedule"
    assert "action 1" in result.message
    assert "seconds" in result.message
    assert "ambiguous" in result.message


@pytest.mark.parametrize(
    "expression",
    [
        "",
        "not a cron",
        "* * * *",
        "* * * * * * *",
        "61 * * * *",
        "0 25 * * *",
        "0 9 32 * *",
        "0 9 * 13 *",
        "0 9 * * funday",
        "@every 5m",
        "@reboot",
    ],
)
def test_garbage_cron_is_rejected(expression):
    result = rejected(actions({"schedule": expression, "minReplicas": 1}))

    assert result.reason == "InvalidSchedule"
    assert "action 1" in result.message


@pytest.mark.parametrize("expression", ["0 0 31 2 *", "0 0 30 2 *", "0 0 31 4 *"])
def test_cron_that_never_fires_is_rejected(expression):
    result = rejected(actions({"schedule": expression, "minReplicas": 1}))

    assert result.reason == "InvalidSchedule"
    assert "never fires" in result.message


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[{",
        "[{'schedule': '0 9 * * *', 'minReplicas': 1}]",
        '{"schedule": "0 9 * * *", "minReplicas": 1}',
        '"0 9 * * *"',
        "42",
        "null",
    ],
)
def test_bad_json_or_not_an_array_is_rejected(text):
    result = rejected(text)

    assert result.reason == "InvalidJSON"
    assert "zalando.org/schedule-actions" in result.message


@pytest.mark.parametrize("action", [1, "0 9 * * *", None, [{"schedule": "0 9 * * *"}]])
def test_action_that_is_not_an_object_is_rejected(action):
    result = rejected(actions(action))

    assert result.reason == "InvalidAction"
    assert "action 1" in result.message


def test_action_without_schedule_is_rejected():
    result = rejected(actions({"minReplicas": 2}))

    assert "action 1" in result.message
    assert "schedule" in result.message


def test_action_setting_neither_min_nor_max_is_rejected():
    result = rejected(actions({"schedule": "0 9 * * *"}))

    assert result.reason == "InvalidAction"
    assert "action 1" in result.message
    assert "minReplicas" in result.message
    assert "maxReplicas" in result.message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("minReplicas", 0),
        ("minReplicas", "0"),
        ("minReplicas", -1),
        ("minReplicas", "-1"),
        ("maxReplicas", 0),
        ("maxReplicas", "0"),
        ("maxReplicas", -3),
    ],
)
def test_hpa_bounds_below_one_are_rejected(field, value):
    rejected_naming_field(field, value)


def test_min_above_max_in_one_action_is_rejected_naming_both():
    result = rejected(actions({"schedule": "0 9 * * *", "minReplicas": 5, "maxReplicas": "4"}))

    assert result.reason == "InvalidAction"
    assert "action 1" in result.message
    assert "5" in result.message
    assert "4" in result.message


def test_min_equal_to_max_is_accepted():
    schedule = accepted(actions({"schedule": "0 9 * * *", "minReplicas": 3, "maxReplicas": 3}))

    assert dict(schedule.rules[0].values) == {"minReplicas": 3, "maxReplicas": 3}


@pytest.mark.parametrize("field", ["minReplicas", "maxReplicas"])
@pytest.mark.parametrize("value", [True, False, 1.5, "1.5", "ten", "", " ", "1e3", [], {}])
def test_non_integer_values_are_rejected(field, value):
    rejected_naming_field(field, value)


def test_each_action_has_its_own_zone():
    schedule = accepted(
        actions(
            {"schedule": "0 9 * * *", "minReplicas": 2, "tz": "Europe/Berlin"},
            {"schedule": "0 9 * * *", "minReplicas": 3, "tz": "America/New_York"},
            {"schedule": "0 9 * * *", "minReplicas": 4},
        ),
        default_zone=ZoneInfo("Asia/Tokyo"),
    )

    assert [rule.zone for rule in schedule.rules] == [
        ZoneInfo("Europe/Berlin"),
        ZoneInfo("America/New_York"),
        ZoneInfo("Asia/Tokyo"),
    ]


@pytest.mark.parametrize("zone", ["Mars/Olympus", "Europe/Berlinn", "", "../etc/passwd"])
def test_unknown_action_zone_is_rejected(zone):
    result = rejected(
        actions(
            {"schedule": "0 9 * * *", "minReplicas": 2},
            {"schedule": "0 9 * * *", "minReplicas": 2, "tz": zone},
        )
    )

    assert result.reason == "InvalidTimezone"
    assert "action 2" in result.message
    assert repr(zone) in result.message


@pytest.mark.parametrize("zone", ["Mars/Olympus", "Europe/Berlinn", ""])
def test_unknown_object_zone_annotation_is_rejected(zone):
    result = rejected(actions({"schedule": "0 9 * * *", "minReplicas": 2}), object_zone=zone)

    assert result.reason == "InvalidTimezone"
    assert repr(zone) in result.message


@pytest.mark.parametrize(
    ("action_zone", "object_zone", "expected"),
    [
        ("Asia/Tokyo", "Europe/Berlin", "Asia/Tokyo"),
        ("Asia/Tokyo", None, "Asia/Tokyo"),
        (None, "Europe/Berlin", "Europe/Berlin"),
        (None, None, "America/New_York"),
    ],
)
def test_zone_resolution_order(action_zone, object_zone, expected):
    action: dict[str, Any] = {"schedule": "0 9 * * *", "minReplicas": 2}
    if action_zone is not None:
        action["tz"] = action_zone

    schedule = accepted(
        actions(action), object_zone=object_zone, default_zone=ZoneInfo("America/New_York")
    )

    assert schedule.rules[0].zone == ZoneInfo(expected)


def test_replicas_on_an_hpa_is_rejected_pointing_to_min_and_max():
    result = rejected(actions({"schedule": "0 9 * * *", "replicas": 3}), kind=HPA)

    assert result.reason == "InvalidAction"
    assert "action 1" in result.message
    assert "replicas" in result.message
    assert "minReplicas" in result.message
    assert "maxReplicas" in result.message


@pytest.mark.parametrize(("given", "expected"), [(0, 0), ("0", 0), (3, 3), ("12", 12)])
def test_replicas_on_a_deployment_is_accepted_including_zero(given, expected):
    schedule = accepted(actions({"schedule": "0 9 * * *", "replicas": given}), kind=DEPLOYMENT)

    assert schedule.rules[0].values == (("replicas", expected),)


@pytest.mark.parametrize("value", [-1, "-1", True, "two"])
def test_bad_replicas_on_a_deployment_is_rejected(value):
    result = rejected(actions({"schedule": "0 9 * * *", "replicas": value}), kind=DEPLOYMENT)

    assert "action 1" in result.message
    assert "replicas" in result.message


@pytest.mark.parametrize("field", ["minReplicas", "maxReplicas"])
def test_min_or_max_on_a_deployment_is_rejected(field):
    result = rejected(actions({"schedule": "0 9 * * *", field: 3}), kind=DEPLOYMENT)

    assert result.reason == "InvalidAction"
    assert "action 1" in result.message
    assert field in result.message
    assert "replicas" in result.message.replace(field, "")


def test_unknown_keys_warn_and_do_not_reject():
    schedule = accepted(
        actions(
            {"schedule": "0 9 * * *", "minReplicas": 2, "replica": 3},
            {"schedule": "0 18 * * *", "maxReplicas": 5, "timezone": "Europe/Berlin"},
        )
    )

    assert [dict(rule.values) for rule in schedule.rules] == [
        {"minReplicas": 2},
        {"maxReplicas": 5},
    ]
    # The misspelt zone key is ignored, not used.
    assert schedule.rules[1].zone == DEFAULT_ZONE
    assert len(schedule.warnings) == 2
    assert "action 1" in schedule.warnings[0]
    assert "replica" in schedule.warnings[0]
    assert "action 2" in schedule.warnings[1]
    assert "timezone" in schedule.warnings[1]


def test_well_formed_annotation_has_no_warnings():
    schedule = accepted(actions({"schedule": "0 9 * * *", "minReplicas": 2, "maxReplicas": 4}))

    assert schedule.warnings == ()


@pytest.mark.parametrize(
    "bad",
    [
        7,
        {"minReplicas": 2},
        {"schedule": "0 9 * * *"},
        {"schedule": "0 0 * * * *", "minReplicas": 2},
        {"schedule": "nope", "minReplicas": 2},
        {"schedule": "0 0 31 2 *", "minReplicas": 2},
        {"schedule": "0 9 * * *", "minReplicas": "ten"},
        {"schedule": "0 9 * * *", "minReplicas": 0},
        {"schedule": "0 9 * * *", "minReplicas": 9, "maxReplicas": 3},
        {"schedule": "0 9 * * *", "minReplicas": 2, "tz": "Nowhere/Land"},
        {"schedule": "0 9 * * *", "replicas": 2},
    ],
)
def test_rejection_names_the_action_number(bad):
    good = {"schedule": "0 9 * * *", "minReplicas": 2}

    result = rejected(actions(good, good, bad, good))

    assert "action 3" in result.message
    assert "action 1" not in result.message


# Hostile input: every value, however built, is a rejection of its object with a short message.

HOSTILE_ZONES = ["Europe", "America", "Etc", "America/Argentina", "A" * 300, "Europe/" + "x" * 300]


@pytest.mark.parametrize("zone", HOSTILE_ZONES)
def test_a_zone_directory_or_an_overlong_name_is_an_unknown_zone(zone):
    in_action = rejected(actions({"schedule": "0 9 * * *", "minReplicas": 2, "tz": zone}))
    on_object = rejected(actions({"schedule": "0 9 * * *", "minReplicas": 2}), object_zone=zone)

    assert in_action.reason == on_object.reason == "InvalidTimezone"
    assert zone[:20] in in_action.message and zone[:20] in on_object.message


@pytest.mark.parametrize("zone", [*HOSTILE_ZONES, "localtime", "", "../etc/passwd", "Europe/"])
def test_zone_named_is_none_for_anything_but_a_zone_key(zone):
    assert zone_named(zone) is None


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires"])
def test_zone_named_finds_zone_keys(zone):
    assert zone_named(zone) == ZoneInfo(zone)


def nested(depth: int) -> str:
    """An annotation whose unknown key holds arrays `depth` - 2 deep (the list and the object
    of the action are the first two levels)."""
    inner = "[" * (depth - 2) + "]" * (depth - 2)
    return f'[{{"schedule": "0 9 * * *", "minReplicas": 1, "x": {inner}}}]'


def test_nesting_up_to_the_bound_is_accepted():
    assert accepted(nested(MAX_DEPTH)).rules


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1000, 100_000])
def test_deeper_nesting_is_rejected_whatever_the_interpreter_allows(depth):
    result = rejected(nested(depth))

    assert result.reason == "InvalidJSON"
    assert "deeper" in result.message


def test_an_integer_of_thousands_of_digits_is_rejected():
    result = rejected('[{"schedule": "0 9 * * *", "minReplicas": ' + "9" * 5000 + "}]")

    assert result.reason == "InvalidJSON"


@pytest.mark.parametrize("field", ["minReplicas", "maxReplicas"])
@pytest.mark.parametrize(
    "value", [2**31, 2**63, 10**30, 10**400, "2147483648", "9" * 10_000, -(10**400)]
)
def test_numbers_beyond_int32_are_rejected_with_a_short_message(field, value):
    result = rejected(actions({"schedule": "0 9 * * *", field: value}))

    assert result.reason == "InvalidAction"
    assert field in result.message
    assert len(result.message) < 200
    if value != -(10**400):  # that one is below the floor
        assert "32-bit integer" in result.message


@pytest.mark.parametrize(("kind", "field"), [(HPA, "maxReplicas"), (DEPLOYMENT, "replicas")])
def test_the_largest_int32_is_accepted(kind, field):
    for value in (CEILING, str(CEILING)):
        schedule = accepted(actions({"schedule": "0 9 * * *", field: value}), kind=kind)
        assert schedule.rules[0].values == ((field, CEILING),)


def test_a_decimal_string_is_ascii_digits_only():
    assert rejected(actions({"schedule": "0 9 * * *", "minReplicas": "\u0661"})).reason == (
        "InvalidAction"
    )


def test_an_annotation_over_the_api_limit_is_rejected_before_decoding():
    text = actions({"schedule": "0 9 * * *", "minReplicas": 1, "pad": "x" * MAX_BYTES})

    result = rejected(text)

    assert result.reason == "TooLarge"
    assert len(result.message) < 200


def test_a_multibyte_annotation_is_measured_in_bytes():
    action = {"schedule": "0 9 * * *", "minReplicas": 1, "pad": "é" * (MAX_BYTES // 2)}
    text = json.dumps([action], ensure_ascii=False)

    assert rejected(text).reason == "TooLarge"


def test_the_number_of_actions_is_bounded():
    action = {"schedule": "0 9 * * *", "minReplicas": 1}

    assert len(accepted(actions(*[action] * MAX_ACTIONS)).rules) == MAX_ACTIONS
    result = rejected(actions(*[action] * (MAX_ACTIONS + 1)))
    assert result.reason == "TooLarge"
    assert str(MAX_ACTIONS) in result.message


def test_an_overlong_cron_expression_is_rejected_quoting_only_its_start():
    expression = "1" + ",1" * 5000 + " * * * *"

    result = rejected(actions({"schedule": expression, "minReplicas": 1}))

    assert result.reason == "InvalidSchedule"
    assert len(result.message) < 200


@pytest.mark.parametrize(
    "action",
    [
        {"schedule": "x" * 200, "minReplicas": 1},
        {"schedule": "@" + "x" * 200, "minReplicas": 1},
        {"schedule": "0 9 * * *", "minReplicas": 1, "tz": "Mars/" + "x" * 200},
        {"schedule": "0 9 * * *", "minReplicas": ["x" * 200]},
        {"schedule": "0 9 * * *", "minReplicas": "x" * 200},
    ],
)
def test_messages_quote_at_most_a_short_part_of_the_value(action):
    result = rejected(actions(action))

    assert "…" in result.message
    assert "x" * (QUOTED + 1) not in result.message


def test_unknown_keys_are_quoted_short_and_their_warnings_bounded():
    action: dict[str, Any] = {"schedule": "0 9 * * *", "minReplicas": 1}
    action |= {f"{i}-" + "k" * 500: i for i in range(50)}

    schedule = accepted(actions(action))

    assert len(schedule.warnings) == MAX_WARNINGS
    assert "41 more unknown keys" in schedule.warnings[-1]
    assert all(len(w) < 200 for w in schedule.warnings)


def test_an_unexpected_error_inside_parsing_is_a_rejection(monkeypatch):
    def broken(expression: str) -> str | None:
        raise RuntimeError("x" * 10_000)

    monkeypatch.setattr("scalers.schedule.annotation.cron_problem", broken)

    result = rejected(actions({"schedule": "0 9 * * *", "minReplicas": 1}))

    assert result.reason == "InvalidAnnotation"
    assert "RuntimeError" in result.message
    assert len(result.message) < 200


# Every problem, not only the first: `scalers validate` says each; the Event sums them up.


def test_every_bad_action_and_every_bad_key_is_an_issue_of_its_own():
    result = rejected(
        actions(
            {"schedule": "0 9 * * *", "minReplicas": 2},
            {"schedule": 9, "minReplicas": "ten", "maxReplicas": [], "tz": "Nowhere/Land"},
            {"schedule": "0 9 * * *", "replicas": 3, "maxReplicas": 0},
        )
    )

    assert [(issue.reason, issue.message.split(":")[0:2]) for issue in result.issues] == [
        ("InvalidAction", ["action 2", " schedule"]),
        ("InvalidAction", ["action 2", " minReplicas"]),
        ("InvalidAction", ["action 2", " maxReplicas"]),
        ("InvalidTimezone", ["action 2", " unknown zone 'Nowhere/Land'"]),
        (
            "InvalidAction",
            [
                "action 3",
                " replicas cannot be scheduled on a HorizontalPodAutoscaler; use minReplicas and/or maxReplicas",
            ],
        ),
        ("InvalidAction", ["action 3", " maxReplicas must be >= 1, not 0"]),
    ]
    # One line for the Event and the log: the first problems, then how many more.
    assert result.reason == "InvalidAction"
    assert result.message.count("action 2") == 2
    assert result.message.endswith("; and 4 more problems")
    assert "\n" not in result.message


def test_a_single_problem_is_the_whole_message():
    result = rejected(actions({"schedule": "0 9 * * *", "minReplicas": 0}))

    assert result.each() == result.issues
    assert [issue.message for issue in result.issues] == [result.message]


def test_a_rejection_keeps_the_warnings_that_explain_it():
    result = rejected(actions({"schedule": "0 9 * * *", "minReplica": 3}))

    assert [issue.message for issue in result.issues] == [
        "action 1: sets none of minReplicas, maxReplicas"
    ]
    assert result.warnings == (
        "action 1: unknown key 'minReplica' ignored (did you mean 'minReplicas'?)",
    )
    assert "did you mean 'minReplicas'?" in result.message  # the Event says it, too


@pytest.mark.parametrize(
    ("kind", "key", "suggested"),
    [
        (HPA, "minReplica", "minReplicas"),
        (HPA, "MaxReplicas", "maxReplicas"),
        (HPA, "schedul", "schedule"),
        (HPA, "TZ", "tz"),
        (HPA, "timezone", "tz"),
        (DEPLOYMENT, "replica", "replicas"),
    ],
)
def test_an_unknown_key_close_to_a_known_one_gets_a_suggestion(kind, key, suggested):
    field = "minReplicas" if kind == HPA else "replicas"
    schedule = accepted(actions({"schedule": "0 9 * * *", field: 2, key: 1}), kind=kind)

    assert schedule.warnings == (
        f"action 1: unknown key {key!r} ignored (did you mean {suggested!r}?)",
    )


def test_an_unknown_key_like_no_known_one_is_named_without_a_suggestion():
    schedule = accepted(actions({"schedule": "0 9 * * *", "minReplicas": 2, "owner": "team-a"}))

    assert schedule.warnings == ("action 1: unknown key 'owner' ignored",)


@pytest.mark.parametrize(
    ("expression", "named"),
    [
        ("0 9 L * *", "'L'"),
        ("0 9 * * 5L", "'L'"),
        ("0 9 * * 1#2", "'#'"),
        ("0 9 * * mon#1", "'#'"),
        ("0 9 ? * *", "'?'"),
        ("0 9 * * ?", "'?'"),
        ("0 9 15W * *", "'W'"),
        ("0 9 LW * *", "'L'"),
        ("R 9 * * *", "'R'"),
        ("H 9 * * *", "'H'"),
    ],
)
def test_croniter_extensions_beyond_standard_cron_are_refused_by_name(expression, named):
    result = rejected(actions({"schedule": expression, "minReplicas": 1}))

    assert result.reason == "InvalidSchedule"
    assert f"action 1: schedule {expression!r} uses {named}" in result.message
    assert "only standard 5-field cron is accepted" in result.message


@pytest.mark.parametrize(
    "expression", ["0 9 * jul thu", "0 9 * JAN-MAR MON-FRI", "0 9 * * 0-7", "*/15 8-18 1,15 * *"]
)
def test_names_with_the_letters_of_extensions_are_standard(expression):
    assert accepted(actions({"schedule": expression, "minReplicas": 1})).rules


def test_an_empty_action_list_is_a_warning_and_schedules_nothing():
    schedule = accepted("[]")

    assert schedule.rules == ()
    assert schedule.warnings == (NO_ACTIONS,)


@pytest.mark.parametrize(
    "url",
    [
        "https://config.example.com/schedules/web.json",
        " http://10.0.0.1:8080/schedule ",
        "s3://bucket/schedules/web.json",
    ],
)
def test_a_url_as_the_annotation_is_refused_saying_the_schedule_must_be_inline(url):
    result = rejected(url)

    assert result.reason == "UnsupportedURL"
    assert "not supported" in result.message
    assert "JSON array of actions in the annotation itself" in result.message
    assert url.strip()[:20] in result.message
