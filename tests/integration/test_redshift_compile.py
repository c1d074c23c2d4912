"""What the project would send to Amazon Redshift, compiled offline: no cluster is needed or contacted.

The host is a reserved `.invalid` name, so any attempt to connect would fail the test. dbt compiles with
`--no-populate-cache`, which keeps it from reading the warehouse's catalogue.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import sqlglot

from tickit_platform.data.formats import load_formats
from tickit_runtime.paths import DBT_PROJECT_DIR

pytestmark = pytest.mark.timeout(300)

ROLE = "arn:aws:iam::123456789012:role/tickit-redshift-s3"
MANIFESTS = "s3://tickit-mwaa-bucket/raw-manifests"


def _dbt_dwh(command: str, work: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "TICKIT_"))}
    defaults = dict(
        DBT_PROFILES_DIR=str(DBT_PROJECT_DIR),
        DBT_TARGET="dwh",
        DBT_REDSHIFT_HOST="tickit-wg.example.invalid",
        DBT_REDSHIFT_DBNAME="dev",
        DBT_REDSHIFT_SCHEMA="tickit",
        DBT_REDSHIFT_CLUSTER_ID="tickit-cluster",
        DBT_TICKIT_S3_MANIFEST_URI=MANIFESTS + "/",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DBT_USE_COLORS="false",
    )
    clean.update({**defaults, **env})
    cmd = [str(Path(sys.executable).parent / "dbt"), command, *args]
    cmd += ["--project-dir", str(DBT_PROJECT_DIR), "--target-path", str(work / "target")]
    cmd += ["--log-path", str(work / "logs")]
    return subprocess.run(cmd, env=clean, capture_output=True, text=True, check=False, timeout=280)


@functools.cache
def _parsed_once() -> Path:
    """dbt's partial-parse file of the project for the dwh target, written once per test process: each compile
    below starts from it instead of parsing the whole project again (dbt parses again what a test's settings
    change, as it would for a user)."""
    work = Path(tempfile.mkdtemp(prefix="tickit-dwh-parse-"))
    atexit.register(shutil.rmtree, work, True)
    done = _dbt_dwh("parse", work)
    assert done.returncode == 0, done.stdout + done.stderr
    return work / "target" / "partial_parse.msgpack"


def compile_dwh(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "target").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_parsed_once(), tmp_path / "target" / "partial_parse.msgpack")
    return _dbt_dwh("compile", tmp_path, "--no-populate-cache", *args, **env)


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
        # A manifest naming the exact key: a prefix would also read sales_tab.txt.bak and the like.
        assert f"from '{MANIFESTS}/{fmt.file}.manifest' iam_role '{ROLE}'" in copy
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


def test_a_configured_manifest_folder_is_read(tmp_path: Path) -> None:
    result = compile_dwh(
        tmp_path, "--inline", COPY_EACH, DBT_TICKIT_S3_IAM_ROLE_ARN=ROLE, DBT_TICKIT_S3_MANIFEST_URI="s3://my-bucket/m"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "from 's3://my-bucket/m/sales_tab.txt.manifest'" in result.stdout
    assert "redshift-downloads" not in result.stdout


def test_without_a_manifest_folder_the_load_says_what_to_set(tmp_path: Path) -> None:
    result = compile_dwh(
        tmp_path, "--inline", COPY_EACH, DBT_TICKIT_S3_IAM_ROLE_ARN=ROLE, DBT_TICKIT_S3_MANIFEST_URI=""
    )
    assert result.returncode != 0
    assert "DBT_TICKIT_S3_MANIFEST_URI is not set" in result.stdout + result.stderr


def test_the_role_region_and_manifest_are_escaped_literals(tmp_path: Path) -> None:
    """Airflow Variables anyone with UI access may edit: a quote or a backslash stays inside its string."""
    role = "arn:aws:iam::123456789012:role/it's\\a-role"
    region = "us-east-1' maxerror 0 --"
    manifests = "s3://it's-a-bucket/m"
    env = {"DBT_TICKIT_S3_IAM_ROLE_ARN": role, "DBT_TICKIT_S3_REGION": region, "DBT_TICKIT_S3_MANIFEST_URI": manifests}
    result = compile_dwh(tmp_path, "--inline", LOAD_ALL, **env)
    assert result.returncode == 0, result.stdout + result.stderr
    copies = [s for s in _statements(_compiled_inline(result.stdout)) if isinstance(s, sqlglot.exp.Copy)]
    assert len(copies) == 2 * len(load_formats())
    for copy in copies:
        assert copy.args["credentials"].args["iam_role"].this == role
        params = {p.this.name.lower(): p.expression for p in copy.args["params"]}
        assert params["region"].this == region
        assert int(params["maxerror"].this) in {0, 100000}
        (source,) = copy.args["files"]
        assert source.this.startswith(manifests + "/")


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


# The whole load as `load_raw_tables` sends it: the bookkeeping tables, then each table's statements.
LOAD_ALL = (
    "{{ dbt_tickit.raw_bookkeeping_sql() }};\n"
    "{% for node in dbt_tickit.raw_sources() %}{{ dbt_tickit.raw_load_sql(node) }};\n{% endfor %}"
)
KINDS = {
    "serverless": {"DBT_REDSHIFT_CLUSTER_ID": "", "DBT_REDSHIFT_WORKGROUP_NAME": "tickit-wg"},
    "provisioned": {"DBT_REDSHIFT_CLUSTER_ID": "tickit-cluster", "DBT_REDSHIFT_WORKGROUP_NAME": ""},
}
AWS_DG = "https://docs.aws.amazon.com/redshift/latest/dg/"
# Every system view and system function the compiled load may read, per kind of Redshift, each with
# the AWS reference page that says it exists there:
# - SYS_LOAD_ERROR_DETAIL is a SYS monitoring view, on provisioned clusters and Serverless alike.
# - STL_LOAD_ERRORS "only contains queries run on main provisioned clusters", not on Serverless.
# - PG_LAST_COPY_ID is a system information function on both; SYS_LOAD_DETAIL's reference joins
#   query_id = pg_last_copy_id() (SYS_LOAD_DETAIL.html), PG_LAST_COPY_ID's joins STL_LOAD_ERRORS.
SYSTEM_READS_ALLOWED = {
    "serverless": {
        "sys_load_error_detail": AWS_DG + "SYS_LOAD_ERROR_DETAIL.html",
        "pg_last_copy_id": AWS_DG + "PG_LAST_COPY_ID.html",
    },
    "provisioned": {
        "sys_load_error_detail": AWS_DG + "SYS_LOAD_ERROR_DETAIL.html",
        "stl_load_errors": AWS_DG + "r_STL_LOAD_ERRORS.html",
        "pg_last_copy_id": AWS_DG + "PG_LAST_COPY_ID.html",
    },
}


def _compiled_inline(output: str) -> str:
    """The SQL dbt printed, without the log lines after it."""
    return re.split(r"^\d\d:\d\d:\d\d ", output.split("Compiled inline node is:", 1)[1], maxsplit=1, flags=re.M)[0]


def _statements(sql: str) -> list[sqlglot.exp.Expression]:
    """Every statement parsed as Redshift; none may fall back to an unparsed command."""
    parsed = [statement for statement in sqlglot.parse(sql, read="redshift") if statement is not None]
    unparsed = [s.sql(dialect="redshift") for s in parsed if isinstance(s, sqlglot.exp.Command)]
    assert not unparsed, f"statements sqlglot could not parse as Redshift: {unparsed}"
    return parsed


def _system_reads(statements: list[sqlglot.exp.Expression]) -> set[str]:
    """Relations outside the warehouse's own schemas (so the system's) and functions sqlglot does not
    know as standard SQL (so Redshift's own), read anywhere in the statements."""
    reads = set()
    for statement in statements:
        for table in statement.find_all(sqlglot.exp.Table):
            ours = table.catalog == "dev" or table.name.startswith("tickit_")
            if not ours and table.name:
                reads.add(table.name.lower())
        for function in statement.find_all(sqlglot.exp.Anonymous):
            reads.add(function.name.lower())
    return reads


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_load_reads_only_system_views_that_exist_on_each_kind_of_redshift(tmp_path: Path, kind: str) -> None:
    result = compile_dwh(tmp_path, "--inline", LOAD_ALL, DBT_TICKIT_S3_IAM_ROLE_ARN=ROLE, **KINDS[kind])
    assert result.returncode == 0, result.stdout + result.stderr
    sql = _compiled_inline(result.stdout)
    reads = _system_reads(_statements(sql))
    allowed = set(SYSTEM_READS_ALLOWED[kind])
    assert reads <= allowed, f"read on {kind} but not on its list: {reads - allowed}"
    error_log = "sys_load_error_detail" if kind == "serverless" else "stl_load_errors"
    assert {error_log, "pg_last_copy_id"} <= reads
    if kind == "serverless":
        assert not re.search(r"\bst[lv]_|\bsvl_", sql, re.I)  # no provisioned-only view, not even in a comment


def test_every_statement_compiled_for_dwh_parses_as_redshift(tmp_path: Path) -> None:
    result = compile_dwh(tmp_path, DBT_TICKIT_S3_IAM_ROLE_ARN=ROLE)
    assert result.returncode == 0, result.stdout + result.stderr
    compiled = sorted((tmp_path / "target" / "compiled" / "dbt_tickit").rglob("*.sql"))
    assert len(compiled) > 17  # the models and their tests
    for path in compiled:
        try:
            _statements(path.read_text())
        except sqlglot.errors.ParseError as err:
            pytest.fail(f"{path.relative_to(tmp_path)} does not parse as Redshift: {err}")
    for kind, env in KINDS.items():
        load = compile_dwh(tmp_path / kind, "--inline", LOAD_ALL, DBT_TICKIT_S3_IAM_ROLE_ARN=ROLE, **env)
        assert load.returncode == 0, load.stdout + load.stderr
        statements = _statements(_compiled_inline(load.stdout))
        assert sum(isinstance(s, sqlglot.exp.Copy) for s in statements) == 2 * len(load_formats())


def _table_load(output: str, table: str) -> str:
    """The statements that load one raw table, whitespace collapsed."""
    sql = " ".join(_compiled_inline(output).split())
    start = sql.index(f'delete from "dev"."raw"."quarantine" where source_name = \'{table}\';')
    return sql[start : sql.index(f"drop table tickit_lines_{table}", start)]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_rejected_lines_are_read_right_after_the_typed_copy_and_lines_are_counted_by_a_second_copy(
    tmp_path: Path, kind: str
) -> None:
    result = compile_dwh(tmp_path, "--inline", LOAD_ALL, DBT_TICKIT_S3_IAM_ROLE_ARN=ROLE, **KINDS[kind])
    assert result.returncode == 0, result.stdout + result.stderr
    for table, fmt in load_formats().items():
        load = _table_load(result.stdout, table)
        typed = load.index(f'copy "dev"."raw"."{table}" from')
        harvest = load.index("pg_last_copy_id()")
        counted = load.index(f"copy tickit_lines_{table} from '{MANIFESTS}/{fmt.file}.manifest'")
        audit = load.index('insert into "dev"."raw"."load_audit"')
        # pg_last_copy_id() names the session's last COPY: it is read before the second COPY replaces it.
        assert typed < harvest < counted < audit
        # Safe to retry: the file's earlier quarantine and audit rows go first, the table is replaced.
        assert load.index(f'delete from "dev"."raw"."load_audit" where source_name = \'{table}\'') < typed
        # A rejected line is keyed by the object COPY read it from and its number.
        error_log_file = "file_name" if kind == "serverless" else "filename"
        assert f"group by trim({error_log_file}), line_number" in load[harvest:counted]
        typed_copy = load[typed : load.index(";", typed)]
        # Nothing is loaded altered: an over-long or non-UTF-8 value is rejected, so quarantined.
        assert "truncatecolumns" not in typed_copy and "acceptinvchars" not in typed_copy
        # Last: sqlglot reads the word after MANIFEST as its value (Redshift takes the options in any order).
        assert typed_copy.endswith("maxerror 100000 manifest")
        line_copy = load[counted : load.index(";", counted)]
        assert "delimiter '\\001'" in line_copy and line_copy.endswith("maxerror 0 manifest")
        assert f"create temp table tickit_lines_{table} (line varchar(65535))" in load
        # The audit's line count is the second COPY's, not the typed table's or the error log's.
        lines_in_file = load[audit:].split("(select count(*) from ", 2)[1]
        assert lines_in_file.startswith(f"tickit_lines_{table})")
