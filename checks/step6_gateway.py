"""Step 6: a public URL routes POST /predict to the function, and only that API may invoke it."""

from __future__ import annotations

import re

import requests

from .context import SETOSA

from . import cloud
from .framework import CheckFailed, Plan, Said, say, step

API, ALLOW = "gateway.py:ensure_api", "gateway.py:allow_invoke"
STEP = step(6)


@STEP.observe
def plan(ctx) -> Plan:
    """ensure_api() runs once more only for an API the student made, as a rerun of notebook 06 would."""
    cloud.api(ctx)
    function_arn = cloud.function(ctx)["Configuration"]["FunctionArn"]
    return Plan("calls", {"calls": ["ensure_api_again"], "function_arn": function_arn}, ctx.submission_files(),
                timeout=120, network=True, lab_environment=True)


@STEP.check("POST /predict is routed to an AWS_PROXY integration of the function", points=2, todos=(API,),
            hint="create_integration(IntegrationType='AWS_PROXY', IntegrationUri=<function ARN>, PayloadFormatVersion='2.0'), "
                 "then create_route(RouteKey='POST /predict', Target='integrations/<id>').")
def routed(run):
    apigw, api_id = run.client("apigatewayv2"), cloud.api(run)["ApiId"]
    function_arn = cloud.function(run)["Configuration"]["FunctionArn"]
    route = next((r for r in apigw.get_routes(ApiId=api_id)["Items"] if r["RouteKey"] == "POST /predict"), None)
    if route is None or not route.get("Target", "").startswith("integrations/"):
        raise CheckFailed(say(f"no route POST /predict with an integration target (route: {route})",
                              f"integration target সহ কোনো POST /predict route নেই (route: {route})"))
    integration = apigw.get_integration(ApiId=api_id, IntegrationId=route["Target"].split("/", 1)[1])
    got = (integration["IntegrationType"], integration.get("IntegrationUri"), integration.get("PayloadFormatVersion"))
    if got != ("AWS_PROXY", function_arn, "2.0"):
        raise CheckFailed(say(f"the integration is {got}", f"integration হলো {got}"))


@STEP.check("a $default stage deploys changes automatically", points=1, todos=(API,),
            hint="create_stage(StageName='$default', AutoDeploy=True).")
def staged(run):
    stages = run.client("apigatewayv2").get_stages(ApiId=cloud.api(run)["ApiId"])["Items"]
    if not any(s["StageName"] == "$default" and s.get("AutoDeploy") for s in stages):
        found = [(s["StageName"], s.get("AutoDeploy")) for s in stages]
        raise CheckFailed(say(f"no $default stage with AutoDeploy; stages: {found}",
                              f"AutoDeploy সহ কোনো $default stage নেই; stage-গুলো: {found}"))


def stale(statement: dict, api_id: str) -> Said | None:
    """What to do about a statement for another API: a permission stays on the function when its API is gone."""
    source = statement.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn", "")
    other = re.search(r":execute-api:[^:]*:[^:]*:([^/:]+)/", source)
    if other is None or other[1] in (api_id, "*"):
        return None
    sid = statement.get("Sid", "?")
    return say(f"the function still lets API {other[1]} invoke it (statement {sid!r}), not this API {api_id}. "
               "An earlier run left it: a permission stays on the function after the API it was for is gone. "
               f"Remove it (Lambda remove_permission, StatementId={sid!r}) and grade again, or run the cleanup "
               "(notebook 08) and deploy again from notebook 04",
               f"function এখনো API {other[1]}-কে invoke করতে দেয় (statement {sid!r}), এই API {api_id}-কে নয়। "
               "আগের কোনো run এটা রেখে গেছে: যে API-র জন্য permission দেওয়া হয়েছিল সেটা মুছে গেলেও permission "
               f"function-এ থেকে যায়। সেটা সরাও (Lambda remove_permission, StatementId={sid!r}) আর আবার grade করো, "
               "অথবা cleanup চালাও (notebook 08) আর notebook 04 থেকে আবার deploy করো")


@STEP.check("only this API may invoke the function", points=2, todos=(ALLOW,),
            hint="add_permission(..., Principal='apigateway.amazonaws.com', SourceArn='arn:aws:execute-api:REGION:ACCOUNT:API_ID/*/POST/predict').")
def scoped_permission(run):
    api_id = cloud.api(run)["ApiId"]
    statements = cloud.invoke_statements(run)
    if not statements:
        raise CheckFailed(say("the function has no permission for apigateway.amazonaws.com",
                              "function-এ apigateway.amazonaws.com-এর জন্য কোনো permission নেই"))
    for statement in statements:
        source = statement.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn", "")
        if f":{api_id}/" not in source:
            raise CheckFailed(stale(statement, api_id) or say(
                f"a statement allows SourceArn {source or 'anything'}; scope it to API {api_id}",
                f"একটা statement SourceArn {source or 'যেকোনো কিছু'}-কে অনুমতি দেয়; এটা শুধু API {api_id}-এ সীমিত করো"))


@STEP.check("the public URL answers the right species and refuses bad input", points=3, todos=(API, ALLOW),
            hint="Call the ApiEndpoint + /predict with requests.post(json=...); a 500 means the permission is missing, "
                 "a 502 that the function failed.")
def public_url(run):
    url = cloud.api(run)["ApiEndpoint"] + "/predict"
    good = requests.post(url, json=SETOSA)
    if good.status_code != 200 or good.json().get("prediction") != "setosa":
        got = f"{good.status_code} {good.text[:100]}"
        raise CheckFailed(say(f"POST {url} with a setosa got {got}", f"একটা setosa দিয়ে POST {url} পেয়েছে {got}"))
    bad = requests.post(url, data="{not json")
    if not 400 <= bad.status_code < 500:
        got = f"{bad.status_code} {bad.text[:100]}"
        raise CheckFailed(say(f"invalid JSON got {got}", f"ভুল JSON পেয়েছে {got}"))


@STEP.check("ensure_api() can run twice", points=1, todos=(API, ALLOW),
            hint="Find the API by name first (apis.find_api) and reuse it, its integration, route and stage; "
                 "create only what is missing. allow_invoke(): on a rerun the statement is there already "
                 "(ResourceConflictException): keep it if it names this API, else replace it.")
def idempotent(run):
    if (said := cloud.conflict(run.records.get("ensure_api_again"))) is not None:
        raise CheckFailed(say(
            f"the second ensure_api() failed in allow_invoke(): Lambda answered ResourceConflictException ({said}): "
            "the function's policy holds that statement since the first run",
            f"দ্বিতীয় ensure_api() allow_invoke()-এ ব্যর্থ হয়েছে: Lambda ResourceConflictException দিয়েছে ({said}): "
            "প্রথমবার চালানোর পর থেকেই function-এর policy-তে statement-টা আছে"))
    api_id = run.value("ensure_api_again")
    apis = [a for page in run.client("apigatewayv2").get_paginator("get_apis").paginate() for a in page["Items"]
            if a["Name"] == run.settings.api_name]
    if len(apis) != 1:
        raise CheckFailed(say(f"after a second ensure_api() there are {len(apis)} HTTP APIs named {run.settings.api_name}",
                              f"দ্বিতীয় ensure_api()-এর পরে {run.settings.api_name} নামে {len(apis)}টা HTTP API"))
    if api_id != apis[0]["ApiId"]:
        raise CheckFailed(say(f"the second call returned API {api_id!r}, not {apis[0]['ApiId']!r}",
                              f"দ্বিতীয় call API {api_id!r} ফেরত দিয়েছে, {apis[0]['ApiId']!r} নয়"))
    routes = run.client("apigatewayv2").get_routes(ApiId=api_id)["Items"]
    if [r["RouteKey"] for r in routes].count("POST /predict") != 1:
        keys = [r["RouteKey"] for r in routes]
        raise CheckFailed(say(f"the routes are now {keys}", f"route-গুলো এখন {keys}"))
    statements = cloud.invoke_statements(run)
    sources = [s.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn", "") for s in statements]
    if not sources or any(f":{api_id}/" not in source for source in sources):
        left = next(filter(None, (stale(s, api_id) for s in statements)), None)
        raise CheckFailed(left or say(f"the invoke permission now allows {sources or 'no API'}",
                                      f"invoke permission এখন অনুমতি দেয় {sources or 'কোনো API-কে নয়'}"))
