"""Step 9: service.py keeps step 2's contract over HTTP; deploy() puts it on Cloud Run with the chapter's flags,
updates it when it exists, and it answers.

The service is graded twice. In the sandbox, ``service.py`` (with the submission's ``app.py``) is
imported over the grader's model and sent step 2's cases as HTTP requests, as uvicorn would send
them (:mod:`checks.probes.service`): species, refusals, headers and the cold flag are judged here
against the grader's own model, on every machine. In the cloud, the sandbox runs the graded
deploy() twice on a service of the grader's own (``<LAB_NAME>-grading``, the image notebook 09
pushed); the checks read it back with the official client in the grader's process, send it a few of
the same cases, and delete it again, so the grade does not depend on what is deployed now. Where
step 9 cannot run (no Docker engine), nothing is deployed and the cloud checks are skipped.
"""

from __future__ import annotations

import contextlib
import json
import math

import requests

from labkit import gcp, steps

from . import cases
from .framework import CheckFailed, CheckSkipped, Plan, Said, joined, say, step
from .probes.broken import FAILURE

STEP = step(9)
DEPLOY = "cloudrun.py:deploy"
SERVE = "service.py:predict"
DEPLOYED = "deploy() creates the service with the chapter's flags and waits until it is ready"
SPECIES = ("setosa", "versicolor", "virginica")
SENT_TO_THE_CLOUD = 3  # of each: valid flowers, and requests to refuse


@STEP.observe
def plan(ctx) -> Plan:
    name = f"{ctx.settings.name}-grading"
    draw, hidden = cases.draw(9), cases.Secrets()
    served, broken = [], []
    for made, into in ((cases.all_cases(draw, hidden), served), (cases.failing_model_cases(draw, hidden), broken)):
        for case in made:
            trace = cases.trace_id()
            if (request := cases.http_request(case, hidden, trace)) is not None:
                into.append((case, trace, request))
    deploys = [] if steps.unrunnable(steps.STEPS[9], ctx.settings) else ["cloud_run_deploy_twice"]
    request = {"calls": deploys, "name": name, "image": f"{ctx.settings.cloud_run_image}:latest",
               "requests": [r for _, _, r in served], "broken_requests": [r for _, _, r in broken]}
    return Plan("service", request, {**ctx.submission_files(), **cases.model_files()}, timeout=300, network=True,
                lab_environment=True, secret={"name": name, "served": served, "broken": broken})


def grading(run):
    if reason := steps.unrunnable(steps.STEPS[9], run.settings):
        raise CheckSkipped(reason)
    return run.settings.with_overrides(name=run.plan.secret["name"])


def delete(settings) -> None:
    with contextlib.suppress(Exception):  # already gone, or never created
        gcp.services_client(settings).delete_service(
            name=gcp.service_name(settings)).result(timeout=gcp.DEPLOY_TIMEOUT_S)


def answers(run, prefix: str = "service/") -> list[tuple[cases.Case, str, dict, dict]]:
    """(case, trace id, HTTP request, observation) for every request the sandboxed service got, in order."""
    imported = run.get(prefix + "import")
    if "error" in imported:
        raise CheckFailed(run.todo(imported.get("todo")) or say(f"importing service.py failed: {imported['error']}",
                                                                f"service.py import করা গেল না: {imported['error']}"))
    sent = run.plan.secret["broken" if prefix.endswith("broken/") else "served"]
    return [(case, trace, request, run.get(f"{prefix}call/{n}")) for n, (case, trace, request) in enumerate(sent)]


def response(observed: dict, run) -> tuple[int, dict, str]:
    """Status, headers (lower-case names) and body text of one HTTP answer of the service (``run``: names an open
    TODO in the student's folder)."""
    if "error" in observed:
        raise CheckFailed(run.todo(observed.get("todo")) or say(f"the service raised {observed['error']}",
                                                               f"service exception তুলেছে: {observed['error']}"))
    answer = observed["value"]
    return answer["statusCode"], answer["headers"], answer["body"]


def json_body(label: Said, status: int, text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        raise CheckFailed(say(f"{label} got {status} with a body that is not JSON: {text[:80]!r}",
                              f"{label.bn} পেয়েছে {status}, যার body JSON নয়: {text[:80]!r}")) from None


@STEP.check("service.py answers flowers with the model's species and probabilities", points=1, todos=(SERVE,),
            hint="service.py predict(): the answer is step 2's: let serving.answer() build it from the request's "
                 "features and the handler's predict(), and send its body with its status.")
def species(run):
    model, _ = cases.grader_model()
    checked = 0
    for case, _, _, observed in answers(run):
        if case.kind not in ("species", "edge"):
            continue
        status, _, text = response(observed, run)
        body = json_body(case.label, status, text)
        expected = str(model.predict([list(case.flower)])[0])
        if status != 200 or not isinstance(body, dict) or body.get("prediction") != expected:
            raise CheckFailed(say(f"{case.label} got {status} {text[:100]}; expected 200 with prediction {expected!r}",
                                  f"{case.label.bn} পেয়েছে {status} {text[:100]}; কথা ছিল 200, prediction {expected!r}"))
        wanted = dict(zip(map(str, model.classes_), model.predict_proba([list(case.flower)])[0]))
        got = body.get("probabilities")
        if body.get("version") != "v1" or not isinstance(got, dict) or set(got) != set(wanted) or not all(
                isinstance(got[k], (int, float)) and math.isclose(got[k], wanted[k], abs_tol=1e-3) for k in wanted):
            raise CheckFailed(say(f"{case.label}: {text[:120]} is not the model's answer with version 'v1'",
                                  f"{case.label.bn}: {text[:120]} model-এর উত্তর নয় (version 'v1' সহ)"))
        checked += 1
    return say(f"{checked} requests", f"{checked}টা request")


@STEP.check("service.py refuses client mistakes and non-measurements with their 4xx and a JSON error, never 200 or 500",
            points=2, todos=(SERVE,),
            hint="service.py predict(): a client's mistake surfaces as a ClientError while the features are read; "
                 "serving.answer() turns it into its 4xx only if the reading happens inside it. Send the status it gives.")
def refusals(run):
    wrong = []
    for case, _, _, observed in answers(run):
        if case.kind not in ("mistake", "value"):
            continue
        status, _, text = response(observed, run)
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if status not in case.status or not (isinstance(body, dict) and isinstance(body.get("error"), str)
                                              and body["error"]):
            wrong.append(say(f"{case.label} -> {status} {text[:60]}", f"{case.label.bn} -> {status} {text[:60]}"))
    if wrong:
        more = len(wrong) - 3
        raise CheckFailed(joined(wrong[:3]) + (say(f" (and {more} more)", f" (আরও {more}টা)") if more > 0 else ""))


@STEP.check("service.py's answers carry Content-Type, X-Request-Id and X-Cold-Start, true only on an instance's first "
            "request", points=1, todos=(SERVE,),
            hint="service.py predict(): headers X-Cold-Start (the cold flag, 'true'/'false'), X-Request-Id (the "
                 "request_id given) and X-Instance-Id on every answer it makes, errors too.")
def headers(run):
    posted = 0
    for case, trace, request, observed in answers(run):
        if request["method"] != "POST":
            continue  # FastAPI answers other methods itself, before predict() runs
        posted += 1
        status, found, text = response(observed, run)
        try:
            body = json.loads(text)
        except ValueError:
            continue  # not an answer of predict()'s (a crash): the refusal check names it
        cold = "true" if posted == 1 else "false"
        wanted = {"content-type": "application/json", "x-cold-start": cold, "x-request-id": trace}
        bad = [f"{k}: {found.get(k)!r}" for k, v in wanted.items()
               if not (isinstance(found.get(k), str) and found[k].split(";")[0].strip() == v)]
        if bad:
            raise CheckFailed(say(f"{case.label} (POST {posted}) has headers {', '.join(bad)}; expected {wanted}",
                                  f"{case.label.bn} (POST {posted})-এর header {', '.join(bad)}; কথা ছিল {wanted}"))
        if isinstance(body, dict) and "prediction" in body and body.get("cold_start") is not (posted == 1):
            cold = body.get("cold_start")
            raise CheckFailed(say(f"POST {posted} answered cold_start={cold}", f"POST {posted}-এর উত্তরে cold_start={cold}"))


@STEP.check("a failing model makes service.py answer 500 with a JSON error and no traceback", points=1,
            todos=(SERVE,), hint="service.py predict(): serving.answer() turns an unexpected exception into 500 and "
                                 "serving.internal_error(); send its status and body as they are.")
def internal_errors(run):
    for case, _, _, observed in answers(run, "service/broken/"):
        status, _, text = response(observed, run)
        body = json_body(case.label, status, text)
        if status != 500 or not isinstance(body, dict) or not isinstance(body.get("error"), str):
            raise CheckFailed(say(f"a request the model fails on got {status} {text[:100]}; expected 500 {{'error': ...}}",
                                  f"যে request-এ model ব্যর্থ হয়, সেটা পেয়েছে {status} {text[:100]}; "
                                  f"কথা ছিল 500 {{'error': ...}}"))
        if "Traceback" in text or 'File \\"' in text or FAILURE in text:
            raise CheckFailed(say(f"the 500's body shows internals to the client: {text[:100]}",
                                  f"500-এর body client-কে ভেতরের খুঁটিনাটি দেখায়: {text[:100]}"))


@STEP.check(DEPLOYED, points=3, todos=(DEPLOY,),
            hint="create_service(parent=..., service=..., service_id=...) returns an operation: wait with .result(). "
                 "If it says the image is not found, run notebook 09's build-and-push cell first.")
def creates(run):
    settings = grading(run)
    try:
        first = run.value("cloud_run_deploy_twice")[0]
        service = gcp.services_client(settings).get_service(name=gcp.service_name(settings))
        if service.terminal_condition.state.name != "CONDITION_SUCCEEDED" or first["name"] != service.name:
            state = service.terminal_condition.state.name
            raise CheckFailed(say(f"the service is {state}, deploy() returned {first['name']}",
                                  f"service-টা {state}, deploy() ফেরত দিয়েছে {first['name']}"))
        container = service.template.containers[0]
        got = (container.resources.limits.get("memory"), container.resources.limits.get("cpu"),
               service.template.scaling.min_instance_count, service.template.scaling.max_instance_count)
        if got != ("1Gi", "1", 0, 10):
            raise CheckFailed(say(f"memory, cpu, min and max instances are {got}; the chapter deploys ('1Gi', '1', 0, 10)",
                                  f"memory, cpu, min আর max instance হলো {got}; chapter deploy করে ('1Gi', '1', 0, 10)"))
    except CheckFailed:
        delete(settings)  # the checks that would delete it will not run
        raise


@STEP.check("deploy() on an existing service rolls out a new revision instead of failing", points=2,
            todos=(DEPLOY,), needs=DEPLOYED,
            hint="A second create_service fails with 409 (exceptions.Conflict): then update_service.")
def updates(run):
    first, second = run.value("cloud_run_deploy_twice")
    if int(second["generation"]) <= int(first["generation"]) or second["revision"] == first["revision"]:
        left = f"generation {second['generation']}, revision {second['revision'].rsplit('/', 1)[-1]}"
        raise CheckFailed(say(f"the second deploy left {left}", f"দ্বিতীয় deploy-এর পরে রয়ে গেছে {left}"))


@STEP.check("the deployed service answers flowers with a species and refuses mistakes with their 4xx", points=2,
            todos=(DEPLOY, SERVE), needs=DEPLOYED,
            hint="exercises/service.py predict() answers POST /predict: build the answer with serving.answer() and "
                 "return it as a JSONResponse with its status and the three headers.")
def deployed_answers(run):
    settings = grading(run)
    try:
        gcp.allow_unauthenticated(settings)
        url = run.value("cloud_run_deploy_twice")[-1]["uri"]
        sent = run.plan.secret["served"]
        flowers = [(c, r) for c, _, r in sent if c.kind == "species"][:SENT_TO_THE_CLOUD]
        refused = [(c, r) for c, _, r in sent if c.kind in ("mistake", "value")][:SENT_TO_THE_CLOUD]
        for case, request in flowers + refused:
            answer = requests.request(request["method"], url + request["path"], data=request["body"].encode(),
                                      headers={"content-type": "application/json"}, timeout=60)
            try:
                body = answer.json()
            except ValueError:
                body = None
            if case.kind == "species":
                good = (answer.status_code == 200 and isinstance(body, dict) and body.get("prediction") in SPECIES
                        and body.get("version") == "v1")
            else:
                good = answer.status_code in case.status and isinstance(body, dict) and isinstance(body.get("error"), str)
            if not good:
                got = f"{answer.status_code} {answer.text[:120]}"
                raise CheckFailed(say(f"{request['method']} /predict with {case.label} answered {got}",
                                      f"{case.label.bn} দিয়ে {request['method']} /predict-এর উত্তর {got}"))
    finally:
        delete(settings)
