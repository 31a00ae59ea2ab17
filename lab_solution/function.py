"""Step 5: create (or update) the Lambda function from the pushed image.

    python -m lab_solution.function

The function runs as an IAM *execution role* that Lambda assumes; ours may only write
logs (``AWSLambdaBasicExecutionRole``), nothing else. The function points at the
image **digest**, so it runs exactly what was pushed, and every call is idempotent:
run it twice and nothing is created twice.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import time
from dataclasses import dataclass

from . import aws, config, registry
from .config import Settings
from .errors import LabError, run_cli

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


def ensure_role(settings: Settings) -> str:
    """The execution role's ARN, creating the role (trusted by Lambda, logs only) if needed."""
    iam = aws.client(settings, "iam")
    with aws.explained(settings, f"creating IAM role {settings.role_name}"):
        # BEGIN SOLUTION: set role and created: get_role, or create_role with TRUST_POLICY and the lab tags (NoSuchEntityException); then attach BASIC_EXECUTION_POLICY.
        try:
            role = iam.get_role(RoleName=settings.role_name)["Role"]
            created = False
        except iam.exceptions.NoSuchEntityException:
            role = iam.create_role(
                RoleName=settings.role_name,
                AssumeRolePolicyDocument=json.dumps(TRUST_POLICY),
                Description="Execution role of the serverless-iris lab function: CloudWatch Logs only",
                Tags=[{"Key": k, "Value": v} for k, v in settings.tags.items()],
            )["Role"]
            created = True
        iam.attach_role_policy(RoleName=settings.role_name, PolicyArn=BASIC_EXECUTION_POLICY)
        # END SOLUTION
        if created and settings.target == "aws":
            iam.get_waiter("role_exists").wait(RoleName=settings.role_name)
            time.sleep(IAM_PROPAGATION_S)
    return role["Arn"]


def ensure_log_group(settings: Settings) -> None:
    """Create the function's log group ourselves: tagged, and with a retention period."""
    logs = aws.client(settings, "logs")
    with aws.explained(settings, f"creating log group {settings.log_group}"):
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_group(logGroupName=settings.log_group, tags=dict(settings.tags))
        logs.put_retention_policy(logGroupName=settings.log_group, retentionInDays=LOG_RETENTION_DAYS)


def deploy(settings: Settings, image_uri: str, role_arn: str) -> dict:
    """Create the function from ``image_uri`` (``repo@sha256:…``), or bring it up to date.

    Returns:
        The function's configuration once it is Active and its last update Successful.
    """
    awslambda = aws.client(settings, "lambda")
    wanted = {"Role": role_arn, "MemorySize": settings.memory_mb, "Timeout": settings.timeout_s}
    with aws.explained(settings, f"deploying Lambda function {settings.function_name}"):
        # BEGIN SOLUTION: get_function; if missing create_function(PackageType="Image", ...) and wait function_active_v2; else update code/configuration that differ and wait function_updated_v2.
        try:
            current = awslambda.get_function(FunctionName=settings.function_name)
        except awslambda.exceptions.ResourceNotFoundException:
            _create(settings, awslambda, image_uri, wanted)
            awslambda.get_waiter("function_active_v2").wait(FunctionName=settings.function_name)
        else:
            code, configuration = current["Code"], current["Configuration"]
            if code.get("ImageUri") != image_uri or configuration.get("Architectures") != [settings.architecture]:
                awslambda.update_function_code(FunctionName=settings.function_name, ImageUri=image_uri,
                                               Architectures=[settings.architecture])
                awslambda.get_waiter("function_updated_v2").wait(FunctionName=settings.function_name)
            if any(configuration.get(key) != value for key, value in wanted.items()):
                awslambda.update_function_configuration(FunctionName=settings.function_name, **wanted)
                awslambda.get_waiter("function_updated_v2").wait(FunctionName=settings.function_name)
        # END SOLUTION
        return awslambda.get_function_configuration(FunctionName=settings.function_name)


def _create(settings: Settings, awslambda, image_uri: str, wanted: dict) -> None:
    for attempt in range(6):
        try:
            awslambda.create_function(
                FunctionName=settings.function_name, PackageType="Image", Code={"ImageUri": image_uri},
                Architectures=[settings.architecture], Tags=dict(settings.tags),
                Description="Iris classifier from the Serverless AI lab", **wanted,
            )
            return
        except awslambda.exceptions.InvalidParameterValueException as error:
            # A role created seconds ago may not be assumable yet ("The role defined for the function
            # cannot be assumed by Lambda"): wait for IAM to catch up, as the AWS docs advise.
            if "cannot be assumed" not in str(error) or attempt == 5:
                raise
            time.sleep(5)


def test_invoke(settings: Settings, event: object = None, qualifier: str = "$LATEST") -> TestInvoke:
    """Invoke the function (or one version or alias of it) once; return its answer and its REPORT log line."""
    awslambda = aws.client(settings, "lambda")
    with aws.explained(settings, f"invoking {settings.function_name}:{qualifier}"):
        answer = awslambda.invoke(FunctionName=settings.function_name, Qualifier=qualifier, LogType="Tail",
                                  Payload=json.dumps(config.SETOSA if event is None else event).encode())
    payload = json.loads(answer["Payload"].read() or b"null")
    if "FunctionError" in answer:
        raise LabError(f"the function failed: {payload.get('errorType')}: {payload.get('errorMessage')}")
    tail = base64.b64decode(answer.get("LogResult", "")).decode(errors="replace")
    report = next((line for line in tail.splitlines() if line.startswith("REPORT")), "")
    return TestInvoke(answer["StatusCode"], payload, re.sub(r"\s+", " ", report).strip())


def main() -> int:
    settings = config.load()
    pushed = registry.latest(settings)
    ensure_log_group(settings)
    configuration = deploy(settings, pushed.uri, ensure_role(settings))
    print(f"{configuration['FunctionArn']} is {configuration['State']}, running {pushed.uri}")
    result = test_invoke(settings)
    print(f"test invoke -> {result.payload}\n{result.report}")
    return 0


if __name__ == "__main__":
    run_cli(main)
