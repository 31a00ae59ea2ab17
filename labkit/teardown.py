"""Finding what the lab created, for step 8 and the grader: each resource checked for the lab's tag.

Only resources that carry every tag of ``settings.tags`` are listed, so cleanup can never
delete something the lab did not create, even one with the same name.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import apis, aws
from .bilingual import say
from .config import Settings

# The kinds, in the order they must be deleted: what points at a thing goes before it.
API, PERMISSION, FUNCTION, LOG_GROUP, ROLE, REPOSITORY = (
    "HTTP API", "Lambda permission", "Lambda function", "CloudWatch log group", "IAM role", "ECR repository")
CLOUD_RUN = "Cloud Run service"  # step 9's, on the local target (the stand-in) and on gcp


@dataclass(frozen=True)
class Resource:
    kind: str  # one of the kinds above
    name: str  # what AWS calls it: the API id, the function or role name, the log group, the repository
    detail: str = ""  # a note for people, e.g. how many images a repository holds

    def __str__(self) -> str:
        return f"{self.kind:<22} {self.name}" + (f" ({self.detail})" if self.detail else "")


def plan(settings: Settings) -> list[Resource]:
    """Everything of the lab's that exists now, in the order it must be deleted."""
    if settings.target == "gcp":
        return _cloud_run(settings)
    with aws.explained(settings, say("listing the lab's resources", "lab-এর resource-গুলোর তালিকা করা")):
        aws_side = [*_api(settings), *_function(settings), *_log_group(settings), *_role(settings), *_repository(settings)]
    return [*(_cloud_run(settings) if settings.target == "local" else []), *aws_side]


def _cloud_run(settings: Settings) -> list[Resource]:
    from google.api_core import exceptions

    from . import gcp

    with gcp.explained(settings, say("looking up the lab's Cloud Run service", "lab-এর Cloud Run service খোঁজা")):
        try:
            service = gcp.services_client(settings).get_service(name=gcp.service_name(settings))
        except exceptions.NotFound:
            return []
    if not _tagged(dict(service.labels), settings):
        return []
    return [Resource(CLOUD_RUN, settings.cloud_run_service, f"in {settings.gcp_region}")]


def delete_cloud_run(settings: Settings) -> None:
    """Delete step 9's Cloud Run service and wait for the operation."""
    from . import gcp

    with gcp.explained(settings, say(f"deleting Cloud Run service {settings.cloud_run_service}",
                                     f"Cloud Run service {settings.cloud_run_service} মুছে ফেলা")):
        gcp.services_client(settings).delete_service(name=gcp.service_name(settings)).result(
            timeout=gcp.DEPLOY_TIMEOUT_S)


def _tagged(tags: dict, settings: Settings) -> bool:
    return all(tags.get(key) == value for key, value in settings.tags.items())


def _api(settings: Settings) -> list[Resource]:
    api = apis.find_api(settings, aws.client(settings, "apigatewayv2"))
    return [Resource(API, api["ApiId"], api["Name"])] if api else []


def _function(settings: Settings) -> list[Resource]:
    awslambda = aws.client(settings, "lambda")
    name = settings.function_name
    try:
        function = awslambda.get_function(FunctionName=name)
    except awslambda.exceptions.ResourceNotFoundException:
        return []
    if not _tagged(function.get("Tags", {}), settings):
        return []
    found = []
    try:
        if apis.STATEMENT_ID in awslambda.get_policy(FunctionName=name)["Policy"]:
            found.append(Resource(PERMISSION, apis.STATEMENT_ID, f"on {name}"))
    except awslambda.exceptions.ResourceNotFoundException:
        pass  # no resource policy at all
    return [*found, Resource(FUNCTION, name)]


def _log_group(settings: Settings) -> list[Resource]:
    logs = aws.client(settings, "logs")
    groups = logs.describe_log_groups(logGroupNamePrefix=settings.log_group)["logGroups"]
    if not any(g["logGroupName"] == settings.log_group for g in groups):
        return []
    if not _tagged(logs.list_tags_log_group(logGroupName=settings.log_group)["tags"], settings):
        return []
    return [Resource(LOG_GROUP, settings.log_group)]


def _role(settings: Settings) -> list[Resource]:
    iam = aws.client(settings, "iam")
    try:
        iam.get_role(RoleName=settings.role_name)
    except iam.exceptions.NoSuchEntityException:
        return []
    if not _tagged({t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=settings.role_name)["Tags"]}, settings):
        return []
    return [Resource(ROLE, settings.role_name, "and its policy attachments")]


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
    return [Resource(REPOSITORY, settings.repository, f"{images} image{'' if images == 1 else 's'}")]
