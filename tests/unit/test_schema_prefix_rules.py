"""The schema prefix setting: checked before anything starts, carried to the DAG and to dbt, the same rule in
Terraform, and the warehouse named for a person (never with its password); the readers take the last run's
warehouse unless told otherwise.

The prefix's effect on real warehouses is in tests/integration/test_schema_prefix.py.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from tickit_platform.commands.session import reading_settings, record_warehouse_used
from tickit_platform.history.summary import warehouse_location
from tickit_platform.settings import Settings
from tickit_runtime import envvars
from tickit_runtime.config import DagConfig
from tickit_runtime.errors import SettingsError
from tickit_runtime.schemas import PREFIX_RULE, WarehouseSchemas

MWAA_VARIABLES = Path(__file__).resolve().parents[2] / "infra" / "modules" / "mwaa" / "variables.tf"
SAMPLES = ["", "a", "alice", "team_a", "t2", "a" * 40, "a" * 41, "Alice", "2team", "_a", "team-a", "a b", "a;drop"]


def test_without_a_prefix_the_schemas_are_the_seeds_names(tmp_path: Path) -> None:
    settings = Settings.from_env({}, home=tmp_path)
    assert settings.dag.schema_prefix == ""
    schemas = settings.dag.schemas
    assert schemas.layers == {"raw": "raw", "bronze": "bronze", "silver": "silver", "gold": "gold"}
    assert schemas.audit == "tickit_audit"
    # dbt always gets the variable, empty: a prefix left in the caller's shell for another tool is not taken.
    assert settings.dag.dbt_env()[envvars.SCHEMA_PREFIX] == ""


def test_a_prefix_starts_every_schema_and_reaches_the_dag_and_dbt(tmp_path: Path) -> None:
    settings = Settings.from_env({envvars.SCHEMA_PREFIX: "team_a"}, home=tmp_path, target="postgres")
    config = settings.dag
    assert config.schemas.layers == {
        "raw": "team_a_raw",
        "bronze": "team_a_bronze",
        "silver": "team_a_silver",
        "gold": "team_a_gold",
    }
    assert config.schemas.audit == "team_a_tickit_audit"
    assert config.dbt_env()[envvars.SCHEMA_PREFIX] == "team_a"
    # Airflow's processes read back what the CLI wrote.
    assert DagConfig.from_env(config.to_env()).schema_prefix == "team_a"


def test_on_mwaa_the_prefix_comes_from_the_airflow_option_terraform_sets() -> None:
    config = DagConfig.from_env({envvars.AIRFLOW_SCHEMA_PREFIX: "prod"})
    assert config.schema_prefix == "prod"
    assert config.dbt_env()[envvars.SCHEMA_PREFIX] == "prod"


@pytest.mark.parametrize("name", [envvars.SCHEMA_PREFIX, envvars.AIRFLOW_SCHEMA_PREFIX])
@pytest.mark.parametrize("bad", ["Team-A", "2team", "a;drop schema raw", "x" * 41])
def test_a_bad_prefix_stops_the_settings_naming_the_variable(tmp_path: Path, name: str, bad: str) -> None:
    with pytest.raises(SettingsError, match=rf"^{name}=.* is not a schema prefix"):
        Settings.from_env({name: bad}, home=tmp_path)


def test_terraform_holds_the_prefix_to_the_same_rule_as_the_dag() -> None:
    text = MWAA_VARIABLES.read_text(encoding="utf-8")
    block = text[text.index('variable "schema_prefix"') :]
    pattern = re.search(r'regex\("(.+?)", var\.schema_prefix\)', block)
    assert pattern, "the schema_prefix variable has a regex validation"
    terraform = re.compile(pattern[1].replace("\\\\", "\\"))
    for sample in SAMPLES:
        allowed = sample == "" or PREFIX_RULE.fullmatch(sample) is not None
        assert (terraform.fullmatch(sample) is not None) == allowed, sample


def test_a_postgres_warehouse_is_named_by_server_database_and_schemas_never_its_password(tmp_path: Path) -> None:
    secret = "pw-sentinel-7f3a"  # pragma: allowlist secret
    env = {
        envvars.POSTGRES_HOST: "db.example.org",
        envvars.POSTGRES_PORT: "5433",
        envvars.POSTGRES_USER: "analyst",
        envvars.POSTGRES_DBNAME: "shared",
        envvars.POSTGRES_PASSWORD: secret,
        envvars.SCHEMA_PREFIX: "alice",
    }
    location = warehouse_location(Settings.from_env(env, home=tmp_path, target="postgres"))
    described = location.describe()
    assert described == (
        "PostgreSQL analyst@db.example.org:5433/shared, schemas alice_raw, alice_bronze, alice_silver, alice_gold"
    )
    assert secret not in described and secret not in repr(location)


def test_a_duckdb_warehouse_is_its_file_and_with_a_prefix_its_schemas_too(tmp_path: Path) -> None:
    plain = warehouse_location(Settings.from_env({}, home=tmp_path))
    assert plain.describe() == str(tmp_path / "warehouse" / "tickit.duckdb")
    prefixed = warehouse_location(Settings.from_env({envvars.SCHEMA_PREFIX: "bob"}, home=tmp_path))
    assert prefixed.describe() == f"DuckDB {tmp_path / 'warehouse' / 'tickit.duckdb'}, schemas bob_raw, " + (
        "bob_bronze, bob_silver, bob_gold"
    )


def _args(**given: object) -> argparse.Namespace:
    return argparse.Namespace(home=None, target=None, **given)


def test_a_reading_command_takes_the_warehouse_the_last_run_used_unless_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (envvars.TARGET, envvars.DBT_TARGET, envvars.SCHEMA_PREFIX, envvars.AIRFLOW_SCHEMA_PREFIX):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(envvars.HOME, str(tmp_path))
    assert (reading_settings(_args()).target, reading_settings(_args()).dag.schema_prefix) == ("local", "")

    record_warehouse_used(Settings.from_env({envvars.SCHEMA_PREFIX: "alice"}, home=tmp_path), "postgres")
    assert json.loads((tmp_path / "warehouse" / "used.json").read_text()) == {
        "target": "postgres",
        "schema_prefix": "alice",
    }
    used = reading_settings(_args())
    assert (used.target, used.dag.schema_prefix) == ("postgres", "alice")
    # A flag or a variable wins over what the last run used.
    assert reading_settings(argparse.Namespace(home=None, target="local")).target == "local"
    monkeypatch.setenv(envvars.SCHEMA_PREFIX, "carol")
    assert reading_settings(_args()).dag.schema_prefix == "carol"
    assert reading_settings(_args()).target == "postgres"


def test_schemas_object_refuses_what_sql_cannot_take_unquoted() -> None:
    with pytest.raises(SettingsError):
        WarehouseSchemas('x"; drop table raw.sales; --')
