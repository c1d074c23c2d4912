"""The `tickit` command: parses the arguments and dispatches to the command groups (commands/)."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence

from tickit_platform import envvars
from tickit_platform.commands import airflow, data, dbt, deploy, run
from tickit_platform.console import say_error
from tickit_platform.errors import SettingsError, TickitError

# In the order `tickit --help` lists them.
COMMAND_GROUPS = (run, airflow, data, deploy, dbt)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tickit", description=__doc__)
    parser.add_argument("--home", help=f"where everything is written (default ${envvars.HOME} or ./.tickit)")
    sub = parser.add_subparsers(dest="command", required=True)
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
