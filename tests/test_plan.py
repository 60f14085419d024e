"""`scalers validate` and `scalers plan`: manifests on disk, the live cluster, parameters alone."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from scalers.fakeapi import FakeApiServer
from scalers.manifests import Manifest, load, schedule_of, validate
from scalers.plan import make_plan, next_fires, proportional_plan, render_table
from scalers.proportional.params import ClusterStatus
from scalers.schedule.annotation import Schedule
from tests.builders import hpa, node

SCALERS = [sys.executable, "-m", "scalers.cli"]
EXAMPLES = Path(__file__).parents[1] / "examples"
# Monday 23 November 2026, 09:30 in Berlin.
AT = "2026-11-23T08:30:00Z"
UTC_ZONE = ZoneInfo("UTC")


def scalers(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SCALERS, *args], capture_output=True, text=True, timeout=60)


def annotated(name: str, actions: str, kind: str = "HPA", **meta: str) -> str:
    """A manifest of an HPA (min 2, max 40) or a Deployment carrying `actions`."""
    extra = "".join(f"\n    {key}: {value}" for key, value in meta.items())
    head = (
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler"
        if kind == "HPA"
        else "apiVersion: apps/v1\nkind: Deployment"
    )
    spec = "minReplicas: 2\n  maxReplicas: 40" if kind == "HPA" else "replicas: 1"
    return (
        f"{head}\nmetadata:\n  name: {name}\n  namespace: shop\n  annotations:{extra}\n"
        f"    zalando.org/schedule-actions: '{actions}'\nspec:\n  {spec}\n"
    )


def configmap(name: str, data: dict[str, str]) -> str:
    return yaml_doc(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "kube-system"},
            "data": data,
        }
    )


def yaml_doc(obj: dict[str, object]) -> str:
    return json.dumps(obj) + "\n"  # JSON is YAML


def test_validate_passes_the_examples_and_ignores_what_is_not_ours() -> None:
    result = scalers("validate", str(EXAMPLES))
    assert result.returncode == 0, result.stdout + result.stderr
    *problems, summary = result.stdout.splitlines()
    assert problems == []
    assert summary.endswith("5 objects checked: 0 errors, 0 warnings")


def test_validate_names_file_object_and_reason_of_every_problem(tmp_path: Path) -> None:
    hpas = tmp_path / "hpas.yaml"
    hpas.write_text(
        "---\n".join(
            [
                annotated("bad-json", '[{"schedule": "0 9 * * *",}]'),
                annotated("six-fields", '[{"schedule": "0 0 9 * * 1-5", "minReplicas": 3}]'),
                annotated(
                    "mars",
                    '[{"schedule": "0 9 * * *", "minReplicas": 3}]',
                    **{"kube-scalers.io/timezone": "Mars/Olympus_Mons"},
                ),
                annotated("zero", '[{"schedule": "0 9 * * *", "minReplicas": 0}]'),
                annotated("replicas", '[{"schedule": "0 9 * * *", "replicas": 3}]'),
                annotated("above-git", '[{"schedule": "0 9 * * *", "minReplicas": 50}]'),
                annotated("typo", '[{"schedule": "0 9 * * *", "minReplicas": 3, "tx": "UTC"}]'),
                annotated("fine", '[{"schedule": "0 9 * * *", "replicas": 0}]', kind="Deployment"),
            ]
        )
    )
    params = tmp_path / "nested" / "params.yml"
    params.parent.mkdir()
    params.write_text(
        "---\n".join(
            [
                configmap("dns-autoscaler", {"linear": '{"nodesPerReplica": 1}', "ladder": "{}"}),
                configmap("other", {"linear": '{"nodesPerReplica": 16, "min": 5, "max": 2}'}),
            ]
        )
    )
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: HorizontalPodAutoscaler\nmetadata: {name: web\n")

    result = scalers("validate", str(tmp_path))

    assert result.returncode == 1
    *lines, summary = result.stdout.splitlines()
    hpa_file, cm_file = (
        f"{hpas}: HorizontalPodAutoscaler shop/",
        f"{params}: ConfigMap kube-system/",
    )
    expected = [
        (f"{broken}: InvalidYAML: ", "line 3, column 1: expected ',' or '}'"),
        (f"{hpa_file}bad-json: InvalidJSON: ", "is not valid JSON"),
        (f"{hpa_file}six-fields: InvalidSchedule: ", "has 6 fields"),
        (f"{hpa_file}mars: InvalidTimezone: ", "unknown zone 'Mars/Olympus_Mons'"),
        (f"{hpa_file}zero: InvalidAction: ", "action 1: minReplicas must be >= 1, not 0"),
        (f"{hpa_file}replicas: InvalidAction: ", "replicas cannot be scheduled on a Horizontal"),
        (
            f"{hpa_file}above-git: ScheduleRefused: ",
            "action 1: the schedule's minReplicas 50 is above maxReplicas 40 in Git",
        ),
        (f"warning: {hpa_file}typo: UnknownKey: ", "action 1: unknown key 'tx' ignored"),
        (f"{cm_file}dns-autoscaler: too_many_keys: ", "expected only one entry"),
        (f"{cm_file}other: invalid_linear: ", "error parsing linear params"),
    ]
    assert len(lines) == len(expected), result.stdout
    for (start, detail), line in zip(expected, lines, strict=True):
        assert line.startswith(start) and detail in line, (start, detail, line)
    assert summary == "3 files, 10 objects checked: 9 errors, 1 warning"


def test_validate_exits_0_on_warnings_alone(tmp_path: Path) -> None:
    (tmp_path / "hpa.yaml").write_text(
        annotated("typo", '[{"schedule": "@daily", "minReplicas": 3, "tx": "UTC"}]')
    )
    result = scalers("validate", str(tmp_path / "hpa.yaml"))
    assert result.returncode == 0
    assert result.stdout.startswith("warning: ")


def test_refusal_needs_the_other_bound_to_be_gits(tmp_path: Path) -> None:
    """Once some action schedules maxReplicas, Git's maxReplicas is never what a min meets."""
    both = (
        '[{"schedule": "0 9 * * *", "minReplicas": 50},'
        ' {"schedule": "0 8 * * *", "maxReplicas": 60}]'
    )
    assert validate(manifests(tmp_path, annotated("web", both)), UTC_ZONE) == []
    lowered = '[{"schedule": "0 20 * * *", "maxReplicas": 1}]'
    [problem] = validate(manifests(tmp_path, annotated("web", lowered)), UTC_ZONE)
    assert problem.reason == "ScheduleRefused"
    assert problem.message == "action 1: the schedule's maxReplicas 1 is below minReplicas 2 in Git"


def manifests(folder: Path, text: str) -> list[Manifest]:
    path = folder / "manifest.yaml"
    path.write_text(text)
    return load([path]).manifests


def test_plan_of_the_examples_as_json() -> None:
    result = scalers("plan", str(EXAMPLES), "--at", AT, "-o", "json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["at"] == "2026-11-23T08:30:00+00:00"
    [web] = [s for s in plan["schedules"] if s["name"] == "web"]
    assert web == {
        "kind": "HorizontalPodAutoscaler",
        "namespace": "shop",
        "name": "web",
        "zone": "Europe/Berlin",
        "scheduled": {"minReplicas": 10, "maxReplicas": 40},
        "next": [
            {"at": "2026-11-23T20:00:00+01:00", "action": 2, "field": "minReplicas", "value": 2},
            {"at": "2026-11-24T09:00:00+01:00", "action": 1, "field": "minReplicas", "value": 10},
            {"at": "2026-11-24T09:00:00+01:00", "action": 1, "field": "maxReplicas", "value": 40},
            {"at": "2026-11-24T20:00:00+01:00", "action": 2, "field": "minReplicas", "value": 2},
        ],
    }
    [worker] = [s for s in plan["schedules"] if s["name"] == "report-worker"]
    assert (worker["zone"], worker["scheduled"]) == ("Asia/Tokyo", {"replicas": 0})
    assert plan["proportional"] == {
        "source": f"kube-system/dns-autoscaler in {EXAMPLES / 'coredns-hpa.yaml'}",
        "mode": "linear",
        "nodes": None,
        "cores": None,
        "replicas": None,
    }


def test_plan_of_the_examples_as_a_table() -> None:
    result = scalers("plan", str(EXAMPLES), "--at", AT, "--nodes", "48", "--cores", "192")
    assert result.returncode == 0, result.stderr
    assert max(map(len, result.stdout.splitlines())) <= 120
    lines = [" ".join(line.split()) for line in result.stdout.splitlines()]
    assert lines[0] == "at Mon 2026-11-23 08:30:00 UTC"
    # At 120 columns, the values wrap within their columns, beside the next fires.
    web = lines.index(
        "HorizontalPodAutoscaler Europe/Berlin minReplicas=10 Mon 2026-11-23 20:00 CET 2 "
        "minReplicas=2"
    )
    assert lines[web + 1 : web + 4] == [
        "shop/web maxReplicas=40 Tue 2026-11-24 09:00 CET 1 minReplicas=10",
        "maxReplicas=40",
        "Tue 2026-11-24 20:00 CET 2 minReplicas=2",
    ]
    # The helpdesk's action 1 skips Japan's holidays (Monday the 23rd is one): its next fire is
    # Tuesday's, with its calendars named beside it.
    desk = lines.index("support/helpdesk maxReplicas=10 maxReplicas=10")
    assert lines[desk + 1 : desk + 3] == [
        "Tue 2026-11-24 09:00 JST 1 (skips minReplicas=6",
        "holidays:JP, maxReplicas=30",
    ]
    assert "Deployment Asia/Tokyo replicas=0 Tue 2026-11-24 01:30 JST 1 replicas=6" in lines
    assert "PROBLEMS" not in lines
    assert lines[-3:] == ["NODES 48", "CORES 192", "REPLICAS 3"]


def test_plan_of_parameters_alone() -> None:
    params = '{"linear":{"coresPerReplica":256,"nodesPerReplica":16,"min":2}}'
    result = scalers("plan", "--params", params, "--nodes", "100", "--cores", "400", "-o", "json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["replicas"] == 7  # ceil(100 / 16) = 7 against ceil(400 / 256) = 2
    assert plan["proportional"] == {
        "source": "--params",
        "mode": "linear",
        "nodes": 100,
        "cores": 400,
        "replicas": 7,
    }


def test_plan_refuses_bad_input_with_status_2() -> None:
    bad_params = scalers("plan", "--params", '{"linear":{"min":2}}', "--nodes", "1", "--cores", "1")
    assert bad_params.returncode == 2
    assert "argument --params: error parsing linear params: should at least provide" in (
        bad_params.stderr
    )
    naive = scalers("plan", str(EXAMPLES), "--at", "2026-11-23T08:30")
    assert naive.returncode == 2 and "has no UTC offset" in naive.stderr
    garbage = scalers("plan", str(EXAMPLES), "--at", "monday")
    assert garbage.returncode == 2 and "expected an ISO 8601 time" in garbage.stderr
    half = scalers("plan", str(EXAMPLES), "--nodes", "3")
    assert half.returncode == 2 and "--nodes and --cores go together" in half.stderr


def test_plan_of_the_live_cluster(tmp_path: Path) -> None:
    actions = [{"schedule": "0 9 * * 1-5", "minReplicas": 10, "tz": "Europe/Berlin"}]
    with FakeApiServer() as server:
        server.create(hpa("web", json.dumps(actions)))
        server.create(hpa("plain", None))
        server.create(json.loads(configmap("dns-autoscaler", {"linear": '{"nodesPerReplica": 2}'})))
        for i in range(5):
            server.create(node(f"node-{i}", cpu="3500m", ready=i != 4))
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
        result = scalers("plan", "--kubeconfig", str(kubeconfig), "--at", AT, "-o", "json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    [web] = plan["schedules"]
    assert (web["name"], web["scheduled"]) == ("web", {"minReplicas": 10})
    assert web["next"][0] == {
        "at": "2026-11-24T09:00:00+01:00",
        "action": 1,
        "field": "minReplicas",
        "value": 10,
    }
    # Four schedulable nodes of 3500m: 14 cores; ceil(4 / 2) = 2 replicas.
    assert plan["proportional"] == {
        "source": "kube-system/dns-autoscaler",
        "mode": "linear",
        "nodes": 4,
        "cores": 14,
        "replicas": 2,
    }


def test_plan_without_a_cluster_says_so(tmp_path: Path) -> None:
    result = scalers("plan", "--kubeconfig", str(tmp_path / "missing"))
    assert result.returncode == 2
    assert "no kubeconfig at" in result.stderr


def test_next_fires_lists_same_instant_actions_in_array_order() -> None:
    [manifest] = [
        Manifest(
            "f.yaml",
            {
                "kind": "Deployment",
                "metadata": {
                    "name": "w",
                    "annotations": {
                        "zalando.org/schedule-actions": json.dumps(
                            [
                                {"schedule": "@hourly", "replicas": 1},
                                {"schedule": "0 */2 * * *", "replicas": 2},
                            ]
                        )
                    },
                },
            },
        )
    ]
    schedule = schedule_of(manifest, UTC_ZONE)
    assert isinstance(schedule, Schedule)
    fires = next_fires(schedule.rules, datetime(2026, 1, 1, 0, 30, tzinfo=UTC), count=4)
    assert [(f.at.hour, f.action) for f in fires] == [(1, 1), (2, 1), (2, 2), (3, 1)]
    plan = make_plan(datetime(2026, 1, 1, 2, 0, tzinfo=UTC), [manifest], UTC_ZONE, None)
    assert plan.schedules[0].scheduled == {"replicas": 2}  # the later action wins the tie


def test_plan_shows_a_rejected_annotation_and_bad_parameters() -> None:
    manifest = Manifest(
        "f.yaml",
        {
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "annotations": {"zalando.org/schedule-actions": "{"}},
        },
    )
    proportional = proportional_plan("cm", {"linear": "{}", "ladder": "{}"}, None)
    plan = make_plan(datetime(2026, 1, 1, tzinfo=UTC), [manifest], UTC_ZONE, proportional)
    assert plan.schedules[0].error is not None
    assert plan.schedules[0].error.startswith("InvalidJSON: ")
    table = render_table(plan).splitlines()
    assert "HorizontalPodAutoscaler default/web  -     rejected: InvalidJSON (below)  -" in table
    problems = table.index("PROBLEMS")
    assert table[problems + 1].startswith(
        "HorizontalPodAutoscaler default/web: InvalidJSON: zalando.org/schedule-actions is not "
        "valid JSON"
    )
    assert any(
        line.startswith("ERROR       too_many_keys: invalid configMap format") for line in table
    )
    assert "replicas" not in plan.to_json()
    assert plan.failed


def test_ladder_parameters_for_given_counts() -> None:
    ladder = '{"coresToReplicas": [[1, 1], [64, 3]], "nodesToReplicas": [[1, 1], [2, 2]]}'
    status = ClusterStatus(10, 10, 100, 100)
    planned = proportional_plan("cm", {"ladder": ladder}, status)
    assert (planned.mode, planned.counted, planned.replicas) == ("ladder", (10, 100), 3)


def hostile_files(tmp_path: Path) -> list[Path]:
    """Values that once raised inside parsing, and YAML of shapes the API would refuse."""
    actions = "zalando.org/schedule-actions"

    def one(name: str, annotations: dict[str, object], spec: object = None) -> str:
        metadata = {"name": name, "namespace": "shop", "annotations": annotations}
        return yaml_doc(
            {"kind": "HorizontalPodAutoscaler", "metadata": metadata, "spec": spec or {}}
        )

    def act(**fields: object) -> str:
        return json.dumps([{"schedule": "0 9 * * *", **fields}])

    values = [
        act(minReplicas=1, tz="Europe"),
        act(minReplicas=1, tz="America/Argentina"),
        act(minReplicas=1, tz="A" * 300),
        "[" * 1000 + "]" * 1000,
        '[{"schedule": "0 9 * * *", "minReplicas": ' + "9" * 5000 + "}]",
        act(minReplicas=10**400),
        act(minReplicas=2**31),
        act(maxReplicas=str(2**63)),
        act(minReplicas=1, pad="x" * 300_000),
    ]
    schedules = tmp_path / "schedules.yaml"
    schedules.write_text(
        "---\n".join(one(f"h{i}", {actions: value}) for i, value in enumerate(values))
        + "---\n"
        + one("zone", {actions: act(minReplicas=1), "kube-scalers.io/timezone": "Etc"})
        + "---\n"
        + one("number", {actions: 5})
    )
    shapes = tmp_path / "shapes.yaml"
    shapes.write_text(
        "kind: HorizontalPodAutoscaler\nmetadata: [1]\n---\n"
        "kind: HorizontalPodAutoscaler\nmetadata: {name: a, annotations: [1]}\n---\n"
        "kind: ConfigMap\nmetadata: {name: dns-autoscaler}\ndata: [1]\n---\n"
        + one("spec", {actions: act(minReplicas=3)}, spec=7)
    )
    deep = tmp_path / "deep.yaml"
    deep.write_text("kind: HorizontalPodAutoscaler\nx: " + "[" * 5000 + "]" * 5000 + "\n")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfekind: x\n")
    return [schedules, shapes, deep, binary]


def test_validate_reports_hostile_values_one_line_each_without_a_traceback(
    tmp_path: Path,
) -> None:
    result = scalers("validate", *map(str, hostile_files(tmp_path)))

    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    *problems, summary = result.stdout.splitlines()
    assert summary.endswith("17 errors, 0 warnings"), summary
    assert len(problems) == 17
    assert all(len(line) < 300 for line in problems)
    deep, binary, *objects = problems  # what cannot be read comes first
    assert deep.endswith("deep.yaml: InvalidYAML: nested too deep")
    assert "binary.yaml: Unreadable: not UTF-8 text" in binary
    reasons = [line.split(": ")[2] for line in objects[:11]]
    assert reasons == [
        *["InvalidTimezone"] * 3,
        *["InvalidJSON"] * 2,
        *["InvalidAction"] * 3,
        "TooLarge",
        "InvalidTimezone",
        "InvalidJSON",
    ]
    assert [line.split(": ")[2] for line in objects[11:]] == ["InvalidManifest"] * 4


def test_plan_shows_hostile_values_as_rejections_without_a_traceback(tmp_path: Path) -> None:
    schedules, shapes, *_ = hostile_files(tmp_path)

    result = scalers("plan", "--at", AT, "-o", "json", str(schedules), str(shapes))

    assert result.returncode == 1, result.stderr  # what it shows is rejected
    assert "Traceback" not in result.stderr, result.stderr
    plans = json.loads(result.stdout)["schedules"]
    assert [p["name"] for p in plans if "error" not in p] == ["spec"]
    assert sum("error" in p for p in plans) == 11


# -- exit status, width, standard input ------------------------------------------------------


def test_plan_exits_1_when_an_action_would_be_refused_and_shows_why(tmp_path: Path) -> None:
    (tmp_path / "hpa.yaml").write_text(
        annotated("web", '[{"schedule": "0 9 * * *", "minReplicas": 50}]')
    )

    result = scalers("plan", str(tmp_path), "--at", AT)

    assert result.returncode == 1, result.stderr
    assert problems_below(result.stdout) == [
        "HorizontalPodAutoscaler shop/web: ScheduleRefused: action 1: the schedule's "
        "minReplicas 50 is above maxReplicas 40 in Git"
    ]


def problems_below(table: str) -> list[str]:
    """The problems under a plan's table, each as one line again (wrapped at 120 columns, its
    further lines indented)."""
    lines = table.splitlines()
    problems: list[str] = []
    for line in lines[lines.index("PROBLEMS") + 1 :]:
        if not line:
            break
        if line.startswith("    "):
            problems[-1] += " " + line.strip()
        else:
            problems.append(line)
    return problems


def test_plan_exits_0_on_warnings_and_1_on_bad_parameters(tmp_path: Path) -> None:
    (tmp_path / "hpa.yaml").write_text(
        annotated("web", '[{"schedule": "0 9 * * *", "minReplicas": 3, "minreplica": 3}]')
    )
    warned = scalers("plan", str(tmp_path), "--at", AT, "-o", "json")
    assert warned.returncode == 0, warned.stderr
    [web] = json.loads(warned.stdout)["schedules"]
    assert web["scheduled"] == {"minReplicas": 3}
    assert web["problems"] == [
        {
            "reason": "UnknownKey",
            "message": "action 1: unknown key 'minreplica' ignored (did you mean 'minReplicas'?)",
            "warning": True,
        }
    ]

    (tmp_path / "cm.yaml").write_text(configmap("dns-autoscaler", {"linear": "{}", "ladder": "{}"}))
    bad = scalers("plan", str(tmp_path), "--at", AT, "-o", "json")
    assert bad.returncode == 1, bad.stderr
    assert json.loads(bad.stdout)["proportional"]["error"].startswith("too_many_keys")


def test_plan_json_lists_every_problem_of_a_rejected_annotation(tmp_path: Path) -> None:
    (tmp_path / "hpa.yaml").write_text(
        annotated("web", '[{"schedule": "0 9 L * *", "minReplicas": 0}, 5]')
    )

    result = scalers("plan", str(tmp_path), "--at", AT, "-o", "json")

    assert result.returncode == 1
    [web] = json.loads(result.stdout)["schedules"]
    assert [(p["reason"], p["message"][:8]) for p in web["problems"]] == [
        ("InvalidSchedule", "action 1"),
        ("InvalidAction", "action 1"),
        ("InvalidAction", "action 2"),
    ]
    assert web["error"].startswith("InvalidSchedule: action 1: schedule '0 9 L * *' uses 'L'")


@pytest.mark.parametrize(("zone", "big"), [("Europe/Berlin", 40), ("America/Argentina/ComodRivadavia", 2147483647)])  # fmt: skip
def test_a_long_object_name_breaks_only_after_its_namespace(
    tmp_path: Path, zone: str, big: int
) -> None:
    name = "checkout-api-gateway-canary-v2"
    actions = json.dumps(
        [{"schedule": "0 9 * * 1-5", "minReplicas": big, "maxReplicas": big},
         {"schedule": "0 20 * * 1-5", "minReplicas": 2}]
    )  # fmt: skip
    text = annotated(name, actions, **{"kube-scalers.io/timezone": zone})
    text = text.replace("namespace: shop", "namespace: payments-production")
    (tmp_path / "hpa.yaml").write_text(text.replace("maxReplicas: 40", f"maxReplicas: {big}"))

    result = scalers("plan", str(tmp_path), "--at", AT)

    lines = result.stdout.splitlines()
    assert max(map(len, lines)) <= 120, max(lines, key=len)
    first_column = [line.split("  ")[0] for line in lines if not line.startswith(" ")]
    words = " ".join(first_column).split()
    whole = f"payments-production/{name}"
    assert whole in words or ("payments-production/" in words and name in words), first_column


def test_the_table_fits_120_columns_whatever_the_values(tmp_path: Path) -> None:
    long_name = "web-" + "x" * 150
    actions = json.dumps(
        [
            {"schedule": "0 9 * * *", "minReplicas": 0, "tz": "Mars/" + "y" * 200},
            {"schedule": "0 18 * * *", "maxReplicas": 0, "k" * 300: 1},
        ]
    )
    (tmp_path / "hpa.yaml").write_text(
        annotated(long_name, actions)
        + "---\n"
        + annotated("fine", '[{"schedule": "0 9 * * 1-5", "minReplicas": 3, "maxReplicas": 30}]')
    )

    result = scalers("plan", str(tmp_path), "--at", AT)

    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert max(map(len, lines)) <= 120, max(lines, key=len)
    # Each problem in full below, its long lines wrapped (long words too: compare without the
    # spaces that wrapping them put in).
    said = ["".join(problem.split()) for problem in problems_below(result.stdout)]
    subject = f"HorizontalPodAutoscalershop/{long_name}:"
    assert said == [
        f"{subject}InvalidTimezone:action1:unknownzone'Mars/{'y' * 74}…'",
        f"{subject}InvalidAction:action1:minReplicasmustbe>=1,not0",
        f"{subject}InvalidAction:action2:maxReplicasmustbe>=1,not0",
        f"warning:{subject}UnknownKey:action2:unknownkey'{'k' * 79}…'ignored",
    ]
    assert any(
        " ".join(line.split()).startswith("HorizontalPodAutoscaler shop/fine UTC minReplicas=3")
        for line in lines
    )


def test_plan_reads_standard_input() -> None:
    text = annotated("web", '[{"schedule": "0 9 * * *", "minReplicas": 5}]')

    result = subprocess.run(
        [*SCALERS, "plan", "-", "--at", AT, "-o", "json"],
        input=text, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    [web] = json.loads(result.stdout)["schedules"]
    assert (web["name"], web["scheduled"]) == ("web", {"minReplicas": 5})


def test_plan_of_a_helm_template_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "hpa.yaml").write_text("{{- if .Values.hpa }}\nkind: HorizontalPodAutoscaler\n")

    result = scalers("plan", str(tmp_path), "--at", AT)

    assert result.returncode == 2
    assert "HelmTemplate: looks like a Helm template: run `helm template` first" in result.stderr
