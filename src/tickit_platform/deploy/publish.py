"""`tickit deploy push` as one sequence: check everything that can be checked, upload, then update MWAA.

Nothing is written before the bucket (exists, versioned) and the environment (exists, reads from
that bucket and folder, runs the Airflow the bundle's requirements.txt is constrained for) have been
checked, so the common mistakes cost no upload. Without a bundle, one is built for the environment's
own Airflow version (docs/decisions/013-mwaa-airflow-version.md). The environment is
updated only after every upload and deletion succeeded (docs/decisions/006-deploy-push.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tickit_platform.deploy import mwaa
from tickit_platform.deploy.bundle import bundle_airflow_version
from tickit_platform.deploy.push import PushResult, Say, check_bucket, normalize_prefix, push_bundle, read_bundle
from tickit_platform.deploy.versions import MWAA_DEFAULT_AIRFLOW_VERSION

# Writes a bundle for the given Airflow version and returns its folder.
Build = Callable[[str], Path]


@dataclass(frozen=True)
class PublishResult:
    push: PushResult
    environment: mwaa.Environment
    # bundle file -> (S3 path, version) the environment was (or, in a dry run, would be) updated to.
    updated: dict[str, tuple[str, str | None]]
    dry_run: bool
    # The Airflow version the pushed requirements.txt is constrained for (the environment's).
    airflow_version: str


def publish(
    s3: Any,
    mwaa_client: Any,
    bundle_dir: Path | None,
    *,
    bucket: str,
    environment: str,
    prefix: str | None = None,
    airflow_version: str | None = None,
    build: Build | None = None,
    dry_run: bool = False,
    say: Say = print,
) -> PublishResult:
    """Push bundle_dir, or (None) the bundle `build` writes for the environment's Airflow version.

    airflow_version is what the user asked for (--airflow-version); it must be the environment's.
    """
    folder = normalize_prefix(prefix)
    if bundle_dir is not None:
        read_bundle(bundle_dir)  # a bundle that does not match its manifest stops before any AWS call
    check_bucket(s3, bucket)
    env = mwaa.get_environment(mwaa_client, environment)
    mwaa.check_source(env, bucket, folder)
    target = mwaa.target_airflow_version(env, airflow_version, MWAA_DEFAULT_AIRFLOW_VERSION)
    if bundle_dir is None:
        if build is None:
            raise ValueError("publish needs a bundle_dir or a build function")
        bundle_dir = build(target)  # after the checks: a wrong bucket or environment costs no build
    else:
        built_for = bundle_airflow_version(bundle_dir)
        mwaa.check_bundle_airflow(env, str(bundle_dir), built_for[0] if built_for else None)
        target = built_for[0] if built_for else target
    result = push_bundle(s3, bundle_dir, bucket, folder, dry_run=dry_run, say=say)
    pins = mwaa.pending_pins(env, folder, result.versions)
    if pins and not dry_run:
        mwaa.update_environment(mwaa_client, env, pins)
    return PublishResult(result, env, pins, dry_run, target)


def summary(outcome: PublishResult) -> list[str]:
    """The closing lines: counts, then what happens to the environment and how to follow it."""
    push, env = outcome.push, outcome.environment
    verb = ("would upload", "would delete") if outcome.dry_run else ("uploaded", "deleted")
    lines = [
        f"s3://{push.bucket}/{push.prefix}: {push.count('upload')} {verb[0]}, {push.count('unchanged')} unchanged, "
        f"{push.count('delete')} {verb[1]}",
        f"requirements.txt is constrained for Airflow {outcome.airflow_version}"
        + (" (the environment's)" if env.airflow_version == outcome.airflow_version else ""),
    ]
    if outcome.updated:
        pins = ", ".join(f"{file} version {version or '(new)'}" for file, (_, version) in outcome.updated.items())
        if outcome.dry_run:
            lines.append(f"MWAA environment {env.name}: would be updated to {pins}")
        else:
            lines.append(f"MWAA environment {env.name}: updating to {pins}")
            lines.append(
                "  MWAA restarts Airflow for this (typically 20-30 minutes); follow it with "
                f"`aws mwaa get-environment --name {env.name} --region {env.region} --query Environment.Status`"
            )
    else:
        lines.append(
            f"MWAA environment {env.name}: plugins.zip, requirements.txt and startup.sh unchanged, no update needed; "
            "MWAA picks up dags/ by itself within a minute or two"
        )
    if outcome.dry_run:
        lines.append("dry run: nothing was uploaded, deleted or updated")
    return lines
