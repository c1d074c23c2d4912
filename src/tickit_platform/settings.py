"""Typed settings in one place: flags win over environment variables, which win over defaults.

Everything a run writes lives under `home` (TICKIT_HOME, default `./.tickit`): delete that folder and
the machine is as it was before.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

DEFAULT_HOME = Path(".tickit")
DEFAULT_SCALE = 1.0
DEFAULT_SEED = 42
TARGETS = ("local", "postgres", "dwh")


class SettingsError(ValueError):
    """A setting has a value that cannot work; the message says which and what to use instead."""


def _env_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number (e.g. {name}=1 or {name}=0.1)") from None


def _env_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number (e.g. {name}=42)") from None


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=lambda: DEFAULT_HOME.resolve())
    target: str = "local"
    scale: float = DEFAULT_SCALE
    seed: int = DEFAULT_SEED
    # A local zip, a folder of the seven files, or a URL; None means the official download.
    source: str | None = None
    synthetic: bool = False

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise SettingsError(f"unknown target {self.target!r}: use one of {', '.join(TARGETS)}")
        if not self.scale > 0:
            raise SettingsError(f"scale must be greater than 0, got {self.scale}")
        object.__setattr__(self, "home", Path(self.home).expanduser().resolve())

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from TICKIT_* variables, then the given overrides (flags) where not None."""
        env = os.environ if env is None else env
        base = cls(
            home=Path(env.get("TICKIT_HOME") or DEFAULT_HOME),
            target=env.get("TICKIT_TARGET") or env.get("DBT_TARGET") or "local",
            scale=_env_float(env, "TICKIT_SCALE", DEFAULT_SCALE),
            seed=_env_int(env, "TICKIT_SEED", DEFAULT_SEED),
            source=env.get("TICKIT_SOURCE") or None,
        )
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(base, **given) if given else base

    # Folders under home, one per kind of thing a run keeps.
    @property
    def downloads_dir(self) -> Path:
        """The cached official download (zip and its unpacked files)."""
        return self.home / "downloads"

    @property
    def synthetic_dir(self) -> Path:
        """Synthetic files, one folder per scale and seed so they are generated once."""
        return self.home / "synthetic" / f"scale-{self.scale:g}-seed-{self.seed}"

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse" / "tickit.duckdb"

    @property
    def dbt_target_dir(self) -> Path:
        return self.home / "dbt" / "target"

    @property
    def dbt_log_dir(self) -> Path:
        return self.home / "dbt" / "logs"

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def runs_dir(self) -> Path:
        """What `tickit run` records of its DAG runs (the report's run section reads it)."""
        return self.home / "runs"
