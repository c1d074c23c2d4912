"""Which failures are the user's to fix, and the one message that tells them how."""

from __future__ import annotations

import sys

# (module, exception class) of every expected failure.
EXPECTED = (
    ("tickit_platform.data.fetch", "FetchError"),
    ("tickit_platform.data.verify", "DataFilesError"),
    ("tickit_platform.deploy.aws", "DeployError"),
    ("tickit_platform.deploy.bundle", "BundleError"),
    ("tickit_platform.deploy.rehearsal", "RehearsalError"),
    ("tickit_platform.orchestration.dag_factory", "ManifestMissingError"),
    ("tickit_platform.orchestration.local_airflow", "AirflowStartError"),
    ("tickit_platform.orchestration.manifest", "DbtParseError"),
    ("tickit_platform.orchestration.dbt_docs", "DbtDocsError"),
    ("tickit_platform.reporting.report", "ReportError"),
    ("tickit_platform.warehouse.postgres_staging", "PostgresStagingError"),
)


def user_message(err: BaseException) -> str | None:
    """The message of an expected failure (bad input, no network, a broken project); None for a bug.

    Only modules already imported are looked at: an exception can only come from a loaded module, and
    importing the others here would import Airflow and Cosmos (seconds, and their log lines) just to
    print an S3 error.
    """
    for module, name in EXPECTED:
        cls = getattr(sys.modules.get(module), name, None)
        if isinstance(cls, type) and isinstance(err, cls):
            return str(err)
    return None
