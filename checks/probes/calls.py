"""Steps 3-9 in the child: call the student's functions the grader names, and report what they returned."""

from __future__ import annotations

import importlib

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


def build_command(request: dict) -> dict:
    image = import_module("image")
    return call(lambda: [str(a) for a in image.build_command(settings(), request["tag"])])


def build_command_other_arch(request: dict) -> dict:
    """build_command() for the other architecture: the platform must follow the settings."""
    image = import_module("image")
    other = settings().with_overrides(architecture=request["other_architecture"])
    return call(lambda: [str(a) for a in image.build_command(other, request["tag"])])


def ensure_repository_twice(request: dict) -> dict:
    registry = import_module("registry")
    first = call(lambda: registry.ensure_repository(settings())["repositoryArn"])
    return first if "error" in first else {"value": [first["value"],
                                                     call(lambda: registry.ensure_repository(settings())["repositoryArn"])]}


def clean_up_again(request: dict) -> dict:
    cleanup = import_module("cleanup")

    def run():
        planned, left = cleanup.clean_up(settings())
        return {"planned": [str(r) for r in planned], "left": [str(r) for r in left]}

    return call(run)


def deploy_again(request: dict) -> dict:
    """Step 5: the student's deploy() once more, with the image and role the function runs now (the update path)."""
    function = import_module("function")

    def run():
        configuration = function.deploy(settings(), request["image_uri"], request["role_arn"])
        return {"FunctionArn": str(configuration.get("FunctionArn")) if isinstance(configuration, dict) else None}

    return call(run)


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


CALLS = {"build_command": build_command, "build_command_other_arch": build_command_other_arch,
         "ensure_repository_twice": ensure_repository_twice,
         "clean_up_again": clean_up_again, "delete_decoys": delete_decoys, "deploy_again": deploy_again,
         "ensure_api_again": ensure_api_again, "cloud_run_deploy_twice": cloud_run_deploy_twice}


def answer(name: str, request: dict) -> object:
    """What one call returned (its value), or its error; an import that fails is an error of this call, too."""
    outcome = call_within(CLOUD_CALL_SECONDS, CALLS[name], request)
    return outcome.get("value", outcome)


OPS = {f"calls.{name}": (lambda request, name=name: answer(name, request)) for name in CALLS}
