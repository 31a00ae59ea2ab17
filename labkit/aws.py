"""boto3 clients for the lab's target, and AWS errors turned into advice.

On ``local`` every client talks to the stand-in's edge with dummy credentials; on
``aws`` boto3 finds the student's own credentials (profile, SSO, environment).
The advice is written in both languages (:func:`labkit.bilingual.say`) and shown in the
student's (``LAB_LANG``); what the caller was ``doing`` is given as a ``say()`` pair too, or as
English (a student's own code), and AWS's own words stay as AWS wrote them.
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

from .bilingual import say, text
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
        raise LabError(say(f"{error}; check AWS_PROFILE or run `aws configure sso`",
                           f"{error}; AWS_PROFILE ঠিক আছে কিনা দেখো, বা `aws configure sso` চালাও")) from None


def client(settings: Settings, service: str):
    """A boto3 client for ``service`` on the settings' target and region."""
    session = _session(settings.target, settings.region)
    if settings.target == "aws" and settings.region not in session.get_available_regions("lambda"):
        raise LabError(say(f"AWS Lambda is not available in region {settings.region!r}; set AWS_REGION to e.g. us-east-1",
                           f"region {settings.region!r}-এ AWS Lambda নেই; AWS_REGION-এ অন্য region দাও, যেমন us-east-1"))
    return session.client(service, endpoint_url=settings.endpoint_url, config=_RETRIES)


@contextlib.contextmanager
def explained(settings: Settings, doing: str) -> Iterator[None]:
    """Re-raise AWS and connection errors as one LabError line that says what to do, in both languages.

    Args:
        doing: what the code was doing, e.g. ``say("creating ECR repository X", "ECR repository X বানানো")``
            (a plain ``str`` is English and stays so in the Bengali line).
    """
    def failed(en: str, bn: str) -> LabError:
        return LabError(say(f"{doing}: {en}", f"{text(doing, 'bn')}: {bn}"))

    try:
        yield
    except NoCredentialsError:
        raise failed("no AWS credentials found; run `aws configure` or set AWS_PROFILE",
                     "কোনো AWS credential পাওয়া গেল না; `aws configure` চালাও, বা AWS_PROFILE ঠিক করো") from None
    except (NoRegionError, TokenRetrievalError) as error:
        raise failed(str(error), str(error)) from None
    except EndpointConnectionError:
        if settings.target == "local":
            raise failed(f"the local AWS stand-in is not running at {settings.endpoint_url}; start it with `make cloud-up`",
                         f"local AWS stand-in {settings.endpoint_url}-এ চলছে না; `make cloud-up` দিয়ে চালু করো") from None
        raise failed(f"cannot reach AWS in {settings.region}; check your network",
                     f"{settings.region}-এ AWS-এর নাগাল পাওয়া গেল না; তোমার network দেখো") from None
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", str(error))
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnrecognizedClientException",
                    "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException"):
            raise failed(f"{code} - {message} (the README lists the IAM permissions the lab needs)",
                         f"{code} - {message} (lab-এর কোন কোন IAM permission লাগে, README-তে লেখা আছে)") from None
        raise failed(f"{code}: {message}", f"{code}: {message}") from None
    except BotoCoreError as error:
        raise failed(str(error), str(error)) from None
