"""The process environment is read where a process starts, not wherever a value happens to be needed (issue 21).

A command reads it once (`Settings.from_env`, which builds the DAG's configuration from the same mapping);
Airflow's processes read what `DagConfig.to_env` wrote (`DagConfig.from_env`). Every other read of
`os.environ` is listed here with why it stays, so a new one is a decision, not a drift.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import tickit_platform
import tickit_runtime

# Both packages: the tool's and the runtime's (what runs inside Airflow).
SRC = Path(tickit_platform.__file__).parents[1]
PACKAGES = (Path(tickit_platform.__file__).parent, Path(tickit_runtime.__file__).parent)

# file (relative to src/) -> (reads, why it stays)
ALLOWED: dict[str, tuple[int, str]] = {
    # The entry points: the CLI's one read, and the DAG file's in Airflow's processes (MWAA's too).
    "tickit_platform/settings.py": (1, "Settings.from_env's default: the CLI reads its environment once per command"),
    "tickit_runtime/config.py": (1, "DagConfig.from_env's default: what to_env wrote, read by Airflow's processes"),
    "tickit_runtime/internals/gate.py": (
        1,
        "TICKIT_AIRFLOW_CHANGES, read where an Airflow component starts, as MWAA's airflow_local_settings runs",
    ),
    "tickit_runtime/alerts/notifiers.py": (1, "AIRFLOW_ENV_NAME, read in the Airflow process sending the alert"),
    "tickit_platform/deploy/rehearsal/worker_hostname.py": (
        1,
        "copied alone beside the rehearsal's Airflow; runs in its worker",
    ),
    # A child process's environment: the whole environment handed on, plus or minus a few names.
    "tickit_platform/local/airflow.py": (1, "the local Airflow's processes start from the CLI's environment"),
    "tickit_platform/local/warm_airflow.py": (
        3,
        "the components' environment, while their modules are imported and in each fork; the API server's own "
        "address, where it starts",
    ),
    "tickit_platform/dbt_project/docs.py": (1, "the dbt process that writes the docs"),
    "tickit_platform/dbt_project/manifest.py": (1, "the dbt process that parses the project"),
    "tickit_runtime/dags_folder.py": (
        4,
        "a task's PYTHONPATH without the DAGs folder while dbt runs (dbt's plugin discovery), restored after",
    ),
    "tickit_runtime/in_process_dbt.py": (
        4,
        "the shared build's own dbt calls in its process (readying dbt before the build, the freshness check after "
        "it): the build's dbt environment set while dbt runs (as Cosmos sets it for the build), restored after",
    ),
    "tickit_platform/commands/dbt.py": (1, "`tickit dbt` hands dbt the caller's environment"),
    "tickit_platform/deploy/wheelhouse.py": (1, "pip, downloading the bundle's wheels"),
    "tickit_platform/deploy/rehearsal/rehearse.py": (
        2,
        "what an MWAA worker keeps from the machine: locale, proxies, pip's index",
    ),
    "tickit_platform/deploy/rehearsal/runtime.py": (2, "pyenv's root, to find MWAA's Python; pip building the runtime"),
}


def _reads(path: Path) -> int:
    """How many times the module names `os.environ` (attribute access, calls and subscripts alike)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return sum(
        1
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "environ"
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    )


def _found() -> dict[str, int]:
    counts: Counter[str] = Counter()
    for path in sorted(p for package in PACKAGES for p in package.rglob("*.py")):
        n = _reads(path)
        if n:
            counts[path.relative_to(SRC).as_posix()] = n
    return dict(counts)


def test_os_environ_is_read_only_where_a_process_starts_or_hands_its_environment_on() -> None:
    assert _found() == {name: reads for name, (reads, _why) in ALLOWED.items()}


def test_the_checker_counts_every_form_of_read(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import os\na = os.environ['X']\nb = os.environ.get('Y')\nc = {**os.environ}\nd = 'os.environ'\n")
    assert _reads(module) == 3
