"""Drop-in for the dns-autoscaler's Deployment: the args that cluster-proportional-autoscaler's
Helm chart and the kube-dns addon manifest pass carry over unchanged, and --max-sync-failures
ends the process as CPA's does."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from scalers.cli import carried_over, main, parser, run_settings
from scalers.clock import ManualClock
from scalers.fakeapi import FakeApiServer
from scalers.kube.events import EventRecorder
from scalers.kube.lease import Always
from scalers.proportional.loop import Config, ProportionalLoop
from scalers.runner import GiveUp, Runner
from scalers.schedule.loop import ScheduleLoop
from tests.builders import add_nodes, configmap, coredns_hpa, hpa
from tests.support import SCALERS, client_of, wait_for

# kubernetes/cluster/addons/dns-horizontal-autoscaler/dns-horizontal-autoscaler.yaml, verbatim.
ADDON = [
    "--namespace=kube-system",
    "--configmap=kube-dns-autoscaler",
    "--target=Deployment/kube-dns",
    '--default-params={"linear":{"coresPerReplica":256,"nodesPerReplica":16,'
    '"preventSinglePointFailure":true,"includeUnschedulableNodes":true}}',
    "--logtostderr=true",
    "--v=2",
]
# CPA's chart (charts/cluster-proportional-autoscaler/templates/deployment.yaml) with every
# option of its values set.
CHART = [
    "--configmap=dns-autoscaler",
    "--logtostderr=true",
    "--namespace=kube-system",
    "--target=deployment/coredns",
    "--v=0",
    "--alsologtostderr=false",
    "--log-backtrace-at=main.go:42",
    "--log-dir=/tmp",
    "--max-sync-failures=3",
    "--nodelabels=pool=system,arch=amd64",
    "--poll-period-seconds=30",
    "--stderrthreshold=ERROR",
    "--vmodule=autoscaler=4,linear=2",
]


@pytest.mark.parametrize(("args", "configmap_name", "target"), [
    (ADDON, "kube-dns-autoscaler", "deployment/kube-dns"),
    (CHART, "dns-autoscaler", "deployment/coredns"),
])  # fmt: skip
def test_cpa_args_parse_as_the_run_command_and_reach_the_settings(
    args: list[str], configmap_name: str, target: str
) -> None:
    parsed = parser().parse_args(["run", *args])
    config = run_settings(parsed).proportional
    assert config is not None
    assert (config.namespace, config.configmap) == ("kube-system", configmap_name)
    assert [str(t) for t in config.targets] == [target]
    given = {a.split("=", 1)[0].lstrip("-").replace("-", "_") for a in args}
    said = {line.split("=", 1)[0].lstrip("-") for line in carried_over(parsed)}
    assert said == given & {"logtostderr", "alsologtostderr", "stderrthreshold", "log_dir",
                            "log_backtrace_at", "v", "vmodule"}  # fmt: skip
    if args is CHART:
        assert (config.max_sync_failures, config.resync_seconds) == (3, 30)
        assert config.node_labels == "pool=system,arch=amd64"
    else:
        assert config.default_params is not None and "linear" in config.default_params


def test_glog_names_take_either_separator_and_bare_booleans() -> None:
    parsed = parser().parse_args(["run", "--log_dir=/x", "--logtostderr", "--log_backtrace_at="])
    assert carried_over(parsed)[:2] == [
        "--logtostderr=true (the log goes to standard error always, as JSON lines)",
        "--log_dir=/x (no log files are written)",
    ]


@pytest.mark.parametrize(("arg", "message"), [
    ("--v=loud", "--v: 'loud': expected a whole number"),
    ("--logtostderr=yes", "--logtostderr: 'yes': expected true or false"),
    ("--stderrthreshold=LOUD", "--stderrthreshold: 'LOUD': expected INFO, WARNING"),
    ("--vmodule=autoscaler", "--vmodule: 'autoscaler': expected pattern=N"),
    ("--log-backtrace-at=main.go", "'main.go': expected FILE:LINE"),
    ("--max-sync-failures=-1", "--max-sync-failures: '-1'"),
    ("--v=4294967296", "--v: '4294967296': expected a whole number"),
])  # fmt: skip
def test_a_bad_cpa_flag_is_refused_in_one_line_as_cpa_would(
    capsys: pytest.CaptureFixture[str], arg: str, message: str
) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["run", arg])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_flags_without_a_command_are_cpas_args_for_run(tmp_path: Path) -> None:
    """The image's entry point is `scalers`: CPA's Deployment passes only flags."""
    result = subprocess.run(
        [*SCALERS, *ADDON, "--kubeconfig", str(tmp_path / "none")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith("scalers: no kubeconfig at")  # run's own check, reached


@pytest.mark.parametrize(("argv", "message"), [
    (["--bogus"], "scalers: error: unrecognized arguments: --bogus (flags without a command are "
                  "`scalers run`'s: see scalers run --help)"),
    (["--timezone", "UTC", "validate", "x"], "scalers: error: argument COMMAND: invalid choice"),
])  # fmt: skip
def test_flags_without_a_command_say_so_when_run_refuses_them(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """A command named anywhere is not CPA's args: the usual error, not run's."""
    with pytest.raises(SystemExit):
        main(argv)
    assert capsys.readouterr().err.startswith(message)


def run_against(server: FakeApiServer, tmp_path: Path, *flags: str) -> list[str]:
    """`scalers run` with `flags`, one replica, against `server`."""
    kubeconfig = tmp_path / "kubeconfig"
    server.write_kubeconfig(str(kubeconfig))
    return [*SCALERS, "run", "--kubeconfig", str(kubeconfig), "--health-port", "0",
            "--no-leader-elect", *flags]  # fmt: skip


def test_the_carried_over_flags_are_said_once_at_start(tmp_path: Path) -> None:
    with FakeApiServer() as server:
        process = subprocess.Popen(
            run_against(server, tmp_path, "--logtostderr=true", "--v=2"),
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        lines: list[dict[str, object]] = []
        reader = threading.Thread(
            target=lambda: lines.extend(map(json.loads, process.stderr or [])), daemon=True
        )
        reader.start()
        try:
            wait_for(lambda: any("flags accepted" in str(x["message"]) for x in lines), 20)
        finally:
            process.terminate()
            process.wait(timeout=20)
            reader.join(timeout=5)
    said = [line["message"] for line in lines if "flags accepted" in str(line["message"])]
    assert said == [
        "cluster-proportional-autoscaler's flags accepted, with no effect here: "
        "--logtostderr=true (the log goes to standard error always, as JSON lines); "
        "--v=2 (the log's level is --log-level)"
    ]


# Where SIGTERM can land, as a prelude to `scalers run` in the child.
ANOTHER_THREAD = """
import signal, threading, time
threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})  # threads started now inherit it
"""
INSIDE_STOP_WAIT = """
import signal, sys, threading
real = threading.Event.wait
def wait(self, timeout=None):
    if sys._getframe(1).f_globals["__name__"] == "scalers.controller":  # stop.wait()
        with self._cond:
            signal.raise_signal(signal.SIGTERM)
    return real(self, timeout)
threading.Event.wait = wait
"""


@pytest.mark.parametrize("prelude", [ANOTHER_THREAD, INSIDE_STOP_WAIT],
                         ids=["taken-by-another-thread", "inside-stop-wait"])  # fmt: skip
def test_sigterm_stops_run_wherever_it_lands(tmp_path: Path, prelude: str) -> None:
    """The kernel may give a process's SIGTERM to any thread that does not block it, and a
    Python handler only runs in the main thread, at its next bytecode: asleep in stop.wait(),
    that thread never would run it (the test above once hung so in a loaded run: SIGTERM
    caught, its handler never run). And a handler that ran inside stop.wait(), holding the
    lock stop.set() takes, would deadlock. Either way the process must end within 10 s."""
    code = prelude + "import sys\nfrom scalers.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    with FakeApiServer() as server:
        command = run_against(server, tmp_path, "--v=2")
        process = subprocess.Popen(
            [command[0], "-c", code, *command[len(SCALERS):]], stderr=subprocess.PIPE, text=True
        )  # fmt: skip
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(process.stderr or []), daemon=True)
        reader.start()
        try:
            wait_for(lambda: any("flags accepted" in x for x in lines), 20)  # handlers set
            process.terminate()
            assert process.wait(timeout=10) == 0  # the contract's 10 s
        finally:
            process.kill()
            process.wait()
            reader.join(timeout=5)


def test_sigterm_ends_run_within_10_s_with_a_write_the_server_never_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The schedule loop's writers are a thread pool, whose threads the interpreter joins at
    exit, daemon or not: a write under way at SIGTERM must end inside the shutdown deadline."""
    with FakeApiServer() as server:
        actions = json.dumps([{"schedule": "* * * * *", "minReplicas": 7, "maxReplicas": 30}])
        server.create(hpa("web", actions))  # caught up at start: a PATCH
        released = server.faults.stall("PATCH")
        stalled, wait = threading.Event(), server.faults.wait

        def waiting(method: str, path: str) -> None:
            if method == "PATCH":
                stalled.set()
            wait(method, path)

        monkeypatch.setattr(server.faults, "wait", waiting)
        process = subprocess.Popen(
            run_against(server, tmp_path, "--no-proportional-loop"),
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_for(stalled.is_set, 20)
            process.terminate()
            sent = time.monotonic()
            process.wait(timeout=20)
            assert time.monotonic() - sent < 10  # the contract's 10 s
            assert process.returncode == 0
        finally:
            process.kill()
            process.wait()
            released.set()


# -- --max-sync-failures -----------------------------------------------------------------------


def test_max_sync_failures_gives_up_after_so_many_poll_periods_of_failed_passes(
    server: FakeApiServer, clock: ManualClock, proportional
) -> None:
    add_nodes(server, 2)
    server.create(coredns_hpa())
    p = proportional(max_sync_failures=3, resync_seconds=10)  # and no ConfigMap: passes fail
    p.evaluate()
    clock.advance(10)
    p.evaluate()
    server.create(configmap({"linear": json.dumps({"nodesPerReplica": 1, "min": 1})}))
    clock.advance(10)
    p.evaluate()  # a good pass: the count starts again
    server.delete("v1", "ConfigMap", "kube-system", "dns-autoscaler")
    for _ in range(2):
        clock.advance(10)
        p.evaluate()
    clock.advance(10)
    with pytest.raises(GiveUp, match=r"3 poll periods in a row with a failed pass \(--max-sync-"
                       r"failures 3\); the last: no valid parameters in ConfigMap dns-autoscaler"):  # fmt: skip
        p.evaluate()


def test_failed_passes_woken_by_changes_count_once_per_poll_period(
    server: FakeApiServer, clock: ManualClock, proportional
) -> None:
    """Node churn wakes the loop more often than CPA polls: it must not hasten the exit."""
    p = proportional(max_sync_failures=2, resync_seconds=10)
    for _ in range(20):
        clock.advance(0.3)
        p.evaluate()  # 6 s of failed passes: one poll period
    clock.advance(4.2)
    p.evaluate()  # 9.9 s after the first counted: still the same period
    clock.advance(0.2)
    with pytest.raises(GiveUp, match="2 poll periods"):
        p.evaluate()


def test_a_missing_target_a_failed_write_and_a_broken_target_are_failed_passes(
    server: FakeApiServer, clock: ManualClock, proportional, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_nodes(server, 4)
    server.create(configmap({"linear": json.dumps({"nodesPerReplica": 1, "min": 1})}))
    p = proportional(max_sync_failures=2)
    p.evaluate()  # hpa/coredns not there
    clock.advance(10)
    with pytest.raises(GiveUp, match="target hpa/coredns not found in kube-system"):
        p.evaluate()
    server.create(coredns_hpa(max_replicas=10))
    q = proportional(max_sync_failures=2)
    server.faults.inject(status=500, count=100, method="PATCH")
    q.evaluate()
    clock.advance(10)
    with pytest.raises(GiveUp, match="writing hpa/coredns: "):
        q.evaluate()
    server.faults.clear()
    r = proportional(max_sync_failures=2)
    monkeypatch.setattr(r.loop, "_apply", lambda *_: 1 / 0)  # a bug met on the target
    r.evaluate()
    clock.advance(10)
    with pytest.raises(GiveUp, match="error on target hpa/coredns"):
        r.evaluate()


def test_unlimited_by_default(server: FakeApiServer, proportional) -> None:
    p = proportional()
    for _ in range(5):
        p.evaluate()  # no ConfigMap, no target: logged, never an exit


def test_the_runner_stops_every_loop_when_one_gives_up(
    server: FakeApiServer, clock: ManualClock
) -> None:

    class Quitter(ProportionalLoop):
        def evaluate(self, now, term):  # type: ignore[no-untyped-def]
            raise GiveUp("enough")

    kube = client_of(server)
    events = EventRecorder(None, clock)
    quitter = Quitter(kube, clock, events, Config(), leadership=Always())
    other = ScheduleLoop(kube, clock, events, ZoneInfo("UTC"))
    runner = Runner([quitter, other], clock)
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    thread.start()
    try:
        thread.join(timeout=20)
        assert not thread.is_alive() and stop.is_set()
    finally:
        stop.set()
    assert runner.gave_up == "proportional loop: enough"
    assert runner.restarts == {"proportional": 0, "schedule": 0}  # given up on, not restarted


def test_scalers_run_exits_1_with_the_reason(tmp_path: Path) -> None:
    with FakeApiServer() as server:
        result = subprocess.run(
            run_against(server, tmp_path, "--no-schedule-loop", "--max-sync-failures=1"),
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "scalers: proportional loop: 1 poll period in a row with a failed pass "
        "(--max-sync-failures 1); the last: "
        "no valid parameters in ConfigMap dns-autoscaler"
    )
