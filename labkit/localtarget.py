"""The one seam to the local target: the stand-in's own endpoints, reached by URL and HTTP only.

Everything else the lab sends the stand-in is an ordinary AWS call through boto3 or Docker.
These have no cloud API equivalent: whether the stand-in runs, (host mode, no Docker engine)
handing it a staged code folder, as a tar in the request body, in place of a pushed image, and its counters.
"""

from __future__ import annotations

import tarfile
import tempfile
from pathlib import Path

import requests

from .bilingual import say
from .config import Settings
from .ecr import TAG, PushedImage
from .errors import LabError
from .images import HANDLER


def healthy(settings: Settings) -> bool:
    """Whether the stand-in answers at ``settings.endpoint_url``."""
    try:
        return requests.get(f"{settings.endpoint_url}/_localcloud/health", timeout=3).ok
    except requests.RequestException:
        return False


def register_staged_code(settings: Settings, context: Path) -> PushedImage:
    """Host mode (local target, no Docker): stream the staged folder to the stand-in, which makes it an image."""
    if settings.target != "local":
        raise LabError(say("pushing to Amazon ECR needs a Docker engine; install Docker and run this step again",
                           "Amazon ECR-এ push করতে Docker engine লাগে; Docker install করে এই ধাপ আবার চালাও"))
    with tempfile.TemporaryFile() as archive:  # a tar of the folder's files, sent as the request body
        with tarfile.open(fileobj=archive, mode="w") as tar:
            for path in sorted(Path(context).rglob("*")):
                if "__pycache__" not in path.parts:
                    tar.add(path, arcname=path.relative_to(context).as_posix(), recursive=False)
        archive.seek(0)
        response = requests.post(f"{settings.endpoint_url}/_localcloud/host-images", data=archive, timeout=120,
                                 headers={"Content-Type": "application/x-tar"},
                                 params={"repositoryName": settings.repository, "imageTag": TAG,
                                         "command": HANDLER, "architecture": settings.architecture})
    if not response.ok:
        refused = response.text[:200]
        raise LabError(say(f"the local stand-in refused the staged code: {refused}",
                           f"local stand-in stage করা code নেয়নি: {refused}"))
    answer = response.json()
    return PushedImage(answer["imageUri"].rsplit(":", 1)[0], TAG, answer["imageDigest"])


def cloud_run_counters(settings: Settings, service_id: str) -> dict:
    """The stand-in's counters of one Cloud Run service (instances started, live, in flight, ...)."""
    response = requests.get(f"{settings.endpoint_url}/_localcloud/status", timeout=10)
    response.raise_for_status()
    return response.json().get("cloud_run", {}).get(service_id, {})
