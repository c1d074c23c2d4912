"""Which failures are the user's to fix, and the one message that tells them how."""

from __future__ import annotations


def user_message(err: BaseException) -> str | None:
    """The message of an expected failure (bad input, no network, a broken project); None for a bug."""
    from tickit_platform.data.fetch import FetchError
    from tickit_platform.data.verify import DataFilesError
    from tickit_platform.deploy.bundle import BundleError
    from tickit_platform.orchestration.dag_factory import ManifestMissingError
    from tickit_platform.orchestration.dbt_docs import DbtDocsError
    from tickit_platform.orchestration.local_airflow import AirflowStartError
    from tickit_platform.orchestration.manifest import DbtParseError
    from tickit_platform.reporting.report import ReportError

    expected = (
        FetchError,
        DataFilesError,
        AirflowStartError,
        DbtParseError,
        ManifestMissingError,
        BundleError,
        DbtDocsError,
        ReportError,
    )
    return str(err) if isinstance(err, expected) else None
