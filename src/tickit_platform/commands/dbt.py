"""`tickit dbt …`: dbt on the project with the environment the DAG's tasks get."""

from __future__ import annotations

import argparse
import os
import subprocess
from collections.abc import Sequence

from tickit_platform.commands.helptext import described
from tickit_platform.commands.session import SubCommands, check_warehouse, data_options, data_session, settings_from
from tickit_platform.console import say_error
from tickit_runtime import envvars


def add_parsers(sub: SubCommands) -> None:
    dbt = sub.add_parser(
        "dbt",
        help="run dbt on the project with the DAG's environment, e.g. `tickit dbt ls`",
        **described(
            f"Runs dbt on the project (dags/dbt_tickit) with exactly the environment the DAG's tasks get: the "
            f"same profile, target and raw files. dbt's target/ and logs/ go under ${envvars.HOME}/dbt. "
            "Everything after `dbt` is dbt's own arguments; dbt's --target picks the warehouse.",
            ("tickit dbt ls", "the project's models, tests and sources"),
            ("tickit dbt run-operation load_raw_tables", "load the raw files, as the DAG's load_raw task does"),
            ("tickit dbt build --select silver_users+", "one model and what depends on it"),
            ("tickit dbt build --target postgres", "the whole project on PostgreSQL"),
        ),
    )
    data_options(dbt)
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER)
    dbt.set_defaults(func=cmd_dbt)


def cmd_dbt(args: argparse.Namespace) -> int:
    """Run dbt against the project with the same environment the DAG's tasks get."""
    settings = settings_from(args)
    # dbt's own --target wins over TICKIT_TARGET, so it decides the engine.
    target = _dbt_target(args.dbt_args) or settings.target
    if target == "local":
        check_warehouse(settings, write=True)
    # Only the load reads the raw files: `tickit dbt parse` or `ls` never wait for a download.
    loads = "load_raw_tables" in args.dbt_args
    # Said on stderr: stdout stays dbt's own, for `tickit dbt ls` and the like in a pipe. Whatever dbt loads
    # is recorded: the report says which data it was.
    with data_session(
        settings, say=say_error, target=target if loads else "local", loads=loads, record=True
    ) as session:
        config = session.config
        # dbt's target/ and logs/ go under TICKIT_HOME too: a run never writes into the repository.
        env = {
            **os.environ,
            **config.dbt_env(),
            "DBT_TARGET_PATH": str(settings.dbt_target_dir),
            "DBT_LOG_PATH": str(settings.dbt_log_dir),
        }
        config.warehouse_path.parent.mkdir(parents=True, exist_ok=True)  # DuckDB creates the file, not its folder
        cmd = [str(config.dbt_executable), *args.dbt_args, "--project-dir", str(config.project_dir)]
        return subprocess.call(cmd, env=env)


def _dbt_target(dbt_args: Sequence[str]) -> str | None:
    """The value of dbt's own `--target`/`-t` among its arguments, if given."""
    for i, arg in enumerate(dbt_args):
        if arg in {"--target", "-t"} and i + 1 < len(dbt_args):
            return dbt_args[i + 1]
        if arg.startswith("--target="):
            return arg.split("=", 1)[1]
    return None
