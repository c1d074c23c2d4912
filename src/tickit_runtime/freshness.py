"""On DuckDB the sources' freshness is checked by the shared build's own process, right after its `dbt build`.

As a task of its own after the build (decision 039), the check cost every run on DuckDB a task start and a dbt
start past the last model: 3.7-3.9 s at the end of the article's 17-model run (benchmarks/README.md). The
build's process already has dbt loaded and the project parsed, and holds the warehouse; there a second dbt
call (`dbt source freshness`, dbt's partial parse) takes a fraction of a second.

So the producer runs it as the last of its callbacks (Cosmos calls them after a build with failed models too)
and publishes its verdict as it publishes each model's (build_results.py), under `FRESHNESS_NODE`'s key.
`source_freshness` waits for that verdict in the triggerer as a model's task waits for its model
(`ModelTrigger`) and ends there. It runs the check itself, in a worker and under the writer lock, as before,
whenever the producer did not report a pass: a freshness error (so the task's log says it in dbt's words), a
build that ended without reaching its callbacks, a check that could not run.

This module ships to MWAA with the DAG; there the check runs beside the build (PostgreSQL and Redshift take
both at once), so nothing here runs.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tickit_runtime import in_process_dbt
from tickit_runtime.artifacts import SOURCES_FILE, HistoryConfig, keep_artifacts
from tickit_runtime.build_results import publish_now, publish_result
from tickit_runtime.cosmos_watcher import get_status_xcom_key

# Not a dbt node: dbt's unique ids start with their resource type (model., test., source., ...), and none is
# "check". Its status key is read and published as a model's is.
FRESHNESS_NODE = "check.dbt_tickit.source_freshness"
# Where dbt writes the check's results in the project it ran in (dbt 1.11 deprecates `--output` for this command).
SOURCES_IN_PROJECT = f"target/{SOURCES_FILE}"
PASSED = "pass"
FAILED = "error"

log = logging.getLogger(__name__)


def freshness_status_key() -> str:
    return str(get_status_xcom_key(FRESHNESS_NODE))


@dataclass(frozen=True)
class FreshnessAfterBuild:
    """Cosmos callback of the shared `dbt build`: check the sources' freshness in the build's project copy and
    publish the verdict for `source_freshness`; the check's sources.json kept as the task's would be."""

    sources_json: str
    profiles_dir: str
    profile: str
    target: str
    dbt_executable: str
    in_process: bool
    history: HistoryConfig

    def __call__(self, project_dir: str, context: Mapping[str, Any] | None = None, **_: Any) -> None:
        if context is None:
            return
        # The models' last results go out first: the check must not hold a model task's end back.
        publish_now(context)
        task = context["ti"].task
        try:
            passed = self.check(project_dir, env=task.get_env(context), dbt_vars=task.vars)
        except Exception:
            log.warning("The freshness check after the build failed; task source_freshness runs it.", exc_info=True)
            return
        if passed is None:
            log.warning("dbt could not check the sources' freshness after the build; task source_freshness runs it.")
            return
        publish_result(context, freshness_status_key(), PASSED if passed else FAILED)
        log.info(
            "Source freshness checked after the build: %s.",
            "passed (or warned)" if passed else "an error; task source_freshness runs the check again to say it",
        )
        KeepSourcesJson(self.sources_json)(project_dir)
        keep_artifacts(
            project_dir,
            location=self.history.location,
            keep=self.history.keep,
            files={SOURCES_FILE: SOURCES_IN_PROJECT},
            context=context,
        )

    def command(self, project_dir: str, dbt_vars: Mapping[str, Any] | None) -> list[str]:
        """`dbt source freshness` with the build's own flags: the same vars keep dbt's partial parse valid."""
        flags = in_process_dbt.build_flags(
            project_dir, profiles_dir=self.profiles_dir, profile=self.profile, target=self.target, dbt_vars=dbt_vars
        )
        if self.in_process:
            flags.append("--no-static-parser")  # as Cosmos runs the build in-process
        return ["source", "freshness", *flags]

    def check(self, project_dir: str, *, env: Mapping[str, Any], dbt_vars: Mapping[str, Any] | None) -> bool | None:
        """Whether every source passed or warned; None when dbt could not check them at all."""
        command = self.command(project_dir, dbt_vars)
        if self.in_process:
            result = in_process_dbt.invoke(command, env=env, cwd=project_dir)
            return None if result.exception is not None else bool(result.success)
        plain_env = {str(k): str(v) for k, v in env.items()}
        done = subprocess.run([self.dbt_executable, *command], env=plain_env, cwd=project_dir, check=False)
        # dbt's exit codes: 0 success, 1 a source past its error_after, 2 dbt itself failed.
        return {0: True, 1: False}.get(done.returncode)


@dataclass(frozen=True)
class KeepSourcesJson:
    """Cosmos callback of a freshness check: dbt's sources.json copied to where the run's summary reads it."""

    path: str

    def __call__(self, project_dir: str, **_: Any) -> None:
        source = Path(project_dir) / SOURCES_IN_PROJECT
        if not source.is_file():
            log.warning("dbt wrote no %s in %s; the run's summary shows no freshness.", SOURCES_FILE, project_dir)
            return
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, self.path)
