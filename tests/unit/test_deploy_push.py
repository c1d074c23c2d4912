"""`tickit deploy push` against a real S3 API (moto's server on 127.0.0.1) and a stubbed MWAA client.

boto3 reaches the local S3 through the standard AWS_ENDPOINT_URL_S3 variable, exactly as it would reach
any S3-compatible endpoint. moto has no MWAA, so the MWAA client is botocore's Stubber: every request is
still validated against the real MWAA API model, and the tests assert its exact parameters.
"""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto.server import ThreadedMotoServer
from tests.support import in_process_tickit, shared_wheelhouse

from tickit_platform.data.formats import load_formats
from tickit_platform.deploy import aws
from tickit_platform.deploy.aws import DeployError
from tickit_platform.deploy.bundle import BUNDLE_MANIFEST, build_bundle, write_bundle_manifest
from tickit_platform.deploy.publish import publish
from tickit_platform.deploy.versions import MWAA_DEFAULT_AIRFLOW_VERSION

# Building the bundle (dbt parse, docs, the dbt wheels downloaded once) takes minutes on a loaded machine.
pytestmark = pytest.mark.timeout(400)

REGION = "eu-central-1"
ENV_NAME = "tickit-prod"
MODEL = "dags/dbt_tickit/models/gold/gold_revenue_by_venue.sql"
DAG_FILE = "dags/dbt_tickit_medallion_dag.py"
# The MWAA environment's fields that pin each file push uploads: its S3 path and its object version.
PIN_FIELDS = {
    "plugins.zip": ("PluginsS3Path", "PluginsS3ObjectVersion"),
    "requirements.txt": ("RequirementsS3Path", "RequirementsS3ObjectVersion"),
    "startup.sh": ("StartupScriptS3Path", "StartupScriptS3ObjectVersion"),
}
EVERY_PIN_FIELD = tuple(field for fields in PIN_FIELDS.values() for field in fields)


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("home")
    shared_wheelhouse(home / "deploy" / "cache", tmp_path_factory)
    return home


@pytest.fixture(scope="module")
def built(home: Path) -> Path:
    """A real bundle; its `dbt parse` cache lies where `tickit --home HOME deploy push` looks for it."""
    return build_bundle(home / "built", cache_dir=home / "deploy" / "cache").out_dir


@pytest.fixture
def bundle(built: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "bundle"
    shutil.copytree(built, copy)
    return copy


@pytest.fixture
def aws_env(s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials, the local S3, and nothing from this machine's own AWS setup."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_endpoint)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def s3(aws_env: None) -> Any:
    return aws.client("s3", None)


def new_bucket(s3: Any, *, versioned: bool = True) -> str:
    name = f"tickit-mwaa-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


class Mwaa:
    """A real botocore MWAA client behind a Stubber, plus what UpdateEnvironment was actually sent."""

    def __init__(self) -> None:
        self.client = boto3.session.Session(region_name=REGION).client("mwaa")
        self.stub = Stubber(self.client)
        self.updates: list[dict[str, Any]] = []
        self.client.meta.events.register(
            "provide-client-params.mwaa.UpdateEnvironment", lambda params, **_: self.updates.append(dict(params))
        )
        self.stub.activate()

    def expect_environment(
        self,
        bucket: str,
        pins: dict[str, str] | None = None,
        prefix: str = "",
        airflow_version: str = MWAA_DEFAULT_AIRFLOW_VERSION,
    ) -> None:
        environment: dict[str, Any] = {
            "Name": ENV_NAME,
            "Status": "AVAILABLE",
            "AirflowVersion": airflow_version,
            "SourceBucketArn": f"arn:aws:s3:::{bucket}",
            "DagS3Path": f"{prefix}dags",
        }
        for file, (path_field, version_field) in PIN_FIELDS.items():
            if pins and file in pins:
                environment[path_field] = prefix + file
                environment[version_field] = pins[file]
        self.stub.add_response("get_environment", {"Environment": environment}, {"Name": ENV_NAME})

    def expect_update(self, *fields: str) -> None:
        params = {"Name": ENV_NAME, **{f: ANY for f in fields}}
        self.stub.add_response(
            "update_environment", {"Arn": f"arn:aws:airflow:{REGION}:123456789012:environment/x"}, params
        )


@pytest.fixture
def mwaa() -> Iterator[Mwaa]:
    stubbed = Mwaa()
    yield stubbed
    stubbed.stub.assert_no_pending_responses()


@pytest.fixture
def tickit(
    mwaa: Mwaa, home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str]]:
    """`tickit …` in this process, with the stubbed MWAA client; returns (exit code, stdout, stderr)."""
    real_client = aws.client
    monkeypatch.setattr(
        aws, "client", lambda service, region: mwaa.client if service == "mwaa" else real_client(service, region)
    )
    # botocore's INFO lines ("Found credentials in environment variables") are not the command's output;
    # a handler another test module left on the root logger would otherwise mix them into stderr.
    monkeypatch.setattr(logging.getLogger("botocore"), "level", logging.WARNING)
    return in_process_tickit(capsys, "--home", str(home))


def objects(s3: Any, bucket: str) -> dict[str, bytes]:
    keys = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for o in page.get("Contents", [])
    ]
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


def objects_listed(s3: Any, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def version(s3: Any, bucket: str, key: str) -> str:
    return str(s3.head_object(Bucket=bucket, Key=key)["VersionId"])


def bundle_files(bundle: Path) -> dict[str, bytes]:
    return {p.relative_to(bundle).as_posix(): p.read_bytes() for p in bundle.rglob("*") if p.is_file()}


def lines(out: str, action: str) -> list[str]:
    return [line.split()[-1] for line in out.splitlines() if line.startswith(f"{action} ")]


def first_push(s3: Any, mwaa: Mwaa, bundle: Path) -> tuple[str, dict[str, str]]:
    """A bucket holding the bundle, and the versions the environment then pins."""
    bucket = new_bucket(s3)
    mwaa.expect_environment(bucket)
    mwaa.expect_update(*EVERY_PIN_FIELD)
    publish(s3, mwaa.client, bundle, bucket=bucket, environment=ENV_NAME, say=lambda _: None)
    return bucket, {f: version(s3, bucket, f) for f in ("plugins.zip", "requirements.txt", "startup.sh")}


def test_first_push_builds_uploads_everything_and_pins_both_files(
    s3: Any, mwaa: Mwaa, tickit: Callable[..., tuple[int, str, str]], home: Path, built: Path
) -> None:
    bucket = new_bucket(s3)
    mwaa.expect_environment(bucket)
    mwaa.expect_update(*EVERY_PIN_FIELD)

    code, out, err = tickit("deploy", "push", "--bucket", bucket, "--environment", ENV_NAME)  # no --bundle: builds one

    assert code == 0, err
    pushed = home / "deploy" / "bundle"
    assert f"Bundle built in {pushed}" in out
    assert objects(s3, bucket) == bundle_files(pushed)
    assert sorted(lines(out, "uploaded")) == sorted(bundle_files(pushed))
    assert lines(out, "unchanged") == lines(out, "deleted") == []
    # The order that keeps a half-done push harmless: ignore file first, DAG file after the package,
    # the pinned files after dags/, the manifest last.
    uploaded = lines(out, "uploaded")
    assert uploaded[0] == "dags/.airflowignore"
    assert uploaded.index(DAG_FILE) == max(i for i, key in enumerate(uploaded) if key.startswith("dags/"))
    assert uploaded[-4:] == ["plugins.zip", "requirements.txt", "startup.sh", BUNDLE_MANIFEST]
    assert f"s3://{bucket}/: {len(uploaded)} uploaded, 0 unchanged, 0 deleted" in out
    # S3 keeps each object's SHA-256 (the next push compares it).
    head = s3.head_object(Bucket=bucket, Key=DAG_FILE, ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"]
    # MWAA was updated with exactly the versions the bucket now serves.
    assert mwaa.updates == [
        {
            "Name": ENV_NAME,
            "PluginsS3Path": "plugins.zip",
            "PluginsS3ObjectVersion": version(s3, bucket, "plugins.zip"),
            "RequirementsS3Path": "requirements.txt",
            "RequirementsS3ObjectVersion": version(s3, bucket, "requirements.txt"),
            "StartupScriptS3Path": "startup.sh",
            "StartupScriptS3ObjectVersion": version(s3, bucket, "startup.sh"),
        }
    ]
    assert f"MWAA environment {ENV_NAME}: updating to plugins.zip version" in out
    default = MWAA_DEFAULT_AIRFLOW_VERSION
    assert f"Bundle built in {pushed} ({len(bundle_files(pushed))} files) for Airflow {default}" in out
    assert f"requirements.txt is constrained for Airflow {default} (the environment's)" in out


def test_second_push_uploads_nothing_and_leaves_the_environment_alone(
    s3: Any, mwaa: Mwaa, tickit: Callable[..., tuple[int, str, str]], bundle: Path
) -> None:
    bucket, pins = first_push(s3, mwaa, bundle)
    before = {key: version(s3, bucket, key) for key in objects(s3, bucket)}
    mwaa.expect_environment(bucket, pins)

    code, out, err = tickit("deploy", "push", "--bucket", bucket, "--environment", ENV_NAME, "--bundle", str(bundle))

    assert code == 0, err
    assert lines(out, "uploaded") == [] and lines(out, "deleted") == []
    assert len(lines(out, "unchanged")) == len(bundle_files(bundle))
    assert {key: version(s3, bucket, key) for key in objects(s3, bucket)} == before  # not one new version
    assert mwaa.updates[1:] == []
    assert "unchanged, no update needed" in out


def test_a_changed_file_uploads_only_it_and_a_removed_one_is_deleted(
    s3: Any, mwaa: Mwaa, tickit: Callable[..., tuple[int, str, str]], bundle: Path
) -> None:
    bucket, pins = first_push(s3, mwaa, bundle)
    s3.put_object(Bucket=bucket, Key="dags/", Body=b"")  # the console's folder placeholder
    s3.put_object(Bucket=bucket, Key="notes/runbook.md", Body=b"not ours")  # outside dags/: never touched
    removed = "dags/tickit_runtime/__init__.py"
    removed_version = version(s3, bucket, removed)
    (bundle / removed).unlink()
    (bundle / MODEL).write_text((bundle / MODEL).read_text() + "\n-- changed\n")
    write_bundle_manifest(bundle)
    mwaa.expect_environment(bucket, pins)

    code, out, err = tickit("deploy", "push", "--bucket", bucket, "--environment", ENV_NAME, "--bundle", str(bundle))

    assert code == 0, err
    assert lines(out, "uploaded") == [MODEL, BUNDLE_MANIFEST]  # the manifest lists the new digest
    assert lines(out, "deleted") == [removed]
    stored = objects(s3, bucket)
    assert stored.pop("dags/") == b"" and stored.pop("notes/runbook.md") == b"not ours"
    assert stored == bundle_files(bundle)
    assert stored[MODEL].endswith(b"-- changed\n")
    # A delete marker: the old file can still be restored from its version.
    assert s3.get_object(Bucket=bucket, Key=removed, VersionId=removed_version)["Body"].read()
    assert mwaa.updates[1:] == []  # plugins.zip, requirements.txt and startup.sh did not change
    assert "2 uploaded" in out and "1 deleted" in out


def test_a_new_requirements_txt_is_pinned_by_its_new_version(
    s3: Any, mwaa: Mwaa, tickit: Callable[..., tuple[int, str, str]], bundle: Path
) -> None:
    bucket, pins = first_push(s3, mwaa, bundle)
    with (bundle / "requirements.txt").open("a") as f:
        f.write("# a new pin\n")
    write_bundle_manifest(bundle)
    mwaa.expect_environment(bucket, pins)
    mwaa.expect_update("RequirementsS3Path", "RequirementsS3ObjectVersion")

    code, out, err = tickit("deploy", "push", "--bucket", bucket, "--environment", ENV_NAME, "--bundle", str(bundle))

    assert code == 0, err
    assert lines(out, "uploaded") == ["requirements.txt", BUNDLE_MANIFEST]
    new_version = version(s3, bucket, "requirements.txt")
    assert new_version != pins["requirements.txt"]
    # Only the file that changed is re-pinned; startup.sh keeps its version.
    assert mwaa.updates[1:] == [
        {"Name": ENV_NAME, "RequirementsS3Path": "requirements.txt", "RequirementsS3ObjectVersion": new_version}
    ]


def test_a_failed_upload_midway_leaves_the_bucket_consistent_and_a_rerun_completes_it(
    s3: Any, mwaa: Mwaa, tickit: Callable[..., tuple[int, str, str]], bundle: Path
) -> None:
    bucket, pins = first_push(s3, mwaa, bundle)
    old = objects(s3, bucket)
    early = "dags/dbt_tickit/dbt_project.yml"  # uploads before the denied key
    denied = "dags/dbt_tickit/models/silver/silver_users.sql"
    removed = "dags/tickit_runtime/__init__.py"
    for name in (early, denied, DAG_FILE, "requirements.txt"):
        (bundle / name).write_text((bundle / name).read_text() + "\n# v2\n")
    (bundle / removed).unlink()
    write_bundle_manifest(bundle)
    # A real refusal from S3 itself: the bucket policy denies writing one key in the middle of the upload.
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/{denied}",
            }
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    mwaa.expect_environment(bucket, pins)  # and no UpdateEnvironment: the Stubber fails on any other call

    code, out, err = tickit("deploy", "push", "--bucket", bucket, "--environment", ENV_NAME, "--bundle", str(bundle))

    assert code == 1
    assert err.startswith(f"tickit: S3 refused the upload of s3://{bucket}/{denied}")
    assert "1 of 5 changed file(s) were uploaded before it; nothing was deleted" in err
    assert "Traceback" not in err
    assert lines(out, "uploaded") == [early]
    now = objects(s3, bucket)
    # Every object is whole, old or new; what comes after the failure is the old version, nothing is gone.
    assert now[early] == (bundle / early).read_bytes()
    for key in (denied, DAG_FILE, "requirements.txt", BUNDLE_MANIFEST, removed):
        assert now[key] == old[key], key
    assert {version(s3, bucket, f) for f in ("plugins.zip", "requirements.txt", "startup.sh")} == set(pins.values())
    assert mwaa.updates[1:] == []  # the environment still installs the previous requirements.txt

    s3.delete_bucket_policy(Bucket=bucket)
    mwaa.expect_environment(bucket, pins)
    mwaa.expect_update("RequirementsS3Path", "RequirementsS3ObjectVersion")
    code, out, err = tickit("deploy", "push", "--bucket", bucket, "--environment", ENV_NAME, "--bundle", str(bundle))

    assert code == 0, err
    assert lines(out, "uploaded") == [denied, DAG_FILE, "requirements.txt", BUNDLE_MANIFEST]  # not `early` again
    assert lines(out, "deleted") == [removed]
    assert objects(s3, bucket) == bundle_files(bundle)
    assert mwaa.updates[1:] == [
        {
            "Name": ENV_NAME,
            "RequirementsS3Path": "requirements.txt",
            "RequirementsS3ObjectVersion": version(s3, bucket, "requirements.txt"),
        }
    ]


def test_an_earlier_push_that_never_reached_the_update_is_completed(s3: Any, mwaa: Mwaa, bundle: Path) -> None:
    """The bucket is current but the environment pins older versions: the push updates it, uploading nothing."""
    bucket, pins = first_push(s3, mwaa, bundle)
    mwaa.expect_environment(bucket, {**pins, "requirements.txt": "an-older-version"})
    mwaa.expect_update("RequirementsS3Path", "RequirementsS3ObjectVersion")

    outcome = publish(s3, mwaa.client, bundle, bucket=bucket, environment=ENV_NAME, say=lambda _: None)

    assert outcome.push.count("upload") == 0
    assert mwaa.updates[-1]["RequirementsS3ObjectVersion"] == pins["requirements.txt"]


def test_dry_run_changes_nothing_and_says_what_it_would_do(
    s3: Any, mwaa: Mwaa, tickit: Callable[..., tuple[int, str, str]], bundle: Path
) -> None:
    bucket = new_bucket(s3)
    mwaa.expect_environment(bucket)

    code, out, err = tickit(
        "deploy", "push", "--bucket", bucket, "--environment", ENV_NAME, "--bundle", str(bundle), "--dry-run"
    )

    assert code == 0, err
    assert objects(s3, bucket) == {}
    assert len(lines(out, "would upload")) == len(bundle_files(bundle))
    assert f"MWAA environment {ENV_NAME}: would be updated to plugins.zip version (new), requirements.txt" in out
    assert "dry run: nothing was uploaded, deleted or updated" in out
    assert mwaa.updates == []


def test_a_prefix_puts_the_bundle_in_a_folder(s3: Any, mwaa: Mwaa, bundle: Path) -> None:
    bucket = new_bucket(s3)
    mwaa.expect_environment(bucket, prefix="team/mwaa/")
    mwaa.expect_update(*EVERY_PIN_FIELD)

    publish(s3, mwaa.client, bundle, bucket=bucket, environment=ENV_NAME, prefix="/team/mwaa/", say=lambda _: None)

    assert set(objects(s3, bucket)) == {f"team/mwaa/{name}" for name in bundle_files(bundle)}
    assert mwaa.updates[0]["RequirementsS3Path"] == "team/mwaa/requirements.txt"
    assert mwaa.updates[0]["StartupScriptS3Path"] == "team/mwaa/startup.sh"


def test_an_unversioned_bucket_is_refused_before_any_upload(
    s3: Any, tickit: Callable[..., tuple[int, str, str]], bundle: Path
) -> None:
    bucket = new_bucket(s3, versioned=False)

    code, _, err = tickit("deploy", "push", "--bucket", bucket, "--environment", ENV_NAME, "--bundle", str(bundle))

    assert code == 1
    assert f"tickit: bucket {bucket} is not versioned" in err
    assert f"aws s3api put-bucket-versioning --bucket {bucket} --versioning-configuration Status=Enabled" in err
    assert objects(s3, bucket) == {}


def test_a_missing_bucket_says_so(s3: Any, tickit: Callable[..., tuple[int, str, str]], bundle: Path) -> None:
    code, _, err = tickit(
        "deploy", "push", "--bucket", "tickit-no-such-bucket", "--environment", ENV_NAME, "--bundle", str(bundle)
    )

    assert code == 1
    assert "tickit: bucket tickit-no-such-bucket does not exist. Check --bucket" in err


def test_access_denied_on_the_bucket_names_the_permissions(
    s3: Any, mwaa: Mwaa, tickit: Callable[..., tuple[int, str, str]], bundle: Path
) -> None:
    bucket = new_bucket(s3)
    s3.put_object(Bucket=bucket, Key="startup.sh", Body=b"# an older script\n")
    deny = {
        "Version": "2012-10-17",
        # Every object action, reads included (moto does not map HEAD to s3:GetObject as S3 does).
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": f"arn:aws:s3:::{bucket}/*"}],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(deny))
    mwaa.expect_environment(bucket)

    code, _, err = tickit("deploy", "push", "--bucket", bucket, "--environment", ENV_NAME, "--bundle", str(bundle))

    assert code == 1
    assert f"tickit: access denied to bucket {bucket}" in err
    assert "s3:GetBucketVersioning, s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject" in err
    s3.delete_bucket_policy(Bucket=bucket)
    assert objects(s3, bucket) == {"startup.sh": b"# an older script\n"}  # nothing uploaded


def test_a_refused_deletion_is_reported_and_the_environment_is_not_updated(s3: Any, mwaa: Mwaa, bundle: Path) -> None:
    bucket, pins = first_push(s3, mwaa, bundle)
    s3.put_object(Bucket=bucket, Key="dags/old_dag.py", Body=b"# from an older bundle\n")
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(deny))
    (bundle / "startup.sh").write_text((bundle / "startup.sh").read_text() + "# v2\n")
    write_bundle_manifest(bundle)
    mwaa.expect_environment(bucket, pins)  # no UpdateEnvironment expected

    with pytest.raises(DeployError, match=r"deleting objects the bundle no longer has failed: dags/old_dag\.py"):
        publish(s3, mwaa.client, bundle, bucket=bucket, environment=ENV_NAME, say=lambda _: None)
    assert "dags/old_dag.py" in objects_listed(s3, bucket)
    assert mwaa.updates[1:] == []


def test_without_credentials_it_says_how_to_sign_in(
    s3: Any, tickit: Callable[..., tuple[int, str, str]], bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    code, _, err = tickit(
        "deploy", "push", "--bucket", "tickit-any", "--environment", ENV_NAME, "--bundle", str(bundle)
    )

    assert code == 1
    assert err.startswith("tickit: no AWS credentials found.")
    assert "aws sso login" in err and "Traceback" not in err


def test_an_unknown_environment_stops_before_any_upload(
    s3: Any, mwaa: Mwaa, tickit: Callable[..., tuple[int, str, str]], bundle: Path
) -> None:
    bucket = new_bucket(s3)
    mwaa.stub.add_client_error(
        "get_environment",
        service_error_code="ResourceNotFoundException",
        service_message="Environment tickit-prod not found",
        http_status_code=404,
        expected_params={"Name": ENV_NAME},
    )

    code, _, err = tickit("deploy", "push", "--bucket", bucket, "--environment", ENV_NAME, "--bundle", str(bundle))

    assert code == 1
    assert f"tickit: there is no MWAA environment named {ENV_NAME} in {REGION}" in err
    assert f"aws mwaa list-environments --region {REGION}" in err
    assert objects(s3, bucket) == {}


def test_an_environment_reading_another_bucket_is_refused(s3: Any, mwaa: Mwaa, bundle: Path) -> None:
    bucket = new_bucket(s3)
    mwaa.expect_environment("tickit-other-bucket")

    with pytest.raises(DeployError, match=f"reads from bucket tickit-other-bucket, not {bucket}"):
        publish(s3, mwaa.client, bundle, bucket=bucket, environment=ENV_NAME, say=lambda _: None)
    assert objects(s3, bucket) == {}


def test_a_bundle_edited_after_its_build_is_refused(s3: Any, mwaa: Mwaa, bundle: Path) -> None:
    (bundle / MODEL).write_text("select 1 -- edited after review\n")
    (bundle / "dags" / "stray.py").write_text("")

    with pytest.raises(DeployError, match="does not match its manifest") as refused:
        publish(s3, mwaa.client, bundle, bucket="tickit-any", environment=ENV_NAME, say=lambda _: None)
    assert f"{MODEL} changed since the bundle was built" in str(refused.value)
    assert "dags/stray.py is not in bundle-manifest.txt" in str(refused.value)


def target_line(body: bytes) -> str:
    """The line of requirements.txt naming the Airflow it was built for (it names no constraints: decision 030)."""
    return next(line for line in body.decode().splitlines() if line.startswith("# tickit: built for"))


def test_push_builds_for_the_airflow_the_environment_runs(
    s3: Any, mwaa: Mwaa, tickit: Callable[..., tuple[int, str, str]], home: Path
) -> None:
    bucket = new_bucket(s3)
    mwaa.expect_environment(bucket, airflow_version="3.0.6")  # not the default: read from GetEnvironment

    code, out, err = tickit("deploy", "push", "--bucket", bucket, "--environment", ENV_NAME, "--dry-run")

    assert code == 0, err
    assert f"Bundle built in {home / 'deploy' / 'bundle'} (" in out and "files) for Airflow 3.0.6\n" in out
    assert "requirements.txt is constrained for Airflow 3.0.6 (the environment's)" in out
    built = (home / "deploy" / "bundle" / "requirements.txt").read_bytes()
    assert target_line(built) == "# tickit: built for MWAA's Airflow 3.0.6 on Python 3.12"
    assert objects(s3, bucket) == {}  # a dry run

    # The same environment, really pushed, with the version named explicitly: the bucket serves that file.
    mwaa.expect_environment(bucket, airflow_version="3.0.6")
    mwaa.expect_update(*EVERY_PIN_FIELD)
    code, out, err = tickit(
        "deploy", "push", "--bucket", bucket, "--environment", ENV_NAME, "--airflow-version", "3.0.6"
    )

    assert code == 0, err
    assert "Airflow 3.0.6 on Python 3.12" in target_line(objects(s3, bucket)["requirements.txt"])


def test_an_airflow_version_other_than_the_environments_is_refused_before_building(
    s3: Any, mwaa: Mwaa, tickit: Callable[..., tuple[int, str, str]], home: Path
) -> None:
    bucket = new_bucket(s3)
    mwaa.expect_environment(bucket, airflow_version="3.0.6")
    built = home / "deploy" / "bundle"
    before = {p: p.stat().st_mtime_ns for p in built.rglob("*")} if built.exists() else {}

    code, out, err = tickit(
        "deploy", "push", "--bucket", bucket, "--environment", ENV_NAME, "--airflow-version", "3.1.7"
    )

    assert code == 1
    assert err.startswith(f"tickit: MWAA environment {ENV_NAME} runs Airflow 3.0.6, not 3.1.7:")
    assert "Drop --airflow-version" in err and "Traceback" not in err
    assert "--airflow-version 3.1.7 --plugins-s3-object-version" in err  # how to upgrade instead
    assert "Bundle built" not in out
    assert ({p: p.stat().st_mtime_ns for p in built.rglob("*")} if built.exists() else {}) == before
    assert objects(s3, bucket) == {}
    assert mwaa.updates == []


def test_a_331_bundle_for_a_306_environment_is_refused_saying_how_to_upgrade(
    s3: Any, mwaa: Mwaa, tickit: Callable[..., tuple[int, str, str]], bundle: Path
) -> None:
    bucket = new_bucket(s3)
    mwaa.expect_environment(bucket, airflow_version="3.0.6")  # the bundle fixture was built for 3.3.1

    code, _, err = tickit("deploy", "push", "--bucket", bucket, "--environment", ENV_NAME, "--bundle", str(bundle))

    assert code == 1
    assert MWAA_DEFAULT_AIRFLOW_VERSION == "3.3.1"
    assert err.startswith(f"tickit: the bundle in {bundle} was built for Airflow 3.3.1, but MWAA environment")
    assert "`tickit deploy build --airflow-version 3.0.6`" in err  # stay on 3.0.6
    # or upgrade: MWAA's in-place version change, with the new bundle's three pinned files in the same call.
    assert "upgrade it in place first" in err
    assert f"`aws mwaa update-environment --name {ENV_NAME} --airflow-version 3.3.1 --plugins-s3-object-version" in err
    assert "Traceback" not in err
    assert objects(s3, bucket) == {}
    assert mwaa.updates == []


def test_version_flags_with_a_ready_bundle_or_a_malformed_version_stop_before_any_aws_call(
    s3: Any, tickit: Callable[..., tuple[int, str, str]], bundle: Path
) -> None:
    # The Stubber has no response queued: any MWAA call would fail the test.
    code, _, err = tickit(
        "deploy", "push", "--bucket", "tickit-any", "--environment", ENV_NAME, "--bundle", str(bundle),
        "--airflow-version", "3.0.6",
    )  # fmt: skip
    assert code == 2
    assert "--airflow-version and --python-version apply when push builds the bundle" in err

    code, _, err = tickit(
        "deploy", "push", "--bucket", "tickit-any", "--environment", ENV_NAME, "--airflow-version", "3"
    )
    assert code == 1
    assert err.startswith("tickit: --airflow-version '3' is not an Airflow release like 3.3.1")


def test_the_bundle_carries_a_manifest_per_raw_file_naming_its_exact_key(
    s3: Any, mwaa: Mwaa, tickit: Callable[..., tuple[int, str, str]]
) -> None:
    """Redshift's COPY reads these instead of a prefix, which would also read sales_tab.txt.bak."""
    bucket = new_bucket(s3)
    mwaa.expect_environment(bucket)
    mwaa.expect_update(*EVERY_PIN_FIELD)
    code, out, err = tickit(
        "deploy", "push", "--bucket", bucket, "--environment", ENV_NAME, "--source-uri", "s3://our-data/tickit"
    )
    assert code == 0, err
    pushed = {k: v for k, v in objects(s3, bucket).items() if k.startswith("raw-manifests/")}
    formats = load_formats()
    assert set(pushed) == {f"raw-manifests/{fmt.file}.manifest" for fmt in formats.values()}
    for fmt in formats.values():
        entries = json.loads(pushed[f"raw-manifests/{fmt.file}.manifest"])["entries"]
        assert entries == [{"url": f"s3://our-data/tickit/{fmt.file}", "mandatory": True}]
    # Uploaded before the DAG file that reads them.
    uploaded = lines(out, "uploaded")
    assert max(i for i, key in enumerate(uploaded) if key.startswith("raw-manifests/")) < uploaded.index(DAG_FILE)


def test_a_source_that_is_not_an_s3_folder_is_refused(
    tickit: Callable[..., tuple[int, str, str]], tmp_path: Path
) -> None:
    code, _, err = tickit("deploy", "build", "--out", str(tmp_path / "b"), "--source-uri", "https://example.com/tickit")
    assert code != 0
    assert "--source-uri 'https://example.com/tickit' is not an S3 folder" in err
