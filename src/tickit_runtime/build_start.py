"""On DuckDB the shared build starts with the run: it readies dbt while the raw files load, and builds the moment the
load succeeded.

Started after `load_raw`, the producer cost the article's 17-model run about two seconds between the load's last
file and the build's first model: a task start (the scheduler noticing the load's end, a worker's process, the DAG
parsed again) and dbt's first call in a new process (its lazy imports, its configuration's schemas, its templates),
whereas a second call in the same process starts its first model in a fraction of the time (docs/decisions/044).

So where the model tasks wait in the triggerer on DuckDB (the same condition as the freshness check in the build,
freshness.py), the producer's trigger rule is "always", as Cosmos makes its consumers': it starts with the run,
makes a first dbt call that touches no warehouse (`dbt parse`, into a folder of its own, from the partial parse
Cosmos keeps for the build), then waits for `load_raw`'s state and builds once it is a success. A load that failed
for good (its retries spent) ends the producer skipped before any dbt build: nothing is built on a half-loaded
warehouse, and the models' tasks are upstream_failed through the load, as before.

The graph keeps `load_raw` upstream of the producer, so clearing the load with its downstream tasks clears the
build too, and the model tasks still hang off the load. The load's task lets go of the DuckDB file before it reports
success (in_process_dbt.release_warehouse): the build opens it a moment later.

Readying dbt is only an optimisation: if it fails, the build starts as it did, and the log says why.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tickit_runtime import in_process_dbt, pacing
from tickit_runtime.model_trigger import task_states

# The states in which the load is over without success: the build must not run.
LOAD_FAILED = frozenset({"failed", "upstream_failed", "skipped", "removed"})
# Seconds between two readings of the load's state (a request to the API server each): 0.2 s at first, up to 1 s
# as the wait lasts (pacing.py). A short load's end is seen within 0.2 s; a long one's readings stop taking the API
# server's CPU from the load five times a second (for minutes at scale 100), for at most 1 s more of waiting.
POLL_SECONDS = 0.2
MAX_POLL_SECONDS = 1.0
PARTIAL_PARSE = "partial_parse.msgpack"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildStart:
    """Part of the producer's `pre_execute`: ready dbt, then wait for `load_task_id` to succeed."""

    load_task_id: str
    project_dir: str
    profiles_dir: str
    profile: str
    target: str
    # Whether the build's dbt runs in this process (Cosmos' DBT_RUNNER): only then is there anything to ready.
    in_process: bool
    poll_seconds: float = POLL_SECONDS
    max_poll_seconds: float = MAX_POLL_SECONDS

    def __call__(self, context: Any) -> None:
        task = context["ti"].task
        if self.in_process:
            self.ready_dbt(env=task.get_env(context), dbt_vars=task.vars, cache_dir=getattr(task, "cache_dir", None))
        self.wait_for_load(context)

    def parse_command(self, work: str, dbt_vars: Mapping[str, Any] | None) -> list[str]:
        """`dbt parse` with the build's own profile, target and vars, writing only into `work`."""
        flags = in_process_dbt.build_flags(
            self.project_dir,
            profiles_dir=self.profiles_dir,
            profile=self.profile,
            target=self.target,
            dbt_vars=dbt_vars,
        )
        flags += ["--target-path", f"{work}/target", "--log-path", f"{work}/logs"]
        # As Cosmos runs the build in-process; no manifest.json written: nothing reads it (a second of CPU at 1,017
        # models, taken from the load beside it).
        return ["parse", *flags, "--no-static-parser", "--no-write-json"]

    def ready_dbt(self, *, env: Mapping[str, Any], dbt_vars: Mapping[str, Any] | None, cache_dir: Any) -> None:
        """A first dbt call in this process, which opens no warehouse; the build's call is then a second one.

        From the partial parse Cosmos keeps for the build: without it dbt would parse the whole project, a CPU's
        seconds taken from the load beside it, so then nothing is readied."""
        cached = Path(str(cache_dir)) / "target" / PARTIAL_PARSE if cache_dir else None
        if cached is None or not cached.is_file():
            log.info("No partial parse of the project kept yet: dbt is not readied before the build.")
            return
        started = time.monotonic()
        work = tempfile.mkdtemp(prefix="tickit-build-start-")
        try:
            (Path(work) / "target").mkdir()
            shutil.copyfile(cached, Path(work) / "target" / PARTIAL_PARSE)
            result = in_process_dbt.invoke(self.parse_command(work, dbt_vars), env=env, cwd=work)
            if not result.success:
                log.warning("Readying dbt before the build failed (%s); the build starts as usual.", result.exception)
                return
        except Exception:
            log.warning("Readying dbt before the build failed; the build starts as usual.", exc_info=True)
            return
        finally:
            shutil.rmtree(work, ignore_errors=True)
        log.info("dbt readied for the build in %.1f s, while %s runs.", time.monotonic() - started, self.load_task_id)

    def wait_for_load(self, context: Any) -> None:
        """Return once the load succeeded; end the producer skipped if it failed for good. Within the producer's
        execution_timeout (Airflow's own bound covers `execute`, not this)."""
        from airflow.exceptions import AirflowException  # type: ignore[attr-defined]  # see model_task.py
        from cosmos.airflow.compatibility import AirflowSkipException

        ti = context["ti"]
        bound = ti.task.execution_timeout.total_seconds() if ti.task.execution_timeout else None
        started = time.monotonic()
        said = False
        while True:
            state = self._load_state(ti)
            if state == "success":
                if said:
                    waited = time.monotonic() - started
                    log.info("%s succeeded after %.1f s more: the build starts.", self.load_task_id, waited)
                return
            if state in LOAD_FAILED:
                raise AirflowSkipException(
                    f"Task {self.load_task_id} ended {state}: nothing is built on a warehouse whose raw tables did "
                    f"not load. Its log says why; once a cleared {self.load_task_id} succeeds, each model's task "
                    "builds its model."
                )
            if bound is not None and time.monotonic() - started > bound:
                raise AirflowException(
                    f"Task {self.load_task_id} did not succeed within this task's execution_timeout ({bound:.0f} s), "
                    f"so the build did not start. Check task {self.load_task_id}: is it still running, and what "
                    "does its log say last?"
                )
            if not said:
                log.info("Waiting for task %s to load the raw tables before building.", self.load_task_id)
                said = True
            time.sleep(self.poll_delay(time.monotonic() - started))

    def poll_delay(self, waited: float) -> float:
        """Seconds until the next reading of the load's state, `waited` seconds into the wait."""
        return pacing.pause(self.poll_seconds, waited, self.max_poll_seconds)

    def _load_state(self, ti: Any) -> str | None:
        return task_states(ti.dag_id, ti.run_id, [self.load_task_id])[self.load_task_id]
