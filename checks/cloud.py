"""What the grader asks the cloud: the lab's resources as AWS (or the stand-in) reports them."""

from __future__ import annotations

import json

from .framework import CheckFailed, say


def repository(run) -> dict:
    ecr = run.client("ecr")
    try:
        return ecr.describe_repositories(repositoryNames=[run.settings.repository])["repositories"][0]
    except ecr.exceptions.RepositoryNotFoundException:
        raise CheckFailed(say(f"there is no ECR repository {run.settings.repository!r}",
                              f"ECR repository {run.settings.repository!r} নেই")) from None


def pushed_digest(run, tag: str = "latest") -> str:
    """The digest of the image ECR holds under the lab's tag."""
    ecr = run.client("ecr")
    try:
        found = ecr.describe_images(repositoryName=run.settings.repository, imageIds=[{"imageTag": tag}])
    except (ecr.exceptions.RepositoryNotFoundException, ecr.exceptions.ImageNotFoundException):
        raise CheckFailed(say(f"no image {run.settings.repository}:{tag} in ECR yet",
                              f"ECR-এ এখনো image {run.settings.repository}:{tag} নেই")) from None
    return found["imageDetails"][0]["imageDigest"]


def function(run) -> dict:
    awslambda = run.client("lambda")
    try:
        return awslambda.get_function(FunctionName=run.settings.function_name)
    except awslambda.exceptions.ResourceNotFoundException:
        raise CheckFailed(say(f"there is no Lambda function {run.settings.function_name!r}",
                              f"Lambda function {run.settings.function_name!r} নেই")) from None


def api(run) -> dict:
    """The lab's HTTP API, found by its name and the lab tag."""
    apis = [a for page in run.client("apigatewayv2").get_paginator("get_apis").paginate() for a in page["Items"]]
    found = next((a for a in apis if a["Name"] == run.settings.api_name
                  and a.get("Tags", {}).get("lab") == run.settings.tags["lab"]), None)
    if found is None:
        raise CheckFailed(say(f"there is no HTTP API {run.settings.api_name!r} tagged {dict(run.settings.tags)}",
                              f"{dict(run.settings.tags)} tag দেওয়া HTTP API {run.settings.api_name!r} নেই"))
    return found


def conflict(observed: object) -> str | None:
    """Lambda's own words when a call of the student's code failed with ResourceConflictException, else None."""
    error = observed.get("error") if isinstance(observed, dict) and not observed.get("todo") else None
    if not isinstance(error, str) or "ResourceConflictException" not in error:
        return None
    return error.split("ResourceConflictException", 1)[1].lstrip(":) -")[:200]


def invoke_statements(run) -> list[dict]:
    """The function's resource-policy statements that let API Gateway invoke it."""
    awslambda = run.client("lambda")
    try:
        policy = json.loads(awslambda.get_policy(FunctionName=run.settings.function_name)["Policy"])
    except awslambda.exceptions.ResourceNotFoundException:
        return []
    return [s for s in policy["Statement"] if s.get("Principal", {}).get("Service") == "apigateway.amazonaws.com"
            and s.get("Action") == "lambda:InvokeFunction"]
