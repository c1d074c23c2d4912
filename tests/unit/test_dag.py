"""The DAG's shape, built from the dbt manifest without a scheduler or a warehouse."""

from __future__ import annotations

import json
import os
import re
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from tests.support import MODELS, dag_config, in_process_tickit

from tickit_platform.dbt_project.manifest import ensure_manifest
from tickit_runtime.config import DAG_ID, DagConfig
from tickit_runtime.dag_factory import (
    FRESHNESS_TASK_ID,
    LOAD_RAW_TASK_ID,
    MODEL_WAIT_MARGIN,
    PRODUCER_TASK_ID,
    ManifestMissingError,
    build_dag,
)
from tickit_runtime.paths import DAGS_DIR


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> DagConfig:
    home = tmp_path_factory.mktemp("home")
    cfg = dag_config(home, raw_dir=home / "raw")
    ensure_manifest(cfg)
    return cfg


@pytest.fixture(scope="module")
def dag(config: DagConfig):  # type: ignore[no-untyped-def]
    return build_dag(config)


def test_one_task_per_model_named_after_it(dag) -> None:  # type: ignore[no-untyped-def]
    model_tasks = {t.task_id for t in dag.tasks} - {LOAD_RAW_TASK_ID, FRESHNESS_TASK_ID, PRODUCER_TASK_ID}
    assert model_tasks == set(MODELS)
    assert len(dag.tasks) == 20


def test_edges_are_exactly_dbts(dag, config: DagConfig) -> None:  # type: ignore[no-untyped-def]
    manifest = json.loads(config.manifest_path.read_text())
    for model in MODELS:
        unique_id = f"model.dbt_tickit.{model}"
        parents = {p.split(".")[-1] for p in manifest["parent_map"][unique_id] if p.startswith("model.")}
        upstream = dag.get_task(model).upstream_task_ids
        if parents:
            assert upstream == parents, model
        else:
            # Models that read only sources start once the raw tables are loaded.
            assert upstream == {LOAD_RAW_TASK_ID}, model


def test_gold_blast_radius_matches_the_article(dag) -> None:  # type: ignore[no-untyped-def]
    downstream_of_users = dag.get_task("silver_users").get_flat_relative_ids(upstream=False)
    assert downstream_of_users == {"gold_user_activity"}


def test_load_raw_gates_everything(dag) -> None:  # type: ignore[no-untyped-def]
    everything_else = {t.task_id for t in dag.tasks} - {LOAD_RAW_TASK_ID}
    assert dag.get_task(LOAD_RAW_TASK_ID).get_flat_relative_ids(upstream=False) == everything_else


def test_schedule_tags_and_retries(dag) -> None:  # type: ignore[no-untyped-def]
    assert dag.dag_id == DAG_ID
    assert dag.schedule == "@daily"
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert set(dag.tags) == {"dbt", "tickit", "medallion", "cosmos"}
    task = dag.get_task("silver_users")
    assert task.retries == 2
    assert task.retry_delay == timedelta(seconds=1)


def test_every_task_has_the_configured_execution_timeout(config: DagConfig) -> None:
    env = {**config.to_env(), "TICKIT_DAG_TASK_TIMEOUT_SECONDS": "600"}
    dag = build_dag(DagConfig.from_env(env))
    # The model tasks wait for the shared build: theirs is the build's plus a margin (the next test).
    assert {task.task_id: task.execution_timeout for task in dag.tasks if task.task_id not in MODELS} == {
        task.task_id: timedelta(minutes=10) for task in dag.tasks if task.task_id not in MODELS
    }
    # The writer lock is waited for half of it: a lock never released fails the task naming its holder.
    assert {dag.get_task(t).writer_lock_timeout for t in ("silver_users", "source_freshness")} == {300.0}
    # Without the setting: an hour.
    assert build_dag(config).get_task(PRODUCER_TASK_ID).execution_timeout == timedelta(hours=1)


def test_a_model_task_waits_for_the_shared_build_at_most_the_builds_bound_and_a_margin(config: DagConfig) -> None:
    env = {**config.to_env(), "TICKIT_DAG_TASK_TIMEOUT_SECONDS": "600"}
    dag = build_dag(DagConfig.from_env(env))
    bound = dag.get_task(PRODUCER_TASK_ID).execution_timeout + MODEL_WAIT_MARGIN
    assert bound == timedelta(minutes=20)
    # The trigger's timeout, and the execution_timeout Airflow also ends a deferral at: neither shorter.
    waits = {t: (dag.get_task(t).start_trigger_args.timeout, dag.get_task(t).execution_timeout) for t in MODELS}
    assert waits == dict.fromkeys(MODELS, (bound, bound))
    assert {dag.get_task(t).wait_bound() for t in MODELS} == {bound.total_seconds()}


def test_a_model_task_that_waited_too_long_fails_without_a_retry_saying_what_to_check(dag) -> None:  # type: ignore[no-untyped-def]
    from airflow.sdk.exceptions import AirflowSensorTimeout

    from tickit_runtime.alerts.notifiers import Deployment, task_failure
    from tickit_runtime.alerts.settings import AlertSettings

    task = dag.get_task("silver_users")
    # What the scheduler hands a worker when the trigger's timeout passed (Airflow's TaskDeferralTimeout).
    with pytest.raises(AirflowSensorTimeout) as timed_out:  # a sensor's timeout: failed, not retried
        task.resume_execution("__fail__", {"error": "Trigger timeout"}, {})
    said = (
        f"silver_users waited longer than 4200 s for the shared dbt build (task '{PRODUCER_TASK_ID}') to report "
        "model 'model.dbt_tickit.silver_users', so it was failed.\n"
        f"Check task '{PRODUCER_TASK_ID}': is it still running, and what does its log say last (a hung "
        "connection to the warehouse, a lock held)?\n"
        "Check that Airflow's triggerer is running and healthy (the health status in the Airflow UI)."
    )
    assert str(timed_out.value) == said
    # The failure alert (the task's on_failure_callback) quotes it whole.
    ti = SimpleNamespace(dag_id=DAG_ID, run_id="manual__1", task_id="silver_users", try_number=1)
    alert = task_failure(Deployment("local", AlertSettings()))({"ti": ti, "exception": timed_out.value})
    assert alert is not None
    assert "\n".join(f"    {line}" for line in said.splitlines()) in alert.body


def test_before_airflow_3_2_the_model_task_polls_in_a_worker_within_the_same_bound(
    config: DagConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tickit_runtime import dag_factory, model_task

    monkeypatch.setattr(dag_factory, "model_task_class", lambda: model_task.WorkerModelTask)
    task = build_dag(config).get_task("silver_users")
    assert isinstance(task, model_task.WorkerModelTask)
    assert task.timeout == task.wait_bound() == (timedelta(hours=1) + MODEL_WAIT_MARGIN).total_seconds()


def test_retries_come_from_the_environment(config: DagConfig) -> None:
    env = {"TICKIT_HOME": str(config.home), "TICKIT_DAG_RETRIES": "5", "TICKIT_DAG_RETRY_DELAY_SECONDS": "7"}
    from_env = DagConfig.from_env(env)
    assert from_env.retries == 5
    assert from_env.retry_delay == timedelta(seconds=7)


def test_production_settings_are_templates_not_parse_time_reads(config: DagConfig) -> None:
    dwh = DagConfig(**{**config.__dict__, "target": "dwh"})
    env = dwh.dbt_env()
    assert env["DBT_TARGET"] == "dwh"
    for name in ("redshift_host", "redshift_database_name", "redshift_db_user", "redshift_region",
                 "redshift_cluster_identifier", "redshift_workgroup_name", "tickit_source_iam_role_arn",
                 "tickit_source_s3_region"):  # fmt: skip
        assert any(f"var.value.get('{name}'" in value for value in env.values()), name


def test_the_postgres_password_is_read_by_dbt_at_run_time_and_never_stored_with_the_dag(
    config: DagConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The operators' arguments are stored in the serialized DAG (and their rendered fields) in Airflow's
    metadata database: the password is not among them; the task process's environment hands it to dbt."""
    from airflow.serialization.serialized_objects import DagSerialization

    password = "pw@Sentinel32:stored/x"  # pragma: allowlist secret (a test's made-up value)
    postgres = (("DBT_POSTGRES_HOST", "127.0.0.1"), ("DBT_POSTGRES_PASSWORD", password))
    on_postgres = DagConfig(**{**config.__dict__, "target": "postgres", "postgres": postgres})
    dag = build_dag(on_postgres)
    stored = json.dumps(DagSerialization.to_dict(dag))
    assert "Sentinel32" not in stored, "the password is stored with the DAG"
    assert '"DBT_POSTGRES_HOST": "127.0.0.1"' in stored  # the rest of the address is configuration
    # Every dbt a task starts sees the task process's environment, where `tickit` (or MWAA's startup script)
    # put the password, under the DAG's own variables.
    monkeypatch.setenv("DBT_POSTGRES_PASSWORD", password)
    context = {"ti": SimpleNamespace(dag_id=DAG_ID, task_id="t", run_id="r", try_number=1, map_index=-1)}
    for task in dag.tasks:
        assert "DBT_POSTGRES_PASSWORD" not in task.env, task.task_id
        env = task.get_env(context)
        assert (env["DBT_POSTGRES_PASSWORD"], env["DBT_TARGET"]) == (password, "postgres"), task.task_id
    # What `tickit dbt`, the manifest and the docs start now still gets it from the configuration.
    assert on_postgres.dbt_env()["DBT_POSTGRES_PASSWORD"] == password


def test_missing_manifest_says_what_to_do_and_the_advice_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = dag_config(tmp_path, raw_dir=tmp_path)
    with pytest.raises(ManifestMissingError, match="tickit run") as caught:
        build_dag(config)
    advised = re.search(r"`tickit (--home .+?)`", str(caught.value))
    assert advised, caught.value
    code, _, err = in_process_tickit(capsys)(*shlex.split(advised.group(1)))
    assert code == 0, err
    assert {t.task_id for t in build_dag(config).tasks} >= set(MODELS)


def test_every_dag_file_imports_without_errors(config: DagConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("TICKIT_HOME", str(config.home))
    monkeypatch.setenv("TICKIT_DBT_MANIFEST", str(config.manifest_path))
    monkeypatch.setenv("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "False")
    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert bag.import_errors == {}
    assert DAG_ID in bag.dag_ids
    assert os.environ["TICKIT_HOME"] == str(config.home)


def _render(task, run_type: str, full_refresh: bool = False) -> tuple[dict[str, str], bool]:  # type: ignore[no-untyped-def]
    """The vars and the full-refresh flag a task's dbt command gets in a run of the given type."""
    start = datetime(2008, 3, 10, tzinfo=UTC)
    context = {
        "dag_run": SimpleNamespace(run_type=run_type, conf={}),
        "data_interval_start": start,
        "data_interval_end": start + timedelta(days=1),
        "params": {"full_refresh": full_refresh},
    }
    return task.render_template(task.vars, context), task.render_template(task.full_refresh, context) == "True"


def test_scheduled_and_backfill_runs_process_their_day_manual_runs_everything(dag) -> None:  # type: ignore[no-untyped-def]
    for task_id in (PRODUCER_TASK_ID, "silver_sales"):
        task = dag.get_task(task_id)
        day = {"tickit_interval_start": "2008-03-10 00:00:00", "tickit_interval_end": "2008-03-11 00:00:00"}
        assert _render(task, "scheduled") == (day, False), task_id
        assert _render(task, "backfill") == (day, False), task_id
        assert _render(task, "manual") == ({"tickit_interval_start": "", "tickit_interval_end": ""}, False), task_id
        assert _render(task, "manual", full_refresh=True)[1] is True, task_id


def test_on_duckdb_the_build_checks_freshness_and_its_task_waits_in_the_triggerer(dag, config: DagConfig) -> None:  # type: ignore[no-untyped-def]
    """Never before the build, where at 1,017 models it held the build back by a dbt process (decision 039); not as
    a task of its own after it, which cost the run's end a task start and a dbt start (decision 041)."""
    from airflow.serialization.serialized_objects import BaseSerialization, DagSerialization

    from tickit_runtime.freshness import FRESHNESS_NODE, FreshnessAfterBuild, KeepSourcesJson
    from tickit_runtime.model_trigger import ModelTrigger

    freshness = dag.get_task(FRESHNESS_TASK_ID)
    assert freshness.upstream_task_ids == {LOAD_RAW_TASK_ID}
    assert freshness.downstream_task_ids == set()
    assert freshness.trigger_rule == "all_success"  # never after a failed load
    producer = dag.get_task(PRODUCER_TASK_ID)
    assert producer.upstream_task_ids == {LOAD_RAW_TASK_ID}
    check = next(c for c in producer.callback if isinstance(c, FreshnessAfterBuild))
    assert check.sources_json == str(config.layout.freshness)
    assert check.target == "local" and check.in_process
    # The same flags as the build's own call: its project copy, its vars (dbt's partial parse stays valid).
    command = check.command("/tmp/project", {"tickit_interval_start": ""})
    assert command[:2] == ["source", "freshness"]
    assert command[command.index("--project-dir") + 1] == "/tmp/project"
    assert "--output" not in command  # deprecated by dbt 1.11: target/sources.json is copied instead
    assert json.loads(command[command.index("--vars") + 1]) == {"tickit_interval_start": ""}
    # The task waits for that verdict in the triggerer as a model's task does, as the scheduler reads it.
    task = DagSerialization.from_dict(DagSerialization.to_dict(dag)).get_task(FRESHNESS_TASK_ID)
    assert task.start_from_trigger is True
    args = task.start_trigger_args
    assert args.next_method == "resume_on_worker"
    trigger = ModelTrigger(**BaseSerialization.deserialize(args.trigger_kwargs))
    assert (trigger.model_unique_id, trigger.producer_task_id, trigger.has_tests) == (
        FRESHNESS_NODE,
        PRODUCER_TASK_ID,
        False,
    )
    # When it runs the check itself, it is the same check, under the writer lock, its results copied alike.
    assert freshness.base_cmd == ["source", "freshness"]
    assert freshness.callback[-1] == KeepSourcesJson(str(config.layout.freshness))
    assert freshness.writer_lock_path == str(config.lock_path)


def _build_start(dag):  # type: ignore[no-untyped-def]
    """The BuildStart the producer's pre_execute runs, if any."""
    return dag.get_task(PRODUCER_TASK_ID)._pre_execute_hook.keywords["build_start"]


def test_on_duckdb_the_build_starts_with_the_run_and_waits_for_the_load_itself(dag, config: DagConfig) -> None:  # type: ignore[no-untyped-def]
    """Started after the load, the build cost the run a task start and dbt's first call (decision 044)."""
    producer = dag.get_task(PRODUCER_TASK_ID)
    assert producer.trigger_rule == "always"
    assert producer.upstream_task_ids == {LOAD_RAW_TASK_ID}  # clearing the load with its downstream clears the build
    start = _build_start(dag)
    assert start.load_task_id == LOAD_RAW_TASK_ID and start.in_process
    # dbt readied with the build's own profile, target and vars, writing only into a folder of its own.
    command = start.parse_command("/tmp/work", {"tickit_interval_start": ""})
    assert command[0] == "parse"
    assert command[command.index("--project-dir") + 1] == str(config.project_dir)
    assert command[command.index("--target") + 1] == "local"
    assert command[command.index("--target-path") + 1] == "/tmp/work/target"
    assert command[command.index("--log-path") + 1] == "/tmp/work/logs"
    assert json.loads(command[command.index("--vars") + 1]) == {"tickit_interval_start": ""}


def test_where_tasks_cannot_wait_in_the_triggerer_freshness_is_checked_after_the_build(
    config: DagConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As before decision 041: a task of its own once the build let go of the warehouse, after a build with failed
    models too (the producer then ends skipped), never after a failed load."""
    from tickit_runtime.freshness import FreshnessAfterBuild

    monkeypatch.setenv("TICKIT_AIRFLOW_CHANGES", "none")
    dag = build_dag(config)
    freshness = dag.get_task(FRESHNESS_TASK_ID)
    assert freshness.upstream_task_ids == {LOAD_RAW_TASK_ID, PRODUCER_TASK_ID}
    assert freshness.trigger_rule == "none_failed"
    assert not getattr(freshness, "start_from_trigger", False)
    assert not [c for c in dag.get_task(PRODUCER_TASK_ID).callback if isinstance(c, FreshnessAfterBuild)]
    # The build starts once the load succeeded, as Airflow decides it.
    assert dag.get_task(PRODUCER_TASK_ID).trigger_rule == "all_success"
    assert _build_start(dag) is None


def test_on_postgresql_freshness_is_checked_beside_the_build(config: DagConfig) -> None:
    """No single writer there: the check and the build start together once the load succeeded."""
    import dataclasses

    dag = build_dag(dataclasses.replace(config, target="postgres"))
    freshness, producer = dag.get_task(FRESHNESS_TASK_ID), dag.get_task(PRODUCER_TASK_ID)
    assert freshness.upstream_task_ids == producer.upstream_task_ids == {LOAD_RAW_TASK_ID}
    assert freshness.downstream_task_ids == set()
    assert freshness.writer_lock_path is None
    assert producer.trigger_rule == "all_success"
    assert _build_start(dag) is None


def test_model_tasks_carry_the_watcher_attributes_they_read(dag) -> None:  # type: ignore[no-untyped-def]
    """DbtModelTask reads these two off the sensor Cosmos builds (docs/decisions/017-cosmos-private-api.md)."""
    task = dag.get_task("silver_users")
    assert task.producer_task_id == PRODUCER_TASK_ID
    assert task.model_unique_id == "model.dbt_tickit.silver_users"


def test_model_tasks_start_in_the_triggerer_as_the_scheduler_reads_them(dag) -> None:  # type: ignore[no-untyped-def]
    """The scheduler sees the serialized DAG: the trigger and its arguments must survive serialization."""
    from airflow.serialization.serialized_objects import BaseSerialization, DagSerialization

    from tickit_runtime.model_trigger import ModelTrigger

    serialized = DagSerialization.from_dict(DagSerialization.to_dict(dag))
    for model, parents in (("silver_users", ["model.dbt_tickit.bronze_users"]), ("bronze_users", [])):
        task = serialized.get_task(model)
        assert task.start_from_trigger is True, model
        args = task.start_trigger_args
        assert args.next_method == "resume_on_worker"
        trigger_kwargs = BaseSerialization.deserialize(args.trigger_kwargs)
        trigger = ModelTrigger(**trigger_kwargs)
        assert trigger.model_unique_id == f"model.dbt_tickit.{model}"
        assert trigger.producer_task_id == PRODUCER_TASK_ID
        assert trigger.has_tests is dag.get_task(model).has_tests is True
        assert trigger.upstream_models == parents
        # The triggerer rebuilds the trigger from what it serializes.
        classpath, kwargs = trigger.serialize()
        assert classpath == args.trigger_cls
        assert kwargs == trigger_kwargs
    # The rest run on workers as before.
    assert serialized.get_task(PRODUCER_TASK_ID).start_from_trigger is False
    assert serialized.get_task(LOAD_RAW_TASK_ID).start_from_trigger is False


def test_a_models_own_build_runs_its_tests_on_other_models_after_them_and_no_other_models_tests(dag) -> None:  # type: ignore[no-untyped-def]
    """On a new warehouse, a relationships test run before the model it points to exists fails with "table does
    not exist"; a model's own build (a retry, a build that died) runs it once the other model's task is done."""
    from tickit_runtime.model_task import own_build_selection

    event = dag.get_task("silver_event")
    assert event.test_peers == ["silver_category", "silver_date", "silver_venue"]
    assert sorted(event.cross_model_tests) == [
        "relationships_silver_event_category_id__category_id__ref_silver_category_",
        "relationships_silver_event_date_id__date_id__ref_silver_date_",
        "relationships_silver_event_venue_id__venue_id__ref_silver_venue_",
    ]
    assert dag.get_task("silver_sales").test_peers == ["silver_listing"]
    assert dag.get_task("silver_category").test_peers == [] and dag.get_task("silver_users").cross_model_tests == []
    # The triggerer waits for the same tasks before it hands the build to a worker.
    assert event.start_trigger_args.trigger_kwargs["test_peers"] == event.test_peers
    # The model, its tests alone (cautious), and its tests on other models by name: never silver_listing's
    # test on silver_event, which dbt's default (eager) selection would run in silver_event's build.
    flags = own_build_selection(["--vars", "{}", "--select", "silver_event", "--full-refresh"], ["t1", "t2"])
    assert flags == [
        "--vars", "{}", "--select", "silver_event", "t1", "t2", "--full-refresh", "--indirect-selection", "cautious"
    ]  # fmt: skip


def test_the_shared_build_and_the_freshness_check_keep_their_artifacts(dag, config: DagConfig) -> None:  # type: ignore[no-untyped-def]
    """Cosmos calls `callback` with the temporary project after dbt ran (docs/decisions/020-run-history.md)."""
    from tickit_runtime.alerts.notifiers import AfterBuild
    from tickit_runtime.artifacts import keep_artifacts

    producer, freshness = dag.get_task(PRODUCER_TASK_ID), dag.get_task(FRESHNESS_TASK_ID)
    # The artifacts are kept first; the freshness check (which keeps its own) and the build's data-test alert
    # (which reads the same files) come after.
    assert producer.callback[0] is keep_artifacts and isinstance(producer.callback[2], AfterBuild)
    assert freshness.callback[0] is keep_artifacts
    location = str(config.layout.runs)
    assert producer.callback_args == {
        "location": location,
        "keep": 20,
        "files": {"run_results.json": "target/run_results.json", "manifest.json": "target/manifest.json"},
    }
    assert freshness.callback_args == {
        "location": location,
        "keep": 20,
        "files": {"sources.json": "target/sources.json"},
    }


def test_before_airflow_32_or_on_an_unverified_airflow_model_tasks_wait_in_a_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """MWAA's 3.0.6 cannot start a task in the triggerer, and an Airflow the triggerer's changes were not
    verified on must not start them there (an unchanged triggerer hangs at a few hundred): there the model task
    is the worker-side watcher (the rehearsal on 3.0.6 runs it under Celery; tests/integration/test_rehearsal.py)."""
    import airflow

    from tickit_runtime import model_task

    for version, expected in (
        ("3.0.6", model_task.WorkerModelTask),
        ("3.2.0rc1", model_task.WorkerModelTask),  # starts in the triggerer, but its changes were never verified
        ("3.3.9", model_task.WorkerModelTask),
        ("3.3.1", model_task.DbtModelTask),
        (airflow.__version__, model_task.DbtModelTask),
    ):
        monkeypatch.setattr(airflow, "__version__", version)
        assert model_task.model_task_class() is expected, version
    monkeypatch.setenv("TICKIT_AIRFLOW_CHANGES", "none")
    assert model_task.model_task_class() is model_task.WorkerModelTask
