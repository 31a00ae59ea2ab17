"""Google Cloud Run in the local stand-in, beside AWS's services: for local use only.

One WSGI app behind the edge, for the services' own hosts and two path prefixes:

- ``http://SERVICE-HASH.REGION.run.localhost:PORT/...``: each service at the root of a host of
  its own (:mod:`.hosts`), its ``uri``; served by the data plane (:mod:`.dataplane`) and container
  instances (:mod:`.runtime`, :mod:`.scaler`, :mod:`.container`);
- ``/v2/projects/...``: the Admin API v2 over REST (:mod:`.admin`), so the official
  ``google-cloud-run`` client works unchanged with ``client_options={"api_endpoint": EDGE}``
  and anonymous credentials;
- ``/_gcp/run/PROJECT/REGION/SERVICE/...`` on the edge's own host: the same services, for clients
  that cannot resolve ``.localhost`` names; its answers carry ``Content-Security-Policy: sandbox``,
  so a page served there runs without the edge's origin (its scripts cannot call the stand-in's APIs).

Images live in the stand-in's registry under their Google names (:mod:`.images`); the edge's
route to this app is registered by :mod:`.urls`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from localcloud.edge import wsgi

from . import hosts
from .admin import PREFIX as ADMIN_PREFIX
from .admin import AdminApi
from .dataplane import PREFIX as RUN_PREFIX
from .dataplane import DataPlane
from .images import Repositories
from .runtime import Runtime

if TYPE_CHECKING:
    from localcloud.cloud import Cloud

PREFIXES = (ADMIN_PREFIX, RUN_PREFIX)
__all__ = ["PREFIXES", "CloudRun", "Repositories"]


class CloudRun:
    def __init__(self, cloud: Cloud, *, idle_timeout_s: float, startup_limit_s: float | None = None):
        self.runtime = Runtime(registry_host=cloud.edge_host, home=cloud.home, instance=cloud.instance,
                               idle_timeout_s=idle_timeout_s, startup_limit_s=startup_limit_s, clock=cloud.clock)
        self.port = cloud.port
        self.hosts = hosts.pattern(cloud.port)  # the edge routes these Hosts here, whatever the path
        self.admin = AdminApi(self.runtime, lambda name: hosts.uri(name, cloud.port))
        self.data = DataPlane(self.runtime, self.admin.policies, lambda name: name in self.admin.services)

    def __call__(self, environ: dict, start_response: wsgi.StartResponse):
        host = environ.get("HTTP_HOST", "").strip().lower()
        if self.hosts.match(host):  # a service's own host: the whole path is the container's
            name = next((n for n in list(self.admin.services) if hosts.host(n, self.port) == host), None)
            located = "/".join(name.split("/")[1::2]) if name else "-/-/-"  # no such service: the data plane's 404
            return self.data({**environ, "PATH_INFO": RUN_PREFIX + located + environ.get("PATH_INFO", "")},
                             start_response)
        if environ.get("PATH_INFO", "").startswith(RUN_PREFIX):
            return self.data(environ, sandboxed(start_response))
        return self.admin(environ, start_response)

    def status(self) -> dict:
        """Per service: its serving revision, instances started, cold starts, live instances, in flight."""
        return self.runtime.status()

    def shutdown(self) -> None:
        self.runtime.shutdown()


def sandboxed(start_response: wsgi.StartResponse) -> wsgi.StartResponse:
    """``start_response`` that adds ``Content-Security-Policy: sandbox``: a page answered on the edge's own
    origin gets an opaque origin in a browser (no scripts, no requests as the edge's origin)."""
    def start(status, headers, exc_info=None):
        return start_response(status, [*headers, ("Content-Security-Policy", "sandbox")], exc_info)
    return start
