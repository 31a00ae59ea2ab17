"""Step 9: deploy() puts the container on Cloud Run with the chapter's flags, updates it when it exists, and it answers.

The sandbox runs the graded deploy() twice on a service of the grader's own
(``<LAB_NAME>-grading``, the image notebook 09 pushed); the checks read it back with the
official client in the grader's process, call it, and delete it again, so the grade does not
depend on what is deployed now.
"""

from __future__ import annotations

import contextlib

from labkit import gcp, steps
from labkit.config import SETOSA

from .framework import CheckFailed, CheckSkipped, Plan, say, step

STEP = step(9)
DEPLOY = "cloudrun.py:deploy"
SERVE = "service.py:predict"
DEPLOYED = "deploy() creates the service with the chapter's flags and waits until it is ready"


@STEP.observe
def plan(ctx) -> Plan:
    name = f"{ctx.settings.name}-grading"
    return Plan("calls", {"calls": ["cloud_run_deploy_twice"], "name": name,
                         "image": f"{ctx.settings.cloud_run_image}:latest"},
                ctx.submission_files(), timeout=300, network=True, lab_environment=True, secret={"name": name})


def grading(run):
    if reason := steps.unrunnable(steps.STEPS[9], run.settings):
        raise CheckSkipped(reason)
    return run.settings.with_overrides(name=run.plan.secret["name"])


def delete(settings) -> None:
    with contextlib.suppress(Exception):  # already gone, or never created
        gcp.services_client(settings).delete_service(
            name=gcp.service_name(settings)).result(timeout=gcp.DEPLOY_TIMEOUT_S)


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


@STEP.check("the deployed service answers a flower with its species", points=2, todos=(DEPLOY, SERVE),
            needs=DEPLOYED, hint="exercises/service.py predict() answers POST /predict: build the answer with "
                                 "serving.answer() and return it as a JSONResponse with the three headers.")
def answers(run):
    settings = grading(run)
    try:
        gcp.allow_unauthenticated(settings)
        status, body, _, _ = gcp.call(run.value("cloud_run_deploy_twice")[-1]["uri"], SETOSA)
        if (status, body.get("prediction")) != (200, "setosa"):
            got = f"{status} {str(body)[:120]}"
            raise CheckFailed(say(f"POST /predict with a setosa answered {got}",
                                  f"একটা setosa দিয়ে POST /predict-এর উত্তর {got}"))
    finally:
        delete(settings)
