"""The README's and DESIGN's promises about the shell, each checked where it would break: at an
instant where keeping the promise and breaking it give different results, through the real
client against the fake API server, Events read back from the server."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from scalers import metrics
from scalers.controller import Controller, Election, Settings
from scalers.fakeapi import FakeApiServer
from scalers.kube import writer
from scalers.proportional.targets import Target
from scalers.resources import HPA as HPA_RESOURCE
from tests.builders import configmap, hpa, node
from tests.support import (
    BUSINESS_HOURS,
    HPA,
    SCHEDULE,
    Switch,
    at,
    events_for,
    min_max,
    patches,
    reasons,
    wait_for,
)

NS = "kube-system"
SUSPEND = "kube-scalers.io/suspend"


def scheduled(name: str) -> set[str]:
    """The fields with a `scalers_scheduled_replicas` series for shop/<name>."""
    return {
        s.labels["field"]
        for s in metrics.SCHEDULED.collect()[0].samples
        if s.labels["namespace"] == "shop" and s.labels["name"] == name
    }


def losing_before_the_write(monkeypatch: pytest.MonkeyPatch, lose: Callable[[], None]) -> None:
    """Leadership is lost after the loop decided a write and before it is sent."""
    real = writer.write_spec_fields

    def write(*args: Any, **kwargs: Any) -> Any:
        lose()
        return real(*args, **kwargs)

    monkeypatch.setattr(writer, "write_spec_fields", write)


def cluster(server: FakeApiServer, params: dict[str, Any], floor: int = 3) -> None:
    """Two 4-core nodes, the coredns HPA and the ConfigMap's one mode."""
    for i in range(2):
        server.create(node(f"node-{i}", unschedulable=None, labels=None))
    server.create(hpa("coredns", None, floor, 20, namespace=NS), manager="git")
    [(mode, value)] = params.items()
    server.create(configmap({mode: json.dumps(value)}))


# -- suspend ------------------------------------------------------------------------------------


def test_suspend_pauses_the_object_where_the_schedule_would_change_it(server, harness):
    server.create(hpa("paused", BUSINESS_HOURS, 2, 20, annotations={SUSPEND: "true"}), "git")
    server.create(hpa("running", BUSINESS_HOURS, 2, 20), manager="git")
    h = harness()
    h.tick(at(12, 0))  # the 09:00 fire's 10/40 is what is scheduled now
    assert min_max(server, "running") == (10, 40)
    assert min_max(server, "paused") == (2, 20)

    # Suspending a running object stops its next fire; lifting it catches up at once.
    body = {"metadata": {"annotations": {SUSPEND: "true"}}}
    server.patch(*HPA, "shop", "running", body, manager="git")
    h.tick(at(18, 0))
    assert min_max(server, "running") == (10, 40)
    body = {"metadata": {"annotations": {SUSPEND: None}}}
    server.patch(*HPA, "shop", "paused", body, manager="git")
    h.tick(at(18, 1))
    assert min_max(server, "paused") == (2, 20)  # 18:00 values: the same as before, by design
    server.patch(*HPA, "shop", "running", body, manager="git")
    h.tick(at(18, 2))
    assert min_max(server, "running") == (2, 20)


# -- the proportional loop's HPA floor ----------------------------------------------------------


@pytest.mark.parametrize(
    "ladder",
    [
        {"coresToReplicas": [], "nodesToReplicas": []},  # no step at all: CPA's 0
        {"nodesToReplicas": [[0, 0], [10, 3]]},  # a step that gives 0 for two nodes
    ],
)
def test_an_hpa_floor_is_never_set_below_one(server, proportional, ladder):
    cluster(server, {"ladder": ladder}, floor=3)
    p = proportional(leadership=Switch(), targets=(Target(HPA_RESOURCE, "coredns"),))

    [outcome] = p.evaluate()

    assert (outcome.action, outcome.values) == ("write", {"minReplicas": (3, 1)})
    assert min_max(server, "coredns", NS) == (1, 20)


# -- OverrideObserved only from the leader ------------------------------------------------------


def test_only_the_leader_reports_an_override_it_observes(server, harness, clock):
    server.create(hpa("web", BUSINESS_HOURS, 2, 20), manager="git")
    leader = harness()
    leader.tick(at(9, 0))  # 10/40, both fields ours
    standby_leadership = Switch(leading=False)
    standby = harness(leadership=standby_leadership)
    standby.sync()
    leader.close()  # only the standby watches from here on

    clock.set(at(9, 30))
    server.patch(*HPA, "shop", "web", {"spec": {"minReplicas": 15}}, manager="kubectl-edit")
    standby.sync()
    standby.events.flush()
    assert "OverrideObserved" not in reasons(server, "web")

    standby_leadership.lead()
    server.patch(*HPA, "shop", "web", {"spec": {"maxReplicas": 50}}, manager="kubectl-edit")
    standby.sync()
    standby.events.flush()
    [event] = [e for e in events_for(server, "web") if e["reason"] == "OverrideObserved"]
    assert "maxReplicas changed 40 -> 50" in event["message"]


# -- catch-up on taking over the Lease ----------------------------------------------------------


def test_a_fire_lost_in_a_hand_over_is_applied_by_the_next_leader(server, clock, monkeypatch):
    """The controller as `scalers run` builds it, with its election: the 09:00 fire is decided
    but fenced (the leader was paused past its renew deadline), so no one applied it; when the
    Lease is taken again, the new term catches up."""
    server.create(hpa("web", BUSINESS_HOURS, 2, 20), manager="git")
    settings = Settings(timezone=ZoneInfo("UTC"), election=Election(identity="a"))
    controller = Controller(server.api_client(), clock, settings)
    assert controller.elector is not None and controller.schedule is not None
    elector = controller.elector
    paused = threading.Event()

    def pause() -> None:
        if not paused.is_set():
            paused.set()
            clock.advance(settings.election.renew_deadline + 1)  # type: ignore[union-attr]

    losing_before_the_write(monkeypatch, pause)
    stop = threading.Event()
    thread = threading.Thread(target=controller.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_for(lambda: elector.term() == 1 and "schedule" in controller.runner.heartbeats)
        server.reset_requests()
        clock.set(at(9, 0))
        wait_for(paused.is_set)
        wait_for(lambda: elector.term() == 2)  # the same process, a new term
        # Past the loop's BUSY_RETRY, in case the catch-up came while the fenced write was
        # still being reported; without a catch-up nothing is due before 18:00.
        clock.advance(2)

        wait_for(lambda: min_max(server, "web") == (10, 40))
        writes = [r for r in patches(server) if "horizontalpodautoscalers" in r.path]
        assert len(writes) == 1  # the fenced fire sent nothing; the catch-up did
    finally:
        stop.set()
        thread.join(timeout=15)


# -- per-HPA gauges -----------------------------------------------------------------------------


def test_scheduled_gauges_go_with_the_annotation_and_with_the_hpa(server, harness):
    server.create(hpa("unannotated", BUSINESS_HOURS, 2, 20), manager="git")
    server.create(hpa("deleted", BUSINESS_HOURS, 2, 20), manager="git")
    h = harness()
    h.tick(at(12, 0))
    assert scheduled("unannotated") == scheduled("deleted") == {"minReplicas", "maxReplicas"}

    body = {"metadata": {"annotations": {SCHEDULE: None}}}
    server.patch(*HPA, "shop", "unannotated", body, manager="git")
    server.delete(*HPA, "shop", "deleted")
    h.tick(at(12, 1))

    assert scheduled("unannotated") == set()
    assert scheduled("deleted") == set()


# -- the unknown-key warning --------------------------------------------------------------------


def test_an_unknown_key_is_warned_about_and_the_schedule_still_applied(server, harness):
    actions = [{"schedule": "0 9 * * 1-5", "minReplicas": 10, "minReplica": 11}]
    server.create(hpa("web", json.dumps(actions), 2, 20), manager="git")
    h = harness()

    h.tick(at(12, 0))

    [warning] = [e for e in events_for(server, "web") if e["reason"] == "ScheduleWarning"]
    assert warning["type"] == "Warning" and "minReplica" in warning["message"]
    assert min_max(server, "web") == (10, 20)


# -- the leadership fence in both loops ---------------------------------------------------------


def test_the_schedule_loop_does_not_write_once_leadership_is_lost(server, harness, monkeypatch):
    server.create(hpa("web", BUSINESS_HOURS, 2, 20), manager="git")
    h = harness()
    h.tick(at(8, 0))
    losing_before_the_write(monkeypatch, h.leadership.lose)
    server.reset_requests()

    outcomes = h.tick(at(9, 0))

    assert [o.action for o in outcomes] == ["not-leader"]
    assert patches(server) == []
    assert min_max(server, "web") == (2, 20)


def test_the_proportional_loop_does_not_write_once_leadership_is_lost(
    server, proportional, monkeypatch
):
    cluster(server, {"linear": {"nodesPerReplica": 1}}, floor=1)  # two nodes: floor 2
    p = proportional(leadership=Switch(), targets=(Target(HPA_RESOURCE, "coredns"),))
    losing_before_the_write(monkeypatch, p.leadership.lose)
    server.reset_requests()

    outcomes = p.evaluate()

    assert [o.action for o in outcomes] == ["not-leader"]
    assert patches(server) == []
    assert min_max(server, "coredns", NS) == (1, 20)
