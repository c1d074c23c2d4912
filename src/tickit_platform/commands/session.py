"""What most commands do first: settings from flags and environment, the warehouse free, the data
acquired, the raw folder readable by the target's server, and the DAG's configuration built from them."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from tickit_platform.console import say_error
from tickit_platform.settings import Settings
from tickit_runtime.config import DagConfig

if TYPE_CHECKING:
    from tickit_platform.data.postgres_staging import PostgresAddress

Say = Callable[[str], None]
# Where a command group adds its parsers (a string: argparse's class is not generic at run time).
SubCommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", help="a local zip, a folder of the seven files, or a URL of a zip")
    parser.add_argument("--synthetic", action="store_true", help="use synthetic data, skip the download")
    parser.add_argument("--scale", type=float, help="synthetic scale: 1 = the official row counts (default 1)")
    parser.add_argument("--seed", type=int, help="synthetic seed (default 42)")


def settings_from(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env(
        home=Path(args.home) if getattr(args, "home", None) else None,
        target=getattr(args, "target", None),
        scale=getattr(args, "scale", None),
        seed=getattr(args, "seed", None),
        source=getattr(args, "source", None),
        synthetic=True if getattr(args, "synthetic", False) else None,
    )
    return settings


def reading_settings(args: argparse.Namespace) -> Settings:
    """The settings of a command that reads the warehouse (`tickit quarantine`, `tickit report`): what nobody
    chose (no flag, no variable) comes from the last run or load in this home, so that after
    `tickit run --target postgres` they read PostgreSQL, in the schemas that run used."""
    settings = settings_from(args)
    used = _warehouse_used(settings)
    if not used:
        return settings
    target = used.get("target") if "target" in settings.defaulted else None
    prefix = used.get("schema_prefix") if "schema_prefix" in settings.defaulted else None
    if target is None and prefix is None:
        return settings
    return Settings.from_env(
        home=settings.home,
        target=target,
        scale=getattr(args, "scale", None),
        seed=getattr(args, "seed", None),
        source=getattr(args, "source", None),
        synthetic=True if getattr(args, "synthetic", False) else None,
        schema_prefix=prefix,
    )


def record_warehouse_used(settings: Settings, target: str) -> None:
    """Remember which warehouse was just written to: its target and schema prefix (never a password)."""
    path = settings.layout.warehouse_used
    path.parent.mkdir(parents=True, exist_ok=True)
    used = {"target": target, "schema_prefix": settings.dag.schema_prefix}
    path.write_text(json.dumps(used) + "\n", encoding="utf-8")


def _warehouse_used(settings: Settings) -> dict[str, str]:
    try:
        used = json.loads(settings.layout.warehouse_used.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # no run yet here, or a file from elsewhere: the settings stand as they are
    if not isinstance(used, dict):
        return {}
    return {k: v for k, v in used.items() if k in {"target", "schema_prefix"} and isinstance(v, str)}


def check_warehouse(settings: Settings, *, write: bool) -> None:
    """Before any work: the home takes files and no other program holds the warehouse (local target)."""
    from tickit_platform.warehouse.availability import check_warehouse as check
    from tickit_platform.warehouse.availability import check_writable

    if write:
        from tickit_platform.local.processes import stop_strays

        check_writable(settings.home)
        # An Airflow a killed `tickit` left behind may still hold the warehouse: ours to stop, not to report.
        stop_strays(settings.layout.airflow, say_error)
    if settings.target == "local":
        check(settings.warehouse_path, write=write)


def postgres_address(settings: Settings) -> PostgresAddress:
    """The PostgreSQL server the DAG's dbt connects to (DBT_POSTGRES_*, as the settings read them): the
    staging check and the rehearsal talk to this one server."""
    from tickit_platform.data.postgres_staging import PostgresAddress

    return PostgresAddress.from_env(dict(settings.dag.postgres))


@dataclass(frozen=True)
class DataSession:
    settings: Settings
    data_folder: Path | None  # the seven files as acquired (None: this command loads nothing)
    description: str  # which data, as the user is told
    raw_dir: Path | None  # the folder dbt's load reads: data_folder, or a copy the target's server can read
    config: DagConfig  # the DAG's configuration over raw_dir

    @property
    def loaded_raw_dir(self) -> Path:
        """raw_dir, for a session that acquired data (a session that loads nothing has none)."""
        if self.raw_dir is None:
            raise TypeError("this session acquired no data")  # a programming error, not the user's
        return self.raw_dir


@contextmanager
def data_session(
    settings: Settings,
    *,
    say: Say = print,
    target: str | None = None,
    loads: bool = True,
    record: bool = False,
) -> Iterator[DataSession]:
    """Acquire the data (unless the command `loads` nothing), stage it for `target` (default the settings'),
    and build the DAG's configuration; with `record`, remember the data for a later report. The staged copy
    lives as long as the session."""
    from tickit_platform.data.acquire import acquire
    from tickit_platform.data.postgres_staging import raw_dir_for_target

    folder, description = None, ""
    target = target or settings.target
    if loads:
        dataset = acquire(settings, say=say)
        folder, description = dataset.folder, dataset.description
        if record:
            from tickit_platform.reporting.data import record_dataset

            record_dataset(settings, folder)
            record_warehouse_used(settings, target)
    # Built only for the postgres target: another target never reads DBT_POSTGRES_*, bad or not.
    address = postgres_address(settings) if target == "postgres" else None
    with raw_dir_for_target(target, folder, say=say, address=address) as raw_dir:
        yield DataSession(settings, folder, description, raw_dir, replace(settings.dag, raw_dir=raw_dir))
