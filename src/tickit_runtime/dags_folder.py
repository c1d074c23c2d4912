"""dbt's calls in a task process never see the DAGs folder, so dbt's plugin discovery does not import the DAG.

dbt-core looks for plugins by importing every top-level module whose name starts with `dbt_` on `sys.path`
(`dbt.plugins.manager`, once per process), and Airflow puts the DAGs folder (the DAG bundle's path) on it in
every task process. So the first dbt call of a task imported `dbt_tickit_medallion_dag.py` a second time,
under that plain name, and built the whole DAG again (about 0.6 s at 217 models), and any other `dbt_*.py` a
user keeps beside it. Cosmos does the same upstream (astronomer-cosmos#2893, after 1.15.1): the folder is
taken off `sys.path` for in-process dbt calls and off `PYTHONPATH` for dbt subprocesses, only while dbt runs.

Modules already imported from the folder keep working: a package's submodules are found through the
package's own `__path__` (on MWAA `tickit_runtime` itself ships in the DAGs folder).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any


def dags_folders(dag_file: str | None = None) -> set[str]:
    """The folders Airflow may have put on `sys.path` for DAG files: its DAGS_FOLDER and the DAG file's own."""
    found: set[str] = set()
    try:
        from airflow import settings

        found.add(os.path.realpath(os.path.expanduser(settings.DAGS_FOLDER)))
    except (ImportError, AttributeError):  # no Airflow here: only the DAG file's folder, if given
        pass
    if dag_file:
        found.add(os.path.realpath(Path(dag_file).parent))
    return found


def _kept(entries: Iterable[str], hidden: set[str]) -> list[str]:
    return [entry for entry in entries if os.path.realpath(entry or os.curdir) not in hidden]


@contextmanager
def hidden_from_dbt(dag_file: str | None = None) -> Iterator[None]:
    """While in use, the DAGs folder is on neither `sys.path` nor `PYTHONPATH`; both are restored after."""
    hidden = dags_folders(dag_file)
    saved_path = list(sys_path())
    saved_pythonpath = os.environ.get("PYTHONPATH")
    sys_path()[:] = _kept(saved_path, hidden)
    if saved_pythonpath is not None:
        os.environ["PYTHONPATH"] = os.pathsep.join(_kept(saved_pythonpath.split(os.pathsep), hidden))
    try:
        yield
    finally:
        # Restored as it was: entries added meanwhile by the task's own code stay too.
        current = sys_path()
        current[:] = saved_path + [entry for entry in current if entry not in saved_path]
        if saved_pythonpath is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved_pythonpath


def sys_path() -> list[str]:
    import sys

    return sys.path


class DbtWithoutDagsFolder:
    """Mixin for a Cosmos dbt operator: every dbt call it makes runs with the DAGs folder hidden."""

    def run_dbt_runner(self, command: list[str], env: dict[str, str], cwd: str, **kwargs: Any) -> Any:
        with hidden_from_dbt(_dag_file(self)):
            return super().run_dbt_runner(command, env, cwd, **kwargs)  # type: ignore[misc]

    def run_subprocess(self, command: list[str], env: dict[str, str], cwd: str, **kwargs: Any) -> Any:
        hidden = dags_folders(_dag_file(self))
        if env.get("PYTHONPATH"):
            env = {**env, "PYTHONPATH": os.pathsep.join(_kept(env["PYTHONPATH"].split(os.pathsep), hidden))}
        with hidden_from_dbt(_dag_file(self)):
            return super().run_subprocess(command, env, cwd, **kwargs)  # type: ignore[misc]


# The producer is Cosmos' own operator: its whole execute runs with the folder hidden, from its pre_execute
# to its post_execute (a build that failed skips post_execute; its task process ends right after).
_hidden_for: dict[int, ExitStack] = {}


def hide_for_task(context: Any) -> None:
    """A `pre_execute`: hide the DAGs folder from the dbt calls of the whole task."""
    stack = ExitStack()
    task = context.get("task") if hasattr(context, "get") else None
    stack.enter_context(hidden_from_dbt(_dag_file(task)))
    _hidden_for[id(context["ti"])] = stack


def restore_after_task(context: Any) -> None:
    """The matching `post_execute`."""
    stack = _hidden_for.pop(id(context["ti"]), None)
    if stack is not None:
        stack.close()


def _dag_file(operator: Any) -> str | None:
    dag = getattr(operator, "dag", None)
    return getattr(dag, "fileloc", None) if dag is not None else None
