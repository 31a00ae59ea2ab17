"""Settings of the local AWS stand-in: the one module in ``localcloud`` that reads the environment.

Every value is read through a small function, so tests can override it with an
environment variable (the stand-in runs as a subprocess and inherits it) or by
monkeypatching the function. Lookup order: explicit argument > environment > default.

===============================  ==============================================  ==========================
variable                         meaning                                         default
===============================  ==============================================  ==========================
``LOCALCLOUD_PORT``              the edge's port on 127.0.0.1                    ``4566``
``LOCALCLOUD_HOME``              state: pid file, logs, registry, saved state    ``<repo>/.localcloud``
``LOCALCLOUD_MODE``              ``auto``, ``docker`` or ``host``                ``auto``
``LOCALCLOUD_IDLE_TIMEOUT``      seconds before an idle environment retires      ``600``
``LOCALCLOUD_RUN_IDLE_TIMEOUT``  seconds before an idle Cloud Run instance stops  ``30``
``LOCALCLOUD_MAX_CONCURRENCY``   account concurrency limit (all functions)       ``16``
``LOCALCLOUD_DEFAULT_REGION``    region of requests that carry none              ``us-east-1``
``LOCALCLOUD_REGISTRY_BIN``      the distribution registry binary                ``docker-registry`` or
                                                                                 ``registry`` on PATH
``LOCALCLOUD_DOCKER``            the docker CLI                                  ``docker``
``LOCALCLOUD_RIE_CACHE``         where the RIE binary is cached                  ``~/.cache/serverless-iris/rie``
``LOCALCLOUD_STARTUP_TIMEOUT``   seconds ``up`` waits for health                 ``90``
``LOCALCLOUD_HTTP_SERVER``       the edge's HTTP server: ``builtin`` or          ``builtin``
                                 ``cheroot`` (measured by ``make cloud-bench``)
===============================  ==============================================  ==========================
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MODES = ("auto", "docker", "host")
HTTP_SERVERS = ("builtin", "cheroot")
ENV_PREFIX = "LOCALCLOUD_"


class SettingError(ValueError):
    """An environment variable has a value the stand-in cannot use."""


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(float(raw))
    except ValueError:
        raise SettingError(f"{name}={raw!r} is not a number") from None
    if value < minimum:
        raise SettingError(f"{name}={raw!r} must be at least {minimum}")
    return value


def port() -> int:
    """The edge's TCP port on 127.0.0.1."""
    value = _int("LOCALCLOUD_PORT", 4566, minimum=1)
    if value > 65535:
        raise SettingError(f"LOCALCLOUD_PORT={value} is not a TCP port")
    return value


def home() -> Path:
    """The state folder: pid file, logs, registry storage, saved control-plane state."""
    return Path(os.environ.get("LOCALCLOUD_HOME") or REPO_ROOT / ".localcloud").expanduser().resolve()


def mode() -> str:
    """``auto`` (docker when an engine answers, else host), ``docker`` or ``host``."""
    value = os.environ.get("LOCALCLOUD_MODE", "auto").strip().lower() or "auto"
    if value not in MODES:
        raise SettingError(f"LOCALCLOUD_MODE={value!r}; expected one of {', '.join(MODES)}")
    return value


def idle_timeout() -> float:
    """Seconds an execution environment may sit idle before it is retired (scale to zero)."""
    return float(_int("LOCALCLOUD_IDLE_TIMEOUT", 600, minimum=1))


def run_idle_timeout() -> float:
    """Seconds an idle Cloud Run instance beyond min-instances is kept (Cloud Run: up to 15 minutes; short
    here so that scale to zero can be watched)."""
    return float(_int("LOCALCLOUD_RUN_IDLE_TIMEOUT", 30, minimum=1))


def max_concurrency() -> int:
    """Concurrent executions allowed across all functions (Lambda's account concurrency limit)."""
    return _int("LOCALCLOUD_MAX_CONCURRENCY", 16, minimum=1)


def default_region() -> str:
    """The region of requests that are not SigV4-signed (curl, the docker CLI)."""
    return os.environ.get("LOCALCLOUD_DEFAULT_REGION", "").strip() or "us-east-1"


def registry_binary() -> str | None:
    """Path of the distribution registry binary, or None when none is installed."""
    explicit = os.environ.get("LOCALCLOUD_REGISTRY_BIN", "").strip()
    if explicit:
        return shutil.which(explicit)
    return shutil.which("docker-registry") or shutil.which("registry")


def docker_cli() -> str:
    """The docker command line client."""
    return os.environ.get("LOCALCLOUD_DOCKER", "").strip() or "docker"


def rie_cache() -> Path:
    """Where the Runtime Interface Emulator binary is cached between runs."""
    explicit = os.environ.get("LOCALCLOUD_RIE_CACHE", "").strip()
    return Path(explicit).expanduser() if explicit else Path.home() / ".cache" / "serverless-iris" / "rie"


def startup_timeout() -> float:
    """Seconds ``up`` waits for the stand-in to report healthy."""
    return float(_int("LOCALCLOUD_STARTUP_TIMEOUT", 90, minimum=1))


def http_server() -> str:
    """The edge's HTTP server: ``builtin`` (:mod:`localcloud.edge.httpserver`) or ``cheroot``."""
    value = os.environ.get("LOCALCLOUD_HTTP_SERVER", "").strip().lower() or "builtin"
    if value not in HTTP_SERVERS:
        raise SettingError(f"LOCALCLOUD_HTTP_SERVER={value!r}; expected one of {', '.join(HTTP_SERVERS)}")
    return value


def overrides() -> dict[str, str]:
    """The ``LOCALCLOUD_*`` variables set in this process, to hand on to a child process."""
    return {key: value for key, value in os.environ.items() if key.startswith(ENV_PREFIX)}
