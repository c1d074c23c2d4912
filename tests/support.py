"""Helpers shared by the tests: synthetic data, dbt project copies and one-off Airflow runs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tickit_platform.data.formats import TABLES, load_formats
from tickit_platform.deploy.wheelhouse import CACHE_FOLDER
from tickit_runtime.config import DagConfig
from tickit_runtime.paths import DBT_PROJECT_DIR

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
MODELS = (
    "bronze_users", "bronze_venue", "bronze_category", "bronze_date", "bronze_event", "bronze_listing",
    "bronze_sales", "silver_users", "silver_venue", "silver_category", "silver_date", "silver_event",
    "silver_listing", "silver_sales", "gold_revenue_by_venue", "gold_sales_by_event", "gold_user_activity",
)  # fmt: skip
FORMATS = load_formats()
SALES_HEADER = "\t".join(FORMATS["sales"].column_names)


def skip_or_fail(reason: str) -> None:
    """Locally a missing service skips; in CI it is a failure, because CI must run everything."""
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


# The local PostgreSQL every machine here runs (trust authentication), as the postgres target's defaults.
PG = {"host": "127.0.0.1", "port": "5432", "user": "postgres", "dbname": "test"}


def psql(sql: str, dbname: str = PG["dbname"], user: str = PG["user"]) -> subprocess.CompletedProcess[str]:
    """Run SQL through psql; rows come back as tab-separated text, one line each."""
    cmd = ["psql", "-h", PG["host"], "-p", PG["port"], "-U", user, "-d", dbname, "-At", "-F", "\t", "-c", sql]
    return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60)


@contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for the block, dropped afterwards (skips locally, fails in CI, without one)."""
    if shutil.which("psql") is None or psql("select 1", "postgres").returncode != 0:
        skip_or_fail(f"PostgreSQL is not reachable on {PG['host']}:{PG['port']} as user {PG['user']}")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    created = psql(f'create database "{name}"', "postgres")
    assert created.returncode == 0, created.stderr
    try:
        yield name
    finally:
        psql(f'drop database if exists "{name}" with (force)', "postgres")


@contextmanager
def server_readable_synthetic(prefix: str, scale: float, seed: int) -> Iterator[Path]:
    """Synthetic raw files where PostgreSQL's COPY can read them (it reads as the server's OS user)."""
    from tickit_platform.data.synth import generate

    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    generate(folder, scale=scale, seed=seed)
    for path in folder.iterdir():
        path.chmod(0o644)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def copy_project(dest: Path) -> Path:
    shutil.copytree(DBT_PROJECT_DIR, dest, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    return dest


def project_with_extra_models(dest: Path, count: int) -> Path:
    """The project plus `count` generated models `extra_NNNN`, each reading silver_venue (a task each)."""
    project = copy_project(dest)
    folder = project / "models" / "generated"
    folder.mkdir()
    for i in range(count):
        (folder / f"extra_{i:04d}.sql").write_text(
            f"select count(*) as n, {i} as i from {{{{ ref('silver_venue') }}}}\n"
        )
    return project


def where_extra_model_tasks_ran(logs: Path, count: int) -> tuple[set[str], set[str]]:
    """Under a run's task logs: the generated models' tasks (`task_id=extra_NNNN`) whose first try has its
    trigger's log, and the generated models' tasks with a worker process (whose log is attempt=1.log)."""
    extra = {f"task_id=extra_{i:04d}" for i in range(count)}
    on_trigger = {p.parent.name for p in logs.rglob("attempt=1.log.trigger.*.log")}
    on_worker = {p.parent.name for p in logs.rglob("attempt=1.log")}
    return extra & on_trigger, {name for name in on_worker if name.startswith("task_id=extra_")}


def dag_config(home: Path, raw_dir: Path, project_dir: Path = DBT_PROJECT_DIR, **overrides: object) -> DagConfig:
    values: dict[str, object] = {
        "home": home,
        "project_dir": project_dir,
        "manifest_path": home / "dbt" / "manifest" / "manifest.json",
        "raw_dir": raw_dir,
        "dbt_executable": Path(sys.executable).parent / "dbt",
        "retries": 2,
        "retry_delay": timedelta(seconds=1),
    }
    values.update(overrides)
    return DagConfig(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_dbt(
    args: list[str],
    work: Path,
    database: Path,
    raw_dir: Path | None,
    project_dir: Path = DBT_PROJECT_DIR,
    **env_overrides: str,
) -> Run:
    """Run dbt on DuckDB against a project, with every file dbt writes kept under `work`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DBT_") and k != "TICKIT_RAW_DIR"}
    env.update(
        DBT_TARGET="local",
        DBT_PROFILES_DIR=str(project_dir),
        DBT_DUCKDB_PATH=str(database),
        DBT_USE_COLORS="false",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DBT_THREADS="2",
        **env_overrides,
    )
    if raw_dir is not None:
        env["TICKIT_RAW_DIR"] = str(raw_dir)
    command = [
        str(Path(sys.executable).parent / "dbt"),
        *args,
        "--project-dir",
        str(project_dir),
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
    ]
    done = subprocess.run(command, cwd=project_dir, env=env, capture_output=True, text=True, timeout=300)
    return Run(done.returncode, done.stdout, done.stderr)


def run_dbt_postgres(args: list[str], work: Path, database: str, raw_dir: Path | None, **env_overrides: str) -> Run:
    """Run dbt on the local PostgreSQL (database `database`), with every file dbt writes kept under `work`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "TICKIT_"))}
    env.update(
        DBT_TARGET="postgres",
        DBT_PROFILES_DIR=str(DBT_PROJECT_DIR),
        DBT_POSTGRES_HOST=PG["host"],
        DBT_POSTGRES_PORT=PG["port"],
        DBT_POSTGRES_USER=PG["user"],
        DBT_POSTGRES_DBNAME=database,
        DBT_USE_COLORS="false",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DBT_THREADS="2",
        **env_overrides,
    )
    if raw_dir is not None:
        env["TICKIT_RAW_DIR"] = str(raw_dir)
    command = [str(Path(sys.executable).parent / "dbt"), *args, "--project-dir", str(DBT_PROJECT_DIR)]
    command += ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=600)
    return Run(done.returncode, done.stdout, done.stderr)


def _sale(fields: list[str], **changes: str) -> list[str]:
    names = FORMATS["sales"].column_names
    return [changes.get(name, value) for name, value in zip(names, fields, strict=True)]


def damage_raw_files(raw_dir: Path) -> tuple[dict[str, int], list[str]]:
    """Put every kind of bad line, at known line numbers, into sales and users; (lines per file, first sale).

    sales: 1 header, 5 three fields, 6 no such day, 7 not a number, 8 invalid UTF-8, 9 duplicate key,
    10 empty, 11 negative amounts, 12 unknown listing (11 and 12 parse: the models' tests catch them).
    users: two lines at the end, a too-long username and a boolean that is not one.
    """
    sales_path = raw_dir / FORMATS["sales"].file
    good = sales_path.read_bytes().decode().splitlines()
    first = good[0].split("\t")
    tab = "\t".join
    bad = [
        SALES_HEADER,  # line 1: a header line by mistake
        *good[:3],  # lines 2-4
        "900100\t1\t2",  # 5: three fields instead of ten
        tab(_sale(first, salesid="900101", saletime="2/30/2008 02:36:48")),  # 6: no such day
        tab(_sale(first, salesid="900102", qtysold="two")),  # 7: not a number
        "UTF8-PLACEHOLDER",  # 8: invalid UTF-8, written as bytes below
        good[0],  # 9: the first sale again: a duplicate key
        "",  # 10: an empty line
        tab(_sale(first, salesid="900103", qtysold="-2", pricepaid="-50.00", commission="-7.50")),  # 11: negative
        tab(_sale(first, salesid="900104", listid="999999")),  # 12: a listing that does not exist
        *good[3:],
    ]
    data = (
        "\n".join(bad)
        .encode()
        .replace(b"UTF8-PLACEHOLDER", "\t".join(_sale(first, salesid="900105")).encode().replace(b".", b"\xff.", 1))
    )
    sales_path.write_bytes(data + b"\n")

    users_path = raw_dir / FORMATS["users"].file
    users = users_path.read_text().splitlines()
    template = users[0].split("|")
    long_name = "|".join(["900200", "ABCDEFGHIJ", *template[2:]])
    maybe = "|".join(["900201", *template[1:8], "MAYBE", *template[9:]])
    users_path.write_text("\n".join([*users, long_name, maybe]) + "\n")

    lines = {table: len((raw_dir / FORMATS[table].file).read_bytes().splitlines()) for table in TABLES}
    return lines, first


def latest_run_record(home: Path) -> dict[str, Any]:
    """The run.json of the newest run `tickit run` recorded under `home` (one record per run, in its folder)."""
    from tickit_platform.history.runs import RUN_RECORD, kept_runs, latest_recorded
    from tickit_runtime.home import HomeLayout

    latest = latest_recorded(kept_runs(HomeLayout(home).runs))
    assert latest is not None, f"no run recorded under {home / 'runs'}"
    record: dict[str, Any] = json.loads((latest.folder / RUN_RECORD).read_text())
    return record


def wait_for_log(path: Path, text: str, timeout: float = 20.0) -> str:
    """A task's log once it holds `text`: Airflow's supervisor may still be writing the file for a
    moment after the task's state is set, so a log read right after a run can be short."""
    deadline = time.monotonic() + timeout
    content = ""
    while time.monotonic() < deadline:
        content = path.read_text(errors="replace") if path.is_file() else ""
        if text in content:
            break
        time.sleep(0.5)
    return content


def in_process_tickit(capsys: pytest.CaptureFixture[str], *leading: str) -> Callable[..., tuple[int, str, str]]:
    """`tickit …` run in this process: returns (exit code, stdout, stderr). The command installs its own
    SIGINT/SIGTERM handlers; they are put back after each call so pytest's Ctrl-C keeps working."""
    from tickit_platform import cli

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            code = cli.main([*leading, *args])
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def shared_wheelhouse(cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`cache_dir`, a bundle build's cache, with its wheelhouse shared by every bundle build of the test session
    (both xdist workers): each build would otherwise resolve and download the same wheels, half a minute apiece
    on two cores. Sharing is safe: each key's wheels are written in a folder of their own, renamed into place."""
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if base.name.startswith("popen-gw") else base) / "shared-wheelhouse"
    shared.mkdir(exist_ok=True)
    cache_dir.mkdir(parents=True, exist_ok=True)
    link = cache_dir / CACHE_FOLDER
    if not link.exists():
        link.symlink_to(shared, target_is_directory=True)
    return cache_dir
