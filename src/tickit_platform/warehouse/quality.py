"""What a run did with its input and how its data tests came out, read back from the warehouse.

Per source: lines in the file, rows loaded and lines quarantined (raw.load_audit, raw.quarantine, both
written by the load step; `<prefix>_raw.…` with a schema prefix). Per data test: its severity from dbt's
manifest and its failing rows from the audit schema, where every test stores them (`store_failures`);
the load step drops those tables, so a test without a table did not run this time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tickit_platform.settings import Settings
from tickit_platform.warehouse.connection import WarehouseReader
from tickit_platform.warehouse.results import Row, rows, tables


def quarantine_query(raw_schema: str) -> str:
    """The quarantine in SQL, as a person would query it (`tickit quarantine` prints it)."""
    return f"select * from {raw_schema}.quarantine order by source_name, line_number"


@dataclass(frozen=True)
class LoadCount:
    source: str
    file: str
    lines: int
    loaded: int
    quarantined: int


@dataclass(frozen=True)
class Freshness:
    source: str
    status: str  # dbt's: "pass", "warn", "error" or "runtime error"
    newest: str | None  # the newest loaded_at value, as dbt reports it
    age_days: float | None


@dataclass(frozen=True)
class TestOutcome:
    name: str
    model: str | None  # the model the test is attached to; None for tests across several
    severity: str  # "error" or "warn"
    status: str  # "pass", "warn", "fail" or "skipped" (did not run: its model or an upstream failed)
    failures: int

    @property
    def is_problem(self) -> bool:
        return self.status in {"warn", "fail"}


def load_counts(reader: WarehouseReader) -> list[LoadCount] | None:
    """One entry per raw file of the last load; None for a warehouse loaded before the audit existed."""
    raw = reader.schemas.raw
    if "load_audit" not in tables(reader, raw):
        return None
    _, found = reader.query(
        "select source_name, file_name, lines_in_file, rows_loaded, rows_quarantined "
        f'from "{raw}".load_audit order by source_name, file_name'
    )
    return [LoadCount(str(s), str(f), int(n), int(ok), int(q)) for s, f, n, ok, q in found]


def has_quarantine(reader: WarehouseReader) -> bool:
    return "quarantine" in tables(reader, reader.schemas.raw)


def quarantined_rows(
    reader: WarehouseReader, source: str | None = None, limit: int | None = None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    where = "where source_name = ?" if source else ""
    bounded = f"limit {int(limit)}" if limit else ""
    return reader.query(
        f'select source_name, file_name, line_number, reason, raw_line from "{reader.schemas.raw}".quarantine '
        f"{where} order by source_name, line_number {bounded}",
        [source] if source else [],
    )


def quarantine_by_source(reader: WarehouseReader) -> list[Row] | None:
    """Quarantined lines per source, None when the warehouse predates the quarantine."""
    if not has_quarantine(reader):
        return None
    return rows(
        reader,
        "select source_name, count(*) as rows_quarantined, count(distinct reason) as reasons, "
        f'min(reason) as example_reason from "{reader.schemas.raw}".quarantine group by 1 order by 1',
    )


def manifest_path(settings: Settings) -> Path:
    """The manifest the DAG is built from: the same rule as the DAG's own configuration."""
    return settings.dag.manifest_path


def test_outcomes(reader: WarehouseReader, manifest: Path) -> list[TestOutcome]:
    """Every data test of the project with how it came out in the warehouse's last build."""
    if not manifest.exists():
        return []
    nodes = json.loads(manifest.read_text(encoding="utf-8"))["nodes"].values()
    tests = [n for n in nodes if n["resource_type"] == "test"]
    outcomes = []
    stored = {schema: tables(reader, schema) for schema in {t["schema"] for t in tests}}
    for test in tests:
        severity = str(test["config"].get("severity", "error")).lower()
        model = test.get("attached_node")
        model_name = model.split(".")[-1] if model else None
        if test["alias"] not in stored[test["schema"]]:
            outcomes.append(TestOutcome(test["name"], model_name, severity, "skipped", 0))
            continue
        _, found = reader.query(f'select count(*) from "{test["schema"]}"."{test["alias"]}"')
        failures = int(found[0][0]) if found else 0
        status = "pass" if failures == 0 else ("warn" if severity == "warn" else "fail")
        outcomes.append(TestOutcome(test["name"], model_name, severity, status, failures))
    return sorted(outcomes, key=lambda o: (o.status == "pass", o.name))


def freshness(sources_json: Path) -> list[Freshness]:
    """The freshness check of the last DAG run (dbt's sources.json), or nothing if it did not run."""
    if not sources_json.exists():
        return []
    results = json.loads(sources_json.read_text(encoding="utf-8")).get("results", [])
    found = []
    for result in results:
        age = result.get("max_loaded_at_time_ago_in_s")
        found.append(
            Freshness(
                source=str(result["unique_id"]).split(".")[-1],
                status=str(result.get("status")),
                newest=result.get("max_loaded_at"),
                age_days=None if age is None else float(age) / 86400,
            )
        )
    return sorted(found, key=lambda f: f.source)
