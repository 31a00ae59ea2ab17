"""The lab's steps in order: each one's notebook, the TODOs it asks for, and what it leaves behind.

The notebooks' first cell calls :func:`start`, so a step whose earlier step is unfinished
stops at once with one line naming that step, instead of failing later with a KeyError.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import apis, aws, config, ecr, images
from .config import Settings
from .errors import LabError


@dataclass(frozen=True)
class Step:
    number: int
    title: str
    notebook: str
    todos: tuple[str, ...]  # "FILE:NAME" in exercises/, as TODO markers name them
    needs_docker: bool = False  # runs containers, so host mode (no Docker engine) cannot run it

    @property
    def where(self) -> str:
        return f"notebooks/{self.notebook}"


STEPS = (
    Step(0, "Set up", "00_setup.ipynb", ()),
    Step(1, "Train the model", "01_train_model.ipynb", ("train.py:split", "train.py:build_model")),
    Step(2, "Write the Lambda handler", "02_write_handler.ipynb", ("app.py:MODEL", "app.py:predict", "app.py:handler")),
    Step(3, "Build the container image", "03_build_image.ipynb", ("Dockerfile", "image.py:build_command")),
    Step(4, "Push the image to ECR", "04_push_to_ecr.ipynb", ("registry.py:ensure_repository", "registry.py:push")),
    Step(5, "Create the Lambda function", "05_create_lambda.ipynb", ("function.py:ensure_role", "function.py:deploy")),
    Step(6, "Expose it with API Gateway", "06_api_gateway.ipynb", ("gateway.py:ensure_api", "gateway.py:allow_invoke")),
    Step(7, "Measure cold vs warm latency", "07_measure_latency.ipynb", ("latency.py:measure", "latency.py:summarize")),
    Step(8, "Clean up", "08_cleanup.ipynb", ("cleanup.py:delete",)),
    Step(9, "Deploy to Google Cloud Run", "09_cloud_run.ipynb", ("service.py:predict", "cloudrun.py:deploy"),
         needs_docker=True),
)


CLEANUP = 8
DOCKER_HINT = "start one with scripts/ensure-docker.sh (or Docker Desktop); steps 1-8 run without it"


class StepNotReady(LabError):
    """An earlier step's result is missing; the message names the step to finish."""

    def _render_traceback_(self) -> list[str]:
        return [str(self)]


def start(number: int) -> Settings:
    """The settings, once every earlier step this one builds on has left its result.

    Raises:
        StepNotReady: one line naming the unfinished step and its notebook.
    """
    settings = config.load()
    if problem := unrunnable(STEPS[number], settings):
        raise StepNotReady(problem)
    if number == CLEANUP:  # cleanup deletes whatever exists, so it needs nothing
        return settings
    for earlier, missing in _PREREQUISITES:
        rebuilt = number > CLEANUP and earlier > 1  # past cleanup a step deploys again from the trained model
        if earlier < number and not rebuilt and (problem := missing(settings)):
            step = STEPS[earlier]
            raise StepNotReady(f"finish step {earlier} ({step.title}) first, in {step.where}: {problem}")
    return settings


def unrunnable(step: Step, settings: Settings) -> str | None:
    """Why ``step`` cannot run on this machine at all (not a missing earlier step), or None."""
    if step.needs_docker and not images.uses_docker(settings):
        return f"step {step.number} ({step.title}) runs containers and needs a Docker engine: {DOCKER_HINT}"
    return None


def _no_model(settings: Settings) -> str | None:
    model = settings.model_dir / "model.joblib"
    return None if model.exists() else f"{model} does not exist yet"


def _no_image(settings: Settings) -> str | None:
    if images.uses_docker(settings):
        tag = images.local_tag(settings)
        try:
            images.describe(tag)
        except LabError:
            return f"there is no image {tag} yet"
        return None
    staged = settings.image_context / "app.py"
    return None if staged.exists() else f"nothing is staged in {settings.image_context} yet"


def _not_pushed(settings: Settings) -> str | None:
    try:
        ecr.latest(settings)
    except LabError as error:
        return str(error)
    return None


def _no_function(settings: Settings) -> str | None:
    awslambda = aws.client(settings, "lambda")
    with aws.explained(settings, f"looking up function {settings.function_name}"):
        try:
            state = awslambda.get_function_configuration(FunctionName=settings.function_name)["State"]
        except awslambda.exceptions.ResourceNotFoundException:
            return f"there is no Lambda function {settings.function_name} yet"
    return None if state == "Active" else f"the function is {state}, not Active"


def _no_api(settings: Settings) -> str | None:
    with aws.explained(settings, "looking up the HTTP API"):
        found = apis.find_api(settings, aws.client(settings, "apigatewayv2"))
    return None if found else f"there is no HTTP API {settings.api_name} yet"


# What each step leaves behind, checked by every later step but cleanup.
_PREREQUISITES = ((1, _no_model), (3, _no_image), (4, _not_pushed), (5, _no_function), (6, _no_api))
