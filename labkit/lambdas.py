"""AWS Lambda plumbing for step 5 and later: the log group, IAM's delays, a test invoke and its REPORT line."""

from __future__ import annotations

import base64
import contextlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from botocore.exceptions import ClientError

from . import aws, config
from .bilingual import say
from .config import Settings
from .errors import LabError

BASIC_EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
LOG_RETENTION_DAYS = 7  # Lambda's own default is "never expire", which bills storage forever
IAM_PROPAGATION_S = 10  # IAM is eventually consistent: Lambda may not see a brand-new role at once


@dataclass(frozen=True)
class TestInvoke:
    status: int
    payload: object
    report: str  # Lambda's REPORT line: duration, billed duration, memory, init duration on a cold start


def ensure_log_group(settings: Settings) -> None:
    """Create the function's log group ourselves: tagged, and with a retention period."""
    logs = aws.client(settings, "logs")
    with aws.explained(settings, say(f"creating log group {settings.log_group}", f"log group {settings.log_group} বানানো")):
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_group(logGroupName=settings.log_group, tags=dict(settings.tags))
        logs.put_retention_policy(logGroupName=settings.log_group, retentionInDays=LOG_RETENTION_DAYS)


def wait_for_new_role(settings: Settings) -> None:
    """Give IAM time to show a role created seconds ago to Lambda (only real AWS needs it)."""
    if settings.target == "aws":
        aws.client(settings, "iam").get_waiter("role_exists").wait(RoleName=settings.role_name)
        time.sleep(IAM_PROPAGATION_S)


def while_role_propagates(call: Callable[[], object], attempts: int = 6, pause_s: float = 5) -> object:
    """Run ``call`` (a ``create_function``), retrying while Lambda cannot assume a brand-new role yet.

    AWS answers "The role defined for the function cannot be assumed by Lambda" for a few seconds
    after the role is created; the AWS docs advise waiting and retrying.
    """
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except ClientError as error:  # InvalidParameterValueException, from whichever client made the call
            if attempt == attempts or "cannot be assumed" not in str(error):
                raise
            time.sleep(pause_s)


def test_invoke(settings: Settings, event: object = None, qualifier: str = "$LATEST") -> TestInvoke:
    """Invoke the function (or one version or alias of it) once; return its answer and its REPORT log line."""
    awslambda = aws.client(settings, "lambda")
    with aws.explained(settings, say(f"invoking {settings.function_name}:{qualifier}",
                                     f"{settings.function_name}:{qualifier} invoke করা")):
        answer = awslambda.invoke(FunctionName=settings.function_name, Qualifier=qualifier, LogType="Tail",
                                  Payload=json.dumps(config.SETOSA if event is None else event).encode())
    payload = json.loads(answer["Payload"].read() or b"null")
    if "FunctionError" in answer:
        failure = f"{payload.get('errorType')}: {payload.get('errorMessage')}"
        raise LabError(say(f"the function failed: {failure}", f"function ব্যর্থ হলো: {failure}"))
    tail = base64.b64decode(answer.get("LogResult", "")).decode(errors="replace")
    report = next((line for line in tail.splitlines() if line.startswith("REPORT")), "")
    return TestInvoke(answer["StatusCode"], payload, re.sub(r"\s+", " ", report).strip())
