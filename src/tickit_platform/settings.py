"""The CLI's typed settings: flags win over environment variables, which win over defaults.

Everything a run writes lives under `home` (TICKIT_HOME, default `./.tickit`), laid out by
`HomeLayout`: delete that folder and the machine is as it was before. `from_env` reads the environment
once per command, the DAG's configuration (`dag`) included, so the CLI and the DAG it starts agree.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tickit_runtime import envvars
from tickit_runtime.config import DagConfig
from tickit_runtime.envvars import check_target
from tickit_runtime.errors import SettingsError
from tickit_runtime.home import DEFAULT_HOME, HomeLayout
from tickit_runtime.redaction import masked, redacted_repr

DEFAULT_SCALE = 1.0
DEFAULT_SEED = 42

__all__ = ["DEFAULT_HOME", "Settings", "SettingsError"]


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=lambda: DEFAULT_HOME.resolve())
    target: str = "local"
    scale: float = DEFAULT_SCALE
    seed: int = DEFAULT_SEED
    # A local zip, a folder of the seven files, or a URL; None means the official download.
    source: str | None = None
    synthetic: bool = False
    # One URL in place of the official tickitdb.zip URLs (a mirror, or a local server in tests).
    data_url: str | None = None
    # What the DAG's processes need, over the same home and target (it reaches Airflow via `dag.to_env()`).
    # None: the DAG's default tuning, for settings made in code rather than read from the environment.
    dag: DagConfig = None  # type: ignore[assignment]
    # The dwh target's DBT_REDSHIFT_* variables as given, for reading that warehouse back (IAM, no password).
    redshift: tuple[tuple[str, str], ...] = ()
    # The settings nobody chose (no flag, no variable), left at their default: `target`, `schema_prefix`. A
    # command that reads the warehouse takes those from the last run instead (commands/session.py).
    defaulted: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        check_target(self.target)
        if not self.scale > 0:
            raise SettingsError(f"scale must be greater than 0, got {self.scale}")
        object.__setattr__(self, "home", Path(self.home).expanduser().resolve())
        if self.dag is None:
            object.__setattr__(self, "dag", DagConfig.for_home(self.home, self.target, {}))
        elif (self.dag.home, self.dag.target) != (self.home, self.target):
            # A programming error: two homes would mean the CLI and the DAG write to different places.
            raise ValueError(f"the DAG's home and target {self.dag.home}, {self.dag.target} are not the settings'")

    def __repr__(self) -> str:
        # A URL may carry a user and password or a signature; a local path is shown as it is.
        source = masked(self.source) if self.source and "://" in self.source else self.source
        return redacted_repr(self, source=source, data_url=masked(self.data_url))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from TICKIT_* variables, then the given overrides (flags, and `schema_prefix`) where not None."""
        env = os.environ if env is None else env
        given = {k: v for k, v in overrides.items() if v is not None}
        # A flag spares its variable from being read at all: a bad value there does not matter then.
        defaulted = set()
        prefix = given.pop("schema_prefix", None)
        if prefix is None and not any(
            envvars.text(env, n) for n in (envvars.SCHEMA_PREFIX, envvars.AIRFLOW_SCHEMA_PREFIX)
        ):
            defaulted.add("schema_prefix")
        if "target" not in given:
            env_target = envvars.text(env, envvars.TARGET) or envvars.text(env, envvars.DBT_TARGET)
            if env_target is None:
                defaulted.add("target")
            given["target"] = check_target(env_target or "local", envvars.TARGET)
        if "scale" not in given:
            given["scale"] = envvars.number(env, envvars.SCALE, DEFAULT_SCALE)
        if "seed" not in given:
            given["seed"] = envvars.whole_number(env, envvars.SEED, DEFAULT_SEED)
        given.setdefault("home", Path(envvars.text(env, envvars.HOME) or DEFAULT_HOME))
        given.setdefault("source", envvars.text(env, envvars.SOURCE))
        given.setdefault("data_url", envvars.text(env, envvars.DATA_URL))
        given.setdefault("redshift", tuple((name, env[name]) for name in envvars.REDSHIFT if name in env))
        # The DAG's tuning from the same mapping: a bad value is reported before any work starts.
        home = Path(given["home"]).expanduser().resolve()
        dag = DagConfig.for_home(home, given["target"], env)
        if prefix is not None:
            dag = replace(dag, schema_prefix=prefix)
        return cls(**given, dag=dag, defaulted=frozenset(defaulted))

    @property
    def layout(self) -> HomeLayout:
        return HomeLayout(self.home)

    # The paths the commands use most, named as they read in the CLI.
    @property
    def downloads_dir(self) -> Path:
        return self.layout.downloads

    @property
    def synthetic_dir(self) -> Path:
        return self.layout.synthetic(self.scale, self.seed)

    @property
    def warehouse_path(self) -> Path:
        return self.layout.warehouse

    @property
    def dbt_target_dir(self) -> Path:
        return self.layout.dbt_target

    @property
    def dbt_log_dir(self) -> Path:
        return self.layout.dbt_logs

    @property
    def airflow_home(self) -> Path:
        return self.layout.airflow

    @property
    def reports_dir(self) -> Path:
        return self.layout.reports

    @property
    def runs_dir(self) -> Path:
        """Where the DAG keeps its runs and `tickit run` records them, the one place `tickit runs` and the
        report read: TICKIT_RUNS_URI's folder, else the home's runs/ (`DagConfig.history`)."""
        location = self.dag.history.location
        if "://" in location:
            # An S3 prefix is MWAA's; the CLI records and reads runs it ran itself, in a folder.
            raise SettingsError(
                f"{envvars.RUNS_URI} (or {envvars.AIRFLOW_RUNS_URI}) is {location}: the CLI keeps its runs in a "
                "local folder; unset it or give a folder"
            )
        return Path(location)
