"""Step 2: the handler answers right, refuses bad input politely, logs safely and loads the model once.

The handler runs in the sandbox over a model the grader trained itself, so this step is
graded on its own; the expected answers come from that model, here in the grader.
"""

from __future__ import annotations

import base64
import json

from . import cases
from .cases import grader_model
from .framework import CheckFailed, Plan, joined, say, step
from .probes.broken import FAILURE

STEP = step(2)
MODEL, PREDICT, HANDLER = "app.py:MODEL", "app.py:predict", "app.py:handler"
SECRET_LOG_HINT = ("app.py handler(): log only the one JSON line of serving.log_line(); never the event, its headers "
                   "or its body (they carry credentials and personal data).")


@STEP.observe
def plan(ctx) -> Plan:
    draw, hidden = cases.draw(2), cases.Secrets()
    made = cases.all_cases(draw, hidden)
    ids = [cases.request_id() for _ in made]
    broken = cases.failing_model_cases(draw, hidden)
    broken_ids = [cases.request_id() for _ in broken]
    files = {**ctx.submission_files(), **cases.model_files()}
    request = {"events": [{"event": c.event, "request_id": i} for c, i in zip(made, ids)],
               "broken_events": [{"event": c.event, "request_id": i} for c, i in zip(broken, broken_ids)]}
    return Plan("app", request, files, timeout=90,
                secret={"cases": made, "ids": ids, "broken_ids": broken_ids, "hidden": hidden})


def answers(run, prefix: str = "") -> list[tuple[object, str, dict]]:
    """(case, request id, observation) for every request, in the order they were sent."""
    imported = run.get(prefix + "import")
    if imported.get("error"):
        raise CheckFailed(run.todo(imported.get("todo")) or import_failed(imported["error"]))
    made = run.plan.secret["cases"] if not prefix else [None] * len(run.plan.secret["broken_ids"])
    ids = run.plan.secret["broken_ids" if prefix else "ids"]
    return [(case, rid, run.get(f"{prefix}call/{n}")) for n, (case, rid) in enumerate(zip(made, ids))]


def import_failed(error: str):
    return say(f"importing app.py failed: {error}", f"app.py import করা গেল না: {error}")


def response(observed: dict, run=None) -> tuple[int, dict, object]:
    """statusCode, headers (lower-case names) and the parsed JSON body of one proxy response (``run``: names an open
    TODO in the student's folder)."""
    if "error" in observed:
        raise CheckFailed((run and run.todo(observed.get("todo"))) or say(
            f"the handler raised {observed['error']} (a client gets a 502)",
            f"handler exception তুলেছে: {observed['error']} (client পায় 502)"))
    answer = observed.get("value")
    if not isinstance(answer, dict) or type(answer.get("statusCode")) is not int:
        got = json.dumps(answer)[:100]
        raise CheckFailed(say(f"the handler must return {{'statusCode': int, 'headers': {{...}}, 'body': str}}, got {got}",
                              f"handler-কে {{'statusCode': int, 'headers': {{...}}, 'body': str}} ফেরত দিতে হবে, "
                              f"দিয়েছে {got}"))
    headers = answer.get("headers") if isinstance(answer.get("headers"), dict) else {}
    if not isinstance(answer.get("body"), str):
        kind = type(answer.get("body")).__name__
        raise CheckFailed(say(f"the response 'body' must be a JSON string (json.dumps(...)), got {kind}",
                              f"response-এর 'body' হতে হবে একটা JSON string (json.dumps(...)), এসেছে {kind}"))
    text = answer["body"]
    if answer.get("isBase64Encoded"):  # API Gateway decodes such a body before the client sees it
        try:
            text = base64.b64decode(text, validate=True).decode("utf-8")
        except ValueError:
            raise CheckFailed(say("the response says isBase64Encoded, but its body is not base64: API Gateway would "
                                  f"send the client undecodable bytes instead of {text[:60]!r}",
                                  "response বলছে isBase64Encoded, কিন্তু তার body base64 নয়: API Gateway client-কে "
                                  f"{text[:60]!r}-এর বদলে পড়া যায় না এমন byte পাঠাবে")) from None
    try:
        body = json.loads(text)
    except ValueError:
        raise CheckFailed(say(f"the response body is not JSON: {text[:80]!r}",
                              f"response-এর body JSON নয়: {text[:80]!r}")) from None
    return answer["statusCode"], {str(k).lower(): v for k, v in headers.items()}, body


def rounded_probability(value: object, exact: float) -> bool:
    """``exact`` rounded to 4 places, as predict()'s docstring says (either neighbour on a tie)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and round(value, 4) == value \
        and abs(value - exact) <= 0.5e-4 + 1e-12


@STEP.check("app.py loads the model at import, from LAMBDA_TASK_ROOT", points=2, todos=(MODEL,),
            hint="app.py MODEL: at module scope, MODEL = serving.load_model(TASK_ROOT); TASK_ROOT comes from "
                 "LAMBDA_TASK_ROOT (/var/task in the image).")
def loads_model(run):
    imported = run.get("import")
    if imported.get("error"):
        raise CheckFailed(import_failed(imported["error"]))
    if imported["model"] != "set":
        raise CheckFailed(say(f"after import MODEL is {imported['model']}", f"import-এর পরে MODEL হলো {imported['model']}"))
    if not imported["loads"] or not all(p.endswith("/_task/model.joblib") for p in imported["loads"]):
        raise CheckFailed(say(f"importing app.py loaded {imported['loads'] or 'nothing'}, not LAMBDA_TASK_ROOT's "
                              "model.joblib",
                              f"app.py import করার সময় load হয়েছে {imported['loads'] or 'কিছুই না'}, "
                              "LAMBDA_TASK_ROOT-এর model.joblib নয়"))


@STEP.check("the model loads once per environment, not per request", points=2, todos=(MODEL, HANDLER),
            needs="app.py loads the model at import, from LAMBDA_TASK_ROOT",
            hint="app.py handler(): use the MODEL loaded at import; loading again on every request makes warm calls slow.")
def loads_once(run):
    calls = answers(run)
    loads = calls[-1][2]["loads"] if calls else 0
    if loads != 1:
        raise CheckFailed(say(f"the model was loaded {loads} times for one import and {len(calls)} requests",
                              f"একবার import আর {len(calls)}টা request-এ model load হয়েছে {loads} বার"))


def expect_species(run, kind: str) -> str:
    model, _ = grader_model()
    checked = 0
    for case, _, observed in answers(run):
        if case.kind != kind:
            continue
        status, _, body = response(observed, run)
        expected = str(model.predict([list(case.flower)])[0])
        if status != 200 or not isinstance(body, dict) or body.get("prediction") != expected:
            got = f"{status} {json.dumps(body)[:100]}"
            raise CheckFailed(say(f"{case.label} got {got}; expected 200 with prediction {expected!r}",
                                  f"{case.label.bn} পেয়েছে {got}; আশা ছিল 200, prediction {expected!r}"))
        if body.get("version") != "v1":
            raise CheckFailed(say(f"{case.label}: 'version' is {body.get('version')!r}, not 'v1'",
                                  f"{case.label.bn}: 'version' হলো {body.get('version')!r}, 'v1' নয়"))
        wanted = dict(zip(map(str, model.classes_), model.predict_proba([list(case.flower)])[0]))
        got = body.get("probabilities")
        if not isinstance(got, dict) or set(got) != set(wanted) or not all(
                rounded_probability(got[k], float(wanted[k])) for k in wanted):
            shown = json.dumps(got)[:120]
            raise CheckFailed(say(f"{case.label}: probabilities {shown} are not the model's predict_proba per class, "
                                  "rounded to 4 places",
                                  f"{case.label.bn}: probabilities {shown} প্রতিটা class-এর জন্য model-এর predict_proba "
                                  "নয়, 4 দশমিক ঘর পর্যন্ত round করা"))
        checked += 1
    return say(f"{checked} requests", f"{checked}টা request")


@STEP.check("known flowers get the right species and probabilities", points=3, todos=(MODEL, PREDICT, HANDLER),
            hint="app.py predict(): MODEL.predict_proba([features])[0] pairs with MODEL.classes_; answer the most "
                 "probable class and every class's probability, rounded as the docstring says.")
def right_species(run):
    return expect_species(run, "species")


@STEP.check("whole numbers, zero and every event shape are valid requests", points=1, todos=(MODEL, PREDICT, HANDLER),
            hint="app.py: 5 and 0 are lengths too, and payload 1.0, base64 bodies and direct invokes carry the same "
                 "request: let serving.read_request() read it, do not re-check it yourself.")
def edge_requests(run):
    return expect_species(run, "edge")


def expect_refusals(run, kind: str) -> str:
    wrong = []
    for case, _, observed in answers(run):
        if case.kind != kind:
            continue
        status, _, body = response(observed, run)
        if status not in case.status or not (isinstance(body, dict) and isinstance(body.get("error"), str)
                                              and body["error"]):
            wrong.append(case.label + f" -> {status} {json.dumps(body)[:60]}")
    if wrong:
        more = len(wrong) - 3
        raise CheckFailed(say("", "উত্তর ঠিক নয়: ") + joined(wrong[:3]) +
                          (say(f" (and {more} more)", f" (আরও {more}টা)") if more > 0 else ""))
    return ""


@STEP.check("client mistakes answer 400, 405 or 413 with a JSON error, never 500", points=2, todos=(HANDLER,),
            hint="app.py handler(): answer a serving.ClientError with its .status and {'error': message}.")
def mistakes(run):
    return expect_refusals(run, "mistake")


@STEP.check("only real measurements: negatives, NaN, absurd sizes and non-numbers answer 4xx", points=2,
            todos=(HANDLER,), visibility="after_due",  # its cases show students which values the grader tries
            hint="app.py handler(): serving.read_request() refuses what is not a flower's "
                 "measurement (0 to serving.MAX_CM cm); keep its ClientError's status.")
def values(run):
    return expect_refusals(run, "value")


@STEP.check("every answer is JSON with Content-Type, X-Cold-Start and X-Request-Id headers", points=1,
            todos=(HANDLER,), hint="app.py handler(): headers Content-Type: application/json, X-Cold-Start "
                                   "'true'/'false' and X-Request-Id (the context's aws_request_id), on errors too.")
def headers(run):
    for number, (case, rid, observed) in enumerate(answers(run)):
        _, found, _ = response(observed, run)
        cold = "true" if number == 0 else "false"
        wanted = {"content-type": "application/json", "x-cold-start": cold, "x-request-id": rid}
        wrong = [f"{k}: {found.get(k)!r}" for k, v in wanted.items()
                 if not (isinstance(found.get(k), str) and found[k].split(";")[0].strip() == v)]
        if wrong:
            raise CheckFailed(say(f"{case.label} (request {number + 1}) has headers {', '.join(wrong)}; expected {wanted}",
                                  f"{case.label.bn} (request {number + 1})-এর header {', '.join(wrong)}; "
                                  f"আশা ছিল {wanted}"))


@STEP.check("the first request of an environment is cold, later ones warm", points=1, todos=(HANDLER,),
            hint="app.py handler(): report the module-level cold-start flag in the body's 'cold_start' and in "
                 "X-Cold-Start, then clear it.")
def cold_then_warm(run):
    flags = []
    for _, _, observed in answers(run):
        status, found, body = response(observed, run)
        flags.append(found.get("x-cold-start"))
        if status == 200 and isinstance(body, dict) and body.get("cold_start") is not (len(flags) == 1):
            raise CheckFailed(say(f"request {len(flags)} answered cold_start={body.get('cold_start')}",
                                  f"request {len(flags)}-এর উত্তরে cold_start={body.get('cold_start')}"))
    if flags[:1] != ["true"] or set(flags[1:]) != {"false"}:
        raise CheckFailed(say(f"X-Cold-Start was {flags[:3]}…; expected 'true' once, then 'false'",
                              f"X-Cold-Start ছিল {flags[:3]}…; আশা ছিল একবার 'true', তারপর 'false'"))


@STEP.check("each request logs one JSON line with its own request id", points=1, todos=(HANDLER,),
            hint="app.py handler(): print(serving.log_line(request_id, ...)) once per request, with the context's "
                 "aws_request_id.")
def log_line(run):
    for case, rid, observed in answers(run):
        lines = [line for line in observed.get("stdout", "").splitlines() if line.strip()]
        try:
            records = [json.loads(line) for line in lines]
        except ValueError:
            records = []
        if len(records) != 1 or not isinstance(records[0], dict):
            raise CheckFailed(say(f"{case.label} logged {len(lines)} lines to stdout, not one JSON line: {lines[:2]}",
                                  f"{case.label.bn} stdout-এ {len(lines)}টা লাইন log করেছে, একটা JSON লাইন নয়: {lines[:2]}"))
        record = records[0]
        if record.get("request_id") != rid or not {"latency_ms", "cold_start", "status"} <= record.keys():
            logged = json.dumps(record)[:120]
            raise CheckFailed(say(f"{case.label} logged {logged}; expected its request_id {rid}, status, latency_ms "
                                  "and cold_start",
                                  f"{case.label.bn} log করেছে {logged}; আশা ছিল তার request_id {rid}, status, latency_ms "
                                  "আর cold_start"))


@STEP.check("no secret header or raw event reaches the logs", points=1, todos=(HANDLER,), hint=SECRET_LOG_HINT,
            visibility="hidden")  # which header and cookie the grader plants stays the grader's
def no_secrets(run):
    hidden = run.plan.secret["hidden"]
    for case, _, observed in answers(run):
        output = observed.get("stdout", "") + observed.get("stderr", "")
        if hidden.token in output or hidden.marker in output:
            raise CheckFailed(say(f"for {case.label} the logs contain the request's Authorization header or cookies",
                                  f"{case.label.bn}-এর log-এ request-এর Authorization header বা cookie আছে"))


@STEP.check("a failing model answers 500 with a JSON error and no traceback", points=1, todos=(MODEL, PREDICT, HANDLER),
            hint="app.py handler(): on an unexpected exception log the traceback and answer 500 with "
                 "serving.internal_error(); the client never sees internals.")
def internal_errors(run):
    for _, _, observed in answers(run, "broken/"):
        status, _, body = response(observed, run)
        text = json.dumps(body)
        if status != 500 or not isinstance(body, dict) or not isinstance(body.get("error"), str):
            raise CheckFailed(say(f"a request the model fails on got {status} {text[:100]}; expected 500 {{'error': ...}}",
                                  f"যে request-এ model ব্যর্থ হয়, সেটা পেয়েছে {status} {text[:100]}; "
                                  "আশা ছিল 500 {'error': ...}"))
        if "Traceback" in text or 'File \\"' in text or FAILURE in text:
            raise CheckFailed(say(f"the 500's body shows internals to the client: {text[:100]}",
                                  f"500-এর body client-কে ভেতরের খবর দেখায়: {text[:100]}"))
