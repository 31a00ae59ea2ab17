"""Looking up Lambda functions in moto, and checking the images they name, with AWS's errors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from moto.awslambda.exceptions import LambdaClientError

from localcloud.aws import backends
from localcloud.aws.awslambda.functions import LATEST, FunctionSpec, parse_image_uri
from localcloud.aws.ecr import images
from localcloud.aws.sidetable import Code, key_of
from localcloud.aws.wire import AwsError, InvalidParameterValue, ResourceNotFound

if TYPE_CHECKING:
    from localcloud.cloud import Cloud


@dataclass(frozen=True)
class CheckedImage:
    uri: str
    repository: str
    digest: str
    size: int

    @property
    def code(self) -> Code:
        return Code(self.uri, self.digest, self.size)


class Catalog:
    """Reads moto and the side table; callers hold the cloud's lock."""

    def __init__(self, cloud: Cloud):
        self.registry, self.lock, self.table = cloud.registry, cloud.lock, cloud.table
        self.local_hosts = cloud.local_hosts

    def function(self, account: str, region: str, name: str, qualifier: str | None = None):
        """moto's function object (a version when qualified), or ResourceNotFoundException."""
        try:
            return backends.service("lambda", account, region).get_function(name, qualifier)
        except LambdaClientError as error:
            raise ResourceNotFound(error.description) from None

    def spec(self, fn, code: Code | None = None) -> FunctionSpec:
        """What the runtime runs for ``fn``: ``code``, or the code serving now (the previous code while an update
        is in progress: AWS switches when the new code is ready)."""
        if fn.package_type != "Image":
            raise InvalidParameterValue("localcloud runs container image functions (PackageType=Image) only")
        record = self.table.functions.get(key_of(fn)) if str(fn.version) == LATEST else None
        code = code or (record.serving if record else None) or Code(
            fn.code.get("ImageUri", ""), "sha256:" + fn.code_sha_256, int(fn.code_size or 0))
        ref = parse_image_uri(code.image_uri, self.local_hosts)
        if ref is None:
            raise InvalidParameterValue(f"Source image {code.image_uri} is not valid. Provide a valid source image.")
        return FunctionSpec.from_moto(fn, ref.repository, code, record.revision if record else 0)

    def resolve(self, key: tuple, version: str) -> FunctionSpec | None:
        """The spec of one version, or None when the function or version is gone (takes the lock)."""
        with self.lock:
            try:
                return self.spec(self.function(*key, qualifier=version))
            except AwsError:
                return None

    def check_image(self, uri: str) -> CheckedImage:
        """Lambda's checks of an ImageUri at CreateFunction / UpdateFunctionCode."""
        ref = parse_image_uri(uri, self.local_hosts)
        if ref is None:
            raise InvalidParameterValue(f"Source image {uri} is not valid. Provide a valid source image.")
        found = self.registry.manifest(ref.repository, ref.reference) if backends.ecr_repositories(ref.repository) else None
        if not found:
            raise InvalidParameterValue(f"Source image {uri} does not exist. Provide a valid source image.")
        media_type, body, digest = found
        manifest = json.loads(body)
        if images.unsupported_by_lambda(media_type, manifest):
            # what Docker's default provenance attestations (a manifest index) run into on AWS
            raise InvalidParameterValue(f"The image manifest, config or layer media type for the source image {uri} "
                              "is not supported.")
        size = sum(layer.get("size", 0) for layer in manifest.get("layers", []))
        return CheckedImage(uri, ref.repository, digest, size)
