"""Amazon ECR plumbing for step 4 and later: the registry login, a push with progress, the latest image.

The student writes what step 4 teaches (create the repository, log in, tag and push);
decoding the login token and following ``docker push`` line by line is given here.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from tqdm import tqdm

from . import aws, dockercli, images
from .bilingual import say, text
from .config import Settings, language
from .errors import LabError

TAG = "latest"


@dataclass(frozen=True)
class PushedImage:
    repository_uri: str
    tag: str
    digest: str

    @property
    def uri(self) -> str:
        """The image by digest, ``REPOSITORY@sha256:…``: what Lambda should run."""
        return f"{self.repository_uri}@{self.digest}"


def docker_login(settings: Settings) -> str:
    """Log Docker in to the account's registry with a 12-hour ECR token; returns the registry address.

    The token is base64 of ``AWS:<password>``; the password goes to ``docker login`` on standard
    input, never on the command line where other users of the machine could read it.
    """
    ecr = aws.client(settings, "ecr")
    with aws.explained(settings, say("getting an ECR login token", "ECR login token নেওয়া")):
        auth = ecr.get_authorization_token()["authorizationData"][0]
    user, password = base64.b64decode(auth["authorizationToken"]).decode().split(":", 1)
    registry = re.sub(r"^https?://", "", auth["proxyEndpoint"])
    dockercli.run(["login", "--username", user, "--password-stdin", registry], what="login", input=password)
    return registry


def push(target: str, local_tag: str) -> str:
    """``docker push`` an image tagged ``target``, one progress step per layer; returns the pushed digest."""
    layers = images.describe(local_tag).filesystem_layers
    digest = None
    pushing = text(say(f"pushing {target}", f"{target} push হচ্ছে"), language())
    with tqdm(total=layers, desc=pushing, unit="layer") as bar:
        def on_line(line: str) -> None:
            nonlocal digest
            if re.search(r": (Pushed|Layer already exists|Mounted from)", line) and bar.n < bar.total:
                bar.update(1)
            if found := re.search(r"digest: (sha256:[0-9a-f]{64})", line):
                digest = found[1]

        dockercli.stream(["push", target], what="push", on_line=on_line)
        bar.n = bar.total
    if digest is None:
        raise LabError(say(f"docker push {target} did not report a digest", f"docker push {target} কোনো digest জানায়নি"))
    return digest


def latest(settings: Settings) -> PushedImage:
    """The image most recently pushed under :data:`TAG`, as ECR knows it."""
    ecr = aws.client(settings, "ecr")
    with aws.explained(settings, say(f"looking up {settings.repository}:{TAG} in ECR",
                                     f"ECR-এ {settings.repository}:{TAG} খোঁজা")):
        try:
            repository = ecr.describe_repositories(repositoryNames=[settings.repository])["repositories"][0]
            found = ecr.describe_images(repositoryName=settings.repository, imageIds=[{"imageTag": TAG}])
        except (ecr.exceptions.RepositoryNotFoundException, ecr.exceptions.ImageNotFoundException):
            raise LabError(say(f"no image {settings.repository}:{TAG} in ECR yet: push it first (step 4)",
                               f"ECR-এ এখনো image {settings.repository}:{TAG} নেই: আগে push করো (step 4)")) from None
    return PushedImage(repository["repositoryUri"], TAG, found["imageDetails"][0]["imageDigest"])
