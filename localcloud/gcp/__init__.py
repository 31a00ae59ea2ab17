"""Google Cloud Run in the local stand-in, beside AWS's services: for local use only.

One WSGI app behind the edge, for two path prefixes:

- ``/v2/projects/...``: the Admin API v2 over REST (:mod:`.admin`), so the official
  ``google-cloud-run`` client works unchanged with ``client_options={"api_endpoint": EDGE}``
  and anonymous credentials;
- ``/_gcp/run/PROJECT/REGION/SERVICE/...``: each service's URL (:mod:`.dataplane`), served by
  container instances (:mod:`.runtime`, :mod:`.scaler`, :mod:`.container`).

Images live in the stand-in's registry under their Google names (:mod:`.images`); the edge's
route to this app is registered by :mod:`.urls`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from localcloud.edge import wsgi

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
    def __init__(self, cloud: Cloud, *, idle_timeout_s: float):
        self.runtime = Runtime(registry_host=cloud.edge_host, home=cloud.home, instance=cloud.instance,
                               idle_timeout_s=idle_timeout_s, clock=cloud.clock)
        edge_url = cloud.edge_url
        self.admin = AdminApi(self.runtime, lambda name: edge_url + RUN_PREFIX + "/".join(name.split("/")[1::2]))
        self.data = DataPlane(self.runtime, self.admin.policies, lambda name: name in self.admin.services)

    def __call__(self, environ: dict, start_response: wsgi.StartResponse):
        if environ.get("PATH_INFO", "").startswith(RUN_PREFIX):
            return self.data(environ, start_response)
        return self.admin(environ, start_response)

    def status(self) -> dict:
        """Per service: its serving revision, instances started, cold starts, live instances, in flight."""
        return self.runtime.status()

    def shutdown(self) -> None:
        self.runtime.shutdown()
