"""Container image names of Google's registries, served by the stand-in's one registry.

On Google Cloud a service runs ``REGION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE[:TAG]``
(Artifact Registry) or ``gcr.io/PROJECT/IMAGE`` (Container Registry, also ``us.gcr.io`` ...).
Locally the same name is a repository path in the stand-in's registry:
``127.0.0.1:PORT/asia-south1-docker.pkg.dev/PROJECT/REPO/IMAGE`` is what ``docker push``
targets, and a service may name the image either way.
"""

from __future__ import annotations

import re

GOOGLE_REPOSITORY = re.compile(r"^(?:[a-z0-9-]+-docker\.pkg\.dev/[^/]+/[^/]+|(?:[a-z]+\.)?gcr\.io/[^/]+)/.+")


def is_google(repository: str) -> bool:
    """Whether a registry repository path is an Artifact Registry or gcr.io image name."""
    return bool(GOOGLE_REPOSITORY.match(repository))


def local_reference(image: str, registry_host: str) -> str:
    """The reference the local engine pulls for a service's image."""
    return image if image.startswith(registry_host + "/") else f"{registry_host}/{image}"


class Repositories:
    """ECR's push rules for ECR's repositories (wrapping the ECR hook the registry proxy uses);
    Google's image paths need no repository created first (gcr.io creates them on push)."""

    def __init__(self, ecr):
        self.ecr = ecr
        self.account = ecr.account

    def repository_exists(self, name: str) -> bool:
        return is_google(name) or self.ecr.repository_exists(name)

    def push_error(self, name: str, reference: str, manifest: bytes, digest: str) -> str | None:
        return None if is_google(name) else self.ecr.push_error(name, reference, manifest, digest)

    def record_push(self, name: str, reference: str, media_type: str, manifest: bytes, digest: str) -> None:
        if not is_google(name):
            self.ecr.record_push(name, reference, media_type, manifest, digest)
