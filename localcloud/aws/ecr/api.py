"""ECR control plane fixes: URIs that point at the edge, and a registry that follows ECR.

* ``repositoryUri`` / ``proxyEndpoint`` name the edge (``127.0.0.1:4566/NAME``), not
  ``ACCOUNT.dkr.ecr.REGION.amazonaws.com``; the auth token is valid for 12 hours, as AWS's.
* An image pushed with ``docker push`` is recorded in ECR (``describe_images`` shows its
  tag, digest and size); ``batch_delete_image`` and ``delete_repository(force=True)``
  remove it from the registry too.
* ``PutImage`` (re-tagging an image, or putting a manifest list) writes the manifest to the
  registry first, so what ECR lists is what ``docker pull`` gets; a manifest whose layers or
  images the repository lacks is refused, as ECR refuses it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import time
from typing import TYPE_CHECKING

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ecr.exceptions import ImageAlreadyExistsException

from localcloud.aws import backends
from localcloud.aws.control import Call, Hook
from localcloud.aws.ecr.registry import REPOSITORY_NAME, TAG
from localcloud.aws.wire import (
    Answer,
    AwsError,
    ImageDigestDoesNotMatch,
    ImageTagAlreadyExists,
    InvalidParameter,
    LayersNotFound,
    ReferencedImagesNotFound,
)

if TYPE_CHECKING:
    from localcloud.cloud import Cloud

AWS_HOST = re.compile(rb"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com")
TOKEN_LIFETIME_S = 12 * 3600  # get-authorization-token: "valid for 12 hours"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEXES = ("application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.oci.image.index.v1+json")


class EcrHook(Hook):
    service = "ecr"

    def __init__(self, cloud: Cloud):
        self.registry = cloud.registry
        self.edge_host = cloud.edge_host.encode()
        self.lock = cloud.lock
        self.account = DEFAULT_ACCOUNT_ID  # the registry's id in ECR's messages

    def before(self, call: Call) -> Answer | None:
        refusal = self.invalid_parameter(call)
        if refusal:
            return refusal
        if call.action == "BatchDeleteImage":
            call.scratch["tags"] = self._tags_by_digest(call)
        if call.action == "PutImage":
            try:
                self._put_in_registry(call)
            except AwsError as error:
                return error.answer("json")
        return None

    def _put_in_registry(self, call: Call) -> None:
        """PutImage: the manifest under its tag (or digest) in the registry, before ECR records it with the
        manifest's true digest (moto makes one up from the layers' digests)."""
        request = call.json
        name, manifest = request.get("repositoryName", ""), request.get("imageManifest")
        if not isinstance(manifest, str) or not self.repository_exists(name):
            return  # moto answers ECR's error
        body = manifest.encode()
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        if request.get("imageDigest") not in (None, digest):
            raise ImageDigestDoesNotMatch("The specified image digest does not match the digest that Amazon ECR "
                                          "calculated for the image.")
        request["imageDigest"] = digest
        call.body = json.dumps(request).encode()
        tag = request.get("imageTag")
        if tag and (refusal := self.push_error(name, tag, body, digest)):
            raise ImageTagAlreadyExists(refusal)
        try:
            declared = json.loads(manifest).get("mediaType")
        except (ValueError, AttributeError):
            declared = None
        media_type = request.get("imageManifestMediaType") or declared or DOCKER_MANIFEST
        try:
            self.registry.put_manifest(name, tag or digest, media_type, body)
        except RuntimeError as error:
            missing = ReferencedImagesNotFound if media_type in INDEXES else LayersNotFound
            raise missing(f"The manifest of the image could not be stored in the repository '{name}': {error}") \
                from None

    def after(self, call: Call, answer: Answer) -> None:
        answer.body = AWS_HOST.sub(self.edge_host, answer.body).replace(b"https://" + self.edge_host,
                                                                         b"http://" + self.edge_host)
        if not answer.ok:
            return
        if call.action == "GetAuthorizationToken":
            document = answer.json()
            for item in document.get("authorizationData", []):
                item["expiresAt"] = time.time() + TOKEN_LIFETIME_S
            answer.set_json(document)
        elif call.action == "DescribeImages":
            answer.set_json(self._with_real_sizes(call, answer.json()))
        elif call.action == "BatchDeleteImage":
            self._follow_deletes(call.json["repositoryName"], call.scratch["tags"], self._tags_by_digest(call))
        elif call.action == "DeleteRepository":
            self.registry.delete_repository(call.json["repositoryName"])

    @staticmethod
    def invalid_parameter(call: Call) -> Answer | None:
        """ECR's refusal of a tag or repository name that breaks its pattern (tags and names reach the registry's
        storage as folder names, so nothing else may pass)."""
        checks = []
        if call.action in ("PutImage",) and call.json.get("imageTag") is not None:
            checks.append(("imageTag", call.json["imageTag"], TAG))
        if call.action in ("CreateRepository", "PutImage", "BatchDeleteImage", "DeleteRepository"):
            checks.append(("repositoryName", call.json.get("repositoryName", ""), REPOSITORY_NAME))
        for field, value, pattern in checks:
            if not isinstance(value, str) or not pattern.match(value):
                return InvalidParameter(f"Invalid parameter at '{field}' failed to satisfy constraint: 'must "
                                        f"satisfy regular expression '{pattern.pattern[1:-1]}''").answer("json")
        return None

    def _tags_by_digest(self, call: Call) -> dict[str, set[str]]:
        name = call.json.get("repositoryName", "")
        with self.lock:
            repository = backends.service("ecr", call.account, call.region).repositories.get(name)
            return {image.image_digest: set(image.image_tags) for image in (repository.images if repository else [])}

    def _follow_deletes(self, name: str, before: dict[str, set[str]], after: dict[str, set[str]]) -> None:
        for digest, tags in before.items():
            if digest not in after:
                self.registry.delete_manifest(name, digest)
            else:
                for tag in tags - after[digest]:
                    self.registry.delete_tag(name, tag)

    def _with_real_sizes(self, call: Call, document: dict) -> dict:
        """moto reports the config blob's size; ECR reports the image's (its layers, compressed)."""
        name = call.json.get("repositoryName", "")
        with self.lock:
            repository = backends.service("ecr", call.account, call.region).repositories.get(name)
            manifests = {image.image_digest: image.image_manifest for image in (repository.images if repository else [])}
        for detail in document.get("imageDetails", []):
            try:
                manifest = json.loads(manifests[detail["imageDigest"]])
                detail["imageSizeInBytes"] = sum(layer["size"] for layer in manifest.get("layers", []))
            except (KeyError, ValueError, TypeError):
                continue
        return document

    # -- called by the registry proxy -------------------------------------------------------
    def repository_exists(self, name: str) -> bool:
        with self.lock:
            return bool(backends.ecr_repositories(name))

    def record_push(self, name: str, reference: str, media_type: str, manifest: bytes, digest: str) -> None:
        """A manifest was pushed through the edge: record it as ECR's PutImage would."""
        tag = None if reference.startswith("sha256:") else reference
        with self.lock:
            for repository in backends.ecr_repositories(name):
                backend = backends.service("ecr", repository.account_id, repository.region_name)
                # The same image pushed again under the same tag: docker push succeeds, as on ECR.
                with contextlib.suppress(ImageAlreadyExistsException):
                    backend.put_image(name, manifest.decode(), tag, media_type, digest)

    def push_error(self, name: str, reference: str, manifest: bytes, digest: str) -> str | None:
        """ECR's refusal of a push (an immutable tag already used by another image), or None."""
        if reference.startswith("sha256:"):
            return None
        with self.lock:
            for repository in backends.ecr_repositories(name):
                if repository.image_tag_mutability.startswith("IMMUTABLE") and any(
                        reference in image.image_tags and image.image_digest != digest for image in repository.images):
                    return (f"The image tag '{reference}' already exists in the '{name}' repository and cannot be "
                            "overwritten because the repository is immutable.")
        return None
