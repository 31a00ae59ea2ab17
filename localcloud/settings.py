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
``LOCALCLOUD_RUN_STARTUP_LIMIT`` the longest a Cloud Run instance may take to    none: its startup probe's
                                 start listening, whatever its probe allows      (by default 240 s)
``LOCALCLOUD_MAX_CONCURRENCY``   account concurrency limit (all functions)       ``16``
``LOCALCLOUD_DEFAULT_REGION``    region of requests that carry none              ``us-east-1``
``LOCALCLOUD_REGISTRY_BIN``      the distribution registry binary                ``docker-registry`` or
                                                                                 ``registry`` on PATH
``LOCALCLOUD_REGISTRY_SEED``     layers the registry stores from the start: a    none
                                 folder in distribution's blob layout
                                 (``sha256/ab/<digest>/data``); see
                                 :mod:`localcloud.aws.ecr.registry`
``LOCALCLOUD_DOCKER``            the docker CLI                                  ``docker``
``LOCALCLOUD_RIE_CACHE``         where the RIE binary is cached                  ``~/.cache/serverless-iris/rie``
``LOCALCLOUD_STARTUP_TIMEOUT``   seconds ``up`` waits for health                 ``90``
===============================  ==============================================  ==========================

The edge's HTTP bounds are not read from the environment: :data:`EDGE` holds them, in one place.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MODES = ("auto", "docker", "host")
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


def run_startup_limit() -> float | None:
    """Seconds a Cloud Run instance may take to listen at most, below its startup probe's own (None: the probe's;
    a class grader sets it, so that a service that never listens costs a submission less than Cloud Run's 240 s)."""
    value = _int("LOCALCLOUD_RUN_STARTUP_LIMIT", 0)
    return float(value) if value else None


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


def registry_seed() -> Path | None:
    """The folder of layers the registry stores from the start, or None."""
    explicit = os.environ.get("LOCALCLOUD_REGISTRY_SEED", "").strip()
    if not explicit:
        return None
    folder = Path(explicit).expanduser()
    if not folder.is_dir():
        raise SettingError(f"LOCALCLOUD_REGISTRY_SEED={explicit!r} is not a folder")
    return folder


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


@dataclass(frozen=True)
class EdgeBounds:
    """What the edge's HTTP server (:mod:`localcloud.edge.cheroot_server`) lets one client take.

    Request bodies are limited by each route of the edge, which declares its limit where it is registered
    (:mod:`localcloud.edge.router`), not here.
    """

    max_head_bytes: int = 64 * 1024
    """Request line and headers together; more answers 414 (a long request line) or 413, and closes. boto3 and
    the docker CLI send 1-4 KB; nginx accepts about 32 KB, Node.js 16 KB."""
    head_timeout_s: float = 10.0
    """The whole request head must arrive within this, from its first byte, or the connection is cut (408):
    a client trickling a header byte by byte cannot hold a thread. On loopback a head arrives at once."""
    idle_timeout_s: float = 30.0
    """An idle keep-alive connection (or one that never sends a byte) closes after this; so does one whose
    reads or writes stall this long mid-request. It waits in a selector, holding no thread."""
    threads: int = 64
    """Requests served at once, a fixed pool (more wait for a thread): an Invoke or a Cloud Run request holds one
    for its whole run, and the tests hold 40 Cloud Run requests at once."""
    keep_alive_connections: int = 256
    """Idle keep-alive connections kept open; beyond them an answer closes its connection."""
    accepted_queue: int = 256
    """Connections with a request waiting for a free thread; when it is full ..."""
    accepted_queue_timeout_s: float = 0.5
    """... a new request waits this long for room (the accept loop waits with it), then is answered 503."""
    listen_backlog: int = 128
    """Connections the kernel queues before the edge accepts them."""
    discard_bytes: int = 16 * 1024 * 1024
    """What is read and dropped of a body an app did not read (a refused one), while it keeps coming, so the
    client reads the answer instead of a reset; a larger unread body closes the connection."""
    discard_idle_s: float = 1.0
    """... as long as the next piece comes within this."""


EDGE = EdgeBounds()


def overrides() -> dict[str, str]:
    """The ``LOCALCLOUD_*`` variables set in this process, to hand on to a child process."""
    return {key: value for key, value in os.environ.items() if key.startswith(ENV_PREFIX)}
