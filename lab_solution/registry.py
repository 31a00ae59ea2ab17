"""Step 4: push the image to an Amazon ECR repository.

    python -m lab_solution.registry

Creates the repository once (scan on push, a lifecycle policy that keeps the last
few images), logs Docker in with a temporary ECR token, tags and pushes the image,
and returns its digest: the immutable name the function will run.
"""

from __future__ import annotations

import json

from labkit import aws, config, dockercli, ecr, images, localtarget
from labkit.config import Settings
from labkit.ecr import TAG, PushedImage
from labkit.errors import run_cli

KEEP_IMAGES = 5
LIFECYCLE_POLICY = {
    "rules": [{
        "rulePriority": 1,
        "description": f"keep the last {KEEP_IMAGES} images",
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": KEEP_IMAGES},
        "action": {"type": "expire"},
    }]
}


def ensure_repository(settings: Settings) -> dict:
    """Create the ECR repository, or return it if it exists; either way apply our lifecycle policy.

    Returns:
        The repository as ECR describes it (``repositoryName``, ``repositoryUri``, ``repositoryArn``, …).
    """
    client = aws.client(settings, "ecr")
    with aws.explained(settings, f"creating ECR repository {settings.repository}"):
        # BEGIN SOLUTION: create the repository with scan on push and the lab's tags (ECR wants tags as a list of {'Key': ..., 'Value': ...} dicts, not a dict: boto3's ECR create_repository page, parameter tags); if it exists, ECR raises RepositoryAlreadyExistsException and describe_repositories() gives it.
        try:
            repository = client.create_repository(
                repositoryName=settings.repository,
                imageScanningConfiguration={"scanOnPush": True},
                imageTagMutability="MUTABLE",
                tags=[{"Key": k, "Value": v} for k, v in settings.tags.items()],
            )["repository"]
        except client.exceptions.RepositoryAlreadyExistsException:
            repository = client.describe_repositories(repositoryNames=[settings.repository])["repositories"][0]
        # END SOLUTION
        client.put_lifecycle_policy(repositoryName=settings.repository, lifecyclePolicyText=json.dumps(LIFECYCLE_POLICY))
    return repository


def push(settings: Settings, repository_uri: str, local_tag: str) -> PushedImage:
    """Log Docker in to ECR, tag the local image ``REPOSITORY_URI:latest`` and push it.

    Returns:
        ``PushedImage(repository_uri, TAG, digest)``: the digest ``docker push`` reported.
    """
    # BEGIN SOLUTION: docker pushes an image to the registry its name starts with: log Docker in to ECR, give the local image a second name REPOSITORY_URI:TAG, push that name and return the digest it reports (helpers in labkit.ecr and labkit.dockercli; read their docstrings).
    ecr.docker_login(settings)
    target = f"{repository_uri}:{TAG}"
    dockercli.run(["tag", local_tag, target], what="tag")
    digest = ecr.push(target, local_tag)
    # END SOLUTION
    return PushedImage(repository_uri, TAG, digest)


def publish(settings: Settings) -> PushedImage:
    """Everything step 4 does: repository, login, push (or, with no Docker engine, host-mode registration)."""
    repository = ensure_repository(settings)
    if images.uses_docker(settings):
        return push(settings, repository["repositoryUri"], images.local_tag(settings))
    return localtarget.register_staged_code(settings, settings.image_context)


def main() -> int:
    settings = config.load()
    pushed = publish(settings)
    print(f"pushed {pushed.repository_uri}:{pushed.tag}\nimage URI for Lambda: {pushed.uri}")
    return 0


if __name__ == "__main__":
    run_cli(main)
