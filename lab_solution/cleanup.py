"""Step 8: delete what the lab created, and nothing else.

    python -m lab_solution.cleanup --dry-run   # print the plan
    python -m lab_solution.cleanup             # carry it out, then list anything left

Resources are found by the lab's names *and* its ``lab=serverless-iris`` tag, so a
function or repository that merely shares a name is left alone. Safe to run twice:
the second run finds nothing to do.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from collections.abc import Callable

from . import aws, config, gateway
from .config import Settings
from .errors import run_cli


@dataclass(frozen=True)
class Resource:
    kind: str
    name: str
    delete: Callable[[], object]

    def __str__(self) -> str:
        return f"{self.kind:<22} {self.name}"


def plan(settings: Settings) -> list[Resource]:
    """Everything of the lab's that exists now, in the order it must be deleted."""
    found: list[Resource] = []
    with aws.explained(settings, "listing the lab's resources"):
        # BEGIN SOLUTION: find the API, the function (and its API permission), the log group, the role and the repository, each checked for the lab tag.
        apigw = aws.client(settings, "apigatewayv2")
        api = gateway.find_api(settings, apigw)
        if api:
            found.append(Resource("HTTP API", f"{api['Name']} ({api['ApiId']})", lambda: apigw.delete_api(ApiId=api["ApiId"])))
        found += _function(settings)
        found += _log_group(settings)
        found += _role(settings)
        found += _repository(settings)
        # END SOLUTION
    return found


def _tagged(tags: dict, settings: Settings) -> bool:
    return all(tags.get(key) == value for key, value in settings.tags.items())


def _function(settings: Settings) -> list[Resource]:
    awslambda = aws.client(settings, "lambda")
    try:
        function = awslambda.get_function(FunctionName=settings.function_name)
    except awslambda.exceptions.ResourceNotFoundException:
        return []
    if not _tagged(function.get("Tags", {}), settings):
        return []
    name = settings.function_name
    found = []
    try:
        if gateway.STATEMENT_ID in awslambda.get_policy(FunctionName=name)["Policy"]:
            found.append(Resource("Lambda permission", f"{name}/{gateway.STATEMENT_ID}", lambda: awslambda.remove_permission(
                FunctionName=name, StatementId=gateway.STATEMENT_ID)))
    except awslambda.exceptions.ResourceNotFoundException:
        pass  # no resource policy at all
    found.append(Resource("Lambda function", name, lambda: awslambda.delete_function(FunctionName=name)))
    return found


def _log_group(settings: Settings) -> list[Resource]:
    logs = aws.client(settings, "logs")
    groups = logs.describe_log_groups(logGroupNamePrefix=settings.log_group)["logGroups"]
    group = next((g for g in groups if g["logGroupName"] == settings.log_group), None)
    if group is None or not _tagged(logs.list_tags_log_group(logGroupName=settings.log_group)["tags"], settings):
        return []
    return [Resource("CloudWatch log group", settings.log_group, lambda: logs.delete_log_group(logGroupName=settings.log_group))]


def _role(settings: Settings) -> list[Resource]:
    iam = aws.client(settings, "iam")
    try:
        iam.get_role(RoleName=settings.role_name)
    except iam.exceptions.NoSuchEntityException:
        return []
    if not _tagged({t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=settings.role_name)["Tags"]}, settings):
        return []

    def delete_role():
        for policy in iam.list_attached_role_policies(RoleName=settings.role_name)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=settings.role_name, PolicyArn=policy["PolicyArn"])
        for name in iam.list_role_policies(RoleName=settings.role_name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=settings.role_name, PolicyName=name)
        iam.delete_role(RoleName=settings.role_name)

    return [Resource("IAM role", f"{settings.role_name} (and its policy attachments)", delete_role)]


def _repository(settings: Settings) -> list[Resource]:
    ecr = aws.client(settings, "ecr")
    try:
        repository = ecr.describe_repositories(repositoryNames=[settings.repository])["repositories"][0]
    except ecr.exceptions.RepositoryNotFoundException:
        return []
    tags = {t["Key"]: t["Value"] for t in ecr.list_tags_for_resource(resourceArn=repository["repositoryArn"])["tags"]}
    if not _tagged(tags, settings):
        return []
    images = len(ecr.describe_images(repositoryName=settings.repository)["imageDetails"])
    return [Resource("ECR repository", f"{settings.repository} ({images} image{'' if images == 1 else 's'})",
                     lambda: ecr.delete_repository(repositoryName=settings.repository, force=True))]


def clean_up(settings: Settings, dry_run: bool = False) -> tuple[list[Resource], list[Resource]]:
    """Delete the planned resources (unless ``dry_run``); returns (planned, still there afterwards)."""
    planned = plan(settings)
    if dry_run:
        return planned, planned
    for resource in planned:
        with aws.explained(settings, f"deleting {resource.kind} {resource.name}"):
            resource.delete()
    return planned, plan(settings)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m lab_solution.cleanup", description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="only print what would be deleted")
    args = parser.parse_args()
    settings = config.load()
    planned, left = clean_up(settings, args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    print("\n".join(f"{verb}  {r}" for r in planned) or "nothing of the lab's exists")
    if not args.dry_run:
        print("left behind: " + (", ".join(str(r) for r in left) if left else "nothing"))
    return 1 if left and not args.dry_run else 0


if __name__ == "__main__":
    run_cli(main)
