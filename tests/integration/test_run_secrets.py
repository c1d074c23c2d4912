"""No secret in any file a run writes, nor in anything it prints (issue 31, docs/secrets.md).

Every secret setting holds a sentinel of its own: the webhook URL (a token in its path, a percent-encoded
password before its host), the SMTP password (mail over STARTTLS with a login, to a server whose CA the test
makes), the PostgreSQL password (the server here trusts 127.0.0.1, so any password connects) and a token in
the data URL's query. `tickit run --target postgres` then runs as a user starts it, first in its home (so it
downloads), with a model broken, alerting: one run (CI time), as a green run writes and prints a subset of what
this one does (no alert, all three gold views where this one has two). Every byte under the home (Airflow's
database and logs, the run history, the report, the docs, the downloads) and everything printed is searched for
each sentinel, as written, percent-encoded and decoded. The SNS topic ARN is no secret (docs/secrets.md) and has
no sentinel.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import threading
import zipfile
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, unquote

import pytest
from tests.alert_receivers import private_ca_certificate, smtp_server, wait_for
from tests.support import PG, copy_project, fresh_database

from tickit_platform.data.synth import generate
from tickit_platform.local.airflow import AUTH_MANAGER_FILE
from tickit_runtime import envvars

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(900)]

# Each sentinel has a core of letters and digits found in any of its encodings, and characters a URL must
# percent-encode, so that its encoded and decoded forms differ.
# (pragma: the test's made-up values.)
SENTINELS = {
    envvars.POSTGRES_PASSWORD: "pg@Sentinel32Postgres:pw/x",  # pragma: allowlist secret
    "webhook password": "hook@Sentinel32HookPw:pw/x",  # pragma: allowlist secret
    "webhook token": "T0/Sentinel32HookToken/x",
    "SMTP password": "smtp@Sentinel32SmtpPw:pw/x",  # pragma: allowlist secret
    "data URL token": "Sentinel32DataToken/x+y=",
}
SMTP_USER = "alerts"
DATA = {envvars.SCALE: "0.01", envvars.SEED: "7"}


def forms(secret: str) -> set[str]:
    """What a leak of `secret` may look like: as written, percent-encoded (every way a URL or form does it),
    decoded, and its core, which every one of those has."""
    core = next(part for part in secret.replace("@", "/").replace(":", "/").split("/") if "Sentinel32" in part)
    return {secret, quote(secret, safe=""), quote(secret), quote_plus(secret), unquote(secret), core}


def leaks(where: str, data: bytes) -> list[str]:
    found = []
    for setting, secret in SENTINELS.items():
        for form in sorted(forms(secret)):
            at = data.find(form.encode())
            if at >= 0:
                found.append(f"{setting} in {where}: …{data[max(at - 80, 0) : at + 80]!r}…")
    return found


@contextlib.contextmanager
def zip_server(zip_path: Path) -> Iterator[tuple[str, list[str]]]:
    """Serves `zip_path` at /tickitdb.zip on 127.0.0.1; yields the URL and the paths asked for."""
    asked: list[str] = []
    body = zip_path.read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tickitdb.zip", asked
    finally:
        server.shutdown()
        server.server_close()


def synthetic_zip(folder: Path) -> Path:
    """A zip of seven tickit files that are not the official ones: the run downloads it, finds the wrong row
    counts, says so naming the URL as it may be shown, and falls back to synthetic data."""
    files = generate(folder / "files", scale=0.001, seed=3)
    zip_path = folder / "tickitdb.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        for path in files.glob("*.txt"):
            archive.write(path, f"tickitdb/{path.name}")
    return zip_path


def tickit_run(home: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tickit_platform.cli", "--home", str(home), "run", "--target", "postgres"],
        env={**os.environ, "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=800,
        check=False,
    )


def serialized_dags(airflow_db: Path) -> list[bytes]:
    """Every serialized DAG row of Airflow's metadata database, decompressed where Airflow compressed it."""
    with contextlib.closing(sqlite3.connect(airflow_db)) as db:
        rows = db.execute("select data, data_compressed from serialized_dag").fetchall()
    return [(str(data or "")).encode() + (zlib.decompress(packed) if packed else b"") for data, packed in rows]


def everything_under(home: Path) -> list[str]:
    found = []
    for path in sorted(home.rglob("*")):
        if path.is_file() and not path.is_symlink():
            found += leaks(str(path.relative_to(home)), path.read_bytes())
    return found


@pytest.fixture
def database() -> Iterator[str]:
    with fresh_database("tickit_secrets") as name:
        yield name


def test_a_failing_alerted_run_on_postgres_writes_and_prints_no_secret(tmp_path: Path, database: str) -> None:
    home = tmp_path / "home"
    certificate = private_ca_certificate(tmp_path / "tls")
    broken = copy_project(tmp_path / "broken")
    model = broken / "models" / "silver" / "silver_users.sql"
    model.write_text(model.read_text().replace("select * from final", "select no_such_column from final"))
    password = SENTINELS["SMTP password"]
    with (
        zip_server(synthetic_zip(tmp_path / "zip")) as (data_url, asked),
        smtp_server(tls=certificate, login=(SMTP_USER, password)) as box,
    ):
        port = box.url.rsplit(":", 1)[1]
        hook_password, hook_token = quote(SENTINELS["webhook password"], safe=""), SENTINELS["webhook token"]
        env = {
            **DATA,
            envvars.DATA_URL: f"{data_url}?token={quote(SENTINELS['data URL token'], safe='')}&region=eu",
            envvars.POSTGRES_HOST: PG["host"],
            envvars.POSTGRES_PORT: PG["port"],
            envvars.POSTGRES_USER: PG["user"],
            envvars.POSTGRES_DBNAME: database,
            envvars.POSTGRES_PASSWORD: SENTINELS[envvars.POSTGRES_PASSWORD],
            # urllib cannot send a URL's password: this channel fails, and its failure is what may leak.
            envvars.ALERT_WEBHOOK_URL: f"http://someone:{hook_password}@127.0.0.1:{port}/hooks/{hook_token}",
            envvars.ALERT_SMTP_URL: f"smtp://{SMTP_USER}:{quote(password, safe='')}@127.0.0.1:{port}",
            envvars.ALERT_SMTP_CA_FILE: str(certificate.ca_file),
            envvars.ALERT_EMAIL_TO: "data@example.com",
            envvars.ALERT_EMAIL_FROM: "tickit@example.com",
            envvars.DAG_RETRIES: "0",
        }
        failing = tickit_run(home, {**env, envvars.DBT_PROJECT_DIR: str(broken)})
        # The serialized DAG, as the run left it in Airflow's metadata database.
        stored = serialized_dags(home / "airflow" / "airflow.db")
        mails = wait_for(box.received, 1)
    assert failing.returncode == 1 and "✗ silver_users failed" in failing.stdout, failing.stdout + failing.stderr
    # Alerted: the mail came, with its login; the webhook's failure was logged naming its setting.
    assert any(m.subject.startswith("[tickit] silver_users failed in run ") for m in mails), mails
    assert set(box.logins) == {(SMTP_USER, password)}
    assert _task_logs_say(home, f"the URL in {envvars.ALERT_WEBHOOK_URL}")
    # The data URL was used, token and all, and shown without it.
    assert asked and all("token=" in path for path in asked)
    assert "did not give the official tickit files" in failing.stdout + failing.stderr

    found = [leak for row in stored for leak in leaks("the serialized DAG", row)]
    assert stored and found == []
    found += leaks("what the run printed", (failing.stdout + failing.stderr).encode())
    found += everything_under(home)
    assert found == []
    # What holds a secret of Airflow's (its database, its JWT secret, the admin's password, the logs, which may
    # quote anything) is the user's only, in a folder only they may enter.
    airflow = home / "airflow"
    secret_holding = [airflow / "airflow.db", airflow / "jwt_secret", airflow / AUTH_MANAGER_FILE]
    secret_holding += [path for path in (airflow / "logs").rglob("*") if path.is_file()]
    assert [str(path.relative_to(home)) for path in secret_holding if path.stat().st_mode & 0o077] == []
    assert airflow.stat().st_mode & 0o777 == 0o700


def _task_logs_say(home: Path, text: str) -> bool:
    return any(text in p.read_text(errors="replace") for p in (home / "airflow" / "logs").rglob("*.log"))
