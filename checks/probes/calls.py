"""Steps 3-9 in the child: call the student's functions the grader names, and report what they returned."""

from __future__ import annotations

import contextlib
import importlib
import os
from pathlib import Path

from .harness import call, emit, import_module


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

    return call(run)


CALLS = {"build_command_each_way": build_command_each_way,
         "ensure_repository_twice": ensure_repository_twice,
         "clean_up_again": clean_up_again, "delete_decoys": delete_decoys, "deploy_again": deploy_again,
         "ensure_api_again": ensure_api_again, "cloud_run_deploy_twice": cloud_run_deploy_twice}


def run(request: dict) -> None:
    for name in request["calls"]:
        outcome = call(CALLS[name], request)  # an import that fails is an error of this call, too
        emit(name, outcome.get("value", outcome))
