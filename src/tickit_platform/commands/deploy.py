"""`tickit deploy`: production on MWAA, from the bundle (build) through a local rehearsal to the push and a run."""

from __future__ import annotations

import argparse
from pathlib import Path

from tickit_platform import console as out
from tickit_platform.commands.helptext import described
from tickit_platform.commands.session import (
    SubCommands,
    data_options,
    data_session,
    postgres_address,
    settings_from,
)
from tickit_platform.deploy.versions import MWAA_DEFAULT_AIRFLOW_VERSION, MWAA_PYTHON_VERSION
from tickit_runtime import envvars
from tickit_runtime.config import DAG_ID
from tickit_runtime.errors import SettingsError


def add_parsers(sub: SubCommands) -> None:
    deploy = sub.add_parser(
        "deploy",
        help="production on MWAA",
        **described(
            "Production runs this DAG on Amazon MWAA against Redshift, in infrastructure that the Terraform in "
            "infra/ creates. These commands build what MWAA needs (the bundle), rehearse it here as MWAA would "
            "run it, upload it to the environment's bucket, and start a run there.",
            ("tickit deploy build", "write the bundle, laid out as MWAA's bucket"),
            ("tickit deploy rehearse --synthetic --scale 0.02", "run that bundle here as MWAA would"),
            ("tickit deploy push --bucket B --environment tickit", "upload what changed, update MWAA"),
            ("tickit deploy trigger --environment tickit", "start a DAG run on MWAA"),
        ),
    ).add_subparsers(dest="deploy", required=True, title="commands", metavar="COMMAND")
    _build_parser(deploy)
    _rehearse_parser(deploy)
    _push_parser(deploy)
    _trigger_parser(deploy)


def _build_parser(deploy: SubCommands) -> None:
    bundle = deploy.add_parser(
        "build",
        help="write the MWAA bucket layout: dags/, requirements.txt, startup.sh",
        **described(
            "Writes what MWAA needs, laid out as its S3 bucket: dags/ (the DAG, the dbt project with its "
            "precompiled manifest, the package, the dbt docs), requirements.txt, startup.sh, plugins.zip (every "
            "wheel the environment installs, pinned by SHA-256, so that no container needs a package index) "
            "and raw-manifests/ (the exact S3 keys Redshift's COPY reads). Built for one MWAA Airflow version; "
            "it says whether the model tasks will wait in the triggerer there, and prints plugins.zip's size.",
            ("tickit deploy build", "for Airflow 3.3.1, into .tickit/deploy/bundle"),
            ("tickit deploy build --airflow-version 3.0.6 --out build/mwaa-3.0.6", "for an older environment"),
        ),
    )
    bundle.add_argument("--out", help=f"folder to write (default {envvars.HOME}/deploy/bundle)")
    bundle.add_argument(
        "--airflow-version",
        default=MWAA_DEFAULT_AIRFLOW_VERSION,
        help=f"the MWAA environment's Airflow, names the constraints file (default {MWAA_DEFAULT_AIRFLOW_VERSION}, "
        "Terraform's default)",
    )
    _python_version_option(bundle)
    _source_uri_option(bundle)
    bundle.set_defaults(func=cmd_deploy_build)


def _rehearse_parser(deploy: SubCommands) -> None:
    rehearse = deploy.add_parser(
        "rehearse",
        help="run the bundle as MWAA would: its Airflow, requirements.txt, startup.sh, Celery workers, PostgreSQL",
        **described(
            "Runs the bundle here the way MWAA would, before anyone deploys it: MWAA's Python 3.12 and Airflow, "
            "requirements.txt installed as MWAA installs it and startup.sh sourced as MWAA sources it, both with "
            "the package index unreachable (their times printed against MWAA's limits), then one DAG run on a "
            "CeleryExecutor with N workers, a triggerer, Redis as the broker and PostgreSQL standing in for "
            "Redshift. Shows the live task states, then each task's state and worker, the gold row counts and "
            "every log. Needs PostgreSQL and Redis on this machine and Python 3.12; the first rehearsal takes "
            "minutes, later ones reuse the cached virtualenvs.",
            ("tickit deploy rehearse --synthetic --scale 0.02", "the bundle for Airflow 3.3.1, built now"),
            ("tickit deploy rehearse --airflow-version 3.0.6 --workers 3", "an older MWAA, three workers"),
            ("tickit deploy rehearse --bundle .tickit/deploy/bundle", "a bundle built before"),
        ),
    )
    rehearse.add_argument("--bundle", help="a folder from `tickit deploy build` (default: build one now)")
    rehearse.add_argument(
        "--airflow-version",
        help=f"MWAA's Airflow to rehearse when building the bundle (default {MWAA_DEFAULT_AIRFLOW_VERSION}; "
        "3.0.6 is supported too)",
    )
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
    data_options(rehearse)
    rehearse.set_defaults(func=cmd_deploy_rehearse)


def _push_parser(deploy: SubCommands) -> None:
    push = deploy.add_parser(
        "push",
        help="upload the bundle to the MWAA bucket (only what changed), then update the environment",
        **described(
            "Uploads the bundle (built now for the Airflow version the environment runs, unless --bundle) to the "
            "environment's versioned S3 bucket: only the files whose SHA-256 changed, deleting what the bundle "
            "dropped from dags/. If plugins.zip, requirements.txt or startup.sh got a new version, it then "
            "updates the MWAA environment to it (10-30 minutes, during which MWAA keeps running). A bundle for "
            "another Airflow than the environment's is refused before anything is uploaded. Uses boto3's usual "
            "credentials and region.",
            ("tickit deploy push --bucket B --environment tickit --dry-run", "what would change"),
            ("tickit deploy push --bucket B --environment tickit --region eu-central-1", "upload and update"),
        ),
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


def _trigger_parser(deploy: SubCommands) -> None:
    trigger = deploy.add_parser(
        "trigger",
        help="start a run of the DAG on MWAA and print its id and state",
        **described(
            "Starts a run of the DAG on an MWAA environment through its Airflow REST API and prints the run's "
            "id and state; watch it in the environment's Airflow UI. Uses boto3's usual credentials and region.",
            ("tickit deploy trigger --environment tickit --region eu-central-1", ""),
            ("tickit deploy trigger --environment tickit --conf '{\"full_refresh\": true}'", "rebuild silver"),
        ),
    )
    trigger.add_argument("--environment", required=True, help="the MWAA environment's name")
    trigger.add_argument("--dag-id", default=DAG_ID, help=f"default {DAG_ID}")
    trigger.add_argument("--conf", type=_json_object, default={}, help="the run's conf, a JSON object")
    trigger.add_argument("--logical-date", help="ISO 8601, UTC unless it says otherwise (default: now)")
    trigger.add_argument("--region", help="AWS region (default: AWS_REGION or the AWS profile's)")
    trigger.set_defaults(func=cmd_deploy_trigger)


def cmd_deploy_build(args: argparse.Namespace) -> int:
    from tickit_platform.deploy.bundle import build_bundle, bundle_summary
    from tickit_runtime.internals import where_model_tasks_wait
    from tickit_runtime.internals.gate import MAKE_VERIFIED

    settings = settings_from(args)
    out_dir = Path(args.out) if args.out else settings.layout.deploy_bundle
    report = build_bundle(
        out_dir,
        airflow_version=args.airflow_version,
        python_version=args.python_version,
        cache_dir=settings.layout.deploy_cache,
        project_dir=settings.dag.project_dir,
        source_uri=args.source_uri,
    )
    pins = report.pins
    print(f"Bundle written to {report.out_dir} ({len(report.files)} files)")
    print(f"constraints: Airflow {pins['apache-airflow']} / Python {pins['python']} (must be the MWAA environment's)")
    for name in ("astronomer-cosmos", "dbt-core", "dbt-redshift"):
        print(f"{name}=={pins[name]}")
    print(f"manifest parsed with target: {report.manifest_target}")
    mwaa_airflow = pins["apache-airflow"]
    print(
        f"On MWAA's Airflow {mwaa_airflow}: {where_model_tasks_wait(make=MAKE_VERIFIED, airflow_version=mwaa_airflow)}"
    )
    for line in bundle_summary(report):
        print(line)
    print(f"review: (cd {report.out_dir} && sha256sum -c bundle-manifest.txt)")
    print(f"next: tickit deploy push --bucket <bucket> --environment <name> --bundle {report.out_dir}")
    return 0


def cmd_deploy_rehearse(args: argparse.Namespace) -> int:
    from tickit_platform.deploy.bundle import build_bundle
    from tickit_platform.deploy.rehearsal.rehearse import RehearsalOptions, rehearse

    settings = settings_from(args)
    console = out.console()

    def say(message: str) -> None:
        console.print(message, soft_wrap=True, markup=False, highlight=False)

    if args.bundle and args.airflow_version:
        raise SettingsError(
            "--airflow-version applies when rehearse builds the bundle; a --bundle keeps the Airflow it was built for"
        )
    if args.bundle:
        bundle_dir = Path(args.bundle).expanduser().resolve()
    else:
        report = build_bundle(
            settings.layout.deploy_bundle,
            airflow_version=args.airflow_version or MWAA_DEFAULT_AIRFLOW_VERSION,
            cache_dir=settings.layout.deploy_cache,
            project_dir=settings.dag.project_dir,
        )
        bundle_dir = report.out_dir
        say(f"Bundle built in {bundle_dir} ({len(report.files)} files) for Airflow {report.pins['apache-airflow']}")
    with data_session(settings, say=say, target="postgres") as session:
        say(f"Data: {session.description} ({session.data_folder}), loaded from local files instead of S3")
        options = RehearsalOptions(
            home=settings.home,
            bundle_dir=bundle_dir,
            raw_dir=session.loaded_raw_dir,
            workers=args.workers,
            keep=args.keep,
            constraints=Path(args.constraints) if args.constraints else None,
            warehouse_db=args.warehouse_db,
            redis_db=args.redis_db,
            # The server the staging check above asked: one address for the check and the build.
            postgres=postgres_address(settings),
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
    settings = settings_from(args)

    def build(airflow_version: str) -> Path:
        report = build_bundle(
            settings.layout.deploy_bundle,
            airflow_version=airflow_version,
            python_version=args.python_version,
            cache_dir=settings.layout.deploy_cache,
            project_dir=settings.dag.project_dir,
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
