"""Each service's own host, as on Cloud Run: ``http://SERVICE-HASH.REGION.run.localhost:PORT``.

Cloud Run serves a service at the root of a host of its own (``https://SERVICE-HASH.REGION.run.app``),
so root-relative links and redirects work (FastAPI's ``/docs`` page loads ``/openapi.json``) and each
service's pages are an origin of their own. Here the host is a name under ``localhost``: browsers and
curl resolve those to the loopback address without asking DNS (RFC 6761, section 6.3), and no page of
another site can be served from one, so the edge's Host guard (:mod:`localcloud.edge.router`) still
refuses DNS rebinding while it admits exactly these names. ``HASH`` is derived from the project id, as
Cloud Run's is from the project; the labels fit DNS's 63 characters (a service id has at most 49).
"""

from __future__ import annotations

import hashlib
import re

SUFFIX = "run.localhost"
HASH_CHARACTERS = 10


def pattern(port: int) -> re.Pattern:
    """The Host header of any service's host on the edge's ``port`` (lower case, as the guard compares)."""
    return re.compile(rf"^[a-z](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.[a-z]+-[a-z]+[0-9]{{1,2}}\.{re.escape(SUFFIX)}:{port}$")


def host(name: str, port: int) -> str:
    """The Host of service ``projects/P/locations/L/services/S``."""
    _, project, _, location, _, service = name.split("/")
    digest = hashlib.sha256(project.encode()).hexdigest()[:HASH_CHARACTERS]
    return f"{service}-{digest}.{location}.{SUFFIX}:{port}"


def uri(name: str, port: int) -> str:
    """The service's URL, as the Admin API's ``uri`` gives it (no trailing slash, as Cloud Run's)."""
    return f"http://{host(name, port)}"
