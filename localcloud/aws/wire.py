"""AWS's wire format, for local use: the SigV4 credential scope, accounts, answers and errors.

There is one exception class per AWS error code, named and worded as AWS words it (moto's
habit); an error becomes an answer once, at the boundary, in the shape boto3 parses for the
service's protocol (``rest-json``: Lambda, API Gateway; ``json``: ECR, CloudWatch Logs).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from moto.core import DEFAULT_ACCOUNT_ID

SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")


def signing_scope(environ: dict) -> tuple[str, str, str] | None:
    """(access key, region, service) from a SigV4 Authorization header (the signature itself is not checked)."""
    match = SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return (match.group(1), match.group(2), match.group(3)) if match else None


def account_for(access_key: str) -> str:
    """moto's rule: a 12-digit access key names the account; anything else is the default account."""
    return access_key if access_key.isdigit() and len(access_key) == 12 else DEFAULT_ACCOUNT_ID


@dataclass
class Answer:
    """A control-plane response a hook may read and change."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> dict:
        return json.loads(self.body or b"{}")

    def set_json(self, document: object) -> None:
        self.body = json.dumps(document).encode()


class AwsError(Exception):
    """An AWS error: ``status`` and ``code`` come from the subclass, the message from AWS's own wording."""

    status = 400
    code = ""

    def __init__(self, message: str, **extra):
        super().__init__(message)
        self.message, self.extra = message, extra

    def answer(self, protocol: str = "rest-json") -> Answer:
        if protocol == "json":
            return Answer(self.status, [("Content-Type", "application/x-amz-json-1.1")],
                          json.dumps({"__type": self.code, "message": self.message, **self.extra}).encode())
        return Answer(self.status, [("x-amzn-ErrorType", self.code), ("Content-Type", "application/json")],
                      json.dumps({"Type": "User", "message": self.message, **self.extra}).encode())


class InvalidParameterValue(AwsError):
    status, code = 400, "InvalidParameterValueException"


class InvalidParameter(AwsError):
    status, code = 400, "InvalidParameterException"


class Validation(AwsError):
    status, code = 400, "ValidationException"


class InvalidRequestContent(AwsError):
    status, code = 400, "InvalidRequestContentException"


class BadRequest(AwsError):
    status, code = 400, "BadRequestException"


class RepositoryNotFound(AwsError):
    status, code = 400, "RepositoryNotFoundException"


class ImageTagAlreadyExists(AwsError):
    status, code = 400, "ImageTagAlreadyExistsException"


class ImageDigestDoesNotMatch(AwsError):
    status, code = 400, "ImageDigestDoesNotMatchException"


class LayersNotFound(AwsError):
    status, code = 400, "LayersNotFoundException"


class ReferencedImagesNotFound(AwsError):
    status, code = 400, "ReferencedImagesNotFoundException"


class AccessDenied(AwsError):
    status, code = 403, "AccessDeniedException"


class ResourceNotFound(AwsError):
    status, code = 404, "ResourceNotFoundException"


class NotFound(AwsError):
    status, code = 404, "NotFoundException"


class ProvisionedConcurrencyConfigNotFound(AwsError):
    status, code = 404, "ProvisionedConcurrencyConfigNotFoundException"


class ResourceConflict(AwsError):
    status, code = 409, "ResourceConflictException"


class RequestTooLarge(AwsError):
    status, code = 413, "RequestTooLargeException"


class RequestEntityTooLarge(AwsError):
    status, code = 413, "RequestEntityTooLargeException"


class TooManyRequests(AwsError):
    status, code = 429, "TooManyRequestsException"
