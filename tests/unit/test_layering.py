"""The package's import graph runs one way: each room imports only the rooms below it.

Read from the source (every import, those under TYPE_CHECKING and inside functions included), so a
module cannot reach up by importing late. docs/decisions/026-rooms.md says why the rooms are ordered so.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import tickit_platform

PACKAGE = Path(tickit_platform.__file__).parent

# Lowest first. A room may import its own modules and those of any room in an earlier layer; never one
# of its own layer's other rooms, never a later one. orchestration/ is low because it is the DAG's code,
# shipped to MWAA alone: it leans on the home's layout and on nothing of the CLI. The CLI's settings sit
# just above it, because they hold the DAG's configuration (`Settings.dag`), built with them once.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "paths"),
    ("envvars", "home"),
    ("orchestration",),
    ("settings",),
    ("data", "dbt_project", "warehouse"),
    ("history",),
    ("reporting",),
    ("local",),
    ("deploy",),
    ("console",),
    ("commands",),
    ("cli",),
)
LAYER = {room: i for i, rooms in enumerate(LAYERS) for room in rooms}


def _room(module: str) -> str:
    """tickit_platform.history.runs -> history; tickit_platform.cli -> cli."""
    return module.split(".")[1]


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[str]:
    """Every tickit_platform module `path` imports, `from tickit_platform import x` read as the module x."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.startswith("tickit_platform."))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "tickit_platform":
                yield from (f"tickit_platform.{alias.name}" for alias in node.names)
            elif node.module.startswith("tickit_platform."):
                yield node.module


def _arrows() -> list[tuple[str, str]]:
    """(importer, imported) for every import of one room by another."""
    arrows = []
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = _module(path)
        if importer == "tickit_platform":
            continue
        for imported in _imports(path):
            if _room(imported) != _room(importer):
                arrows.append((importer, imported))
    return arrows


def test_every_room_has_a_layer() -> None:
    rooms = {_room(_module(p)) for p in PACKAGE.rglob("*.py") if _module(p) != "tickit_platform"}
    assert rooms == set(LAYER), "a new module or package needs its place in LAYERS"


def test_no_import_runs_back_up_or_sideways() -> None:
    arrows = _arrows()
    assert arrows, "the graph was not read"
    wrong = [
        f"{importer} -> {imported}" for importer, imported in arrows if LAYER[_room(imported)] >= LAYER[_room(importer)]
    ]
    assert wrong == []


def test_reporting_and_history_read_the_record_and_never_the_launcher() -> None:
    arrows = _arrows()
    assert [f"{a} -> {b}" for a, b in arrows if _room(a) in {"reporting", "history"} and _room(b) == "local"] == []
    # history/ sits below reporting/: the one arrow between them runs down.
    assert [f"{a} -> {b}" for a, b in arrows if _room(a) == "history" and _room(b) == "reporting"] == []
    assert any(_room(a) == "reporting" and _room(b) == "history" for a, b in arrows)


def test_no_private_name_is_imported_from_another_room() -> None:
    private = []
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = _module(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            crosses = (
                isinstance(node, ast.ImportFrom)
                and node.module is not None
                and node.module.startswith("tickit_platform.")
                and (importer == "tickit_platform" or _room(node.module) != _room(importer))
            )
            if crosses:
                private += [f"{importer}: {node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
    assert private == []


def test_the_checker_sees_an_arrow_running_up(tmp_path: Path) -> None:
    """The rule catches what it is for: a history module importing the launcher."""
    module = tmp_path / "bad.py"
    module.write_text("from tickit_platform.local.runner import run_dag\nfrom tickit_platform import console\n")
    assert list(_imports(module)) == ["tickit_platform.local.runner", "tickit_platform.console"]
    assert LAYER[_room("tickit_platform.local.runner")] > LAYER["history"]


def test_local_processes_and_api_client_sit_below_the_components() -> None:
    """Inside local/: the process bookkeeping knows no Airflow, the REST client no launcher (local/airflow.py)."""
    local = PACKAGE / "local"
    assert [m for m in _imports(local / "processes.py") if _room(m) == "local"] == []
    assert [m for m in _imports(local / "api_client.py") if _room(m) == "local"] == ["tickit_platform.local.processes"]
