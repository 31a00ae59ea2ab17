"""ECR's share of the edge: the registry protocol, host-mode uploads, and the control-plane hook.

======================================  ===================================================================
``/v2/N/blobs/uploads/...`` (unsigned)  blob uploads, streamed to the registry's storage (:mod:`.proxy`);
                                        a body up to ECR's largest layer (52,000 MiB)
``/v2/...`` without a SigV4 signature   the rest of the registry (docker login/push/pull), ECR's rules;
                                        a body up to 4 MiB, the largest manifest distribution and ECR take
``POST /_localcloud/host-images``       a folder streamed as a tar becomes an image (:mod:`.host_images`),
                                        at most 250 MB
ECR API calls (SigV4-signed)            moto, with :class:`~localcloud.aws.ecr.api.EcrHook`
======================================  ===================================================================
"""

from __future__ import annotations

import re
from collections.abc import Callable

from localcloud.aws.ecr.api import EcrHook
from localcloud.aws.ecr.host_images import MAX_UPLOAD, HostImages
from localcloud.aws.ecr.proxy import MAX_LAYER, MAX_MANIFEST, PushRules, RegistryProxy
from localcloud.cloud import Cloud, Service
from localcloud.edge.router import Route

REGISTRY = re.compile(r"^/v2(?:/.*)?$")
BLOB_UPLOAD = re.compile(r"^/v2/.+/blobs/uploads/.*$")
HOST_IMAGES = re.compile(r"^/_localcloud/host-images$")


def service(cloud: Cloud, push_rules: Callable[[EcrHook], PushRules] = lambda ecr: ecr) -> Service:
    """ECR on ``cloud``; ``push_rules`` wraps ECR's rules for pushes through ``/v2`` (another cloud's image names
    may pass them, as Cloud Run's do)."""
    ecr = EcrHook(cloud)
    registry = RegistryProxy(cloud, push_rules(ecr))
    return Service(routes=[
        # the registry's /v2 shares its prefix with API Gateway v2's API, which is always signed
        Route("registry-blob-uploads", BLOB_UPLOAD, registry, ("POST", "PATCH", "PUT"), unsigned_only=True,
              max_body=MAX_LAYER),
        Route("registry", REGISTRY, registry, unsigned_only=True, max_body=MAX_MANIFEST),
        Route("host-images", HOST_IMAGES, HostImages(cloud, ecr), ("POST",), max_body=MAX_UPLOAD),
    ], hooks=[ecr])
