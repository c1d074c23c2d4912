"""One configuration path: the CLI's settings, the DAG's configuration and the environment between them.

A `DagConfig` crosses into Airflow's processes as environment variables; what `to_env` writes, `from_env`
must read back unchanged, or a setting works locally and silently not in a task. A bad value is the
user's to fix: every command says which variable and exits non-zero, with no traceback.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from tests.support import in_process_tickit

from tickit_platform.settings import Settings
from tickit_runtime import envvars
from tickit_runtime.config import DagConfig
from tickit_runtime.errors import SettingsError, TickitError
from tickit_runtime.home import HomeLayout


def test_what_to_env_writes_from_env_reads_back(tmp_path: Path) -> None:
    config = DagConfig(
        target="postgres",
        project_dir=tmp_path / "project",
        home=tmp_path / "home",
        raw_dir=tmp_path / "raw",
        dbt_executable=tmp_path / "venv" / "bin" / "dbt",
        retries=5,
        retry_delay=timedelta(seconds=7.5),
        poke_interval=0.5,
        dbt_threads=2,
        task_timeout=timedelta(minutes=20),
        postgres=(("DBT_POSTGRES_HOST", "db.local"), ("DBT_POSTGRES_PORT", "5433")),
        runs_uri="s3://bucket/runs",
        keep_runs=7,
    )
    assert DagConfig.from_env(config.to_env()) == config


def test_only_the_dags_own_variable_names_cross_to_airflow(tmp_path: Path) -> None:
    written = DagConfig(home=tmp_path, raw_dir=tmp_path / "raw", postgres=(("DBT_POSTGRES_USER", "me"),)).to_env()
    assert set(written) <= set(envvars.DAG_VARIABLES)


def test_a_local_runs_configuration_comes_from_the_settings_and_the_dags_tuning_from_the_environment(
    tmp_path: Path,
) -> None:
    env = {"TICKIT_HOME": str(tmp_path / "elsewhere"), "TICKIT_DAG_RETRIES": "4", "DBT_POSTGRES_DBNAME": "tickit"}
    settings = Settings.from_env(env, home=tmp_path / "home", target="postgres")
    config = replace(settings.dag, raw_dir=tmp_path / "raw")
    layout = HomeLayout(tmp_path / "home")
    assert (config.home, config.target, config.raw_dir) == (layout.root, "postgres", tmp_path / "raw")
    assert config.manifest_path == layout.manifest
    assert config.warehouse_path == settings.warehouse_path == layout.warehouse
    assert config.retries == 4
    assert config.dbt_env()["DBT_POSTGRES_DBNAME"] == "tickit"


def test_settings_made_in_code_carry_the_dags_default_tuning_over_their_own_home(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, target="postgres")
    assert (settings.dag.home, settings.dag.target) == (tmp_path.resolve(), "postgres")
    assert settings.dag == Settings.from_env({}, home=tmp_path, target="postgres").dag
    with pytest.raises(ValueError, match="not the settings'"):
        Settings(home=tmp_path, dag=DagConfig(home=tmp_path / "other"))


def test_a_bad_dag_variable_stops_the_settings_themselves() -> None:
    with pytest.raises(SettingsError, match="TICKIT_DAG_RETRIES"):
        Settings.from_env({"TICKIT_DAG_RETRIES": "two"})


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("TICKIT_DAG_RETRY_DELAY_SECONDS", "soon", "is not a number"),
        ("TICKIT_DAG_RETRY_DELAY_SECONDS", "-3", "must be at least 0"),
        ("TICKIT_DAG_RETRIES", "two", "is not a whole number"),
        ("TICKIT_DAG_POKE_INTERVAL_SECONDS", "0", "must be at least 0.1"),
        ("TICKIT_DBT_THREADS", "0", "must be at least 1"),
        ("TICKIT_DAG_TASK_TIMEOUT_SECONDS", "0", "must be at least 1"),
        ("TICKIT_DAG_TASK_TIMEOUT_SECONDS", "inf", "must be a finite number"),
        ("TICKIT_DAG_TASK_TIMEOUT_SECONDS", "an hour", "is not a number"),
        ("TICKIT_KEEP_RUNS", "0", "must be at least 1"),
        ("AIRFLOW__TICKIT__KEEP_RUNS", "many", "is not a whole number"),
        ("TICKIT_TARGET", "oracle", "use one of local, postgres, dwh"),
    ],
)
def test_a_bad_dag_variable_is_the_projects_own_error_naming_it(name: str, value: str, says: str) -> None:
    with pytest.raises(SettingsError) as caught:
        DagConfig.from_env({name: value})
    assert isinstance(caught.value, TickitError)
    assert f"{name}={value!r}" in str(caught.value) or f"{name} {value!r}" in str(caught.value)
    assert says in str(caught.value)


def _bad_inputs(tmp_path: Path) -> list[tuple[dict[str, str], list[str], int, str]]:
    """(environment, arguments, exit code, what the message says) for one bad input per command."""
    (tmp_path / "a-file").write_text("not a folder")
    push = ["deploy", "push", "--bucket", "b", "--environment", "e", "--region", "eu-west-1"]
    return [
        ({"TICKIT_SCALE": "abc"}, ["run", "--synthetic"], 2, "TICKIT_SCALE='abc' is not a number"),
        ({"TICKIT_DAG_RETRY_DELAY_SECONDS": "soon"}, ["run", "--synthetic"], 2, "TICKIT_DAG_RETRY_DELAY_SECONDS"),
        ({}, ["quarantine"], 1, "no warehouse at"),
        ({}, ["report"], 1, "nothing to report on"),
        ({"TICKIT_TARGET": "oracle"}, ["ui", "--synthetic"], 2, "unknown TICKIT_TARGET 'oracle'"),
        ({}, ["data", "fetch", "--source", str(tmp_path / "missing.zip")], 1, "does not exist"),
        ({}, ["data", "synth", "--scale", "-1"], 2, "scale must be greater than 0"),
        ({}, ["deploy", "build", "--out", str(tmp_path / "a-file")], 1, "is not a folder"),
        (
            {},
            [*push, "--bundle", str(tmp_path)],
            1,
            "is not a bundle",
        ),
        (
            {},
            ["deploy", "trigger", "--environment", "e", "--logical-date", "someday", "--region", "eu-west-1"],
            1,
            "is not an ISO 8601 date",
        ),
        ({"TICKIT_DBT_THREADS": "many"}, ["dbt", "--synthetic", "debug"], 2, "TICKIT_DBT_THREADS='many'"),
    ]


def test_every_command_answers_a_bad_input_with_a_message_and_no_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tickit = in_process_tickit(capsys, "--home", str(tmp_path / "home"))
    for env, args, code, says in _bad_inputs(tmp_path):
        with monkeypatch.context() as patched:
            for name, value in env.items():
                patched.setenv(name, value)
            returned, out, err = tickit(*args)
        assert (returned, says in err) == (code, True), (args, env, out, err)
        assert "Traceback" not in out + err
        assert err.startswith("tickit: "), err


def test_the_startup_script_exports_only_names_the_dag_reads() -> None:
    """MWAA's startup script is the other writer of the DAG's environment: it must spell the same names."""
    script = (Path(__file__).resolve().parents[2] / "src" / "tickit_platform" / "deploy" / "startup.sh").read_text()
    exported = set(re.findall(r"^\s*export (TICKIT_[A-Z_]+)=", script, re.M))
    assert exported, "the startup script exports the DAG's settings"
    assert exported <= set(envvars.DAG_VARIABLES), exported - set(envvars.DAG_VARIABLES)
