"""dbt's manifest, shipped beside the DAG: Cosmos renders the DAG from it with no dbt process.

`dbt parse` runs only when the project's files changed since the last parse (a fingerprint of
every file is stored next to the manifest), so parsing the DAG stays a file read.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

from tickit_runtime.config import DAG_ID, MANUAL_RUN_VARS, PROFILE_NAME, DagConfig
from tickit_runtime.errors import TickitError

IGNORED_DIRS = {"target", "logs", "dbt_packages", "__pycache__"}
# Beside the manifest: the fingerprint of the project it was parsed from.
MANIFEST_STAMP = "project.sha256"
# dbt's partial-parse file, beside the manifest: copied to whatever else parses the same project.
PARTIAL_PARSE_FILE = "partial_parse.msgpack"


class DbtParseError(TickitError):
    """`dbt parse` failed: the project itself is broken; the message carries dbt's own words."""


def project_fingerprint(project_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(project_dir.rglob("*")):
        if path.is_file() and not IGNORED_DIRS.intersection(path.relative_to(project_dir).parts):
            digest.update(str(path.relative_to(project_dir)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def manual_run_vars() -> list[str]:
    """dbt's `--vars` flag as every dbt call of a manual run passes it (config.MANUAL_RUN_VARS)."""
    return ["--vars", json.dumps(MANUAL_RUN_VARS)]


def ensure_manifest(config: DagConfig, *, force: bool = False) -> Path:
    """Write `manifest.json` (and dbt's partial-parse file) where the DAG and Cosmos look for them."""
    target = config.manifest_path.parent
    stamp = target / MANIFEST_STAMP
    env = config.dbt_env()
    # The schema prefix is in the manifest too (every node's schema): another prefix is another manifest.
    fingerprint = project_fingerprint(config.project_dir) + config.target + config.schema_prefix + str(MANUAL_RUN_VARS)
    if not force and config.manifest_path.exists() and stamp.exists() and stamp.read_text() == fingerprint:
        return config.manifest_path
    target.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            str(config.dbt_executable),
            "parse",
            "--project-dir",
            str(config.project_dir),
            "--profiles-dir",
            str(config.project_dir),
            "--target-path",
            str(target),
            "--log-path",
            str(config.layout.dbt_logs),
            # The same --profile/--target flags Cosmos passes: dbt keeps them in the partial-parse file's
            # state check, so any difference would make every task parse the whole project again.
            "--profile",
            PROFILE_NAME,
            "--target",
            config.target,
            # And a manual run's vars, for the same reason (dbt hashes them too).
            *manual_run_vars(),
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise DbtParseError(f"`dbt parse` failed for {config.project_dir}:\n{result.stdout[-3000:]}")
    # Every Cosmos task copies the project to a temporary folder; seeding its cache with dbt's
    # partial-parse file spares each of them a full parse of the project.
    cache_target = config.layout.cosmos_cache / DAG_ID / "target"
    cache_target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(target / PARTIAL_PARSE_FILE, cache_target / PARTIAL_PARSE_FILE)
    stamp.write_text(fingerprint)
    return config.manifest_path
