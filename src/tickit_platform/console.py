"""What the `tickit` commands show a person: live task progress, the closing summary, and errors."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from tickit_platform.history.record import DagRunResult
from tickit_platform.history.summary import RunSummary
from tickit_platform.warehouse.figures import WarehouseFigures
from tickit_platform.warehouse.quality import Freshness, LoadCount, TestOutcome
from tickit_runtime.config import DAG_ID

if TYPE_CHECKING:
    from tickit_platform.deploy.rehearsal.rehearse import RehearsalResult
    from tickit_platform.history.runs import RecordedRun

STATE_STYLE = {
    "success": "green",
    "failed": "bold red",
    "upstream_failed": "yellow",
    "running": "cyan",
    "queued": "blue",
    "scheduled": "blue",
    "up_for_retry": "magenta",
    "skipped": "dim",
    "deferred": "cyan",
}
# A model task waits for the shared dbt build in Airflow's triggerer, in the state Airflow calls "deferred":
# it is working, not stuck, so it is shown as what it does.
STATE_LABEL = {"deferred": "waiting for dbt", None: "not started"}


def _styled(state: str | None) -> str:
    label = STATE_LABEL.get(state, state or "")
    style = STATE_STYLE.get(state or "")
    return f"[{style}]{label}[/{style}]" if style else label


class TaskProgress:
    """Live per-task states: a table redrawn in place on a terminal, one line per change elsewhere."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.started = time.monotonic()
        self.states: dict[str, str | None] = {}
        self.live: Live | None = None

    def __enter__(self) -> TaskProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)

    def _table(self, tis: Sequence[dict[str, Any]]) -> Table:
        done = sum(1 for ti in tis if ti["state"] in {"success", "failed", "upstream_failed", "skipped"})
        table = Table(
            title=f"dbt_tickit_medallion_dag: {done}/{len(tis)} tasks done, {time.monotonic() - self.started:.0f} s"
        )
        table.add_column("task")
        table.add_column("state")
        table.add_column("try", justify="right")
        for ti in tis:
            table.add_row(ti["task_id"], _styled(ti["state"]), str(ti.get("try_number") or ""))
        return table

    def __call__(self, tis: list[dict[str, Any]]) -> None:
        if self.console.is_terminal:
            # The live table's refresh thread starts with the first states, after the local Airflow's
            # components were forked from this process (local/warm_airflow.py: no thread may run then).
            if self.live is None:
                self.live = Live(self._table(tis), console=self.console, refresh_per_second=4, transient=True)
                self.live.__enter__()
            self.live.update(self._table(tis))
            return
        elapsed = time.monotonic() - self.started
        for ti in tis:
            if self.states.get(ti["task_id"], "<new>") != ti["state"] and ti["state"]:
                self.console.print(f"[{elapsed:6.1f}s] {ti['task_id']}: {_styled(ti['state'])}")
            self.states[ti["task_id"]] = ti["state"]


def print_tasks(console: Console, result: DagRunResult, hosts: bool = False) -> None:
    """One row per task; `hosts` adds the worker that ran it (on Celery, where that differs per task)."""
    table = Table(title=f"DAG run {result.run_id}: {_styled(result.state)} in {result.seconds:.1f} s")
    table.add_column("task")
    table.add_column("state")
    if hosts:
        table.add_column("worker")
    table.add_column("seconds", justify="right")
    table.add_column("tries", justify="right")
    for task in result.tasks:
        duration = f"{task.duration:.1f}" if task.duration is not None else ""
        where = [task.hostname or ""] if hosts else []
        table.add_row(task.task_id, _styled(task.state), *where, duration, str(task.try_number))
    console.print(table)


def print_kept_runs(console: Console, runs: Sequence[RecordedRun], keep: int) -> None:
    """`tickit runs`: newest first, one line each, the id ready to copy into `tickit report --run`."""
    table = Table(title=f"Kept runs ({len(runs)}, at most {keep})")
    table.add_column("run", no_wrap=True, overflow="fold")
    table.add_column("started (UTC)", no_wrap=True)
    table.add_column("state")
    table.add_column("seconds", justify="right")
    table.add_column("data")
    # Which warehouse each run wrote to: said once below when they all share one (the usual case, and the
    # table stays readable at 80 columns), as a column only when the kept runs went to different ones.
    warehouses = {run.warehouse for run in runs if run.warehouse}
    if len(warehouses) > 1:
        table.add_column("warehouse", overflow="fold")
    for run in reversed(runs):
        when = run.when.strftime("%Y-%m-%d %H:%M:%S") if run.when else ""
        seconds = f"{run.seconds:.1f}" if run.seconds is not None else ""
        cells = [run.run_id, when, _styled(run.state), seconds, run.description]
        table.add_row(*cells, *([run.warehouse] if len(warehouses) > 1 else []))
    console.print(table)
    if len(warehouses) == 1:
        console.print(f"Warehouse: {warehouses.pop()}", soft_wrap=True)


def print_failures(console: Console, result: DagRunResult) -> None:
    for task in result.failed:
        where = f" log: {task.log_path}" if task.state == "failed" else ""
        # soft_wrap: a log path must stay one line, ready to copy, however narrow the terminal.
        console.print(f"[red]✗[/red] {task.task_id} {_styled(task.state)}{where}", soft_wrap=True)


def print_layers(console: Console, counts: dict[str, dict[str, int]]) -> None:
    table = Table(title="Rows per layer")
    table.add_column("layer")
    table.add_column("tables", justify="right")
    table.add_column("rows", justify="right")
    for layer, tables in counts.items():
        table.add_row(layer, str(len(tables)), f"{sum(tables.values()):,}")
    console.print(table)


def print_rows(console: Console, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)


@dataclass(frozen=True)
class GoldColumn:
    header: str
    value: Callable[[dict[str, Any]], Any]
    numeric: bool = False


# The few columns of each gold view that answer its question; all of them do not fit 80 columns.
GOLD_COLUMNS: dict[str, tuple[GoldColumn, ...]] = {
    "gold_revenue_by_venue": (
        GoldColumn("venue", lambda r: r["venue_name"] or f"venue {r['venue_id']} (not in venue)"),
        GoldColumn("city", lambda r: r["venue_city"]),
        GoldColumn("tickets", lambda r: r["tickets_sold"], numeric=True),
        GoldColumn("revenue ($)", lambda r: r["total_revenue"], numeric=True),
    ),
    "gold_sales_by_event": (
        GoldColumn("event", lambda r: r["event_name"]),
        GoldColumn("category", lambda r: r["category_name"]),
        GoldColumn("tickets", lambda r: r["tickets_sold"], numeric=True),
        GoldColumn("revenue ($)", lambda r: r["total_revenue"], numeric=True),
    ),
    "gold_user_activity": (
        GoldColumn("customer", lambda r: r["full_name"]),
        GoldColumn("city", lambda r: r["city"]),
        GoldColumn("purchases", lambda r: r["purchases_count"], numeric=True),
        GoldColumn("spent ($)", lambda r: r["total_spent"], numeric=True),
    ),
}


def number(value: Any) -> str:
    """Thousands separated; amounts of money (decimals) with their cents."""
    if value is None:
        return ""
    if isinstance(value, Decimal | float):
        return f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _cell(column: GoldColumn, value: Any) -> str:
    if column.numeric:
        return number(value)
    return "" if value is None else str(value)


def print_gold(console: Console, title: str, view: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Top rows of a gold view, its meaningful columns only, readable in an 80-column terminal."""
    shown = GOLD_COLUMNS.get(view)
    if shown is None:
        print_rows(console, title, columns, rows)
        return
    table = Table(title=title)
    for column in shown:
        # Numbers never wrap or get cut: the text columns give way, wrapping at spaces.
        table.add_column(column.header, justify="right" if column.numeric else "left", no_wrap=column.numeric)
    for row in rows:
        record = dict(zip(columns, row, strict=True))
        table.add_row(*(_cell(column, column.value(record)) for column in shown))
    console.print(table)


def console() -> Console:
    return Console(file=sys.stdout, highlight=False)


def error_console() -> Console:
    """stderr, for errors and notes that must not mix with a command's own output (`tickit dbt ls | …`)."""
    return Console(file=sys.stderr, highlight=False)


def say_error(message: str) -> None:
    """One line on stderr, as written: no markup read into it, never wrapped (a path stays one line)."""
    error_console().print(message, markup=False, highlight=False, soft_wrap=True)


def path_line(label: str, path: Path) -> str:
    return f"{label}: {path}"


def print_load_counts(console: Console, counts: Sequence[LoadCount]) -> None:
    table = Table(title="Raw files loaded")
    for column in ("source", "file", "lines", "loaded", "quarantined"):
        table.add_column(column, justify="left" if column in {"source", "file"} else "right")
    for count in counts:
        held = f"[yellow]{count.quarantined:,}[/yellow]" if count.quarantined else "0"
        table.add_row(count.source, count.file, f"{count.lines:,}", f"{count.loaded:,}", held)
    console.print(table)


def print_test_outcomes(console: Console, outcomes: Sequence[TestOutcome]) -> None:
    problems = [o for o in outcomes if o.is_problem or o.status == "skipped"]
    passed = sum(1 for o in outcomes if o.status == "pass")
    console.print(f"Data tests: {passed} of {len(outcomes)} passed", soft_wrap=True)
    for outcome in problems:
        style = {"warn": "yellow", "fail": "red"}.get(outcome.status, "dim")
        rows = f": {outcome.failures:,} row(s)" if outcome.failures else ""
        where = f" on {outcome.model}" if outcome.model else ""
        console.print(f"  [{style}]{outcome.status}[/{style}] {outcome.name}{where}{rows}", soft_wrap=True)


def print_freshness(console: Console, results: Sequence[Freshness]) -> None:
    for result in results:
        style = {"pass": "green", "warn": "yellow"}.get(result.status, "red")
        age = f", {result.age_days:,.0f} days old" if result.age_days is not None else ""
        console.print(
            f"Source freshness: {result.source} [{style}]{result.status}[/{style}] (newest row {result.newest}{age})",
            soft_wrap=True,
        )


def print_rehearsal(console: Console, result: RehearsalResult) -> None:
    """What the rehearsal's run did, on which worker, what it built, and where every log is."""
    from tickit_platform.deploy.rehearsal.startup import TIMEOUT_SECONDS as STARTUP_LIMIT_SECONDS

    print_tasks(console, result.run, hosts=True)

    def line(text: str) -> None:
        console.print(text, soft_wrap=True, highlight=False)

    hosts = sorted(result.hosts)
    line(f"Workers that ran tasks: {', '.join(hosts) or 'none'}")
    for view, rows in result.gold_rows.items():
        line(f"{result.warehouse_db}.gold.{view}: " + (f"{rows:,} rows" if rows is not None else "not built"))
    line(path_line("Runtime (Python, Airflow, requirements.txt)", result.runtime.venv))
    if result.startup_seconds:
        took = ", ".join(f"{component} {seconds:.0f} s" for component, seconds in result.startup_seconds.items())
        line(
            f"startup.sh: {took} (MWAA allows {STARTUP_LIMIT_SECONDS} s each); dbt came from the bundle's plugins.zip "
            f"with the package index unreachable ({result.unreachable_index})"
        )
    for component, log in result.startup_logs.items():
        line(path_line(f"startup.sh log ({component})", log))
    for name, log in result.component_logs.items():
        line(path_line(f"{name} log", log))
    line(path_line("Task logs", result.logs_dir / f"dag_id={DAG_ID}" / f"run_id={result.run.run_id}"))
    timings = ", ".join(f"{step} {seconds:.0f} s" for step, seconds in result.seconds.items())
    line(f"Times: {timings}")
    if result.run.state == "success" and not result.run.failed:
        console.print(f"[bold green]Rehearsal passed: all {len(result.run.tasks)} tasks succeeded.[/bold green]")
    else:
        console.print(f"[bold red]Rehearsal: the run {result.run.state}[/bold red]")
        print_failures(console, result.run)


def print_warehouse(console: Console, figures: WarehouseFigures) -> None:
    """Rows per layer, then the top rows of each gold view (or why a view is not there)."""
    print_layers(console, figures.layers)
    for top in figures.gold_top:
        if top.error is not None:  # a failed run may have left a view unbuilt; say so and go on
            console.print(f"{top.view}: not available ({top.error})")
            continue
        print_gold(console, f"{top.view} (top 5)", top.view, top.columns, top.rows)


def print_data_quality(console: Console, summary: RunSummary) -> None:
    """The freshness check, rows loaded and quarantined per file, then every data test that warned,
    failed or did not run."""
    print_freshness(console, summary.freshness)
    figures = summary.warehouse
    if figures is None:
        return
    if figures.load_counts:
        raw = summary.location.schemas.raw if summary.location is not None else "raw"
        print_load_counts(console, figures.load_counts)
        held = sum(c.quarantined for c in figures.load_counts)
        if held:
            console.print(
                f"[yellow]{held:,} line(s) quarantined[/yellow]; list them with `tickit quarantine` "
                f"(or query {raw}.quarantine in the warehouse)",
                soft_wrap=True,
            )
    if figures.tests is not None:
        print_test_outcomes(console, figures.tests)
    else:
        console.print(f"Data tests: could not be read ({figures.tests_error})", soft_wrap=True)


def print_summary(console: Console, summary: RunSummary) -> None:
    """The closing summary of a run's data: what the warehouse holds and how the data's checks came out."""
    if summary.unread is not None:
        console.print(f"Warehouse summary skipped: {summary.unread}", soft_wrap=True)
        return
    if summary.warehouse is not None:
        print_warehouse(console, summary.warehouse)
    print_data_quality(console, summary)
