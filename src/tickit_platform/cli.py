"""The `tickit` command: parses the arguments and dispatches to the command groups (commands/)."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence

from tickit_platform.commands import airflow, data, dbt, deploy, run
from tickit_platform.commands.helptext import described
from tickit_platform.console import say_error
from tickit_runtime import envvars
from tickit_runtime.errors import SettingsError, TickitError

# In the order `tickit --help` lists them.
COMMAND_GROUPS = (run, airflow, data, deploy, dbt)

DESCRIPTION = f"""\
Run the tickit data platform: Apache Airflow 3 orchestrates a dbt project through astronomer-cosmos, one
Airflow task per dbt model, and dbt builds a bronze, silver and gold warehouse over AWS's tickit
ticket-sales dataset. Locally the warehouse is DuckDB (or PostgreSQL); in production it is Redshift,
run by Amazon MWAA.

Everything a command writes (downloads, the warehouse, Airflow's files, reports) lives under ./.tickit,
or ${envvars.HOME}: delete that folder and the machine is as before. Settings come from flags, then from
environment variables (${envvars.TARGET}, ${envvars.SCALE}, ...); `tickit COMMAND --help` explains each
command."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tickit",
        **described(
            DESCRIPTION,
            ("tickit run", "get the official data and run the whole DAG under a local Airflow"),
            ("tickit run --synthetic --scale 0.1", "the same on a small synthetic dataset, no download"),
            ("tickit ui", "the Airflow UI with the DAG and the dbt docs"),
            ("tickit report", "the HTML report of the last run"),
            ("tickit --home /tmp/t run", "everything under another folder"),
        ),
    )
    parser.add_argument(
        "--home", metavar="DIR", help=f"where everything is written (default ${envvars.HOME}, else ./.tickit)"
    )
    sub = parser.add_subparsers(dest="command", required=True, title="commands", metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Ctrl-C reaches the whole foreground group; the runner stops what it started on the way out.
    # Installed explicitly: a parent that ignores SIGINT (a background job, nohup) must not make it unstoppable.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        return int(args.func(args))
    except SettingsError as err:
        say_error(f"tickit: {err}")
        return 2
    except TickitError as err:
        say_error(f"tickit: {err}")
        return 1
    except KeyboardInterrupt:
        say_error("tickit: interrupted; everything it started was stopped.")
        return 130


if __name__ == "__main__":
    sys.exit(main())
