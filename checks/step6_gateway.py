"""Step 6: a public URL routes POST /predict to the function, and only that API may invoke it; reruns repair.

The API is judged as the student's code left it, looked at before anything of the grader's runs. Then the grader
changes what a later day could have changed (the invoke permission now names another API, under the same statement
id; the ``$default`` stage is gone) and reruns the student's ``ensure_api()``: it must put both right and create
nothing twice. The grader looks, then puts back what the rerun did not and removes any API the rerun added.
"""

from __future__ import annotations

import contextlib
import re
import secrets

import requests

from labkit.apis import ROUTE_KEY, STAGE, STATEMENT_ID, items

from . import cloud
from .context import SETOSA
from .framework import CheckFailed, CheckSkipped, Plan, Said, joined, say, step

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
        why = f"{type(error).__name__}: {str(error)[:120]}"
        secret["problem"] = say(f"the grader could not prepare its rerun ({why})",
                                f"grader তার rerun-এর প্রস্তুতি নিতে পারেনি ({why})")
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
        kind = type(error).__name__
        seen = {"problem": say(f"the grader could not read the API after the rerun ({kind})",
                               f"rerun-এর পরে grader API-টা পড়তে পারেনি ({kind})")}
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
        raise CheckFailed(say(f"no route POST /predict with an integration target (route: {route})",
                              f"integration target সহ কোনো POST /predict route নেই (route: {route})"))
    integration = next((i for i in before["integrations"] if i["IntegrationId"] == route["Target"].split("/", 1)[1]), {})
    got = (integration.get("IntegrationType"), integration.get("IntegrationUri"), integration.get("PayloadFormatVersion"))
    if got != ("AWS_PROXY", function_arn, "2.0"):
        raise CheckFailed(say(f"the integration is {got}", f"integration হলো {got}"))


@STEP.check("a $default stage deploys changes automatically", points=1, todos=(API,),
            hint="create_stage(StageName='$default', AutoDeploy=True).")
def staged(run):
    stages = run.plan.secret["before"]["stages"]
    if not any(s["StageName"] == STAGE and s.get("AutoDeploy") for s in stages):
        found = [(s["StageName"], s.get("AutoDeploy")) for s in stages]
        raise CheckFailed(say(f"no {STAGE} stage with AutoDeploy; stages: {found}",
                              f"AutoDeploy সহ কোনো {STAGE} stage নেই; stage-গুলো: {found}"))


def stale(statement: dict, api_id: str) -> Said | None:
    """What to do about a statement for another API: a permission stays on the function when its API is gone."""
    other = re.search(r":execute-api:[^:]*:[^:]*:([^/:]+)/", source_of(statement))
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
    api_id = run.plan.secret["api_id"]
    statements = run.plan.secret["before"]["statements"]
    if not statements:
        raise CheckFailed(say("the function has no permission for apigateway.amazonaws.com",
                              "function-এ apigateway.amazonaws.com-এর জন্য কোনো permission নেই"))
    for statement in statements:
        source = source_of(statement)
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


@STEP.check("a rerun of ensure_api() replaces a stale permission, restores the stage and creates nothing twice",
            points=1, todos=(API, ALLOW),
            hint="Find the API by name first (apis.find_api) and reuse it, its integration, route and stage; create "
                 "only what is missing. allow_invoke(): when the statement exists (ResourceConflictException), keep "
                 "it only if it names this API's source ARN, else replace it.")
def idempotent(run):
    secret = run.plan.secret
    if secret.get("problem"):
        raise CheckSkipped(secret["problem"])
    if (said := cloud.conflict(run.records.get("ensure_api_again"))) is not None:
        raise CheckFailed(say(
            f"a rerun of ensure_api() failed in allow_invoke(): Lambda answered ResourceConflictException ({said}): "
            "the function's policy holds that statement since an earlier run",
            f"ensure_api() আবার চালালে allow_invoke()-এ ব্যর্থ হয়: Lambda ResourceConflictException দিয়েছে ({said}): "
            "আগের একটা run থেকেই function-এর policy-তে statement-টা আছে"))
    api_id = run.value("ensure_api_again")
    seen, before = run.facts.get("rerun") or {}, secret["before"]
    if "problem" in seen:
        raise CheckFailed(seen["problem"])
    name = run.settings.api_name
    problems = [] if len(seen["apis"]) == 1 else [say(f"there are {len(seen['apis'])} HTTP APIs named {name}",
                                                      f"{name} নামে {len(seen['apis'])}টা HTTP API আছে")]
    problems += [] if api_id == secret["api_id"] else [say(f"it returned API {api_id!r}, not {secret['api_id']!r}",
                                                           f"এটা API {api_id!r} ফেরত দিয়েছে, {secret['api_id']!r} নয়")]
    for kind in ("integrations", "routes"):
        if len(seen[kind]) > len(before[kind]):
            counts = f"{len(before[kind])} before, {len(seen[kind])} after"
            problems.append(say(f"it added {kind} ({counts})",
                                f"এটা {kind} যোগ করেছে (আগে {len(before[kind])}টা, পরে {len(seen[kind])}টা)"))
    if [r["RouteKey"] for r in seen["routes"]].count(ROUTE_KEY) != 1:
        keys = [r["RouteKey"] for r in seen["routes"]]
        problems.append(say(f"the routes are now {keys}", f"route-গুলো এখন {keys}"))
    if not any(s["StageName"] == STAGE and s.get("AutoDeploy") for s in seen["stages"]):
        problems.append(say(f"the missing {STAGE} stage was not created again",
                            f"হারিয়ে যাওয়া {STAGE} stage আবার বানানো হয়নি"))
    sources = [source_of(s) for s in seen["statements"]]
    earlier = [s for s in seen["statements"] if source_of(s) != secret["stale"]]  # the grader's is the rerun's to fix
    left = next(filter(None, (stale(s, secret["api_id"]) for s in earlier)), None)  # another API's: an earlier run's
    if left is not None:
        problems.append(left)
    elif not sources or any(f":{secret['api_id']}/" not in source for source in sources):
        problems.append(say(f"the invoke permission allows {sources or 'no API'}, not only this API "
                            f"(the grader had pointed it at {secret['stale']})",
                            f"invoke permission অনুমতি দেয় {sources or 'কোনো API-কে নয়'}, শুধু এই API-কে নয় "
                            f"(grader এটাকে {secret['stale']}-এর দিকে ঘুরিয়ে দিয়েছিল)"))
    if problems:
        raise CheckFailed(say("after a rerun of ensure_api(): ", "ensure_api() আবার চালানোর পরে: ") + joined(problems))
