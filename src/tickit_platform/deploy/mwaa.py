"""The MWAA side of a deploy: the environment's bucket and pins, its update, and starting a DAG run.

MWAA installs `requirements.txt` and runs `startup.sh` at an environment update, by the S3 object
version the environment names; `dags/` it syncs continuously by itself. So a push updates the
environment only when the version it pins differs from the one the bucket now serves: after
uploading a new version, and also after an earlier push that uploaded but never got to the update.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tickit_platform.deploy import aws
from tickit_platform.deploy.aws import DeployError

# The bundle file -> the UpdateEnvironment fields that pin it.
PIN_FIELDS = {
    "plugins.zip": ("PluginsS3Path", "PluginsS3ObjectVersion"),
    "requirements.txt": ("RequirementsS3Path", "RequirementsS3ObjectVersion"),
    "startup.sh": ("StartupScriptS3Path", "StartupScriptS3ObjectVersion"),
}


@dataclass(frozen=True)
class Environment:
    name: str
    region: str
    status: str
    bucket: str | None
    dag_s3_path: str
    # The Airflow release the environment runs (GetEnvironment's AirflowVersion); None if not reported.
    airflow_version: str | None
    # bundle file -> (S3 path, object version) the environment installs now; (None, None) if unset.
    pinned: dict[str, tuple[str | None, str | None]]


@dataclass(frozen=True)
class DagRun:
    dag_id: str
    run_id: str
    state: str
    logical_date: str | None


def _environment_error(err: BaseException, name: str, region: str, doing: str, permission: str) -> DeployError:
    known = aws.generic(err, doing)
    if known is not None:
        return known
    code = aws.error_code(err) if isinstance(err, ClientError) else ""
    if code == "ResourceNotFoundException":
        return DeployError(
            f"there is no MWAA environment named {name} in {region}. Check --environment and --region "
            f"(`aws mwaa list-environments --region {region}` lists them)."
        )
    if aws.is_access_denied(err):
        return DeployError(f"not allowed to {doing} ({aws.describe(err)}): the identity needs {permission}.")
    return DeployError(f"{doing} failed: {aws.describe(err)}")


def get_environment(mwaa: Any, name: str) -> Environment:
    region = mwaa.meta.region_name
    try:
        env = mwaa.get_environment(Name=name)["Environment"]
    except (ClientError, BotoCoreError) as err:
        raise _environment_error(err, name, region, f"read MWAA environment {name}", "airflow:GetEnvironment") from None
    arn = env.get("SourceBucketArn") or ""
    pinned = {file: (env.get(path), env.get(version)) for file, (path, version) in PIN_FIELDS.items()}
    return Environment(
        name=name,
        region=region,
        status=env.get("Status", "UNKNOWN"),
        bucket=arn.split(":::", 1)[1] if ":::" in arn else None,
        dag_s3_path=(env.get("DagS3Path") or "").strip("/"),
        airflow_version=env.get("AirflowVersion") or None,
        pinned=pinned,
    )


def check_source(env: Environment, bucket: str, prefix: str) -> None:
    """The push goes where this environment reads: its bucket, and its DAG folder under --prefix."""
    if env.bucket is not None and env.bucket != bucket:
        raise DeployError(
            f"MWAA environment {env.name} reads from bucket {env.bucket}, not {bucket}: pass --bucket {env.bucket}."
        )
    expected = f"{prefix}dags"
    if env.dag_s3_path and env.dag_s3_path != expected:
        folder = env.dag_s3_path.rsplit("/", 1)[0] if "/" in env.dag_s3_path else ""
        hint = f"--prefix {folder}" if env.dag_s3_path.endswith("dags") else "a DAG folder named dags"
        raise DeployError(
            f"MWAA environment {env.name} reads its DAGs from s3://{bucket}/{env.dag_s3_path}, but the bundle's "
            f"go to s3://{bucket}/{expected}: use {hint}."
        )


def target_airflow_version(env: Environment, requested: str | None, default: str) -> str:
    """The Airflow to build requirements.txt for: the environment's; a different --airflow-version is refused."""
    if env.airflow_version is None:
        return requested or default
    if requested is not None and requested != env.airflow_version:
        raise DeployError(
            f"MWAA environment {env.name} runs Airflow {env.airflow_version}, not {requested}: requirements.txt "
            f"must use the constraints of the Airflow it is installed into, or pip tries to change MWAA's own "
            f"Airflow. Drop --airflow-version (the push builds for {env.airflow_version}), or "
            f"{upgrade_hint(env, requested)}"
        )
    return env.airflow_version


def check_bundle_airflow(env: Environment, bundle_dir: str, built_for: str | None) -> None:
    """A bundle built beforehand must name the environment's Airflow in its constraints line."""
    if env.airflow_version is None or built_for == env.airflow_version:
        return
    what = f"was built for Airflow {built_for}" if built_for else "names no Airflow constraints in requirements.txt"
    upgrade = f" To move the environment to Airflow {built_for}: {upgrade_hint(env, built_for)}" if built_for else ""
    raise DeployError(
        f"the bundle in {bundle_dir} {what}, but MWAA environment {env.name} runs Airflow {env.airflow_version}. "
        f"Rebuild it with `tickit deploy build --airflow-version {env.airflow_version}`, or leave out --bundle: "
        f"the push then builds one for the environment.{upgrade}"
    )


def upgrade_hint(env: Environment, target: str) -> str:
    """How to move an environment to another Airflow: MWAA's in-place version change, the bundle's files with it."""
    return (
        f"upgrade it in place first (MWAA's minor version upgrade keeps the metadata database): upload a bundle "
        f"built for {target} (`tickit deploy build --airflow-version {target}`: its dags/ runs on both, and "
        f"plugins.zip, requirements.txt and startup.sh change nothing until an update), then change the version "
        f"and those three files' object versions in one call: `aws mwaa update-environment --name {env.name} "
        f"--airflow-version {target} --plugins-s3-object-version … --requirements-s3-object-version … "
        f'--startup-script-s3-object-version …`; then set Terraform\'s airflow_version = "{target}" and push '
        "as usual. The README's 'Upgrading MWAA's Airflow' has every command."
    )


def pending_pins(env: Environment, prefix: str, versions: dict[str, str | None]) -> dict[str, tuple[str, str | None]]:
    """The pins to change: bundle file -> (S3 path, version; None = the version a real push would create)."""
    wanted = {file: (prefix + file, versions.get(file)) for file in PIN_FIELDS}
    return {file: pin for file, pin in wanted.items() if pin[1] is None or env.pinned.get(file) != pin}


def update_params(name: str, pins: dict[str, tuple[str, str | None]]) -> dict[str, str]:
    params = {"Name": name}
    for file, (path, version) in pins.items():
        if version is None:
            raise ValueError(f"{file} has no S3 object version to pin")
        path_field, version_field = PIN_FIELDS[file]
        params[path_field] = path
        params[version_field] = version
    return params


def update_environment(mwaa: Any, env: Environment, pins: dict[str, tuple[str, str | None]]) -> None:
    try:
        mwaa.update_environment(**update_params(env.name, pins))
    except (ClientError, BotoCoreError) as err:
        if isinstance(err, ClientError) and aws.error_code(err) == "ValidationException":
            raise DeployError(
                f"MWAA did not accept the update of {env.name} ({aws.describe(err)}; status was {env.status}). "
                "Every file is already in the bucket. If the environment is busy (UPDATING, CREATING), wait until "
                "it is AVAILABLE and run `tickit deploy push` again: it then only updates the environment."
            ) from None
        raise _environment_error(
            err, env.name, env.region, f"update MWAA environment {env.name}", "airflow:UpdateEnvironment"
        ) from None


def utc_now() -> datetime:
    return datetime.now(UTC)


def parse_logical_date(text: str | None, now: datetime | None = None) -> str:
    """ISO 8601 in UTC for Airflow's API; a date without a zone is taken as UTC. Default: now."""
    when = now or utc_now()
    if text:
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise DeployError(f"--logical-date {text!r} is not an ISO 8601 date, e.g. 2026-01-31T00:00:00Z") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def trigger_dag_run(mwaa: Any, name: str, dag_id: str, conf: dict[str, Any], logical_date: str) -> DagRun:
    """POST /dags/{dag_id}/dagRuns through MWAA's InvokeRestApi (MWAA adds the API prefix, /api/v2 on Airflow 3).

    Airflow 3's TriggerDAGRunPostBody requires logical_date (it may be null, but then the run has no data
    interval); the run id is left to Airflow (manual__<logical date>).
    """
    region = mwaa.meta.region_name
    path = f"/dags/{dag_id}/dagRuns"
    try:
        answer = mwaa.invoke_rest_api(
            Name=name, Path=path, Method="POST", Body={"logical_date": logical_date, "conf": conf}
        )
    except (ClientError, BotoCoreError) as err:
        if isinstance(err, ClientError) and aws.error_code(err) in ("RestApiClientException", "RestApiServerException"):
            status, body = err.response.get("RestApiStatusCode"), err.response.get("RestApiResponse")
            raise _rest_error(name, dag_id, status, body) from None
        raise _environment_error(
            err, name, region, f"call the Airflow REST API of {name}", "airflow:InvokeRestApi"
        ) from None
    status = answer.get("RestApiStatusCode")
    body = answer.get("RestApiResponse") or {}
    if not isinstance(status, int) or not 200 <= status < 300:
        raise _rest_error(name, dag_id, status, body)
    return DagRun(
        dag_id=body.get("dag_id", dag_id),
        run_id=str(body.get("dag_run_id", "")),
        state=str(body.get("state", "")),
        logical_date=body.get("logical_date"),
    )


def _rest_error(name: str, dag_id: str, status: Any, body: Any) -> DeployError:
    detail = body.get("detail", body) if isinstance(body, dict) else body
    shown = detail if isinstance(detail, str) else json.dumps(detail)
    what = f"Airflow in {name} answered {status} to starting {dag_id}: {shown}."
    if status == 404:
        return DeployError(
            f"{what} The DAG is not there (yet): run `tickit deploy push`, and allow MWAA a minute or two to "
            "parse the DAG file (its import errors show in the Airflow UI)."
        )
    if status == 409:
        return DeployError(f"{what} A run for that logical date exists already: pass another --logical-date.")
    if status in (401, 403):
        return DeployError(
            f"{what} The identity's Airflow role may not trigger DAG runs: allow airflow:InvokeRestApi on "
            f"arn:aws:airflow:<region>:<account>:role/{name}/Op (or User)."
        )
    if isinstance(status, int) and status >= 500:
        return DeployError(f"{what} Check the environment's webserver logs in CloudWatch, then try again.")
    return DeployError(what)
