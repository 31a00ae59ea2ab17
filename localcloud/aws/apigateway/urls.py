"""API Gateway v2's share of the edge: the HTTP API data plane's route and the control-plane hook.

==================================  ===================================================================
``/_aws/execute-api/API_ID/...``    the HTTP API data plane (:mod:`.gateway`), which invokes through Lambda;
                                    10 MB bodies
``/v2/apis/...`` (SigV4-signed)     moto, with :class:`~localcloud.aws.apigateway.api.ApiGatewayHook`
==================================  ===================================================================
"""

from __future__ import annotations

import re

from localcloud.aws.apigateway.api import ApiGatewayHook
from localcloud.aws.apigateway.gateway import MAX_BODY, Gateway
from localcloud.aws.awslambda.urls import Lambda
from localcloud.cloud import Cloud, Service
from localcloud.edge.router import Route

EXECUTE_API = re.compile(r"^/_aws/execute-api/(?P<api>[^/]+)(?:/(?P<rest>.*))?$")


def service(cloud: Cloud, lam: Lambda) -> Service:
    """API Gateway on ``cloud``, its saved APIs' endpoints pointed at this edge; integrations invoke ``lam``."""
    hook = ApiGatewayHook(cloud)
    hook.restore()
    gateway = Gateway(cloud, lam.catalog, lam.runtime)
    return Service(routes=[Route("execute-api", EXECUTE_API, gateway, max_body=MAX_BODY)], hooks=[hook])
