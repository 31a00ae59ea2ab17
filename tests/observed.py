"""What a test reads after notebooks ran: the text of a cell's outputs, and what the lab left in the cloud."""

from __future__ import annotations

import json
import re

from labkit import aws, config

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def cell_text(cell) -> str:
    """Everything a code cell showed (streams, results, errors), without colour codes."""
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts += [str(v) for k, v in output.get("data", {}).items() if k == "text/plain"]
        parts += output.get("traceback", []) + [output.get("evalue", "")]
    return ANSI.sub("", "\n".join(parts))


def inventory(settings: config.Settings) -> dict[str, int]:
    """How many of each lab resource the cloud holds."""
    apigw, awslambda, ecr = (aws.client(settings, s) for s in ("apigatewayv2", "lambda", "ecr"))
    apis = [a for a in apigw.get_apis()["Items"] if a["Name"] == settings.api_name]
    policy = json.loads(awslambda.get_policy(FunctionName=settings.function_name)["Policy"])
    return {
        "repositories": len(ecr.describe_repositories()["repositories"]),
        "images": len(ecr.describe_images(repositoryName=settings.repository)["imageDetails"]),
        "roles": len([r for r in aws.client(settings, "iam").list_roles()["Roles"] if r["RoleName"] == settings.role_name]),
        "functions": len(awslambda.list_functions()["Functions"]),
        "log groups": len(aws.client(settings, "logs").describe_log_groups()["logGroups"]),
        "apis": len(apis),
        "routes": len(apigw.get_routes(ApiId=apis[0]["ApiId"])["Items"]),
        "integrations": len(apigw.get_integrations(ApiId=apis[0]["ApiId"])["Items"]),
        "stages": len(apigw.get_stages(ApiId=apis[0]["ApiId"])["Items"]),
        "permissions": len(policy["Statement"]),
    }


def provisioned_leftovers(settings: config.Settings) -> dict[str, list]:
    """What notebook 07's provisioned-concurrency experiment could leave: aliases, versions, configurations."""
    awslambda, name = aws.client(settings, "lambda"), settings.function_name
    return {"aliases": awslambda.list_aliases(FunctionName=name)["Aliases"],
            "versions": [v["Version"] for v in awslambda.list_versions_by_function(FunctionName=name)["Versions"]],
            "configs": awslambda.list_provisioned_concurrency_configs(FunctionName=name)["ProvisionedConcurrencyConfigs"]}


NOTHING_PROVISIONED = {"aliases": [], "versions": ["$LATEST"], "configs": []}
