"""What an alert says: plain text a person reads in a mail, a chat message or an SNS notification.

Pure functions of plain values, so each message is tested as written; `notifiers` takes the values
out of Airflow's context and dbt's artifacts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# dbt's message can be a page long (compiled SQL, a stack of macro calls); the first lines name the problem.
ERROR_LINES = 8
LINE_WIDTH = 240


def run_failure_subject(dag_id: str, run_id: str) -> str:
    """The subject of a failed run's alert; `tickit run` looks for it in the DAG processor's log."""
    return f"[tickit] run {run_id} of {dag_id} failed"


@dataclass(frozen=True)
class Alert:
    subject: str
    body: str

    @property
    def text(self) -> str:
        """Subject and body as one message, for the channels that have no subject (a chat webhook)."""
        return f"{self.subject}\n\n{self.body}"


@dataclass(frozen=True)
class DataTestIssue:
    """A data test of the shared build that failed or warned, with the rows it found."""

    name: str
    model: str | None
    status: str  # "fail", "warn" or "error" (the test itself could not run)
    rows: int | None


@dataclass(frozen=True)
class LoadedFile:
    """One raw file of the load, as `load_raw_tables` reports it."""

    relation: str
    file: str
    lines: int
    rows: int
    quarantined: int


def first_lines(message: str, count: int = ERROR_LINES) -> list[str]:
    lines = [line.rstrip() for line in message.strip().splitlines() if line.strip()]
    cut = [line if len(line) <= LINE_WIDTH else line[: LINE_WIDTH - 1] + "…" for line in lines[:count]]
    if len(lines) > count:
        cut.append(f"… ({len(lines) - count} more lines in the log)")
    return cut


def task_failed(
    *,
    dag_id: str,
    task_id: str,
    run_id: str,
    try_number: int,
    error: str,
    log_url: str,
    log_file: Path | None,
    new_run: str,
) -> Alert:
    said = "\n".join(f"    {line}" for line in first_lines(error)) or "    (no message)"
    log = f"Log: {log_url}" + (f"\nLog file: {log_file}" if log_file is not None else "")
    return Alert(
        subject=f"[tickit] {task_id} failed in run {run_id}",
        body=(
            f"Task {task_id} of {dag_id} failed in run {run_id} (try {try_number}, its last).\n\n"
            f"{said}\n\n"
            f"{log}\n\n"
            f"To retry once the cause is fixed: in the Airflow UI open run {run_id}, select {task_id} and "
            f"Clear it with its downstream tasks (only they run again), or start a new run: `{new_run}`."
        ),
    )


def run_failed(*, dag_id: str, run_id: str, reason: str | None, run_url: str, new_run: str) -> Alert:
    why = f" ({reason})" if reason else ""
    return Alert(
        subject=run_failure_subject(dag_id, run_id),
        body=(
            f"Run {run_id} of {dag_id} failed{why}.\n\n"
            "Every task that failed after its last try sent an alert of its own; tasks left upstream_failed "
            "did not run and sent none.\n\n"
            f"Run: {run_url}\n\n"
            "To retry once the cause is fixed: in the Airflow UI open the run and Clear its failed tasks with "
            f"their downstream tasks, or start a new run: `{new_run}`."
        ),
    )


def data_tests(*, dag_id: str, run_id: str, issues: Sequence[DataTestIssue], log_url: str) -> Alert | None:
    if not issues:
        return None
    counts = {status: sum(1 for i in issues if i.status == status) for status in ("fail", "error", "warn")}
    said = ", ".join(f"{n} {word}" for status, word in [("fail", "failed"), ("error", "errored"), ("warn", "warned")]
                     if (n := counts[status]))  # fmt: skip
    lines = []
    for issue in issues:
        on = f" on {issue.model}" if issue.model else ""
        rows = f": {issue.rows} row(s)" if issue.rows is not None else ""
        lines.append(f"    {issue.status} {issue.name}{on}{rows}")
    return Alert(
        subject=f"[tickit] data tests: {said} in run {run_id}",
        body=(
            f"Data tests of the dbt build in run {run_id} of {dag_id}: {said}.\n\n"
            + "\n".join(lines)
            + "\n\nA failed test fails its model's task, which sends an alert of its own; a warning lets the "
            "run carry on. The rows each test found are in the warehouse's audit schema, under the test's name.\n\n"
            f"Log: {log_url}"
        ),
    )


def quarantine(*, dag_id: str, run_id: str, files: Sequence[LoadedFile], threshold: int) -> Alert | None:
    total = sum(f.quarantined for f in files)
    if total <= threshold:
        return None
    lines = [
        f"    {f.file}: {f.quarantined:,} of {f.lines:,} lines quarantined ({f.rows:,} rows loaded into {f.relation})"
        for f in files
        if f.quarantined
    ]
    return Alert(
        subject=f"[tickit] the load quarantined {total:,} lines in run {run_id}",
        body=(
            f"The load of run {run_id} of {dag_id} set aside {total:,} lines, more than the alert threshold "
            f"of {threshold:,}.\n\n" + "\n".join(lines) + "\n\nThe run carries on without them. The lines, with "
            f"file, line number and reason, are in {_raw_schema(files)}.quarantine (`tickit quarantine` lists them)."
        ),
    )


def _raw_schema(files: Sequence[LoadedFile]) -> str:
    """The schema the load wrote to, from a table it named ("db"."raw"."sales"): `raw`, or with the
    deployment's schema prefix `<prefix>_raw`; the quarantine is beside the raw tables."""
    parts = [part.strip('"') for part in files[0].relation.split(".")] if files else []
    return parts[-2] if len(parts) >= 2 else "raw"


def data_test_issues(run_results: Mapping[str, Any], manifest: Mapping[str, Any]) -> list[DataTestIssue]:
    """The tests of a `dbt build` that did not pass, from its run_results.json and manifest.json."""
    nodes = manifest.get("nodes", {})
    issues = []
    for result in run_results.get("results", []):
        unique_id = str(result.get("unique_id", ""))
        status = str(result.get("status", ""))
        if not unique_id.startswith("test.") or status not in ("fail", "warn", "error"):
            continue
        node = nodes.get(unique_id, {})
        attached = node.get("attached_node")
        failures = result.get("failures")
        issues.append(
            DataTestIssue(
                name=str(node.get("name") or unique_id.split(".")[2]),
                model=str(attached).split(".")[-1] if attached else None,
                status=status,
                rows=int(failures) if failures is not None and status != "error" else None,
            )
        )
    order = {"fail": 0, "error": 1, "warn": 2}
    return sorted(issues, key=lambda i: (order[i.status], i.name))


# The line `load_raw_tables` logs for every file it loaded (macros/load_raw/load_raw_tables.sql).
LOADED_LINE = re.compile(
    r"loaded (?P<relation>\S+): (?P<rows>\d+) rows, (?P<quarantined>\d+) quarantined, "
    r"of (?P<lines>\d+) lines in (?P<file>\S+)"
)


def loaded_files(dbt_log: str) -> list[LoadedFile]:
    """Every file the load reported in dbt's log, once each (the last report of a file wins)."""
    found: dict[str, LoadedFile] = {}
    for match in LOADED_LINE.finditer(dbt_log):
        found[match["file"]] = LoadedFile(
            relation=match["relation"],
            file=match["file"],
            lines=int(match["lines"]),
            rows=int(match["rows"]),
            quarantined=int(match["quarantined"]),
        )
    return sorted(found.values(), key=lambda f: f.file)
