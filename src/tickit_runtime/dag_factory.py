"""Builds the Cosmos DbtDag from typed configuration; the DAG file only calls `build_dag`."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, Param
from cosmos import DbtDag, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import DbtResourceType, ExecutionMode, InvocationMode, LoadMode, TestBehavior
from cosmos.dbt.graph import DbtNode
from cosmos.operators.local import DbtRunOperationLocalOperator

from tickit_runtime import artifacts, envvars
from tickit_runtime.alerts.notifiers import (
    AfterBuild,
    AfterLoad,
    Deployment,
    notifiers,
    run_failure,
    task_failure,
)
from tickit_runtime.build_results import finish_publishing
from tickit_runtime.build_start import BuildStart
from tickit_runtime.config import DAG_ID, INTERVAL_VAR_NAMES, PROFILE_NAME, DagConfig
from tickit_runtime.dags_folder import DbtWithoutDagsFolder, hide_for_task, restore_after_task
from tickit_runtime.errors import TickitError
from tickit_runtime.freshness import SOURCES_IN_PROJECT, FreshnessAfterBuild, KeepSourcesJson
from tickit_runtime.in_process_dbt import release_warehouse
from tickit_runtime.killed_build import producer_starting
from tickit_runtime.model_task import DbtModelTask, SourceFreshnessTask, model_task_class

LOAD_RAW_TASK_ID = "load_raw"
FRESHNESS_TASK_ID = "source_freshness"
PRODUCER_TASK_ID = "dbt_producer_watcher"
TAGS = ["dbt", "tickit", "medallion", "cosmos"]


# The data interval as dbt vars (config.INTERVAL_VAR_NAMES), rendered per run.
_INTERVAL = "data_interval_{edge}.strftime('%Y-%m-%d %H:%M:%S')"
_HAS_INTERVAL = "dag_run.run_type in ('scheduled', 'backfill') and data_interval_start"
INTERVAL_VARS = {
    name: "{{ " + _INTERVAL.format(edge=name.rsplit("_", 1)[1]) + " if " + _HAS_INTERVAL + " else '' }}"
    for name in INTERVAL_VAR_NAMES
}
PARAMS = {
    "full_refresh": Param(
        False,
        type="boolean",
        description="Rebuild the incremental silver models from all the data (dbt --full-refresh).",
    )
}


class ManifestMissingError(TickitError, FileNotFoundError):
    """The DAG is built from dbt's manifest, which `tickit` writes with `dbt parse`."""


def manifest_command(config: DagConfig) -> str:
    """The command that writes the manifest exactly where this configuration reads it."""
    return f"tickit --home {config.home} dbt parse --target {config.target} --target-path {config.manifest_path.parent}"


def tests_reading_other_models(manifest_path: Path) -> Mapping[str, list[tuple[str, list[str]]]]:
    """Per model, the data tests defined on it that also read other models (a `relationships` test reads
    the model it points to): each test's name and the other models' names.

    A model's own build (a retry, or a build that died before reaching it) runs these once the models they
    read were built in the run, and leaves them out of the other models' own builds: on a new warehouse a
    test run before one of its tables exists fails with "table does not exist", whichever build ran first.
    """
    stat = manifest_path.stat()
    return _tests_reading_other_models(manifest_path, stat.st_mtime_ns, stat.st_size)


# The DAG processor parses the DAG again every interval; the manifest changes only when dbt parses again.
@lru_cache(maxsize=4)
def _tests_reading_other_models(
    manifest_path: Path, _mtime_ns: int, _size: int
) -> Mapping[str, list[tuple[str, list[str]]]]:
    nodes = json.loads(manifest_path.read_text())["nodes"]
    found: dict[str, list[tuple[str, list[str]]]] = {}
    for test in nodes.values():
        attached = test.get("attached_node")
        if test.get("resource_type") != "test" or not attached:
            continue
        others = [n.split(".")[-1] for n in test["depends_on"]["nodes"] if n.startswith("model.") and n != attached]
        if others:
            found.setdefault(attached, []).append((test["name"], others))
    return found


def _model_task(
    dag: DAG,
    task_group: Any,
    node: DbtNode,
    task_args: dict[str, Any],
    config: DagConfig,
    cross_tests: Mapping[str, list[tuple[str, list[str]]]],
    **_: Any,
) -> DbtModelTask:
    """Cosmos node converter: a task named exactly after the model, gated on its tests."""
    own = cross_tests.get(node.unique_id, [])
    return model_task_class()(
        task_id=node.name,
        dag=dag,
        task_group=task_group,
        has_tests=bool(node.has_test),
        upstream_models=[d for d in node.depends_on if d.startswith("model.")],
        cross_model_tests=[name for name, _ in own],
        test_peers=sorted({other for _, others in own for other in others}),
        writer_lock_path=str(config.lock_path) if config.target == "local" else None,
        writer_lock_timeout=writer_lock_timeout(config),
        extra_context={
            "dbt_node_config": node.context_dict,
            "dbt_dag_task_group_identifier": dag.dag_id,
            "package_name": node.package_name,
        },
        select=node.resource_name,
        poke_interval=config.poke_interval,
        **{**task_args, "execution_timeout": model_wait_timeout(config)},
        wait_timeout=model_wait_timeout(config),
    )


def _producer_starts(context: Any, build_start: BuildStart | None = None, **starting: Any) -> None:
    hide_for_task(context)
    if build_start is not None:
        try:
            build_start(context)
        except BaseException:
            restore_after_task(context)  # post_execute does not run after a skip or a failure here
            raise
    producer_starting(context, **starting)


def _producer_ends(context: Any, result: Any = None) -> None:
    try:
        finish_publishing(context, result)
    finally:
        restore_after_task(context)


def build_timeout(config: DagConfig) -> timedelta:
    """The shared build's bound: the producer's execution_timeout."""
    return config.task_timeout


# The producer starts after the first model tasks began to wait (it queues for a worker; on a busy MWAA for
# minutes), and a producer that timed out is over only once its retries (instant skips) were scheduled.
MODEL_WAIT_MARGIN = timedelta(minutes=10)


def model_wait_timeout(config: DagConfig) -> timedelta:
    """How long a model's task waits for the shared build's verdict before Airflow fails it.

    Past the build's own bound, so that a hung build ends first (its models then build themselves, docs/
    decisions/023) and the model's task fails only when nothing at all reports it. The task's
    execution_timeout is the same: Airflow ends a deferral at the earlier of the two.
    """
    return build_timeout(config) + MODEL_WAIT_MARGIN


def writer_lock_timeout(config: DagConfig) -> float:
    """How long a task waits for the warehouse's writer lock: half its execution_timeout, so that a lock
    never released fails the task with the lock's holder named, not with a bare timeout."""
    return config.task_timeout.total_seconds() / 2


def _invocation_mode(config: DagConfig) -> InvocationMode:
    """dbt in-process when it is installed beside Airflow (locally: no interpreter start per dbt call),
    as a subprocess of the configured executable otherwise (MWAA keeps dbt in its own virtualenv)."""
    same_env = Path(config.dbt_executable).parent.resolve() == Path(sys.executable).parent.resolve()
    return InvocationMode.DBT_RUNNER if same_env else InvocationMode.SUBPROCESS


def freshness_in_the_build(config: DagConfig) -> bool:
    """Whether the shared build checks the sources' freshness after it (tickit_runtime/freshness.py): on DuckDB,
    where the check would otherwise wait for the build, and where `source_freshness` can wait in the triggerer."""
    return config.target == "local" and model_task_class() is DbtModelTask


def build_starts_with_the_run(config: DagConfig) -> bool:
    """Whether the shared build starts with the run, readies dbt and waits for the load itself (build_start.py):
    where the freshness check is in the build too, for the same reasons (one writer; tasks waiting in the triggerer)."""
    return freshness_in_the_build(config)


def _build_start(config: DagConfig) -> BuildStart | None:
    if not build_starts_with_the_run(config):
        return None
    return BuildStart(
        load_task_id=LOAD_RAW_TASK_ID,
        project_dir=str(config.project_dir),
        profiles_dir=str(config.project_dir),
        profile=PROFILE_NAME,
        target=config.target,
        in_process=_invocation_mode(config) is InvocationMode.DBT_RUNNER,
    )


def _after_build(config: DagConfig, deployment: Deployment) -> list[Any]:
    """The shared build's callbacks: the freshness check first (a task waits for it), then the test alerts."""
    after: list[Any] = [AfterBuild(deployment)]
    if freshness_in_the_build(config):
        check = FreshnessAfterBuild(
            sources_json=str(config.layout.freshness),
            profiles_dir=str(config.project_dir),
            profile=PROFILE_NAME,
            target=config.target,
            dbt_executable=str(config.dbt_executable),
            in_process=_invocation_mode(config) is InvocationMode.DBT_RUNNER,
            history=config.history,
        )
        after.insert(0, check)
    return after


def build_dag(config: DagConfig | None = None) -> DbtDag:
    config = config or DagConfig.from_env()
    if not config.manifest_path.exists():
        raise ManifestMissingError(
            f"dbt manifest not found at {config.manifest_path}. Run `tickit run` once, or write it with "
            f"`{manifest_command(config)}`, or point {envvars.DBT_MANIFEST} at one."
        )
    env = config.operator_env()
    common: dict[str, Any] = {
        # dbt's environment is the task process's, then `env`: the PostgreSQL password comes from the former
        # and is never stored with the DAG (config.RUN_TIME_SECRETS). Cosmos' default, stated so it stays.
        "append_env": True,
        "retries": config.retries,
        "retry_delay": config.retry_delay,
        "execution_timeout": config.task_timeout,
    }
    deployment = Deployment(config.target, config.alerts)
    # Every dbt command of a run (the shared build, a model's retry) sees the same interval and flag.
    dbt_args: dict[str, Any] = {"vars": INTERVAL_VARS, "full_refresh": "{{ params.full_refresh }}"}

    cross_tests = tests_reading_other_models(config.manifest_path)

    def convert(**kwargs: Any) -> DbtModelTask:
        return _model_task(config=config, cross_tests=cross_tests, **kwargs)

    profile = ProfileConfig(
        profile_name=PROFILE_NAME,
        target_name=config.target,
        profiles_yml_filepath=config.project_dir / "profiles.yml",
    )
    dag = DbtDag(
        dag_id=DAG_ID,
        project_config=ProjectConfig(
            dbt_project_path=config.project_dir,
            manifest_path=config.manifest_path,
            install_dbt_deps=False,
            env_vars=env,
        ),
        profile_config=profile,
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER,
            invocation_mode=_invocation_mode(config),
            dbt_executable_path=config.dbt_executable,
            # The one `dbt build` also runs the tests, so each model's task can be gated on them.
            # Cosmos' producer never re-runs dbt: a retry ends it as skipped, so the run's state is
            # decided by the model tasks. Retrying at once keeps a failed build from holding the run. Two
            # retries, not one: a skip that could not be recorded (the API server restarting just then)
            # would otherwise fail the producer for good, and with it the run.
            setup_operator_args={
                "dbt_cmd_flags": ["--resource-type", "test"],
                "retries": 2,
                "retry_delay": timedelta(0),
                "execution_timeout": build_timeout(config),
                # After the build, with its run_results.json at hand: on DuckDB check the sources' freshness;
                # alert on tests that failed or warned.
                "callback": _after_build(config, deployment),
                # The build's results in pieces, for the model tasks waiting in the triggerer; on a retry after
                # a build killed outright, the models it left built in one build (killed_build.py).
                # Before Airflow 3.2 Cosmos' consumers wait in workers and read every node's details.
                # The DAGs folder hidden from dbt's plugin discovery too (tickit_runtime/dags_folder.py).
                # On DuckDB it starts with the run, readies dbt and waits for the load (build_start.py).
                "pre_execute": partial(
                    _producer_starts,
                    build_start=_build_start(config),
                    details_read_on_success=model_task_class() is not DbtModelTask,
                    writer_lock_path=str(config.lock_path) if config.target == "local" else None,
                    lock_timeout=writer_lock_timeout(config),
                ),
                "post_execute": _producer_ends,
            },
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.NONE,
            node_converters={DbtResourceType.MODEL: convert},
            emit_datasets=False,
        ),
        operator_args={**common, **dbt_args},
        params=PARAMS,
        schedule="@daily",
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        tags=TAGS,
        doc_md=__doc__,
        default_args={
            "retries": config.retries,
            "retry_delay": config.retry_delay,
            "execution_timeout": config.task_timeout,
            # Once per task that failed after its last try, in the task's process (not per retry; a task
            # left upstream_failed never runs, so it sends none).
            "on_failure_callback": notifiers(task_failure(deployment), config.alerts),
        },
        # Once per failed run, in the DAG processor.
        on_failure_callback=notifiers(run_failure(deployment), config.alerts),
    )
    # The same vars in every dbt call of a run: dbt reuses its partial parse only when they are unchanged, and
    # a load or a freshness check without them made the next build parse the whole project again.
    _add_load_raw(
        dag, config, profile, {**common, "env": env, "install_deps": False, "vars": INTERVAL_VARS}, deployment
    )
    artifacts.attach(
        dag,
        producer_task_id=PRODUCER_TASK_ID,
        freshness_task_id=FRESHNESS_TASK_ID,
        sources_json=SOURCES_IN_PROJECT,
        history=config.history,
    )
    return dag


class LoadRawTask(DbtWithoutDagsFolder, DbtRunOperationLocalOperator):  # type: ignore[misc]
    """`dbt run-operation load_raw_tables`, its dbt calls not seeing the DAGs folder, the warehouse let go of before
    the task reports its end: the shared build may be waiting to open it (build_start.py)."""

    def run_dbt_runner(self, command: list[str], env: dict[str, str], cwd: str, **kwargs: Any) -> Any:
        try:
            return super().run_dbt_runner(command, env, cwd, **kwargs)
        finally:
            release_warehouse()


def _add_load_raw(
    dag: DbtDag, config: DagConfig, profile: ProfileConfig, common: dict[str, Any], deployment: Deployment
) -> None:
    """Load the raw tables first; the producer and the root model tasks start when it succeeds.

    Cosmos makes the producer the parent of the root model tasks with trigger rule "always" so they
    can watch it while it runs. Here both hang off `load_raw` instead, with the default rule: a failed
    load leaves every model task upstream_failed, and nothing runs on a half-loaded warehouse.
    """
    dbt_task: dict[str, Any] = {
        "dag": dag,
        "dbt_executable_path": str(config.dbt_executable),
        "invocation_mode": _invocation_mode(config),
        "project_dir": str(config.project_dir),
        "profile_config": profile,
        # Share the producer's cache so dbt's partial-parse file is reused, not parsed again.
        "cache_dir": dag.get_task(PRODUCER_TASK_ID).cache_dir,
        "partial_parse": True,
        **common,
    }
    # The load's own counts, read right after it: an alert when it quarantined more than the threshold.
    load = LoadRawTask(
        task_id=LOAD_RAW_TASK_ID, macro_name="load_raw_tables", callback=AfterLoad(deployment), **dbt_task
    )
    producer = dag.get_task(PRODUCER_TASK_ID)
    # Roots are the model tasks with no model upstream: Cosmos hangs them off the producer only when
    # their sources are not rendered as nodes, so look at the graph rather than trust either shape.
    roots = [t for t in dag.tasks if t.task_id not in (LOAD_RAW_TASK_ID, PRODUCER_TASK_ID)]
    roots = [t for t in roots if t.upstream_task_ids <= {PRODUCER_TASK_ID}]
    for task in roots:
        producer.downstream_task_ids.discard(task.task_id)
        task.upstream_task_ids.discard(PRODUCER_TASK_ID)
        task.trigger_rule = "all_success"
        load >> task
    # Freshness never holds the build back (docs/decisions/039). DuckDB takes one writer, so there the shared build
    # checks it after its last model, in its own process, and the task waits for that verdict in the triggerer
    # (docs/decisions/041); where it cannot wait there, the check runs once the build let go of the warehouse
    # (under the same lock as a model's retry), "none_failed": after a build with failed models too (the producer
    # then ends skipped), never after a failed load. PostgreSQL and Redshift take both at once, so there it runs
    # beside the build. Sources only warn; an `error_after` added to a source fails this task.
    in_build = freshness_in_the_build(config)
    local = config.target == "local"
    freshness = SourceFreshnessTask(
        task_id=FRESHNESS_TASK_ID,
        callback=KeepSourcesJson(str(config.layout.freshness)),
        writer_lock_path=str(config.lock_path) if local else None,
        writer_lock_timeout=writer_lock_timeout(config),
        trigger_rule="none_failed" if local and not in_build else "all_success",
        producer_task_id=PRODUCER_TASK_ID if in_build else None,
        poke_interval=config.poke_interval,
        wait_timeout=model_wait_timeout(config),
        **dbt_task,
    )
    load >> [freshness, producer]
    if local and not in_build:
        producer >> freshness
    if build_starts_with_the_run(config):
        # Upstream of the build still (clearing the load clears the build), but no longer what starts it: the build
        # starts with the run and waits for the load's success itself (build_start.py).
        producer.trigger_rule = "always"
