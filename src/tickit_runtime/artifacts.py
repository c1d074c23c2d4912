"""Run history: every DAG run keeps its dbt artifacts in a folder of its own, and only the last N runs stay.

The producer's one `dbt build` and the freshness check run dbt in a temporary copy of the project that
Cosmos deletes afterwards; Cosmos calls an operator's `callback` with that copy's path first (after a
failed build too), which is when `keep_artifacts` copies dbt's files out:

    <location>/<run_id>/dbt/run_results.json, manifest.json   (the shared build)
    <location>/<run_id>/dbt/sources.json                      (the freshness check)

`location` is a folder (locally `$TICKIT_HOME/runs`) or `s3://bucket/prefix` (on MWAA the environment's
own bucket, `runs/`; Terraform passes it as the Airflow option [tickit] runs_uri). After each copy the
oldest run folders beyond `keep` are deleted, so the history stays bounded whoever triggered the runs.
This module ships to MWAA with the DAG: it needs boto3 for S3 (Airflow's Amazon provider brings it) and
nothing from the rest of the package.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

DEFAULT_KEEP_RUNS = 20
ARTIFACTS_DIR = "dbt"  # inside a run's folder: what dbt wrote
BUILD_FILES = ("run_results.json", "manifest.json")
SOURCES_FILE = "sources.json"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HistoryConfig:
    """Where run folders go and how many stay (`DagConfig.history`), handed to the callback."""

    location: str
    keep: int = DEFAULT_KEEP_RUNS

    def callback_args(self, files: Mapping[str, str]) -> dict[str, Any]:
        """Cosmos' `callback_args` for an operator whose dbt writes `files` (name -> path in the project)."""
        return {"location": self.location, "keep": self.keep, "files": dict(files)}


@dataclass(frozen=True)
class KeptRun:
    run_id: str
    first_kept: datetime  # when the run's first file was kept: runs are ordered by it


class RunStore(Protocol):
    def put(self, run_id: str, name: str, source: Path) -> str: ...
    def runs(self) -> list[KeptRun]: ...  # oldest first
    def delete(self, run_id: str) -> None: ...


class FolderStore:
    """Run folders under a local folder (files there that are not folders, like last_run.json, stay)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put(self, run_id: str, name: str, source: Path) -> str:
        dest = self.root / run_id / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(f".{dest.name}.part")
        shutil.copyfile(source, part)  # copyfile, not copy2: the file's time says when it was kept
        os.replace(part, dest)
        return str(dest)

    def runs(self) -> list[KeptRun]:
        if not self.root.is_dir():
            return []
        kept = []
        for folder in self.root.iterdir():
            if not folder.is_dir() or folder.name.startswith("."):
                continue
            times = [p.stat().st_mtime for p in folder.rglob("*") if p.is_file()]
            if times:
                kept.append(KeptRun(folder.name, datetime.fromtimestamp(min(times), UTC)))
        return sorted(kept, key=lambda r: (r.first_kept, r.run_id))

    def delete(self, run_id: str) -> None:
        shutil.rmtree(self.root / run_id, ignore_errors=True)


class S3Store:
    """Run folders as key prefixes in a bucket; the order is each prefix's oldest LastModified."""

    def __init__(self, uri: str, client: Any = None) -> None:
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        self.bucket, self.prefix = bucket, prefix.strip("/")
        if client is None:
            import boto3

            client = boto3.client("s3")
        self.client = client

    def _key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def put(self, run_id: str, name: str, source: Path) -> str:
        key = self._key(run_id, name)
        self.client.upload_file(str(source), self.bucket, key)
        return f"s3://{self.bucket}/{key}"

    def _objects(self, prefix: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            found.extend(page.get("Contents", []))
        return found

    def runs(self) -> list[KeptRun]:
        base = self._key("") + "/" if self.prefix else ""
        first: dict[str, datetime] = {}
        for obj in self._objects(base):
            run_id, slash, _ = obj["Key"][len(base) :].partition("/")
            if slash and run_id:
                first[run_id] = min(first.get(run_id, obj["LastModified"]), obj["LastModified"])
        return sorted((KeptRun(r, t) for r, t in first.items()), key=lambda r: (r.first_kept, r.run_id))

    def delete(self, run_id: str) -> None:
        keys = [{"Key": o["Key"]} for o in self._objects(self._key(run_id) + "/")]
        for start in range(0, len(keys), 1000):  # S3 deletes at most 1000 keys per request
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys[start : start + 1000]})


def store_for(location: str) -> RunStore:
    return S3Store(location) if location.startswith("s3://") else FolderStore(Path(location))


def prune(store: RunStore, keep: int) -> list[str]:
    """Delete all but the newest `keep` runs; the ids deleted, oldest first."""
    runs = store.runs()
    old = [r.run_id for r in runs[: max(len(runs) - keep, 0)]]
    for run_id in old:
        store.delete(run_id)
    return old


def keep_artifacts(
    project_dir: str,
    *,
    location: str,
    keep: int,
    files: Mapping[str, str],
    context: Mapping[str, Any],
    store: RunStore | None = None,
    **_: Any,
) -> list[str]:
    """Cosmos callback: copy dbt's files of this run into its folder, then prune; what it kept.

    Never fails the task: the history is a record of the run, not part of it. A failure is logged (on
    MWAA most likely the execution role lacking s3:PutObject under the prefix).
    """
    run_id = str(context["run_id"])
    kept = []
    try:
        store = store or store_for(location)
        for name, relative in files.items():
            source = Path(project_dir) / relative  # an absolute `relative` wins: pathlib's rule
            if source.is_file():
                kept.append(store.put(run_id, f"{ARTIFACTS_DIR}/{name}", source))
            else:
                log.warning("Run history: dbt wrote no %s for run %s (looked at %s)", name, run_id, source)
        dropped = prune(store, keep)
    except Exception:
        log.exception("Run history: could not keep the artifacts of run %s under %s", run_id, location)
        return kept
    log.info("Run history: kept %s; dropped the runs %s (keeping %d)", kept, dropped, keep)
    return kept


def attach(
    dag: Any, *, producer_task_id: str, freshness_task_id: str, sources_json: str, history: HistoryConfig
) -> None:
    """Make the shared build and the freshness check keep their artifacts (Cosmos' operator `callback`).

    Set on the built tasks rather than through the DAG's arguments, so the DAG's construction stays as
    it is; a worker parses the DAG file again before running a task, so it runs these very attributes.
    """
    _add_callback(
        dag.get_task(producer_task_id), history.callback_args({name: f"target/{name}" for name in BUILD_FILES})
    )
    _add_callback(dag.get_task(freshness_task_id), history.callback_args({SOURCES_FILE: sources_json}))


def _add_callback(task: Any, args: dict[str, Any]) -> None:
    """Keep the artifacts first, before any callback the task already has (the alerts read the same files).

    Cosmos calls every callback with all of `callback_args`; each takes what it needs."""
    existing = task.callback
    others = [] if existing is None else list(existing) if isinstance(existing, list) else [existing]
    task.callback = [keep_artifacts, *others]
    task.callback_args = {**(task.callback_args or {}), **args}
