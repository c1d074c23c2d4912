"""The import graph runs one way: the tool (`tickit_platform`) imports the runtime (`tickit_runtime`), never
the reverse, and inside each package every room imports only the rooms below it.

Read from the source (every import, those under TYPE_CHECKING and inside functions included), so a
module cannot reach up by importing late. docs/decisions/026-rooms.md says why the tool's rooms are ordered
so, docs/decisions/038-the-runtime-and-the-tool.md why the runtime is a package of its own.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import tickit_platform
import tickit_runtime

PACKAGE = Path(tickit_platform.__file__).parent
RUNTIME = Path(tickit_runtime.__file__).parent
SRC = PACKAGE.parent
OURS = ("tickit_platform", "tickit_runtime")

# Lowest first. A room may import its own modules and those of any room in an earlier layer; never one
# of its own layer's other rooms, never a later one. The runtime comes first: it runs inside Airflow and
# ships to MWAA alone, so it leans on nothing of the tool. Inside it, the modules the tool shares
# (errors, paths, the settings' names, the home's layout) sit below the rest, which is one room: the DAG,
# its tasks and trigger, the alerts and the changes to Airflow's internals. The CLI's settings sit just
# above the runtime, because they hold the DAG's configuration (`Settings.dag`), built with them once.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("tickit_runtime.errors", "tickit_runtime.paths"),
    ("tickit_runtime.envvars", "tickit_runtime.home"),
    ("tickit_runtime",),
    ("settings",),
    ("data",),
    ("dbt_project", "warehouse"),
    ("history",),
    ("reporting",),
    ("local",),
    ("deploy",),
    ("console",),
    ("commands",),
    ("cli",),
)
LAYER = {room: i for i, rooms in enumerate(LAYERS) for room in rooms}
RUNTIME_BASE = {room.split(".")[1] for rooms in LAYERS[:2] for room in rooms}


def _room(module: str) -> str:
    """tickit_platform.history.runs -> history; tickit_runtime.paths -> tickit_runtime.paths; any other
    runtime module -> tickit_runtime."""
    package, _, rest = module.partition(".")
    first = rest.split(".")[0]
    if package == "tickit_runtime":
        return f"tickit_runtime.{first}" if first in RUNTIME_BASE else "tickit_runtime"
    return first


def _module(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[str]:
    """Every module of ours `path` imports, `from tickit_platform import x` read as the module x."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.split(".")[0] in OURS)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module in OURS:
                yield from (f"{node.module}.{alias.name}" for alias in node.names)
            elif node.module.split(".")[0] in OURS:
                yield node.module


def _sources() -> list[Path]:
    return sorted(p for package in (PACKAGE, RUNTIME) for p in package.rglob("*.py"))


def _arrows() -> list[tuple[str, str]]:
    """(importer, imported) for every import of one room by another."""
    arrows = []
    for path in _sources():
        importer = _module(path)
        if importer == "tickit_platform":
            continue
        for imported in _imports(path):
            if _room(imported) != _room(importer):
                arrows.append((importer, imported))
    return arrows


def test_every_room_has_a_layer() -> None:
    rooms = {_room(_module(p)) for p in _sources() if _module(p) != "tickit_platform"}
    assert rooms == set(LAYER), "a new module or package needs its place in LAYERS"


def test_no_import_runs_back_up_or_sideways() -> None:
    arrows = _arrows()
    assert arrows, "the graph was not read"
    wrong = [
        f"{importer} -> {imported}" for importer, imported in arrows if LAYER[_room(imported)] >= LAYER[_room(importer)]
    ]
    assert wrong == []


def test_the_runtime_names_nothing_of_the_tool() -> None:
    """Not by an import, nor by a module path in a string (importlib, a class path): on MWAA the tool is absent."""
    found = []
    for path in sorted(RUNTIME.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(owner.body[0].value)
            for owner in (tree, *(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef | ast.FunctionDef)))
            if owner.body and isinstance(owner.body[0], ast.Expr) and isinstance(owner.body[0].value, ast.Constant)
        }
        found += [f"{path.name}: {m}" for m in _imports(path) if m.startswith("tickit_platform")]
        found += [
            f"{path.name}:{node.lineno}: {node.value!r}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and "tickit_platform" in node.value
            and id(node) not in docstrings
        ]
    assert found == []


def test_the_tool_imports_the_runtime() -> None:
    """The arrow that must exist, so that the rule above is not met by two packages that never meet."""
    assert any(a.startswith("tickit_platform.") and b.startswith("tickit_runtime.") for a, b in _arrows())


def test_reporting_and_history_read_the_record_and_never_the_launcher() -> None:
    arrows = _arrows()
    assert [f"{a} -> {b}" for a, b in arrows if _room(a) in {"reporting", "history"} and _room(b) == "local"] == []
    # history/ sits below reporting/: the one arrow between them runs down.
    assert [f"{a} -> {b}" for a, b in arrows if _room(a) == "history" and _room(b) == "reporting"] == []
    assert any(_room(a) == "reporting" and _room(b) == "history" for a, b in arrows)


def test_no_private_name_is_imported_from_another_room() -> None:
    private = []
    for path in _sources():
        importer = _module(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            crosses = (
                isinstance(node, ast.ImportFrom)
                and node.module is not None
                and node.module.split(".")[0] in OURS
                and (importer in OURS or _room(node.module) != _room(importer))
            )
            if crosses:
                private += [f"{importer}: {node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
    assert private == []


def test_the_checker_sees_an_arrow_running_up(tmp_path: Path) -> None:
    """The rule catches what it is for: a history module importing the launcher, the runtime the tool."""
    module = tmp_path / "bad.py"
    module.write_text(
        "from tickit_platform.local.runner import run_dag\nfrom tickit_platform import console\n"
        "import tickit_platform.settings\n"
    )
    assert sorted(_imports(module)) == [
        "tickit_platform.console",
        "tickit_platform.local.runner",
        "tickit_platform.settings",
    ]
    assert LAYER[_room("tickit_platform.local.runner")] > LAYER["history"]
    assert LAYER[_room("tickit_platform.settings")] > LAYER[_room("tickit_runtime.model_trigger")]
    assert _room("tickit_runtime.internals.gate") == "tickit_runtime"
    assert _room("tickit_runtime.envvars") == "tickit_runtime.envvars"


def test_local_processes_and_api_client_sit_below_the_components() -> None:
    """Inside local/: the process bookkeeping knows no Airflow, the REST client no launcher (local/airflow.py)."""
    local = PACKAGE / "local"
    assert [m for m in _imports(local / "processes.py") if _room(m) == "local"] == []
    assert [m for m in _imports(local / "api_client.py") if _room(m) == "local"] == ["tickit_platform.local.processes"]
