"""The `tickit` command: wiring only; every behaviour lives in the package's modules."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from tickit_platform.local.airflow import LocalAirflow
    from tickit_platform.local.runner import DagRunResult

from tickit_platform import console as out
from tickit_platform import envvars
from tickit_platform.deploy.versions import MWAA_DEFAULT_AIRFLOW_VERSION, MWAA_PYTHON_VERSION
from tickit_platform.errors import SettingsError, TickitError
from tickit_platform.orchestration.config import DAG_ID, DagConfig
from tickit_platform.settings import Settings

GOLD_VIEWS = ("gold_revenue_by_venue", "gold_sales_by_event", "gold_user_activity")


def _data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", help="a local zip, a folder of the seven files, or a URL of a zip")
    parser.add_argument("--synthetic", action="store_true", help="use synthetic data, skip the download")
    parser.add_argument("--scale", type=float, help="synthetic scale: 1 = the official row counts (default 1)")
    parser.add_argument("--seed", type=int, help="synthetic seed (default 42)")


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env(
        home=Path(args.home) if getattr(args, "home", None) else None,
        target=getattr(args, "target", None),
        scale=getattr(args, "scale", None),
        seed=getattr(args, "seed", None),
        source=getattr(args, "source", None),
        synthetic=True if getattr(args, "synthetic", False) else None,
    )
    # The DAG's settings come from the environment too: a bad one is reported before any work starts.
    DagConfig.from_settings(settings)
    return settings


def cmd_data_fetch(args: argparse.Namespace) -> int:
    from tickit_platform.data.acquire import Dataset
    from tickit_platform.data.fetch import fetch
    from tickit_platform.data.provenance import describe, read_provenance

    settings = _settings(args)
    dest = settings.downloads_dir / ("official" if settings.source is None else "given")
    if settings.source is not None:
        from tickit_platform.data.acquire import acquire

        dataset = acquire(settings)
    else:
        folder = fetch(dest)
        dataset = Dataset(folder, describe(read_provenance(folder)))
    print(f"{dataset.description}: {dataset.folder}")
    return 0


def cmd_data_synth(args: argparse.Namespace) -> int:
    from tickit_platform.data.provenance import describe, read_provenance
    from tickit_platform.data.synth import generate

    settings = _settings(args)
    out_dir = Path(args.out) if args.out else settings.synthetic_dir
    started = time.monotonic()
    folder = generate(out_dir, scale=settings.scale, seed=settings.seed)
    print(f"{describe(read_provenance(folder))}: {folder} ({time.monotonic() - started:.1f} s)")
    return 0


def _dag_config(settings: Settings, raw_dir: Path | None) -> DagConfig:
    return DagConfig.from_settings(settings, raw_dir)


def cmd_run(args: argparse.Namespace) -> int:
    from tickit_platform.data.acquire import acquire
    from tickit_platform.data.postgres_staging import raw_dir_for_target
    from tickit_platform.local.runner import run_dag
    from tickit_platform.reporting.data import record_dataset
    from tickit_platform.reporting.run_record import save_run

    settings = _settings(args)
    _check_warehouse(settings, write=True)
    console = out.console()
    # soft_wrap keeps each message one line (the fallback notice above all), however narrow the output.
    say = lambda message: console.print(message, soft_wrap=True)  # noqa: E731
    dataset = acquire(settings, say=say)
    console.print(f"Data: {dataset.description} ({dataset.folder})", soft_wrap=True)
    record_dataset(settings, dataset.folder)
    with raw_dir_for_target(settings.target, dataset.folder, say=say) as raw_dir:
        config = _dag_config(settings, raw_dir)
        config.layout.freshness.unlink(missing_ok=True)  # the summary must never show an earlier run's check
        console.print(_airflow_line(settings), soft_wrap=True)
        with out.TaskProgress(console) as progress:
            result = run_dag(config, on_change=progress, conf={"full_refresh": bool(args.full_refresh)})
    save_run(settings.runs_dir, result)  # the report's run section reads this record, not Airflow's tables
    _record_history(console, settings, result, dataset.description)
    out.print_tasks(console, result)
    try:  # another program may have opened the warehouse during the run
        _check_warehouse(settings, write=False)
    except TickitError as err:
        console.print(f"Warehouse summary skipped: {err}", soft_wrap=True)
    else:
        _print_warehouse(console, settings)
        _print_data_quality(console, settings)
    console.print(f"Data: {dataset.description}")
    console.print(out.path_line("Warehouse", settings.warehouse_path), soft_wrap=True)
    console.print(out.path_line("Airflow logs", settings.layout.airflow_logs), soft_wrap=True)
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
    # Docs and report also after a failed run: that is when they are read most.
    _write_docs(console, config)
    _write_report(console, settings, dataset.folder)
    return code


def _airflow_line(settings: Settings) -> str:
    from tickit_platform.local.resident import is_up

    if is_up(settings.airflow_home):
        return f"Using the local Airflow `tickit up` started under {settings.airflow_home} (`tickit down` stops it)…"
    return f"Starting a local Airflow under {settings.airflow_home} (scheduler, API server, DAG processor)…"


def _keep_runs(settings: Settings) -> int:
    return DagConfig.from_settings(settings).keep_runs


def _record_history(console: Console, settings: Settings, result: DagRunResult, description: str) -> None:
    """Keep the run's record and data figures beside the artifacts its tasks kept; drop the oldest runs."""
    from tickit_platform.history.runs import record_run
    from tickit_platform.history.snapshot import data_figures

    try:
        figures = data_figures(settings, description)
    except Exception as err:  # another program may hold the warehouse: the run is still kept
        console.print(f"Run history: the data figures were not read ({err})", soft_wrap=True)
        figures = {"description": description, "layers": None, "load_audit": None}
    keep = _keep_runs(settings)
    dropped = record_run(settings.layout, result, figures, keep=keep)
    if dropped:
        console.print(f"Run history: kept the last {keep} runs, dropped {len(dropped)}.")


def _check_warehouse(settings: Settings, *, write: bool) -> None:
    """Before any work: the home takes files and no other program holds the warehouse (local target)."""
    from tickit_platform.warehouse.availability import check_warehouse, check_writable

    if write:
        from tickit_platform.local.airflow import stop_strays

        check_writable(settings.home)
        # An Airflow a killed `tickit` left behind may still hold the warehouse: ours to stop, not to report.
        stop_strays(settings.layout.airflow, lambda line: print(line, file=sys.stderr, flush=True))
    if settings.target == "local":
        check_warehouse(settings.warehouse_path, write=write)


def _write_docs(console: Console, config: DagConfig) -> None:
    from tickit_platform.dbt_project.docs import DbtDocsError, docs_current, generate_docs

    catalog = config.target != "local" or config.warehouse_path.exists()
    if docs_current(config, config.layout.docs, catalog=catalog):
        console.print(out.path_line("dbt docs (unchanged)", config.layout.docs / "index.html"), soft_wrap=True)
        return
    try:
        index = generate_docs(config, config.layout.docs, catalog=catalog)
    except DbtDocsError as err:
        console.print(f"dbt docs: not generated. {err}", soft_wrap=True)
        return
    console.print(out.path_line("dbt docs", index), soft_wrap=True)


def _write_report(console: Console, settings: Settings, data_folder: Path | None) -> None:
    from tickit_platform.reporting.report import write_report

    try:
        files = write_report(settings, data_folder)
    except Exception as err:  # the run's own outcome and exit code matter more than its report
        console.print(f"Report: not written ({type(err).__name__}: {err})", soft_wrap=True)
        return
    console.print(out.path_line("Report", files.html), soft_wrap=True)


def cmd_report(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.run is not None:  # an unknown id is said before anything else
        from tickit_platform.history.runs import find_run

        find_run(settings.layout, args.run)
    _check_warehouse(settings, write=False)  # before importing the charts' libraries: a busy file is said at once
    from tickit_platform.reporting.report import write_report

    files = write_report(settings, run_id=args.run)
    for image in files.images:
        print(out.path_line("Chart", image))
    print(out.path_line("Report", files.html))
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    """The kept runs, newest first: id, start, state, duration, data."""
    from tickit_platform.history.runs import kept_runs

    settings = _settings(args)
    runs = kept_runs(settings.layout)
    if not runs:
        print(f"No runs kept under {settings.runs_dir} yet: `tickit run` keeps each run there.")
        return 0
    keep = _keep_runs(settings)
    out.print_kept_runs(out.console(), runs, keep)
    print(f"Report of one: tickit report --run ID (kept: the last {keep}, {envvars.KEEP_RUNS})")
    return 0


def _print_warehouse(console: Console, settings: Settings) -> None:
    from tickit_platform.warehouse.results import layer_row_counts, top_rows

    if settings.target != "local" or not settings.warehouse_path.exists():
        return
    out.print_layers(console, layer_row_counts(settings.warehouse_path))
    for view in GOLD_VIEWS:
        try:
            columns, rows = top_rows(settings.warehouse_path, view, n=5)
        except Exception as err:  # a failed run may have left a view unbuilt; say so and go on
            console.print(f"{view}: not available ({err})")
            continue
        out.print_gold(console, f"{view} (top 5)", view, columns, rows)


def _print_data_quality(console: Console, settings: Settings) -> None:
    """Rows loaded and quarantined per file, then every data test that warned, failed or did not run."""
    from tickit_platform.warehouse.quality import freshness, load_counts, test_outcomes

    out.print_freshness(console, freshness(settings.layout.freshness))
    if settings.target != "local" or not settings.warehouse_path.exists():
        return
    counts = load_counts(settings.warehouse_path)
    if counts:
        out.print_load_counts(console, counts)
        held = sum(c.quarantined for c in counts)
        if held:
            console.print(
                f"[yellow]{held:,} line(s) quarantined[/yellow]; list them with `tickit quarantine` "
                "(or query raw.quarantine in the warehouse)",
                soft_wrap=True,
            )
    out.print_test_outcomes(console, test_outcomes(settings))


def cmd_quarantine(args: argparse.Namespace) -> int:
    """The raw lines the last load set aside, with their file, line number and reason."""
    from tickit_platform.warehouse.quality import QUARANTINE_QUERY, quarantined_rows

    settings = _settings(args)
    if not settings.warehouse_path.exists():
        print(f"tickit: no warehouse at {settings.warehouse_path}; run `tickit run` first.", file=sys.stderr)
        return 1
    _check_warehouse(settings, write=False)
    columns, rows = quarantined_rows(settings.warehouse_path, source=args.source, limit=args.limit)
    console = out.console()
    if not rows:
        console.print("No quarantined lines: every line of every raw file loaded.")
        return 0
    # Tabs shown as \t: the raw line stays one readable cell, and a delimiter problem is visible.
    shown = [tuple(v.replace("\t", "\\t") if isinstance(v, str) else v for v in row) for row in rows]
    out.print_rows(console, f"Quarantined lines ({len(rows):,} shown)", columns, shown)
    console.print(f"The same in SQL: {QUARANTINE_QUERY}", soft_wrap=True)
    return 0


def _docs_for_ui(config: DagConfig) -> None:
    """The docs the UI serves (Browse > dbt Docs), generated unless they are current."""
    from tickit_platform.dbt_project.docs import docs_current, generate_docs

    catalog = config.target != "local" or config.warehouse_path.exists()
    if not docs_current(config, config.layout.docs, catalog=catalog):
        print("Generating the dbt docs…", flush=True)
        generate_docs(config, config.layout.docs, catalog=catalog)


def cmd_ui(args: argparse.Namespace) -> int:
    from tickit_platform.data.acquire import acquire
    from tickit_platform.data.postgres_staging import raw_dir_for_target
    from tickit_platform.local.runner import started_airflow

    settings = _settings(args)
    _check_warehouse(settings, write=True)
    dataset = acquire(settings)
    _docs_for_ui(_dag_config(settings, dataset.folder))
    # A DAG run triggered from the UI loads the files too: the server must be able to read them meanwhile.
    with (
        raw_dir_for_target(settings.target, dataset.folder) as raw_dir,
        started_airflow(_dag_config(settings, raw_dir)) as (airflow, _api),
    ):
        _print_ui(airflow, dataset.description)
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
    from tickit_platform.data.acquire import acquire
    from tickit_platform.data.postgres_staging import raw_dir_for_target
    from tickit_platform.dbt_project.manifest import ensure_manifest
    from tickit_platform.local.resident import adopt, start_resident
    from tickit_platform.local.runner import local_airflow

    settings = _settings(args)
    _check_warehouse(settings, write=True)
    dataset = acquire(settings)
    _docs_for_ui(_dag_config(settings, dataset.folder))
    with raw_dir_for_target(settings.target, dataset.folder) as raw_dir:
        config = _dag_config(settings, raw_dir)
        ensure_manifest(config)
        airflow = adopt(local_airflow(config), config)
        if airflow is None:
            print(f"Starting a local Airflow under {settings.airflow_home} that keeps running…", flush=True)
            airflow = start_resident(local_airflow(config), config)
    _print_ui(airflow, dataset.description)
    print("It keeps running: `tickit run` and `tickit ui` use it; `tickit down` stops it.")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    from tickit_platform.local.resident import stop_resident

    settings = _settings(args)
    if stop_resident(settings.airflow_home, print):
        print("Stopped the local Airflow `tickit up` started.")
    else:
        print("No local Airflow was kept running here (`tickit up` starts one).")
    return 0


def cmd_dbt(args: argparse.Namespace) -> int:
    """Run dbt against the project with the same environment the DAG's tasks get."""
    import subprocess

    from tickit_platform.data.acquire import acquire
    from tickit_platform.data.postgres_staging import raw_dir_for_target
    from tickit_platform.reporting.data import record_dataset

    settings = _settings(args)
    # dbt's own --target wins over TICKIT_TARGET, so it decides the engine.
    target = _dbt_target(args.dbt_args) or settings.target
    if target == "local":
        _check_warehouse(settings, write=True)
    # Only the load reads the raw files: `tickit dbt parse` or `ls` never wait for a download.
    loads = "load_raw_tables" in args.dbt_args
    folder = None
    if loads:
        folder = acquire(settings).folder
        record_dataset(settings, folder)  # whatever dbt loads comes from here; the report says so
    # Said on stderr: stdout stays dbt's own, for `tickit dbt ls` and the like in a pipe.
    say = lambda line: print(line, file=sys.stderr)  # noqa: E731
    with raw_dir_for_target(target if loads else "local", folder, say=say) as raw_dir:
        config = _dag_config(settings, raw_dir)
        # dbt's target/ and logs/ go under TICKIT_HOME too: a run never writes into the repository.
        env = {
            **os.environ,
            **config.dbt_env(),
            "DBT_TARGET_PATH": str(settings.dbt_target_dir),
            "DBT_LOG_PATH": str(settings.dbt_log_dir),
        }
        config.warehouse_path.parent.mkdir(parents=True, exist_ok=True)  # DuckDB creates the file, not its folder
        cmd = [str(config.dbt_executable), *args.dbt_args, "--project-dir", str(config.project_dir)]
        return subprocess.call(cmd, env=env)


def _dbt_target(dbt_args: Sequence[str]) -> str | None:
    """The value of dbt's own `--target`/`-t` among its arguments, if given."""
    for i, arg in enumerate(dbt_args):
        if arg in {"--target", "-t"} and i + 1 < len(dbt_args):
            return dbt_args[i + 1]
        if arg.startswith("--target="):
            return arg.split("=", 1)[1]
    return None


def cmd_deploy_build(args: argparse.Namespace) -> int:
    from tickit_platform.deploy.bundle import build_bundle

    settings = _settings(args)
    out_dir = Path(args.out) if args.out else settings.layout.deploy_bundle
    report = build_bundle(
        out_dir,
        airflow_version=args.airflow_version,
        python_version=args.python_version,
        cache_dir=settings.layout.deploy_cache,
        source_uri=args.source_uri,
    )
    pins = report.pins
    print(f"Bundle written to {report.out_dir} ({len(report.files)} files)")
    print(f"constraints: Airflow {pins['apache-airflow']} / Python {pins['python']} (must be the MWAA environment's)")
    for name in ("astronomer-cosmos", "dbt-core", "dbt-redshift"):
        print(f"{name}=={pins[name]}")
    print(f"manifest parsed with target: {report.manifest_target}")
    print(f"review: (cd {report.out_dir} && sha256sum -c bundle-manifest.txt)")
    print(f"next: tickit deploy push --bucket <bucket> --environment <name> --bundle {report.out_dir}")
    return 0


def cmd_deploy_rehearse(args: argparse.Namespace) -> int:
    from tickit_platform.data.acquire import acquire
    from tickit_platform.data.postgres_staging import raw_dir_for_target
    from tickit_platform.deploy.bundle import build_bundle
    from tickit_platform.deploy.rehearsal.rehearse import RehearsalOptions, rehearse

    settings = _settings(args)
    console = out.console()

    def say(message: str) -> None:
        console.print(message, soft_wrap=True, markup=False, highlight=False)

    if args.bundle:
        bundle_dir = Path(args.bundle).expanduser().resolve()
    else:
        report = build_bundle(settings.layout.deploy_bundle, cache_dir=settings.layout.deploy_cache)
        bundle_dir = report.out_dir
        say(f"Bundle built in {bundle_dir} ({len(report.files)} files)")
    dataset = acquire(settings, say=say)
    say(f"Data: {dataset.description} ({dataset.folder}), loaded from local files instead of S3")
    with raw_dir_for_target("postgres", dataset.folder, say=say) as raw_dir:
        options = RehearsalOptions(
            home=settings.home,
            bundle_dir=bundle_dir,
            raw_dir=raw_dir or dataset.folder,
            workers=args.workers,
            keep=args.keep,
            constraints=Path(args.constraints) if args.constraints else None,
            warehouse_db=args.warehouse_db,
            redis_db=args.redis_db,
        )
        with out.TaskProgress(console) as progress:
            result = rehearse(options, say, on_change=progress)
    out.print_rehearsal(console, result)
    return 0 if result.run.state == "success" and not result.run.failed else 1


def cmd_deploy_push(args: argparse.Namespace) -> int:
    from tickit_platform.deploy import aws
    from tickit_platform.deploy.bundle import build_bundle, check_airflow_version
    from tickit_platform.deploy.publish import publish, summary

    if args.bundle and (args.airflow_version or args.python_version != MWAA_PYTHON_VERSION):
        raise SettingsError(
            "--airflow-version and --python-version apply when push builds the bundle; a --bundle keeps the "
            "versions it was built with (`tickit deploy build --airflow-version …` to change them)"
        )
    if args.airflow_version:
        check_airflow_version(args.airflow_version)  # a typo is reported before any AWS call
    # Both clients first: a missing region is reported before anything else.
    s3, mwaa = aws.client("s3", args.region), aws.client("mwaa", args.region)
    settings = _settings(args)

    def build(airflow_version: str) -> Path:
        report = build_bundle(
            settings.layout.deploy_bundle,
            airflow_version=airflow_version,
            python_version=args.python_version,
            cache_dir=settings.layout.deploy_cache,
            source_uri=args.source_uri,
        )
        print(f"Bundle built in {report.out_dir} ({len(report.files)} files) for Airflow {airflow_version}")
        return report.out_dir

    outcome = publish(
        s3,
        mwaa,
        Path(args.bundle).expanduser().resolve() if args.bundle else None,
        bucket=args.bucket,
        environment=args.environment,
        prefix=args.prefix,
        airflow_version=args.airflow_version,
        build=build,
        dry_run=args.dry_run,
        say=lambda line: print(line, flush=True),
    )
    for line in summary(outcome):
        print(line)
    return 0


def cmd_deploy_trigger(args: argparse.Namespace) -> int:
    from tickit_platform.deploy import aws
    from tickit_platform.deploy.mwaa import parse_logical_date, trigger_dag_run

    logical_date = parse_logical_date(args.logical_date)
    run = trigger_dag_run(aws.client("mwaa", args.region), args.environment, args.dag_id, args.conf, logical_date)
    print(f"DAG run {run.run_id} of {run.dag_id} in {args.environment}: {run.state}")
    print(f"logical date: {run.logical_date or logical_date}")
    return 0


def _json_object(text: str) -> dict[str, object]:
    import json

    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not JSON ({err}); e.g. --conf '{{\"full_refresh\": true}}'") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object, e.g. --conf '{\"full_refresh\": true}'")
    return value


def _source_uri_option(parser: argparse.ArgumentParser) -> None:
    from tickit_platform.deploy.raw_manifests import DEFAULT_SOURCE_URI

    parser.add_argument(
        "--source-uri",
        default=DEFAULT_SOURCE_URI,
        help=f"the S3 folder of the seven raw files Redshift loads, named key by key in the bundle's raw-manifests/ "
        f"(default {DEFAULT_SOURCE_URI})",
    )


def _python_version_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--python-version",
        default=MWAA_PYTHON_VERSION,
        help=f"the Python of MWAA's Airflow, names the constraints file (default {MWAA_PYTHON_VERSION}, MWAA's for "
        "Airflow 3)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tickit", description=__doc__)
    parser.add_argument("--home", help="where everything is written (default $TICKIT_HOME or ./.tickit)")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="get the data and run the whole DAG under a local Airflow")
    _data_options(run)
    run.add_argument("--target", choices=["local", "postgres"], help="warehouse (default local = DuckDB)")
    run.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild the incremental silver models (sales, listing) from all the data",
    )
    run.set_defaults(func=cmd_run)

    quarantine = sub.add_parser("quarantine", help="list the raw lines the last load quarantined, and why")
    quarantine.add_argument(
        "--source", help="only this raw table (users, venue, category, date, event, listing or sales)"
    )
    quarantine.add_argument("--limit", type=int, help="at most this many lines")
    quarantine.set_defaults(func=cmd_quarantine)

    report = sub.add_parser("report", help="write an HTML report (and PNG charts) of the last run and its warehouse")
    report.add_argument("--target", choices=["local", "postgres"], help="warehouse (default local = DuckDB)")
    report.add_argument("--run", metavar="ID", help="the report of an earlier, kept run (`tickit runs` lists them)")
    report.set_defaults(func=cmd_report)

    runs = sub.add_parser("runs", help="list the kept runs: id, start, state, duration, data")
    runs.set_defaults(func=cmd_runs)

    ui = sub.add_parser("ui", help="start the local Airflow UI with the DAG; Ctrl-C stops it")
    _data_options(ui)
    ui.set_defaults(func=cmd_ui)

    up = sub.add_parser(
        "up", help="start a local Airflow that keeps running, so that `tickit run` and `tickit ui` start at once"
    )
    _data_options(up)
    up.set_defaults(func=cmd_up)
    down = sub.add_parser("down", help="stop the local Airflow `tickit up` started")
    down.set_defaults(func=cmd_down)

    data = sub.add_parser("data", help="get the seven tickit files").add_subparsers(dest="data", required=True)
    fetch = data.add_parser("fetch", help="download (and cache) the official tickitdb.zip, or --source")
    fetch.add_argument("--source", help="a local zip, a folder of the seven files, or a URL of a zip")
    fetch.set_defaults(func=cmd_data_fetch)
    synth = data.add_parser("synth", help="write synthetic files in exactly the official formats")
    synth.add_argument("--scale", type=float, help="1 = the official row counts (default 1)")
    synth.add_argument("--seed", type=int, help="random seed (default 42)")
    synth.add_argument("--out", help="folder to write (default under TICKIT_HOME)")
    synth.set_defaults(func=cmd_data_synth)

    deploy = sub.add_parser("deploy", help="production on MWAA").add_subparsers(dest="deploy", required=True)
    bundle = deploy.add_parser("build", help="write the MWAA bucket layout: dags/, requirements.txt, startup.sh")
    bundle.add_argument("--out", help="folder to write (default TICKIT_HOME/deploy/bundle)")
    bundle.add_argument(
        "--airflow-version",
        default=MWAA_DEFAULT_AIRFLOW_VERSION,
        help=f"the MWAA environment's Airflow, names the constraints file (default {MWAA_DEFAULT_AIRFLOW_VERSION}, "
        "Terraform's default)",
    )
    _python_version_option(bundle)
    _source_uri_option(bundle)
    bundle.set_defaults(func=cmd_deploy_build)
    rehearse = deploy.add_parser(
        "rehearse",
        help="run the bundle as MWAA would: its Airflow, requirements.txt, startup.sh, Celery workers, PostgreSQL",
    )
    rehearse.add_argument("--bundle", help="a folder from `tickit deploy build` (default: build one now)")
    rehearse.add_argument("--workers", type=int, default=2, help="Celery workers, one process group each (default 2)")
    rehearse.add_argument(
        "--keep", action="store_true", help="keep Airflow's metadata database and the Redis broker's keys afterwards"
    )
    rehearse.add_argument(
        "--constraints",
        help="Airflow's constraints file to use instead of the unreachable URL (default: MWAA's copy checked in)",
    )
    rehearse.add_argument(
        "--warehouse-db",
        default="tickit_rehearsal",
        help="PostgreSQL database dbt builds into (default tickit_rehearsal)",
    )
    rehearse.add_argument(
        "--redis-db", type=int, help="Redis db for Celery, kept as is (default: the first empty one, emptied after)"
    )
    _data_options(rehearse)
    rehearse.set_defaults(func=cmd_deploy_rehearse)
    push = deploy.add_parser(
        "push", help="upload the bundle to the MWAA bucket (only what changed), then update the environment"
    )
    push.add_argument("--bucket", required=True, help="the environment's versioned source bucket")
    push.add_argument("--environment", required=True, help="the MWAA environment's name")
    push.add_argument("--bundle", help="a folder from `tickit deploy build` (default: build one now)")
    push.add_argument("--region", help="AWS region (default: AWS_REGION or the AWS profile's)")
    push.add_argument("--prefix", help="bucket folder holding dags/, requirements.txt, startup.sh (default: the root)")
    push.add_argument("--dry-run", action="store_true", help="show what would change; upload and update nothing")
    push.add_argument(
        "--airflow-version",
        help="when building: must equal the environment's Airflow, which is the default (read from MWAA)",
    )
    _python_version_option(push)
    _source_uri_option(push)
    push.set_defaults(func=cmd_deploy_push)
    trigger = deploy.add_parser("trigger", help="start a run of the DAG on MWAA and print its id and state")
    trigger.add_argument("--environment", required=True, help="the MWAA environment's name")
    trigger.add_argument("--dag-id", default=DAG_ID, help=f"default {DAG_ID}")
    trigger.add_argument("--conf", type=_json_object, default={}, help="the run's conf, a JSON object")
    trigger.add_argument("--logical-date", help="ISO 8601, UTC unless it says otherwise (default: now)")
    trigger.add_argument("--region", help="AWS region (default: AWS_REGION or the AWS profile's)")
    trigger.set_defaults(func=cmd_deploy_trigger)

    dbt = sub.add_parser("dbt", help="run dbt on the project with the DAG's environment, e.g. `tickit dbt ls`")
    _data_options(dbt)
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER)
    dbt.set_defaults(func=cmd_dbt)
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
        print(f"tickit: {err}", file=sys.stderr)
        return 2
    except TickitError as err:
        print(f"tickit: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("tickit: interrupted; everything it started was stopped.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
