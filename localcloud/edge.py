"""The edge: one HTTP endpoint on 127.0.0.1 for everything, like LocalStack's port 4566.

==========================================  =============================================
path                                        goes to
==========================================  =============================================
``POST /2015-03-31/functions/F/invocations``  Lambda Invoke (runtime)
``/_aws/execute-api/API_ID/...``            API Gateway HTTP API data plane
``/v2/projects/...``, ``/_gcp/run/...``     Cloud Run: Admin API v2, services' URLs
``/v2/...`` without a SigV4 signature       the Docker registry (docker login/push/pull)
``/_localcloud/health``, ``/status``,       the stand-in's own endpoints
``/host-images``
anything else                               the AWS control plane (moto, with fixes)
==========================================  =============================================
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable

from . import wsgi
from .gcp import PREFIXES as CLOUD_RUN_PREFIXES
from .invoke import PREFIX as INVOKE_PREFIX
from .invoke import SUFFIX as INVOKE_SUFFIX

GATEWAY_PREFIX = "/_aws/execute-api/"
OWN_PREFIX = "/_localcloud/"

App = Callable[[dict, wsgi.StartResponse], object]


class Edge:
    def __init__(self, *, control: App, invoke: App, gateway: App, registry: App, host_images: App,
                 status: Callable[[], dict], health: Callable[[], dict[str, bool]], cloudrun: App):
        self.control, self.invoke, self.gateway, self.cloudrun = control, invoke, gateway, cloudrun
        self.registry, self.host_images = registry, host_images
        self.status, self.health = status, health
        self.started = time.time()

    def __call__(self, environ: dict, start_response: wsgi.StartResponse):
        path = environ.get("PATH_INFO", "")
        try:
            if path.startswith(INVOKE_PREFIX) and path.endswith(INVOKE_SUFFIX) and environ["REQUEST_METHOD"] == "POST":
                return self.invoke(environ, start_response)
            if path.startswith(GATEWAY_PREFIX):
                return self.gateway(environ, start_response)
            if path.startswith(CLOUD_RUN_PREFIXES):  # before /v2/: the Admin API shares it with the registry
                return self.cloudrun(environ, start_response)
            if (path == "/v2" or path.startswith("/v2/")) and not environ.get("HTTP_AUTHORIZATION", "").startswith("AWS4"):
                return self.registry(environ, start_response)
            if path.startswith(OWN_PREFIX):
                return self.own(environ, start_response, path[len(OWN_PREFIX):])
            return self.control(environ, start_response)
        except Exception:  # answer as AWS does (500 InternalFailure) and keep the trace in the edge log
            traceback.print_exc()
            return wsgi.respond_json(start_response, 500, {"message": "InternalFailure: see the stand-in's edge log"},
                                     [("x-amzn-ErrorType", "InternalFailure")])

    def own(self, environ: dict, start_response: wsgi.StartResponse, name: str):
        method = environ["REQUEST_METHOD"]
        if name == "health" and method in ("GET", "HEAD"):
            components = self.health()
            healthy = all(components.values())
            return wsgi.respond_json(start_response, 200 if healthy else 503, {
                "service": "localcloud", "status": "healthy" if healthy else "unhealthy",
                "components": {name: "healthy" if ok else "unhealthy" for name, ok in components.items()}})
        if name == "status" and method == "GET":
            return wsgi.respond_json(start_response, 200, {**self.status(), "uptime_s": round(time.time() - self.started)})
        if name == "host-images" and method == "POST":
            return self.host_images(environ, start_response)
        return wsgi.respond_json(start_response, 404, {"message": "Not Found"})
