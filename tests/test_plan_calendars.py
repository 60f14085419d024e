"""Calendars in `scalers plan` and `scalers validate` on files: the same rule as the loop's (a
skipped fire does not happen), the team calendars from their ConfigMap among the files, and
every calendar problem said where it is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scalers import names
from scalers.cli import main
from tests.builders import configmap

ACTIONS = "zalando.org/schedule-actions"
TOKYO_DAY = [
    {"schedule": "0 8 * * 1-5", "tz": "Asia/Tokyo", "minReplicas": 10, "skipDays": ["holidays:JP", "closures"]},
    {"schedule": "0 20 * * *", "tz": "Asia/Tokyo", "minReplicas": 2},
]  # fmt: skip


def hpa(actions: Any, name: str = "web") -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "annotations": {ACTIONS: json.dumps(actions)},
        },
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": 2,
            "maxReplicas": 20,
        },
    }


def calendars(
    name: str = names.CALENDARS, namespace: str = names.NAMESPACE, **data: str
) -> dict[str, Any]:
    return configmap(data, name, namespace)


def write(path: Path, *objects: dict[str, Any]) -> str:
    path.write_text("---\n".join(json.dumps(obj) + "\n" for obj in objects))
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


def test_plan_steps_over_a_public_holiday_and_a_team_closure(capsys, tmp_path):
    files = write(
        tmp_path / "a.yaml", hpa(TOKYO_DAY), calendars(closures="2027-01-12  # the day after")
    )
    # Sunday 2027-01-10, 21:00 in Tokyo: Monday is Coming of Age Day, Tuesday a closure.
    code, out = run(capsys, "plan", files, "--at", "2027-01-10T12:00:00Z", "-o", "json")
    assert code == 0
    fires = json.loads(out)["schedules"][0]["next"]
    assert [(f["at"], f["action"]) for f in fires] == [
        ("2027-01-11T20:00:00+09:00", 2),
        ("2027-01-12T20:00:00+09:00", 2),
        ("2027-01-13T08:00:00+09:00", 1),
    ]
    assert fires[2]["calendars"] == "skips holidays:JP, closures"
    # On the holiday's morning the value of Sunday's evening stands.
    code, out = run(capsys, "plan", files, "--at", "2027-01-11T01:00:00Z", "-o", "json")
    assert json.loads(out)["schedules"][0]["scheduled"] == {"minReplicas": 2}


def test_the_calendars_configmap_is_found_where_calendars_says(capsys, tmp_path):
    files = write(
        tmp_path / "a.yaml",
        hpa(TOKYO_DAY),
        calendars("team-days", "platform", closures="2027-01-12"),
    )
    code, out = run(
        capsys, "plan", files, "--at", "2027-01-10T12:00:00Z", "--calendars", "platform/team-days"
    )
    assert code == 0 and "Wed 2027-01-13 08:00 JST" in out
    # Elsewhere, the team calendar is not among the files: held, and said so, not guessed.
    code, out = run(capsys, "plan", files, "--at", "2027-01-10T12:00:00Z")
    assert code == 0 and "held (below)" in out
    assert "kube-system/kube-scalers-calendars is not among the files" in " ".join(out.split())


def test_validate_checks_the_team_calendars_and_the_names_that_use_them(capsys, tmp_path):
    files = write(
        tmp_path / "a.yaml",
        hpa(TOKYO_DAY),
        hpa([{"schedule": "0 9 * * *", "minReplicas": 3, "onlyDays": "campaign"}], "api"),
        calendars(closures="2027-01-12\n2027-02-30"),
    )
    code, out = run(capsys, "validate", files)
    assert code == 1
    lines = out.splitlines()
    assert any(
        "ConfigMap kube-system/kube-scalers-calendars: InvalidCalendar: calendar 'closures' line 2"
        in line
        for line in lines
    )
    assert any(
        "HorizontalPodAutoscaler shop/api: InvalidCalendar: action 1: no calendar 'campaign'"
        in line
        for line in lines
    )
    # The object that needs the bad calendar is held: a warning of its own.
    assert any("warning:" in line and "shop/web: CalendarUnavailable" in line for line in lines)
    assert lines[-1] == "1 file, 3 objects checked: 2 errors, 1 warning"


def test_validate_rejects_an_unknown_country_and_accepts_a_subdivision(capsys, tmp_path):
    bad = hpa(
        [{"schedule": "0 9 * * *", "minReplicas": 3, "skipDays": ["holidays:DE-BY", "holidays:JA"]}]
    )
    code, out = run(capsys, "validate", write(tmp_path / "a.yaml", bad))
    assert code == 1
    assert "InvalidCalendar: action 1: skipDays: unknown country 'JA' in 'holidays:JA'" in out
    assert out.count("InvalidCalendar") == 1  # DE-BY, Bavaria, is known


def test_without_the_configmap_team_calendars_are_a_warning_not_an_error(capsys, tmp_path):
    code, out = run(capsys, "validate", write(tmp_path / "a.yaml", hpa(TOKYO_DAY)))
    assert code == 0
    assert "is not among the files" in out and out.splitlines()[-1].endswith("0 errors, 1 warning")


def test_plan_of_the_live_cluster_reads_the_team_calendars(capsys, tmp_path):
    from scalers.fakeapi import FakeApiServer

    with FakeApiServer() as server:
        server.create(hpa(TOKYO_DAY))
        kubeconfig = str(server.write_kubeconfig(tmp_path / "kubeconfig"))
        args = ("plan", "--kubeconfig", kubeconfig, "--at", "2027-01-10T12:00:00Z", "-o", "json")
        code, out = run(capsys, *args)
        # No ConfigMap in the cluster: the object waits for it, as the loop would.
        assert code == 0
        [web] = json.loads(out)["schedules"]
        assert "kube-system/kube-scalers-calendars does not exist" in web["error"]

        server.create(calendars(closures="2027-01-12"))
        code, out = run(capsys, *args)
    [web] = json.loads(out)["schedules"]
    assert [f["at"] for f in web["next"]][-1] == "2027-01-13T08:00:00+09:00"


def test_the_readme_s_plan_of_the_examples_is_what_plan_prints(capsys):
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    shown = readme.split("```\nat Mon 2026-11-23 08:30:00 UTC\n", 1)[1].split("```", 1)[0]
    args = ("plan", str(root / "examples"), "--at", "2026-11-23T08:30:00Z")
    code, out = run(capsys, *args, "--nodes", "48", "--cores", "192")
    assert code == 0
    assert (
        out.replace(str(root / "examples"), "examples")
        == f"at Mon 2026-11-23 08:30:00 UTC\n{shown}"
    )


def test_validate_reads_the_calendars_named_by_calendars(capsys, tmp_path):
    files = write(
        tmp_path / "a.yaml",
        hpa(TOKYO_DAY),
        calendars("team-days", "platform", closures="2027-13-01"),
    )
    code, out = run(capsys, "validate", files, "--calendars", "platform/team-days")
    assert code == 1
    assert "ConfigMap platform/team-days: InvalidCalendar: calendar 'closures' line 1" in out
    assert out.splitlines()[-1] == "1 file, 2 objects checked: 1 error, 1 warning"
