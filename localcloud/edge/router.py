"""The edge: one HTTP endpoint on 127.0.0.1 for everything, like LocalStack's port 4566.

The route table is :attr:`Edge.routes`, in order; a route that declares a ``host`` pattern takes
every request whose Host it matches, whatever the path (Cloud Run's services, each at the root of
a host of its own); otherwise the first route whose method and path match takes the request, and
the control plane takes what none matches. The edge's own endpoints come first; each service then
registers its routes (:meth:`Edge.register`), declared beside its code in its package's ``urls.py``
(:mod:`localcloud.cloud`), in the order :mod:`localcloud.server` assembles them:

==============================================  =============================================
Host or path                                    goes to
==============================================  =============================================
Host ``SERVICE-HASH.REGION.run.localhost:PORT`` a Cloud Run service (:mod:`localcloud.gcp.urls`)
``/_localcloud/health``, ``/status``            the stand-in's own endpoints
``/v2/projects/...``, ``/_gcp/run/...``         Cloud Run (:mod:`localcloud.gcp.urls`)
``POST /2015-03-31/functions/F/invocations``    Lambda Invoke (:mod:`localcloud.aws.awslambda.urls`)
``/_aws/execute-api/API_ID/...``                the HTTP API data plane (:mod:`localcloud.aws.apigateway.urls`)
``/v2/...`` without a SigV4 signature           the Docker registry, and ``POST /_localcloud/host-images``
                                                (:mod:`localcloud.aws.ecr.urls`)
anything else                                   the AWS control plane (moto, with each service's hooks)
==============================================  =============================================

Every route holds request bodies to a limit, by construction: :data:`DEFAULT_MAX_BODY` unless the
route declares its own where it is registered (``Route(..., max_body=...)`` in a service's ``urls.py``,
the control plane's in :mod:`localcloud.server`). The edge wraps each request's body before the app
sees it (:func:`localcloud.edge.wsgi.cap_body`), so no app can read past its route's limit, whether it
reads with a limit of its own or not; an app words the refusal its service's way, or the edge answers
413 ``{"message": "Request Entity Too Large"}``. The status document lists every route with its limit.

Before any route, :class:`Guard` refuses what a web page in the student's browser could
send: a ``Host`` that is neither a loopback name with the edge's port nor a name a route's
``host`` pattern declares (DNS rebinding: a rebound page's Host is its own domain), and a
cross-site ``Origin`` or ``Sec-Fetch-Site``, on every path: the docker daemon never sends
either, so the registry is checked too. A service's host admits only its own origin, so a
service's page can call neither the stand-in's APIs nor another service.
"""

from __future__ import annotations

import re
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from localcloud.edge import wsgi

App = Callable[[dict, wsgi.StartResponse], object]
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
DEFAULT_MAX_BODY = 1024 * 1024  # a route's request body limit unless it declares its own
ANY_PATH = re.compile("")


@dataclass(frozen=True)
class Route:
    """``pattern`` is matched against the decoded path; ``methods`` empty means any method; a request body may be
    at most ``max_body`` bytes (the edge holds every read of it to that)."""

    name: str
    pattern: re.Pattern
    app: App
    methods: tuple[str, ...] = ()
    unsigned_only: bool = False   # the registry's /v2 shares its prefix with API Gateway v2's signed API
    host: re.Pattern | None = None  # Host headers (lower case) this route takes on every path
    max_body: int = DEFAULT_MAX_BODY

    def __post_init__(self) -> None:
        if not isinstance(self.max_body, int) or self.max_body < 0:
            raise ValueError(f"route {self.name}: max_body must be a number of bytes, not {self.max_body!r}")

    def matches(self, environ: dict) -> re.Match | None:
        if self.methods and environ["REQUEST_METHOD"] not in self.methods:
            return None
        if self.unsigned_only and environ.get("HTTP_AUTHORIZATION", "").startswith("AWS4"):
            return None
        return self.pattern.match(environ.get("PATH_INFO", ""))


class Guard:
    """Who may talk to the edge: loopback Host names with its port (or a route's declared hosts), and no
    cross-site browser request."""

    def __init__(self, port: int):
        self.port = port
        self.hosts = {f"{name}:{port}" for name in LOOPBACK_NAMES}
        self.origins = {f"http://{host}" for host in self.hosts}
        self.declared: list[re.Pattern] = []  # the routes' host patterns (Edge.register)

    def refusal(self, environ: dict) -> str | None:
        host = environ.get("HTTP_HOST", "").strip().lower()
        if host in self.hosts:
            origins = self.origins
        elif any(pattern.match(host) for pattern in self.declared):
            origins = {f"http://{host}"}  # a service's host: its own origin only
        else:
            return f"Host {host!r} does not name this stand-in (http://127.0.0.1:{self.port})"
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None and origin.strip().lower() not in origins:
            return f"cross-site requests are refused (Origin {origin!r})"
        if environ.get("HTTP_SEC_FETCH_SITE", "").strip().lower() in ("cross-site", "same-site"):
            return "cross-site requests are refused (Sec-Fetch-Site)"
        return None


class Edge:
    def __init__(self, *, port: int, control: Route, status: Callable[[], dict], health: Callable[[], dict[str, bool]]):
        """``control`` takes what no route matches (the AWS control plane), with its own body limit."""
        self.guard = Guard(port)
        self.control = control
        self.status, self.health = status, health
        self.routes: list[Route] = [
            Route("health", re.compile(r"^/_localcloud/health$"), self._health, ("GET", "HEAD")),
            Route("status", re.compile(r"^/_localcloud/status$"), self._status, ("GET",)),
        ]
        self.started = time.time()

    def register(self, route: Route) -> None:
        """Add a route (before the control plane, which takes what no route matches)."""
        self.routes.append(route)
        if route.host:
            self.guard.declared.append(route.host)

    @property
    def table(self) -> list[Route]:
        """Every route a request can take, in order: the registered ones, then the control plane."""
        return [*self.routes, self.control]

    def __call__(self, environ: dict, start_response: wsgi.StartResponse):
        try:
            refusal = self.guard.refusal(environ)
            if refusal:
                return wsgi.respond_json(start_response, 403, {"message": f"Forbidden: {refusal}"},
                                         [("x-amzn-ErrorType", "AccessDeniedException"), ("Connection", "close")])
            taken, match = self.route(environ)
            if match is None and environ.get("PATH_INFO", "").startswith("/_localcloud/"):
                return wsgi.respond_json(start_response, 404, {"message": "Not Found"})
            environ[wsgi.MATCH] = match.groupdict() if match else {}
            wsgi.cap_body(environ, taken.max_body)
            return taken.app(environ, start_response)
        except wsgi.TooLarge:  # an app that let its route's limit speak for itself
            return wsgi.respond_json(start_response, 413, {"message": "Request Entity Too Large"},
                                     [("Connection", "close")])
        except wsgi.BadBody as error:
            return wsgi.respond_json(start_response, 400, {"message": f"Bad Request: {error}"}, [("Connection", "close")])
        except Exception:  # answer as AWS does (500 InternalFailure) and keep the trace in the edge log
            traceback.print_exc()
            return wsgi.respond_json(start_response, 500, {"message": "InternalFailure: see the stand-in's edge log"},
                                     [("x-amzn-ErrorType", "InternalFailure")])

    def route(self, environ: dict) -> tuple[Route, re.Match | None]:
        """The route for a request and its match: a route declaring its Host first, then by method and path,
        else the control plane."""
        host = environ.get("HTTP_HOST", "").strip().lower()
        for route in self.routes:
            if route.host and (match := route.host.match(host)):
                return route, match
        for route in self.routes:
            if match := route.matches(environ):
                return route, match
        return self.control, None

    def _health(self, environ: dict, start_response: wsgi.StartResponse):
        components = self.health()
        healthy = all(components.values())
        return wsgi.respond_json(start_response, 200 if healthy else 503, {
            "service": "localcloud", "status": "healthy" if healthy else "unhealthy",
            "components": {name: "healthy" if ok else "unhealthy" for name, ok in components.items()}})

    def _status(self, environ: dict, start_response: wsgi.StartResponse):
        routes = [{"name": route.name, "methods": list(route.methods), "max_body": route.max_body}
                  for route in self.table]
        return wsgi.respond_json(start_response, 200, {**self.status(), "routes": routes,
                                                       "uptime_s": round(time.time() - self.started)})
