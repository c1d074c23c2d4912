"""Run the DAG once under a real local Airflow and report what every task did."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tickit_platform.dbt_project.manifest import ensure_manifest
from tickit_platform.history.record import DagRunResult, TaskOutcome
from tickit_platform.local.airflow import LocalAirflow
from tickit_platform.local.api_client import AirflowApi
from tickit_platform.local.memory import PeakMemory
from tickit_platform.local.resident import adopt, resident_session
from tickit_runtime.alerts.messages import run_failure_subject
from tickit_runtime.alerts.settings import AlertSettings
from tickit_runtime.config import DAG_ID, DagConfig

RUN_ID_PREFIX = "tickit_run__"
# How long a failed run waits for its alert, which the DAG processor sends a few seconds after the run ended.
RUN_ALERT_TIMEOUT = 60.0
# How long the end of a run on DuckDB waits at most for a task's exiting process to let go of the warehouse.
WRITER_LET_GO_TIMEOUT = 30.0
ProgressCallback = Callable[[list[dict[str, Any]]], None]


def local_airflow(
    config: DagConfig, *, parallelism: int = 24, sql_alchemy_conn: str | None = None, dags_folder: Path | None = None
) -> LocalAirflow:
    airflow = LocalAirflow(
        airflow_home=config.layout.airflow,
        dag_env=config.to_env(),
        parallelism=parallelism,
        sql_alchemy_conn=sql_alchemy_conn,
        cosmos_cache_dir=config.layout.cosmos_cache,
        dbt_docs_dir=config.layout.docs,
    )
    if dags_folder is not None:  # the benchmark's and tests' own DAGs folders
        airflow.dags_folder = dags_folder
    return airflow


@contextmanager
def started_airflow(
    config: DagConfig, *, stop_later: ExitStack | None = None, **kwargs: Any
) -> Iterator[tuple[LocalAirflow, AirflowApi]]:
    """Parse the project if it changed, then use the Airflow `tickit up` keeps running (local/resident.py)
    or start one, wait for the DAG, and stop it on the way out. With `stop_later`, the components are only
    asked to end on the way out, and `stop_later` waits for them when it closes: they shut down while the
    caller reads the warehouse and writes its report."""
    ensure_manifest(config)
    config.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    resident = adopt(local_airflow(config, **kwargs), config)
    if resident is not None:
        with resident_session(resident, config, on_interrupt=_fail_our_runs) as started:
            yield started
        return
    airflow = local_airflow(config, **kwargs)
    try:
        airflow.start()  # inside: what a failed start did start is stopped too
        api = airflow.api()
        api.warm_execution_api()
        api.wait_for_dag(DAG_ID)
        yield airflow, api
    finally:
        if stop_later is None:
            airflow.stop()
        else:
            airflow.begin_stop()
            stop_later.callback(airflow.stop)


def _fail_our_runs(api: AirflowApi) -> None:
    api.fail_unfinished_runs(DAG_ID, RUN_ID_PREFIX)


def task_log_path(logs_dir: Path, run_id: str, task_id: str, try_number: int | None) -> Path:
    """The log file of a task's latest attempt, laid out as Airflow's default log template writes it."""
    attempt = max(int(try_number or 1), 1)
    return logs_dir / f"dag_id={DAG_ID}" / f"run_id={run_id}" / f"task_id={task_id}" / f"attempt={attempt}.log"


def outcomes(airflow: LocalAirflow, api: AirflowApi, run_id: str) -> tuple[TaskOutcome, ...]:
    result = []
    for ti in sorted(api.task_instances(DAG_ID, run_id), key=lambda t: t.get("start_date") or "~"):
        result.append(
            TaskOutcome(
                task_id=ti["task_id"],
                state=ti["state"],
                duration=ti.get("duration"),
                try_number=int(ti.get("try_number") or 0),
                start_date=ti.get("start_date"),
                end_date=ti.get("end_date"),
                log_path=task_log_path(airflow.logs_dir, run_id, ti["task_id"], ti.get("try_number")),
                hostname=ti.get("hostname") or None,
            )
        )
    return tuple(result)


def trigger_and_wait(
    airflow: LocalAirflow,
    api: AirflowApi,
    *,
    on_change: ProgressCallback | None = None,
    conf: dict[str, Any] | None = None,
    timeout: float = 3600.0,
) -> DagRunResult:
    # A `tickit run` has its Airflow to itself: a run of an earlier one still unfinished was abandoned
    # (Ctrl-C, a kill), and resuming its tasks beside the new run would only delay it (max_active_runs=1).
    for abandoned in api.fail_unfinished_runs(DAG_ID, RUN_ID_PREFIX):
        airflow.say(f"Marked failed the unfinished run {abandoned} of an earlier, interrupted tickit.")
    now = datetime.now(UTC)
    run_id = f"{RUN_ID_PREFIX}{now.strftime('%Y%m%dT%H%M%S%f')}"
    started = time.monotonic()
    api.trigger(DAG_ID, run_id, now.isoformat(), conf)
    state = api.wait_run(DAG_ID, run_id, on_change=on_change, timeout=timeout, supervise=airflow.supervise)
    _wait_for_the_tasks_to_let_go(airflow)
    seconds = time.monotonic() - started
    if state == "failed" and not airflow.resident:  # a resident Airflow sends it later, on its own
        wait_for_run_alert(airflow, run_id)
    return DagRunResult(run_id, state, seconds, outcomes(airflow, api, run_id), started_at=now.isoformat())


def wait_for_run_alert(airflow: LocalAirflow, run_id: str, timeout: float = RUN_ALERT_TIMEOUT) -> None:
    """A failed run's alert is sent by the DAG processor a few seconds after the run ended: stopping Airflow
    at once would lose it. Wait for one line per channel (sent or not) in the DAG processor's log."""
    channels = AlertSettings.from_env(airflow.dag_env).channels()
    if not channels:
        return
    subject = run_failure_subject(DAG_ID, run_id)
    airflow.say(f"Sending the failed run's alert ({', '.join(channels)})…")
    done = airflow.wait_for_log_lines("dag_processor", subject, len(channels), timeout)
    if done < len(channels):
        airflow.say(
            f"tickit: the failed run's alert was not confirmed on every channel within {timeout:.0f} s; "
            f"see the DAG processor's log under {airflow.logs_dir / 'dag_processor'}"
        )


def wait_existing(
    airflow: LocalAirflow,
    api: AirflowApi,
    run_id: str,
    on_change: ProgressCallback | None = None,
    timeout: float = 1800.0,
) -> DagRunResult:
    started = time.monotonic()
    state = api.wait_run(DAG_ID, run_id, on_change=on_change, timeout=timeout, supervise=airflow.supervise)
    _wait_for_the_tasks_to_let_go(airflow)
    return DagRunResult(run_id, state, time.monotonic() - started, outcomes(airflow, api, run_id))


def _wait_for_the_tasks_to_let_go(airflow: LocalAirflow) -> None:
    """After a run on DuckDB, wait until its tasks' processes let go of the warehouse (each as it exits,
    after Airflow recorded its end), so that whoever reads it next finds it free: the summary, the report, a
    test. Seen on a busy two-core machine: a read right after the run's end met a task's process still
    exiting. Another program holding the file is named by that reader."""
    from tickit_platform.warehouse.availability import wait_for_writer_to_let_go

    if path := airflow.dag_env.get("DBT_DUCKDB_PATH"):
        wait_for_writer_to_let_go(Path(path), WRITER_LET_GO_TIMEOUT)


def run_dag(
    config: DagConfig,
    *,
    on_change: ProgressCallback | None = None,
    conf: dict[str, Any] | None = None,
    stop_later: ExitStack | None = None,
    meanwhile: Callable[[], None] | None = None,
    **kwargs: Any,
) -> DagRunResult:
    """Start Airflow, run the DAG once, stop Airflow (or with `stop_later`, begin to: started_airflow); the
    result says what every task did, and the peak memory of the whole run (this process, Airflow's components
    and all they started, sampled from the trigger on: no thread may run while the components are forked,
    docs/decisions/027). `meanwhile` runs in a thread of its own from the trigger on: the caller's preparation
    for what follows the run (importing what draws the report), on CPU the run leaves idle; an error in it is
    left for the caller's own call to meet."""
    asked = time.monotonic()
    with started_airflow(config, stop_later=stop_later, **kwargs) as (airflow, api):
        ready = time.monotonic() - asked
        with PeakMemory(lambda: [os.getpid(), *(proc.pid for proc in airflow.processes.values())]) as peak:
            if meanwhile is not None:
                threading.Thread(target=_quietly, args=(meanwhile,), name="while-the-dag-runs", daemon=True).start()
            result = trigger_and_wait(airflow, api, on_change=on_change, conf=conf)
        return dataclasses.replace(
            result,
            peak_memory_mib=round(peak.mib),
            airflow_ready_seconds=round(ready, 1),
            resident_airflow=airflow.resident,
        )


def _quietly(work: Callable[[], None]) -> None:
    with suppress(Exception):
        work()
