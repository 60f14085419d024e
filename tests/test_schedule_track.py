"""What the schedule loop concludes from an object as the watch delivers it: its inputs, whether
its schedule applies, what is worth saying, who changed each field, and what the cache keeps."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scalers.resources import DEPLOYMENT, HPA
from scalers.schedule import track
from scalers.schedule.annotation import (
    SCHEDULE_ANNOTATION,
    SUSPEND_ANNOTATION,
    TIMEZONE_ANNOTATION,
    Kind,
    Rejected,
    Schedule,
    parse_schedule,
)
from scalers.schedule.decide import FieldState, Scheduled
from scalers.schedule.track import (
    ACTIVE,
    CLAIMED,
    REJECTED,
    SUSPENDED,
    Inputs,
    Ref,
    Seen,
    Tracked,
    essentials,
    field_states,
    inputs_of,
    kept,
    notices,
    observe,
    plan,
    retrack,
    standing,
)

UTC_ZONE = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")
KIND: Kind = "HorizontalPodAutoscaler"
MIN, MAX = "minReplicas", "maxReplicas"
US = "kube-scalers-schedule"
REF = Ref(KIND, "shop", "web")

PLAIN = '[{"schedule": "0 9 * * 1-5", "minReplicas": 10}]'
OTHER = '[{"schedule": "0 20 * * 1-5", "minReplicas": 2}]'
WARNED = '[{"schedule": "0 9 * * 1-5", "minReplicas": 10, "colour": "blue"}]'
BAD = '[{"schedule": "not a cron", "minReplicas": 10}]'

# Monday 2026-11-02; the weekday fire at 09:00 UTC.
FIRE = datetime(2026, 11, 2, 9, tzinfo=UTC)
NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
T_OURS, T_THEIRS, T_LATER = "2026-11-02T09:00:00Z", "2026-11-02T09:00:05Z", "2026-11-02T09:20:00Z"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def entry(manager: str, time: str | None, *fields: str) -> dict:
    """One managedFields entry owning spec.<fields>."""
    owned: dict[str, dict] = {"f:spec": {f"f:{name}": {} for name in fields}}
    return {"manager": manager, "operation": "Update", "fieldsV1": owned} | (
        {"time": time} if time is not None else {}
    )


def obj(annotations: dict | None = None, managed: tuple = (), **spec: int) -> dict:
    return {
        "metadata": {"name": "web", "namespace": "shop", "annotations": annotations or {}}
        | ({"managedFields": list(managed)} if managed else {}),
        "spec": spec,
    }


def schedule_of(text: str, zone: str | None = None) -> Schedule | Rejected:
    return parse_schedule(text, KIND, zone, UTC_ZONE)


def tracked(text: str, suspended: bool = False, claimed: bool = False) -> Tracked:
    inputs = Inputs(text, None, suspended)
    schedule = schedule_of(text)
    return Tracked(HPA, REF, inputs, schedule, standing(schedule, inputs, claimed), NOW)


# --- inputs_of -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, None),
        ({}, None),
        ({"metadata": {}}, None),
        ({"metadata": {"annotations": None}}, None),
        ({"metadata": {"annotations": {SUSPEND_ANNOTATION: "true"}}}, None),
        (obj({SCHEDULE_ANNOTATION: PLAIN}), Inputs(PLAIN, None, False)),
        (obj({SCHEDULE_ANNOTATION: PLAIN, SUSPEND_ANNOTATION: "true"}), Inputs(PLAIN, None, True)),
        (obj({SCHEDULE_ANNOTATION: PLAIN, SUSPEND_ANNOTATION: " TRUE "}), Inputs(PLAIN, None, True)),
        (obj({SCHEDULE_ANNOTATION: PLAIN, SUSPEND_ANNOTATION: "false"}), Inputs(PLAIN, None, False)),
        (obj({SCHEDULE_ANNOTATION: PLAIN, SUSPEND_ANNOTATION: "yes"}), Inputs(PLAIN, None, False)),
        (obj({SCHEDULE_ANNOTATION: PLAIN, TIMEZONE_ANNOTATION: "Europe/Berlin"}), Inputs(PLAIN, "Europe/Berlin", False)),
        # An empty annotation is there: it is parsed (and rejected), not ignored.
        (obj({SCHEDULE_ANNOTATION: ""}), Inputs("", None, False)),
    ],
    ids=[
        "no object",
        "no metadata",
        "no annotations",
        "null annotations",
        "suspend without a schedule",
        "schedule alone",
        "suspend true",
        "suspend TRUE padded",
        "suspend false",
        "suspend yes is not true",
        "zone carried",
        "empty schedule",
    ],
)  # fmt: skip
def test_inputs_are_what_the_schedule_depends_on(given, expected):
    assert inputs_of(given) == expected


# --- standing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "suspended", "claimed", "expected"),
    [
        (BAD, True, True, REJECTED),  # rejected wins over suspended and claimed
        (BAD, False, False, REJECTED),
        (PLAIN, True, True, SUSPENDED),  # suspended wins over claimed
        (PLAIN, True, False, SUSPENDED),
        (PLAIN, False, True, CLAIMED),
        (PLAIN, False, False, ACTIVE),
    ],
)
def test_standing_says_whether_the_schedule_applies(text, suspended, claimed, expected):
    assert standing(schedule_of(text), Inputs(text, None, suspended), claimed) == expected


# --- notices -------------------------------------------------------------------------------

WARNING = ("warned", ("Warning", "ScheduleWarning"), "WARNING")
PAUSED = ("paused", None, "INFO")
IGNORED = ("ignored", ("Warning", "ScheduleIgnored"), "WARNING")


@pytest.mark.parametrize(
    ("previous", "current", "said"),
    [
        # (annotation, suspended, claimed) before (None: a new object) and now.
        (None, (PLAIN, False, False), []),
        ((PLAIN, True, False), (PLAIN, False, False), []),  # resumed: the schedule applies again
        ((PLAIN, False, False), (PLAIN, False, False), []),
        ((PLAIN, False, False), (OTHER, False, False), []),
        (None, (WARNED, False, False), [WARNING]),
        ((PLAIN, False, False), (WARNED, False, False), [WARNING]),
        ((WARNED, False, False), (WARNED, True, False), [PAUSED]),  # warnings not said again
        (None, (PLAIN, True, False), [PAUSED]),
        ((PLAIN, False, False), (PLAIN, True, False), [PAUSED]),
        ((PLAIN, True, False), (OTHER, True, False), []),  # still suspended: not said again
        (None, (WARNED, True, False), [WARNING, PAUSED]),
        (None, (PLAIN, False, True), [IGNORED]),
        ((PLAIN, False, True), (OTHER, False, True), [IGNORED]),
        ((PLAIN, False, True), (PLAIN, False, True), []),  # claimed: said once per schedule
        ((PLAIN, True, True), (PLAIN, False, True), [IGNORED]),  # resumed, and still ignored
        (None, (WARNED, False, True), [WARNING, IGNORED]),
        (None, (PLAIN, True, True), [PAUSED]),
    ],
)
def test_notices_say_a_change_once(previous, current, said):
    before = tracked(*previous) if previous else None

    result = notices(tracked(*current), before)

    assert [(n.action, n.event, n.severity) for n in result] == said


@pytest.mark.parametrize("previous", [None, (PLAIN, False, False), (BAD, False, False)])
@pytest.mark.parametrize(("suspended", "claimed"), [(False, False), (True, True)])
def test_a_rejected_schedule_is_one_error(previous, suspended, claimed):
    now = tracked(BAD, suspended, claimed)
    assert isinstance(now.schedule, Rejected)

    result = notices(now, tracked(*previous) if previous else None)

    assert [(n.reason, n.action, n.message, n.event, n.severity) for n in result] == [
        (now.schedule.reason, "rejected", now.schedule.message, ("Warning", "InvalidSchedule"), "ERROR")
    ]  # fmt: skip


def test_a_warning_names_the_unknown_key():
    (said,) = notices(tracked(WARNED), None)

    assert said.reason == "UnknownKey"
    assert "colour" in said.message


def test_an_empty_action_list_is_a_warning_of_its_own():
    (said,) = notices(tracked("[]"), None)

    assert (said.reason, said.action, said.event) == (
        "NoActions", "warned", ("Warning", "ScheduleWarning")
    )  # fmt: skip


# --- retrack -------------------------------------------------------------------------------

SEEN = {MIN: Seen(by_us=False, at=FIRE, we_wrote=True)}


@pytest.mark.parametrize(
    ("before", "after", "reparsed", "state"),
    [
        (Inputs(PLAIN, None, False), Inputs(PLAIN, None, True), False, SUSPENDED),
        (Inputs(PLAIN, None, True), Inputs(PLAIN, None, False), False, ACTIVE),
        (Inputs(PLAIN, None, False), Inputs(OTHER, None, False), True, ACTIVE),
        (Inputs(PLAIN, None, False), Inputs(PLAIN, "Europe/Berlin", False), True, ACTIVE),
        (Inputs(PLAIN, None, False), Inputs(BAD, None, True), True, REJECTED),
    ],
    ids=["suspended", "resumed", "annotation changed", "zone changed", "became invalid"],
)
def test_retrack_reparses_only_when_the_annotation_or_zone_changed(
    before, after, reparsed, state, monkeypatch
):
    previous = retrack(None, HPA, REF, before, False, UTC_ZONE, FIRE)
    assert previous is not None
    previous.seen = dict(SEEN)
    parses = []

    def counted(*args):
        parses.append(args)
        return parse_schedule(*args)

    monkeypatch.setattr(track, "parse_schedule", counted)

    result = retrack(previous, HPA, REF, after, False, UTC_ZONE, NOW)

    assert result is not None
    assert (result.schedule is not previous.schedule) is reparsed
    assert len(parses) == reparsed
    assert result.schedule == schedule_of(after.annotation, after.zone)
    assert (result.inputs, result.state, result.evaluated_at) == (after, state, NOW)
    assert result.generation == previous.generation + 1
    assert result.seen == SEEN


def test_retrack_with_unchanged_inputs_is_none():
    inputs = Inputs(PLAIN, None, False)
    previous = retrack(None, HPA, REF, inputs, False, UTC_ZONE, FIRE)

    assert retrack(previous, HPA, REF, inputs, True, UTC_ZONE, NOW) is None


@pytest.mark.parametrize(
    ("inputs", "claimed", "state"),
    [
        (Inputs(PLAIN, None, False), False, ACTIVE),
        (Inputs(PLAIN, None, False), True, CLAIMED),
        (Inputs(PLAIN, None, True), True, SUSPENDED),
        (Inputs(BAD, None, False), False, REJECTED),
        (Inputs(PLAIN, "Mars/Olympus", False), False, REJECTED),
    ],
)
def test_retrack_of_a_new_object_starts_at_generation_zero(inputs, claimed, state):
    result = retrack(None, HPA, REF, inputs, claimed, UTC_ZONE, NOW)

    assert result is not None
    assert (result.resource, result.ref, result.inputs) == (HPA, REF, inputs)
    assert (result.state, result.generation, result.seen, result.evaluated_at) == (
        state,
        0,
        {},
        NOW,
    )


def test_retrack_parses_in_the_object_zone_else_the_default():
    berlin = retrack(None, HPA, REF, Inputs(PLAIN, "Europe/Berlin", False), False, UTC_ZONE, NOW)
    default = retrack(None, DEPLOYMENT, REF, Inputs(PLAIN.replace(MIN, "replicas"), None, False), False, BERLIN, NOW)  # fmt: skip

    assert berlin is not None and isinstance(berlin.schedule, Schedule)
    assert default is not None and isinstance(default.schedule, Schedule)
    assert berlin.schedule.rules[0].zone == BERLIN
    assert default.schedule.rules[0].zone == BERLIN


# --- observe -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "seen", "changed", "overridden_by"),
    [
        # Another manager changed a field after our write: an override, said once.
        (obj(managed=(entry(US, T_OURS, MIN),), minReplicas=10), obj(managed=(entry("kubectl", T_THEIRS, MIN),), minReplicas=25), {}, {MIN: Seen(False, at(T_THEIRS), True)}, "kubectl"),
        # We changed it: ours, nothing to say.
        (obj(managed=(entry("kubectl", T_THEIRS, MIN),), minReplicas=25), obj(managed=(entry(US, T_LATER, MIN),), minReplicas=10), {}, {MIN: Seen(True, None, True)}, None),
        # Unchanged value: nothing, whoever owns it now.
        (obj(managed=(entry(US, T_OURS, MIN),), minReplicas=10), obj(managed=(entry("kubectl", T_THEIRS, MIN),), minReplicas=10), {}, {}, None),
        # Another manager changed a field we never owned: noted, not an override of ours.
        (obj(managed=(entry("kubectl", T_OURS, MIN),), minReplicas=10), obj(managed=(entry("helm", T_THEIRS, MIN),), minReplicas=25), {}, {MIN: Seen(False, at(T_THEIRS), False)}, None),
        # ...but if the watch saw us write it before, it stays a field we wrote.
        (obj(managed=(entry("kubectl", T_OURS, MIN),), minReplicas=10), obj(managed=(entry("helm", T_THEIRS, MIN),), minReplicas=25), SEEN, {MIN: Seen(False, at(T_THEIRS), True)}, None),
        # No managedFields time: the change is dated when the watch saw it.
        (obj(managed=(entry(US, T_OURS, MIN),), minReplicas=10), obj(managed=(entry("kubectl", None, MIN),), minReplicas=25), {}, {MIN: Seen(False, NOW, True)}, "kubectl"),
        # No owner at all any more.
        (obj(managed=(entry(US, T_OURS, MIN),), minReplicas=10), obj(minReplicas=25), {}, {MIN: Seen(False, NOW, True)}, "another manager"),
        # Two other managers share it: the later write dates it.
        (obj(managed=(entry(US, T_OURS, MIN),), minReplicas=10), obj(managed=(entry("kubectl", T_LATER, MIN), entry("helm", T_THEIRS, MIN)), minReplicas=25), {}, {MIN: Seen(False, at(T_LATER), True)}, "kubectl, helm"),
        # Shared with us: still ours.
        (obj(managed=(entry(US, T_OURS, MIN),), minReplicas=10), obj(managed=(entry("kubectl", T_THEIRS, MIN), entry(US, T_LATER, MIN)), minReplicas=25), {}, {MIN: Seen(True, None, True)}, None),
        # Only the fields that changed are reported.
        (obj(managed=(entry(US, T_OURS, MIN, MAX),), minReplicas=10, maxReplicas=40), obj(managed=(entry(US, T_OURS, MIN), entry("kubectl", T_THEIRS, MAX)), minReplicas=10, maxReplicas=50), {}, {MAX: Seen(False, at(T_THEIRS), True)}, "kubectl"),
    ],
    ids=[
        "override observed",
        "changed by us",
        "unchanged",
        "never ours",
        "seen ours before",
        "no time",
        "no owner",
        "two others",
        "shared with us",
        "one of two fields",
    ],
)  # fmt: skip
def test_observe_notes_who_changed_each_field(old, new, seen, changed, overridden_by):
    frozen = copy.deepcopy(seen)

    result, overrides = observe(KIND, old, new, seen, US, NOW)

    assert result == changed
    assert seen == frozen
    if overridden_by is None:
        assert overrides == []
        return
    (name,) = changed
    (said,) = overrides
    before, after = old["spec"][name], new["spec"][name]
    assert (said.field, said.old, said.new) == (name, before, after)
    assert (said.reason, said.action, said.event) == ("override", "observed", ("Normal", "OverrideObserved"))  # fmt: skip
    assert f"{before} -> {after} by {overridden_by}" in said.message


def test_observe_reads_the_fields_of_the_kind():
    old = obj(managed=(entry(US, T_OURS, "replicas"),), replicas=3, minReplicas=1)
    new = obj(managed=(entry("kubectl", T_THEIRS, "replicas"),), replicas=0, minReplicas=9)

    changed, overrides = observe("Deployment", old, new, {}, US, NOW)

    assert changed == {"replicas": Seen(False, at(T_THEIRS), True)}
    assert [(n.field, n.old, n.new) for n in overrides] == [("replicas", 3, 0)]


def test_observe_a_field_set_where_there_was_none():
    changed, overrides = observe(KIND, {"metadata": {}}, obj(minReplicas=3), {}, US, NOW)

    assert changed == {MIN: Seen(False, NOW, False)}
    assert overrides == []


# --- field_states --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("managed", "seen", "written", "expected"),
    [
        # Cold start: managedFields alone.
        ((entry(US, T_OURS, MIN, MAX),), {}, set(), FieldState(10, True, True, None)),
        ((entry(US, T_OURS, MAX), entry("kubectl", T_THEIRS, MIN)), {}, set(), FieldState(10, False, True, at(T_THEIRS))),
        ((entry("kubectl", T_THEIRS, MIN, MAX),), {}, set(), FieldState(10, False, False, at(T_THEIRS))),
        ((entry("kubectl", T_THEIRS, MIN, MAX),), {}, {MIN}, FieldState(10, False, True, at(T_THEIRS))),
        ((entry("kubectl", T_OURS, MIN), entry("helm", T_LATER, MIN)), {}, set(), FieldState(10, False, False, at(T_LATER))),
        ((entry("kubectl", None, MIN, MAX),), {}, set(), FieldState(10, False, False, None)),
        ((), {}, set(), FieldState(10, False, False, None)),
        # What the watch saw wins: kubectl's entry time is its latest write of *any* field.
        ((entry("kubectl", T_LATER, MIN, MAX),), {MIN: Seen(False, FIRE, True)}, set(), FieldState(10, False, True, FIRE)),
        ((entry(US, T_OURS, MAX), entry("kubectl", T_THEIRS, MIN)), {MIN: Seen(False, at(T_THEIRS), False)}, set(), FieldState(10, False, False, at(T_THEIRS))),
        ((entry("kubectl", T_THEIRS, MIN, MAX),), {MIN: Seen(False, at(T_THEIRS), False)}, {MIN}, FieldState(10, False, True, at(T_THEIRS))),
        ((entry(US, T_LATER, MIN, MAX),), {MIN: Seen(False, FIRE, False)}, set(), FieldState(10, True, True, FIRE)),
        ((entry(US, T_LATER, MIN, MAX),), {MIN: Seen(True, None, True)}, set(), FieldState(10, True, True, None)),
    ],
    ids=[
        "cold: ours",
        "cold: theirs, we wrote the object",
        "cold: never ours",
        "cold: written by this process",
        "cold: latest of two others",
        "cold: no time",
        "cold: no managedFields",
        "seen: its time, not the entry's",
        "seen: not ours though we wrote the object",
        "seen: written by this process",
        "seen: owned by us now",
        "seen: by us",
    ],
)  # fmt: skip
def test_field_states_say_who_set_each_field(managed, seen, written, expected):
    states = field_states(KIND, obj(managed=managed, minReplicas=10), seen, written, US)

    assert set(states) == {MIN, MAX}
    assert states[MIN] == expected
    assert states[MAX].value is None


def test_field_states_are_those_of_the_kind():
    states = field_states("Deployment", obj(replicas=0, minReplicas=4), {}, set(), US)

    assert states == {"replicas": FieldState(0)}


# --- plan ----------------------------------------------------------------------------------

SCHEDULED = Scheduled(MIN, 10, FIRE, 0)
OVERRIDDEN = FieldState(25, ours=False, we_wrote=True, changed_at=FIRE + timedelta(minutes=5))
BEFORE_FIRE = FieldState(25, ours=False, we_wrote=True, changed_at=FIRE - timedelta(hours=1))


@pytest.mark.parametrize(
    ("reason", "since", "state", "scheduled", "writes", "overrides"),
    [
        ("fire", FIRE - timedelta(minutes=1), OVERRIDDEN, {MIN: SCHEDULED}, {MIN: 10}, ()),  # a fire wins
        ("fire", FIRE - timedelta(minutes=1), FieldState(10, True, True), {MIN: SCHEDULED}, {}, ()),
        ("fire", FIRE, BEFORE_FIRE, {}, {}, ()),  # (since, now]: the fire at `since` is done
        ("fire", NOW, BEFORE_FIRE, {}, {}, ()),
        ("catch-up", NOW, OVERRIDDEN, {MIN: SCHEDULED}, {}, (SCHEDULED,)),  # an override stands
        ("catch-up", NOW, BEFORE_FIRE, {MIN: SCHEDULED}, {MIN: 10}, ()),  # a missed fire applies
        ("catch-up", FIRE - timedelta(days=3), FieldState(25), {MIN: SCHEDULED}, {MIN: 10}, ()),
    ],
)  # fmt: skip
def test_plan_fires_win_catch_ups_keep_overrides(
    reason, since, state, scheduled, writes, overrides
):
    schedule = schedule_of(PLAIN)
    assert isinstance(schedule, Schedule)

    due, planned = plan(reason, schedule, since, NOW, {MIN: state, MAX: FieldState(40)})

    assert due == scheduled
    assert planned.writes == writes
    assert planned.overrides == overrides
    assert all(c.reason == reason for c in planned.changes)


def test_kept_says_each_override_a_catch_up_leaves_standing():
    schedule = schedule_of(PLAIN)
    assert isinstance(schedule, Schedule)
    _, planned = plan("catch-up", schedule, NOW, NOW, {MIN: OVERRIDDEN, MAX: FieldState(40)})

    (said,) = kept(schedule, planned, obj(minReplicas=25, maxReplicas=40))

    assert (said.field, said.old, said.new) == (MIN, 25, 25)
    assert (said.action, said.event) == ("kept-override", ("Normal", "OverrideKept"))
    assert "scheduled 10" in said.message


# --- essentials ----------------------------------------------------------------------------


def test_essentials_keep_what_the_loop_reads():
    full = {
        "apiVersion": "autoscaling/v2",
        "kind": KIND,
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "uid": "u-1",
            "resourceVersion": "42",
            "generation": 3,
            "labels": {"app": "web"},
            "annotations": {
                SCHEDULE_ANNOTATION: PLAIN,
                TIMEZONE_ANNOTATION: "Europe/Berlin",
                SUSPEND_ANNOTATION: "false",
                "kubectl.kubernetes.io/last-applied-configuration": "{...}",
            },
            "managedFields": [
                {
                    "manager": "kubectl",
                    "operation": "Update",
                    "time": T_THEIRS,
                    "fieldsV1": {
                        "f:metadata": {"f:labels": {"f:app": {}}},
                        "f:spec": {"f:minReplicas": {}, "f:metrics": {}},
                    },
                },
                {
                    "manager": "kube-controller-manager",
                    "operation": "Update",
                    "subresource": "status",
                    "time": T_LATER,
                    "fieldsV1": {"f:status": {"f:currentReplicas": {}}},
                },
            ],
        },
        "spec": {"minReplicas": 10, "maxReplicas": 40, "scaleTargetRef": {"name": "web"}},
        "status": {"currentReplicas": 10},
    }
    original = copy.deepcopy(full)

    cut = essentials(HPA)(full)

    assert cut == {
        "apiVersion": "autoscaling/v2",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "uid": "u-1",
            "resourceVersion": "42",
            "annotations": {
                SCHEDULE_ANNOTATION: PLAIN,
                TIMEZONE_ANNOTATION: "Europe/Berlin",
                SUSPEND_ANNOTATION: "false",
            },
            "managedFields": [
                {"manager": "kubectl", "operation": "Update", "time": T_THEIRS, "fieldsV1": {"f:spec": {"f:minReplicas": {}}}},
                {"manager": "kube-controller-manager", "operation": "Update", "time": T_LATER, "subresource": "status", "fieldsV1": {}},
            ],
        },
        "spec": {"minReplicas": 10, "maxReplicas": 40},
    }  # fmt: skip
    assert full == original
    # The loop reaches the same conclusions from what is kept.
    assert inputs_of(cut) == inputs_of(full)
    assert field_states(KIND, cut, {}, set(), US) == field_states(KIND, full, {}, set(), US)


def test_essentials_of_a_bare_object():
    cut = essentials(DEPLOYMENT)({"metadata": {"name": "web"}, "spec": {"paused": True}})

    assert cut == {
        "apiVersion": "apps/v1",
        "metadata": {"name": "web", "annotations": {}, "managedFields": []},
        "spec": {},
    }


# --- Ref -----------------------------------------------------------------------------------


def test_ref_is_the_informer_key_with_its_kind():
    ref = Ref.of("Deployment", "shop/web")

    assert ref == Ref("Deployment", "shop", "web")
    assert ref.key == "shop/web"
    assert str(ref) == "Deployment shop/web"
