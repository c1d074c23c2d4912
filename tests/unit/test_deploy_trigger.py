"""`tickit deploy trigger`: a DAG run through MWAA's InvokeRestApi, with botocore's Stubber.

moto has no MWAA; the Stubber validates every request against botocore's real MWAA model (Path at most
64 characters, Method one of the enum, Body a JSON document) and the tests assert the exact request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from tests.support import in_process_tickit

from tickit_platform.deploy import aws
from tickit_platform.deploy.aws import DeployError
from tickit_platform.deploy.mwaa import parse_logical_date
from tickit_runtime.config import DAG_ID

REGION = "eu-central-1"
ENV_NAME = "tickit-prod"
PATH = f"/dags/{DAG_ID}/dagRuns"


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.session.Session(region_name=REGION).client("mwaa")
    monkeypatch.setattr(aws, "client", lambda service, region: client)
    monkeypatch.setattr(logging.getLogger("botocore"), "level", logging.WARNING)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def tickit(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    return in_process_tickit(capsys)


def dag_run(run_id: str, logical_date: str) -> dict[str, Any]:
    return {"dag_run_id": run_id, "dag_id": DAG_ID, "logical_date": logical_date, "state": "queued"}


def test_trigger_posts_a_dag_run_and_prints_its_id_and_state(
    stub: Stubber, tickit: Callable[..., tuple[int, str, str]]
) -> None:
    logical = "2026-01-31T00:00:00Z"
    run_id = "manual__2026-01-31T00:00:00+00:00"
    stub.add_response(
        "invoke_rest_api",
        {"RestApiStatusCode": 200, "RestApiResponse": dag_run(run_id, "2026-01-31T00:00:00+00:00")},
        {
            "Name": ENV_NAME,
            "Path": PATH,
            "Method": "POST",
            "Body": {"logical_date": logical, "conf": {"full_refresh": True}},
        },
    )

    code, out, err = tickit(
        "deploy", "trigger", "--environment", ENV_NAME, "--conf", '{"full_refresh": true}', "--logical-date", logical
    )

    assert code == 0, err
    assert f"DAG run {run_id} of {DAG_ID} in {ENV_NAME}: queued" in out
    assert "logical date: 2026-01-31T00:00:00+00:00" in out


def test_another_dag_id_and_an_offset_date_are_sent_in_utc(
    stub: Stubber, tickit: Callable[..., tuple[int, str, str]]
) -> None:
    stub.add_response(
        "invoke_rest_api",
        {"RestApiStatusCode": 200, "RestApiResponse": dag_run("r1", "2026-01-30T23:00:00+00:00")},
        {"Name": ENV_NAME, "Path": "/dags/other_dag/dagRuns", "Method": "POST",
         "Body": {"logical_date": "2026-01-30T23:00:00Z", "conf": {}}},
    )  # fmt: skip

    code, _, err = tickit(
        "deploy",
        "trigger",
        "--environment",
        ENV_NAME,
        "--dag-id",
        "other_dag",
        "--logical-date",
        "2026-01-31T00:00:00+01:00",
    )

    assert code == 0, err


def test_a_dag_airflow_does_not_know_is_a_clear_error(
    stub: Stubber, tickit: Callable[..., tuple[int, str, str]]
) -> None:
    stub.add_client_error(
        "invoke_rest_api",
        service_error_code="RestApiClientException",
        service_message="The request failed",
        http_status_code=400,
        modeled_fields={
            "RestApiStatusCode": 404,
            "RestApiResponse": {"detail": f"The Dag with dag_id: `{DAG_ID}` was not found"},
        },
    )

    code, _, err = tickit("deploy", "trigger", "--environment", ENV_NAME, "--logical-date", "2026-01-31")

    assert code == 1
    assert f"tickit: Airflow in {ENV_NAME} answered 404 to starting {DAG_ID}: The Dag with dag_id" in err
    assert "run `tickit deploy push`" in err
    assert "Traceback" not in err


def test_a_run_that_exists_already_says_to_pick_another_date(stub: Stubber) -> None:
    stub.add_client_error(
        "invoke_rest_api",
        service_error_code="RestApiClientException",
        http_status_code=400,
        modeled_fields={"RestApiStatusCode": 409, "RestApiResponse": {"detail": "DAG run already exists"}},
    )
    from tickit_platform.deploy.mwaa import trigger_dag_run

    with pytest.raises(DeployError, match=r"answered 409 .* pass another --logical-date"):
        trigger_dag_run(aws.client("mwaa", REGION), ENV_NAME, DAG_ID, {}, "2026-01-31T00:00:00Z")


def test_an_unknown_environment_is_a_clear_error(stub: Stubber, tickit: Callable[..., tuple[int, str, str]]) -> None:
    stub.add_client_error(
        "invoke_rest_api",
        service_error_code="ResourceNotFoundException",
        service_message="not found",
        http_status_code=404,
    )

    code, _, err = tickit("deploy", "trigger", "--environment", ENV_NAME)

    assert code == 1
    assert f"tickit: there is no MWAA environment named {ENV_NAME} in {REGION}" in err


def test_conf_must_be_a_json_object(stub: Stubber, tickit: Callable[..., tuple[int, str, str]]) -> None:
    for bad in ("not json", "[1, 2]"):
        with pytest.raises(SystemExit) as usage:
            tickit("deploy", "trigger", "--environment", ENV_NAME, "--conf", bad)
        assert usage.value.code == 2


def test_the_logical_date_defaults_to_now_in_utc() -> None:
    now = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    assert parse_logical_date(None, now=now) == "2026-03-01T12:30:00Z"
    assert parse_logical_date("2026-03-01") == "2026-03-01T00:00:00Z"
    with pytest.raises(DeployError, match="not an ISO 8601 date"):
        parse_logical_date("yesterday")
