"""Bad flags, environment values and files stop the start: exit 2, one line naming the culprit."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from scalers.cli import main, parser, run_settings
from scalers.fakeapi import FakeApiServer

SCALERS = [sys.executable, "-m", "scalers.cli"]
BOOLEAN_WORDS = "true/false, 1/0, yes/no or on/off"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SCALERS_") or name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST"):
            monkeypatch.delenv(name)


def refusal(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The one line `scalers argv` stops with, exit status 2."""
    try:
        code = main(list(argv))
    except SystemExit as exit:
        code = exit.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    [line] = err.splitlines()
    return line


@pytest.mark.parametrize(
    ("word", "value"),
    [
        *[("on", True), ("ON", True), (" yes ", True), ("1", True), ("True", True)],
        *[("off", False), ("No", False), ("0", False), ("FALSE", False)],
    ],
)
def test_every_environment_boolean_reads_the_same_words(
    monkeypatch: pytest.MonkeyPatch, word: str, value: bool
) -> None:
    for name in ("DRY_RUN", "SCHEDULE_LOOP", "PROPORTIONAL_LOOP", "LEADER_ELECT"):
        monkeypatch.setenv(f"SCALERS_{name}", word)
    settings = run_settings(parser().parse_args(["run"]))
    assert settings.dry_run is value
    assert settings.schedule is value
    assert (settings.proportional is not None) is value
    assert (settings.election is not None) is value


def test_dry_run_on_and_proportional_loop_0_mean_what_they_say(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SCALERS_DRY_RUN", "on")
    monkeypatch.setenv("SCALERS_PROPORTIONAL_LOOP", "0")
    settings = run_settings(parser().parse_args(["run"]))
    assert settings.dry_run and settings.proportional is None


def test_a_flag_wins_over_its_variable_even_a_bad_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCALERS_PROPORTIONAL_LOOP", "maybe")
    monkeypatch.setenv("SCALERS_QPS", "nan")
    args = parser().parse_args(["run", "--no-proportional-loop", "--qps", "5"])
    assert args.proportional_loop is False and args.qps == 5.0


@pytest.mark.parametrize("name", ["DRY_RUN", "SCHEDULE_LOOP", "PROPORTIONAL_LOOP", "LEADER_ELECT"])
def test_a_boolean_variable_that_is_no_boolean_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    monkeypatch.setenv(f"SCALERS_{name}", "maybe")
    line = refusal(capsys, "run")
    assert f"SCALERS_{name}" in line and "'maybe'" in line and BOOLEAN_WORDS in line


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("QPS", "nan", "expected 0 (no limit)"),
        ("BURST", "0", "expected a whole number from 1"),
        ("HEALTH_PORT", "99999", "expected a port number from 0 to 65535"),
        ("TIMEZONE", "Europe", "unknown time zone 'Europe'"),
        ("LEASE_DURATION", "inf", "whole number of seconds"),
        ("POLL_PERIOD_SECONDS", "-1", "whole number of seconds"),
        ("TARGET", "hpa/UPPER", "is not an object name"),
        ("LOG_LEVEL", "loud", "expected DEBUG, INFO"),
        ("NAMESPACE", "Kube_System", "is not a namespace name"),
        ("CONFIGMAP", "dns_autoscaler", "is not an object name"),
        ("LEASE_NAME", "-lease", "is not an object name"),
        ("IDENTITY", "", "has no holder"),
        ("NODELABELS", "pool", "expected key=value"),
        ("DEFAULT_PARAMS", "{nope", "invalid"),
    ],
)
def test_a_bad_variable_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str,
    message: str,
) -> None:
    monkeypatch.setenv(f"SCALERS_{name}", value)
    line = refusal(capsys, "run")
    assert line.startswith(f"scalers run: error: SCALERS_{name}: ") and message in line


def test_only_a_command_with_the_flag_reads_its_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("SCALERS_DRY_RUN", "maybe")
    monkeypatch.setenv("SCALERS_QPS", "nan")
    (tmp_path / "empty.yaml").write_text("")
    assert main(["validate", str(tmp_path / "empty.yaml")]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--timezone", "Europe"], "--timezone: unknown time zone 'Europe'"),
        (["validate", "--timezone", "America/Argentina", "x"], "unknown time zone"),
        (["run", "--qps", "nan"], "--qps: 'nan'"),
        (["run", "--qps", "inf"], "--qps: 'inf'"),
        (["run", "--qps", "-1"], "--qps: '-1'"),
        (["run", "--qps", "1e-300"], "--qps: '1e-300'"),
        (["run", "--burst", "0"], "--burst: '0'"),
        (["run", "--burst", "many"], "--burst: 'many'"),
        (["run", "--target", "hpa/UPPER_case!"], "--target: target 'hpa/UPPER_case!'"),
        (["run", "--target", f"hpa/{'a' * 254}"], "is not an object name"),
        (["run", "--target", "pod/x"], "expected KIND/NAME"),
        (["run", "--lease-duration", "inf"], "--lease-duration: 'inf'"),
        (["run", "--lease-duration", "1e3"], "--lease-duration: '1e3'"),
        (["run", "--lease-duration", "99999999999"], "--lease-duration: '99999999999'"),
        (["run", "--poll-period-seconds", "²"], "--poll-period-seconds: '²'"),
        (["run", "--health-port", "65536"], "--health-port: '65536'"),
        (["run", "--nodelabels", "pool,zone=a"], "--nodelabels: 'pool'"),
        (["run", "--namespace", "a" * 64], "--namespace"),
        (["run", "--lease-namespace", "Kube"], "--lease-namespace: 'Kube'"),
        (["run", "--identity", ""], "--identity"),
        (["run", "--log-level", "loud"], "--log-level: 'loud'"),
        (["plan", "--at", "garbage"], "--at: 'garbage'"),
        (["plan", "--at", "9999-12-31T23:00:00-12:00"], "expected a time from 1970 to 8999"),
        (["plan", "--nodes", "-1", "--cores", "1"], "--nodes: '-1'"),
        (["plan", "--nodes", "9" * 5000, "--cores", "1"], "--nodes: '99999"),
        (["plan", "--params", "garbage"], "--params: invalid JSON"),
        (["demo", "--speed", "nan"], "--speed: 'nan'"),
        (["demo", "--speed", "0"], "--speed: '0'"),
        (["demo", "--speed", "-1"], "--speed: '-1'"),
    ],
)
def test_a_bad_flag_is_refused_in_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    line = refusal(capsys, *argv)
    assert line.startswith(f"scalers {argv[0]}: error: argument ") and message in line


def test_a_300_character_zone_is_shortened_in_the_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    line = refusal(capsys, "run", "--timezone", "A" * 300)
    assert "'AAAA" in line and "A" * 100 not in line


@pytest.fixture
def kubeconfigs(tmp_path: Path) -> Iterator[Path]:
    good = "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
    good += "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"
    good += "users: [{name: u, user: {token: t}}]\n"
    (tmp_path / "good").write_text(good)
    (tmp_path / "no-server").write_text(good.replace("{server: 'https://127.0.0.1:1'}", "{}"))
    (tmp_path / "not-a-url").write_text(good.replace("https://127.0.0.1:1", "127.0.0.1:1"))
    (tmp_path / "token-lines").write_text(good.replace("{token: t}", '{token: "t\\r\\nX: y"}'))
    (tmp_path / "garbage").write_text("clusters: [unclosed\n")
    (tmp_path / "a-list").write_text("- clusters\n")
    (tmp_path / "clusters-a-number").write_text("clusters: 5\ncurrent-context: x\n")
    (tmp_path / "binary").write_bytes(b"\xff\xfe")
    (tmp_path / "a-directory").mkdir()
    yield tmp_path


@pytest.mark.parametrize(
    ("command", "name", "context", "message"),
    [
        ("run", "a-directory", None, "cannot read kubeconfig {}: Is a directory"),
        ("run", "garbage", None, "kubeconfig {} is not YAML: line 2, column 1:"),
        ("run", "a-list", None, "kubeconfig {} is not a kubeconfig (a YAML mapping)"),
        ("run", "clusters-a-number", None, "cannot use kubeconfig {}: "),
        ("run", "binary", None, "kubeconfig {} is not UTF-8 text"),
        ("run", "no-server", None, "kubeconfig {}: the cluster of context 'x' has no server"),
        ("run", "not-a-url", None, "server '127.0.0.1:1' is not an http(s) URL"),
        ("run", "absent", None, "no kubeconfig at {}"),
        ("run", "token-lines", None, "kubeconfig {}: the user's token has a line break inside it"),
        ("run", "good", "nope", "no context 'nope' in kubeconfig {} (it has: x)"),
        ("plan", "no-server", None, "kubeconfig {}: the cluster of context 'x' has no server"),
        ("plan", "good", "nope", "no context 'nope' in kubeconfig {}"),
    ],
)
def test_a_bad_kubeconfig_is_refused_in_one_line(
    capsys: pytest.CaptureFixture[str],
    kubeconfigs: Path,
    command: str,
    name: str,
    context: str | None,
    message: str,
) -> None:
    path = kubeconfigs / name
    argv = [command, "--kubeconfig", str(path), *(["--context", context] if context else [])]
    line = refusal(capsys, *argv)
    assert line.startswith(f"scalers{' plan' if command == 'plan' else ''}: ")
    assert message.format(path) in line


def test_scalers_run_with_a_kubeconfig_without_a_server_stops_at_once(kubeconfigs: Path) -> None:
    # The client's default host is http://localhost: without the check, the controller ran
    # against whatever listened there.
    path = kubeconfigs / "no-server"
    result = subprocess.run(
        [*SCALERS, "run", "--kubeconfig", str(path), "--health-port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": os.environ["PATH"]},
    )
    assert result.returncode == 2, result.stderr
    assert (
        result.stderr == f"scalers: kubeconfig {path}: the cluster of context 'x' has no server\n"
    )


def test_a_health_port_in_use_is_refused_naming_it_and_nothing_is_written(tmp_path: Path) -> None:
    with FakeApiServer() as server, socket.socket() as taken:
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*SCALERS, "run", "--kubeconfig", str(kubeconfig), "--health-port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
            env={"PATH": os.environ["PATH"]},
        )
        lease = server.get("coordination.k8s.io/v1", "Lease", "kube-system", "kube-scalers")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    # Before it, the one JSON log line "starting".
    assert (
        result.stderr.splitlines()[-1] == f"scalers: --health-port {port}: Address already in use"
    )
    assert lease is None


def test_a_kubeconfig_list_is_merged_as_kubectl_merges_kubeconfig(tmp_path: Path) -> None:
    # KUBECONFIG=a:b, as kubectl users set it: the contexts of every file that exists, the
    # current-context of the first that sets one.
    with FakeApiServer() as server:
        good = server.write_kubeconfig(tmp_path / "cluster")
        other = tmp_path / "other"
        other.write_text(
            "apiVersion: v1\nkind: Config\ncontexts: [{name: elsewhere, context: {cluster: c}}]\n"
            "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        )
        listed = os.pathsep.join([str(tmp_path / "absent"), str(other), str(good)])
        result = subprocess.run(
            [*SCALERS, "status", "-o", "json"],
            capture_output=True, text=True, timeout=60,
            env={"PATH": os.environ["PATH"], "KUBECONFIG": listed},
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["objects"] == []
