"""Failure alerts: the exact messages, the quarantine threshold, each channel against a real receiver on
127.0.0.1 (SMTP, an HTTP webhook, SNS on moto's server), and a dead channel that is logged, not raised."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from tests.alert_receivers import Received, free_port, smtp_server, sns_topic, wait_for, webhook_server

from tickit_runtime.alerts import messages
from tickit_runtime.alerts.messages import Alert, DataTestIssue, LoadedFile
from tickit_runtime.alerts.notifiers import (
    AfterBuild,
    AfterLoad,
    Deployment,
    notifiers,
    run_failure,
    task_failure,
)
from tickit_runtime.alerts.settings import AlertSettings
from tickit_runtime.config import DagConfig
from tickit_runtime.errors import SettingsError

DAG = "dbt_tickit_medallion_dag"
RUN = "tickit_run__20260101T120000000000"
DBT_ERROR = (
    "dbt node 'model.dbt_tickit.silver_users' failed: Runtime Error in model silver_users "
    "(models/silver/silver_users.sql)\n"
    '  Binder Error: Referenced column "no_such_column" not found in FROM clause!\n'
    "  LINE 40: select no_such_column from final\n"
)
DBT_FIRST_LINE = (
    "dbt node 'model.dbt_tickit.silver_users' failed: Runtime Error in model silver_users "
    "(models/silver/silver_users.sql)"
)
TASK_FAILED = f"""\
Task silver_users of {DAG} failed in run {RUN} (try 1, its last).

    {DBT_FIRST_LINE}
      Binder Error: Referenced column "no_such_column" not found in FROM clause!
      LINE 40: select no_such_column from final

Log: http://127.0.0.1:8080/dags/{DAG}/runs/{RUN}/tasks/silver_users?try_number=1
Log file: /airflow/logs/dag_id={DAG}/run_id={RUN}/task_id=silver_users/attempt=1.log

To retry once the cause is fixed: in the Airflow UI open run {RUN}, select silver_users and Clear it with \
its downstream tasks (only they run again), or start a new run: `tickit run`."""


@pytest.fixture(autouse=True)
def airflow_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://127.0.0.1:8080/")
    monkeypatch.setenv("AIRFLOW__LOGGING__BASE_LOG_FOLDER", "/airflow/logs")


def failed_task_context(task_id: str = "silver_users", try_number: int = 1) -> dict[str, Any]:
    ti = SimpleNamespace(dag_id=DAG, run_id=RUN, task_id=task_id, try_number=try_number)
    return {"ti": ti, "run_id": RUN, "exception": Exception(DBT_ERROR)}


def test_a_failed_task_names_itself_what_dbt_said_its_log_and_how_to_retry() -> None:
    alert = task_failure(Deployment("local", AlertSettings()))(failed_task_context())
    assert alert is not None
    assert alert.subject == f"[tickit] silver_users failed in run {RUN}"
    assert alert.body == TASK_FAILED


def test_on_mwaa_the_alert_links_the_log_and_names_the_trigger_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_ENV_NAME", "tickit-prod")
    alert = task_failure(Deployment("dwh", AlertSettings()))(failed_task_context(try_number=3))
    assert alert is not None
    assert "(try 3, its last)" in alert.body
    assert "Log file:" not in alert.body  # the worker's file is gone with its container; CloudWatch has it
    assert "tasks/silver_users?try_number=3" in alert.body
    assert alert.body.endswith("or start a new run: `tickit deploy trigger --environment tickit-prod`.")


def test_only_the_first_lines_of_a_long_dbt_message_are_sent() -> None:
    lines = messages.first_lines("\n".join(f"line {n}" for n in range(1, 21)) + "\n" + "x" * 500)
    assert lines[:8] == [f"line {n}" for n in range(1, 9)]
    assert lines[8:] == ["… (13 more lines in the log)"]
    assert len(messages.first_lines("y" * 500)[0]) == messages.LINE_WIDTH


def test_a_failed_run_says_which_run_and_that_each_failed_task_alerted_on_its_own() -> None:
    context = {"dag": SimpleNamespace(dag_id=DAG), "run_id": RUN, "reason": "task_failure"}
    alert = run_failure(Deployment("local", AlertSettings()))(context)
    assert alert == Alert(
        subject=f"[tickit] run {RUN} of {DAG} failed",
        body=(
            f"Run {RUN} of {DAG} failed (task_failure).\n\n"
            "Every task that failed after its last try sent an alert of its own; tasks left upstream_failed "
            "did not run and sent none.\n\n"
            f"Run: http://127.0.0.1:8080/dags/{DAG}/runs/{RUN}\n\n"
            "To retry once the cause is fixed: in the Airflow UI open the run and Clear its failed tasks with "
            "their downstream tasks, or start a new run: `tickit run`."
        ),
    )


RUN_RESULTS = {
    "results": [
        {"unique_id": "model.dbt_tickit.silver_listing", "status": "success", "failures": None},
        {"unique_id": "test.dbt_tickit.unique_silver_users_user_id.1a", "status": "pass", "failures": 0},
        {"unique_id": "test.dbt_tickit.rel_event_venue.2b", "status": "warn", "failures": 2},
        {"unique_id": "test.dbt_tickit.non_negative_silver_listing_total_price.3c", "status": "fail", "failures": 1},
        {"unique_id": "test.dbt_tickit.not_null_silver_users_user_id.4d", "status": "skipped", "failures": None},
    ]
}
MANIFEST = {
    "nodes": {
        "test.dbt_tickit.rel_event_venue.2b": {
            "name": "rel_event_venue",
            "attached_node": "model.dbt_tickit.silver_event",
        },
        "test.dbt_tickit.non_negative_silver_listing_total_price.3c": {
            "name": "non_negative_silver_listing_total_price",
            "attached_node": "model.dbt_tickit.silver_listing",
        },
    }
}


def test_data_tests_that_failed_or_warned_are_listed_with_their_row_counts() -> None:
    issues = messages.data_test_issues(RUN_RESULTS, MANIFEST)
    assert issues == [
        DataTestIssue("non_negative_silver_listing_total_price", "silver_listing", "fail", 1),
        DataTestIssue("rel_event_venue", "silver_event", "warn", 2),
    ]
    alert = messages.data_tests(dag_id=DAG, run_id=RUN, issues=issues, log_url="http://x/log")
    assert alert == Alert(
        subject=f"[tickit] data tests: 1 failed, 1 warned in run {RUN}",
        body=(
            f"Data tests of the dbt build in run {RUN} of {DAG}: 1 failed, 1 warned.\n\n"
            "    fail non_negative_silver_listing_total_price on silver_listing: 1 row(s)\n"
            "    warn rel_event_venue on silver_event: 2 row(s)\n\n"
            "A failed test fails its model's task, which sends an alert of its own; a warning lets the run "
            "carry on. The rows each test found are in the warehouse's audit schema, under the test's name.\n\n"
            "Log: http://x/log"
        ),
    )
    assert messages.data_tests(dag_id=DAG, run_id=RUN, issues=[], log_url="x") is None


DBT_LOG = (
    '12:00:01.000000 [info ] [MainThread]: loading "tickit"."raw"."sales" from /data/sales_tab.txt\n'
    '12:00:02.000000 [info ] [MainThread]: loaded "tickit"."raw"."sales": 1000 rows, 2 quarantined, '
    "of 1002 lines in sales_tab.txt\n"
    '12:00:03.000000 [info ] [MainThread]: loaded "tickit"."raw"."users": 500 rows, 0 quarantined, '
    "of 500 lines in allusers_pipe.txt\n"
)


@pytest.mark.parametrize(("threshold", "alerts"), [(0, True), (1, True), (2, False), (10, False)])
def test_the_quarantine_alerts_only_above_its_threshold(threshold: int, alerts: bool) -> None:
    files = messages.loaded_files(DBT_LOG)
    assert files == [
        LoadedFile('"tickit"."raw"."users"', "allusers_pipe.txt", 500, 500, 0),
        LoadedFile('"tickit"."raw"."sales"', "sales_tab.txt", 1002, 1000, 2),
    ]
    alert = messages.quarantine(dag_id=DAG, run_id=RUN, files=files, threshold=threshold)
    assert (alert is not None) == alerts
    if alert is not None:
        assert alert.subject == f"[tickit] the load quarantined 2 lines in run {RUN}"
        assert alert.body == (
            f"The load of run {RUN} of {DAG} set aside 2 lines, more than the alert threshold of {threshold}.\n\n"
            '    sales_tab.txt: 2 of 1,002 lines quarantined (1,000 rows loaded into "tickit"."raw"."sales")\n\n'
            "The run carries on without them. The lines, with file, line number and reason, are in "
            "raw.quarantine (`tickit quarantine` lists them)."
        )


def test_alert_settings_cross_to_airflow_and_bad_ones_are_refused_naming_the_variable(tmp_path: Path) -> None:
    alerts = AlertSettings(
        sns_topic_arn="arn:aws:sns:eu-central-1:123456789012:tickit-alerts",
        webhook_url="https://hooks.example.com/T0/B0/x",
        smtp_url="smtps://alerts:secret@mail.example.com",  # pragma: allowlist secret
        smtp_ca_file="/etc/ssl/private-ca.pem",
        email_to=("data@example.com", "oncall@example.com"),
        email_from="tickit@example.com",
        quarantine_threshold=25,
    )
    config = DagConfig(home=tmp_path, alerts=alerts)
    assert DagConfig.from_env(config.to_env()).alerts == alerts
    assert "TICKIT_ALERT_SMTP_URL" not in config.dbt_env()  # dbt never sees the mail password
    for name, value, says in [
        ("TICKIT_ALERT_WEBHOOK_URL", "hooks.example.com", "is not an https:// URL"),
        ("TICKIT_ALERT_SMTP_URL", "mail.example.com:25", "is not an smtp://"),
        ("TICKIT_ALERT_SNS_TOPIC_ARN", "tickit-alerts", "is not an SNS topic ARN"),
        ("TICKIT_ALERT_QUARANTINE_THRESHOLD", "many", "is not a whole number"),
    ]:
        with pytest.raises(SettingsError, match=says) as caught:
            DagConfig.from_env({name: value})
        # A URL may hold a secret (tests/unit/test_alert_secrets.py): only the number repeats its value.
        assert str(caught.value).startswith(name)


def _deliver(settings: AlertSettings, context: dict[str, Any] | None = None) -> None:
    for notifier in notifiers(task_failure(Deployment("local", settings)), settings):
        notifier(context or failed_task_context())


def test_mail_reaches_the_smtp_server_as_written() -> None:
    with smtp_server() as box:
        settings = AlertSettings(smtp_url=box.url, email_to=("data@example.com",), email_from="tickit@example.com")
        _deliver(settings)
        got = wait_for(box.received, 1)
    assert got == [Received(f"[tickit] silver_users failed in run {RUN}", TASK_FAILED)]
    assert box.envelopes == [("tickit@example.com", ["data@example.com"])]


def test_the_webhook_gets_slack_compatible_json() -> None:
    with webhook_server() as hook:
        _deliver(AlertSettings(webhook_url=hook.url))
    assert hook.posts == [{"text": f"[tickit] silver_users failed in run {RUN}\n\n{TASK_FAILED}"}]


def test_sns_publishes_subject_and_message_to_the_topic(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with sns_topic(monkeypatch, tmp_path) as topic:
        _deliver(AlertSettings(sns_topic_arn=topic.topic_arn))
        got = wait_for(topic.received, 1)
    assert got == [Received(f"[tickit] silver_users failed in run {RUN}", TASK_FAILED)]


def _logged(capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> str:
    """What the notifiers logged: Airflow's logging goes through structlog to the output, or to logging."""
    out, err = capfd.readouterr()
    return out + err + "\n".join(r.getMessage() for r in caplog.records)


def test_a_dead_smtp_server_is_logged_not_raised_and_the_other_channels_still_deliver(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    dead = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there
    with webhook_server() as hook, caplog.at_level(logging.INFO):
        _deliver(AlertSettings(smtp_url=dead, email_to=("data@example.com",), webhook_url=hook.url))
    assert len(hook.posts) == 1
    logged = _logged(capfd, caplog)
    # The failure names the alert it could not send (`tickit run` looks for the run's alert by its subject).
    assert f"tickit alert not sent by email: [tickit] silver_users failed in run {RUN}: ConnectionRefusedError" in (
        logged
    )
    assert "tickit alert sent by webhook" in logged


def test_the_channels_the_environment_turns_on_are_the_ones_tickit_run_waits_for() -> None:
    assert AlertSettings().channels() == ()
    on = AlertSettings(webhook_url="https://hooks.example.com/x", email_to=("data@example.com",))
    assert on.channels() == ("email", "webhook")
    assert {n.channel for n in notifiers(task_failure(Deployment("local", on)), on)} >= set(on.channels())


def test_no_channel_means_no_alert_and_no_error(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        _deliver(AlertSettings())
    assert "tickit alert" not in _logged(capfd, caplog)


def test_after_the_build_one_alert_lists_the_data_tests_and_after_the_load_one_the_quarantine(tmp_path: Path) -> None:
    import json

    build = tmp_path / "build"
    (build / "target").mkdir(parents=True)
    (build / "target" / "run_results.json").write_text(json.dumps(RUN_RESULTS))
    (build / "target" / "manifest.json").write_text(json.dumps(MANIFEST))
    load = tmp_path / "load"
    (load / "target").mkdir(parents=True)
    (load / "logs").mkdir()
    (load / "target" / "run_results.json").write_text(json.dumps({"results": [{"status": "success"}]}))
    (load / "logs" / "dbt.log").write_text(DBT_LOG)
    with webhook_server() as hook:
        deployment = Deployment("local", AlertSettings(webhook_url=hook.url, quarantine_threshold=1))
        AfterBuild(deployment)(str(build), context=failed_task_context("dbt_producer_watcher"))
        AfterLoad(deployment)(str(load), context=failed_task_context("load_raw"))
    subjects = [str(p["text"]).split("\n")[0] for p in hook.posts]
    assert subjects == [
        f"[tickit] data tests: 1 failed, 1 warned in run {RUN}",
        f"[tickit] the load quarantined 2 lines in run {RUN}",
    ]


def test_the_quarantine_alert_names_the_deployments_own_raw_schema() -> None:
    log = DBT_LOG.replace('"raw".', '"team_a_raw".')
    alert = messages.quarantine(dag_id=DAG, run_id=RUN, files=messages.loaded_files(log), threshold=0)
    assert alert is not None
    assert alert.body.endswith("are in team_a_raw.quarantine (`tickit quarantine` lists them).")
