"""API Gateway v2 control plane fixes around moto.

* ``ApiEndpoint`` is the edge's ``http://127.0.0.1:4566/_aws/execute-api/API_ID``.
* HTTP API *quick create* (``create_api(..., Target=ARN)``) creates what AWS creates:
  an AWS_PROXY integration (payload 2.0), the ``$default`` route (or ``RouteKey``) and
  the ``$default`` stage with auto-deploy (apigatewayv2 CreateApi reference).
* ``CreateDeployment`` / ``GetDeployments``, which moto lacks: a deployment marks its
  stage as deployed (routes are served live; stages are not snapshots here).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import TYPE_CHECKING

from localcloud.aws import backends
from localcloud.aws.control import Call, Hook
from localcloud.aws.wire import Answer, BadRequest, NotFound

if TYPE_CHECKING:
    from localcloud.cloud import Cloud

APIS = "/v2/apis"
DEPLOYMENTS = re.compile(r"^/v2/apis/(?P<api>[^/]+)/deployments/?$")
INTEGRATIONS = re.compile(r"^/v2/apis/(?P<api>[^/]+)/integrations/?$")


class ApiGatewayHook(Hook):
    service = "apigateway"

    def __init__(self, cloud: Cloud):
        self.edge_url = cloud.edge_url
        self.lock, self.table, self.on_mutation = cloud.lock, cloud.table, cloud.changed

    def endpoint(self, api_id: str) -> str:
        return f"{self.edge_url}/_aws/execute-api/{api_id}"

    def before(self, call: Call) -> Answer | None:
        integrations = INTEGRATIONS.match(call.path)
        if call.method == "POST" and integrations and call.json.get("integrationType") == "AWS_PROXY" \
                and not call.json.get("payloadFormatVersion") and self._protocol(call, integrations["api"]) == "HTTP":
            # http-api-develop-integrations-lambda.html: with the CLI or an SDK "you must specify a payloadFormatVersion"
            return BadRequest("PayloadFormatVersion is required for AWS_PROXY integrations; use 2.0 or 1.0").answer()
        match = DEPLOYMENTS.match(call.path)
        if not match:
            return None
        with self.lock:
            api = backends.service("apigatewayv2", call.account, call.region).apis.get(match["api"])
            if api is None:
                return NotFound(f"Invalid API identifier specified {call.account}:{match['api']}").answer()
            record = self.table.api(api.api_id)
            if call.method == "GET":
                return _json(200, {"items": list(record.deployments.values())})
            if call.method != "POST":
                return None
            stage_name = call.json.get("stageName")
            if stage_name and stage_name not in api.stages:
                return NotFound("Invalid stage identifier specified").answer()
            deployment = {"deploymentId": secrets.token_hex(3), "deploymentStatus": "DEPLOYED",
                          "createdDate": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "autoDeployed": False,
                          "description": call.json.get("description", "")}
            record.deployments[deployment["deploymentId"]] = deployment
            if stage_name:
                record.stages[stage_name] = deployment["deploymentId"]
        self.on_mutation()
        return _json(201, deployment)

    def _protocol(self, call: Call, api_id: str) -> str | None:
        with self.lock:
            api = backends.service("apigatewayv2", call.account, call.region).apis.get(api_id)
            return api.protocol_type if api else None

    def after(self, call: Call, answer: Answer) -> None:
        if not (answer.ok and call.method == "POST" and call.path.rstrip("/") == APIS):
            return
        document = answer.json()
        with self.lock:
            api = backends.service("apigatewayv2", call.account, call.region).apis[document["apiId"]]
            api.api_endpoint = self.endpoint(api.api_id)
            if call.json.get("target") and api.protocol_type == "HTTP":
                self.quick_create(api, call.json)
        document["apiEndpoint"] = api.api_endpoint
        answer.set_json(document)

    @staticmethod
    def quick_create(api, request: dict) -> None:
        integration = api.create_integration(
            connection_type="INTERNET", description="", integration_method="POST", integration_type="AWS_PROXY",
            integration_uri=request["target"], credentials_arn=request.get("credentialsArn"),
            payload_format_version="2.0")
        api.create_route(api_key_required=False, authorization_scopes=[], route_key=request.get("routeKey") or "$default",
                         target=f"integrations/{integration.id}", authorization_type="NONE")
        api.create_stage({"stageName": "$default", "autoDeploy": True})

    def restore(self) -> None:
        """After a restart (possibly on another port): point every API's endpoint at this edge."""
        with self.lock:
            for _, _, backend in backends.existing("apigatewayv2"):
                for api in backend.apis.values():
                    api.api_endpoint = self.endpoint(api.api_id)


def _json(status: int, document: dict) -> Answer:
    return Answer(status, [("Content-Type", "application/json")], json.dumps(document).encode())
