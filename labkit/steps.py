"""The lab's steps in order: each one's notebooks, the TODOs it asks for, and what it leaves behind.

A step has one graded notebook (its grade cell closes it) and may have ungraded notebooks
that follow it and build on its result (``more``): step 7 measures cold against warm in
``07_measure_latency`` and goes on to the levers and the choice in ``07b_mitigate_and_decide``.
A follow-up sorts right after its step's notebook, so the grader's step numbers and the
notebooks' numbers stay the same. :data:`NOTEBOOKS` is every notebook, in the order a
student runs them.

The notebooks' first cell calls :func:`start`, so a step whose earlier step is unfinished
stops at once with one line naming that step, instead of failing later with a KeyError.
That line is in the student's language (``LAB_LANG``); each title is written in both
(:class:`labkit.bilingual.Said`: the English string, carrying its Bengali).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import apis, aws, config, ecr, images
from .bilingual import Said, say, text
from .config import Settings
from .errors import LabError


@dataclass(frozen=True)
class Step:
    number: int
    title: Said  # English, with its Bengali
    notebook: str
    todos: tuple[str, ...]  # "FILE:NAME" in exercises/, as TODO markers name them
    needs_docker: bool = False  # runs containers, so host mode (no Docker engine) cannot run it
    more: tuple[str, ...] = ()  # ungraded notebooks run after ``notebook``, on this step's result

    @property
    def where(self) -> str:
        return f"notebooks/{self.notebook}"

    @property
    def notebooks(self) -> tuple[str, ...]:
        """The step's graded notebook, then its ungraded follow-ups."""
        return (self.notebook, *self.more)


STEPS = (
    Step(0, say("Set up", "Setup"), "00_setup.ipynb", ()),
    Step(1, say("Train the model", "Model train করা"), "01_train_model.ipynb", ("train.py:split", "train.py:build_model")),
    Step(2, say("Write the Lambda handler", "Lambda handler লেখা"), "02_write_handler.ipynb",
         ("app.py:MODEL", "app.py:predict", "app.py:handler")),
    Step(3, say("Build the container image", "Container image বানানো"), "03_build_image.ipynb",
         ("Dockerfile", "image.py:build_command")),
    Step(4, say("Push the image to ECR", "Image ECR-এ push করা"), "04_push_to_ecr.ipynb",
         ("registry.py:ensure_repository", "registry.py:push")),
    Step(5, say("Create the Lambda function", "Lambda function বানানো"), "05_create_lambda.ipynb",
         ("function.py:ensure_role", "function.py:deploy")),
    Step(6, say("Expose it with API Gateway", "API Gateway দিয়ে public URL"), "06_api_gateway.ipynb",
         ("gateway.py:ensure_api", "gateway.py:allow_invoke")),
    Step(7, say("Measure cold vs warm latency", "Cold বনাম warm latency মাপা"), "07_measure_latency.ipynb",
         ("latency.py:measure", "latency.py:summarize"), more=("07b_mitigate_and_decide.ipynb",)),
    Step(8, say("Clean up", "পরিষ্কার করা"), "08_cleanup.ipynb", ("cleanup.py:delete",)),
    Step(9, say("Deploy to Google Cloud Run", "Google Cloud Run-এ deploy করা"), "09_cloud_run.ipynb",
         ("service.py:predict", "cloudrun.py:deploy"), needs_docker=True),
)

NOTEBOOKS = tuple(notebook for step in STEPS for notebook in step.notebooks)  # in the order a student runs them
CLEANUP = 8
DOCKER_HINT = say("start one with scripts/ensure-docker.sh (or Docker Desktop); steps 1-8 run without it",
                  "scripts/ensure-docker.sh দিয়ে (বা Docker Desktop) একটা চালু করো; ধাপ 1-8 এটা ছাড়াই চলে")


class StepNotReady(LabError):
    """An earlier step's result is missing; the message names the step to finish."""

    def _render_traceback_(self) -> list[str]:
        return [str(self)]


def start(number: int, after: bool = False) -> Settings:
    """The settings, once every earlier step this one builds on has left its result.

    With ``after``, for one of the step's ungraded follow-up notebooks: the step itself must
    have left its result too (step 7's measurement, for ``07b_mitigate_and_decide``).

    Raises:
        StepNotReady: one line naming the unfinished step and its notebook.
    """
    settings = config.load()
    if problem := unrunnable(STEPS[number], settings):
        raise StepNotReady(text(problem, settings.lang))
    if number == CLEANUP:  # cleanup deletes whatever exists, so it needs nothing
        return settings
    for earlier, missing in _PREREQUISITES:
        rebuilt = number > CLEANUP and earlier > 1  # past cleanup a step deploys again from the trained model
        if (earlier < number or (after and earlier == number)) and not rebuilt and (problem := missing(settings)):
            step = STEPS[earlier]
            stop = say(f"finish step {earlier} ({step.title}) first, in {step.where}: {problem}",
                       f"আগে ধাপ {earlier} ({step.title.bn}) শেষ করো, {step.where}-এ: {text(problem, 'bn')}")
            raise StepNotReady(text(stop, settings.lang))
    return settings


def unrunnable(step: Step, settings: Settings) -> Said | None:
    """Why ``step`` cannot run on this machine at all (not a missing earlier step), or None."""
    if step.needs_docker and not images.uses_docker(settings):
        return say(f"step {step.number} ({step.title}) runs containers and needs a Docker engine: {DOCKER_HINT}",
                   f"ধাপ {step.number} ({step.title.bn}) container চালায়, তাই Docker engine লাগবে: {DOCKER_HINT.bn}")
    return None


def _no_model(settings: Settings) -> Said | None:
    model = settings.model_dir / "model.joblib"
    return None if model.exists() else say(f"{model} does not exist yet", f"{model} এখনো নেই")


def _no_image(settings: Settings) -> Said | None:
    if images.uses_docker(settings):
        tag = images.local_tag(settings)
        try:
            images.describe(tag)
        except LabError:
            return say(f"there is no image {tag} yet", f"image {tag} এখনো নেই")
        return None
    staged = settings.image_context / "app.py"
    return None if staged.exists() else say(f"nothing is staged in {settings.image_context} yet",
                                            f"{settings.image_context}-এ এখনো কিছু stage করা হয়নি")


def _not_pushed(settings: Settings) -> Said | None:
    repository = aws.client(settings, "ecr")
    with aws.explained(settings, say(f"looking up {settings.repository}:{ecr.TAG} in ECR",
                                     f"ECR-এ {settings.repository}:{ecr.TAG} খোঁজা")):
        try:
            repository.describe_images(repositoryName=settings.repository, imageIds=[{"imageTag": ecr.TAG}])
        except (repository.exceptions.RepositoryNotFoundException, repository.exceptions.ImageNotFoundException):
            return say(f"there is no image {settings.repository}:{ecr.TAG} in ECR yet",
                       f"ECR-এ এখনো image {settings.repository}:{ecr.TAG} নেই")
    return None


def _no_function(settings: Settings) -> Said | None:
    awslambda = aws.client(settings, "lambda")
    with aws.explained(settings, say(f"looking up function {settings.function_name}",
                                     f"function {settings.function_name} খোঁজা")):
        try:
            state = awslambda.get_function_configuration(FunctionName=settings.function_name)["State"]
        except awslambda.exceptions.ResourceNotFoundException:
            return say(f"there is no Lambda function {settings.function_name} yet",
                       f"Lambda function {settings.function_name} এখনো নেই")
    return None if state == "Active" else say(f"the function is {state}, not Active",
                                              f"function-টা এখন {state}, Active নয়")


def _no_api(settings: Settings) -> Said | None:
    with aws.explained(settings, say("looking up the HTTP API", "HTTP API খোঁজা")):
        found = apis.find_api(settings, aws.client(settings, "apigatewayv2"))
    return None if found else say(f"there is no HTTP API {settings.api_name} yet",
                                  f"HTTP API {settings.api_name} এখনো নেই")


def _not_measured(settings: Settings) -> Said | None:
    summary = settings.latency_dir / "summary.json"
    return None if summary.exists() else say(f"{summary} does not exist yet", f"{summary} এখনো নেই")


# What each step leaves behind, checked by every later step but cleanup (and by the step's own follow-ups).
_PREREQUISITES = ((1, _no_model), (3, _no_image), (4, _not_pushed), (5, _no_function), (6, _no_api),
                  (7, _not_measured))
