"""TICKIT_HOME's layout: every path a run writes, named once.

Everything `tickit` and the DAG's tasks write lives under one folder (`./.tickit` unless TICKIT_HOME
says otherwise): delete it and the machine is as before. The CLI's settings, the DAG's configuration,
the report and the local Airflow all ask this object where things go, so a path cannot differ between
the command that writes a file and the one that reads it. It ships to MWAA with the DAG's code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = Path(".tickit")


@dataclass(frozen=True)
class HomeLayout:
    root: Path

    # The data a run reads.
    @property
    def downloads(self) -> Path:
        """The cached official download (zip and its unpacked files)."""
        return self.root / "downloads"

    def synthetic(self, scale: float, seed: int) -> Path:
        """Synthetic files, one folder per scale and seed so they are generated once."""
        return self.root / "synthetic" / f"scale-{scale:g}-seed-{seed}"

    # The warehouse.
    @property
    def warehouse(self) -> Path:
        """The DuckDB file of the local target."""
        return self.root / "warehouse" / "tickit.duckdb"

    @property
    def warehouse_used(self) -> Path:
        """Which warehouse the last run or load wrote to (target and schema prefix, never a password), so that
        `tickit quarantine` and `tickit report` read that one unless told otherwise."""
        return self.root / "warehouse" / "used.json"

    @property
    def warehouse_lock(self) -> Path:
        """Serialises the dbt processes that write the DuckDB file (one writer per file)."""
        return self.root / "warehouse" / "tickit.duckdb.writer-lock"

    # dbt's files.
    @property
    def dbt_target(self) -> Path:
        """dbt's target/ for `tickit dbt …` (never inside the repository)."""
        return self.root / "dbt" / "target"

    @property
    def dbt_logs(self) -> Path:
        return self.root / "dbt" / "logs"

    @property
    def manifest(self) -> Path:
        """The manifest the DAG is rendered from (`dbt parse` writes it when the project changed)."""
        return self.root / "dbt" / "manifest" / "manifest.json"

    @property
    def docs(self) -> Path:
        """The dbt docs site, served by Cosmos' plugin in the Airflow UI."""
        return self.root / "dbt" / "docs"

    @property
    def docs_build(self) -> Path:
        """dbt's own target/ for `dbt docs generate`, kept so its partial parse speeds up the next one."""
        return self.root / "dbt" / "docs-target"

    @property
    def duckdb_temp(self) -> Path:
        """Where DuckDB spills what does not fit its memory limit. One level under the home: DuckDB creates the
        folder itself when it first spills, but not its parents."""
        return self.root / "tmp"

    @property
    def freshness(self) -> Path:
        """dbt's sources.json from the DAG's freshness check, for the run summary."""
        return self.root / "dbt" / "freshness" / "sources.json"

    # Airflow and Cosmos.
    @property
    def airflow(self) -> Path:
        """AIRFLOW_HOME of the local Airflow (metadata, logs, generated password)."""
        return self.root / "airflow"

    @property
    def airflow_logs(self) -> Path:
        return self.airflow / "logs"

    @property
    def cosmos_cache(self) -> Path:
        return self.root / "cosmos"

    # What the commands leave for people.
    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def runs(self) -> Path:
        """What `tickit run` records of its DAG runs (the report's run section reads it), unless
        TICKIT_RUNS_URI names another folder (`Settings.runs_dir`)."""
        return self.root / "runs"

    def run_folder(self, run_id: str) -> Path:
        """One DAG run's history: its record, its data figures and dbt's artifacts (tickit_runtime/artifacts.py)."""
        return self.runs / run_id

    def run_report(self, run_id: str) -> Path:
        """Where `tickit report --run ID` writes the report of an earlier run (the latest's is under reports/)."""
        return self.reports / "runs" / run_id

    @property
    def deploy_bundle(self) -> Path:
        """Where `tickit deploy build` (and `push`) write the MWAA bundle by default."""
        return self.root / "deploy" / "bundle"

    @property
    def rehearsal(self) -> Path:
        """`tickit deploy rehearse`: its cached runtimes, its AIRFLOW_HOME and logs."""
        return self.root / "rehearsal"

    @property
    def deploy_cache(self) -> Path:
        return self.root / "deploy" / "cache"
