"""The modules' variable validations refuse at plan time what AWS would refuse only at apply time.

Each module's variables.tf is planned alone by the real Terraform (no resources, so no provider and no
network): a good set of values plans, and one wrong value names the variable in Terraform's error.
Terraform is not a dependency of the project (scripts/check-infra is static); without it this is skipped.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

MODULES = Path(__file__).resolve().parents[2] / "infra" / "modules"
KMS_KEY = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SUBNETS = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1", "subnet-0123456789abcdef2"]
GOOD: dict[str, dict[str, Any]] = {
    "network": {"name": "tickit", "availability_zones": ["eu-central-1a", "eu-central-1b", "eu-central-1c"]},
    "storage": {"name": "tickit", "access_log_bucket": "my-logs"},
    "alerts": {"name": "tickit", "email_addresses": ["ops@example.com"]},
    "redshift": {
        "name": "tickit",
        "subnet_ids": SUBNETS,
        "security_group_ids": ["sg-0123456789abcdef0"],
        "max_capacity": 64,
        "data_bucket_arn": "arn:aws:s3:::my-bucket",
        "data_bucket_kms_key_arn": KMS_KEY,
    },
    "mwaa": {
        "name": "tickit",
        "source_bucket_name": "airflow-tickit-abc123",
        "source_bucket_arn": "arn:aws:s3:::airflow-tickit-abc123",
        "source_bucket_kms_key_arn": KMS_KEY,
        "subnet_ids": SUBNETS[:2],
        "security_group_ids": ["sg-0123456789abcdef0"],
        "weekly_maintenance_window_start": "SUN:03:00",
        "redshift_workgroup_arns": [
            "arn:aws:redshift-serverless:eu-central-1:123456789012:workgroup/0b1c2d3e-1234-5678-9abc-def012345678"
        ],
        "alert_topic_arns": ["arn:aws:sns:eu-central-1:123456789012:tickit-alerts"],
        "alert_kms_key_arns": [KMS_KEY],
        "airflow_configuration_options": {"core.default_task_retries": "3"},
        "schema_prefix": "team_a",
    },
}
WRONG = [
    ("network", "name", "a-name-longer-than-the-flow-logs-role-allows"),
    ("network", "availability_zones", ["eu-central-1a", "eu-central-1a", "eu-central-1c"]),
    ("network", "flow_log_retention_days", 366),
    ("storage", "access_log_bucket", "arn:aws:s3:::logs"),
    ("storage", "kms_key_deletion_window_in_days", 31),
    ("alerts", "email_addresses", ["ops at example.com"]),
    ("redshift", "subnet_ids", [*SUBNETS[:2], "vpc-0123"]),
    ("redshift", "database_name", "Dev"),
    ("redshift", "max_capacity", 60),
    ("redshift", "max_query_execution_time", 86400),
    ("redshift", "data_bucket_arn", "my-bucket"),
    ("mwaa", "environment_class", "mw1.huge"),
    ("mwaa", "schedulers", 1),
    ("mwaa", "source_bucket_name", "tickit-abc"),
    ("mwaa", "security_group_ids", ["sg-1"]),
    ("mwaa", "weekly_maintenance_window_start", "SUN:03:15"),
    ("mwaa", "log_level", "info"),
    ("mwaa", "alert_topic_arns", ["tickit-alerts"]),
    ("mwaa", "airflow_configuration_options", {"default_task_retries": "3"}),
    ("mwaa", "schema_prefix", "Team-A"),
]


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> Any:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("no terraform on PATH (the project's infra checks are static; this one needs the binary)")
    roots: dict[str, Path] = {}

    def run(module: str, values: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        if module not in roots:
            root = tmp_path_factory.mktemp(module)
            shutil.copy(MODULES / module / "variables.tf", root / "variables.tf")
            init = [terraform, "init", "-backend=false", "-input=false"]
            subprocess.run(init, cwd=root, check=True, capture_output=True)
            roots[module] = root
        (roots[module] / "terraform.tfvars.json").write_text(json.dumps(values))
        return subprocess.run(
            [terraform, "plan", "-input=false", "-no-color"], cwd=roots[module], capture_output=True, text=True
        )

    return run


@pytest.mark.parametrize("module", sorted(GOOD))
def test_good_values_plan(plan: Any, module: str) -> None:
    result = plan(module, GOOD[module])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("module", "variable", "value"), WRONG, ids=[f"{m}.{v}" for m, v, _ in WRONG])
def test_a_wrong_value_is_refused_at_plan(plan: Any, module: str, variable: str, value: Any) -> None:
    result = plan(module, {**GOOD[module], variable: value})
    assert result.returncode != 0
    output = " ".join((result.stdout + result.stderr).split())  # Terraform wraps its messages
    assert "Invalid value for variable" in output and f"var.{variable}" in output, output
