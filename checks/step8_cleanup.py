"""Step 8: nothing carrying the lab tag is left, cleaning up again is harmless, and delete() removes only what it is given."""

from __future__ import annotations

import contextlib
import json
import secrets

from labkit.lambdas import TRUST_POLICY
from labkit.teardown import API, LOG_GROUP, REPOSITORY, ROLE

from .framework import CheckFailed, CheckSkipped, Plan, joined, say, step

STEP = step(8)
DELETE = "cleanup.py:delete"


@STEP.observe
def plan(ctx) -> Plan:
    """The grader looks first (what is left), then the student's cleanup runs a second time."""
    left = tagged_leftovers(ctx)
    decoys, bystanders, problem = make_decoys(ctx)
    request = {"calls": ["clean_up_again", "delete_decoys"], "decoys": [[kind, name] for kind, name, _ in decoys]}

    def after(run) -> dict:
        return {"decoys": look_and_remove(run, decoys, bystanders, problem)}

    return Plan("calls", request, ctx.submission_files(), timeout=300, network=True, lab_environment=True,
                secret={"left": left}, after=after)


# Decoys: resources of the lab's kinds, tagged like the lab's but under names of the grader's own, handed to
# the student's delete() one by one; bystanders: the same kinds, untagged, that no delete() may touch.


def make_decoys(ctx) -> tuple[list, list, str]:
    """(decoys, bystanders, problem): each a (kind, name the student's delete() gets, label) triple."""
    token = secrets.token_hex(4)
    made: dict[str, list] = {"decoy": [], "bystander": []}
    try:
        for role in made:
            tags = dict(ctx.settings.tags) if role == "decoy" else {"grader": "bystander"}
            name = f"grader-{role}-{token}"
            made[role].append((REPOSITORY, name, name))
            ctx.client("ecr").create_repository(repositoryName=name, tags=[{"Key": k, "Value": v} for k, v in tags.items()])
            made[role].append((LOG_GROUP, f"/aws/lambda/{name}", f"/aws/lambda/{name}"))
            ctx.client("logs").create_log_group(logGroupName=f"/aws/lambda/{name}", tags=tags)
            made[role].append((ROLE, name, name))
            ctx.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY),
                                          Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
            api_id = ctx.client("apigatewayv2").create_api(Name=name, ProtocolType="HTTP", Tags=tags)["ApiId"]
            made[role].append((API, api_id, name))
    except Exception as error:  # noqa: BLE001 - e.g. an account that may not create roles: the check is skipped
        return made["decoy"], made["bystander"], say(f"the grader could not create its decoys ({type(error).__name__})",
                                                     f"grader নিজের decoy বানাতে পারেনি ({type(error).__name__})")
    return made["decoy"], made["bystander"], ""


def exists(run, kind: str, name: str) -> bool:
    if kind == REPOSITORY:
        ecr = run.client("ecr")
        try:
            return bool(ecr.describe_repositories(repositoryNames=[name])["repositories"])
        except ecr.exceptions.RepositoryNotFoundException:
            return False
    if kind == LOG_GROUP:
        groups = run.client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        return any(g["logGroupName"] == name for g in groups)
    if kind == ROLE:
        iam = run.client("iam")
        try:
            return bool(iam.get_role(RoleName=name))
        except iam.exceptions.NoSuchEntityException:
            return False
    apigw = run.client("apigatewayv2")
    try:
        return bool(apigw.get_api(ApiId=name))
    except apigw.exceptions.NotFoundException:
        return False


def remove(run, kind: str, name: str) -> None:
    with contextlib.suppress(Exception):
        if kind == REPOSITORY:
            run.client("ecr").delete_repository(repositoryName=name, force=True)
        elif kind == LOG_GROUP:
            run.client("logs").delete_log_group(logGroupName=name)
        elif kind == ROLE:
            run.client("iam").delete_role(RoleName=name)
        else:
            run.client("apigatewayv2").delete_api(ApiId=name)


def look_and_remove(run, decoys: list, bystanders: list, problem: str) -> dict:
    """What the student's delete() left of the decoys and took of the bystanders; then neither is left."""
    try:
        if problem:
            return {"problem": problem}
        return {"kept": [f"{kind} {label}" for kind, name, label in decoys if exists(run, kind, name)],
                "taken": [f"{kind} {label}" for kind, name, label in bystanders if not exists(run, kind, name)]}
    except Exception as error:  # noqa: BLE001
        return {"problem": say(f"the grader could not look at its decoys ({type(error).__name__})",
                               f"grader নিজের decoy দেখতে পারেনি ({type(error).__name__})")}
    finally:
        for kind, name, _ in [*decoys, *bystanders]:
            remove(run, kind, name)


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
    from labkit import gcp

    services = gcp.services_client(run.settings).list_services(parent=gcp.parent(run.settings))
    return [f"Cloud Run service {s.name.rsplit('/', 1)[1]}" for s in services if has_tag(dict(s.labels))]


@STEP.check("nothing tagged lab=serverless-iris remains", points=3, todos=(DELETE,),
            hint="Delete the API, the permission, the function, its log group, the role (detach its policies first), "
                 "the repository (force=True deletes its images) and, after step 9, the Cloud Run service.")
def nothing_left(run):
    left = run.plan.secret["left"]  # looked up before the second cleanup ran
    if left:
        api, name = f"HTTP API {run.settings.api_name}", run.settings.api_name
        again = say(f"; {left.count(api)} HTTP APIs named {name}: if step 6's ensure_api() created a new API on each "
                    "run instead of finding the existing one, fix it there (cleanup deletes the one it finds)",
                    f"; {name} নামে {left.count(api)}টা HTTP API: ধাপ 6-এর ensure_api() যদি আগেরটা খুঁজে না নিয়ে "
                    "প্রতিবার নতুন API বানিয়ে থাকে, সেখানে ঠিক করো (cleanup যেটা খুঁজে পায় সেটাই মোছে)") if api in left else ""
        raise CheckFailed(say("still there: ", "এখনো রয়ে গেছে: ") + ", ".join(left) + again)


@STEP.check("cleaning up a second time is harmless", points=1, todos=(DELETE,), needs="nothing tagged lab=serverless-iris remains",
            hint="Look resources up before deleting them; a missing resource is not an error.")
def idempotent(run):
    again = run.value("clean_up_again")
    if again["planned"] or again["left"]:
        raise CheckFailed(say(f"a second run planned {again['planned'][:5]}",
                              f"দ্বিতীয়বার চালালে plan-এ এসেছে {again['planned'][:5]}"))


@STEP.check("delete() removes exactly the resource it is given, and nothing else", points=2, todos=(DELETE,),
            hint="Delete by resource.name with the call of resource.kind; never list and delete everything of a kind.")
def exactly_that(run):
    deleted = run.value("delete_decoys")
    decoys = run.facts.get("decoys", {})
    if decoys.get("problem"):
        raise CheckSkipped(decoys["problem"])
    failed = [d for d in deleted if isinstance(d, dict) and "error" in d]
    problems = []
    if failed:
        problems.append(say(f"it failed on {failed[0]['resource']}: {failed[0]['error']}",
                            f"{failed[0]['resource']}-এ ব্যর্থ হয়েছে: {failed[0]['error']}"))
    if decoys.get("kept"):
        problems.append(say(f"it left {', '.join(decoys['kept'])}", f"রেখে দিয়েছে {', '.join(decoys['kept'])}"))
    if decoys.get("taken"):
        problems.append(say(f"it also deleted {', '.join(decoys['taken'])}, which it was not given",
                            f"{', '.join(decoys['taken'])}-ও মুছেছে, যা তাকে দেওয়াই হয়নি"))
    if problems:
        raise CheckFailed(say("given the grader's own resources: ", "grader-এর নিজের resource দেওয়া হলে: ") +
                          joined(problems))
