"""Alerts keep their secrets and check their servers: no webhook URL or SMTP password in any log line,
printed output or error message; mail only over TLS the client verified when there is a password to send;
an alert setting Airflow cannot read is a warning naming the channel. Against real receivers on 127.0.0.1
(aiosmtpd with a certificate of a CA made by the test, an HTTP webhook, SNS on moto's server)."""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from tests.alert_receivers import (
    Certificate,
    free_port,
    private_ca_certificate,
    smtp_server,
    sns_topic,
    wait_for,
    webhook_server,
)
from tests.unit.test_alerts import DBT_LOG, MANIFEST, RUN, RUN_RESULTS, _deliver, _logged, failed_task_context

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

REPO = Path(__file__).resolve().parents[2]
USER = "alerts"
# Airflow's option naming its secrets backend.
BACKEND_OPTION = "AIRFLOW__SECRETS__BACKEND"
SUBJECT = f"[tickit] silver_users failed in run {RUN}"


@pytest.fixture
def token() -> str:
    """A webhook's secret, as Slack puts it in the URL's path; made per test, so no secret is in the code."""
    return f"T0TICKIT/B0TICKIT/{secrets.token_hex(12)}"


@pytest.fixture
def password() -> str:
    return f"pw-{secrets.token_hex(12)}"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return private_ca_certificate(tmp_path_factory.mktemp("tls"))


def _build_and_load_dirs(tmp_path: Path) -> tuple[Path, Path]:
    build, load = tmp_path / "build", tmp_path / "load"
    (build / "target").mkdir(parents=True)
    (build / "target" / "run_results.json").write_text(json.dumps(RUN_RESULTS))
    (build / "target" / "manifest.json").write_text(json.dumps(MANIFEST))
    (load / "target").mkdir(parents=True)
    (load / "logs").mkdir()
    (load / "target" / "run_results.json").write_text(json.dumps({"results": [{"status": "success"}]}))
    (load / "logs" / "dbt.log").write_text(DBT_LOG)
    return build, load


def _assert_hidden(text: str, *values: str) -> None:
    for value in values:
        assert value not in text, f"a secret was shown: ...{text[max(text.find(value) - 200, 0) :][:400]}..."


def test_every_alert_on_every_channel_keeps_its_secrets(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    certificate: Certificate,
    token: str,
    password: str,
) -> None:
    build, load = _build_and_load_dirs(tmp_path)
    with (
        caplog.at_level(logging.DEBUG),
        webhook_server() as hook,
        smtp_server(tls=certificate, login=(USER, password)) as box,
        sns_topic(monkeypatch, tmp_path) as topic,
    ):
        port = box.url.rsplit(":", 1)[1]
        webhook_url = f"{hook.url}/{token}?key={token.rsplit('/', 1)[1]}"
        settings = AlertSettings(
            sns_topic_arn=topic.topic_arn,
            webhook_url=webhook_url,
            smtp_url=f"smtp://{USER}:{quote(password)}@127.0.0.1:{port}",
            smtp_ca_file=str(certificate.ca_file),
            email_to=("data@example.com",),
            email_from="tickit@example.com",
            quarantine_threshold=0,
        )
        deployment = Deployment("local", settings)
        # Every kind of alert: a failed task, a failed run, the build's data tests, the load's quarantine.
        for notifier in notifiers(task_failure(deployment), settings):
            notifier(failed_task_context())
        for notifier in notifiers(run_failure(deployment), settings):
            notifier({"dag_id": "dbt_tickit_medallion_dag", "run_id": RUN, "reason": "task_failure"})
        AfterBuild(deployment)(str(build), context=failed_task_context("dbt_producer_watcher"))
        AfterLoad(deployment)(str(load), context=failed_task_context("load_raw"))
        mails, published = wait_for(box.received, 4), wait_for(topic.received, 4)

        # Each channel failing, with the same secrets in its settings.
        dead = AlertSettings(
            webhook_url=f"http://127.0.0.1:{free_port()}/{token}",
            smtp_url=f"smtp://{USER}:{quote(password)}@127.0.0.1:{free_port()}",
            email_to=("data@example.com",),
        )
        _deliver(dead)
        wrong_password = AlertSettings(
            smtp_url=f"smtp://{USER}:{quote(password)}x@127.0.0.1:{port}",
            smtp_ca_file=str(certificate.ca_file),
            email_to=("data@example.com",),
        )
        _deliver(wrong_password)
        # A bad value in an Airflow Variable is found only when an alert goes out.
        monkeypatch.setenv("AIRFLOW_VAR_TICKIT_ALERT_WEBHOOK_URL", f"hooks.example.com/{token}")
        monkeypatch.setenv("AIRFLOW_VAR_TICKIT_ALERT_SMTP_URL", f"{USER}:{password}@mail.example.com")
        monkeypatch.setenv("AIRFLOW_VAR_TICKIT_ALERT_EMAIL_TO", "data@example.com")
        _deliver(AlertSettings())

    assert len(hook.posts) == 4 and len(mails) == 4 and len(published) == 4
    assert box.logins[:4] == [(USER, password)] * 4  # the login worked, over verified TLS
    logged = _logged(capfd, caplog)
    _assert_hidden(logged, token, password, quote(password))
    # Where it went, as far as a log may say.
    assert f"tickit alert sent by webhook to {hook.url.rsplit('/', 2)[0]}/…: {SUBJECT}" in logged
    assert f"tickit alert sent by email to data@example.com through smtp://127.0.0.1:{port}: {SUBJECT}" in logged
    assert "tickit alert not sent by webhook" in logged and "tickit alert not sent by email" in logged
    assert "SMTPAuthenticationError" in logged
    assert "tickit_alert_webhook_url is not an https:// URL: it does not start with https:// or http://" in logged
    assert "tickit_alert_smtp_url is not an smtp://" in logged
    # Airflow's masker hides them in whatever else its processes log.
    from airflow.sdk._shared.secrets_masker import redact

    shown = str(redact(f"posting to {webhook_url} with {password}"))
    _assert_hidden(shown, token, password)


def _bad_values(token: str, password: str) -> list[tuple[str, str, str, str]]:
    """(variable, a bad value holding a secret, what the error says, the secret)."""
    return [
        ("TICKIT_ALERT_WEBHOOK_URL", f"hooks.slack.com/services/{token}", "does not start with https://", token),
        ("TICKIT_ALERT_WEBHOOK_URL", f"https:///services/{token}", "names no host", token),
        ("TICKIT_ALERT_WEBHOOK_URL", f"https://hooks.slack.com:{token[-8:]}/x", "can be read", token[-8:]),
        ("TICKIT_ALERT_SMTP_URL", f"{USER}:{password}@mail.example.com:587", "does not start with smtp://", password),
        ("TICKIT_ALERT_SMTP_URL", f"https://{USER}:{password}@mail.example.com", "does not start with smtp", password),
        ("TICKIT_ALERT_SMTP_URL", f"smtp://{USER}:{password}@:587", "names no host", password),
        ("TICKIT_ALERT_SNS_TOPIC_ARN", f"arn:aws:sqs:eu-central-1:1:{token}", "is not an SNS topic ARN", token),
    ]


@pytest.mark.parametrize("case", range(7))
def test_a_bad_secret_setting_is_refused_naming_the_variable_and_the_problem_never_the_value(
    case: int, token: str, password: str
) -> None:
    name, value, says, secret = _bad_values(token, password)[case]
    with pytest.raises(SettingsError) as caught:
        DagConfig.from_env({name: value})
    message = str(caught.value)
    assert message.startswith(f"{name} is not ") and says in message
    _assert_hidden(message, secret)
    _assert_hidden(repr(caught.value), secret)


def _smtp(box_url: str, *, login: tuple[str, str] | None = None, ca_file: Path | None = None) -> AlertSettings:
    scheme, address = box_url.split("://")
    credentials = f"{login[0]}:{quote(login[1])}@" if login else ""
    return AlertSettings(
        smtp_url=f"{scheme}://{credentials}{address}",
        smtp_ca_file=str(ca_file) if ca_file else None,
        email_to=("data@example.com",),
        email_from="tickit@example.com",
    )


@pytest.mark.parametrize("implicit_tls", [True, False], ids=["smtps", "starttls"])
def test_mail_goes_only_to_a_server_whose_certificate_verifies(
    implicit_tls: bool,
    certificate: Certificate,
    password: str,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with (
        caplog.at_level(logging.INFO),
        smtp_server(tls=certificate, implicit_tls=implicit_tls, login=(USER, password)) as box,
    ):
        _deliver(_smtp(box.url, login=(USER, password)))  # the system's CAs do not know this one
        refused = list(box.messages), list(box.logins)
        _deliver(_smtp(box.url, login=(USER, password), ca_file=certificate.ca_file))
        got = wait_for(box.received, 1)
    assert refused == ([], [])  # nothing sent, the password least of all
    logged = _logged(capfd, caplog)
    assert f"tickit alert not sent by email: {SUBJECT}: SmtpRefusedError: the certificate of " in logged
    assert "could not be verified" in logged and "set TICKIT_ALERT_SMTP_CA_FILE to that CA's PEM file" in logged
    assert [m.subject for m in got] == [SUBJECT] and box.logins == [(USER, password)]


def test_a_password_is_never_sent_to_a_server_that_does_not_offer_starttls(
    password: str, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # This server takes a login in clear text, as one whose STARTTLS a machine in between stripped would.
    with caplog.at_level(logging.INFO), smtp_server(login=(USER, password), login_in_clear=True) as box:
        _deliver(_smtp(box.url, login=(USER, password)))
    assert box.logins == [] and box.messages == []
    logged = _logged(capfd, caplog)
    assert (
        f"tickit alert not sent by email: {SUBJECT}: SmtpRefusedError: {box.url} does not offer STARTTLS, so the "
        "login (and its password) would cross the network unencrypted; nothing was sent." in logged
    )
    _assert_hidden(logged, password)


def test_an_alert_setting_airflow_cannot_read_is_a_warning_naming_the_channel(tmp_path: Path) -> None:
    """A secrets backend that denies the lookups (as a store's policy may): every channel left without a
    setting says so, once per alert, instead of staying silently off."""
    script = (
        "from tickit_runtime.alerts.notifiers import Deployment, notifiers, run_failure\n"
        "from tickit_runtime.alerts.settings import AlertSettings\n"
        "settings = AlertSettings(email_to=('data@example.com',))\n"
        "for notifier in notifiers(run_failure(Deployment('local', settings)), settings):\n"
        "    notifier({'dag_id': 'dbt_tickit_medallion_dag', 'run_id': 'r1', 'reason': 'task_failure'})\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "AIRFLOW_HOME": str(tmp_path),
        BACKEND_OPTION: "tests.secrets_backends.DenyingBackend",
    }
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    denied = "AirflowSecretsBackendAccessDenied: the secrets store's policy denies reading"
    for channel, what in [
        ("Amazon SNS", "the Airflow Variable tickit_alert_sns_topic_arn"),
        ("webhook", "the Airflow Variable tickit_alert_webhook_url"),
        ("email", "the Airflow Variable tickit_alert_smtp_url"),
        ("email", "the Airflow connection tickit_alert_smtp"),
    ]:
        assert f"tickit alerts by {channel}: {what} could not be read: {denied}" in out, out
    # Mail had recipients but no server it could read: that alert is not sent, and says why.
    assert "tickit alert not sent by email" in out and "needs an SMTP server" in out
