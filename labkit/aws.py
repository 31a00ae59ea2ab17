"""boto3 clients for the lab's target, and AWS errors turned into advice.

On ``local`` every client talks to the stand-in's edge with dummy credentials; on
``aws`` boto3 finds the student's own credentials (profile, SSO, environment).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
    TokenRetrievalError,
)

from .config import LOCAL_CREDENTIALS, Settings
from .errors import LabError

SERVICES = ("ecr", "iam", "lambda", "apigatewayv2", "logs", "sts")
_RETRIES = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=70)


@functools.cache
def _session(target: str, region: str) -> boto3.Session:
    if target == "local":
        return boto3.Session(region_name=region, **LOCAL_CREDENTIALS)
    try:
        return boto3.Session(region_name=region)
    except ProfileNotFound as error:
        raise LabError(f"{error}; check AWS_PROFILE or run `aws configure sso`") from None


def client(settings: Settings, service: str):
    """A boto3 client for ``service`` on the settings' target and region."""
    session = _session(settings.target, settings.region)
    if settings.target == "aws" and settings.region not in session.get_available_regions("lambda"):
        raise LabError(f"AWS Lambda is not available in region {settings.region!r}; set AWS_REGION to e.g. us-east-1")
    return session.client(service, endpoint_url=settings.endpoint_url, config=_RETRIES)


@contextlib.contextmanager
def explained(settings: Settings, doing: str) -> Iterator[None]:
    """Re-raise AWS and connection errors as one LabError line that says what to do."""
    try:
        yield
    except NoCredentialsError:
        raise LabError(f"{doing}: no AWS credentials found; run `aws configure` or set AWS_PROFILE") from None
    except (NoRegionError, TokenRetrievalError) as error:
        raise LabError(f"{doing}: {error}") from None
    except EndpointConnectionError:
        if settings.target == "local":
            raise LabError(f"{doing}: the local AWS stand-in is not running at {settings.endpoint_url}; "
                           "start it with `make cloud-up`") from None
        raise LabError(f"{doing}: cannot reach AWS in {settings.region}; check your network") from None
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", str(error))
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnrecognizedClientException",
                    "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException"):
            raise LabError(f"{doing}: {code} - {message} (the README lists the IAM permissions the lab needs)") from None
        raise LabError(f"{doing}: {code}: {message}") from None
    except BotoCoreError as error:
        raise LabError(f"{doing}: {error}") from None
