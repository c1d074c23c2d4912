"""The DAG's alerts as Airflow notifiers, one per channel, and the two Cosmos callbacks that read dbt's output.

Airflow runs a task's `on_failure_callback` once, when the task has failed for good (a try that will be
retried runs `on_retry_callback` instead), in the task's own process; a task left upstream_failed never
runs and so never calls it. The DAG's `on_failure_callback` runs once per failed run, in the DAG
processor. Data tests and the load's quarantine fail nothing (or fail a model task, which alerts by
itself), so they are read where the files are: in the producer's and the load's own process, right
after dbt ran, through Cosmos' `callback` hook (docs/decisions/019-alerts.md).

A notifier never raises: a channel that cannot be reached is a warning in the log of the task (or of
the DAG processor), never a failed task.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

from airflow.sdk import BaseNotifier

from tickit_platform import envvars
from tickit_platform.orchestration.alerts import messages
from tickit_platform.orchestration.alerts.channels import (
    Mail,
    SmtpServer,
    default_sender,
    post_webhook,
    publish_sns,
    send_email,
)
from tickit_platform.orchestration.alerts.messages import Alert
from tickit_platform.orchestration.alerts.settings import (
    SMTP_CONNECTION_ID,
    AlertSettings,
    addresses,
    check_smtp_url,
    check_sns_topic_arn,
    check_webhook_url,
    variable_name,
)

log = logging.getLogger(__name__)
Compose = Callable[[Mapping[str, Any]], Alert | None]


def airflow_variable(env_name: str) -> str | None:
    """The Airflow Variable standing in for an unset environment variable (None when it is not set)."""
    try:
        from airflow.sdk import Variable

        value = Variable.get(variable_name(env_name), default=None)
    except Exception as error:  # no Variable store reachable (a unit test, a broken backend): no setting
        log.debug("Airflow Variable %s not read: %s", variable_name(env_name), error)
        return None
    return str(value).strip() or None if value is not None else None


def smtp_connection() -> SmtpServer | None:
    try:
        from airflow.sdk import Connection

        return SmtpServer.from_connection(Connection.get(SMTP_CONNECTION_ID))
    except Exception as error:  # most often: no such connection
        log.debug("Airflow connection %s not read: %s", SMTP_CONNECTION_ID, error)
        return None


class AlertNotifier(BaseNotifier):
    """Compose an alert from the callback's context and deliver it on one channel, if that channel is set."""

    channel: ClassVar[str] = ""

    def __init__(self, compose: Compose, settings: AlertSettings) -> None:
        super().__init__()
        self.compose = compose
        self.settings = settings

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        """Nothing to render (no template fields); Airflow 3.0's version would also require a "dag" key."""

    def notify(self, context: Mapping[str, Any]) -> None:
        alert: Alert | None = None
        try:
            destination = self.destination()
            if destination is None:
                return
            alert = self.compose(context)
            if alert is None:
                return
            self.deliver(destination, alert)
        except Exception as error:
            # Every outcome names the alert's subject (its run and task): `tickit run` waits for the run's
            # alert lines in the DAG processor's log before it stops Airflow (local/airflow.py).
            if alert is None:
                with contextlib.suppress(Exception):
                    alert = self.compose(context)
            about = alert.subject if alert is not None else "an alert that could not be composed"
            failure = f"{type(error).__name__}: {error}"
            self.log.warning("tickit alert not sent by %s: %s: %s", self.channel, about, failure)
        else:
            self.log.info("tickit alert sent by %s to %s: %s", self.channel, destination, alert.subject)

    def destination(self) -> Any:
        """Where this channel delivers, from the environment or Airflow; None: the channel is off."""
        raise NotImplementedError

    def deliver(self, destination: Any, alert: Alert) -> None:
        raise NotImplementedError


class SnsAlertNotifier(AlertNotifier):
    channel = "Amazon SNS"

    def destination(self) -> str | None:
        name = envvars.ALERT_SNS_TOPIC_ARN
        return check_sns_topic_arn(self.settings.sns_topic_arn or airflow_variable(name), variable_name(name))

    def deliver(self, destination: str, alert: Alert) -> None:
        publish_sns(destination, alert)


class WebhookAlertNotifier(AlertNotifier):
    channel = "webhook"

    def destination(self) -> str | None:
        name = envvars.ALERT_WEBHOOK_URL
        return check_webhook_url(self.settings.webhook_url or airflow_variable(name), variable_name(name))

    def deliver(self, destination: str, alert: Alert) -> None:
        post_webhook(destination, alert)


class EmailAlertNotifier(AlertNotifier):
    channel = "email"

    def destination(self) -> Mail | None:
        recipients = self.settings.email_to or addresses(airflow_variable(envvars.ALERT_EMAIL_TO))
        if not recipients:
            return None
        name = envvars.ALERT_SMTP_URL
        url = check_smtp_url(self.settings.smtp_url or airflow_variable(name), variable_name(name))
        server = SmtpServer.from_url(url) if url else smtp_connection()
        if server is None:
            raise ValueError(
                f"mail to {', '.join(recipients)} needs an SMTP server: set {name} "
                f"(or the Airflow Variable {variable_name(name)}, or the connection {SMTP_CONNECTION_ID})"
            )
        sender = self.settings.email_from or airflow_variable(envvars.ALERT_EMAIL_FROM) or default_sender()
        return Mail(server, sender, recipients)

    def deliver(self, destination: Mail, alert: Alert) -> None:
        send_email(destination, alert)


CHANNELS: tuple[type[AlertNotifier], ...] = (SnsAlertNotifier, EmailAlertNotifier, WebhookAlertNotifier)


def notifiers(compose: Compose, settings: AlertSettings) -> list[BaseNotifier]:
    """One notifier per channel; a channel with no destination set does nothing when called."""
    return [channel(compose, settings) for channel in CHANNELS]


# What the alerts need to know of the deployment, beyond the channels.
class Deployment:
    def __init__(self, target: str, settings: AlertSettings) -> None:
        self.target = target
        self.settings = settings

    def new_run_command(self) -> str:
        if self.target == "dwh":
            # MWAA names its environment in every container's environment.
            return f"tickit deploy trigger --environment {os.environ.get('AIRFLOW_ENV_NAME') or '<environment>'}"
        return "tickit run" if self.target == "local" else f"tickit run --target {self.target}"

    def quarantine_threshold(self) -> int:
        if self.settings.quarantine_threshold is not None:
            return self.settings.quarantine_threshold
        raw = airflow_variable(envvars.ALERT_QUARANTINE_THRESHOLD)
        try:
            return max(int(raw), 0) if raw is not None else 0
        except ValueError:
            log.warning(
                "Airflow Variable %s=%r is not a whole number; 0 is used",
                variable_name(envvars.ALERT_QUARANTINE_THRESHOLD),
                raw,
            )
            return 0


def _base_url() -> str:
    from airflow.configuration import conf

    return str(conf.get("api", "base_url", fallback="http://localhost:8080/")).rstrip("/")


def task_log_url(dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
    """The task's log in the Airflow UI, as Airflow itself links it."""
    return f"{_base_url()}/dags/{dag_id}/runs/{quote(run_id)}/tasks/{task_id}?try_number={try_number}"


def task_log_file(dag_id: str, run_id: str, task_id: str, try_number: int) -> Path:
    """The log file Airflow's default log template writes on the machine that ran the task."""
    from airflow.configuration import conf

    folder = Path(conf.get("logging", "base_log_folder"))
    return folder / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}" / f"attempt={try_number}.log"


def _ti_fields(context: Mapping[str, Any]) -> tuple[str, str, str, int]:
    ti = context["ti"]
    return ti.dag_id, str(context.get("run_id") or ti.run_id), ti.task_id, max(int(ti.try_number or 1), 1)


def task_failure(deployment: Deployment) -> Compose:
    def compose(context: Mapping[str, Any]) -> Alert:
        dag_id, run_id, task_id, try_number = _ti_fields(context)
        # On MWAA the log is in CloudWatch; the worker's file is gone with its container.
        local = deployment.target != "dwh"
        return messages.task_failed(
            dag_id=dag_id,
            task_id=task_id,
            run_id=run_id,
            try_number=try_number,
            error=str(context.get("exception") or ""),
            log_url=task_log_url(dag_id, run_id, task_id, try_number),
            log_file=task_log_file(dag_id, run_id, task_id, try_number) if local else None,
            new_run=deployment.new_run_command(),
        )

    return compose


def run_failure(deployment: Deployment) -> Compose:
    def compose(context: Mapping[str, Any]) -> Alert:
        dag = context.get("dag")
        dag_id = getattr(dag, "dag_id", None) or str(context.get("dag_id", ""))
        run_id = str(context.get("run_id", ""))
        return messages.run_failed(
            dag_id=dag_id,
            run_id=run_id,
            reason=context.get("reason"),
            run_url=f"{_base_url()}/dags/{dag_id}/runs/{quote(run_id)}",
            new_run=deployment.new_run_command(),
        )

    return compose


def _send(alert: Alert | None, settings: AlertSettings, context: Mapping[str, Any]) -> None:
    if alert is None:
        return
    for notifier in notifiers(lambda _: alert, settings):
        notifier(context)


class AfterBuild:
    """Cosmos callback of the shared `dbt build`: one alert for the data tests that failed or warned.

    Called with the temporary project dbt ran in, whose target/ holds the build's run_results.json, and
    only on the producer's first try (its retry never runs dbt), so once per build.
    """

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment

    def __call__(self, project_dir: str, context: Mapping[str, Any] | None = None, **_: Any) -> None:
        if context is None:
            return
        try:
            target = Path(project_dir) / "target"
            results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))
            manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
            dag_id, run_id, task_id, try_number = _ti_fields(context)
            alert = messages.data_tests(
                dag_id=dag_id,
                run_id=run_id,
                issues=messages.data_test_issues(results, manifest),
                log_url=task_log_url(dag_id, run_id, task_id, try_number),
            )
        except Exception as error:
            log.warning("tickit: the data tests of this build could not be read for alerts: %s", error)
            return
        _send(alert, self.deployment.settings, context)


class AfterLoad:
    """Cosmos callback of `load_raw`: one alert when the load quarantined more lines than the threshold.

    The counts are the lines `load_raw_tables` logs per file (the same figures it writes to
    raw.load_audit), read from dbt's log in the project dbt ran in: that works on every engine
    without a second connection to the warehouse.
    """

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment

    def __call__(self, project_dir: str, context: Mapping[str, Any] | None = None, **_: Any) -> None:
        if context is None:
            return
        try:
            project = Path(project_dir)
            results = json.loads((project / "target" / "run_results.json").read_text(encoding="utf-8"))
            if any(r.get("status") != "success" for r in results.get("results", [])):
                return  # a failed load alerts as a failed task; its counts are incomplete
            files = messages.loaded_files((project / "logs" / "dbt.log").read_text(encoding="utf-8", errors="replace"))
            dag_id, run_id, _task, _try = _ti_fields(context)
            alert = messages.quarantine(
                dag_id=dag_id, run_id=run_id, files=files, threshold=self.deployment.quarantine_threshold()
            )
        except Exception as error:
            log.warning("tickit: the load's quarantine could not be read for alerts: %s", error)
            return
        _send(alert, self.deployment.settings, context)
