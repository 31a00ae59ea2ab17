"""Looking up Lambda functions in moto, and checking the images they name, with AWS's errors."""

from __future__ import annotations

import json
from dataclasses import dataclass

from moto.awslambda.exceptions import LambdaClientError

from . import backends, images
from .control import Answer, aws_error
from .functions import FunctionSpec, parse_image_uri
from .registry import Registry


@dataclass
class LambdaError(Exception):
    """An error as the Lambda API words it (status, error code, message)."""

    status: int
    code: str
    message: str

    def answer(self) -> Answer:
        return aws_error(self.status, self.code, self.message)


@dataclass(frozen=True)
class CheckedImage:
    repository: str
    digest: str
    size: int


class Catalog:
    def __init__(self, registry: Registry, local_hosts: tuple[str, ...]):
        self.registry = registry
        self.local_hosts = local_hosts

    def function(self, account: str, region: str, name: str, qualifier: str | None = None):
        """moto's function object (a version when qualified), or ResourceNotFoundException."""
        try:
            return backends.service("lambda", account, region).get_function(name, qualifier)
        except LambdaClientError as error:
            raise LambdaError(404, "ResourceNotFoundException", error.description) from None

    def spec(self, fn) -> FunctionSpec:
        if fn.package_type != "Image":
            raise LambdaError(400, "InvalidParameterValueException",
                              "localcloud runs container image functions (PackageType=Image) only")
        ref = parse_image_uri(fn.code.get("ImageUri", ""), self.local_hosts)
        if ref is None:
            raise LambdaError(400, "InvalidParameterValueException",
                              f"Source image {fn.code.get('ImageUri')} is not valid. Provide a valid source image.")
        return FunctionSpec.from_moto(fn, ref.repository)

    def resolve(self, key: tuple, version: str) -> FunctionSpec | None:
        """The spec of one version, or None when the function or version is gone."""
        try:
            return self.spec(self.function(*key, qualifier=version))
        except LambdaError:
            return None

    def check_image(self, uri: str) -> CheckedImage:
        """Lambda's checks of an ImageUri at CreateFunction / UpdateFunctionCode."""
        ref = parse_image_uri(uri, self.local_hosts)
        if ref is None:
            raise LambdaError(400, "InvalidParameterValueException",
                              f"Source image {uri} is not valid. Provide a valid source image.")
        found = self.registry.manifest(ref.repository, ref.reference) if backends.ecr_repositories(ref.repository) else None
        if not found:
            raise LambdaError(400, "InvalidParameterValueException",
                              f"Source image {uri} does not exist. Provide a valid source image.")
        media_type, body, digest = found
        manifest = json.loads(body)
        if images.unsupported_by_lambda(media_type, manifest):
            # what Docker's default provenance attestations (a manifest index) run into on AWS
            raise LambdaError(400, "InvalidParameterValueException",
                              f"The image manifest, config or layer media type for the source image {uri} "
                              "is not supported.")
        size = sum(layer.get("size", 0) for layer in manifest.get("layers", []))
        return CheckedImage(ref.repository, digest, size)
