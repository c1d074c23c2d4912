"""scripts/check-infra catches what it promises to: broken HCL, undocumented variables, insecure resources.

Each test breaks a copy of infra/ in one known way and runs the real checker (checkov in its own
virtualenv, built by scripts/test before pytest runs). The unbroken tree passing is scripts/test's
"== infra" step; here the copies must fail, naming the file or the check.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.support import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
CHECKER = ROOT / "scripts" / "check-infra"
CHECKOV_VENV = Path(os.environ.get("TICKIT_CHECKOV_VENV") or ROOT / ".venv-checkov")


@pytest.fixture
def infra_copy(tmp_path: Path) -> Path:
    if not (CHECKOV_VENV / "bin" / "checkov").exists():
        skip_or_fail(f"checkov's virtualenv {CHECKOV_VENV.name} is missing: run scripts/check-infra once")
    dest = tmp_path / "infra"
    shutil.copytree(INFRA, dest, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    return dest


def run_checker(infra: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHECKER), str(infra)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TICKIT_CHECKOV_VENV": str(CHECKOV_VENV)},
    )


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path.name} no longer holds {old!r}: update this test with the module"
    path.write_text(text.replace(old, new, 1))


def test_undocumented_variable_and_missing_module_file_are_named(infra_copy: Path) -> None:
    variables = infra_copy / "modules" / "redshift" / "variables.tf"
    edit(variables, '  description = "Base Redshift Processing Units', '  # description removed: "Base')
    (infra_copy / "modules" / "storage" / "outputs.tf").unlink()

    result = run_checker(infra_copy)

    assert result.returncode != 0
    line = 1 + variables.read_text().splitlines().index('variable "base_capacity" {')
    assert f'infra/modules/redshift/variables.tf:{line}: variable "base_capacity" has no description' in result.stdout
    assert "infra/modules/storage/outputs.tf: missing (standard module file set)" in result.stdout
    assert "checkov on" not in result.stderr, "checkov must not run on a tree that fails the structure checks"


@pytest.mark.parametrize(
    "breakage",
    [
        pytest.param(lambda line: line + ' "', id="unclosed-quote"),
        pytest.param(lambda line: line.replace("=", ""), id="missing-equals"),
    ],
)
def test_hcl_syntax_error_is_reported_with_file_and_line(infra_copy: Path, breakage: Callable[[str], str]) -> None:
    main = infra_copy / "modules" / "mwaa" / "main.tf"
    lines = main.read_text().splitlines()
    broken_at = lines.index('resource "aws_mwaa_environment" "this" {') + 1  # its `name = var.name`
    lines[broken_at] = breakage(lines[broken_at])
    main.write_text("\n".join(lines) + "\n")

    result = run_checker(infra_copy)

    assert result.returncode != 0
    expected = rf"infra/modules/mwaa/main\.tf:{broken_at + 1}(:\d+)?: HCL syntax error"
    assert re.search(expected, result.stdout), result.stdout


def test_insecure_resources_fail_checkov_naming_the_checks(infra_copy: Path) -> None:
    # A bucket without versioning (MWAA needs it, and it is the rollback) and a workgroup open to the internet.
    storage = infra_copy / "modules" / "storage" / "main.tf"
    text = storage.read_text()
    versioning = re.search(r'resource "aws_s3_bucket_versioning" "this" \{.*?\n\}\n', text, flags=re.S)
    assert versioning is not None
    text = text.replace(versioning.group(0), "").replace("depends_on = [aws_s3_bucket_versioning.this]", "")
    storage.write_text(text)
    edit(infra_copy / "modules" / "redshift" / "main.tf", "publicly_accessible  = false", "publicly_accessible  = true")

    result = run_checker(infra_copy)

    assert result.returncode != 0
    assert "Failed checks: 2," in result.stdout, result.stdout
    assert "CKV_AWS_21" in result.stdout
    assert "FAILED for resource: module.storage.aws_s3_bucket.this" in result.stdout
    assert "CKV2_TICKIT_1" in result.stdout
    assert "FAILED for resource: module.redshift.aws_redshiftserverless_workgroup.this" in result.stdout
    assert "checkov:skip=" in result.stderr  # the message says how to justify a skip


def test_a_lost_task_is_noticed_as_soon_locally_as_on_mwaa() -> None:
    """A task whose worker died is failed (and retried) after the same heartbeat timeout in both places."""
    from tickit_platform.local.airflow import LOST_TASK_SETTINGS

    module = (Path(__file__).parents[2] / "infra" / "modules" / "mwaa" / "main.tf").read_text()
    on_mwaa = dict(re.findall(r'^\s*"scheduler\.(task_instance_heartbeat_timeout\w*)"\s*=\s*"(\d+)"', module, re.M))
    local = {key.removeprefix("AIRFLOW__SCHEDULER__").lower(): value for key, value in LOST_TASK_SETTINGS.items()}
    assert local == on_mwaa
    assert int(local["task_instance_heartbeat_timeout"]) < 300  # Airflow's default kept a retry waiting 5 minutes
