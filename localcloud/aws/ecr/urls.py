"""ECR's share of the edge: the registry protocol, host-mode uploads, and the control-plane hook.

======================================  ===================================================================
``/v2/...`` without a SigV4 signature   the registry (docker login/push/pull, :mod:`.proxy`), ECR's rules
``POST /_localcloud/host-images``       a folder streamed as a tar becomes an image (:mod:`.host_images`)
ECR API calls (SigV4-signed)            moto, with :class:`~localcloud.aws.ecr.api.EcrHook`
======================================  ===================================================================
"""

from __future__ import annotations

import re
from collections.abc import Callable

from localcloud.aws.ecr.api import EcrHook
from localcloud.aws.ecr.host_images import HostImages
from localcloud.aws.ecr.proxy import PushRules, RegistryProxy
from localcloud.cloud import Cloud, Service
from localcloud.edge.router import Route

REGISTRY = re.compile(r"^/v2(?:/.*)?$")
HOST_IMAGES = re.compile(r"^/_localcloud/host-images$")


def service(cloud: Cloud, push_rules: Callable[[EcrHook], PushRules] = lambda ecr: ecr) -> Service:
    """ECR on ``cloud``; ``push_rules`` wraps ECR's rules for pushes through ``/v2`` (another cloud's image names
    may pass them, as Cloud Run's do)."""
    ecr = EcrHook(cloud)
    return Service(routes=[
        # the registry's /v2 shares its prefix with API Gateway v2's API, which is always signed
        Route("registry", REGISTRY, RegistryProxy(cloud, push_rules(ecr)), unsigned_only=True),
        Route("host-images", HOST_IMAGES, HostImages(cloud, ecr), ("POST",)),
    ], hooks=[ecr])
