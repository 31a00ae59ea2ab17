"""Step 8: nothing carrying the lab tag is left, and cleaning up again is harmless."""

from __future__ import annotations

from .framework import CheckFailed, Plan, step

STEP = step(8)
DELETE = "cleanup.py:delete"


@STEP.observe
def plan(ctx) -> Plan:
    """The grader looks first (what is left), then the student's cleanup runs a second time."""
    left = tagged_leftovers(ctx)
    return Plan("code", {"calls": ["clean_up_again"]}, ctx.submission_files(), timeout=300, network=True,
                secret={"left": left})


def tagged_leftovers(run) -> list[str]:
    """Every resource of the lab's kinds that carries the lab tag, whatever its name."""
    tag = dict(run.settings.tags)

    def has_tag(tags: dict) -> bool:
        return all(tags.get(k) == v for k, v in tag.items())

    def every(client, operation: str, key: str, **kwargs):
        return [item for page in client.get_paginator(operation).paginate(**kwargs) for item in page[key]]

    left = []
    ecr = run.client("ecr")
    for repo in every(ecr, "describe_repositories", "repositories"):
        tags = {t["Key"]: t["Value"] for t in ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"]}
        left += [f"ECR repository {repo['repositoryName']}"] if has_tag(tags) else []
    awslambda = run.client("lambda")
    for function in every(awslambda, "list_functions", "Functions"):
        tags = awslambda.list_tags(Resource=function["FunctionArn"]).get("Tags", {})
        left += [f"Lambda function {function['FunctionName']}"] if has_tag(tags) else []
    for api in every(run.client("apigatewayv2"), "get_apis", "Items"):
        left += [f"HTTP API {api['Name']}"] if has_tag(api.get("Tags", {})) else []
    iam = run.client("iam")
    for role in every(iam, "list_roles", "Roles"):
        if role["RoleName"].startswith(run.settings.name):  # tags are per-role calls: only ours
            tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=role["RoleName"])["Tags"]}
            left += [f"IAM role {role['RoleName']}"] if has_tag(tags) else []
    logs = run.client("logs")
    for group in every(logs, "describe_log_groups", "logGroups", logGroupNamePrefix=f"/aws/lambda/{run.settings.name}"):
        tags = logs.list_tags_log_group(logGroupName=group["logGroupName"])["tags"]
        left += [f"log group {group['logGroupName']}"] if has_tag(tags) else []
    return left + cloud_run_leftovers(run, has_tag)


def cloud_run_leftovers(run, has_tag) -> list[str]:
    """Step 9's Cloud Run services carrying the lab label (on the local target: the stand-in's)."""
    if run.settings.target != "local":
        return []
    from labkit import cloudrun

    services = cloudrun.services_client(run.settings).list_services(parent=cloudrun.parent(run.settings))
    return [f"Cloud Run service {s.name.rsplit('/', 1)[1]}" for s in services if has_tag(dict(s.labels))]


@STEP.check("nothing tagged lab=serverless-iris remains", points=3, todos=(DELETE,),
            hint="Delete the API, the permission, the function, its log group, the role (detach its policies first), "
                 "the repository (force=True deletes its images) and, after step 9, the Cloud Run service.")
def nothing_left(run):
    left = run.plan.secret["left"]  # looked up before the second cleanup ran
    if left:
        raise CheckFailed("still there: " + ", ".join(left))


@STEP.check("cleaning up a second time is harmless", points=1, todos=(DELETE,), needs="nothing tagged lab=serverless-iris remains",
            hint="Look resources up before deleting them; a missing resource is not an error.")
def idempotent(run):
    again = run.value("clean_up_again")
    if again["planned"] or again["left"]:
        raise CheckFailed(f"a second run planned {again['planned'][:5]}")
