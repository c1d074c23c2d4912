"""What the project would send to Amazon Redshift, compiled offline: no cluster is needed or contacted.

The host is a reserved `.invalid` name, so any attempt to connect would fail the test. dbt compiles with
`--no-populate-cache`, which keeps it from reading the warehouse's catalogue.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tickit_platform.data.formats import load_formats
from tickit_platform.paths import DBT_PROJECT_DIR

pytestmark = pytest.mark.timeout(300)

ROLE = "arn:aws:iam::123456789012:role/tickit-redshift-s3"


def compile_dwh(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "TICKIT_"))}
    defaults = dict(
        DBT_PROFILES_DIR=str(DBT_PROJECT_DIR),
        DBT_TARGET="dwh",
        DBT_REDSHIFT_HOST="tickit-wg.example.invalid",
        DBT_REDSHIFT_DBNAME="dev",
        DBT_REDSHIFT_SCHEMA="tickit",
        DBT_REDSHIFT_CLUSTER_ID="tickit-cluster",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DBT_USE_COLORS="false",
    )
    clean.update({**defaults, **env})
    cmd = [str(Path(sys.executable).parent / "dbt"), "compile", "--no-populate-cache", *args]
    cmd += ["--project-dir", str(DBT_PROJECT_DIR), "--target-path", str(tmp_path / "target")]
    cmd += ["--log-path", str(tmp_path / "logs")]
    return subprocess.run(cmd, env=clean, capture_output=True, text=True, check=False, timeout=280)


COPY_EACH = "{% for node in dbt_tickit.raw_sources() %}{{ dbt_tickit.raw_load_sql(node) }};\n-- end\n{% endfor %}"


def _copy_statements(output: str) -> dict[str, str]:
    """The compiled COPY statement per raw table, keyed by table name."""
    statements = {}
    for match in re.finditer(r'copy "dev"\."raw"\."(\w+)" from (.*?)region \'[\w-]+\'', output, re.S):
        statements[match.group(1)] = " ".join(match.group(0).split())
    return statements


def test_raw_tables_load_with_copy_from_s3_using_each_files_format(tmp_path: Path) -> None:
    result = compile_dwh(tmp_path, "--inline", COPY_EACH, DBT_TICKIT_S3_IAM_ROLE_ARN=ROLE)
    assert result.returncode == 0, result.stdout + result.stderr
    copies = _copy_statements(result.stdout)
    formats = load_formats()
    assert set(copies) == set(formats)
    for table, fmt in formats.items():
        copy = copies[table]
        assert f"from 's3://redshift-downloads/tickit/{fmt.file}'" in copy
        assert f"iam_role '{ROLE}'" in copy
        assert "ignoreheader" not in copy  # the files have no header; ignoring a line would drop id 1
        expected_delimiter = "\\t" if fmt.delimiter == "\t" else fmt.delimiter
        assert f"delimiter '{expected_delimiter}'" in copy
        if fmt.time_format:
            assert f"timeformat '{fmt.time_format}'" in copy
        else:
            assert "timeformat" not in copy
        assert copy.endswith("region 'us-east-1'")
    # The Getting Started Guide's exact formats for the two timestamped styles.
    assert "delimiter '\\t' timeformat 'MM/DD/YYYY HH:MI:SS'" in copies["sales"]
    assert "delimiter '|' timeformat 'YYYY-MM-DD HH:MI:SS'" in copies["event"]
    # The typed table is created first, with Redshift's own DDL types.
    assert re.search(r'create table "dev"\."raw"\."listing" \(\s*"listid" integer,', result.stdout)
    assert '"priceperticket" decimal(8,2)' in result.stdout


def test_a_configured_bucket_replaces_the_public_one(tmp_path: Path) -> None:
    result = compile_dwh(
        tmp_path, "--inline", COPY_EACH, DBT_TICKIT_S3_IAM_ROLE_ARN=ROLE, DBT_TICKIT_S3_URI="s3://my-bucket/tickit/"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "from 's3://my-bucket/tickit/sales_tab.txt'" in result.stdout
    assert "redshift-downloads" not in result.stdout


def test_without_an_iam_role_the_load_says_what_to_set(tmp_path: Path) -> None:
    result = compile_dwh(tmp_path, "--inline", COPY_EACH)
    assert result.returncode != 0
    assert "DBT_TICKIT_S3_IAM_ROLE_ARN is not set" in result.stdout + result.stderr


def test_models_compile_for_redshift_into_the_layer_schemas(tmp_path: Path) -> None:
    result = compile_dwh(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    compiled = tmp_path / "target" / "compiled" / "dbt_tickit" / "models"
    gold = (compiled / "gold" / "gold_user_activity.sql").read_text()
    assert '"dev"."silver"."silver_sales"' in gold and '"dev"."silver"."silver_users"' in gold
    bronze = (compiled / "bronze" / "bronze_sales.sql").read_text()
    assert '"dev"."raw"."sales"' in bronze
    models = [p for layer in ("bronze", "silver", "gold") for p in (compiled / layer).glob("*.sql")]
    assert len(models) == 17  # tests compile too, in folders named after their YAML files


# Loads the `dwh` profile with dbt's own loader, once per environment given, and hands the credentials
# to dbt-redshift's own connection code; only the driver's connect() is replaced (by a stand-in
# connection), so nothing is contacted, and what the driver would have been called with is printed.
PROFILE_PROBE = """
import json, os, sys, types
from argparse import Namespace
import redshift_connector
from dbt.adapters.redshift.connections import get_connection_method
from dbt.config.profile import Profile
from dbt.config.renderer import ProfileRenderer
from dbt.flags import set_from_args
from dbt_common.context import set_invocation_context

set_from_args(Namespace(profiles_dir=sys.argv[1]), None)
base = dict(os.environ)
keys = ("iam", "host", "is_serverless", "serverless_work_group", "cluster_identifier", "db_user", "region")
answers = []
for env in json.loads(sys.argv[2]):
    os.environ.clear()
    os.environ.update(base, **env)
    set_invocation_context(os.environ)
    try:
        credentials = Profile.render(ProfileRenderer({}), "dbt_tickit", target_override="dwh").credentials
    except Exception as err:
        answers.append({"error": str(err)})
        continue
    sent = {}
    redshift_connector.connect = lambda **kwargs: (sent.update(kwargs), types.SimpleNamespace())[1]
    get_connection_method(credentials)()
    answers.append({key: sent.get(key) for key in keys})
print(json.dumps(answers))
"""


def dwh_connections(*envs: dict[str, str]) -> list[dict[str, object]]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "TICKIT_"))}
    clean.update(DBT_REDSHIFT_HOST="tickit.example.invalid", DBT_REDSHIFT_REGION="eu-central-1")
    result = subprocess.run(
        [sys.executable, "-c", PROFILE_PROBE, str(DBT_PROJECT_DIR), json.dumps(envs)],
        env=clean, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    answers: list[dict[str, object]] = json.loads(result.stdout.strip().splitlines()[-1])
    return answers


def test_the_dwh_profile_selects_serverless_or_a_provisioned_cluster_and_refuses_neither_or_both() -> None:
    serverless, provisioned, unset, empty, both = dwh_connections(
        {"DBT_REDSHIFT_WORKGROUP_NAME": "tickit-wg", "DBT_REDSHIFT_CLUSTER_ID": ""},
        {"DBT_REDSHIFT_CLUSTER_ID": "tickit-cluster", "DBT_REDSHIFT_USER": "dbt"},
        {},
        # The DAG passes an empty string when the Airflow Variable is missing: the same as unset.
        {"DBT_REDSHIFT_CLUSTER_ID": "", "DBT_REDSHIFT_WORKGROUP_NAME": ""},
        {"DBT_REDSHIFT_CLUSTER_ID": "c", "DBT_REDSHIFT_WORKGROUP_NAME": "w"},
    )
    assert serverless == {
        "iam": True,
        "host": "tickit.example.invalid",
        "is_serverless": True,
        "serverless_work_group": "tickit-wg",
        "cluster_identifier": None,
        "db_user": "admin",
        "region": "eu-central-1",
    }
    assert provisioned == {**serverless, "is_serverless": False, "serverless_work_group": None,
                           "cluster_identifier": "tickit-cluster", "db_user": "dbt"}  # fmt: skip
    for refused in (unset, empty):
        assert "DBT_REDSHIFT_CLUSTER_ID (a provisioned cluster) or DBT_REDSHIFT_WORKGROUP_NAME (Serverless)" in str(
            refused["error"]
        )
    assert "DBT_REDSHIFT_CLUSTER_ID and DBT_REDSHIFT_WORKGROUP_NAME are both set: keep only one" in str(both["error"])


def test_models_compile_for_redshift_serverless(tmp_path: Path) -> None:
    result = compile_dwh(
        tmp_path, "--select", "gold_user_activity", DBT_REDSHIFT_CLUSTER_ID="", DBT_REDSHIFT_WORKGROUP_NAME="tickit-wg"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    gold = tmp_path / "target" / "compiled" / "dbt_tickit" / "models" / "gold" / "gold_user_activity.sql"
    assert '"dev"."silver"."silver_users"' in gold.read_text()
