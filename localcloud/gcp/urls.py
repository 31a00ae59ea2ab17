"""Cloud Run's share of the edge: one route for its Admin API and its services' URLs.

=================================================  ==============================================
``SERVICE-HASH.REGION.run.localhost:PORT`` (Host)  each service's URL, any path (:mod:`.hosts`)
``/v2/projects/...``                               the Admin API v2 over REST (:mod:`.admin`)
``/_gcp/run/PROJECT/REGION/SERVICE/...``           each service, by path (:mod:`.dataplane`)
=================================================  ==============================================

The route must come before the registry's ``/v2``, which shares the Admin API's prefix; its Host
pattern makes the edge's guard admit the services' hosts and send them here before any path matches. Its bodies may be
32 MiB, Cloud Run's HTTP/1 request limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from localcloud.cloud import Cloud, Service
from localcloud.edge.router import Route
from localcloud.gcp import PREFIXES, CloudRun, hosts
from localcloud.gcp.dataplane import MAX_REQUEST_BYTES

CLOUD_RUN = re.compile("^(?:" + "|".join(re.escape(prefix) for prefix in PREFIXES) + ")")


@dataclass(kw_only=True)
class CloudRunService(Service):
    """Cloud Run's route, and the app behind it, whose status and shutdown the stand-in uses."""

    app: CloudRun


def service(cloud: Cloud, *, idle_timeout_s: float, startup_limit_s: float | None = None) -> CloudRunService:
    """Cloud Run on ``cloud``; an idle instance beyond a service's minimum stops after ``idle_timeout_s``, and
    none waits longer than ``startup_limit_s`` (if given) to listen."""
    cloudrun = CloudRun(cloud, idle_timeout_s=idle_timeout_s, startup_limit_s=startup_limit_s)
    return CloudRunService(routes=[Route("cloud-run", CLOUD_RUN, cloudrun, host=hosts.pattern(cloud.port),
                                         max_body=MAX_REQUEST_BYTES)], app=cloudrun)
