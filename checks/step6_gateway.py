"""Step 6: a public URL routes POST /predict to the function, and only that API may invoke it; reruns repair.

The API is judged as the student's code left it, looked at before anything of the grader's runs. Then the grader
changes what a later day could have changed (the invoke permission now names another API, under the same statement
id; the ``$default`` stage is gone) and reruns the student's ``ensure_api()``: it must put both right and create
nothing twice. The grader looks, then puts back what the rerun did not and removes any API the rerun added.
"""

from __future__ import annotations

import contextlib
import secrets

import requests

from labkit.apis import ROUTE_KEY, STAGE, STATEMENT_ID, items

from .context import SETOSA

from . import cloud
from .framework import CheckFailed, CheckSkipped, Plan, step

API, ALLOW = "gateway.py:ensure_api", "gateway.py:allow_invoke"
STEP = step(6)


def source_of(statement: dict) -> str:
    return statement.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn", "")


def parts(run, api_id: str) -> dict:
    """The API's routes, integrations and stages, and the function's invoke statements."""
    apigw = run.client("apigatewayv2")
    return {"routes": items(apigw, "get_routes", ApiId=api_id), "integrations": items(apigw, "get_integrations", ApiId=api_id),
            "stages": items(apigw, "get_stages", ApiId=api_id), "statements": cloud.invoke_statements(run),
            "apis": [a["ApiId"] for a in items(apigw, "get_apis") if a["Name"] == run.settings.api_name]}


@STEP.observe
def plan(ctx) -> Plan:
    """The API as the student left it; then a stale permission and a missing stage, and ensure_api() once more."""
    api = cloud.api(ctx)
    function_arn = cloud.function(ctx)["Configuration"]["FunctionArn"]
    before = parts(ctx, api["ApiId"])
    secret = {"before": before, "api_id": api["ApiId"]}
    ours = next((s for s in before["statements"] if f":{api['ApiId']}/" in source_of(s)), None)
    sid = ours["Sid"] if ours else STATEMENT_ID
    stale = source_of(ours or {}).replace(f":{api['ApiId']}/", f":gr{secrets.token_hex(4)}/") or \
        f"arn:aws:execute-api:{ctx.settings.region}:{function_arn.split(':')[4]}:gr{secrets.token_hex(4)}/*/POST/predict"
    try:
        plant_stale_permission(ctx, sid, stale)
        if any(s["StageName"] == STAGE for s in before["stages"]):
            ctx.client("apigatewayv2").delete_stage(ApiId=api["ApiId"], StageName=STAGE)
    except Exception as error:  # noqa: BLE001 - said by the rerun check; the rest is judged as found
        secret["problem"] = f"the grader could not prepare its rerun ({type(error).__name__}: {str(error)[:120]})"
    secret["stale"] = stale

    def after(run) -> dict:
        return {"rerun": look_and_restore(run, api["ApiId"], before, sid)}

    return Plan("calls", {"calls": ["ensure_api_again"], "function_arn": function_arn}, ctx.submission_files(),
                timeout=120, network=True, lab_environment=True, secret=secret, after=after)


def plant_stale_permission(run, sid: str, stale: str) -> None:
    """The statement ``sid`` now lets another API invoke the function (as after the API was deleted and made again)."""
    awslambda, name = run.client("lambda"), run.settings.function_name
    with contextlib.suppress(awslambda.exceptions.ResourceNotFoundException):
        awslambda.remove_permission(FunctionName=name, StatementId=sid)
    awslambda.add_permission(FunctionName=name, StatementId=sid, Action="lambda:InvokeFunction",
                             Principal="apigateway.amazonaws.com", SourceArn=stale)


def look_and_restore(run, api_id: str, before: dict, sid: str) -> dict:
    """What the rerun left; then the permission and the stage as they were, and no API the rerun added."""
    seen: dict = {}
    try:
        seen = parts(run, api_id)
    except Exception as error:  # noqa: BLE001
        seen = {"problem": f"the grader could not read the API after the rerun ({type(error).__name__})"}
    finally:
        _tidy(run, api_id, before, sid)
    return seen


def _tidy(run, api_id: str, before: dict, sid: str) -> None:
    awslambda, apigw, name = run.client("lambda"), run.client("apigatewayv2"), run.settings.function_name
    wanted = {s["Sid"]: source_of(s) for s in before["statements"]}

    def permissions():
        now = {s["Sid"]: source_of(s) for s in cloud.invoke_statements(run)}
        for statement_id in {*now, sid}:
            if now.get(statement_id) != wanted.get(statement_id):
                if statement_id in now:
                    awslambda.remove_permission(FunctionName=name, StatementId=statement_id)
                if statement_id in wanted:
                    awslambda.add_permission(FunctionName=name, StatementId=statement_id, Action="lambda:InvokeFunction",
                                             Principal="apigateway.amazonaws.com", SourceArn=wanted[statement_id])

    def stage():
        had = next((s for s in before["stages"] if s["StageName"] == STAGE), None)
        if had and not any(s["StageName"] == STAGE for s in items(apigw, "get_stages", ApiId=api_id)):
            apigw.create_stage(ApiId=api_id, StageName=STAGE, AutoDeploy=bool(had.get("AutoDeploy")),
                               Tags=dict(had.get("Tags") or run.settings.tags))

    def extra_apis():
        for other in [a for a in items(apigw, "get_apis") if a["Name"] == run.settings.api_name]:
            if other["ApiId"] not in before["apis"]:
                apigw.delete_api(ApiId=other["ApiId"])

    for step_ in (permissions, stage, extra_apis):
        with contextlib.suppress(Exception):  # each runs whatever the previous did
            step_()


@STEP.check("POST /predict is routed to an AWS_PROXY integration of the function", points=2, todos=(API,),
            hint="create_integration(IntegrationType='AWS_PROXY', IntegrationUri=<function ARN>, PayloadFormatVersion='2.0'), "
                 "then create_route(RouteKey='POST /predict', Target='integrations/<id>').")
def routed(run):
    before = run.plan.secret["before"]
    function_arn = cloud.function(run)["Configuration"]["FunctionArn"]
    route = next((r for r in before["routes"] if r["RouteKey"] == ROUTE_KEY), None)
    if route is None or not route.get("Target", "").startswith("integrations/"):
        raise CheckFailed(f"no route POST /predict with an integration target (route: {route})")
    integration = next((i for i in before["integrations"] if i["IntegrationId"] == route["Target"].split("/", 1)[1]), {})
    got = (integration.get("IntegrationType"), integration.get("IntegrationUri"), integration.get("PayloadFormatVersion"))
    if got != ("AWS_PROXY", function_arn, "2.0"):
        raise CheckFailed(f"the integration is {got}")


@STEP.check("a $default stage deploys changes automatically", points=1, todos=(API,),
            hint="create_stage(StageName='$default', AutoDeploy=True).")
def staged(run):
    stages = run.plan.secret["before"]["stages"]
    if not any(s["StageName"] == STAGE and s.get("AutoDeploy") for s in stages):
        raise CheckFailed(f"stages: {[(s['StageName'], s.get('AutoDeploy')) for s in stages]}")


@STEP.check("only this API may invoke the function", points=2, todos=(ALLOW,),
            hint="add_permission(..., Principal='apigateway.amazonaws.com', SourceArn='arn:aws:execute-api:REGION:ACCOUNT:API_ID/*/POST/predict').")
def scoped_permission(run):
    api_id = run.plan.secret["api_id"]
    statements = run.plan.secret["before"]["statements"]
    if not statements:
        raise CheckFailed("the function has no permission for apigateway.amazonaws.com")
    for statement in statements:
        if f":{api_id}/" not in source_of(statement):
            raise CheckFailed(f"a statement allows SourceArn {source_of(statement) or 'anything'}; scope it to API {api_id}")


@STEP.check("the public URL answers the right species and refuses bad input", points=3, todos=(API, ALLOW),
            hint="Call the ApiEndpoint + /predict with requests.post(json=...); a 500 means the permission is missing, "
                 "a 502 that the function failed.")
def public_url(run):
    url = cloud.api(run)["ApiEndpoint"] + "/predict"
    good = requests.post(url, json=SETOSA)
    if good.status_code != 200 or good.json().get("prediction") != "setosa":
        raise CheckFailed(f"POST {url} with a setosa got {good.status_code} {good.text[:100]}")
    bad = requests.post(url, data="{not json")
    if not 400 <= bad.status_code < 500:
        raise CheckFailed(f"invalid JSON got {bad.status_code} {bad.text[:100]}")


@STEP.check("a rerun of ensure_api() replaces a stale permission, restores the stage and creates nothing twice",
            points=1, todos=(API, ALLOW),
            hint="Find the API by name first (apis.find_api) and reuse it, its integration, route and stage; create "
                 "only what is missing. allow_invoke(): when the statement exists (ResourceConflictException), keep "
                 "it only if it names this API's source ARN, else replace it.")
def idempotent(run):
    secret = run.plan.secret
    if secret.get("problem"):
        raise CheckSkipped(secret["problem"])
    api_id = run.value("ensure_api_again")
    seen, before = run.facts.get("rerun") or {}, secret["before"]
    if "problem" in seen:
        raise CheckFailed(seen["problem"])
    problems = [] if len(seen["apis"]) == 1 else [f"there are {len(seen['apis'])} HTTP APIs named {run.settings.api_name}"]
    problems += [] if api_id == secret["api_id"] else [f"it returned API {api_id!r}, not {secret['api_id']!r}"]
    for kind in ("integrations", "routes"):
        if len(seen[kind]) > len(before[kind]):
            problems.append(f"it added {kind} ({len(before[kind])} before, {len(seen[kind])} after)")
    if [r["RouteKey"] for r in seen["routes"]].count(ROUTE_KEY) != 1:
        problems.append(f"the routes are now {[r['RouteKey'] for r in seen['routes']]}")
    if not any(s["StageName"] == STAGE and s.get("AutoDeploy") for s in seen["stages"]):
        problems.append(f"the missing {STAGE} stage was not created again")
    sources = [source_of(s) for s in seen["statements"]]
    if not sources or any(f":{secret['api_id']}/" not in source for source in sources):
        problems.append(f"the invoke permission allows {sources or 'no API'}, not only this API "
                        f"(the grader had pointed it at {secret['stale']})")
    if problems:
        raise CheckFailed("after a rerun of ensure_api(): " + "; ".join(problems))
