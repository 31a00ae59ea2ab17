"""CloudWatch Logs' share of the edge: no route of its own (moto answers it), and the hook that makes reads wait."""

from __future__ import annotations

from localcloud.aws.awslambda.urls import Lambda
from localcloud.aws.logs.api import LogsHook
from localcloud.cloud import Service


def service(lam: Lambda) -> Service:
    """Reads of Lambda's logs wait until ``lam``'s runtime has shipped every answered invocation's lines."""
    return Service(hooks=[LogsHook(lam.runtime)])
