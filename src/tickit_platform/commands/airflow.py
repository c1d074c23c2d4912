"""The local Airflow a person works with: `tickit ui`, and `tickit up`/`down` for one that keeps running."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from tickit_platform.commands.helptext import described
from tickit_platform.commands.session import SubCommands, check_warehouse, data_options, data_session, settings_from
from tickit_runtime.config import DAG_ID, DagConfig

if TYPE_CHECKING:
    from tickit_platform.local.airflow import LocalAirflow


def add_parsers(sub: SubCommands) -> None:
    ui = sub.add_parser(
        "ui",
        help="start the local Airflow UI with the DAG; Ctrl-C stops it",
        **described(
            "Starts a local Airflow with the DAG and prints the UI's address and login; the dbt docs are served "
            "inside it (Browse > dbt Docs). Trigger runs from the UI, clear a failed task to retry it. It reads "
            "the same data options as `tickit run`, because a run triggered in the UI loads the files too. Ctrl-C "
            "stops it; with a local Airflow that `tickit up` keeps running, it prints that one's address and "
            "returns.",
            ("tickit ui", "the UI on the official data"),
            ("tickit ui --synthetic --scale 0.1", "runs triggered in it use small synthetic data"),
        ),
    )
    data_options(ui)
    ui.set_defaults(func=cmd_ui)
    up = sub.add_parser(
        "up",
        help="start a local Airflow that keeps running, so that `tickit run` and `tickit ui` start at once",
        **described(
            "Starts the same local Airflow as `tickit run` and leaves it running in the background, so that every "
            "later `tickit run` and `tickit ui` on this home uses it and starts nothing (starting Airflow is the "
            "largest part of a run's cost). Prints the UI's address and login and returns once the DAG is "
            "parsed. A command with other settings (data, target, alerts) restarts it with its own; `tickit down` "
            "stops it.",
            ("tickit up", "keep Airflow running"),
            ("tickit run", "then: the run starts at once"),
            ("tickit down", "stop it and everything it started"),
        ),
    )
    data_options(up)
    up.set_defaults(func=cmd_up)
    down = sub.add_parser(
        "down",
        help="stop the local Airflow `tickit up` started",
        **described(
            "Stops the local Airflow that `tickit up` keeps running on this home, and everything it started. "
            "Nothing running is not an error.",
            ("tickit down", ""),
        ),
    )
    down.set_defaults(func=cmd_down)


def _docs_for_ui(config: DagConfig) -> None:
    """The docs the UI serves (Browse > dbt Docs), generated unless they are current."""
    from tickit_platform.dbt_project.docs import refresh_docs

    refresh_docs(config, before=lambda: print("Generating the dbt docs…", flush=True))


def cmd_ui(args: argparse.Namespace) -> int:
    from tickit_platform.local.runner import started_airflow

    settings = settings_from(args)
    check_warehouse(settings, write=True)
    # A DAG run triggered from the UI loads the files too: the server must be able to read them meanwhile.
    with data_session(settings) as session:
        _docs_for_ui(session.config)
        with started_airflow(session.config) as (airflow, _api):
            _print_ui(airflow, session.description)
            if airflow.resident:
                print("This is the Airflow `tickit up` started: it keeps running; `tickit down` stops it.")
                return 0
            print("Press Ctrl-C to stop.")
            sys.stdout.flush()
            try:
                while True:
                    airflow.supervise()  # a component that dies is restarted once, then the UI stops saying why
                    time.sleep(0.5)
            except KeyboardInterrupt:
                pass
            print("Stopping Airflow…")
    return 0


def _print_ui(airflow: LocalAirflow, description: str) -> None:
    from tickit_platform.dbt_project.docs import DOCS_SLUG

    print(f"Airflow UI: {airflow.url}/dags/{DAG_ID}")
    print(f"dbt docs: {airflow.url}/cosmos/{DOCS_SLUG}/dbt_docs_index.html (also Browse > dbt Docs)")
    print(f"Login: admin / {airflow.password()}")
    print(f"Data: {description}.")
    sys.stdout.flush()


def cmd_up(args: argparse.Namespace) -> int:
    """Start a local Airflow that keeps running: `tickit run` and `tickit ui` use it instead of their own."""
    from tickit_platform.dbt_project.manifest import ensure_manifest
    from tickit_platform.local.resident import adopt, start_resident
    from tickit_platform.local.runner import local_airflow

    settings = settings_from(args)
    check_warehouse(settings, write=True)
    with data_session(settings) as session:
        config = session.config
        _docs_for_ui(config)
        ensure_manifest(config)
        airflow = adopt(local_airflow(config), config)
        if airflow is None:
            print(f"Starting a local Airflow under {settings.airflow_home} that keeps running…", flush=True)
            airflow = start_resident(local_airflow(config), config)
    _print_ui(airflow, session.description)
    print("It keeps running: `tickit run` and `tickit ui` use it; `tickit down` stops it.")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    from tickit_platform.local.resident import stop_resident

    settings = settings_from(args)
    if stop_resident(settings.airflow_home, print):
        print("Stopped the local Airflow `tickit up` started.")
    else:
        print("No local Airflow was kept running here (`tickit up` starts one).")
    return 0
