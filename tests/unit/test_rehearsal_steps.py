"""The rehearsal's steps on their own: MWAA's pip command line, startup.sh's sourcing, the Variables' names."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tickit_platform.commands.session import postgres_address
from tickit_platform.data.postgres_staging import PostgresAddress
from tickit_platform.deploy.rehearsal import RehearsalError
from tickit_platform.deploy.rehearsal.cluster import CeleryAirflow
from tickit_platform.deploy.rehearsal.rehearse import RehearsalOptions, rehearsal_dag_env, rehearsal_variables
from tickit_platform.deploy.rehearsal.runtime import (
    Constraints,
    effective_requirements,
    find_python,
    requirements_install_args,
)
from tickit_platform.deploy.rehearsal.services import Postgres
from tickit_platform.deploy.rehearsal.startup import offline_pip_env, source_startup
from tickit_platform.deploy.versions import MWAA_DEFAULT_AIRFLOW_VERSION
from tickit_platform.settings import Settings
from tickit_runtime import envvars
from tickit_runtime.config import DagConfig, airflow_variable_names
from tickit_runtime.errors import TickitError
from tickit_runtime.paths import REPO_ROOT

CONSTRAINTS = Constraints.for_airflow("3.0.6")


@pytest.mark.parametrize("airflow", ["3.0.6", MWAA_DEFAULT_AIRFLOW_VERSION])
def test_the_checked_in_constraints_are_mwaas_for_each_rehearsed_airflow(airflow: str) -> None:
    constraints = Constraints.for_airflow(airflow)
    assert constraints.essential is not None
    assert f"apache-airflow=={airflow}\n" in constraints.essential.read_text()
    official = constraints.airflow.read_text()
    assert f"constraints-{airflow}/constraints-3.12.txt" in official
    assert re.search(r"^apache-airflow-providers-celery==", official, re.MULTILINE)
    provenance = (constraints.airflow.parents[1] / "README.md").read_text()
    assert "9d2bebb5c7858e27a1c6afb20b7827840217e3a0" in provenance  # pragma: allowlist secret (a commit)
    assert f"images/airflow/{airflow}/etc/" in provenance


def test_startup_runs_with_an_index_where_nothing_listens_and_no_pip_configuration() -> None:
    machine = {"PATH": "/usr/bin", "PIP_FIND_LINKS": "/opt/wheels", "PIP_EXTRA_INDEX_URL": "file:///opt/pypi"}
    env = offline_pip_env(machine)
    assert env["PATH"] == "/usr/bin"
    assert {k for k in env if k.startswith("PIP_")} == {"PIP_INDEX_URL", "PIP_CONFIG_FILE"}
    assert env["PIP_CONFIG_FILE"] == os.devnull
    found = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/simple", env["PIP_INDEX_URL"])
    assert found
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", int(found[1])), timeout=5).close()


def test_the_rehearsal_triggerer_serves_every_queue_as_mwaas_single_one(tmp_path: Path) -> None:
    cluster = CeleryAirflow(airflow_home=tmp_path, dag_env={}, hosts_dir=tmp_path / "hosts")
    assert "triggerer" in cluster.components()
    assert cluster.env()["AIRFLOW__TRIGGERER__QUEUES_ENABLED"] == "False"


def test_an_unknown_airflow_release_names_the_option_to_use() -> None:
    with pytest.raises(RehearsalError, match="pass --constraints FILE"):
        Constraints.for_airflow("3.9.9")


def test_constraints_are_added_only_when_requirements_name_none(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    essential = ["--constraint", str(CONSTRAINTS.essential)]
    plain = requirements_install_args(req, "astronomer-cosmos==1.15.1\n", CONSTRAINTS)
    assert plain[-4:] == ["-r", str(req), "-c", str(CONSTRAINTS.airflow)]
    assert plain[4:6] == essential
    for text in ('--constraint "https://x/c.txt"\ncosmos\n', "-c local.txt\n", "# --constraint https://x/c.txt\n"):
        args = requirements_install_args(req, text, CONSTRAINTS)
        assert args[-2:] == ["-r", str(req)], text  # MWAA counts a commented-out line as present


def test_an_unreachable_constraints_url_becomes_the_local_copy() -> None:
    said: list[str] = []
    text = '# pins\n--constraint "http://127.0.0.1:9/constraints-3.0.6/constraints-3.12.txt"\ncosmos==1\n'
    rewritten = effective_requirements(text, CONSTRAINTS, said.append)
    assert rewritten == f"# pins\n--constraint {CONSTRAINTS.airflow}\ncosmos==1\n"
    assert len(said) == 1 and "unreachable" in said[0]


def test_a_missing_python_says_what_to_install() -> None:
    with pytest.raises(RehearsalError) as caught:
        find_python("3.99")
    assert "pyenv install 3.99" in str(caught.value)
    assert isinstance(caught.value, TickitError)  # the CLI prints it, no traceback


def _script(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "startup.sh"
    script.write_text("#!/usr/bin/env bash\n" + body)
    return script


def test_startup_exports_are_captured_as_mwaa_collects_them(tmp_path: Path) -> None:
    script = _script(tmp_path, 'export FROM_SCRIPT="a b"\nLOCAL_ONLY=1\necho hello\n')
    env = source_startup(script, {"PATH": "/usr/bin:/bin", "AIRFLOW_HOME": str(tmp_path)}, tmp_path / "s.log")
    assert env["FROM_SCRIPT"] == "a b" and "LOCAL_ONLY" not in env
    assert "TICKIT_STARTUP_ENV_FILE" not in env
    assert (tmp_path / "s.log").read_text() == "hello\n"


def test_exit_in_startup_is_mwaas_handler_and_set_e_failure_is_fatal(tmp_path: Path) -> None:
    base = {"PATH": "/usr/bin:/bin", "AIRFLOW_HOME": str(tmp_path)}
    # `exit 0` in a sourced script would end MWAA's wrapper; aliased, it still hands over the exports.
    env = source_startup(_script(tmp_path, "export EARLY=1\nexit 0\nexport LATE=1\n"), base, tmp_path / "a.log")
    assert env["EARLY"] == "1" and "LATE" not in env
    with pytest.raises(RehearsalError, match="exited with code 3"):
        source_startup(_script(tmp_path, "exit 3\n"), base, tmp_path / "b.log")
    with pytest.raises(RehearsalError, match="before MWAA could collect its environment") as caught:
        source_startup(_script(tmp_path, "set -e\necho going\nfalse\nexport NEVER=1\n"), base, tmp_path / "c.log")
    assert "going" in str(caught.value) and "step 'startup.sh' failed" in str(caught.value)


def test_the_variables_set_are_the_dags_and_terraforms_names(tmp_path: Path) -> None:
    example = (REPO_ROOT / "infra" / "examples" / "complete" / "main.tf").read_text()
    block = re.search(r"airflow_variables = \{\n(.*?)\n\s*\}\n", example, re.DOTALL)[1]  # type: ignore[index]
    terraform = set(re.findall(r"^\s*(\w+)\s*=", block, re.MULTILINE))
    assert terraform <= set(airflow_variable_names())
    options = RehearsalOptions(home=tmp_path, bundle_dir=tmp_path, raw_dir=tmp_path, warehouse_db="wh")
    assert set(rehearsal_variables(options)) == terraform
    assert rehearsal_variables(options)["redshift_database_name"] == "wh"


def test_the_rehearsal_sets_only_what_replaces_aws_and_writes_it_as_to_env_does(tmp_path: Path) -> None:
    options = RehearsalOptions(home=tmp_path, bundle_dir=tmp_path, raw_dir=tmp_path / "raw", warehouse_db="wh")
    env = rehearsal_dag_env(options)
    assert set(env) == {
        "TICKIT_TARGET", "TICKIT_RAW_DIR",
        "DBT_POSTGRES_HOST", "DBT_POSTGRES_PORT", "DBT_POSTGRES_USER", "DBT_POSTGRES_DBNAME",
    }  # fmt: skip
    read = DagConfig.from_env(env)
    assert (read.target, read.raw_dir) == ("postgres", tmp_path / "raw")
    assert PostgresAddress.from_env(dict(read.postgres)) == PostgresAddress(dbname="wh")
    secret = RehearsalOptions(
        home=tmp_path,
        bundle_dir=tmp_path,
        raw_dir=tmp_path,
        postgres=PostgresAddress(password="pw"),
        extra_env={"X": "1"},
    )
    written = rehearsal_dag_env(secret)
    assert (written[envvars.POSTGRES_PASSWORD], written["X"]) == ("pw", "1")


def test_the_staging_check_and_the_rehearsal_talk_to_one_server(tmp_path: Path) -> None:
    """One address model, read from DBT_POSTGRES_* once with the settings, with dbt's profile's defaults."""
    assert RehearsalOptions(home=tmp_path, bundle_dir=tmp_path, raw_dir=tmp_path).postgres == PostgresAddress()
    settings = Settings.from_env({"DBT_POSTGRES_HOST": "db.example.org", "DBT_POSTGRES_PORT": "5433"}, home=tmp_path)
    address = postgres_address(settings)
    assert (address.host, address.port, address.user) == ("db.example.org", 5433, "postgres")
    options = RehearsalOptions(home=tmp_path, bundle_dir=tmp_path, raw_dir=tmp_path, postgres=address)
    assert rehearsal_dag_env(options)["DBT_POSTGRES_HOST"] == "db.example.org"
    assert Postgres(address).url("meta") == "postgresql+psycopg2://postgres@db.example.org:5433/meta"


def test_the_rehearsals_database_urls_percent_encode_the_user_and_password() -> None:
    """A password with `@`, `:`, `/`, `%`, `#` or `?` moved the host, port or database of Airflow's metadata URL
    (and Celery's result backend), and put the password where SQLAlchemy's errors quote a host."""
    from sqlalchemy.engine import make_url

    password = "p@ss:w/rd%41 #?$HOME"  # pragma: allowlist secret (a test's made-up value)
    pg = Postgres(PostgresAddress(host="db.example.org", port=5433, user="me@corp", password=password))
    for url in (pg.url("meta"), pg.url("meta", scheme="db+postgresql").removeprefix("db+")):  # Celery drops db+
        parsed = make_url(url)
        assert (parsed.username, parsed.password, parsed.host, parsed.port, parsed.database) == (
            "me@corp",
            password,
            "db.example.org",
            5433,
            "meta",
        ), url
        assert "p@ss" not in url and "$HOME" not in url  # nothing for a shell or Airflow to expand either


def test_mwaa_gets_the_scheduler_timeouts_the_rehearsal_runs_with() -> None:
    from tickit_platform.deploy.rehearsal.cluster import SCHEDULER_TIMEOUTS

    module = (REPO_ROOT / "infra" / "modules" / "mwaa" / "main.tf").read_text()
    options = dict(re.findall(r'^\s*"(scheduler\.[a-z_]+)"\s*=\s*"(\d+)"', module, re.MULTILINE))
    assert options == {f"scheduler.{name}": str(value) for name, value in SCHEDULER_TIMEOUTS.items()}


def test_rehearse_takes_an_airflow_version_only_when_it_builds_the_bundle(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "tickit_platform.cli", "--home", str(tmp_path), "deploy", "rehearse"]
    done = subprocess.run(
        [*command, "--bundle", str(tmp_path), "--airflow-version", "3.0.6"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "--airflow-version applies when rehearse builds the bundle" in done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []  # nothing built, nothing started
