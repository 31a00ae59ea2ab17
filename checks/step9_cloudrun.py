"""Step 9: deploy() puts the container on Cloud Run with the chapter's flags, updates it when it exists, and it answers.

The checks deploy a service of their own (``<LAB_NAME>-grading``) with the image notebook 09
pushed, through the code being graded, then read it back with the official client in the
grader's process, and delete it again: the grade does not depend on what is deployed now.
"""

from __future__ import annotations

import contextlib

from labkit import cloudrun, images
from labkit.config import SETOSA

from .framework import CheckFailed, CheckSkipped, step

STEP = step(9, "Deploy to Google Cloud Run")
DEPLOYED = "deploy() creates the service with the chapter's flags and waits until it is ready"


def grading(ctx):
    """Settings for the grader's own service, and the image notebook 09 pushed."""
    if not images.uses_docker(ctx.settings):
        raise CheckSkipped("Cloud Run runs containers: it needs a Docker engine")
    return ctx.settings.with_overrides(name=f"{ctx.settings.name}-grading"), f"{ctx.settings.cloud_run_image}:latest"


@contextlib.contextmanager
def deployed(ctx, times: int = 1):
    """Deploy the grader's service ``times`` times with the graded deploy(); yields the services it returned."""
    settings, image = grading(ctx)
    code = ctx.code("cloudrun")
    try:
        yield [code.deploy(settings, code.service_spec(settings, image)) for _ in range(times)], settings
    finally:
        with contextlib.suppress(Exception):
            cloudrun.services_client(settings).delete_service(
                name=cloudrun.service_name(settings)).result(timeout=cloudrun.DEPLOY_TIMEOUT_S)


def read_back(settings):
    return cloudrun.services_client(settings).get_service(name=cloudrun.service_name(settings))


@STEP.check(DEPLOYED, points=3, timeout=300,
            hint="create_service(parent=..., service=..., service_id=...) returns an operation: wait with .result(). "
                 "If it says the image is not found, run notebook 09's build-and-push cell first.")
def creates(ctx):
    with deployed(ctx) as (returned, settings):
        service = read_back(settings)
        if service.terminal_condition.state.name != "CONDITION_SUCCEEDED":
            raise CheckFailed(f"the service is {service.terminal_condition.state.name}: {service.terminal_condition.message}")
        if not returned[0] or returned[0].name != service.name:
            raise CheckFailed("deploy() did not return the ready service (the operation's result)")
        container = service.template.containers[0]
        got = (container.resources.limits.get("memory"), container.resources.limits.get("cpu"),
               service.template.scaling.min_instance_count, service.template.scaling.max_instance_count)
        if got != ("1Gi", "1", 0, 10):
            raise CheckFailed(f"memory, cpu, min and max instances are {got}; the chapter deploys ('1Gi', '1', 0, 10)")


@STEP.check("deploy() on an existing service rolls out a new revision instead of failing", points=2, timeout=300,
            needs=DEPLOYED, hint="A second create_service fails with 409 (exceptions.Conflict): then update_service.")
def updates(ctx):
    with deployed(ctx, times=2) as (returned, settings):
        first, second = returned
        if second.generation <= first.generation or second.latest_ready_revision == first.latest_ready_revision:
            raise CheckFailed(f"the second deploy left generation {second.generation}, revision "
                              f"{second.latest_ready_revision.rsplit('/', 1)[-1]}")


@STEP.check("the deployed service answers a flower with its species", points=2, timeout=300, needs=DEPLOYED,
            hint="Look at the container's answer: docker/cloudrun/main.py serves POST /predict.")
def answers(ctx):
    with deployed(ctx) as (returned, settings):
        cloudrun.allow_unauthenticated(settings)
        status, body, _, _ = cloudrun.call(returned[0].uri, SETOSA)
        if (status, body.get("prediction")) != (200, "setosa"):
            raise CheckFailed(f"POST /predict with a setosa answered {status} {str(body)[:120]}")
