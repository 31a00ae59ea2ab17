"""Google Cloud for step 9, as ``labkit.aws`` is AWS: the Cloud Run client, errors as advice, the container's build
context, the push to Artifact Registry, calling the service.

The student writes what step 9 teaches in their own ``cloudrun.py`` (the service a ``gcloud run deploy``
describes, and deploying it: ``lab_solution/cloudrun.py``); the client setup, credentials, staging the
container and pushing it are given here. On ``local`` every call goes to the stand-in's
edge, anonymously; on ``gcp`` to Google Cloud with Application Default Credentials. The stand-in serves
each service at the root of a host of its own under ``localhost``, which importing this module makes
this process resolve to the loopback address, as browsers and curl do (:mod:`labkit.loopback`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import requests

from lambda_rie import WaitTimeout, wait_for

from . import dockercli, ecr, images
from .bilingual import say, text
from .config import REPO_ROOT, Settings
from .errors import LabError
from .loopback import resolve_localhost_names

resolve_localhost_names()  # the stand-in's service URLs are *.localhost names (RFC 6761)

CLOUDRUN_DIR = REPO_ROOT / "docker" / "cloudrun"
TAG = "latest"
DEPLOY_TIMEOUT_S = 600  # a first deploy on Google Cloud takes about a minute; the stand-in a few seconds
INVOKER, PUBLIC = "roles/run.invoker", "allUsers"


def parent(settings: Settings) -> str:
    """Where services live: ``projects/PROJECT/locations/REGION``."""
    return f"projects/{settings.gcp_project}/locations/{settings.gcp_region}"


def service_name(settings: Settings) -> str:
    return f"{parent(settings)}/services/{settings.cloud_run_service}"


def credentials(settings: Settings):
    """Anonymous on ``local``; Application Default Credentials on ``gcp``."""
    from google.auth.credentials import AnonymousCredentials

    if settings.target == "local":
        return AnonymousCredentials()
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        found, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    except DefaultCredentialsError:
        raise LabError(say("no Google Cloud credentials: run `gcloud auth application-default login`",
                           "Google Cloud-এর credential নেই: `gcloud auth application-default login` চালাও")) from None
    return found


def services_client(settings: Settings):
    """``run_v2.ServicesClient`` over REST for the settings' target."""
    from google.api_core.client_options import ClientOptions
    from google.cloud import run_v2

    options = ClientOptions(api_endpoint=settings.endpoint_url) if settings.target == "local" else None
    return run_v2.ServicesClient(transport="rest", credentials=credentials(settings), client_options=options)


@contextlib.contextmanager
def explained(settings: Settings, doing: str) -> Iterator[None]:
    """Re-raise Google API and connection errors as one LabError line that says what to do, in both languages
    (``doing`` as in :func:`labkit.aws.explained`)."""
    from google.api_core import exceptions

    def failed(en: str, bn: str) -> LabError:
        return LabError(say(f"{doing}: {en}", f"{text(doing, 'bn')}: {bn}"))

    try:
        yield
    except exceptions.PermissionDenied as error:
        raise failed(f"{error.message} (docs/gcp-roles.md lists the roles step 9 needs)",
                     f"{error.message} (step 9-এর কোন কোন role লাগে, docs/gcp-roles.md-তে লেখা আছে)") from None
    except exceptions.GoogleAPICallError as error:
        raise failed(error.message, error.message) from None
    except (requests.ConnectionError, exceptions.RetryError):
        if settings.target == "local":
            raise failed(f"the local stand-in is not running at {settings.endpoint_url}; start it with `make cloud-up`",
                         f"local stand-in {settings.endpoint_url}-এ চলছে না; `make cloud-up` দিয়ে চালু করো") from None
        raise failed("cannot reach Google Cloud; check your network",
                     "Google Cloud-এর নাগাল পাওয়া গেল না; তোমার network দেখো") from None


def stage(settings: Settings, code_dir: Path) -> Path:
    """The Cloud Run build context: docker/cloudrun's Dockerfile and requirements, ``code_dir``'s ``service.py``
    (step 9's FastAPI app) and ``app.py`` (step 2: the model and ``predict``), the given serving code and the model."""
    model = images.trained_model(settings)
    files = {name: CLOUDRUN_DIR / name for name in ("Dockerfile", "requirements.txt")}
    return images.fill_context(settings.cloud_run_context, {
        **files, **images.SERVING_FILES, ".dockerignore": images.CONTEXT_FILES[".dockerignore"],
        "requirements-model.txt": images.CONTEXT_FILES["requirements.txt"],
        "app.py": code_dir / "app.py", "service.py": code_dir / "service.py", "model.joblib": model})


def build(settings: Settings, context: Path) -> str:
    """Build the staged context for Cloud Run (linux/amd64); returns the local tag."""
    if not images.uses_docker(settings):
        raise LabError(say("Cloud Run runs container images: step 9 needs a Docker engine (scripts/ensure-docker.sh)",
                           "Cloud Run container image চালায়: step 9-এ Docker engine লাগে (scripts/ensure-docker.sh)"))
    tag = f"{settings.cloud_run_service}-cloudrun:{TAG}"
    amd64 = settings.with_overrides(architecture="x86_64")  # Cloud Run runs amd64 images only
    args = ["build", "--platform", amd64.platform, "--tag", tag]
    if dockercli.has_buildx():
        args = ["buildx", *args, "--provenance=false", "--load"]
    images.build(amd64, context, args)
    return tag


def push_target(settings: Settings) -> str:
    """Where ``docker push`` sends the image: Artifact Registry, or its name in the stand-in's registry."""
    if settings.target == "local":
        return f"{settings.endpoint_host}/{settings.cloud_run_image}:{TAG}"
    return f"{settings.cloud_run_image}:{TAG}"


def docker_login(settings: Settings) -> None:
    """On ``gcp``: log Docker in to Artifact Registry with a short-lived access token (what
    ``gcloud auth configure-docker`` arranges); the stand-in's registry needs no login."""
    if settings.target == "local":
        return
    import google.auth.transport.requests

    found = credentials(settings)
    found.refresh(google.auth.transport.requests.Request())
    dockercli.run(["login", "--username", "oauth2accesstoken", "--password-stdin",
                   f"https://{settings.gcp_region}-docker.pkg.dev"], what="login", input=found.token)


def push(settings: Settings, local_tag: str) -> str:
    """Tag and push the image; returns what the service should run: the image by digest."""
    target = push_target(settings)
    docker_login(settings)
    dockercli.run(["tag", local_tag, target], what="tag")
    try:
        digest = ecr.push(target, local_tag)
    except LabError as error:
        if settings.target == "gcp" and "not found" in str(error).lower():
            create = (f"gcloud artifacts repositories create {settings.name} --repository-format=docker "
                      f"--location={settings.gcp_region}")
            raise LabError(say(f"{error}; create the repository once: {create}",
                               f"{error.text('bn')}; repository-টা একবার বানিয়ে নাও: {create}")) from None
        raise
    return f"{settings.cloud_run_image}@{digest}"


def allow_unauthenticated(settings: Settings) -> None:
    """What ``--allow-unauthenticated`` does: grant ``roles/run.invoker`` to ``allUsers``."""
    client = services_client(settings)
    with explained(settings, say("allowing unauthenticated calls", "unauthenticated call চালু করা")):
        policy = client.get_iam_policy(request={"resource": service_name(settings)})
        if not any(b.role == INVOKER and PUBLIC in b.members for b in policy.bindings):
            policy.bindings.add(role=INVOKER, members=[PUBLIC])
            client.set_iam_policy(request={"resource": service_name(settings), "policy": policy})


CLOUD_RUN_IDLE_S = 15 * 60  # Google does not publish how long an idle instance is kept; budget up to about 15 minutes


def idle_timeout(settings: Settings) -> float:
    """Seconds an idle instance beyond min-instances may be kept: the stand-in's setting, or Cloud Run's budget."""
    if settings.target != "local":
        return CLOUD_RUN_IDLE_S
    from . import localtarget

    counters = localtarget.cloud_run_counters(settings, settings.cloud_run_service)
    if "idle_timeout_s" not in counters:
        raise LabError(say(f"the stand-in does not know the Cloud Run service {settings.cloud_run_service}: deploy it first",
                           f"stand-in Cloud Run service {settings.cloud_run_service} চেনে না: আগে deploy করো"))
    return float(counters["idle_timeout_s"])


def wait_until_scaled_to_zero(settings: Settings, idle_s: float) -> float:
    """Wait until the service has no instance left; returns the seconds waited.

    The stand-in says when (its counters); Google Cloud does not, so on ``gcp`` this waits ``idle_s``
    (Cloud Run keeps an idle instance for up to about 15 minutes).
    """
    from . import localtarget

    started = time.monotonic()
    if settings.target != "local":
        time.sleep(idle_s)
        return idle_s
    try:
        wait_for(lambda: not localtarget.cloud_run_counters(settings, settings.cloud_run_service).get("live_instances", 0),
                 idle_s, interval=0.5, what="scaling to zero")
    except WaitTimeout:
        raise LabError(say(f"{settings.cloud_run_service} still has instances after {idle_s:.0f} s",
                           f"{idle_s:.0f} s পরেও {settings.cloud_run_service}-এর instance আছে")) from None
    return time.monotonic() - started


def call(url: str, request: dict, timeout: float = 60) -> tuple[int, dict, float, bool]:
    """POST one flower to ``URL/predict``; returns (status, JSON body, milliseconds, whether it was a cold start)."""
    started = time.perf_counter()
    response = requests.post(f"{url}/predict", json=request, timeout=timeout)
    elapsed = (time.perf_counter() - started) * 1000
    try:
        body = response.json()
    except ValueError:
        body = {"error": response.text[:200]}
    return response.status_code, body, elapsed, response.headers.get("X-Cold-Start") == "true"
