"""AWS clients for `tickit deploy`, and the one translation of AWS failures into what to do next.

Credentials, region and endpoints come from boto3's own chain (environment, `~/.aws`, SSO, instance
roles), so whatever works for the AWS CLI works here. boto3 also honours the standard
`AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL_MWAA` variables; the tests use them to reach a local S3.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError, NoRegionError

from tickit_runtime.errors import TickitError

# Standard retries with a few attempts: transient S3/MWAA errors are retried, a dead endpoint
# fails within seconds instead of minutes.
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=10, read_timeout=60)

CREDENTIALS_HINT = (
    "no AWS credentials found. Sign in the way the AWS CLI does (`aws configure`, `aws sso login "
    "--profile P` then AWS_PROFILE=P, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and run the command again."
)
REGION_HINT = "no AWS region is configured: pass --region (the MWAA environment's region) or set AWS_REGION."


class DeployError(TickitError):
    """A deploy step failed for a reason the user can fix; the message says what to do next."""


def client(service: str, region: str | None) -> Any:
    """A boto3 client; one seam, so tests can hand the command a stubbed MWAA client."""
    try:
        return boto3.session.Session(region_name=region).client(service, config=CLIENT_CONFIG)
    except NoRegionError:
        raise DeployError(REGION_HINT) from None


def error_code(err: ClientError) -> str:
    code = str(err.response.get("Error", {}).get("Code", ""))
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    # S3 answers HEAD requests (and some denials) with a bare status and no error document.
    if code in ("403", "Forbidden") or (not code and status == 403):
        return "AccessDenied"
    if code in ("404", "NotFound") or (not code and status == 404):
        return "NotFound"
    return code


def is_access_denied(err: BaseException) -> bool:
    return isinstance(err, ClientError) and error_code(err) in ("AccessDenied", "AccessDeniedException")


def describe(err: BaseException) -> str:
    """A short cause for a message: the AWS error code and text, or the connection problem."""
    if isinstance(err, ClientError):
        message = err.response.get("Error", {}).get("Message") or err.response.get("message") or ""
        code = error_code(err)
        return f"{code}: {message}" if message and message != code else code
    return str(err)


def generic(err: BaseException, doing: str) -> DeployError | None:
    """The message for failures that mean the same whatever the step; None when the step must decide."""
    if isinstance(err, NoCredentialsError):
        return DeployError(CREDENTIALS_HINT)
    if isinstance(err, NoRegionError):
        return DeployError(REGION_HINT)
    if isinstance(err, EndpointConnectionError):
        return DeployError(f"could not reach AWS while {doing} ({err}). Check the network and --region.")
    if isinstance(err, ClientError) and error_code(err) in ("ExpiredToken", "ExpiredTokenException"):
        return DeployError("the AWS session has expired: sign in again (e.g. `aws sso login`) and re-run.")
    if isinstance(err, ClientError) and error_code(err) in ("InvalidAccessKeyId", "SignatureDoesNotMatch"):
        return DeployError(f"AWS rejected the credentials while {doing} ({describe(err)}): check them and re-run.")
    if isinstance(err, BotoCoreError):
        return DeployError(f"AWS call failed while {doing}: {err}")
    return None
