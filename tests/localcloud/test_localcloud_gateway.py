"""Part 2: the API Gateway HTTP API data plane in front of Lambda (issue 4, item 1 and 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from localcloud.aws.apigateway.gateway import TokenBucket

pytestmark = pytest.mark.integration

EVENTS = Path(__file__).resolve().parents[1] / "events"
ONLY_WITH_AUTH = {"authentication", "authorizer", "clientCert"}  # present on AWS only with mTLS or an authorizer
USER_MAPS = {"headers", "multiValueHeaders", "queryStringParameters", "multiValueQueryStringParameters",
             "pathParameters", "stageVariables"}  # their keys are the request's own


def load_event(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


def same_shape(ours: object, aws: object, path: str = "event", absent: frozenset = frozenset()) -> list[str]:
    """Keys AWS's event has that ours lacks (but ``absent`` ones), or values of another JSON type."""
    if isinstance(aws, dict) and path.rsplit(".", 1)[-1] not in USER_MAPS:
        if not isinstance(ours, dict):
            return [f"{path} is not an object"]
        return [problem for key, value in aws.items() if key not in ONLY_WITH_AUTH | absent
                for problem in (same_shape(ours[key], value, f"{path}.{key}") if key in ours else [f"{path}.{key} missing"])]
    if aws is not None and ours is not None and type(aws) is not type(ours):
        return [f"{path}: {type(ours).__name__} instead of {type(aws).__name__}"]
    return []


@pytest.fixture(scope="module")
def web(lab):
    return lab.function("web")


def test_payload_2_event_and_proxy_response(lab, web):
    url = lab.http_api(web)
    answer = requests.post(f"{url}/predict?parameter1=value1&parameter1=value2&parameter2=value",
                           json={"sepal_length": 5.1}, headers={"Cookie": "cookie1=a; cookie2=b", "X-Multi": "x"})
    assert answer.status_code == 201
    assert answer.headers["X-Shape"] == "proxy" and answer.cookies["flavour"] == "iris"
    assert answer.headers["apigw-requestid"]
    event = answer.json()["event"]
    # 2.0 leaves out what the request does not have: this route has no path parameters, the stage no variables
    assert same_shape(event, load_event("apigw_http_v2"), absent=frozenset({"pathParameters", "stageVariables"})) == []
    assert event["routeKey"] == "POST /predict" and event["rawPath"] == "/predict"
    assert event["queryStringParameters"] == {"parameter1": "value1,value2", "parameter2": "value"}
    assert event["cookies"] == ["cookie1=a", "cookie2=b"] and "cookie" not in event["headers"]
    assert all(name == name.lower() for name in event["headers"]) and event["headers"]["x-multi"] == "x"
    assert json.loads(event["body"]) == {"sepal_length": 5.1} and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["http"]["method"] == "POST" and context["http"]["path"] == "/predict"
    assert context["stage"] == "$default" and context["requestId"] == answer.headers["apigw-requestid"]
    assert context["http"]["sourceIp"] == "127.0.0.1" and context["timeEpoch"] > 0


def test_payload_1_event_on_a_named_stage(lab, web):
    url = lab.http_api(web, route_key="ANY /pets/{petId}", payload_version="1.0", stage="dev")
    answer = requests.get(f"{url}/pets/7?x=1&x=2")
    assert answer.status_code == 201
    event = answer.json()["event"]
    assert same_shape(event, load_event("apigw_http_v1")) == []
    assert event["version"] == "1.0" and event["httpMethod"] == "GET" and event["resource"] == "/pets/{petId}"
    assert event["pathParameters"] == {"petId": "7"} and event["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
    assert event["requestContext"]["stage"] == "dev" and event["path"] == "/dev/pets/7"
    assert requests.get(url.rsplit("/", 1)[0] + "/pets/7").status_code == 404  # no $default stage


def test_response_formats(lab, web):
    url = lab.http_api(web, route_key="ANY /{proxy+}")
    shorthand = requests.get(f"{url}/any/path?shape=shorthand")
    binary = requests.get(f"{url}/any?shape=binary")
    malformed = requests.get(f"{url}/any?shape=malformed")
    assert shorthand.status_code == 200 and shorthand.headers["Content-Type"] == "application/json"
    assert shorthand.json()["event"]["pathParameters"] == {"proxy": "any/path"}
    assert binary.status_code == 200 and binary.content == b"\x00\x01binary"
    assert malformed.status_code == 502 and malformed.json() == {"message": "Internal Server Error"}


def test_routes_and_permissions(lab, web):
    url = lab.http_api(web, permission=False)
    api_id = url.rsplit("/", 1)[1]
    assert requests.post(f"{url}/predict").json() == {"message": "Internal Server Error"}
    lab.allow(web, api_id, source="*/POST/predict")
    assert requests.post(f"{url}/predict").status_code == 201
    missing = requests.get(f"{url}/predict")
    assert missing.status_code == 404 and missing.json() == {"message": "Not Found"}
    assert requests.get(f"{lab.endpoint}/_aws/execute-api/nosuchapi/predict").status_code == 404


def test_permission_for_another_route_is_not_enough(lab, web):
    url = lab.http_api(web, permission=False)
    lab.allow(web, url.rsplit("/", 1)[1], source="*/GET/other")
    assert requests.post(f"{url}/predict").status_code == 500


def test_quick_create(lab, web):
    arn = lab.lam.get_function(FunctionName=web)["Configuration"]["FunctionArn"]
    api = lab.apigw.create_api(Name="quick", ProtocolType="HTTP", Target=arn)
    routes = lab.apigw.get_routes(ApiId=api["ApiId"])["Items"]
    stages = lab.apigw.get_stages(ApiId=api["ApiId"])["Items"]
    integration = lab.apigw.get_integrations(ApiId=api["ApiId"])["Items"][0]
    assert api["ApiEndpoint"] == f"{lab.endpoint}/_aws/execute-api/{api['ApiId']}"
    assert [route["RouteKey"] for route in routes] == ["$default"]
    assert stages[0]["StageName"] == "$default" and stages[0]["AutoDeploy"] is True
    assert integration["IntegrationType"] == "AWS_PROXY" and integration["PayloadFormatVersion"] == "2.0"
    lab.allow(web, api["ApiId"], source="*")
    answer = requests.delete(f"{api['ApiEndpoint']}/whatever")
    assert answer.status_code == 201 and answer.json()["event"]["routeKey"] == "$default"


def test_integration_timeout_is_service_unavailable(lab):
    slow = lab.http_api(lab.function("faults", Timeout=3), route_key="GET /slow", TimeoutInMillis=500)
    unavailable = requests.get(f"{slow}/slow?fault=sleep&seconds=1")
    assert unavailable.status_code == 503 and unavailable.json() == {"message": "Service Unavailable"}


def test_stage_throttling(lab, web):
    api = lab.apigw.create_api(Name="throttled", ProtocolType="HTTP")
    arn = lab.lam.get_function(FunctionName=web)["Configuration"]["FunctionArn"]
    target = lab.apigw.create_integration(ApiId=api["ApiId"], IntegrationType="AWS_PROXY", IntegrationUri=arn,
                                          PayloadFormatVersion="2.0")
    lab.apigw.create_route(ApiId=api["ApiId"], RouteKey="$default", Target=f"integrations/{target['IntegrationId']}")
    lab.apigw.create_stage(ApiId=api["ApiId"], StageName="$default", AutoDeploy=True,
                           DefaultRouteSettings={"ThrottlingBurstLimit": 1, "ThrottlingRateLimit": 0.001})
    lab.allow(web, api["ApiId"], source="*")
    first, second = requests.get(api["ApiEndpoint"]), requests.get(api["ApiEndpoint"])
    assert first.status_code == 201
    assert second.status_code == 429 and second.json() == {"message": "Too Many Requests"}


def test_integrations_need_a_payload_format_version(lab, web):
    from botocore.exceptions import ClientError
    api = lab.apigw.create_api(Name="no-version", ProtocolType="HTTP")
    arn = lab.lam.get_function(FunctionName=web)["Configuration"]["FunctionArn"]
    with pytest.raises(ClientError) as refused:
        lab.apigw.create_integration(ApiId=api["ApiId"], IntegrationType="AWS_PROXY", IntegrationUri=arn)
    assert refused.value.response["Error"]["Code"] == "BadRequestException"


def test_explicit_deployment_serves_a_stage(lab, web):
    api = lab.apigw.create_api(Name="deployed", ProtocolType="HTTP")
    arn = lab.lam.get_function(FunctionName=web)["Configuration"]["FunctionArn"]
    target = lab.apigw.create_integration(ApiId=api["ApiId"], IntegrationType="AWS_PROXY", IntegrationUri=arn,
                                          PayloadFormatVersion="2.0")
    lab.apigw.create_route(ApiId=api["ApiId"], RouteKey="GET /ping", Target=f"integrations/{target['IntegrationId']}")
    lab.apigw.create_stage(ApiId=api["ApiId"], StageName="prod")
    lab.allow(web, api["ApiId"], source="*")
    assert requests.get(f"{api['ApiEndpoint']}/prod/ping").status_code == 404  # not deployed yet
    lab.apigw.create_deployment(ApiId=api["ApiId"], StageName="prod")
    assert requests.get(f"{api['ApiEndpoint']}/prod/ping").status_code == 201


def test_throttling_refills_at_the_stage_rate():
    now = [100.0]
    bucket = TokenBucket(rate=2, burst=2, clock=lambda: now[0])
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    now[0] += 0.5  # one token back at 2 per second
    assert [bucket.take(), bucket.take()] == [True, False]
