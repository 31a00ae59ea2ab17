"""Step 4: push the image to an Amazon ECR repository.

    python -m lab_solution.registry

Creates the repository once (scan on push, a lifecycle policy that keeps the last
few images), logs Docker in with a temporary ECR token, tags and pushes the image,
and returns its digest: the immutable name the function will run.
"""

from __future__ import annotations

import base64
import json
import re
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import requests
from tqdm import tqdm

from . import aws, config, dockercli, image
from .config import Settings
from .errors import LabError, run_cli

TAG = "latest"
KEEP_IMAGES = 5
LIFECYCLE_POLICY = {
    "rules": [{
        "rulePriority": 1,
        "description": f"keep the last {KEEP_IMAGES} images",
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": KEEP_IMAGES},
        "action": {"type": "expire"},
    }]
}


@dataclass(frozen=True)
class PushedImage:
    repository_uri: str
    tag: str
    digest: str

    @property
    def uri(self) -> str:
        """The image by digest, ``REPOSITORY@sha256:…``: what Lambda should run."""
        return f"{self.repository_uri}@{self.digest}"


def ensure_repository(settings: Settings) -> dict:
    """Create the ECR repository, or return it if it exists; either way apply our policies."""
    ecr = aws.client(settings, "ecr")
    with aws.explained(settings, f"creating ECR repository {settings.repository}"):
        # BEGIN SOLUTION: set repository: create_repository(...) with scan-on-push and the lab tags, or on RepositoryAlreadyExistsException the one describe_repositories() returns.
        try:
            repository = ecr.create_repository(
                repositoryName=settings.repository,
                imageScanningConfiguration={"scanOnPush": True},
                imageTagMutability="MUTABLE",
                tags=[{"Key": k, "Value": v} for k, v in settings.tags.items()],
            )["repository"]
        except ecr.exceptions.RepositoryAlreadyExistsException:
            repository = ecr.describe_repositories(repositoryNames=[settings.repository])["repositories"][0]
        # END SOLUTION
        ecr.put_lifecycle_policy(repositoryName=settings.repository, lifecyclePolicyText=json.dumps(LIFECYCLE_POLICY))
    return repository


def docker_login(settings: Settings) -> str:
    """Log Docker in to the registry with a 12-hour ECR token; returns the registry address."""
    ecr = aws.client(settings, "ecr")
    with aws.explained(settings, "getting an ECR login token"):
        auth = ecr.get_authorization_token()["authorizationData"][0]
    # BEGIN SOLUTION: set registry (proxyEndpoint without https://); the token is base64("AWS:<password>"): pass the password to dockercli.run(["login", "--username", "AWS", "--password-stdin", registry], ..., input=password).
    user, password = base64.b64decode(auth["authorizationToken"]).decode().split(":", 1)
    registry = re.sub(r"^https?://", "", auth["proxyEndpoint"])
    dockercli.run(["login", "--username", user, "--password-stdin", registry], what="login", input=password)
    # END SOLUTION
    return registry


def push(settings: Settings, repository_uri: str, local_tag: str) -> PushedImage:
    """Tag the local image into the repository and push it, with one progress step per layer."""
    target = f"{repository_uri}:{TAG}"
    dockercli.run(["tag", local_tag, target], what="tag")
    layers = image.describe(local_tag).filesystem_layers
    digest = None
    with tqdm(total=layers, desc=f"pushing {target}", unit="layer") as bar:
        def on_line(line: str) -> None:
            nonlocal digest
            if re.search(r": (Pushed|Layer already exists|Mounted from)", line) and bar.n < bar.total:
                bar.update(1)
            if found := re.search(r"digest: (sha256:[0-9a-f]{64})", line):
                digest = found[1]

        dockercli.stream(["push", target], what="push", on_line=on_line)
        bar.n = bar.total
    if digest is None:
        raise LabError(f"docker push {target} did not report a digest")
    return PushedImage(repository_uri, TAG, digest)


def register_staged_code(settings: Settings, context) -> PushedImage:
    """Host mode (local target, no Docker): stream the staged folder to the stand-in, which makes it an image."""
    if settings.target != "local":
        raise LabError("pushing to Amazon ECR needs a Docker engine; install Docker and run this step again")
    with tempfile.TemporaryFile() as archive:  # a tar of the folder's files, sent as the request body
        with tarfile.open(fileobj=archive, mode="w") as tar:
            for path in sorted(Path(context).rglob("*")):
                if "__pycache__" not in path.parts:
                    tar.add(path, arcname=path.relative_to(context).as_posix(), recursive=False)
        archive.seek(0)
        response = requests.post(f"{settings.endpoint_url}/_localcloud/host-images", data=archive, timeout=120,
                                 headers={"Content-Type": "application/x-tar"},
                                 params={"repositoryName": settings.repository, "imageTag": TAG,
                                         "command": image.HANDLER, "architecture": settings.architecture})
    if not response.ok:
        raise LabError(f"the local stand-in refused the staged code: {response.text[:200]}")
    answer = response.json()
    return PushedImage(answer["imageUri"].rsplit(":", 1)[0], TAG, answer["imageDigest"])


def publish(settings: Settings) -> PushedImage:
    """Everything step 4 does: repository, login, push (or host-mode registration)."""
    repository = ensure_repository(settings)
    if image.uses_docker(settings):
        docker_login(settings)
        return push(settings, repository["repositoryUri"], image.local_tag(settings))
    return register_staged_code(settings, settings.image_context)


def latest(settings: Settings) -> PushedImage:
    """The image most recently pushed under :data:`TAG`, as ECR knows it."""
    ecr = aws.client(settings, "ecr")
    with aws.explained(settings, f"looking up {settings.repository}:{TAG} in ECR"):
        try:
            repository = ecr.describe_repositories(repositoryNames=[settings.repository])["repositories"][0]
            found = ecr.describe_images(repositoryName=settings.repository, imageIds=[{"imageTag": TAG}])
        except (ecr.exceptions.RepositoryNotFoundException, ecr.exceptions.ImageNotFoundException):
            raise LabError(f"no image {settings.repository}:{TAG} in ECR yet: push it first (step 4)") from None
    return PushedImage(repository["repositoryUri"], TAG, found["imageDetails"][0]["imageDigest"])


def main() -> int:
    settings = config.load()
    pushed = publish(settings)
    print(f"pushed {pushed.repository_uri}:{pushed.tag}\nimage URI for Lambda: {pushed.uri}")
    return 0


if __name__ == "__main__":
    run_cli(main)
