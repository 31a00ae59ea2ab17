"""Lambda's share of the edge: the Invoke route and the control-plane hook, over one catalog and one runtime.

=============================================  ===========================================================
``POST /2015-03-31/functions/F/invocations``   Invoke, straight to the runtime (:mod:`.invoke`); 6 MB bodies
other Lambda API calls                         moto, with :class:`~localcloud.aws.awslambda.api.LambdaHook`
=============================================  ===========================================================
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from localcloud.aws.awslambda.api import LambdaHook
from localcloud.aws.awslambda.catalog import Catalog
from localcloud.aws.awslambda.functions import ImageStore
from localcloud.aws.awslambda.invoke import MAX_PAYLOAD, InvokeApi
from localcloud.aws.awslambda.lambdalog import LogSink
from localcloud.aws.awslambda.runtime import Runtime
from localcloud.aws.logs.delivery import Delivery
from localcloud.cloud import Cloud, Service
from localcloud.edge.router import Route

INVOKE = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "test"}


@dataclass(kw_only=True)
class Lambda(Service):
    """Lambda's routes and hook, and what the gateway, the logs and the stand-in's status use of it."""

    catalog: Catalog
    runtime: Runtime


def service(cloud: Cloud, *, rie: Callable[[str], Path], idle_timeout: float, max_concurrency: int) -> Lambda:
    """Lambda on ``cloud``, its saved functions restored (their images pointed at this edge, their provisioned
    environments started); ``rie(architecture)`` is the Runtime Interface Emulator's binary."""
    catalog = Catalog(cloud)
    store = ImageStore(cloud)
    runtime = Runtime(store, LogSink(Delivery(cloud, catalog)), rie, home=cloud.home, instance=cloud.instance,
                      extra_env={**CREDENTIALS, "AWS_ENDPOINT_URL": cloud.edge_url},  # boto3 in a handler reaches the edge
                      idle_timeout=idle_timeout, max_concurrency=max_concurrency, resolve=catalog.resolve,
                      clock=cloud.clock)
    hook = LambdaHook(cloud, catalog, store, runtime)
    for name in hook.restore(cloud.edge_host):
        cloud.log(f"removed the unused extracted image {name}")
    invoke = Route("invoke", INVOKE, InvokeApi(catalog, runtime, cloud.region), ("POST",),
                   max_body=max(MAX_PAYLOAD.values()))  # 6 MB; Event's 1 MB is the Invoke API's own check
    return Lambda(routes=[invoke], hooks=[hook], catalog=catalog, runtime=runtime)
