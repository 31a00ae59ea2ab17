"""Steps 3-9 in the child: call the student's functions the grader names, and report what they returned."""

from __future__ import annotations

import contextlib
import importlib
import os
from pathlib import Path

from .harness import call, call_within, import_module

CLOUD_CALL_SECONDS = 900  # a call that waits for the cloud (two Cloud Run deploys); the step's budget bounds it


def settings():
    """The lab settings from the environment the grader passed (the submission reads them the same way)."""
    for name in ("labkit.config", "submission.config"):
        try:
            return importlib.import_module(name).load()
        except ModuleNotFoundError:
            continue
    raise RuntimeError("no config module: neither labkit.config nor the submission's config.py")


def build_command_each_way(request: dict) -> dict:
    """Step 3: build_command() for each architecture, with docker buildx there and not there (whatever this
    machine has): ``[{"architecture", "buildx", "value" | "error"}, ...]``."""
    image = import_module("image")
    answers = []
    for buildx in (True, False):
        for architecture in request["architectures"]:
            grading = settings().with_overrides(architecture=architecture)
            with buildx_forced(buildx, image):
                outcome = call(lambda s=grading: [str(a) for a in image.build_command(s, request["tag"])])
            answers.append({"architecture": architecture, "buildx": buildx, **outcome})
    return {"value": answers}


@contextlib.contextmanager
def buildx_forced(available: bool, module):
    """Within: ``dockercli.has_buildx()`` (however the module imported it) and a ``docker buildx`` on PATH say
    ``available``; any other docker command fails, so nothing is built."""
    from labkit import dockercli

    real = dockercli.has_buildx
    folder = Path(os.environ["HOME"]) / f"docker-buildx-{'yes' if available else 'no'}"
    folder.mkdir(exist_ok=True)
    fake = folder / "docker"
    fake.write_text(f'#!/bin/sh\nif [ "$1" = buildx ]; then exit {0 if available else 1}; fi\n'
                    'echo "docker does not run while build_command() is graded" >&2\nexit 1\n')
    fake.chmod(0o755)
    bound = [name for name, value in vars(module).items() if value is real]
    path = os.environ.get("PATH", "")
    os.environ["PATH"] = f"{folder}{os.pathsep}{path}"
    dockercli.has_buildx = lambda: available
    for name in bound:
        setattr(module, name, dockercli.has_buildx)
    try:
        yield
    finally:
        os.environ["PATH"] = path
        dockercli.has_buildx = real
        for name in bound:
            setattr(module, name, real)


def ensure_repository_own(request: dict) -> dict:
    """Step 4: the student's ensure_repository() on their existing repository; the URI it returns."""
    registry = import_module("registry")
    return call(lambda: str(registry.ensure_repository(settings())["repositoryUri"]))


def ensure_repository_fresh(request: dict) -> dict:
    """Step 4: the student's ensure_repository() twice for a repository of the grader's name (create, then find)."""
    registry = import_module("registry")
    grading = settings().with_overrides(name=request["fresh"])
    return {"value": [call(lambda: str(registry.ensure_repository(grading)["repositoryUri"])) for _ in range(2)]}


def clean_up_again(request: dict) -> dict:
    cleanup = import_module("cleanup")

    def run():
        planned, left = cleanup.clean_up(settings())
        return {"planned": [str(r) for r in planned], "left": [str(r) for r in left]}

    return call(run)


def deploy_creates(request: dict) -> dict:
    """Step 5: the student's deploy() creating a function of the grader's name, and that function the moment it returns."""
    function = import_module("function")
    grading = settings().with_overrides(name=request["creates"]["name"])
    with settling_like_aws(grading.function_name):
        returned = call(function.deploy, grading, request["creates"]["image_uri"], request["role_arn"])
    return {"value": {"returned": _configuration(returned), "seen": _function_now(grading)}}


def deploy_updates(request: dict) -> dict:
    """Step 5: the student's deploy() on their function with a new image digest and memory size, and the function the
    moment it returns."""
    function = import_module("function")
    grading = settings().with_overrides(memory_mb=request["updates"]["memory_mb"])
    with settling_like_aws(grading.function_name):
        returned = call(function.deploy, grading, request["updates"]["image_uri"], request["role_arn"])
    return {"value": {"returned": _configuration(returned), "seen": _function_now(grading)}}


CHANGES = {"CreateFunction": "State", "UpdateFunctionCode": "LastUpdateStatus",
           "UpdateFunctionConfiguration": "LastUpdateStatus"}
SETTLING = {"State": "Pending", "LastUpdateStatus": "InProgress"}


@contextlib.contextmanager
def settling_like_aws(name: str):
    """Within: after each change to function ``name``, the first look at it still shows the change under way.

    AWS keeps a new function ``Pending`` and an update ``InProgress`` for seconds; the stand-in may finish in a
    few milliseconds, so whether a deploy() that never waits is caught would depend on the machine's load. Here
    the first GetFunction / GetFunctionConfiguration after a CreateFunction or an update answers as AWS would
    at that moment, whoever makes it: a waiter polls again a second later and sees the truth; a deploy() that
    returns the first answer returns one that is not ready.
    """
    from botocore.client import BaseClient

    real, pending = BaseClient._make_api_call, {}

    def make_api_call(client, operation, params):
        answer = real(client, operation, params)
        about = str(params.get("FunctionName", "")).rsplit(":", 1)[-1] if isinstance(params, dict) else ""
        if client.meta.service_model.service_name != "lambda" or about != name:
            return answer
        if operation in CHANGES:
            pending[CHANGES[operation]] = True
        elif operation in ("GetFunction", "GetFunctionConfiguration") and pending:
            found = answer.get("Configuration", answer) if operation == "GetFunction" else answer
            for key in list(pending):
                found[key] = SETTLING[key]
            pending.clear()
        return answer

    BaseClient._make_api_call = make_api_call
    try:
        yield
    finally:
        BaseClient._make_api_call = real


def _configuration(returned: dict) -> dict:
    """What deploy() returned: its state, as data (or its error)."""
    value = returned.get("value")
    if "error" in returned or not isinstance(value, dict):
        return returned if "error" in returned else {"value": {"type": type(value).__name__}}
    return {"value": {k: str(value.get(k)) for k in ("FunctionArn", "State", "LastUpdateStatus")}}


def _function_now(grading) -> dict:
    """Lambda's view of the function named by ``grading``, read at once (nothing runs between deploy() and this)."""
    from labkit import aws

    try:
        found = aws.client(grading, "lambda").get_function(FunctionName=grading.function_name)
    except Exception as error:  # noqa: BLE001 - e.g. no function of that name: said as data
        return {"error": f"{type(error).__name__}: {str(error)[:200]}"}
    configuration = found["Configuration"]
    return {"ImageUri": found.get("Code", {}).get("ImageUri", ""),
            **{k: configuration.get(k) for k in ("State", "LastUpdateStatus", "MemorySize", "Timeout", "Architectures")}}


def ensure_api_again(request: dict) -> dict:
    """Step 6: the student's ensure_api() once more, for the function it already fronts."""
    gateway = import_module("gateway")
    return call(lambda: str(getattr(gateway.ensure_api(settings(), request["function_arn"]), "api_id", "")))


def delete_decoys(request: dict) -> dict:
    """Step 8: the student's delete() of each of the grader's decoys, one by one."""
    from labkit.teardown import Resource

    cleanup = import_module("cleanup")
    done = []
    for kind, name in request["decoys"]:
        outcome = call(cleanup.delete, settings(), Resource(kind, name))
        done.append({"resource": f"{kind} {name}", **({"error": outcome["error"], "todo": outcome["todo"]}
                                                      if "error" in outcome else {})})
    return {"value": done}


def cloud_run_deploy_twice(request: dict) -> dict:
    """Step 9: the student's deploy() of the grader's own service, create then update."""
    cloudrun = import_module("cloudrun")

    def run():
        grading = settings().with_overrides(name=request["name"])
        deployed = [cloudrun.deploy(grading, cloudrun.service_spec(grading, request["image"])) for _ in range(2)]
        return [{"name": s.name, "generation": s.generation, "revision": s.latest_ready_revision, "uri": s.uri}
                for s in deployed]

    return call_within(CLOUD_CALL_SECONDS, run)  # each deploy waits until its revision serves


CALLS = {"build_command_each_way": build_command_each_way,
         "ensure_repository_own": ensure_repository_own,
         "ensure_repository_fresh": ensure_repository_fresh,
         "clean_up_again": clean_up_again, "delete_decoys": delete_decoys, "deploy_creates": deploy_creates,
         "deploy_updates": deploy_updates,
         "ensure_api_again": ensure_api_again, "cloud_run_deploy_twice": cloud_run_deploy_twice}


def answer(name: str, request: dict) -> object:
    """What one call returned (its value), or its error; an import that fails is an error of this call, too."""
    outcome = call_within(CLOUD_CALL_SECONDS, CALLS[name], request)
    return outcome.get("value", outcome)


OPS = {f"calls.{name}": (lambda request, name=name: answer(name, request)) for name in CALLS}
