"""docs/iam-policy.json allows every AWS action the lab and its grader perform."""

from __future__ import annotations

import json
import re
from pathlib import Path

from botocore.awsrequest import AWSResponse

from checks import Context
from checks.step8_cleanup import tagged_leftovers
from lab_solution import cleanup, function, gateway, registry
from labkit import aws, lambdas, timing
from labkit.experiments import provisioned

POLICY = Path(__file__).resolve().parents[2] / "docs" / "iam-policy.json"
IAM_PREFIX = {"apigatewayv2": "apigateway", "lambda": "lambda", "ecr": "ecr", "iam": "iam", "logs": "logs", "sts": "sts"}
HTTP_VERB = {"Get": "GET", "Create": "POST", "Update": "PATCH", "Delete": "DELETE"}
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/serverless-iris@sha256:" + "b" * 64


def allowed_actions() -> set[str]:
    statements = json.loads(POLICY.read_text())["Statement"]
    return {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}


def iam_action(service: str, operation: str) -> str:
    if service == "apigatewayv2":  # API Gateway authorises by HTTP verb, not by operation
        verb = next((v for k, v in HTTP_VERB.items() if operation.startswith(k)), operation)
        return f"apigateway:{verb}"
    return f"{IAM_PREFIX[service]}:{operation}"


def provisioned_concurrency_moto_lacks(model, **_):
    """Answer the three provisioned-concurrency operations moto does not implement (the stand-in does)."""
    answers = {"PutProvisionedConcurrencyConfig": {"Status": "IN_PROGRESS"},
               "GetProvisionedConcurrencyConfig": {"Status": "READY"}, "DeleteProvisionedConcurrencyConfig": {}}
    if model.name in answers:
        return AWSResponse("https://lambda.us-east-1.amazonaws.com", 200, {}, None), answers[model.name]
    return None


def test_policy_covers_every_call(settings, monkeypatch):
    # given: record every operation any lab client performs
    performed: set[str] = set()
    session = aws._session(settings.target, settings.region)
    session.events.register("before-call.*.*", lambda model, **_: performed.add(
        iam_action(model.service_model.service_name, model.name)))
    # when: the lab's AWS calls, end to end, and the grader's
    registry.ensure_repository(settings)
    lambdas.ensure_log_group(settings)
    deployed = function.deploy(settings, IMAGE, function.ensure_role(settings))
    function.deploy(settings.with_overrides(memory_mb=2048), IMAGE, deployed["Role"])
    gateway.ensure_api(settings, deployed["FunctionArn"])
    gateway.ensure_api(settings, deployed["FunctionArn"])
    timing.force_cold_start(settings)
    session.events.register("before-call.lambda.*", provisioned_concurrency_moto_lacks)
    provisioned.enable(settings)
    provisioned.disable(settings)
    aws.client(settings, "logs").filter_log_events(logGroupName=settings.log_group)
    aws.client(settings, "sts").get_caller_identity()
    cleanup.clean_up(settings)
    tagged_leftovers(Context(settings))
    # then
    missing = sorted(performed - allowed_actions())
    assert not missing, f"docs/iam-policy.json lacks {missing}"
    assert len(performed) > 25


def test_policy_names_only_the_lab_resources():
    statements = json.loads(POLICY.read_text())["Statement"]
    resources = {r for s in statements for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])}
    scoped = [r for r in resources if r != "*"]
    assert all(re.search(r"serverless-iris|apigateway", r) for r in scoped)
