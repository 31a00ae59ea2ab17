"""Step 9 with LAB_TARGET=gcp, offline: the requests Google Cloud would get from lab_solution/cloudrun.py.

The client's HTTP session is given a transport adapter that records each request and answers
as the Admin API v2 does (an operation that is done, a policy); nothing leaves the machine.
The behaviour behind those answers is tested against the stand-in (tests/localcloud/gcp).
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from google.auth.credentials import AnonymousCredentials
from google.cloud import run_v2

from lab_solution import cloudrun as step
from labkit import config, gcp

IMAGE = "asia-south1-docker.pkg.dev/my-lab-project/serverless-iris/serverless-iris@sha256:" + "a" * 64
SERVICE = "projects/my-lab-project/locations/asia-south1/services/serverless-iris"


class GoogleCloud(requests.adapters.BaseAdapter):
    """Records requests; answers like Cloud Run (409 on a second create when ``exists``)."""

    def __init__(self, exists: bool = False):
        super().__init__()
        self.sent: list[tuple[str, str, dict, dict]] = []  # (method, path, query, body)
        self.exists = exists

    def send(self, request, **kwargs):
        url = urlsplit(request.url)
        body = json.loads(request.body) if request.body else {}
        self.sent.append((request.method, url.path, parse_qs(url.query), body))
        status, answer = 200, {}
        if request.method == "POST" and url.path.endswith("/services") and self.exists:
            status, answer = 409, {"error": {"code": 409, "status": "ALREADY_EXISTS", "message": "exists"}}
        elif request.method in ("POST", "PATCH", "DELETE") and ":" not in url.path:
            answer = {"name": "projects/p/locations/l/operations/1", "done": True,
                      "response": {"@type": "type.googleapis.com/google.cloud.run.v2.Service", **body,
                                   "name": SERVICE, "uri": "https://serverless-iris-abc-el.a.run.app"}}
        elif url.path.endswith(":getIamPolicy"):
            answer = {"version": 1, "etag": "BwY="}
        elif url.path.endswith(":setIamPolicy"):
            answer = body["policy"]
        response = requests.Response()
        response.status_code, response._content, response.request = status, json.dumps(answer).encode(), request
        response.headers["Content-Type"] = "application/json"
        return response

    def close(self):
        pass


@pytest.fixture
def settings():
    return config.load({"LAB_TARGET": "gcp", "GOOGLE_CLOUD_PROJECT": "my-lab-project"}, code="lab_solution")


@pytest.fixture
def cloud(monkeypatch):
    """The clients lab_solution makes, with no credentials lookup and this adapter under their session."""
    made = GoogleCloud()
    original = gcp.services_client

    def client(settings):
        monkeypatch.setattr(gcp, "credentials", lambda _settings: AnonymousCredentials())
        services = original(settings)
        services._transport._session.mount("https://", made)
        return services

    monkeypatch.setattr(gcp, "services_client", client)
    return made


def test_the_settings_are_google_clouds(settings):
    assert (settings.target, settings.gcp_region, settings.endpoint_url) == ("gcp", "asia-south1", None)
    assert settings.cloud_run_image == "asia-south1-docker.pkg.dev/my-lab-project/serverless-iris/serverless-iris"


def test_deploy_sends_what_gcloud_run_deploy_sends(settings, cloud):
    # when
    ready = step.deploy(settings, step.service_spec(settings, IMAGE))
    # then: one create in the project's region, with the chapter's flags
    ((method, path, query, body),) = [sent for sent in cloud.sent if sent[0] != "GET"]
    assert (method, path) == ("POST", "/v2/projects/my-lab-project/locations/asia-south1/services")
    assert query["serviceId"] == ["serverless-iris"]
    (container,) = body["template"]["containers"]
    assert container["image"] == IMAGE and container["resources"]["limits"] == {"memory": "1Gi", "cpu": "1"}
    assert container["ports"] == [{"containerPort": 8080}]
    assert body["template"]["scaling"] == {"maxInstanceCount": 10}  # min 0 is protobuf's default: not sent
    assert body["template"]["maxInstanceRequestConcurrency"] == 80
    assert body["labels"] == {"lab": "serverless-iris"}
    assert ready.uri.startswith("https://")
    assert gcp.services_client(settings)._transport._host == f"https://{run_v2.ServicesClient.DEFAULT_ENDPOINT}"


def test_an_existing_service_gets_a_new_revision_instead(settings, cloud):
    cloud.exists = True
    step.deploy(settings, step.service_spec(settings, IMAGE))
    methods = [(method, path) for method, path, _, _ in cloud.sent]
    assert methods[-2:] == [("POST", "/v2/projects/my-lab-project/locations/asia-south1/services"),
                            ("PATCH", f"/v2/{SERVICE}")]
    assert cloud.sent[-1][3]["template"]["containers"][0]["image"] == IMAGE


def test_allow_unauthenticated_grants_all_users_the_invoker_role(settings, cloud):
    gcp.allow_unauthenticated(settings)
    (method, path, _, body) = cloud.sent[-1]
    assert (method, path) == ("POST", f"/v2/{SERVICE}:setIamPolicy")
    assert body["policy"]["bindings"] == [{"role": "roles/run.invoker", "members": ["allUsers"]}]


def test_delete_names_the_service(settings, cloud):
    assert step.delete(settings) is True
    assert cloud.sent[-1][:2] == ("DELETE", f"/v2/{SERVICE}")


def test_a_missing_project_is_one_clear_line():
    with pytest.raises(config.ConfigError, match="GOOGLE_CLOUD_PROJECT"):
        config.load({"LAB_TARGET": "gcp"})
