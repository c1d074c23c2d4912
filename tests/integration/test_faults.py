"""Faults under the real scheduler: a killed component never hangs a run, Ctrl-C stops everything, a held
warehouse is named at once, and a run after any crash leaves the warehouse as an undisturbed build does.

The undisturbed reference is a plain load + `dbt build` of the same synthetic files (the black box).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.faults import TickitRun, alive_components, parent_of, stop_started_runs, warehouse_state
from tests.support import in_process_tickit, latest_run_record, skip_or_fail

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(1500)]
DATA = ("--synthetic", "--scale", "0.01", "--seed", "7")
# A killed task is retried after 1 s rather than the DAG's 30 s: the faults' outcome, not the wait, is tested.
FAST_RETRY = {"TICKIT_DAG_RETRY_DELAY_SECONDS": "1"}
PRODUCER = "dbt_producer_watcher"
MODELS = frozenset(
    f"{layer}_{table}"
    for layer in ("bronze", "silver")
    for table in ("category", "date", "event", "listing", "sales", "users", "venue")
) | {"gold_revenue_by_venue", "gold_sales_by_event", "gold_user_activity"}
# What Cosmos logs when a model's task builds the model itself instead of taking the shared build's result.
OWN_BUILD = ("Falling back to running model", "Running model 'model.")


def _tasks(home: Path) -> dict[str, dict[str, object]]:
    """The run's task instances as `tickit run` recorded them (state, try number, log)."""
    record = latest_run_record(home)
    return {task["task_id"]: task for task in record["tasks"]}


def _built_itself(task: dict[str, object]) -> bool:
    log = Path(str(task["log_path"]))
    return log.is_file() and any(mark in log.read_text(errors="replace") for mark in OWN_BUILD)


@pytest.fixture(autouse=True)
def _nothing_left_running() -> Iterator[None]:
    """A failed test must not leave its `tickit run` or its Airflow running into the next one."""
    yield
    stop_started_runs()


@pytest.fixture(scope="module")
def undisturbed(tmp_path_factory: pytest.TempPathFactory) -> object:
    home = tmp_path_factory.mktemp("undisturbed")
    for dbt_args in (["run-operation", "load_raw_tables"], ["build"]):
        done = subprocess.run(
            [sys.executable, "-m", "tickit_platform.cli", "--home", str(home), "dbt", *DATA, *dbt_args],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    return warehouse_state(home / "warehouse" / "tickit.duckdb")


def test_a_killed_scheduler_and_api_server_are_restarted_and_the_run_succeeds(
    tmp_path: Path, undisturbed: object
) -> None:
    run = TickitRun(tmp_path, *DATA)
    # Once the shared build runs (the model tasks already wait for it in the triggerer from the load's end).
    run.wait_for(f"{PRODUCER}: running")
    # Each component was forked from `tickit run` itself, warm (docs/decisions/027): its child.
    components = ("api-server", "scheduler", "dag-processor", "triggerer")
    assert {name: parent_of(run.component_pid(name)) for name in components} == dict.fromkeys(components, run.proc.pid)
    scheduler = run.kill_component("scheduler")
    run.wait_for(f"Airflow scheduler (PID {scheduler}) was killed by SIGKILL; restarting it", timeout=10)
    run.wait_for("silver_users: ")
    api = run.kill_component("api-server")
    run.wait_for(f"Airflow api-server (PID {api}) was killed by SIGKILL; restarting it", timeout=10)
    assert run.finish() == 0, run.output
    assert "All 20 tasks succeeded." in run.output
    assert warehouse_state(tmp_path / "warehouse" / "tickit.duckdb") == undisturbed
    assert alive_components(tmp_path, run.sessions) == []


def test_a_stuck_triggerer_is_named_within_30_s_killed_and_restarted_and_the_run_succeeds(
    tmp_path: Path, undisturbed: object
) -> None:
    """A triggerer that lives but does nothing (stopped, as a deadlock would leave it) is found by its
    heartbeat, named, killed and restarted; the model tasks waiting in it (docs/decisions/023) resume in its
    successor, and none of them builds its model itself or needs a retry. (A triggerer killed outright is
    restarted by the same supervision as the scheduler and API server above: CI time spares it a run.)"""
    run = TickitRun(tmp_path, *DATA, env=FAST_RETRY)
    run.wait_for(": waiting for dbt")
    triggerer = run.kill_component("triggerer", signal.SIGSTOP)
    stopped = time.monotonic()
    named = run.wait_for(f"Airflow triggerer (PID {triggerer}) is alive but has sent no heartbeat for", timeout=120)
    assert named - stopped <= 30, (named - stopped, run.output)
    # What made it stuck is named: its stopped process neither ran nor waited for a CPU.
    assert re.search(
        rf"stuck \(process [\d, ]*\b{triggerer}\b[\d, ]* did not run for 8 s\); killed it, restarting it\. Last "
        rf"lines of {re.escape(str(tmp_path))}/airflow/logs/triggerer\.log",
        run.output,
    ), run.output
    assert run.finish() == 0, run.output
    assert "All 20 tasks succeeded." in run.output
    tasks = _tasks(tmp_path)
    assert {t: task["state"] for t, task in tasks.items() if task["state"] != "success"} == {}
    assert {t: task["try_number"] for t, task in tasks.items() if task["try_number"] != 1} == {}
    assert [t for t in MODELS if _built_itself(tasks[t])] == []
    assert warehouse_state(tmp_path / "warehouse" / "tickit.duckdb") == undisturbed
    assert alive_components(tmp_path, run.sessions) == []


def test_a_killed_dbt_build_is_finished_by_the_producers_retry_in_one_build(
    tmp_path: Path, undisturbed: object
) -> None:
    """Killed outright (nothing saved, nothing said), the shared build's models it had not reported are built by
    the producer's retry in one dbt build, not by their tasks one at a time under the writer lock."""
    run = TickitRun(tmp_path, *DATA, env=FAST_RETRY)
    # Mid-build: bronze and a first silver model are built, the other silver and the gold models are not.
    run.wait_in_task_log(PRODUCER, "OK created sql table model silver.")
    os.kill(run.task_process(PRODUCER), signal.SIGKILL)
    assert run.finish() == 0, run.output
    tasks = _tasks(tmp_path)
    retry = run.task_log(PRODUCER, attempt=2)
    assert retry is not None, run.output
    said = retry.read_text(errors="replace")
    assert "ended without a word (killed outright): building the " in said, said[-3000:]
    assert "OK created sql view model gold.gold_user_activity" in said, said[-3000:]
    # Cosmos then ends the retry as skipped, as after any earlier try.
    assert tasks[PRODUCER]["state"] == "skipped", tasks[PRODUCER]
    assert {t: tasks[t]["state"] for t in MODELS} == dict.fromkeys(MODELS, "success")
    assert {t for t in MODELS if _built_itself(tasks[t])} == set()
    assert warehouse_state(tmp_path / "warehouse" / "tickit.duckdb") == undisturbed
    assert alive_components(tmp_path, run.sessions) == []


def test_a_killed_dbt_build_leaves_its_models_to_their_own_tasks_where_cosmos_is_not_changed(
    tmp_path: Path, undisturbed: object
) -> None:
    """Where the change to Cosmos' producer is refused (an unverified Cosmos), its retry ends skipped at once
    and each model the build had not reported is built by its own task: slower, the same warehouse."""
    run = TickitRun(tmp_path, *DATA, env={**FAST_RETRY, "TICKIT_AIRFLOW_CHANGES": "none"})
    # Killed at the first silver model, not at the first gold one: the three gold views are built within
    # milliseconds of each other, and a kill that lands after the last has left no model to its own task.
    run.wait_in_task_log(PRODUCER, "OK created sql table model silver.")
    os.kill(run.task_process(PRODUCER), signal.SIGKILL)
    assert run.finish() == 0, run.output
    tasks = _tasks(tmp_path)
    assert tasks[PRODUCER]["state"] in ("failed", "skipped"), tasks[PRODUCER]
    assert {t: tasks[t]["state"] for t in MODELS} == dict.fromkeys(MODELS, "success")
    assert {t for t in MODELS if _built_itself(tasks[t])}, run.output
    assert warehouse_state(tmp_path / "warehouse" / "tickit.duckdb") == undisturbed
    # The safe path itself, as on an Airflow the changes were never verified on: nothing of Airflow is changed,
    # each component says so once, the model tasks wait in worker processes, and the run says why.
    assert "All 20 tasks succeeded" in run.output
    assert "Model tasks wait in worker processes (the safe path): refused by TICKIT_AIRFLOW_CHANGES=none." in run.output
    logs = tmp_path / "airflow" / "logs"
    for component, name, start in (
        ("triggerer", "triggerer", "Starting the triggerer"),
        ("dag-processor", "DAG processor", "Starting the Dag Processor Job"),
    ):
        said = (logs / f"{component}.log").read_text(errors="replace")
        # Once per start of the component: on a loaded machine supervision may restart a triggerer it judged
        # stuck, and the new one says it again (its log is appended to).
        assert said.count(start) >= 1, said[-3000:]
        assert said.count(f"tickit_runtime: no change made to Airflow's {name}") == said.count(start), said[-3000:]
        assert "refused by TICKIT_AIRFLOW_CHANGES=none" in said
    # Every model task started in a worker (its attempt log); those that deferred waited in Cosmos' own trigger,
    # none in ours.
    for model in MODELS:
        assert list(logs.rglob(f"task_id={model}/attempt=1.log")), model
    trigger_logs = "".join(path.read_text(errors="replace") for path in logs.rglob("*.log.trigger.*.log"))
    assert "ModelTrigger" not in trigger_logs and "Handing the task to a worker" not in trigger_logs


def test_a_component_that_dies_twice_stops_the_run_with_its_log(tmp_path: Path) -> None:
    run = TickitRun(tmp_path, *DATA)
    run.wait_for("load_raw: running")
    run.kill_component("dag-processor")
    run.wait_for("Airflow dag-processor", timeout=10)
    time.sleep(3)  # the restarted one is running
    second = run.kill_component("dag-processor")
    started = time.monotonic()
    assert run.finish(timeout=60) == 1, run.output
    assert time.monotonic() - started < 20
    assert f"tickit: Airflow dag-processor (PID {second}) was killed by SIGKILL again, after a restart" in run.output
    assert "Last lines of" in run.output and "Traceback" not in run.output
    assert alive_components(tmp_path, run.sessions) == []


def test_ctrl_c_stops_everything_and_a_killed_tickit_leaves_nothing_the_next_run_cannot_clear(
    tmp_path: Path, undisturbed: object
) -> None:
    # Ctrl-C during the load, then during the build: everything started stops within 10 s, exit 130.
    for during in ("load_raw: running", f"{PRODUCER}: running"):
        interrupted = TickitRun(tmp_path, *DATA)
        interrupted.wait_for(during)
        os.killpg(interrupted.proc.pid, signal.SIGINT)
        started = time.monotonic()
        assert interrupted.finish(timeout=30) == 130, (during, interrupted.output)
        assert time.monotonic() - started < 10, during
        assert alive_components(tmp_path, interrupted.sessions) == [], during

    # `tickit run` itself SIGKILLed: no cleanup is possible, its Airflow lives on...
    killed = TickitRun(tmp_path, *DATA)
    killed.wait_for("load_raw: running")
    os.kill(killed.proc.pid, signal.SIGKILL)
    killed.finish(timeout=30)
    time.sleep(1)  # the watcher's last look at the components
    strays = alive_components(tmp_path, killed.sessions)
    assert strays

    # ...until the next run stops it, says so, and builds the same warehouse as an undisturbed run.
    after = TickitRun(tmp_path, *DATA)
    assert after.finish() == 0, after.output
    assert "left running by an earlier tickit that was killed" in after.output
    assert not [pid for pid in strays if Path(f"/proc/{pid}").exists()]
    assert warehouse_state(tmp_path / "warehouse" / "tickit.duckdb") == undisturbed
    assert alive_components(tmp_path, killed.sessions | after.sessions) == []


def test_a_warehouse_held_by_another_program_is_named_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse = tmp_path / "warehouse" / "tickit.duckdb"
    warehouse.parent.mkdir(parents=True)
    # A second program with the file open for writing, as a DuckDB shell or a BI tool would have it.
    hold = f"import duckdb, time; con = duckdb.connect({str(warehouse)!r}); print('held', flush=True); time.sleep(120)"
    holder = subprocess.Popen([sys.executable, "-c", hold], stdout=subprocess.PIPE, text=True)
    tickit = in_process_tickit(capsys, "--home", str(tmp_path))
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        for command in (["run", *DATA], ["dbt", *DATA, "build"], ["report"], ["quarantine"]):
            started = time.monotonic()
            code, out, err = tickit(*command)
            elapsed = time.monotonic() - started
            assert code == 1, (command, out, err)
            # One line: which file, which program holds it (DuckDB names it; a Python here), what to do.
            assert err.startswith(f"tickit: the warehouse {warehouse} is in use by "), err
            assert err.strip().endswith(f"(PID {holder.pid}); close that program (or its connection to the file) "
                                        "and run again."), err  # fmt: skip
            assert "python" in err and err.count("\n") == 1, err
            assert not (tmp_path / "airflow").exists()  # no Airflow was started
            assert elapsed < 1.0, (command, elapsed)
    finally:
        holder.kill()
        holder.wait()


def test_a_file_that_is_not_a_duckdb_database_and_an_unwritable_home_are_said_plainly(tmp_path: Path) -> None:
    warehouse = tmp_path / "home" / "warehouse" / "tickit.duckdb"
    warehouse.parent.mkdir(parents=True)
    warehouse.write_text("a spreadsheet, not a database\n" * 100)
    done = subprocess.run(
        [sys.executable, "-m", "tickit_platform.cli", "--home", str(tmp_path / "home"), "report"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert f"tickit: {warehouse} is not a DuckDB database" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("options", "says"), [("ro", "Read-only file system"), ("size=16k", "No space left on device")]
)
def test_a_read_only_or_full_home_is_said_naming_the_folder(tmp_path: Path, options: str, says: str) -> None:
    """A small filesystem of its own for the home: read-only, or too full for anything."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount)]).returncode:
        skip_or_fail("mounting a small filesystem needs root")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tickit_platform.cli", "--home", str(mount), "run", *DATA],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"tickit: cannot write under {mount} ({says})" in done.stderr
    assert "Traceback" not in done.stderr
