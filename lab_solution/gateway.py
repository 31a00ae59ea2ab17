"""Step 6: a public HTTPS endpoint for the function with API Gateway's HTTP API.

    python -m lab_solution.gateway

An HTTP API with one route, ``POST /predict``, integrated with the function as a Lambda
proxy (payload format 2.0), served by the auto-deploying ``$default`` stage, plus the
resource-policy statement that lets this API, and only this API, invoke the function.
"""

from __future__ import annotations

from labkit import apis, aws, config
from labkit.apis import ROUTE_KEY, STAGE, STATEMENT_ID, PublicApi, items
from labkit.config import Settings
from labkit.errors import run_cli


def ensure_api(settings: Settings, function_arn: str) -> PublicApi:
    """Create or update the API, its integration, route and stage, and the invoke permission.

    Returns:
        ``PublicApi(api_id, url, source_arn)`` with ``url`` the full URL of ``POST /predict``.
    """
    apigw = aws.client(settings, "apigatewayv2")
    with aws.explained(settings, f"setting up HTTP API {settings.api_name}"):
        # BEGIN SOLUTION: find the lab's API (apis.find_api) or create an HTTP API with the lab's tags; then make sure each part exists exactly once: a Lambda proxy integration of function_arn (payload format 2.0), the route ROUTE_KEY whose target is that integration, the STAGE stage with automatic deployment (boto3 ApiGatewayV2: create_api, create_integration, create_route, create_stage).
        api = apis.find_api(settings, apigw) or apigw.create_api(
            Name=settings.api_name, ProtocolType="HTTP", Tags=dict(settings.tags))
        api_id = api["ApiId"]
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
    allowed = allow_invoke(settings, function_arn, api_id)
    return PublicApi(api_id, f"{api['ApiEndpoint']}/predict", allowed)


def allow_invoke(settings: Settings, function_arn: str, api_id: str) -> str:
    """Let this API (and only this API's POST /predict) invoke the function; returns the SourceArn."""
    source_arn = apis.source_arn(settings, function_arn, api_id)
    awslambda = aws.client(settings, "lambda")
    with aws.explained(settings, "granting API Gateway permission to invoke the function"):
        # BEGIN SOLUTION: add a statement (StatementId=STATEMENT_ID) to the function's resource-based policy: apigateway.amazonaws.com may lambda:InvokeFunction, only from source_arn (boto3 Lambda add_permission); on a rerun Lambda raises ResourceConflictException: keep the statement if get_policy shows it names source_arn, otherwise replace it.
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


def main() -> int:
    settings = config.load()
    awslambda = aws.client(settings, "lambda")
    with aws.explained(settings, f"looking up function {settings.function_name}"):
        function_arn = awslambda.get_function_configuration(FunctionName=settings.function_name)["FunctionArn"]
    api = ensure_api(settings, function_arn)
    print(f"POST {api.url}")
    for label, body in (("valid", config.SETOSA), ("invalid", {"sepal_length": "long"})):
        response = apis.call(api.url, body)
        print(f"{label:<8} -> {response.status_code} {response.text}")
    return 0


if __name__ == "__main__":
    run_cli(main)
