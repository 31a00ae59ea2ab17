"""Step 6: give the function a public URL with an API Gateway HTTP API.

    python -m lab_solution.gateway

An HTTP API has *routes* (``POST /predict``) that point at *integrations* (our
function, called with payload format 2.0) and serves them on a *stage* (``$default``,
deployed automatically). API Gateway may call the function only because we add a
resource-based permission, scoped by ``SourceArn`` to this API and route.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

from . import aws, config
from .config import Settings
from .errors import run_cli

ROUTE_KEY = "POST /predict"
STAGE = "$default"
STATEMENT_ID = "allow-api-gateway-invoke"


@dataclass(frozen=True)
class PublicApi:
    api_id: str
    url: str  # the full URL of POST /predict
    source_arn: str  # what the invoke permission is scoped to


def items(apigw, operation: str, **kwargs) -> list[dict]:
    """Every item of a paginated API Gateway listing (each page holds at most 25)."""
    return [item for page in apigw.get_paginator(operation).paginate(**kwargs) for item in page["Items"]]


def find_api(settings: Settings, apigw) -> dict | None:
    """The lab's HTTP API (by name and tag), if it exists."""
    return next((api for api in items(apigw, "get_apis") if api["Name"] == settings.api_name
                 and api.get("Tags", {}).get("lab") == settings.tags["lab"]), None)


def ensure_api(settings: Settings, function_arn: str) -> PublicApi:
    """Create or update the API, its integration, route, stage and the invoke permission."""
    apigw = aws.client(settings, "apigatewayv2")
    with aws.explained(settings, f"setting up HTTP API {settings.api_name}"):
        api = find_api(settings, apigw) or apigw.create_api(
            Name=settings.api_name, ProtocolType="HTTP", Tags=dict(settings.tags),
            Description="Public endpoint of the serverless-iris lab")
        api_id = api["ApiId"]
        # BEGIN SOLUTION: reuse or create an AWS_PROXY integration (payload 2.0) to function_arn, route ROUTE_KEY to it, and a $default stage with AutoDeploy.
        integrations = items(apigw, "get_integrations", ApiId=api_id)
        integration = next((i for i in integrations if i.get("IntegrationUri") == function_arn), None) or \
            apigw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=function_arn,
                                     PayloadFormatVersion="2.0", TimeoutInMillis=30_000)
        target = f"integrations/{integration['IntegrationId']}"
        route = next((r for r in items(apigw, "get_routes", ApiId=api_id) if r["RouteKey"] == ROUTE_KEY), None)
        if route is None:
            apigw.create_route(ApiId=api_id, RouteKey=ROUTE_KEY, Target=target)
        elif route.get("Target") != target:
            apigw.update_route(ApiId=api_id, RouteId=route["RouteId"], Target=target)
        if not any(s["StageName"] == STAGE for s in items(apigw, "get_stages", ApiId=api_id)):
            apigw.create_stage(ApiId=api_id, StageName=STAGE, AutoDeploy=True, Tags=dict(settings.tags))
        # END SOLUTION
    source_arn = allow_invoke(settings, function_arn, api_id)
    return PublicApi(api_id, f"{api['ApiEndpoint']}/predict", source_arn)


def allow_invoke(settings: Settings, function_arn: str, api_id: str) -> str:
    """Let this API (and only this API's POST /predict) invoke the function; returns the SourceArn."""
    account = function_arn.split(":")[4]
    source_arn = f"arn:aws:execute-api:{settings.region}:{account}:{api_id}/*/POST/predict"
    awslambda = aws.client(settings, "lambda")
    with aws.explained(settings, "granting API Gateway permission to invoke the function"):
        # BEGIN SOLUTION: add_permission(lambda:InvokeFunction, principal apigateway.amazonaws.com, SourceArn=source_arn); replace a stale statement with the same id.
        statement = dict(FunctionName=settings.function_name, StatementId=STATEMENT_ID, Action="lambda:InvokeFunction",
                         Principal="apigateway.amazonaws.com", SourceArn=source_arn)
        try:
            awslambda.add_permission(**statement)
        except awslambda.exceptions.ResourceConflictException:  # the statement exists: keep it only if current
            if source_arn not in awslambda.get_policy(FunctionName=settings.function_name)["Policy"]:
                awslambda.remove_permission(FunctionName=settings.function_name, StatementId=STATEMENT_ID)
                awslambda.add_permission(**statement)
        # END SOLUTION
    return source_arn


def call(url: str, body: object, timeout: float = 60) -> requests.Response:
    """POST a JSON body to the public URL, as any client on the internet would."""
    return requests.post(url, json=body, timeout=timeout)


def main() -> int:
    settings = config.load()
    awslambda = aws.client(settings, "lambda")
    with aws.explained(settings, f"looking up function {settings.function_name}"):
        function_arn = awslambda.get_function_configuration(FunctionName=settings.function_name)["FunctionArn"]
    api = ensure_api(settings, function_arn)
    print(f"POST {api.url}")
    for label, body in (("valid", config.SETOSA), ("invalid", {"sepal_length": "long"})):
        response = call(api.url, body)
        print(f"{label:<8} -> {response.status_code} {response.text}")
    return 0


if __name__ == "__main__":
    run_cli(main)
