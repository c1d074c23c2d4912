"""Upload a bundle to the MWAA environment's S3 bucket: only what changed, in an order that keeps it usable.

What changed is decided by SHA-256: each file's digest from `bundle-manifest.txt` against the
`ChecksumSHA256` S3 keeps for the object (docs/decisions/006-deploy-push.md). Every upload sends
that digest, so S3 itself rejects a body that does not match it, and the next push can compare it.

The order, and why (a push that fails midway leaves the bucket as this describes, see decision 006):

1. `dags/.airflowignore` first: the DAG processor must never meet the package's modules unignored.
2. The rest of `dags/` (the package, the dbt project and its manifest), the DAG file last of them,
   so the DAG file never imports a module that is not there yet.
3. `plugins.zip`, `requirements.txt`, then `startup.sh`: MWAA reads them only at an environment update,
   by object version, so new versions change nothing until `tickit deploy push` updates the environment.
4. `bundle-manifest.txt` last: the bucket's copy always describes the last *complete* upload.
5. Only then are objects under `dags/` that the bundle no longer has deleted (delete markers: the
   bucket is versioned, so they can be restored).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tickit_platform.deploy import aws
from tickit_platform.deploy.aws import DeployError
from tickit_platform.deploy.bundle import BUNDLE_MANIFEST

DAG_FILE = "dags/dbt_tickit_medallion_dag.py"
AIRFLOWIGNORE = "dags/.airflowignore"
PINNED = ("plugins.zip", "requirements.txt", "startup.sh")  # what MWAA installs by object version
HEAD_THREADS = 8

Say = Callable[[str], None]


@dataclass(frozen=True)
class LocalFile:
    name: str  # relative POSIX path inside the bundle
    path: Path
    sha256: str  # hex, as in bundle-manifest.txt

    @property
    def checksum(self) -> str:
        """The digest as S3 spells ChecksumSHA256: base64 of the raw 32 bytes."""
        return base64.b64encode(bytes.fromhex(self.sha256)).decode()


@dataclass(frozen=True)
class Remote:
    key: str
    version_id: str | None
    checksum: str | None


@dataclass(frozen=True)
class Action:
    key: str
    action: str  # "upload", "unchanged" or "delete"


@dataclass
class PushResult:
    bucket: str
    prefix: str
    actions: list[Action] = field(default_factory=list)
    # The version of requirements.txt and startup.sh the bucket serves after the push (None: not yet
    # uploaded, in a dry run).
    versions: dict[str, str | None] = field(default_factory=dict)

    def count(self, action: str) -> int:
        return sum(1 for a in self.actions if a.action == action)


def normalize_prefix(prefix: str | None) -> str:
    """'' or 'some/folder/': where in the bucket the bundle's root goes."""
    cleaned = (prefix or "").strip().strip("/")
    if cleaned and any(part in ("", ".", "..") for part in cleaned.split("/")):
        raise DeployError(f"--prefix {prefix!r} is not a folder path like 'mwaa' or 'team/mwaa'")
    return f"{cleaned}/" if cleaned else ""


def read_bundle(bundle_dir: Path) -> list[LocalFile]:
    """The bundle's files, checked against its manifest: what was reviewed is what gets uploaded."""
    manifest = bundle_dir / BUNDLE_MANIFEST
    if not manifest.is_file():
        raise DeployError(
            f"{bundle_dir} holds no {BUNDLE_MANIFEST}, so it is not a bundle: "
            "run `tickit deploy build --out DIR` and pass that folder, or leave out --bundle."
        )
    listed: dict[str, str] = {}
    for line in manifest.read_text().splitlines():
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or not name:
            raise DeployError(f"{manifest} has a malformed line {line!r}: rebuild the bundle")
        listed[name] = digest
    on_disk = sorted(p.relative_to(bundle_dir).as_posix() for p in bundle_dir.rglob("*") if p.is_file())
    extra = [f for f in on_disk if f not in listed and f != BUNDLE_MANIFEST]
    missing = [f for f in listed if not (bundle_dir / f).is_file()]
    changed = [f for f, digest in listed.items() if f not in missing and _sha256(bundle_dir / f) != digest]
    problems = [
        *(f"{f} is not in {BUNDLE_MANIFEST}" for f in extra),
        *(f"{f} is missing" for f in missing),
        *(f"{f} changed since the bundle was built" for f in changed),
    ]
    if problems:
        shown = "; ".join(problems[:5]) + ("; …" if len(problems) > 5 else "")
        raise DeployError(f"the bundle in {bundle_dir} does not match its manifest ({shown}). Rebuild it.")
    files = [LocalFile(name, bundle_dir / name, digest) for name, digest in listed.items()]
    files.append(LocalFile(BUNDLE_MANIFEST, manifest, _sha256(manifest)))
    return sorted(files, key=lambda f: _upload_rank(f.name))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _upload_rank(name: str) -> tuple[int, str]:
    if name == AIRFLOWIGNORE:
        return (0, name)
    if name == DAG_FILE:
        return (2, name)
    if name.startswith(("dags/", "raw-manifests/")):  # the manifests before the DAG that reads them
        return (1, name)
    if name in PINNED:
        return (3 + PINNED.index(name), name)
    if name == BUNDLE_MANIFEST:
        return (9, name)
    return (8, name)  # nothing else is in a bundle today; after the pinned files, before the manifest


def check_bucket(s3: Any, bucket: str) -> None:
    """The bucket exists, can be read, and is versioned (MWAA pins requirements.txt by version)."""
    try:
        status = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    except (ClientError, BotoCoreError) as err:
        raise _bucket_error(err, bucket) from None
    if status != "Enabled":
        raise DeployError(
            f"bucket {bucket} is not versioned (versioning: {status or 'never enabled'}). MWAA installs "
            "requirements.txt and startup.sh by S3 object version, so its bucket must be versioned: "
            f"`aws s3api put-bucket-versioning --bucket {bucket} --versioning-configuration Status=Enabled`, "
            "then run the push again."
        )


def _bucket_error(err: BaseException, bucket: str) -> DeployError:
    known = aws.generic(err, f"reading bucket {bucket}")
    if known is not None:
        return known
    if isinstance(err, ClientError) and aws.error_code(err) in ("NoSuchBucket", "NotFound"):
        return DeployError(
            f"bucket {bucket} does not exist. Check --bucket (the MWAA environment's source bucket, "
            "`aws mwaa get-environment --name E --query Environment.SourceBucketArn`) and --region."
        )
    if aws.is_access_denied(err):
        return DeployError(
            f"access denied to bucket {bucket} ({aws.describe(err)}). The identity running the push needs "
            "s3:GetBucketVersioning, s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject on it."
        )
    return DeployError(f"reading bucket {bucket} failed: {aws.describe(err)}")


def _remote_state(s3: Any, bucket: str, prefix: str, files: Sequence[LocalFile]) -> tuple[dict[str, Remote], list[str]]:
    """What the bucket holds for the bundle's keys (with checksums), and every key under prefix+dags/."""
    try:
        listed: list[str] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            listed.extend(obj["Key"] for obj in page.get("Contents", []))
        existing = set(listed)
        wanted = [prefix + f.name for f in files if prefix + f.name in existing]
        with ThreadPoolExecutor(max_workers=HEAD_THREADS) as pool:
            heads = list(pool.map(lambda key: _head(s3, bucket, key), wanted))
    except (ClientError, BotoCoreError) as err:
        raise _bucket_error(err, bucket) from None
    dags = [key for key in listed if key.startswith(prefix + "dags/")]
    return {h.key: h for h in heads}, dags


def _head(s3: Any, bucket: str, key: str) -> Remote:
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    return Remote(key, head.get("VersionId"), head.get("ChecksumSHA256"))


def push_bundle(s3: Any, bundle_dir: Path, bucket: str, prefix: str, *, dry_run: bool, say: Say) -> PushResult:
    """Upload what differs, then delete what the bundle dropped from dags/; one line per file through say."""
    files = read_bundle(bundle_dir)
    remote, remote_dags = _remote_state(s3, bucket, prefix, files)
    result = PushResult(bucket, prefix)
    to_upload = [f for f in files if (r := remote.get(prefix + f.name)) is None or r.checksum != f.checksum]
    bundle_keys = {prefix + f.name for f in files}
    # Folder placeholders ("dags/", made by the S3 console) are not files; MWAA wants dags/ to exist.
    to_delete = sorted(k for k in remote_dags if k not in bundle_keys and not k.endswith("/"))

    uploaded = 0
    for f in files:
        key = prefix + f.name
        if f not in to_upload:
            result.actions.append(Action(key, "unchanged"))
            if f.name in PINNED:
                result.versions[f.name] = remote[key].version_id
            say(f"unchanged     {key}")
            continue
        if dry_run:
            result.actions.append(Action(key, "upload"))
            result.versions[f.name] = None
            say(f"would upload  {key}")
            continue
        try:
            answer = s3.put_object(
                Bucket=bucket, Key=key, Body=f.path.read_bytes(), ChecksumAlgorithm="SHA256", ChecksumSHA256=f.checksum
            )
        except (ClientError, BotoCoreError) as err:
            raise _upload_error(err, bucket, key, uploaded, len(to_upload)) from None
        uploaded += 1
        result.actions.append(Action(key, "upload"))
        if f.name in PINNED:
            result.versions[f.name] = answer.get("VersionId")
        say(f"uploaded      {key}")

    for key in to_delete:
        result.actions.append(Action(key, "delete"))
    if to_delete and not dry_run:
        _delete(s3, bucket, to_delete)
    for key in to_delete:
        say(f"{'would delete' if dry_run else 'deleted':<13} {key}")
    return result


def _upload_error(err: BaseException, bucket: str, key: str, done: int, total: int) -> DeployError:
    state = (
        f"{done} of {total} changed file(s) were uploaded before it; nothing was deleted and the MWAA "
        "environment was not updated (it keeps the requirements.txt and startup.sh versions it had). "
        "Run `tickit deploy push` again once fixed: it uploads only what still differs."
    )
    known = aws.generic(err, f"uploading s3://{bucket}/{key}")
    if known is not None:
        return DeployError(f"{known} {state}")
    if aws.is_access_denied(err):
        return DeployError(
            f"S3 refused the upload of s3://{bucket}/{key} ({aws.describe(err)}): the identity needs "
            f"s3:PutObject on it (check the bucket policy too). {state}"
        )
    return DeployError(f"uploading s3://{bucket}/{key} failed ({aws.describe(err)}). {state}")


def _delete(s3: Any, bucket: str, keys: Sequence[str]) -> None:
    failed: list[str] = []
    try:
        for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1,000 keys
            batch = [{"Key": k} for k in keys[start : start + 1000]]
            answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
            failed += [f"{e['Key']} ({e.get('Code')})" for e in answer.get("Errors", [])]
    except (ClientError, BotoCoreError) as err:
        failed.append(aws.describe(err))
    if failed:
        raise DeployError(
            f"every file was uploaded, but deleting objects the bundle no longer has failed: {'; '.join(failed[:5])}. "
            "The MWAA environment was not updated. Grant s3:DeleteObject and run `tickit deploy push` again."
        )
