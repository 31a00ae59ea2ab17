"""API Gateway (HTTP API) plumbing for step 6 and later: names, listings, finding the lab's API, calling it."""

from __future__ import annotations

from dataclasses import dataclass

import requests

from .config import Settings

ROUTE_KEY = "POST /predict"
STAGE = "$default"
STATEMENT_ID = "allow-api-gateway-invoke"  # the function-policy statement that lets the API invoke it


@dataclass(frozen=True)
class PublicApi:
    api_id: str
    url: str  # the full URL of POST /predict
    source_arn: str  # what the invoke permission is scoped to


def items(apigw, operation: str, **kwargs) -> list[dict]:
    """Every item of a paginated API Gateway listing (each page holds at most 25)."""
    return [item for page in apigw.get_paginator(operation).paginate(**kwargs) for item in page["Items"]]


def find_api(settings: Settings, apigw) -> dict | None:
    """The lab's HTTP API (by name and tag), if it exists."""
    return next((api for api in items(apigw, "get_apis") if api["Name"] == settings.api_name
                 and api.get("Tags", {}).get("lab") == settings.tags["lab"]), None)


def source_arn(settings: Settings, function_arn: str, api_id: str) -> str:
    """The ARN of this API's POST /predict: what the invoke permission is scoped to."""
    account = function_arn.split(":")[4]
    return f"arn:aws:execute-api:{settings.region}:{account}:{api_id}/*/POST/predict"


def call(url: str, body: object, timeout: float = 60) -> requests.Response:
    """POST a JSON body to the public URL, as any client on the internet would."""
    return requests.post(url, json=body, timeout=timeout)
