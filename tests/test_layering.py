"""The house's layering, checked from the source: the pure core (the schedule's and CPA's math,
the records both loops decide in) imports no I/O, so that it stays testable by table and
reusable by `plan` and `validate`; only the demo and the tests start the in-process API server."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "scalers"

PURE = [
    "manifests",  # reads files, nothing else
    "names",
    "outcome",
    "ownership",
    "plan",
    "resources",
    "proportional/gojson",
    "proportional/nodes",
    "proportional/params",
    "proportional/targets",
    "status",
    "schedule/agenda",
    "schedule/annotation",
    "schedule/calendar",
    "schedule/cron",
    "schedule/decide",
    "schedule/messages",
    "schedule/track",
]
# What the core may not reach: the adapter and the API client, time, logs, metrics, the shell.
SHELL = (
    "kubernetes",
    "urllib3",
    "logging",
    "prometheus_client",
    "scalers.kube",
    "scalers.clock",
    "scalers.log",
    "scalers.metrics",
    "scalers.report",
    "scalers.runner",
    "scalers.controller",
    "scalers.health",
    "scalers.cli",
    "scalers.fakeapi",
)


def imports(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("name", PURE)
def test_the_core_imports_no_io(name: str) -> None:
    reached = sorted(m for m in imports(PACKAGE / f"{name}.py") if within(m, SHELL))
    assert reached == [], f"scalers/{name}.py is pure but imports {reached}"


def test_the_core_list_names_every_module_that_exists() -> None:
    for name in PURE:
        assert (PACKAGE / f"{name}.py").is_file(), name


def test_only_the_demo_starts_the_in_process_api_server() -> None:
    users = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "fakeapi" not in path.parts
        and "demo" not in path.parts
        and any(within(m, ("scalers.fakeapi",)) for m in imports(path))
    )
    assert users == []


def test_the_check_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from kubernetes.client import ApiException\n")
    assert within("kubernetes.client.ApiException", SHELL)
    assert "kubernetes.client" in imports(module)
