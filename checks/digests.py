"""Images the grader makes for its reruns: an image the student pushed, under a digest no one has deployed yet.

Step 5 reruns the student's ``deploy()`` with an image it has never seen. The grader reads the
manifest of the function's image over the registry API (the ECR token as Basic credentials, as
``docker login`` uses it), adds one annotation and puts it back under a tag of its own: same
config, same layers, nothing uploaded but the manifest, and a digest that is new on every run.
:func:`forget` removes those tags (and so those images) afterwards.
"""

from __future__ import annotations

import contextlib
import json
import secrets

import requests

MANIFEST_TYPES = ("application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.manifest.v1+json")


def repository_of(image_uri: str) -> str:
    """``HOST/NAME`` of ``HOST/NAME:TAG`` or ``HOST/NAME@sha256:…``."""
    uri = image_uri.split("@", 1)[0]
    host, _, path = uri.partition("/")
    return f"{host}/{path.rsplit(':', 1)[0] if ':' in path.rsplit('/', 1)[-1] else path}"


def new_digest(run, image_uri: str, digest: str, tag: str) -> str:
    """The image ``digest`` of ``image_uri``'s repository again, tagged ``tag``, under a new digest; its URI by digest.

    Raises:
        RuntimeError: the registry refused to give or take the manifest (the message says which).
    """
    repository_uri = repository_of(image_uri)
    name = repository_uri.split("/", 1)[1]
    base, headers = _registry(run)
    got = requests.get(f"{base}/v2/{name}/manifests/{digest}", timeout=60,
                       headers={**headers, "Accept": ", ".join(MANIFEST_TYPES)})
    media_type = got.headers.get("Content-Type", "").split(";")[0]
    if got.status_code != 200 or media_type not in MANIFEST_TYPES:
        raise RuntimeError(f"the registry answered {got.status_code} {media_type or ''} for {name}@{digest[:19]}…")
    manifest = got.json()
    manifest["annotations"] = {**manifest.get("annotations", {}), "lab.grader.rerun": secrets.token_hex(8)}
    put = requests.put(f"{base}/v2/{name}/manifests/{tag}", data=json.dumps(manifest, indent=3).encode(), timeout=60,
                       headers={**headers, "Content-Type": media_type})
    if put.status_code != 201 or not put.headers.get("Docker-Content-Digest"):
        raise RuntimeError(f"the registry refused the grader's manifest: {put.status_code} {put.text[:120]}")
    return f"{repository_uri}@{put.headers['Docker-Content-Digest']}"


def forget(run, repository: str, tags: list[str]) -> None:
    """Remove the grader's tags from ``repository`` (ECR drops an image with no tag left); errors are ignored."""
    with contextlib.suppress(Exception):  # tidying up: a tag that is gone already is fine
        run.client("ecr").batch_delete_image(repositoryName=repository, imageIds=[{"imageTag": t} for t in tags])


def _registry(run) -> tuple[str, dict]:
    """The registry's base URL and the headers that authenticate to it (ECR's token; the stand-in ignores it)."""
    auth = run.client("ecr").get_authorization_token()["authorizationData"][0]
    return auth["proxyEndpoint"].rstrip("/"), {"Authorization": f"Basic {auth['authorizationToken']}"}
