"""`scalers validate` as a pull-request check: every problem of an object on its own line,
manifests from standard input and JSON files, Helm templates named as such, and a reader that
goes away early (`| head`)."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from scalers.cli import main
from tests.support import SCALERS

ACTIONS = "zalando.org/schedule-actions"


def hpa_obj(name: str, actions: Any, **spec: int) -> dict[str, Any]:
    text = actions if isinstance(actions, str) else json.dumps(actions)
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": "shop", "annotations": {ACTIONS: text}},
        "spec": {"minReplicas": 2, "maxReplicas": 40, **spec},
    }


def validate(capsys: pytest.CaptureFixture[str], *files: str) -> tuple[int, list[str]]:
    code = main(["validate", *files])
    out = capsys.readouterr().out
    return code, out.splitlines()


def write(path: Path, *objects: dict[str, Any]) -> str:
    path.write_text("---\n".join(json.dumps(obj) + "\n" for obj in objects))  # JSON is YAML
    return str(path)


# --- every problem of an object ------------------------------------------------------------


def test_each_bad_action_and_each_bad_key_is_its_own_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    actions = [
        {"schedule": "0 9 * * *", "minReplicas": "ten", "maxReplicas": 0, "tz": "Mars/Base"},
        {"schedule": "0 18 * * *", "minReplicas": 2},
        {"schedule": "0 0 9 * * *", "minReplica": 3},
        7,
    ]
    path = write(tmp_path / "hpa.yaml", hpa_obj("web", actions))

    code, lines = validate(capsys, path)

    subject = f"{path}: HorizontalPodAutoscaler shop/web: "
    assert code == 1
    assert lines == [
        subject + "InvalidAction: action 1: minReplicas: must be an integer or a decimal "
        'string, not "ten"',
        subject + "InvalidTimezone: action 1: unknown zone 'Mars/Base'",
        subject + "InvalidAction: action 1: maxReplicas must be >= 1, not 0",
        subject + "InvalidSchedule: action 3: schedule '0 0 9 * * *' has 6 fields; only "
        "5-field cron is accepted (minute hour day-of-month month day-of-week): some tools read "
        "a sixth field as seconds first, croniter as seconds last, so a 6-field expression is "
        "ambiguous",
        subject + "InvalidAction: action 3: sets none of minReplicas, maxReplicas",
        subject + "InvalidAction: action 4: must be a JSON object",
        "warning: " + subject + "UnknownKey: action 3: unknown key 'minReplica' ignored "
        "(did you mean 'minReplicas'?)",
        "1 file, 1 object checked: 6 errors, 1 warning",
    ]


def test_a_bad_object_zone_does_not_hide_the_actions_problems(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    obj = hpa_obj("web", [{"schedule": "0 9 L * *", "minReplicas": 3}])
    obj["metadata"]["annotations"]["kube-scalers.io/timezone"] = "Europe/Berlinn"

    code, lines = validate(capsys, write(tmp_path / "hpa.yaml", obj))

    assert code == 1
    reasons = [line.split(": ")[2] for line in lines[:-1]]
    assert reasons == ["InvalidTimezone", "InvalidSchedule"]
    assert "'L' (the last day or weekday of the month)" in lines[1]


def test_a_misspelt_key_alone_is_a_warning_with_a_suggestion_and_exit_0(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    actions = [{"schedule": "0 9 * * *", "minReplicas": 3, "maxreplicas": 9, "timezone": "UTC"}]
    code, lines = validate(capsys, write(tmp_path / "hpa.yaml", hpa_obj("web", actions)))

    assert code == 0
    assert [line.split(": ", 4)[-1] for line in lines[:-1]] == [
        "action 1: unknown key 'maxreplicas' ignored (did you mean 'maxReplicas'?)",
        "action 1: unknown key 'timezone' ignored (did you mean 'tz'?)",
    ]
    assert all(line.startswith("warning: ") for line in lines[:-1])


def test_an_empty_action_list_is_a_warning(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, lines = validate(capsys, write(tmp_path / "hpa.yaml", hpa_obj("web", "[]")))

    assert code == 0
    assert lines[0].startswith("warning: ")
    assert lines[0].endswith(
        "NoActions: zalando.org/schedule-actions is an empty array: nothing is scheduled"
    )


def test_a_url_valued_annotation_says_urls_are_not_supported(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    obj = hpa_obj("web", "https://config.example.com/schedules/web.json")

    code, lines = validate(capsys, write(tmp_path / "hpa.yaml", obj))

    assert code == 1
    assert ": UnsupportedURL: " in lines[0]
    assert "not supported" in lines[0] and "JSON array of actions in the annotation" in lines[0]
    assert "not valid JSON" not in lines[0]


# --- what it reads ---------------------------------------------------------------------------


def test_dash_reads_standard_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rendered = (
        "---\n# Source: shop/templates/hpa.yaml\n"
        + json.dumps(hpa_obj("web", [{"schedule": "0 9 * * *", "minReplicas": 50}]))
        + "\n---\n"
        + json.dumps(hpa_obj("api", [{"schedule": "0 9 * * *", "minReplicas": 5}]))
        + "\n"
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(rendered))

    code, lines = validate(capsys, "-")

    assert code == 1
    assert lines == [
        "<stdin>: HorizontalPodAutoscaler shop/web: ScheduleRefused: action 1: the schedule's "
        "minReplicas 50 is above maxReplicas 40 in Git",
        "1 file, 2 objects checked: 1 error, 0 warnings",
    ]


@pytest.mark.parametrize(("given", "reason"), [
    ("", "NoObjects: no Kubernetes object on standard input"),  # `helm template` failed
    ("Error: INSTALLATION FAILED\n", "NoObjects"),
    (None, "Unreadable: standard input is closed"),
])  # fmt: skip
def test_standard_input_with_nothing_to_check_is_an_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, given: str | None,
    reason: str,
) -> None:  # fmt: skip
    monkeypatch.setattr("sys.stdin", None if given is None else io.StringIO(given))

    code, lines = validate(capsys, "-")

    assert code == 1
    assert lines[0].startswith(f"<stdin>: {reason}")


def test_a_misspelt_annotation_name_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    obj = hpa_obj("web", [])
    annotations = obj["metadata"]["annotations"]
    annotations["zalando.org/schedule-action"] = annotations.pop(ACTIONS)
    annotations["kube-scalers.io/timezon"] = "Europe/Berlin"
    annotations["app.kubernetes.io/part-of"] = "shop"  # not ours, and not close: no word

    code, lines = validate(capsys, write(tmp_path / "hpa.yaml", obj))

    assert code == 0
    assert [line.split(": UnknownAnnotation: ")[1] for line in lines[:-1]] == [
        "annotation 'zalando.org/schedule-action' is not read: did you mean "
        "'zalando.org/schedule-actions'?",
        "annotation 'kube-scalers.io/timezon' is not read: did you mean 'kube-scalers.io/timezone'?",
    ]


def test_helm_template_piped_into_validate(tmp_path: Path) -> None:
    """The pull-request check as a shell runs it: `helm template ... | scalers validate -`."""
    rendered = json.dumps(hpa_obj("web", [{"schedule": "0 9 ? * *", "minReplicas": 3}]))

    result = subprocess.run(
        [*SCALERS, "validate", "-"], input=rendered, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("<stdin>: HorizontalPodAutoscaler shop/web: InvalidSchedule: ")
    assert "'?'" in result.stdout


def test_json_files_an_object_or_a_list_of_items(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = [{"schedule": "0 9 * * *", "minReplicas": 0}]
    (tmp_path / "one.json").write_text(json.dumps(hpa_obj("single", bad)))
    kubectl_list = {"apiVersion": "v1", "kind": "List", "items": [hpa_obj("listed", bad)]}
    (tmp_path / "list.json").write_text(json.dumps(kubectl_list))
    # What the API itself returns: a typed list whose items carry no kind of their own.
    item = hpa_obj("typed", bad)
    del item["kind"], item["apiVersion"]
    typed = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscalerList", "items": [item]}
    (tmp_path / "typed.json").write_text(json.dumps(typed, indent="\t"))
    (tmp_path / "broken.json").write_text('{"kind": "HorizontalPodAutoscaler",\n "metadata": }')

    code, lines = validate(capsys, str(tmp_path))

    assert code == 1
    assert lines == [
        f"{tmp_path / 'broken.json'}: InvalidJSON: line 2, column 14: Expecting value",
        *(
            f"{tmp_path / file}: HorizontalPodAutoscaler shop/{name}: InvalidAction: action 1: "
            "minReplicas must be >= 1, not 0"
            for file, name in [
                ("list.json", "listed"),
                ("one.json", "single"),
                ("typed.json", "typed"),
            ]
        ),
        "4 files, 3 objects checked: 4 errors, 0 warnings",
    ]


def test_an_unrendered_helm_template_gets_the_hint(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    # Not YAML at all until rendered:
    (templates / "hpa.yaml").write_text(
        "{{- if .Values.hpa.enabled }}\nkind: HorizontalPodAutoscaler\nmetadata:\n"
        '  name: {{ include "app.fullname" . }}\n{{- end }}\n'
    )
    # YAML already, but its values are templates:
    (templates / "configmap.yaml").write_text(
        "kind: ConfigMap\nmetadata:\n  name: dns-autoscaler\n"
        "data:\n  linear: '{{ toJson .Values.linear }}'\n"
    )

    code, lines = validate(capsys, str(tmp_path))

    hint = (
        "looks like a Helm template: run `helm template` first and pipe it: "
        "helm template ... | scalers validate -"
    )
    assert code == 1
    assert lines[0] == f"warning: {templates / 'configmap.yaml'}: HelmTemplate: {hint}"
    assert lines[1].startswith(f"{templates / 'hpa.yaml'}: HelmTemplate: {hint} (line ")
    assert lines[2].startswith(
        f"{templates / 'configmap.yaml'}: ConfigMap default/dns-autoscaler: "
    )
    assert lines[-1] == "2 files, 1 object checked: 2 errors, 1 warning"


def test_rendered_go_template_text_in_data_is_not_taken_for_helm(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rules = tmp_path / "alerts.yaml"
    rules.write_text(
        "kind: PrometheusRule\nmetadata: {name: alerts}\nspec:\n  groups:\n"
        "  - rules:\n    - annotations: {summary: 'CPU high on {{ $labels.instance }}'}\n"
        # an Alertmanager template, rendered: Go templating is its data
        "    - annotations: {text: '{{- range .Alerts }}{{ template \"slack.title\" . }}{{ end }}'}\n"
    )

    assert validate(capsys, str(rules)) == (0, ["1 file, 0 objects checked: 0 errors, 0 warnings"])


# --- a reader that goes away -----------------------------------------------------------------


def many_problems(tmp_path: Path, count: int = 1500) -> Path:
    """Far more output than a pipe holds, so that a write meets the closed pipe."""
    path = tmp_path / "many.yaml"
    write(path, *(hpa_obj(f"hpa-{i}", "{") for i in range(count)))
    return path


@pytest.mark.parametrize("command", [["validate"], ["plan", "--at", "2026-11-23T08:30:00Z"]])
def test_a_closed_pipe_ends_quietly_with_141(tmp_path: Path, command: list[str]) -> None:
    with subprocess.Popen(
        [*SCALERS, *command, str(many_problems(tmp_path))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.readline()  # what `| head -1` reads, before it exits
        process.stdout.close()
        code = process.wait(timeout=60)
        errors = process.stderr.read()

    assert "Traceback" not in errors and "BrokenPipe" not in errors, errors
    assert errors == ""
    assert code == 141
