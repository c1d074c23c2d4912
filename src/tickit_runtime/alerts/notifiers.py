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
import http.client
import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote, unquote, urlsplit

from airflow.sdk import BaseNotifier

from tickit_runtime import envvars
from tickit_runtime.alerts import messages
from tickit_runtime.alerts.channels import (
    Mail,
    SmtpServer,
    default_sender,
    post_webhook,
    publish_sns,
    send_email,
)
from tickit_runtime.alerts.messages import Alert
from tickit_runtime.alerts.settings import (
    SMTP_CONNECTION_ID,
    AlertSettings,
    addresses,
    check_smtp_url,
    check_sns_topic_arn,
    check_webhook_url,
    is_loopback,
    redacted,
    variable_name,
)

log = logging.getLogger(__name__)
Compose = Callable[[Mapping[str, Any]], Alert | None]


def airflow_variable(env_name: str, channel: str) -> str | None:
    """The Airflow Variable standing in for an unset environment variable (None when it is not set).

    A Variable that does not exist is simply None; one that cannot be read (a secrets backend that denies
    or fails) leaves its channel off, and says so in a warning naming the channel: alerts must not stop
    without a word.
    """
    name = variable_name(env_name)
    try:
        from airflow.sdk import Variable

        value = Variable.get(name, default=None)
    except Exception as error:
        log.warning("tickit alerts by %s: the Airflow Variable %s could not be read: %s", channel, name, _why(error))
        return None
    return str(value).strip() or None if value is not None else None


def smtp_connection(ca_file: str | None) -> SmtpServer | None:
    """The Airflow connection `tickit_alert_smtp`; None when there is none (or it cannot be read: a warning)."""
    try:
        from airflow.sdk import Connection

        connection = Connection.get(SMTP_CONNECTION_ID)
    except Exception as error:
        if type(error).__name__ != "AirflowNotFoundException":  # no such connection: mail needs another server
            log.warning(
                "tickit alerts by email: the Airflow connection %s could not be read: %s",
                SMTP_CONNECTION_ID,
                _why(error),
            )
        return None
    return SmtpServer.from_connection(connection, ca_file)


def _why(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def mask(*values: str | None) -> None:
    """Have Airflow's secrets masker hide these values in every log line of this process (and, in a task,
    of its supervisor). Outside Airflow's processes nothing registers them, and nothing needs to."""
    try:
        try:
            from airflow.sdk.log import mask_secret
        except ImportError:  # Airflow 3.0 (MWAA) has it only here
            from airflow.sdk.execution_time.secrets_masker import mask_secret  # type: ignore[no-redef]
        for value in values:
            if value:
                mask_secret(value)
    except Exception as error:  # masking is a second line of defence: the alert still goes out
        log.debug("tickit alerts: secrets masker unavailable: %s", type(error).__name__)


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """`text` without any of these secrets (an error message may quote a URL it could not use)."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def both_forms(*values: str | None) -> tuple[str, ...]:
    """Each value as written and percent-decoded: urllib decodes a URL's user part before it quotes it in an
    error (`InvalidURL: nonnumeric port: '<password>@host'`), so the encoded form alone is not enough."""
    return tuple(dict.fromkeys(form for value in values if value for form in (value, unquote(value))))


# Errors whose text is the URL itself, or a piece of it (urllib's `unknown url type: '…'`, http.client's
# `nonnumeric port: '…'` and `URL can't contain control characters. '…'`): only their type is shown.
URL_ERRORS = (ValueError, http.client.InvalidURL)


class AlertNotifier(BaseNotifier):
    """Compose an alert from the callback's context and deliver it on one channel, if that channel is set."""

    channel: ClassVar[str] = ""
    # The setting holding the channel's URL, named in a failure instead of the URL (the webhook's: its URL
    # is the secret, and urllib's errors quote it).
    setting: ClassVar[str] = ""

    def __init__(self, compose: Compose, settings: AlertSettings) -> None:
        super().__init__()
        self.compose = compose
        self.settings = settings

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        """Nothing to render (no template fields); Airflow 3.0's version would also require a "dag" key."""

    def notify(self, context: Mapping[str, Any]) -> None:
        alert: Alert | None = None
        destination: Any = None
        try:
            destination = self.destination()
            if destination is None:
                return
            mask(*self.secrets(destination))
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
            failure = self.failure(error, destination)
            self.log.warning("tickit alert not sent by %s: %s: %s", self.channel, about, failure)
        else:
            self.log.info("tickit alert sent by %s to %s: %s", self.channel, self.shown(destination), alert.subject)

    def destination(self) -> Any:
        """Where this channel delivers, from the environment or Airflow; None: the channel is off."""
        raise NotImplementedError

    def failure(self, error: Exception, destination: Any) -> str:
        """Why the alert was not sent, as a log line may say it: no secret of the destination, and for an
        error about the destination's URL, its type and the setting to check rather than its text."""
        if destination is None or not self.setting:
            # A settings error names the setting and never repeats its value; other channels' errors are scrubbed.
            return scrub(_why(error), self.secrets(destination) if destination is not None else ())
        name = self.setting
        if isinstance(error, CredentialsInUrlError):
            return f"{_why(error)} (the URL in {name} or {variable_name(name)})"
        if isinstance(error, URL_ERRORS):
            return (
                f"{type(error).__name__}: the URL in {name} (or the Airflow Variable {variable_name(name)}) could "
                "not be used (the error's text is not shown: it may quote a secret). Check its host and port; "
                "a user or password in it must be percent-encoded, and is not sent by this channel"
            )
        return f"{scrub(_why(error), self.secrets(destination))} (the URL in {name} or {variable_name(name)})"

    def secrets(self, destination: Any) -> tuple[str, ...]:
        """What of the destination must never be shown (masked in Airflow's logs, scrubbed from errors)."""
        return ()

    def shown(self, destination: Any) -> str:
        """The destination as a log line may show it."""
        return str(destination)

    def deliver(self, destination: Any, alert: Alert) -> None:
        raise NotImplementedError


class SnsAlertNotifier(AlertNotifier):
    channel = "Amazon SNS"

    def destination(self) -> str | None:
        name = envvars.ALERT_SNS_TOPIC_ARN
        value = self.settings.sns_topic_arn or airflow_variable(name, self.channel)
        return check_sns_topic_arn(value, variable_name(name))

    def deliver(self, destination: str, alert: Alert) -> None:
        publish_sns(destination, alert)


class WebhookAlertNotifier(AlertNotifier):
    channel = "webhook"
    setting = envvars.ALERT_WEBHOOK_URL

    def destination(self) -> str | None:
        if self.settings.webhook_url:  # checked with the settings, against the environment's permission
            return self.settings.webhook_url
        name = envvars.ALERT_WEBHOOK_URL
        value = airflow_variable(name, self.channel)
        return check_webhook_url(
            value,
            variable_name(name),
            allow_http=self._http_allowed(value),
            allow_name=variable_name(envvars.ALERT_WEBHOOK_ALLOW_HTTP),
        )

    def _http_allowed(self, url: str | None) -> bool:
        """The permission for an http:// URL to another machine: looked up only for such a URL."""
        if self.settings.webhook_allow_http is not None:
            return self.settings.webhook_allow_http
        try:
            parts = urlsplit(url or "")
            remote_http = parts.scheme.lower() == "http" and not is_loopback(parts.hostname or "")
        except ValueError:
            return False  # the URL check says what is wrong with it
        if not remote_http:
            return False
        allowed = airflow_variable(envvars.ALERT_WEBHOOK_ALLOW_HTTP, self.channel)
        return (allowed or "").lower() in ("true", "1", "yes")

    def secrets(self, destination: str) -> tuple[str, ...]:
        # Slack's token is the URL's path; another tool's may be in its query or password. The path keeps
        # its slash: a bare word of it ("webhook") would be masked in every log line that has that word.
        parts = urlsplit(destination)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return both_forms(destination, path if path.strip("/") else None, parts.password)

    def shown(self, destination: str) -> str:
        return redacted(destination)

    def deliver(self, destination: str, alert: Alert) -> None:
        parts = urlsplit(destination)
        if parts.username is not None or parts.password is not None:
            # urllib never sends them: it takes them for part of the host, and asks the DNS for that name,
            # password and all, before it fails. Refused before anything leaves the machine.
            raise CredentialsInUrlError(
                "the URL has a user or password, which a webhook never sends: give its token in the URL's path "
                "or query instead"
            )
        post_webhook(destination, alert)


class CredentialsInUrlError(ValueError):
    """A webhook URL with a user or password; its text repeats nothing of the URL."""


class EmailAlertNotifier(AlertNotifier):
    channel = "email"

    def destination(self) -> Mail | None:
        recipients = self.settings.email_to or addresses(airflow_variable(envvars.ALERT_EMAIL_TO, self.channel))
        if not recipients:
            return None
        name = envvars.ALERT_SMTP_URL
        url = check_smtp_url(self.settings.smtp_url or airflow_variable(name, self.channel), variable_name(name))
        ca_file = self.settings.smtp_ca_file or airflow_variable(envvars.ALERT_SMTP_CA_FILE, self.channel)
        server = SmtpServer.from_url(url, ca_file) if url else smtp_connection(ca_file)
        if server is None:
            raise ValueError(
                f"mail to {', '.join(recipients)} needs an SMTP server: set {name} "
                f"(or the Airflow Variable {variable_name(name)}, or the connection {SMTP_CONNECTION_ID})"
            )
        sender = (
            self.settings.email_from or airflow_variable(envvars.ALERT_EMAIL_FROM, self.channel) or default_sender()
        )
        return Mail(server, sender, recipients, url)

    def secrets(self, destination: Mail) -> tuple[str, ...]:
        # A URL without a password is no secret, and masking it would hide the server in every log line.
        password = destination.server.password
        return both_forms(destination.url if password else None, password)

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
        raw = airflow_variable(envvars.ALERT_QUARANTINE_THRESHOLD, "every channel")
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
