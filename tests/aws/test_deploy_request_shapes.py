"""Steps 4-6 and 8 against moto in-process with LAB_TARGET=aws: the request shapes AWS would get.

Docker is not involved here (no push); the local stand-in tests run the real thing.
"""

from __future__ import annotations

from lab_solution import cleanup, function, gateway, registry
from labkit import lambdas

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/serverless-iris@sha256:" + "a" * 64


def deploy_everything(settings):
    registry.ensure_repository(settings)
    lambdas.ensure_log_group(settings)
    role_arn = function.ensure_role(settings)
    configuration = function.deploy(settings, IMAGE, role_arn)
    return configuration, gateway.ensure_api(settings, configuration["FunctionArn"])


def test_deploying_twice_creates_everything_once(settings):
    # when
    first_config, first_api = deploy_everything(settings)
    second_config, second_api = deploy_everything(settings)
    # then
    assert first_config["FunctionArn"] == second_config["FunctionArn"]
    assert first_api == second_api
    apigw = aws_client(settings, "apigatewayv2")
    assert [a["Name"] for a in apigw.get_apis()["Items"]] == ["serverless-iris-api"]
    assert [r["RouteKey"] for r in apigw.get_routes(ApiId=first_api.api_id)["Items"]] == ["POST /predict"]
    assert len(apigw.get_integrations(ApiId=first_api.api_id)["Items"]) == 1
    assert [s["StageName"] for s in apigw.get_stages(ApiId=first_api.api_id)["Items"]] == ["$default"]


def test_function_is_an_image_function_with_a_logs_only_role(settings):
    # when
    configuration, api = deploy_everything(settings)
    # then
    assert configuration["PackageType"] == "Image"
    assert (configuration["MemorySize"], configuration["Timeout"]) == (settings.memory_mb, settings.timeout_s)
    iam = aws_client(settings, "iam")
    attached = iam.list_attached_role_policies(RoleName=settings.role_name)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [lambdas.BASIC_EXECUTION_POLICY]
    policy = aws_client(settings, "lambda").get_policy(FunctionName=settings.function_name)["Policy"]
    assert api.source_arn in policy and api.source_arn.endswith(f"{api.api_id}/*/POST/predict")


def test_changed_settings_update_the_function(settings):
    # given
    configuration, _ = deploy_everything(settings)
    # when
    bigger = settings.with_overrides(memory_mb=2048)
    updated = function.deploy(bigger, IMAGE, configuration["Role"])
    # then
    assert updated["MemorySize"] == 2048


def test_cleanup_removes_exactly_the_lab_resources(settings):
    # given the lab's resources and a look-alike without the lab tag
    deploy_everything(settings)
    other = settings.with_overrides(name="other-project")
    aws_client(settings, "ecr").create_repository(repositoryName=other.repository)
    # when
    planned, left = cleanup.clean_up(settings)
    # then
    kinds = [r.kind for r in planned]
    assert kinds == ["HTTP API", "Lambda permission", "Lambda function", "CloudWatch log group", "IAM role", "ECR repository"]
    assert left == []
    assert cleanup.clean_up(settings) == ([], [])  # safe to run twice
    names = [r["repositoryName"] for r in aws_client(settings, "ecr").describe_repositories()["repositories"]]
    assert names == ["other-project"]


def test_dry_run_deletes_nothing(settings):
    deploy_everything(settings)
    planned, left = cleanup.clean_up(settings, dry_run=True)
    assert planned == left and len(planned) == 6


def aws_client(settings, service):
    from labkit import aws

    return aws.client(settings, service)
