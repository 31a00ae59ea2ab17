"""Step 8: delete what the lab created, and nothing else.

    python -m lab_solution.cleanup --dry-run   # print the plan
    python -m lab_solution.cleanup             # carry it out, then list anything left

Resources are found by the lab's names *and* its ``lab=serverless-iris`` tag
(``labkit.teardown.plan``), so a function or repository that merely shares a name is
left alone. Safe to run twice: the second run finds nothing to do.
"""

from __future__ import annotations

import argparse

from labkit import aws, config, teardown
from labkit.config import Settings
from labkit.errors import run_cli
from labkit.teardown import Resource


def delete(settings: Settings, resource: Resource) -> None:
    """Delete one resource of the plan, with the API call its kind needs.

    ``resource.kind`` is one of ``teardown.API``, ``PERMISSION``, ``FUNCTION``, ``LOG_GROUP``, ``ROLE``,
    ``REPOSITORY``; ``resource.name`` is the API id, the statement id, the function name, the log group
    name, the role name or the repository name. A role must lose its attached policies before it can go;
    a repository that still holds images needs ``force=True``.
    """
    # BEGIN SOLUTION: one call per kind: delete_api, remove_permission, delete_function, delete_log_group, detach_role_policy for each attached policy then delete_role, delete_repository(force=True).
    if resource.kind == teardown.API:
        aws.client(settings, "apigatewayv2").delete_api(ApiId=resource.name)
    elif resource.kind == teardown.PERMISSION:
        aws.client(settings, "lambda").remove_permission(FunctionName=settings.function_name, StatementId=resource.name)
    elif resource.kind == teardown.FUNCTION:
        aws.client(settings, "lambda").delete_function(FunctionName=resource.name)
    elif resource.kind == teardown.LOG_GROUP:
        aws.client(settings, "logs").delete_log_group(logGroupName=resource.name)
    elif resource.kind == teardown.ROLE:
        iam = aws.client(settings, "iam")
        for policy in iam.list_attached_role_policies(RoleName=resource.name)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=resource.name, PolicyArn=policy["PolicyArn"])
        iam.delete_role(RoleName=resource.name)
    elif resource.kind == teardown.REPOSITORY:
        aws.client(settings, "ecr").delete_repository(repositoryName=resource.name, force=True)
    # END SOLUTION


def clean_up(settings: Settings, dry_run: bool = False) -> tuple[list[Resource], list[Resource]]:
    """Delete the planned resources (unless ``dry_run``); returns (planned, still there afterwards)."""
    planned = teardown.plan(settings)
    if dry_run:
        return planned, planned
    for resource in planned:
        with aws.explained(settings, f"deleting {resource.kind} {resource.name}"):
            if resource.kind == teardown.CLOUD_RUN:  # step 9's service: given, not part of this step's TODO
                teardown.delete_cloud_run(settings)
            else:
                delete(settings, resource)
    return planned, teardown.plan(settings)


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
