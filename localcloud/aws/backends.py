"""Direct access to moto's in-process backends (the control plane's stored resources)."""

from __future__ import annotations

from moto.backends import get_backend
from moto.core import DEFAULT_ACCOUNT_ID


def service(name: str, account: str, region: str):
    """moto's backend for one service, account and region (created on first use, as moto does)."""
    return get_backend(name)[account][region]


def existing(name: str):
    """(account, region, backend) for every backend of a service that already exists."""
    for account, per_region in list(get_backend(name).items()):
        for region, backend in list(per_region.items()):
            yield account, region, backend


def ecr_repositories(name: str, account: str = DEFAULT_ACCOUNT_ID) -> list:
    """Every ECR repository called ``name`` (the edge's registry has one namespace for all regions)."""
    return [backend.repositories[name] for acct, _, backend in existing("ecr")
            if acct == account and name in backend.repositories]


def find_api(api_id: str):
    """(account, region, Api) of an HTTP API by id, or None."""
    for account, region, backend in existing("apigatewayv2"):
        api = backend.apis.get(api_id)
        if api is not None:
            return account, region, api
    return None
