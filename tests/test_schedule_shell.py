"""The schedule loop's shell under stress: parsing off the pass, writes that do not hold it,
overrides judged per field from what the watch saw, rejections counted once, bugs that are the
loop's own, and nothing kept for objects that are gone."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from scalers import metrics
from scalers.clock import ManualClock
from scalers.health import Health
from scalers.kube import writer
from scalers.kube.informer import Watches
from scalers.runner import CRASHES, Runner
from scalers.schedule import track
from scalers.schedule.agenda import Agenda
from tests.builders import hpa
from tests.support import (
    BUSINESS_HOURS,
    HPA,
    Switch,
    at,
    min_max,
    patches,
    reasons,
    wait_for,
)


def rejected(reason: str) -> float:
    return metrics.REJECTED_ANNOTATIONS.labels(reason)._value.get()


# -- parsing happens when an object changes, never in a pass --------------------------------


def test_annotations_are_parsed_on_change_not_in_the_pass(server, harness, monkeypatch):
    parsed: list[str] = []
    real = track.parse_schedule
    monkeypatch.setattr(
        track, "parse_schedule", lambda text, *a: parsed.append(text) or real(text, *a)
    )
    server.create(hpa("web", BUSINESS_HOURS, 2, 20), manager="git")
    h = harness()
    h.sync()
    assert len(parsed) == 1  # on the watch, before any pass

    h.tick(at(8, 0))
    h.loop.catch_up()  # a new leader's catch-up re-decides, but the text is as parsed
    h.tick(at(9, 0))
    server.patch(*HPA, "shop", "web", {"metadata": {"labels": {"team": "a"}}}, manager="git")
    h.tick(at(9, 1))

    assert len(parsed) == 1
    assert min_max(server, "web") == (10, 40)


def test_a_rejection_is_counted_once_per_change_not_at_each_catch_up(server, harness):
    bad = '[{"schedule": "0 9 * * 1-5", "minReplicas": 0}]'
    before = rejected("InvalidAction")
    server.create(hpa("broken", bad), manager="git")
    h = harness()
    h.tick(at(8, 0))
    for minute in range(1, 4):
        h.loop.catch_up()  # as on every take-over of the Lease
        labels = {
            "metadata": {"labels": {"edit": str(minute)}}
        }  # the object changes, not its input
        server.patch(*HPA, "shop", "broken", labels, manager="git")
        h.tick(at(8, minute))

    assert rejected("InvalidAction") - before == 1
    assert reasons(server, "broken").count("InvalidSchedule") == 1

    fixed = '[{"schedule": "0 9 * * 1-5", "minReplicas": 3}]'
    server.patch(*HPA, "shop", "broken", {"metadata": {"annotations": {h_key(): fixed}}}, "git")
    h.tick(at(8, 5))
    server.patch(*HPA, "shop", "broken", {"metadata": {"annotations": {h_key(): bad}}}, "git")
    h.tick(at(8, 6))
    assert rejected("InvalidAction") - before == 2  # broken again: news again


def test_a_standby_says_no_rejection_and_a_new_leader_says_it_once(server, harness):
    before = rejected("InvalidAction")
    standby = Switch(leading=False)
    server.create(hpa("broken", '[{"schedule": "0 9 * * 1-5"}]'), manager="git")
    h = harness(leadership=standby)
    h.sync()
    h.tick(at(8, 0))
    assert rejected("InvalidAction") == before  # a standby says nothing
    assert "InvalidSchedule" not in reasons(server, "broken")

    # Taking the Lease, it says what it saw and no leader of this process said; a second
    # hand-over repeats nothing.
    for _ in range(2):
        standby.lead()
        h.loop.catch_up()
        h.tick(at(8, 1))
        standby.lose()
    assert rejected("InvalidAction") - before == 1
    assert reasons(server, "broken") == ["InvalidSchedule"]


def h_key() -> str:
    return "zalando.org/schedule-actions"


# -- slow answers delay only their own object ---------------------------------------------


def test_a_long_retry_after_delays_only_its_own_object(server, harness):
    server.create(hpa("slow", BUSINESS_HOURS, 2, 20), manager="git")
    server.create(hpa("web", BUSINESS_HOURS, 2, 20), manager="git")
    h = harness()
    h.tick(at(8, 0))
    server.faults.inject(status=429, count=100, path_contains="/slow", retry_after=45)

    outcomes = {o.name: o.action for o in h.tick(at(9, 0))}

    assert outcomes == {"slow": "failed", "web": "write"}
    assert min_max(server, "web") == (10, 40)
    server.faults.clear()
    h.tick(at(9, 0, 30))  # before the server's 45 s: not tried again yet
    assert min_max(server, "slow") == (2, 20)
    h.tick(at(9, 2))  # past it, with the client's jitter
    assert min_max(server, "slow") == (10, 40)


def test_a_write_is_never_retried_past_the_next_fire_of_its_field(server, harness):
    every_minute = json.dumps([{"schedule": "* * * * *", "minReplicas": 3}])
    server.create(hpa("web", every_minute, 2, 20), manager="git")
    h = harness()
    server.faults.inject(status=429, count=100, path_contains="/web", retry_after=300)

    [failed] = h.tick(at(9, 0))
    assert failed.action == "failed" and "not retried: the next fire comes first" in failed.detail
    server.faults.clear()
    server.patch(*HPA, "shop", "web", {"spec": {"minReplicas": 4}}, manager="kubectl")
    h.sync()
    server.reset_requests()
    h.tick(at(9, 0, 30))
    assert patches(server) == []  # no retry in between: it would land after the next fire
    h.tick(at(9, 1))
    assert min_max(server, "web")[0] == 3  # the next fire applies the schedule


def test_a_pass_does_not_wait_for_its_writes(server, harness, monkeypatch):
    server.create(hpa("web", BUSINESS_HOURS, 2, 20), manager="git")
    h = harness()
    h.tick(at(8, 0))
    release = threading.Event()
    real = writer.write_spec_fields

    def stuck(*args: Any, **kwargs: Any) -> Any:
        release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(writer, "write_spec_fields", stuck)
    h.clock.set(at(9, 0))
    h.loop.evaluate(h.clock.now(), 1)  # returns while the write hangs
    assert min_max(server, "web") == (2, 20)
    h.loop.catch_up()  # as a take-over would, while the write hangs
    h.loop.evaluate(at(9, 0, 1), 1)  # the same object is not written twice at once
    release.set()
    wait_for(lambda: min_max(server, "web") == (10, 40))
    wait_for(lambda: h.loop.footprint()["writing"] == 0)
    h.tick(at(9, 0, 2))  # the catch-up, once the write is done: nothing more to write
    assert len(patches(server)) == 1


# -- overrides are judged per field, from what the watch saw ------------------------------


def test_a_label_edit_after_a_missed_fire_is_not_taken_for_an_override(server, harness, clock):
    server.create(hpa("web", BUSINESS_HOURS, 2, 20), manager="git")
    leader = harness()
    leader.tick(at(9, 0))  # 10/40, ours
    standby_leadership = Switch(leading=False)
    standby = harness(leadership=standby_leadership)
    standby.sync()
    leader.close()  # the leader dies before the 18:00 fire
    # kubectl changed min at 17:00 (before the fire: the fire must win) and, after the missed
    # fire, edits only a label: its managedFields entry now says 18:05.
    clock.set(at(17, 0))
    server.patch(*HPA, "shop", "web", {"spec": {"minReplicas": 12}}, manager="kubectl-edit")
    clock.set(at(18, 5))
    server.patch(*HPA, "shop", "web", {"metadata": {"labels": {"x": "y"}}}, "kubectl-edit")
    standby.sync()

    standby_leadership.lead()
    standby.loop.catch_up()
    standby.tick(at(18, 6))

    assert min_max(server, "web") == (2, 20)


def test_an_override_of_every_field_we_owned_survives_a_take_over(server, harness, clock):
    server.create(hpa("web", BUSINESS_HOURS, 2, 20), manager="git")
    leader = harness()
    leader.tick(at(9, 0))
    standby_leadership = Switch(leading=False)
    standby = harness(leadership=standby_leadership)
    standby.sync()
    # Someone takes both fields over after the fire: our manager's entry is gone entirely.
    clock.set(at(9, 30))
    body = {"spec": {"minReplicas": 15, "maxReplicas": 50}}
    server.patch(*HPA, "shop", "web", body, manager="kubectl-edit")
    standby.sync()
    leader.close()

    standby_leadership.lead()
    standby.loop.catch_up()
    standby.tick(at(10, 0))

    assert min_max(server, "web") == (15, 50)
    assert "OverrideKept" in reasons(server, "web")


# -- bugs are the loop's, and a loop that keeps failing says so ---------------------------


def test_a_bug_on_one_object_is_the_loops_error_not_the_users(server, harness, monkeypatch):
    server.create(hpa("cursed", BUSINESS_HOURS, 2, 20), manager="git")
    server.create(hpa("web", BUSINESS_HOURS, 2, 20), manager="git")
    h = harness()
    h.tick(at(8, 0))
    real = writer.write_spec_fields

    def buggy(kube: Any, resource: Any, namespace: str, name: str, *a: Any, **k: Any) -> Any:
        if name == "cursed":
            raise KeyError("a bug")
        return real(kube, resource, namespace, name, *a, **k)

    monkeypatch.setattr(writer, "write_spec_fields", buggy)
    errors = metrics.LOOP_ERRORS.labels("schedule")._value.get()
    h.tick(at(9, 0))

    assert min_max(server, "web") == (10, 40)
    assert "ScheduleWriteFailed" not in reasons(server, "cursed")
    assert metrics.LOOP_ERRORS.labels("schedule")._value.get() == errors + 1
    health = Health(Runner([h.loop], h.clock))
    assert not any("cursed" in p for p in health.problems())
    for second in (10, 20):
        h.tick(at(9, 0, second))
    assert any("shop/cursed" in p for p in health.problems())

    monkeypatch.setattr(writer, "write_spec_fields", real)
    h.tick(at(9, 0, 30))
    assert min_max(server, "cursed") == (10, 40)
    assert health.problems() == []


class Crashing:
    """A loop whose watches break as soon as they start, until they have broken CRASHES times."""

    name, period, debounce = "crashing", 60.0, 0.0

    def __init__(self) -> None:
        self.runs = 0
        self.wake = threading.Event()

    def watch(self) -> Any:
        self.runs += 1
        if self.runs > CRASHES:
            return Watches([])
        raise RuntimeError("boom")

    def resume(self) -> None: ...

    def evaluate(self, now: datetime, term: int) -> None: ...

    def standby(self) -> None: ...

    def seconds_to_next(self) -> float:
        return self.period

    def catch_up(self) -> None: ...

    def synced(self) -> bool:
        return True

    def problems(self) -> list[str]:
        return []


def test_a_loop_that_keeps_crashing_fails_healthz_naming_it():
    loop = Crashing()
    runner = Runner([loop], ManualClock(datetime(2026, 11, 2, tzinfo=UTC)), restart_delay=0)
    health = Health(runner)
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,))
    thread.start()
    wait_for(lambda: loop.runs > CRASHES)
    problems = health.problems()
    stop.set()
    thread.join(5)
    assert problems == [f"crashing loop crashed {CRASHES} times in a row: RuntimeError('boom')"]


def test_a_restarted_loop_watches_with_new_informers(server, harness):
    server.create(hpa("web", BUSINESS_HOURS, 2, 20), manager="git")
    server.create(hpa("gone", BUSINESS_HOURS, 2, 20), manager="git")
    h = harness()
    h.sync()
    h.close()
    server.delete(*HPA, "shop", "gone")  # while nothing watches: the new LIST cannot say so
    first = h.loop.watches
    stop = threading.Event()
    runner = Runner([h.loop], h.clock, h.leadership)
    thread = threading.Thread(target=runner.run_loop, args=(h.loop, stop))
    thread.start()
    wait_for(lambda: h.loop.watches is not first and h.loop.synced())
    wait_for(lambda: min_max(server, "web") == (2, 20) and "schedule" in runner.heartbeats)
    assert h.loop.footprint()["tracked"] == 1
    stop.set()
    thread.join(10)
    assert not thread.is_alive()


# -- nothing is kept for objects that are gone --------------------------------------------


def test_nothing_is_kept_for_deleted_objects(server, harness):
    h = harness()
    h.tick(at(8, 0))
    for i in range(40):  # distinct crons: one timeline each, fires far off
        actions = json.dumps([{"schedule": f"{i} 3 1 1 *", "minReplicas": 3}])
        server.create(hpa(f"hpa-{i}", actions), manager="git")
    h.tick(at(8, 1))
    assert h.loop.footprint()["agenda"] == 40
    for i in range(40):
        server.delete(*HPA, "shop", f"hpa-{i}")
    h.tick(at(8, 2))

    assert h.loop.footprint() == {
        "tracked": 0,
        "agenda": 0,
        "written": 0,
        "writing": 0,
        "failing": 0,
    }
    series = {s.labels["name"] for s in metrics.SCHEDULED.collect()[0].samples}
    assert not any(name.startswith("hpa-") for name in series)


def test_the_agenda_keeps_one_entry_per_object_and_drops_removed_ones():
    agenda = Agenda()
    t0 = datetime(2026, 11, 2, tzinfo=UTC)
    for i in range(1000):
        agenda.add(t0 + timedelta(days=30), f"object-{i}", 0, "fire")
        agenda.add(t0 + timedelta(minutes=1), f"object-{i}", 0, "catch-up")  # earlier wins
        agenda.remove(f"object-{i}")
    agenda.add(t0 + timedelta(days=1), "kept", 0, "fire")
    agenda.add(t0 + timedelta(days=2), "kept", 0, "fire")  # later: the earlier stays

    assert len(agenda) == 1 and len(agenda._heap) < 200
    assert agenda.next_at() == t0 + timedelta(days=1)
    assert [e.key for e in agenda.pop_due(t0 + timedelta(days=40))] == ["kept"]
    assert agenda.pop_due(t0 + timedelta(days=40)) == []


def test_writes_dropped_by_a_lost_lease_say_so_in_one_line(server, harness, monkeypatch, caplog):
    for i in range(5):
        server.create(hpa(f"web-{i}", BUSINESS_HOURS, 2, 20), manager="git")
    h = harness()
    h.tick(at(8, 0))
    real = writer.write_spec_fields

    def deposed(*args: Any, **kwargs: Any) -> Any:
        h.leadership.lose()  # the lease goes while the pass writes
        return real(*args, **kwargs)

    monkeypatch.setattr(writer, "write_spec_fields", deposed)
    server.reset_requests()
    outcomes = h.tick(at(9, 0))

    assert [o.action for o in outcomes] == ["not-leader"] * 5
    assert patches(server) == []
    dropped = [r for r in caplog.records if r.getMessage().startswith("writes not sent")]
    assert len(dropped) == 1 and dropped[0].levelname == "WARNING"
