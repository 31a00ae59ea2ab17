"""What the grader asks the cloud: the lab's resources as AWS (or the stand-in) reports them."""

from __future__ import annotations

import json

from .framework import CheckFailed


def repository(ctx) -> dict:
    ecr = ctx.client("ecr")
    try:
        return ecr.describe_repositories(repositoryNames=[ctx.settings.repository])["repositories"][0]
    except ecr.exceptions.RepositoryNotFoundException:
        raise CheckFailed(f"there is no ECR repository {ctx.settings.repository!r}") from None


def pushed_digest(ctx) -> str:
    from labkit.ecr import latest
    from labkit.errors import LabError

    try:
        return latest(ctx.settings).digest
    except LabError as missing:
        raise CheckFailed(str(missing)) from None


def function(ctx) -> dict:
    awslambda = ctx.client("lambda")
    try:
        return awslambda.get_function(FunctionName=ctx.settings.function_name)
    except awslambda.exceptions.ResourceNotFoundException:
        raise CheckFailed(f"there is no Lambda function {ctx.settings.function_name!r}") from None


def api(ctx) -> dict:
    from labkit.apis import find_api

    found = find_api(ctx.settings, ctx.client("apigatewayv2"))
    if found is None:
        raise CheckFailed(f"there is no HTTP API {ctx.settings.api_name!r} tagged {dict(ctx.settings.tags)}")
    return found


def invoke_statements(ctx) -> list[dict]:
    """The function's resource-policy statements that let API Gateway invoke it."""
    awslambda = ctx.client("lambda")
    try:
        policy = json.loads(awslambda.get_policy(FunctionName=ctx.settings.function_name)["Policy"])
    except awslambda.exceptions.ResourceNotFoundException:
        return []
    return [s for s in policy["Statement"] if s.get("Principal", {}).get("Service") == "apigateway.amazonaws.com"
            and s.get("Action") == "lambda:InvokeFunction"]
