"""Settings for the lab: the one module that reads the environment.

Every other module receives a :class:`Settings` and never looks at ``os.environ``.
Lookup order for each value: explicit override > environment variable > default.
:meth:`Settings.environment` renders settings back as these variables, for a child process
that must see the same ones: a new setting is a field of :class:`Settings`, read in :func:`load`
and rendered there, all in this module (its unit test fails until both are done).

=====================  =========================================  =========================
variable               meaning                                    default
=====================  =========================================  =========================
``LAB_TARGET``         ``local`` (the stand-in), ``aws``, or      ``local``
                       ``gcp`` (step 9 on Google Cloud)
``LAB_CODE``           ``exercises``, ``lab_solution`` or a path  ``exercises``
                       (relative paths: from the repository root)
``LAB_ENDPOINT_URL``   the stand-in's edge (``local`` only)       ``http://127.0.0.1:`` and
                                                                  ``LOCALCLOUD_PORT``
``LOCALCLOUD_PORT``    the port ``make cloud-up`` starts the      ``4566``
                       stand-in on; the default endpoint follows
``AWS_REGION``         region (also ``AWS_DEFAULT_REGION``)       ``us-east-1``
``LAB_NAME``           prefix of every resource the lab creates   ``serverless-iris``
``LAB_ARCH``           ``x86_64`` or ``arm64`` (image + function)  ``x86_64``
``LAB_MEMORY_MB``      function memory, 128-10240                 ``1024``
``LAB_TIMEOUT_S``      function timeout, 1-900                    ``30``
``LAB_BUILD_DIR``      where models, images and reports go        ``<repo>/build``
``LAB_DOCKER``         ``auto`` (use an engine if one answers)    ``auto``
                       or ``off`` (host mode: no images)
``GOOGLE_CLOUD_PROJECT``  the Google Cloud project (step 9)       ``serverless-iris-local``
                       (required with ``gcp``)
``LAB_GCP_REGION``     Cloud Run and Artifact Registry region     ``asia-south1``
``LAB_LANG``           the language of the notebooks' prose and   ``bn``
                       the grader's messages: ``bn`` or ``en``
=====================  =========================================  =========================

On ``aws`` the credentials are boto3's own (``AWS_PROFILE``, ``aws configure``, SSO);
on ``local`` they are the stand-in's dummy ones, so a real key is never sent anywhere.
On ``gcp`` (step 9) Google's clients use Application Default Credentials
(``gcloud auth application-default login``); on ``local`` Cloud Run calls are anonymous.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType

from . import errors
from .errors import LabError

REPO_ROOT = Path(__file__).resolve().parent.parent
TARGETS = ("local", "aws", "gcp")
CODE_PACKAGES = ("exercises", "lab_solution")
ARCHITECTURES = ("x86_64", "arm64")
LANGUAGES = ("bn", "en")  # Bengali first: the chapter's language
LAB_TAG = {"lab": "serverless-iris"}
LOCAL_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
# The request every step sends to test a deployment: a real setosa from the Iris data (cm).
SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}


class ConfigError(LabError):
    """A setting has a value the lab cannot use."""


@dataclass(frozen=True)
class Settings:
    """Everything the lab's steps need to know about where and what to deploy."""

    target: str = "local"
    code: str = "exercises"
    region: str = "us-east-1"
    endpoint_url: str | None = "http://127.0.0.1:4566"
    name: str = "serverless-iris"
    architecture: str = "x86_64"
    memory_mb: int = 1024
    timeout_s: int = 30
    build_dir: Path = REPO_ROOT / "build"
    docker: str = "auto"
    gcp_project: str = "serverless-iris-local"
    gcp_region: str = "asia-south1"
    lang: str = "bn"
    tags: Mapping[str, str] = field(default_factory=lambda: dict(LAB_TAG))

    @property
    def endpoint_host(self) -> str:
        """``host:port`` of the local stand-in (``LAB_ENDPOINT_URL``): the registry an image name there starts with."""
        return (self.endpoint_url or "").split("://", 1)[-1]

    # Resource names, all derived from ``name`` so one prefix finds them all.
    @property
    def repository(self) -> str:
        return self.name

    @property
    def function_name(self) -> str:
        return self.name

    @property
    def role_name(self) -> str:
        return f"{self.name}-lambda"

    @property
    def api_name(self) -> str:
        return f"{self.name}-api"

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def cloud_run_service(self) -> str:
        return self.name

    @property
    def cloud_run_image(self) -> str:
        """Artifact Registry's name for the step-9 image (``REGION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE``)."""
        return f"{self.gcp_region}-docker.pkg.dev/{self.gcp_project}/{self.name}/{self.cloud_run_service}"

    # Paths of what the steps produce.
    @property
    def model_dir(self) -> Path:
        return self.build_dir / "model"

    @property
    def image_context(self) -> Path:
        return self.build_dir / "image"

    @property
    def cloud_run_context(self) -> Path:
        return self.build_dir / "cloudrun"

    @property
    def latency_dir(self) -> Path:
        return self.build_dir / "latency"

    @property
    def platform(self) -> str:
        """The Docker platform that matches the function's architecture."""
        return "linux/arm64" if self.architecture == "arm64" else "linux/amd64"

    def environment(self) -> dict[str, str]:
        """The settings as the environment :func:`load` reads them from: ``load(s.environment()) == s``.

        For a process that must see the same settings (the grader's sandbox). ``tags`` are the
        lab's own, never read from the environment, so they are not rendered.
        """
        env = {"LAB_TARGET": self.target, "LAB_CODE": self.code, "AWS_REGION": self.region, "LAB_NAME": self.name,
               "LAB_ARCH": self.architecture, "LAB_MEMORY_MB": str(self.memory_mb),
               "LAB_TIMEOUT_S": str(self.timeout_s), "LAB_BUILD_DIR": str(self.build_dir), "LAB_DOCKER": self.docker,
               "GOOGLE_CLOUD_PROJECT": self.gcp_project, "LAB_GCP_REGION": self.gcp_region, "LAB_LANG": self.lang}
        if self.endpoint_url:  # local only: load() ignores it for the other targets
            env["LAB_ENDPOINT_URL"] = self.endpoint_url
        return env

    def with_overrides(self, **overrides) -> Settings:
        """A copy with some values replaced (explicit arguments win over the environment)."""
        if overrides.get("code") is not None:
            overrides["code"] = _code(overrides["code"])
        return _validated(replace(self, **{k: v for k, v in overrides.items() if v is not None}))


def load(environ: Mapping[str, str] | None = None, **overrides) -> Settings:
    """Read the settings from ``environ`` (default: the process environment).

    Raises:
        ConfigError: a value is invalid; the message names the variable and the choices.
    """
    env = os.environ if environ is None else environ
    target = env.get("LAB_TARGET", "local").strip().lower()
    if target not in TARGETS:
        raise ConfigError(f"LAB_TARGET={target!r} is not one of: {', '.join(TARGETS)}")
    if target == "aws" and env.get("AWS_ENDPOINT_URL"):
        raise ConfigError(
            f"LAB_TARGET=aws but AWS_ENDPOINT_URL={env['AWS_ENDPOINT_URL']} would send every call "
            "to that endpoint instead of AWS; unset AWS_ENDPOINT_URL first"
        )
    settings = Settings(
        target=target,
        code=_code(env.get("LAB_CODE", "exercises")),
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        endpoint_url=(env.get("LAB_ENDPOINT_URL") or f"http://127.0.0.1:{_port(env)}") if target == "local" else None,
        gcp_project=env.get("GOOGLE_CLOUD_PROJECT", "").strip() or ("" if target == "gcp" else "serverless-iris-local"),
        gcp_region=env.get("LAB_GCP_REGION", "").strip() or "asia-south1",
        name=env.get("LAB_NAME", "serverless-iris").strip(),
        architecture=env.get("LAB_ARCH", "x86_64").strip(),
        memory_mb=_integer(env, "LAB_MEMORY_MB", 1024),
        timeout_s=_integer(env, "LAB_TIMEOUT_S", 30),
        build_dir=Path(env.get("LAB_BUILD_DIR", REPO_ROOT / "build")).expanduser().resolve(),
        docker=env.get("LAB_DOCKER", "auto").strip().lower(),
        lang=env.get("LAB_LANG", "bn").strip().lower() or "bn",
    )
    return settings.with_overrides(**overrides)


def language(environ: Mapping[str, str] | None = None) -> str:
    """``LAB_LANG`` alone (``bn`` unless it names another of :data:`LANGUAGES`), for a message that must be
    shown in the student's language even when another setting is wrong (a usage error, a bad ``LAB_TARGET``)."""
    lang = (os.environ if environ is None else environ).get("LAB_LANG", "bn").strip().lower()
    return lang if lang in LANGUAGES else "bn"


errors.read_language_with(language)  # LabError's one line (a notebook, run_cli) speaks LAB_LANG


def import_code(settings: Settings, module: str) -> ModuleType:
    """Import one step's module from the package ``LAB_CODE`` selects.

    Args:
        settings: the lab settings; ``settings.code`` is ``exercises``, ``lab_solution``
            or the path of a folder holding the same modules (a student's submission).
        module: the module name, e.g. ``"train"`` or ``"app"``.
    """
    if settings.code in CODE_PACKAGES:
        return importlib.import_module(f"{settings.code}.{module}")
    from .loader import import_from_folder

    return import_from_folder(Path(settings.code), module)


def code_dir(settings: Settings) -> Path:
    """The folder of the code ``LAB_CODE`` selects."""
    return REPO_ROOT / settings.code if settings.code in CODE_PACKAGES else Path(settings.code)


def code_path(settings: Settings, module: str) -> Path:
    """The source file of one step's module (``app``) or the ``Dockerfile`` in the code ``LAB_CODE`` selects."""
    return code_dir(settings) / (module if module == "Dockerfile" else f"{module}.py")


def _code(raw: str | Path) -> str:
    """``exercises``, ``lab_solution``, or a submission folder as an absolute path.

    A relative folder is taken from the repository root, so ``LAB_CODE=submissions/alice`` means the
    same in a notebook (whose kernel runs in ``notebooks/``) as in a terminal at the root.
    """
    code = str(raw).strip()
    if code in CODE_PACKAGES:
        return code
    return str((REPO_ROOT / Path(code).expanduser()).resolve())


def code_label(settings: Settings) -> str:
    """The folder of the code as a student names it: ``exercises``, ``lab_solution``, or a submission folder
    relative to the repository root (``submissions/me``), absolute when it lies outside."""
    if settings.code in CODE_PACKAGES:
        return settings.code
    folder = Path(settings.code)
    return folder.relative_to(REPO_ROOT).as_posix() if folder.is_relative_to(REPO_ROOT) else str(folder)


def _port(env: Mapping[str, str]) -> int:
    """``LOCALCLOUD_PORT``, the port the stand-in listens on (``python -m localcloud up`` reads the same variable)."""
    port = _integer(env, "LOCALCLOUD_PORT", 4566)
    if not 1 <= port <= 65535:
        raise ConfigError(f"LOCALCLOUD_PORT={port} is not a TCP port (1-65535)")
    return port


def _integer(env: Mapping[str, str], variable: str, default: int) -> int:
    raw = env.get(variable)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{variable}={raw!r} is not a whole number") from None


def _validated(settings: Settings) -> Settings:
    if settings.code not in CODE_PACKAGES and not Path(settings.code).is_dir():
        raise ConfigError(
            f"LAB_CODE={settings.code!r} is neither {' nor '.join(CODE_PACKAGES)} nor an existing folder"
        )
    if settings.docker not in ("auto", "off"):
        raise ConfigError(f"LAB_DOCKER={settings.docker!r} is not one of: auto, off")
    if settings.lang not in LANGUAGES:
        raise ConfigError(f"LAB_LANG={settings.lang!r} is not one of: {', '.join(LANGUAGES)}")
    if settings.architecture not in ARCHITECTURES:
        raise ConfigError(f"LAB_ARCH={settings.architecture!r} is not one of: {', '.join(ARCHITECTURES)}")
    if not 128 <= settings.memory_mb <= 10240:
        raise ConfigError(f"LAB_MEMORY_MB={settings.memory_mb} is outside Lambda's 128-10240 MB")
    if not 1 <= settings.timeout_s <= 900:
        raise ConfigError(f"LAB_TIMEOUT_S={settings.timeout_s} is outside Lambda's 1-900 seconds")
    # ECR repository names and Lambda function names share this safe subset.
    if not re.fullmatch(r"[a-z][a-z0-9-]{1,40}", settings.name):
        raise ConfigError(
            f"LAB_NAME={settings.name!r} must be 2-41 lower-case letters, digits or '-', starting with a letter"
        )
    if settings.target == "gcp" and not settings.gcp_project:
        raise ConfigError("LAB_TARGET=gcp needs GOOGLE_CLOUD_PROJECT=<your project id> "
                          "(gcloud projects list shows them)")
    if not re.fullmatch(r"[a-z][a-z0-9-]{4,28}[a-z0-9]", settings.gcp_project):
        raise ConfigError(f"GOOGLE_CLOUD_PROJECT={settings.gcp_project!r} is not a project id "
                          "(6-30 lower-case letters, digits or '-')")
    if settings.target == "local" and not (settings.endpoint_url or "").startswith("http"):
        raise ConfigError(f"LAB_ENDPOINT_URL={settings.endpoint_url!r} is not an http(s) URL")
    return settings
