"""No secret in what the code shows or writes (issue 31): reprs name a secret field and show `'***'`; a URL that
cannot be used fails at once naming its setting, never quoting it (decoded or not); a plain-http webhook to
another machine is refused unless allowed; Airflow hides the alerts' secret Variables, locally and on MWAA;
what a run writes that may hold secrets is the user's only. Each test failed before its change.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from tests.alert_receivers import free_port, webhook_server
from tests.unit.test_alerts import _deliver, _logged
from tests.unit.test_local_processes import umask

from tickit_platform.data import fetch as fetch_module
from tickit_platform.data.fetch import fetch
from tickit_platform.data.postgres_staging import PostgresAddress
from tickit_platform.local.airflow import LocalAirflow
from tickit_platform.settings import Settings
from tickit_runtime import envvars
from tickit_runtime.alerts.channels import Mail, SmtpServer
from tickit_runtime.alerts.notifiers import WebhookAlertNotifier
from tickit_runtime.alerts.settings import AlertSettings, sensitive_variable_names
from tickit_runtime.config import DagConfig
from tickit_runtime.errors import SettingsError

REPO = Path(__file__).resolve().parents[2]
# A password with characters a URL must percent-encode: its encoded and decoded forms differ.
PASSWORD = "pw@Sentinel:31/x"  # pragma: allowlist secret (a test's made-up value)
TOKEN = "T0SENTINEL/B0SENTINEL/tok31sentinel"  # pragma: allowlist secret (a test's made-up value)


def _hidden(text: str, *secrets: str) -> None:
    for secret in secrets:
        for form in {secret, quote(secret, safe="")}:
            assert form not in text, f"a secret was shown: {text}"


# --- 1. reprs ----------------------------------------------------------------------------------------------------


def test_reprs_name_a_secret_field_and_never_show_its_value() -> None:
    alerts = AlertSettings(
        webhook_url=f"https://hooks.example.com/{TOKEN}", smtp_url=f"smtp://u:{quote(PASSWORD, safe='')}@mail:587"
    )
    address = PostgresAddress(host="db", password=PASSWORD)
    dag = DagConfig(postgres=address.dbt_variables(), alerts=alerts)
    settings = Settings(data_url=f"https://u:{quote(PASSWORD, safe='')}@mirror.example.com/t.zip", dag=None)
    server = SmtpServer("mail", 587, "u", PASSWORD)
    for shown in (alerts, address, dag, settings, server, Mail(server, "a@b", ("c@d",), alerts.smtp_url)):
        text = repr(shown)
        _hidden(text, PASSWORD, TOKEN)
        assert "'***'" in text, text
    assert "webhook_url='***'" in repr(alerts) and "smtp_url='***'" in repr(alerts)
    assert "password='***'" in repr(address) and "host='db'" in repr(address)
    assert f"('{envvars.POSTGRES_PASSWORD}', '***')" in repr(dag) and "('DBT_POSTGRES_HOST', 'db')" in repr(dag)
    assert "data_url='***'" in repr(settings) and "source=None" in repr(settings)
    # Unset secrets read as unset; equality and the values the code reads are unchanged.
    assert "webhook_url=None" in repr(AlertSettings())
    assert address == PostgresAddress(host="db", password=PASSWORD) and address.password == PASSWORD
    assert DagConfig.from_env(dag.to_env()).postgres == dag.postgres
    local = repr(
        LocalAirflow(Path("/nowhere"), dag_env=dag.to_env(), sql_alchemy_conn=f"postgresql://u:{PASSWORD}@h/m")
    )
    _hidden(local, PASSWORD, TOKEN)


# --- 2. a data URL that no download can use -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"http://someone:{quote(PASSWORD, safe='')}@127.0.0.1/tickitdb.zip",  # no port: `nonnumeric port: '…'`
        f"http://someone:{quote(PASSWORD, safe='')}@127.0.0.1:{free_port()}/tickitdb.zip",  # a DNS lookup of it
        f"http://127.0.0.1:{quote(PASSWORD, safe='')}/tickitdb.zip",
    ],
    ids=["password-no-port", "password-and-port", "bad-port"],
)
def test_a_data_url_no_download_can_use_fails_at_once_naming_the_setting_never_its_secret(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tickit_platform.data.acquire import acquire

    opened: list[object] = []
    real = fetch_module.urllib.request.urlopen
    monkeypatch.setattr(fetch_module.urllib.request, "urlopen", lambda *a, **k: opened.append(a) or real(*a, **k))
    settings = Settings.from_env({envvars.DATA_URL: url}, home=tmp_path / "home")
    said: list[str] = []
    started = time.monotonic()
    with pytest.raises(SettingsError) as caught:  # not a fallback to synthetic data: the setting is wrong
        acquire(settings, say=said.append)
    assert time.monotonic() - started < 1 and opened == [] and said == []  # nothing sent, nothing retried
    message = str(caught.value)
    assert message.startswith(f"{envvars.DATA_URL} cannot be downloaded from: it ") and "\n" not in message
    _hidden(message + repr(caught.value), PASSWORD, "someone")
    with pytest.raises(SettingsError) as given:
        fetch(tmp_path / "dl", url, progress=False)
    assert str(given.value).startswith(f"--source (or {envvars.SOURCE}) cannot be downloaded from")
    _hidden(str(given.value), PASSWORD)


def test_a_url_error_while_downloading_is_not_retried_and_never_quoted(tmp_path: Path) -> None:
    """Past the check (a control character urllib refuses only when it sends), the error's text is dropped."""
    net = fetch_module._Net(progress="off", retries=3, timeout=5, backoff=10)  # a retry would take 10 s
    started = time.monotonic()
    with pytest.raises(fetch_module.FetchError) as caught:
        fetch_module._download(f"http://127.0.0.1:{free_port()}/{TOKEN}\x7f.zip", tmp_path / "x.zip", net)
    assert time.monotonic() - started < 5
    assert "the URL cannot be used (InvalidURL)" in str(caught.value)
    assert "control characters" not in str(caught.value)  # http.client's text, which quotes the whole URL


# --- 3. a webhook with a percent-encoded password ----------------------------------------------------------------


@pytest.mark.parametrize("port", ["", f":{free_port()}"], ids=["no-port", "port"])
def test_a_webhook_password_is_hidden_decoded_as_well_as_encoded_and_the_error_names_the_setting(
    port: str, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without a port urllib failed with `nonnumeric port: '<password>@host'`; with one it asked the DNS for
    # `someone:<password>@127.0.0.1`. Neither happens: such a URL is refused before anything is sent.
    looked_up: list[object] = []
    real_lookup = socket.getaddrinfo

    def lookup(host: object, *args: object, **kwargs: object) -> object:
        looked_up.append(host)
        return real_lookup(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    url = f"http://someone:{quote(PASSWORD, safe='')}@127.0.0.1{port}/hooks/{TOKEN}"
    settings = AlertSettings(webhook_url=url)
    with caplog.at_level(logging.DEBUG):
        _deliver(settings)
    assert looked_up == []
    logged = _logged(capfd, caplog)
    _hidden(logged, PASSWORD, TOKEN)
    assert "tickit alert not sent by webhook" in logged
    assert "the URL has a user or password, which a webhook never sends: give its token in the URL's path" in logged
    assert f"(the URL in {envvars.ALERT_WEBHOOK_URL} or tickit_alert_webhook_url)" in logged
    # Both forms go to Airflow's masker, which then hides them in whatever else its processes log.
    notifier = WebhookAlertNotifier(lambda _: None, settings)
    secrets = notifier.secrets(url)
    assert PASSWORD in secrets and quote(PASSWORD, safe="") in secrets
    from airflow.sdk._shared.secrets_masker import redact

    _hidden(str(redact(f"nonnumeric port: '{PASSWORD}@127.0.0.1' in {url}")), PASSWORD)


def test_any_other_webhook_send_error_names_the_setting_and_hides_the_url(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        _deliver(AlertSettings(webhook_url=f"http://127.0.0.1:{free_port()}/hooks/{TOKEN}"))  # nothing listens
    logged = _logged(capfd, caplog)
    _hidden(logged, TOKEN)
    assert f"Connection refused> (the URL in {envvars.ALERT_WEBHOOK_URL} or tickit_alert_webhook_url)" in logged


# --- 4. plain http ---------------------------------------------------------------------------------------------------


def test_a_plain_http_webhook_to_another_machine_is_refused_unless_allowed() -> None:
    remote = f"http://hooks.example.com/{TOKEN}"
    with pytest.raises(SettingsError) as caught:
        DagConfig.from_env({envvars.ALERT_WEBHOOK_URL: remote})
    message = str(caught.value)
    assert message.startswith(f"{envvars.ALERT_WEBHOOK_URL} is an http:// URL to another machine")
    assert f"set {envvars.ALERT_WEBHOOK_ALLOW_HTTP}=true" in message
    _hidden(message, TOKEN)
    allowed = DagConfig.from_env({envvars.ALERT_WEBHOOK_URL: remote, envvars.ALERT_WEBHOOK_ALLOW_HTTP: "true"})
    assert allowed.alerts.webhook_url == remote and DagConfig.from_env(allowed.to_env()) == allowed
    # Loopback never leaves the machine: a local receiver needs no permission. https never does.
    for url in ("http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]:9/x", f"https://h.example.com/{TOKEN}"):
        assert AlertSettings(webhook_url=url).webhook_url == url
    with pytest.raises(SettingsError, match="is not true or false"):
        DagConfig.from_env({envvars.ALERT_WEBHOOK_URL: remote, envvars.ALERT_WEBHOOK_ALLOW_HTTP: "sure"})


def test_a_plain_http_webhook_variable_is_refused_when_sent_unless_its_variable_allows_it(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    with webhook_server() as hook, caplog.at_level(logging.INFO):
        # A remote-looking name that resolves to the receiver: what matters is the name, not where it goes.
        remote = hook.url.replace("127.0.0.1", "tickit-test.example.com")
        monkeypatch.setenv("AIRFLOW_VAR_TICKIT_ALERT_WEBHOOK_URL", remote)
        _deliver(AlertSettings())
        assert hook.posts == []
        logged = _logged(capfd, caplog)
        assert "tickit_alert_webhook_url is an http:// URL to another machine" in logged
        assert "set tickit_alert_webhook_allow_http=true" in logged
        monkeypatch.setenv("AIRFLOW_VAR_TICKIT_ALERT_WEBHOOK_URL", hook.url)
        _deliver(AlertSettings())  # loopback: sent
        assert len(hook.posts) == 1


# --- 5. Airflow hides the alert Variables that may hold a secret ----------------------------------------------------


def test_terraform_gives_mwaa_the_same_sensitive_variable_names_as_the_local_airflow() -> None:
    module = (REPO / "infra" / "modules" / "mwaa" / "main.tf").read_text()
    found = re.findall(r'^\s*"core\.sensitive_var_conn_names"\s*=\s*"([^"]*)"', module, re.MULTILINE)
    assert found == [sensitive_variable_names()]
    assert set(sensitive_variable_names().split(",")) == {"tickit_alert_webhook_url", "tickit_alert_smtp_url"}


# Run by the real Airflow, with the local Airflow's configuration: its masker and its task log's modes.
AIRFLOW_PROBE = """
import os, stat
from airflow.settings import _configure_secrets_masker
from airflow._shared.secrets_masker import redact, should_hide_value_for_key
from airflow.sdk.log import init_log_file
_configure_secrets_masker()
for name in ("tickit_alert_webhook_url", "tickit_alert_smtp_url", "my_own_secret_name", "tickit_alert_email_to"):
    print(name, should_hide_value_for_key(name), redact("https://hooks.example.com/T0/B0/x", name))
path = init_log_file("dag_id=d/run_id=r/task_id=t/attempt=1.log")
print("file", oct(stat.S_IMODE(path.stat().st_mode)), "folder", oct(stat.S_IMODE(path.parent.stat().st_mode)))
"""


def test_the_local_airflow_hides_the_alert_variables_and_writes_task_logs_owner_only(tmp_path: Path) -> None:
    home = tmp_path / "airflow"
    base = {**os.environ, "AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES": "my_own_secret_name"}
    env = LocalAirflow(home, dag_env={}, base_env=base).env()
    with umask(0o002):  # a umask that leaves files group-writable, as Airflow's defaults are
        done = subprocess.run(
            [sys.executable, "-c", AIRFLOW_PROBE], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path
        )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "tickit_alert_webhook_url True ***" in lines and "tickit_alert_smtp_url True ***" in lines
    assert "my_own_secret_name True ***" in lines  # the user's own names are kept
    assert "tickit_alert_email_to False https://hooks.example.com/T0/B0/x" in lines
    assert "file 0o600 folder 0o700" in lines
    assert home.stat().st_mode & 0o777 == 0o700


# --- 6. files a run writes -------------------------------------------------------------------------------------------


def test_airflow_db_and_the_logs_folder_are_owner_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "airflow"
    airflow = LocalAirflow(home, dag_env={})

    def migrate_as_airflow_does(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        # SQLite creates the database at the umask's mode; its journal takes the database's.
        with sqlite3.connect(home / "airflow.db") as db:
            db.execute("create table if not exists variable (key text, val text)")
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(airflow, "_airflow", migrate_as_airflow_does)
    with umask(0o022):
        airflow.migrate()
    assert (home / "airflow.db").stat().st_mode & 0o777 == 0o600
    assert home.stat().st_mode & 0o777 == 0o700
    # One an older version left readable is narrowed.
    (home / "airflow.db").chmod(0o644)
    home.chmod(0o755)
    airflow.migrate()
    assert (home / "airflow.db").stat().st_mode & 0o777 == 0o600 and home.stat().st_mode & 0o777 == 0o700
    assert sqlite3.connect(home / "airflow.db").execute("select count(*) from variable").fetchone() == (0,)


def test_the_resident_airflows_record_of_its_settings_cannot_be_checked_against_a_guessed_password(
    tmp_path: Path,
) -> None:
    """`tickit up` records a digest per setting to tell which one changed; a plain SHA-256 of a password in a
    file is a way to test guesses offline. The digests are keyed with a secret of the installation."""
    from tickit_platform.local.resident import DIGEST_KEY_FILE, settings_digest

    def digest(home: Path, password: str) -> str:
        airflow = LocalAirflow(home, dag_env={envvars.POSTGRES_PASSWORD: password})
        return settings_digest(airflow)[envvars.POSTGRES_PASSWORD]

    recorded = digest(tmp_path / "a", PASSWORD)
    assert recorded not in hashlib.sha256(PASSWORD.encode()).hexdigest()
    assert recorded not in hashlib.sha256(quote(PASSWORD, safe="").encode()).hexdigest()
    # The same installation tells a changed setting from an unchanged one; another one says nothing of it.
    assert digest(tmp_path / "a", PASSWORD) == recorded != digest(tmp_path / "a", "another")
    assert digest(tmp_path / "b", PASSWORD) != recorded
    assert (tmp_path / "a" / DIGEST_KEY_FILE).stat().st_mode & 0o777 == 0o600


def test_the_startup_scripts_environment_dump_is_owner_only_and_removed(tmp_path: Path) -> None:
    from tickit_platform.deploy.rehearsal.startup import source_startup

    # The shell's EXIT trap runs after MWAA's handler wrote the dump: the script reads its mode there.
    mode = tmp_path / "mode"
    script = tmp_path / "startup.sh"
    script.write_text(
        f"export {envvars.POSTGRES_PASSWORD}=x\n"
        "umask 000\n"  # a script's own umask must not widen the dump
        f'trap \'stat -c %a "${envvars.STARTUP_ENV_FILE}" > {mode} 2>/dev/null || '
        f'stat -f %Lp "${envvars.STARTUP_ENV_FILE}" > {mode}\' EXIT\n'
    )
    base = {"PATH": "/usr/bin:/bin", "AIRFLOW_HOME": str(tmp_path)}
    env = source_startup(script, base, tmp_path / "startup.log")
    assert env[envvars.POSTGRES_PASSWORD] == "x"
    assert mode.read_text().strip() == "600"
    assert not (tmp_path / "startup.env").exists()  # removed once read
