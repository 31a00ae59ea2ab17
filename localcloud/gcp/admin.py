"""Cloud Run Admin API v2 over REST, the subset the lab uses, as ``run_v2.ServicesClient`` calls it.

=====================================================================  ==========================
request                                                                does
=====================================================================  ==========================
``POST   /v2/projects/P/locations/L/services?serviceId=S``              create (an operation)
``GET    /v2/projects/P/locations/L/services``                          list
``GET|PATCH|DELETE /v2/projects/P/locations/L/services/S``              get, update, delete
``GET    .../services/S:getIamPolicy``, ``POST :setIamPolicy``,          the service's IAM policy
``POST :testIamPermissions``
``GET    .../services/S/revisions[/R]``, ``DELETE .../revisions/R``      revisions
``GET|DELETE /v2/projects/P/locations/L/operations/ID``, ``POST :wait``  long-running operations
=====================================================================  ==========================
"""

from __future__ import annotations

import json
import re
import threading
from urllib.parse import parse_qs

from localcloud.edge import wsgi

from . import resources
from .dataplane import TOO_LARGE, read_limited
from .errors import GoogleError, not_found
from .iam import Policies
from .operations import Operations
from .runtime import DeployFailed, Runtime

PREFIX = "/v2/projects/"
MAX_BODY_BYTES = 1024 * 1024  # a service is a few kB of JSON
LOCATION = r"projects/[^/:]+/locations/[^/:]+"
ROUTES = [  # (method, pattern, handler name)
    ("POST", rf"(?P<parent>{LOCATION})/services", "create"),
    ("GET", rf"(?P<parent>{LOCATION})/services", "list"),
    ("GET", rf"(?P<name>{LOCATION}/services/[^/:]+)", "get"),
    ("PATCH", rf"(?P<name>{LOCATION}/services/[^/:]+)", "update"),
    ("DELETE", rf"(?P<name>{LOCATION}/services/[^/:]+)", "delete"),
    ("GET", rf"(?P<name>{LOCATION}/services/[^/:]+):getIamPolicy", "get_iam"),
    ("POST", rf"(?P<name>{LOCATION}/services/[^/:]+):setIamPolicy", "set_iam"),
    ("POST", rf"(?P<name>{LOCATION}/services/[^/:]+):testIamPermissions", "test_iam"),
    ("GET", rf"(?P<parent>{LOCATION}/services/[^/:]+)/revisions", "list_revisions"),
    ("GET", rf"(?P<name>{LOCATION}/services/[^/:]+/revisions/[^/:]+)", "get_revision"),
    ("DELETE", rf"(?P<name>{LOCATION}/services/[^/:]+/revisions/[^/:]+)", "delete_revision"),
    ("GET", rf"(?P<parent>{LOCATION})/operations", "list_operations"),
    ("GET", rf"(?P<name>{LOCATION}/operations/[^/:]+)", "get_operation"),
    ("POST", rf"(?P<name>{LOCATION}/operations/[^/:]+):wait", "get_operation"),
    ("DELETE", rf"(?P<name>{LOCATION}/operations/[^/:]+)", "delete_operation"),
]
COMPILED = [(method, re.compile(f"^/v2/{pattern}$"), handler) for method, pattern, handler in ROUTES]


class AdminApi:
    def __init__(self, runtime: Runtime, uri_of):
        self.runtime, self.uri_of = runtime, uri_of  # uri_of(service name) -> the service's URL on the edge
        self.services: dict[str, dict] = {}
        self.revisions: dict[str, dict] = {}
        self.policies, self.operations = Policies(), Operations()
        self._lock = threading.Lock()

    def __call__(self, environ: dict, start_response: wsgi.StartResponse):
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        try:
            for wanted, pattern, handler in COMPILED:
                if method == wanted and (match := pattern.match(path)):
                    query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
                    raw = read_limited(environ, MAX_BODY_BYTES) or b""
                    if raw is TOO_LARGE:
                        raise GoogleError(400, f"Request payload size exceeds the limit: {MAX_BODY_BYTES} bytes.")
                    body = json.loads(raw) if raw.strip() else {}
                    return wsgi.respond_json(start_response, 200, getattr(self, handler)(**match.groupdict(),
                                                                                        query=query, body=body))
            raise GoogleError(404, f"The requested URL {path} was not found on this server.")
        except json.JSONDecodeError as error:
            return wsgi.respond_json(start_response, 400, GoogleError(400, f"Invalid JSON payload: {error}").body())
        except GoogleError as error:
            return wsgi.respond_json(start_response, error.http_status, error.body())

    # -- services ------------------------------------------------------------------------
    def create(self, parent: str, query: dict, body: dict) -> dict:
        service_id = query.get("serviceId", "")
        resources.validate_parent(parent)
        resources.validate_id(service_id)
        name = f"{parent}/services/{service_id}"
        with self._lock:
            if name in self.services:
                raise GoogleError(409, f"Resource '{service_id}' already exists.")
            service = resources.new_service(name, body, self.uri_of(name))
            if query.get("validateOnly") == "true":
                resources.next_generation(service, body)
                return self.operations.start(parent, service, lambda: service)
            return self._roll_out(parent, service, body)

    def update(self, name: str, query: dict, body: dict) -> dict:
        resources.validate_parent(name)
        with self._lock:
            service = self.services.get(name)
            if service is None and query.get("allowMissing") != "true":
                raise not_found("SERVICE", name)
            service = service or resources.new_service(name, body, self.uri_of(name))
            return self._roll_out(name.rsplit("/services/", 1)[0], service, body)

    def _roll_out(self, parent: str, service: dict, body: dict) -> dict:
        """Store the next generation and deploy its revision in the background (call with the lock held)."""
        service, revision_id = resources.next_generation(service, body)
        service["terminalCondition"] = resources.condition("CONDITION_RECONCILING")
        self.services[service["name"]] = service
        revision = resources.revision_document(service, revision_id, resources.condition("CONDITION_PENDING"))
        self.revisions[revision["name"]] = revision
        spec = resources.spec_of(service["name"].rsplit("/", 1)[1], revision_id, service["template"])
        return self.operations.start(parent, service, lambda: self._deploy(service["name"], revision["name"], spec))

    def _deploy(self, name: str, revision_name: str, spec: resources.RevisionSpec) -> dict:
        try:
            self.runtime.deploy(name, spec)
            failure = None
        except DeployFailed as error:
            failure = f"Revision '{spec.revision}' is not ready and cannot serve traffic. {error}"
        with self._lock:
            service = self.services.get(name)
            if service is None:  # deleted meanwhile
                self.runtime.remove(name)
                raise not_found("SERVICE", name)
            state = "CONDITION_FAILED" if failure else "CONDITION_SUCCEEDED"
            if revision_name in self.revisions:
                self.revisions[revision_name].update(conditions=[resources.condition(state, failure or "")],
                                                     reconciling=False)
            service.update(observedGeneration=service["generation"], reconciling=False,
                           terminalCondition=resources.condition(state, failure or ""))
            if not failure:
                service.update(latestReadyRevision=revision_name, trafficStatuses=[
                    {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100,
                     "revision": spec.revision}])
            service = dict(service)
        if failure:
            raise GoogleError(412, failure)
        return service

    def get(self, name: str, query: dict, body: dict) -> dict:
        with self._lock:
            if name not in self.services:
                raise not_found("SERVICE", name)
            return dict(self.services[name])

    def list(self, parent: str, query: dict, body: dict) -> dict:
        with self._lock:
            return {"services": [dict(s) for n, s in sorted(self.services.items()) if n.startswith(parent + "/")]}

    def delete(self, name: str, query: dict, body: dict) -> dict:
        with self._lock:
            service = self.services.pop(name, None)
            if service is None:
                raise not_found("SERVICE", name)
            for revision in [r for r in self.revisions if r.startswith(name + "/revisions/")]:
                del self.revisions[revision]
        self.policies.forget(name)
        self.runtime.remove(name)
        return self.operations.start(name.rsplit("/services/", 1)[0], service, lambda: service)

    # -- IAM -----------------------------------------------------------------------------
    def get_iam(self, name: str, query: dict, body: dict) -> dict:
        self.get(name, query, body)
        return self.policies.get(name)

    def set_iam(self, name: str, query: dict, body: dict) -> dict:
        self.get(name, query, body)
        return self.policies.set(name, body.get("policy") or {})

    def test_iam(self, name: str, query: dict, body: dict) -> dict:
        self.get(name, query, body)
        return {"permissions": self.policies.permissions(name, body.get("permissions") or [])}

    # -- revisions and operations --------------------------------------------------------
    def list_revisions(self, parent: str, query: dict, body: dict) -> dict:
        self.get(parent, query, body)
        with self._lock:
            return {"revisions": [dict(r) for n, r in sorted(self.revisions.items()) if n.startswith(parent + "/")]}

    def get_revision(self, name: str, query: dict, body: dict) -> dict:
        with self._lock:
            if name not in self.revisions:
                raise not_found("REVISION", name)
            return dict(self.revisions[name])

    def delete_revision(self, name: str, query: dict, body: dict) -> dict:
        with self._lock:
            service = self.services.get(name.split("/revisions/")[0], {})
            if name == service.get("latestReadyRevision"):
                raise GoogleError(412, f"Revision '{name.rsplit('/', 1)[1]}' is serving traffic and cannot be deleted.")
            revision = self.revisions.pop(name, None)
        if revision is None:
            raise not_found("REVISION", name)
        return self.operations.start(name.split("/services/")[0], revision, lambda: revision, kind="Revision")

    def get_operation(self, name: str, query: dict, body: dict) -> dict:
        return self.operations.get(name)

    def list_operations(self, parent: str, query: dict, body: dict) -> dict:
        return {"operations": self.operations.list(parent)}

    def delete_operation(self, name: str, query: dict, body: dict) -> dict:
        self.operations.delete(name)
        return {}
