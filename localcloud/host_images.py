"""``POST /_localcloud/host-images``: package a code folder as an image without Docker (host mode).

Body: ``{"repositoryName", "imageTag", "codeDir", "command": ["app.handler"], "architecture"}``.
The folder becomes a one-layer image (its files under /var/task, CMD from ``command``,
label ``localcloud.host-image=true``), pushed into the registry and recorded in ECR, so
the rest of the lab (``describe_images``, ``create_function(ImageUri=...)``) is unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

from . import images, wsgi
from .ecr_api import EcrHook
from .registry import Registry

ARCHITECTURES = ("x86_64", "arm64")


class BadRequest(ValueError):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code = status, code


class HostImages:
    def __init__(self, registry: Registry, ecr: EcrHook, edge_host: str, on_mutation):
        self.registry = registry
        self.ecr = ecr
        self.edge_host = edge_host
        self.on_mutation = on_mutation

    def __call__(self, environ: dict, start_response: wsgi.StartResponse) -> list[bytes]:
        try:
            return wsgi.respond_json(start_response, 200, self.create(wsgi.read_body(environ)))
        except BadRequest as error:
            return wsgi.respond_json(start_response, error.status, {"code": error.code, "message": str(error)})

    def create(self, body: bytes) -> dict:
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            raise BadRequest(400, "InvalidParameterException", "the body must be a JSON object") from None
        if not isinstance(request, dict):
            raise BadRequest(400, "InvalidParameterException", "the body must be a JSON object")
        repository = request.get("repositoryName")
        tag = request.get("imageTag") or "latest"
        command = request.get("command") or ["app.handler"]
        architecture = request.get("architecture") or "x86_64"
        code_dir = Path(str(request.get("codeDir") or ""))
        if not isinstance(repository, str) or not repository:
            raise BadRequest(400, "InvalidParameterException", "repositoryName is required")
        if not isinstance(command, list) or not all(isinstance(part, str) for part in command):
            raise BadRequest(400, "InvalidParameterException", 'command must be a list of strings, e.g. ["app.handler"]')
        if architecture not in ARCHITECTURES:
            raise BadRequest(400, "InvalidParameterException", f"architecture must be one of {', '.join(ARCHITECTURES)}")
        if not code_dir.is_absolute() or not code_dir.is_dir():
            raise BadRequest(400, "InvalidParameterException", f"codeDir {str(code_dir)!r} is not an absolute path "
                             "to an existing folder")
        if not self.ecr.repository_exists(repository):
            raise BadRequest(400, "RepositoryNotFoundException", f"The repository with name '{repository}' does not "
                             f"exist in the registry with id '{self.ecr.account}'")
        layer, config, manifest = images.pack_code_dir(code_dir, command, architecture)
        digest = images.digest_of(manifest)
        refusal = self.ecr.push_error(repository, tag, manifest, digest)
        if refusal:
            raise BadRequest(400, "ImageTagAlreadyExistsException", refusal)
        for blob in (layer, config):
            self.registry.push_blob(repository, images.digest_of(blob), blob)
        self.registry.put_manifest(repository, tag, images.DOCKER_MANIFEST, manifest)
        self.ecr.record_push(repository, tag, images.DOCKER_MANIFEST, manifest, digest)
        self.on_mutation()
        return {"imageUri": f"{self.edge_host}/{repository}:{tag}", "imageDigest": digest}
