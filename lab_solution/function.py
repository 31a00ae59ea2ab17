"""Step 5: create the Lambda function from the image in ECR.

    python -m lab_solution.function

An execution role that Lambda may assume and that may only write logs (least
privilege), a log group with a retention period, then the function itself: created
the first time, brought up to date on every later run, waited for with boto3's waiters.
"""

from __future__ import annotations

import json

from labkit import aws, config, ecr, lambdas
from labkit.config import Settings
from labkit.errors import run_cli
from labkit.lambdas import BASIC_EXECUTION_POLICY, TRUST_POLICY


def ensure_role(settings: Settings) -> str:
    """The execution role's ARN, creating the role (trusted by Lambda, logs only) if needed."""
    iam = aws.client(settings, "iam")
    with aws.explained(settings, f"creating IAM role {settings.role_name}"):
        # BEGIN SOLUTION: get_role, or on NoSuchEntityException create_role with TRUST_POLICY (as JSON) and the lab's tags, then lambdas.wait_for_new_role(settings); attach BASIC_EXECUTION_POLICY either way.
        try:
            role = iam.get_role(RoleName=settings.role_name)["Role"]
        except iam.exceptions.NoSuchEntityException:
            role = iam.create_role(
                RoleName=settings.role_name,
                AssumeRolePolicyDocument=json.dumps(TRUST_POLICY),
                Description="Execution role of the serverless-iris lab function: CloudWatch Logs only",
                Tags=[{"Key": k, "Value": v} for k, v in settings.tags.items()],
            )["Role"]
            lambdas.wait_for_new_role(settings)
        iam.attach_role_policy(RoleName=settings.role_name, PolicyArn=BASIC_EXECUTION_POLICY)
        # END SOLUTION
    return role["Arn"]


def deploy(settings: Settings, image_uri: str, role_arn: str) -> dict:
    """Create the function from ``image_uri`` (``repo@sha256:…``), or bring it up to date.

    Returns:
        The function's configuration once it is Active and its last update Successful.
    """
    awslambda = aws.client(settings, "lambda")
    wanted = {"Role": role_arn, "MemorySize": settings.memory_mb, "Timeout": settings.timeout_s}
    name = settings.function_name
    with aws.explained(settings, f"deploying Lambda function {name}"):
        # BEGIN SOLUTION: get_function; if missing (ResourceNotFoundException), create_function with PackageType="Image", Code={"ImageUri": ...}, the architecture, the lab's tags and **wanted (inside lambdas.while_role_propagates), then wait "function_active_v2"; otherwise update the code or configuration that differ, waiting "function_updated_v2" after each.
        try:
            current = awslambda.get_function(FunctionName=name)
        except awslambda.exceptions.ResourceNotFoundException:
            lambdas.while_role_propagates(lambda: awslambda.create_function(
                FunctionName=name, PackageType="Image", Code={"ImageUri": image_uri},
                Architectures=[settings.architecture], Tags=dict(settings.tags), **wanted))
            awslambda.get_waiter("function_active_v2").wait(FunctionName=name)
        else:
            code, configuration = current["Code"], current["Configuration"]
            if code.get("ImageUri") != image_uri or configuration.get("Architectures") != [settings.architecture]:
                awslambda.update_function_code(FunctionName=name, ImageUri=image_uri, Architectures=[settings.architecture])
                awslambda.get_waiter("function_updated_v2").wait(FunctionName=name)
            if any(configuration.get(key) != value for key, value in wanted.items()):
                awslambda.update_function_configuration(FunctionName=name, **wanted)
                awslambda.get_waiter("function_updated_v2").wait(FunctionName=name)
        # END SOLUTION
        return awslambda.get_function_configuration(FunctionName=name)


def main() -> int:
    settings = config.load()
    pushed = ecr.latest(settings)
    lambdas.ensure_log_group(settings)
    configuration = deploy(settings, pushed.uri, ensure_role(settings))
    print(f"{configuration['FunctionArn']} is {configuration['State']}, running {pushed.uri}")
    result = lambdas.test_invoke(settings)
    print(f"test invoke -> {result.payload}\n{result.report}")
    return 0


if __name__ == "__main__":
    run_cli(main)
