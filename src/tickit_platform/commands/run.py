"""`tickit run` and what reads what a run left: `tickit report`, `tickit runs`, `tickit quarantine`."""

from __future__ import annotations

import argparse
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from tickit_platform import console as out
from tickit_platform.commands.helptext import described
from tickit_platform.commands.session import (
    SubCommands,
    check_warehouse,
    data_options,
    data_session,
    reading_settings,
    settings_from,
)
from tickit_platform.settings import Settings
from tickit_runtime import envvars
from tickit_runtime.config import DagConfig
from tickit_runtime.errors import TickitError

if TYPE_CHECKING:
    from tickit_platform.history.record import DagRunResult
    from tickit_platform.history.runs import RecordedRun
    from tickit_platform.history.summary import RunSummary

TARGETS = ["local", "postgres"]


def add_parsers(sub: SubCommands) -> None:
    run = sub.add_parser(
        "run",
        help="get the data and run the whole DAG under a local Airflow",
        **described(
            "The main job. Gets the seven tickit files (the official download, cached; synthetic data in the same "
            "formats when the download cannot be reached or with --synthetic), starts a local Airflow (API server, "
            "scheduler, DAG processor, triggerer) on free ports, runs the DAG once and shows every task's state "
            "live. It ends with a summary: each task's state and duration, rows per layer, the gold views' top "
            "rows, the lines loaded and quarantined per file, the data tests that warned or failed, and the "
            "sources' freshness; then it writes the dbt docs and the HTML report, whose path is the last line."
            "\n\n"
            "It exits 1 if a task failed, naming each failed task and its log file. Ctrl-C stops everything it "
            "started. A local Airflow that `tickit up` keeps running is used instead of starting one.",
            ("tickit run", "the official data on DuckDB"),
            ("tickit run --synthetic --scale 0.1 --seed 7", "10% of the official row counts, synthetic"),
            ("tickit run --source ~/Downloads/tickitdb.zip", "a zip (or folder, or URL) you already have"),
            ("tickit run --target postgres", f"the same DAG on PostgreSQL ({envvars.POSTGRES_HOST} etc.)"),
            ("tickit run --full-refresh", "rebuild the incremental silver models from all the data"),
        ),
    )
    data_options(run)
    run.add_argument("--target", choices=TARGETS, help="warehouse (default local = DuckDB)")
    run.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild the incremental silver models (sales, listing) from all the data",
    )
    run.set_defaults(func=cmd_run)

    quarantine = sub.add_parser(
        "quarantine",
        help="list the raw lines the last load quarantined, and why",
        **described(
            "Lists the lines of the raw files that the last load set aside instead of loading: the file, the "
            "line number, the reason (e.g. `qtysold: '12.7' is not a smallint`) and the line as read. Every line "
            "of every file is either loaded or listed here; the same rows are in the warehouse's raw.quarantine "
            "table.",
            ("tickit quarantine", "every quarantined line"),
            ("tickit quarantine --source sales --limit 20", "the first 20 of the sales file"),
        ),
    )
    quarantine.add_argument(
        "--source", help="only this raw table (users, venue, category, date, event, listing or sales)"
    )
    quarantine.add_argument("--limit", type=int, help="at most this many lines")
    quarantine.add_argument("--target", choices=TARGETS, help="warehouse (default: the one the last run used)")
    quarantine.set_defaults(func=cmd_quarantine)

    report = sub.add_parser(
        "report",
        help="write an HTML report (and PNG charts) of the last run and its warehouse",
        **described(
            f"Writes ${envvars.HOME}/reports/report.html, one self-contained page that opens offline: revenue per "
            "venue, sales per event and the top customers from the gold views; the last run's tasks as a "
            "timeline; trends over the kept runs; and where the data came from, rows per layer, quarantined "
            "lines and data-test outcomes. Each chart is also saved as a PNG beside it. Every `tickit run` "
            "writes it at its end; this writes it again, or for an earlier run.",
            ("tickit report", "the last run"),
            ("tickit runs && tickit report --run ID", "an earlier kept run, under reports/runs/ID/"),
        ),
    )
    report.add_argument("--target", choices=TARGETS, help="warehouse (default: the one the last run used)")
    report.add_argument("--run", metavar="ID", help="the report of an earlier, kept run (`tickit runs` lists them)")
    report.set_defaults(func=cmd_report)

    runs = sub.add_parser(
        "runs",
        help="list the kept runs: id, start, state, duration, data",
        **described(
            f"Lists the DAG runs kept under ${envvars.HOME}/runs (the last ${envvars.KEEP_RUNS}, default 20), "
            "newest first, with the id that `tickit report --run ID` takes.",
            ("tickit runs", ""),
        ),
    )
    runs.set_defaults(func=cmd_runs)


def cmd_run(args: argparse.Namespace) -> int:
    clock = PhaseClock()
    settings = settings_from(args)
    check_warehouse(settings, write=True)
    console = out.console()
    # Airflow's components shut down while the warehouse is read and the report written: that ExitStack
    # waits for them only at the end (or on the way out of an error or Ctrl-C).
    with ExitStack() as airflow_stopping:
        ended = _run(args, settings, console, clock, airflow_stopping)
        airflow_stopping.close()
        clock.lap("Airflow stopped")
    console.print(_time_line(clock, ended.result), soft_wrap=True)
    console.print(_resident_line(ended.result), soft_wrap=True)
    console.print(ended.report, soft_wrap=True)  # the report's path stays the last line, as after every command
    return ended.exit_code


@dataclass(frozen=True)
class _Ended:
    """What `tickit run` says last: its exit code, the DAG run and the report's line."""

    exit_code: int
    result: DagRunResult
    report: str


def _run(
    args: argparse.Namespace, settings: Settings, console: Console, clock: PhaseClock, airflow_stopping: ExitStack
) -> _Ended:
    from tickit_platform.history.summary import read_summary, warehouse_location
    from tickit_platform.local.runner import run_dag
    from tickit_runtime.internals import where_model_tasks_wait

    # soft_wrap keeps each message one line (the fallback notice above all), however narrow the output.
    say = lambda message: console.print(message, soft_wrap=True)  # noqa: E731
    with data_session(settings, say=say, record=True) as session:
        console.print(f"Data: {session.description} ({session.data_folder})", soft_wrap=True)
        config = session.config
        config.layout.freshness.unlink(missing_ok=True)  # the summary must never show an earlier run's check
        console.print(_airflow_line(settings), soft_wrap=True)
        clock.lap("data and checks")
        with out.TaskProgress(console) as progress:
            result = run_dag(
                config,
                on_change=progress,
                conf={"full_refresh": bool(args.full_refresh)},
                stop_later=airflow_stopping,
                meanwhile=_import_the_report,
            )
    clock.lap("Airflow and the run")
    # The warehouse the run wrote to (a DuckDB file, a PostgreSQL database) is read once, after the run: the
    # console, the kept run and the report share this.
    location = warehouse_location(settings)
    summary = read_summary(settings, session.description, location)
    recorded = _record_history(console, settings, config, result, summary)
    out.print_tasks(console, result)
    console.print(where_model_tasks_wait(), soft_wrap=True)
    out.print_summary(console, summary)
    console.print(f"Data: {session.description}")
    console.print(f"Warehouse: {location.describe()}", soft_wrap=True)
    console.print(out.path_line("Airflow logs", settings.layout.airflow_logs), soft_wrap=True)
    console.print(_memory_line(result, config), soft_wrap=True)
    if result.failed or result.state != "success":
        console.print(
            f"[bold red]The run {result.state}[/bold red]: "
            f"{len([t for t in result.tasks if t.state == 'failed'])} task(s) failed."
        )
        out.print_failures(console, result)
        code = 1
    else:
        console.print(f"[bold green]All {len(result.tasks)} tasks succeeded.[/bold green]")
        code = 0
    clock.lap("summary")
    # Docs and report also after a failed run: that is when they are read most.
    _write_docs(console, config, recorded.build_manifest)
    clock.lap("docs")
    report = _write_report(settings, summary, session.data_folder, recorded)
    clock.lap("report")
    return _Ended(code, result, report)


class PhaseClock:
    """The command's own seconds, phase by phase (the DAG run is split out of its phase afterwards)."""

    def __init__(self) -> None:
        self.started = self.last = time.monotonic()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.laps[name] = now - self.last
        self.last = now

    @property
    def total(self) -> float:
        return self.last - self.started


def _time_line(clock: PhaseClock, result: DagRunResult) -> str:
    """Where the command's seconds went: the DAG run, and the command's own work around it."""
    laps = dict(clock.laps)
    around = laps.pop("Airflow and the run", 0.0) - result.seconds
    stopped = laps.pop("Airflow stopped", 0.0)  # what was left of its stop once the report was written
    parts = [f"data and checks {laps.pop('data and checks', 0.0):.1f} s"]
    ready = result.airflow_ready_seconds
    if ready is not None:
        parts.append(f"Airflow {'checked' if result.resident_airflow else 'started'} {ready:.1f} s")
        around -= ready
    parts.append(f"DAG run {result.seconds:.1f} s")
    if around > 0.05:
        parts.append(f"after it {around:.1f} s")
    parts += [f"{name} {seconds:.1f} s" for name, seconds in laps.items()]
    if not result.resident_airflow:
        parts.append(f"Airflow stopped {stopped:.1f} s more")
    return f"Time: {clock.total:.1f} s in all ({', '.join(parts)})."


def _resident_line(result: DagRunResult) -> str:
    """Said either way, at the end of every run: whether Airflow is still running (decision 036)."""
    if result.resident_airflow:
        return "Airflow is still running (`tickit up`): the next `tickit run` starts at once. `tickit down` stops it."
    started = f" ({result.airflow_ready_seconds:.0f} s to start)" if result.airflow_ready_seconds is not None else ""
    return (
        f"Airflow was started for this run and is stopped now{started}. "
        "`tickit up` keeps one running, so that the next runs skip its start; `tickit down` stops it."
    )


def _memory_line(result: DagRunResult, config: DagConfig) -> str:
    """The run's peak memory, and the bound DuckDB worked under (docs/decisions/036)."""
    peak = "not measured" if result.peak_memory_mib is None else f"{result.peak_memory_mib:,.0f} MiB"
    line = f"Peak memory of the run: {peak} (tickit, Airflow's components and their tasks, dbt)"
    if config.target == "local":
        line += (
            f"; DuckDB limited to {config.duckdb_memory_limit} and {config.duckdb_threads} thread(s), spilling to "
            f"{config.layout.duckdb_temp} ({envvars.DUCKDB_MEMORY_LIMIT}, {envvars.DUCKDB_THREADS})"
        )
    return line


def _airflow_line(settings: Settings) -> str:
    from tickit_platform.local.resident import is_up

    if is_up(settings.airflow_home):
        return f"Using the local Airflow `tickit up` started under {settings.airflow_home} (`tickit down` stops it)…"
    return f"Starting a local Airflow under {settings.airflow_home} (scheduler, API server, DAG processor)…"


def _record_history(
    console: Console, settings: Settings, config: DagConfig, result: DagRunResult, summary: RunSummary
) -> RecordedRun:
    """Keep the run's record and data figures beside the artifacts its tasks kept; drop the oldest runs."""
    from tickit_platform.history.runs import as_recorded, record_run

    figures = summary.data_figures()
    dropped = record_run(settings.runs_dir, result, figures, keep=config.keep_runs)
    if dropped:
        console.print(f"Run history: kept the last {config.keep_runs} runs, dropped {len(dropped)}.")
    return as_recorded(settings.runs_dir, result, figures)


def _write_docs(console: Console, config: DagConfig, compiled: Path) -> None:
    """The docs of the warehouse the run left, with the SQL its build compiled (compiled: its manifest)."""
    from tickit_platform.dbt_project.docs import DbtDocsError, refresh_docs

    try:
        index, generated = refresh_docs(config, compiled=compiled)
    except DbtDocsError as err:
        console.print(f"dbt docs: not generated. {err}", soft_wrap=True)
        return
    console.print(out.path_line("dbt docs" if generated else "dbt docs (unchanged)", index), soft_wrap=True)


def _import_the_report() -> None:
    """matplotlib and the report's modules take 1 to 2 s to import: done while the DAG runs (runner.run_dag)."""
    import tickit_platform.reporting.report  # noqa: F401


def _write_report(settings: Settings, summary: RunSummary, data_folder: Path | None, recorded: RecordedRun) -> str:
    """The report written; the line that says where (or why not)."""
    from tickit_platform.reporting.report import write_report

    try:
        files = write_report(settings, summary, data_folder, latest=recorded)
    except (TickitError, OSError) as err:  # the run's own outcome and exit code matter more than its report
        return f"Report: not written ({type(err).__name__}: {err})"
    return out.path_line("Report", files.html)


def cmd_report(args: argparse.Namespace) -> int:
    settings = reading_settings(args)
    if args.run is not None:  # an unknown id is said before anything else
        from tickit_platform.history.runs import find_run

        find_run(settings.runs_dir, args.run)
    check_warehouse(settings, write=False)  # before importing the charts' libraries: a busy file is said at once
    from tickit_platform.history.summary import read_summary
    from tickit_platform.reporting.report import write_report

    files = write_report(settings, read_summary(settings), run_id=args.run)
    for image in files.images:
        print(out.path_line("Chart", image))
    print(out.path_line("Report", files.html))
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    """The kept runs, newest first: id, start, state, duration, data."""
    from tickit_platform.history.runs import kept_runs

    settings = settings_from(args)
    runs = kept_runs(settings.runs_dir)
    if not runs:
        print(f"No runs kept under {settings.runs_dir} yet: `tickit run` keeps each run there.")
        return 0
    keep = settings.dag.keep_runs
    out.print_kept_runs(out.console(), runs, keep)
    print(f"Report of one: tickit report --run ID (kept: the last {keep}, {envvars.KEEP_RUNS})")
    return 0


def cmd_quarantine(args: argparse.Namespace) -> int:
    """The raw lines the last load set aside, with their file, line number and reason."""
    from tickit_platform.history.summary import warehouse_location
    from tickit_platform.warehouse.availability import WarehouseUnavailableError
    from tickit_platform.warehouse.connection import open_warehouse
    from tickit_platform.warehouse.quality import has_quarantine, quarantine_query, quarantined_rows

    settings = reading_settings(args)
    location = warehouse_location(settings)
    if not location.exists():
        raise WarehouseUnavailableError(f"no warehouse at {location.describe()}; run `tickit run` first.")
    check_warehouse(settings, write=False)
    with open_warehouse(location) as reader:
        if not has_quarantine(reader):
            raise WarehouseUnavailableError(
                f"no quarantine in the warehouse ({location.describe()}): nothing was loaded there yet; "
                "run `tickit run` first."
            )
        columns, rows = quarantined_rows(reader, source=args.source, limit=args.limit)
    console = out.console()
    console.print(f"Warehouse: {location.describe()}", soft_wrap=True)
    if not rows:
        console.print("No quarantined lines: every line of every raw file loaded.")
        return 0
    # Tabs shown as \t: the raw line stays one readable cell, and a delimiter problem is visible.
    shown = [tuple(v.replace("\t", "\\t") if isinstance(v, str) else v for v in row) for row in rows]
    out.print_rows(console, f"Quarantined lines ({len(rows):,} shown)", columns, shown)
    console.print(f"The same in SQL: {quarantine_query(location.schemas.raw)}", soft_wrap=True)
    return 0
