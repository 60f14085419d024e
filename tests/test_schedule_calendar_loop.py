"""Calendars in the running schedule loop, through the real client against the fake API server:
the team calendars' ConfigMap is watched (an edit re-evaluates the objects that name it), a bad
or missing one is reported once and holds only the objects that need it, and the next fire of
every scheduled field is a metric."""

from __future__ import annotations

import json
import logging
from typing import Any

from scalers import metrics, names
from scalers.kube.client import Kube
from scalers.resources import EVENT
from tests.builders import KUBE_SYSTEM, configmap, hpa
from tests.support import HPA, at, min_max, reasons

CALENDARS = names.CALENDARS
# Business hours that skip the team's closures.
CLOSABLE = json.dumps(
    [
        {"schedule": "0 9 * * 1-5", "minReplicas": 10, "maxReplicas": 40, "skipDays": "closures"},
        {"schedule": "0 18 * * 1-5", "minReplicas": 2, "maxReplicas": 20},
    ]
)
PLAIN = json.dumps([{"schedule": "0 9 * * 1-5", "minReplicas": 5, "maxReplicas": 30}])
TODAY = "2026-11-02"  # the tests' Monday (tests/support.py START)


def calendars(**data: str) -> dict[str, Any]:
    return configmap(data, name=CALENDARS)


def edit_calendars(server: Any, **data: str) -> None:
    server.update(
        calendars(**data)
        | {"metadata": server.get("v1", "ConfigMap", KUBE_SYSTEM, CALENDARS)["metadata"]}
    )


def configmap_events(server: Any) -> list[dict[str, Any]]:
    items, _ = Kube(server.api_client()).list(EVENT, KUBE_SYSTEM)
    return [e for e in items if e["involvedObject"]["name"] == CALENDARS]


def gauge(metric: Any, *labels: str) -> float | None:
    try:
        return metric.labels(*labels)._value.get() if labels else metric._value.get()
    except KeyError:
        return None


def sample(name: str, labels: dict[str, str]) -> float | None:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels)


def test_a_closure_skips_the_fire_and_an_edit_re_evaluates_at_once(server, harness):
    server.create(calendars(closures=TODAY), manager="git")
    server.create(hpa("web", CLOSABLE, 2, 20), manager="git")
    h = harness()
    h.tick(at(8, 59))
    h.tick(at(9, 0))
    assert min_max(server, "web") == (2, 20)  # the 09:00 fire did not happen
    # The next fire of each field is the evening's, and what it sets.
    labels = {"namespace": "shop", "name": "web", "field": "minReplicas"}
    assert sample("scalers_schedule_next_fire_timestamp_seconds", labels) == at(18).timestamp()
    assert sample("scalers_schedule_next_replicas", labels) == 2

    edit_calendars(server, closures="2026-12-24")  # the closure is moved: today is a workday
    h.sync()
    h.tick(at(9, 5))
    assert min_max(server, "web") == (10, 40)  # caught up with no fire, like an annotation edit
    assert reasons(server, "web")[-1] == "ScheduledScale"


def test_a_bad_calendar_is_reported_once_and_holds_only_the_objects_that_need_it(server, harness):
    before = gauge(metrics.REJECTED_CALENDARS, "InvalidCalendar") or 0
    server.create(calendars(closures="2026-11-31"), manager="git")
    server.create(hpa("web", CLOSABLE, 2, 20), manager="git")
    server.create(hpa("api", PLAIN, 2, 20), manager="git")
    h = harness()
    for minute in range(4):
        h.loop.catch_up()  # as on every take-over
        h.tick(at(9, minute))

    assert min_max(server, "web") == (2, 20)  # held: neither fired nor caught up
    assert min_max(server, "api") == (5, 30)  # the others go on
    said = configmap_events(server)
    assert [(e["type"], e["reason"]) for e in said] == [("Warning", "InvalidCalendar")]
    assert said[0]["count"] in (None, 1)
    assert "line 1: '2026-11-31': day is out of range for month" in said[0]["message"]
    assert (gauge(metrics.REJECTED_CALENDARS, "InvalidCalendar") or 0) - before == 1
    assert gauge(metrics.HELD_SCHEDULES) == 1
    assert "ScheduledScale" not in reasons(server, "web")

    edit_calendars(server, closures="2026-12-24")
    h.sync()
    h.tick(at(9, 5))
    assert min_max(server, "web") == (10, 40)
    assert gauge(metrics.HELD_SCHEDULES) == 0


def test_a_missing_calendar_configmap_holds_until_it_is_created(server, harness):
    server.create(hpa("web", CLOSABLE, 2, 20), manager="git")
    h = harness()
    h.tick(at(9, 0))
    assert min_max(server, "web") == (2, 20)
    assert gauge(metrics.HELD_SCHEDULES) == 1

    server.create(calendars(closures="2026-12-24"), manager="git")
    h.sync()
    h.tick(at(9, 1))
    assert min_max(server, "web") == (10, 40)


def test_a_calendar_the_configmap_does_not_have_rejects_the_object(server, harness):
    server.create(calendars(other="2026-12-24"), manager="git")
    server.create(hpa("web", CLOSABLE, 2, 20), manager="git")
    h = harness()
    h.tick(at(9, 0))
    assert min_max(server, "web") == (2, 20)
    assert reasons(server, "web") == ["InvalidSchedule"]
    assert gauge(metrics.HELD_SCHEDULES) == 0

    # Adding the calendar accepts it, as an annotation fixed would be.
    edit_calendars(server, other="2026-12-24", closures="2026-12-25")
    h.sync()
    h.tick(at(9, 1))
    assert min_max(server, "web") == (10, 40)


def test_public_holidays_apply_with_no_configmap(server, harness):
    # 2026-11-03 is Culture Day in Japan; 2026-11-02 is not a holiday.
    actions = json.dumps(
        [
            {"schedule": "0 9 * * *", "minReplicas": 10, "skipDays": "holidays:JP"},
            {"schedule": "0 18 * * *", "minReplicas": 2},
        ]
    )
    server.create(hpa("web", actions, 2, 20), manager="git")
    h = harness()
    h.tick(at(9, 0))
    assert min_max(server, "web") == (10, 20)
    h.tick(at(18, 0))
    h.tick(at(9, 0, day=3))
    assert min_max(server, "web") == (2, 20)
    labels = {"namespace": "shop", "name": "web", "field": "minReplicas"}
    assert (
        sample("scalers_schedule_next_fire_timestamp_seconds", labels) == at(18, day=3).timestamp()
    )


def test_the_next_fire_metrics_go_with_the_schedule(server, harness):
    server.create(hpa("web", PLAIN, 2, 20), manager="git")
    h = harness()
    h.tick(at(8, 0))
    labels = {"namespace": "shop", "name": "web", "field": "maxReplicas"}
    assert sample("scalers_schedule_next_fire_timestamp_seconds", labels) == at(9).timestamp()
    assert sample("scalers_schedule_next_replicas", labels) == 30
    gone = {"metadata": {"annotations": {"zalando.org/schedule-actions": None}}}
    server.patch(*HPA, "shop", "web", gone, manager="git")
    h.sync()
    assert sample("scalers_schedule_next_fire_timestamp_seconds", labels) is None
    assert sample("scalers_schedule_next_replicas", labels) is None


def test_a_missing_calendars_configmap_is_reported_once_while_an_object_needs_it(
    server, harness, caplog
):
    caplog.set_level(logging.INFO)
    before = gauge(metrics.REJECTED_CALENDARS, "MissingCalendars") or 0
    server.create(hpa("web", CLOSABLE, 2, 20), manager="git")
    server.create(hpa("api", CLOSABLE, 2, 20), manager="git")
    h = harness()
    for minute in range(3):
        h.loop.catch_up()
        h.tick(at(9, minute))
    said = [r for r in caplog.records if "kube-scalers-calendars does not exist" in r.getMessage()]
    assert [r.levelname for r in said if r.levelname == "ERROR"] == ["ERROR"]
    assert (gauge(metrics.REJECTED_CALENDARS, "MissingCalendars") or 0) - before == 1
    # Each held object is said once too, at INFO, naming the ConfigMap.
    held = [r for r in said if r.levelname == "INFO"]
    assert sorted(r.__dict__["object_name"] for r in held) == ["api", "web"]
    assert gauge(metrics.HELD_SCHEDULES) == 2
    server.delete(*HPA, "shop", "api")
    h.sync()
    assert gauge(metrics.HELD_SCHEDULES) == 1


def test_a_new_leader_reports_the_bad_calendars_it_saw_as_a_standby(server, harness):
    from tests.support import Switch

    server.create(calendars(closures="2026-11-31"), manager="git")
    server.create(hpa("web", CLOSABLE, 2, 20), manager="git")
    standby = Switch(leading=False)
    h = harness(leadership=standby)
    h.tick(at(8, 0))
    assert configmap_events(server) == []  # a standby says nothing
    standby.lead()
    h.loop.catch_up()
    h.tick(at(8, 1))
    assert [e["reason"] for e in configmap_events(server)] == ["InvalidCalendar"]


def test_an_unrelated_edit_of_the_calendars_re_evaluates_nothing(server, harness, caplog):
    server.create(calendars(other="2026-12-24"), manager="git")
    server.create(hpa("web", CLOSABLE, 2, 20), manager="git")  # names 'closures': rejected
    h = harness()
    h.tick(at(9, 0))
    assert reasons(server, "web") == ["InvalidSchedule"]
    edit_calendars(server, other="2026-12-25", more="2027-01-01")  # still no 'closures'
    h.sync()
    h.tick(at(9, 1))
    assert reasons(server, "web") == ["InvalidSchedule"]
