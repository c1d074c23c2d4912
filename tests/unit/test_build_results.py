"""The shared build's results under one key: what the model tasks in the triggerer read instead of one key each.

The producer publishes the copy Cosmos keeps of every XCom it pushes (tickit_runtime/build_results.py). These
tests push through Cosmos' own functions, so a Cosmos release that renames its keys, reshapes their values or
stops keeping the copy fails here, not as model tasks that never see their results.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from cosmos.operators._watcher.aggregation import get_tests_status_xcom_key, push_test_result_or_aggregate
from cosmos.operators._watcher.base import _process_dbt_log_event, store_dbt_resource_status_from_log
from cosmos.operators._watcher.state import (
    DbtNodeStatus,
    get_compiled_sql_xcom_key,
    get_dbt_event_xcom_key,
    get_status_xcom_key,
    safe_xcom_push,
)
from cosmos.operators._watcher.xcom import _init_xcom_backup

from tickit_runtime.build_results import (
    BRISK_PUBLISH_INTERVAL,
    PIECE_BYTES,
    PUBLISH_INTERVAL,
    RESULTS_KEY,
    ResultsPublisher,
    count_of,
    piece_key,
    publish_interval,
    results_of,
)
from tickit_runtime.internals.producer import skip_needless_pushes

MODEL = "model.dbt_tickit.silver_users"
OTHER = "model.dbt_tickit.silver_venue"
TEST = "test.dbt_tickit.not_null_silver_users_user_id.abc"


class RecordingTaskInstance:
    """Stands in for the producer's task instance: what was pushed, in order (Cosmos only calls xcom_push)."""

    dag_id = "dbt_tickit_medallion_dag"
    task = None
    try_number = 1

    def __init__(self) -> None:
        self.pushed: list[tuple[str, Any]] = []

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed.append((key, value))

    def published(self) -> list[dict[str, str]]:
        """Every result a reader of the publication had at each count pushed (as ModelTrigger reads them)."""
        latest: dict[str, Any] = {}
        seen: list[dict[str, str]] = []
        for key, value in self.pushed:
            latest[key] = value
            if key == RESULTS_KEY:
                results: dict[str, str] = {}
                for index in range(count_of(value)):
                    results.update(latest[piece_key(index)])
                seen.append(results)
        return seen


def _producer() -> RecordingTaskInstance:
    ti = RecordingTaskInstance()
    _init_xcom_backup({"ti": ti, "run_id": "manual__1"}, persist=False)  # what Cosmos' producer does first
    return ti


def test_the_results_are_what_cosmos_pushed_per_node_and_per_model() -> None:
    ti = _producer()
    safe_xcom_push(ti, get_status_xcom_key(MODEL), {"status": DbtNodeStatus.SUCCESS, "outlet_uris": []})
    safe_xcom_push(ti, get_status_xcom_key(OTHER), {"status": "error", "outlet_uris": []})
    push_test_result_or_aggregate(TEST, "fail", {MODEL: [TEST]}, {}, ti)
    safe_xcom_push(ti, "task_status", "completed")
    safe_xcom_push(ti, f"{MODEL.replace('.', '__')}_compiled_sql", "select 1")

    publisher = ResultsPublisher(ti)
    publisher.publish()

    assert ti.published() == [
        {
            get_status_xcom_key(MODEL): "success",
            get_status_xcom_key(OTHER): "error",
            get_tests_status_xcom_key(MODEL): "fail",
        }
    ]


def test_a_publication_is_pushed_only_when_the_results_changed_and_once_more_at_the_end() -> None:
    ti = _producer()
    publisher = ResultsPublisher(ti, interval=3600)  # no thread publication during the test
    publisher.start()
    publisher.publish()
    publisher.publish()
    safe_xcom_push(ti, get_status_xcom_key(MODEL), {"status": "success", "outlet_uris": []})
    publisher.finish()
    publisher.finish()

    assert ti.published() == [{}, {get_status_xcom_key(MODEL): "success"}]


def test_no_push_grows_with_the_project_and_each_publication_carries_only_what_changed() -> None:
    """3,000 models with a data test each and 30+ character names (about 1,500 tested models overflowed what a
    single key could pass through the triggerer's supervisor without blocking)."""
    ti = _producer()
    publisher = ResultsPublisher(ti, interval=3600)
    publisher.publish()
    models = [f"model.dbt_tickit.generated_model_with_a_long_name_{i:05d}" for i in range(3000)]
    for model in models:
        safe_xcom_push(ti, get_status_xcom_key(model), {"status": "success", "outlet_uris": []})
        safe_xcom_push(ti, get_tests_status_xcom_key(model), "pass")
    publisher.publish()
    everything = {key: value for key, value in ti.pushed if key != RESULTS_KEY}
    assert sum(len(json.dumps(value)) for value in everything.values()) > 400_000  # all at once: 400 KB
    assert all(len(json.dumps(value)) <= PIECE_BYTES for value in everything.values())
    assert len(ti.published()[-1]) == 6000

    safe_xcom_push(ti, get_status_xcom_key("model.dbt_tickit.one_more"), {"status": "error", "outlet_uris": []})
    pushes = len(ti.pushed)
    publisher.publish()
    new = ti.pushed[pushes:]
    assert [key for key, _ in new if key != RESULTS_KEY] == [piece_key(count_of(new[-1][1]) - 1)]
    assert new[0][1] == {get_status_xcom_key("model.dbt_tickit.one_more"): "error"}  # only what changed
    assert len(ti.published()[-1]) == 6001


def test_a_publisher_thread_publishes_while_the_build_runs() -> None:
    ti = _producer()
    publisher = ResultsPublisher(ti, interval=0.01)
    publisher.start()
    safe_xcom_push(ti, get_status_xcom_key(MODEL), {"status": "success", "outlet_uris": []})
    expected = {get_status_xcom_key(MODEL): "success"}
    try:
        for _ in range(1000):
            if expected in ti.published():
                break
            time.sleep(0.01)
        seen_before_the_end = ti.published()
    finally:
        publisher.finish()
    assert expected in seen_before_the_end


def test_results_of_skips_what_is_not_a_result() -> None:
    assert results_of({"task_status": "completed", "x_status": {"status": None}, "y_status": "pass"}) == {
        "y_status": "pass"
    }


def _dbt_event(name: str, status: str, message: str | None = None) -> dict[str, Any]:
    """A dbt JSON log line as Cosmos' producer parses it (both invocation modes feed this shape)."""
    node_info = {"unique_id": MODEL, "node_status": status, "node_started_at": "2026-12-03T10:00:00"}
    data: dict[str, Any] = {"node_info": node_info}
    if message:
        data["run_result"] = {"message": message}
    return {"info": {"name": name, "msg": f"{name} {MODEL}"}, "data": data}


def test_a_nodes_in_between_dbt_events_are_not_pushed_and_its_last_is() -> None:
    ti = _producer()
    skip_needless_pushes(ti)
    for name, status in (("NodeStart", "started"), ("NodeCompiling", "compiling"), ("NodeExecuting", "executing")):
        _process_dbt_log_event(ti, _dbt_event(name, status))
    _process_dbt_log_event(ti, _dbt_event("NodeFinished", "error", "Runtime Error: division by zero"))

    event_key = get_dbt_event_xcom_key(MODEL)
    assert [(key, value["status"], value["msg"]) for key, value in ti.pushed] == [
        (event_key, "error", "Runtime Error: division by zero")
    ]
    # Cosmos' own copy still has the last event (what a retry of the producer would restore).
    assert ti._cosmos_xcom_backup_buffer[event_key]["msg"] == "Runtime Error: division by zero"  # type: ignore[attr-defined]


def test_a_value_a_key_already_holds_is_not_pushed_again() -> None:
    ti = _producer()
    skip_needless_pushes(ti)
    sql_key = f"{MODEL.replace('.', '__')}_compiled_sql"
    safe_xcom_push(ti, sql_key, "select 1")
    safe_xcom_push(ti, sql_key, "select 1")
    safe_xcom_push(ti, sql_key, "select 2")
    assert ti.pushed == [(sql_key, "select 1"), (sql_key, "select 2")]


def _finished(unique_id: str, resource_type: str, status: str, message: str | None = None) -> str:
    """dbt's NodeFinished as a JSON log line (what Cosmos' producer parses in both invocation modes)."""
    node_info = {
        "unique_id": unique_id,
        "node_status": status,
        "resource_type": resource_type,
        "node_path": f"{unique_id.split('.')[-1]}.sql",
    }
    data: dict[str, Any] = {"node_info": node_info, "run_result": {"message": message}}
    return json.dumps({"info": {"name": "NodeFinished", "msg": f"finished {unique_id}"}, "data": data})


def _build_reports(ti: RecordingTaskInstance, project: Path) -> None:
    """A build whose MODEL succeeded, OTHER failed and TEST passed, parsed by Cosmos' own parser."""
    compiled = project / "target" / "compiled" / "dbt_tickit" / "models"
    compiled.mkdir(parents=True)
    for unique_id in (MODEL, OTHER):
        (compiled / f"{unique_id.split('.')[-1]}.sql").write_text(f"select 1 -- {unique_id}")
    extra = {"context": {"ti": ti}, "project_dir": str(project)}
    for line in (
        _finished(MODEL, "model", "success"),
        _finished(OTHER, "model", "error", "Runtime Error: division by zero"),
        _finished(TEST, "test", "pass"),
    ):
        store_dbt_resource_status_from_log(
            line, extra, tests_per_model={MODEL: [TEST]}, test_results_per_model={}, should_generate_model_uris=False
        )


def test_where_model_tasks_wait_in_the_triggerer_a_succeeded_nodes_event_and_sql_are_not_pushed(
    tmp_path: Path,
) -> None:
    ti = _producer()
    skip_needless_pushes(ti, details_read_on_success=False)
    _build_reports(ti, tmp_path)

    pushed = [key for key, _ in ti.pushed]
    # The succeeded model: only its status (read if the build ends without publishing it). The failed one:
    # everything, its event quoted by its task's failure. The passed test: only its model's tests' verdict.
    assert pushed == [
        get_status_xcom_key(MODEL),
        get_dbt_event_xcom_key(OTHER),
        get_status_xcom_key(OTHER),
        get_compiled_sql_xcom_key(OTHER),
        get_tests_status_xcom_key(MODEL),
    ]
    assert dict(ti.pushed)[get_dbt_event_xcom_key(OTHER)]["msg"] == "Runtime Error: division by zero"
    buffer = ti._cosmos_xcom_backup_buffer  # type: ignore[attr-defined]
    kept = {get_dbt_event_xcom_key(MODEL), get_compiled_sql_xcom_key(MODEL), get_dbt_event_xcom_key(TEST)}
    assert kept <= set(buffer)


def test_where_model_tasks_wait_in_workers_every_nodes_details_are_pushed(tmp_path: Path) -> None:
    ti = _producer()
    skip_needless_pushes(ti, details_read_on_success=True)  # before Airflow 3.2: Cosmos' consumers read them
    _build_reports(ti, tmp_path)
    assert [key for key, _ in ti.pushed] == [
        get_dbt_event_xcom_key(MODEL),
        get_status_xcom_key(MODEL),
        get_compiled_sql_xcom_key(MODEL),
        get_dbt_event_xcom_key(OTHER),
        get_status_xcom_key(OTHER),
        get_compiled_sql_xcom_key(OTHER),
        get_dbt_event_xcom_key(TEST),
        get_tests_status_xcom_key(MODEL),
    ]


@pytest.mark.parametrize(
    ("models", "interval"),
    [(17, BRISK_PUBLISH_INTERVAL), (50, BRISK_PUBLISH_INTERVAL), (51, PUBLISH_INTERVAL), (1017, PUBLISH_INTERVAL)],
)
def test_a_small_project_is_published_briskly_a_large_one_once_a_second(models: int, interval: float) -> None:
    """Each stage of the article's DAG waited up to a second for a publication; at 1,017 models four times as many
    pieces cost the API server and the triggerer a third more CPU (decision 044)."""
    from types import SimpleNamespace

    tasks = [SimpleNamespace(task_id=f"m{i}", producer_task_id="producer") for i in range(models)]
    tasks += [SimpleNamespace(task_id="load_raw"), SimpleNamespace(task_id="producer")]
    ti = SimpleNamespace(task_id="producer", task=SimpleNamespace(dag=SimpleNamespace(tasks=tasks)))
    assert publish_interval(ti) == interval
    assert ResultsPublisher(ti)._interval == interval
