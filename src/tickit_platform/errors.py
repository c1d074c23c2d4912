"""Which failures are the user's to fix, and the one message that tells them how."""

from __future__ import annotations


def user_message(err: BaseException) -> str | None:
    """The message of an expected failure (bad input, no network, a broken project); None for a bug."""
    from tickit_platform.data.fetch import FetchError
    from tickit_platform.data.verify import DataFilesError
    from tickit_platform.deploy.aws import DeployError
    from tickit_platform.deploy.bundle import BundleError
    from tickit_platform.orchestration.dag_factory import ManifestMissingError
    from tickit_platform.orchestration.local_airflow import AirflowStartError
    from tickit_platform.orchestration.manifest import DbtParseError

    expected = (
        FetchError,
        DataFilesError,
        AirflowStartError,
        DbtParseError,
        ManifestMissingError,
        BundleError,
        DeployError,
    )
    return str(err) if isinstance(err, expected) else None
