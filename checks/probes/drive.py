"""A class batch's driver in the child: run the lab's steps with the submission's own code, as its notebooks do.

Each operation is one notebook's deployment cells (:mod:`checks.classroom.driver` asks them in notebook order,
each in a fresh sandboxed child): the student's functions are called with the lab's settings, the build folder
being the child's own scratch (``$HOME/build``: the only place it can write). What the grader keeps of a step
(the trained model, the latency report) comes back as data, each file within :data:`MAX_FILE_BYTES`; the
grader writes it where it chooses. Nothing here judges anything.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from .harness import call_within, import_module, submission_path

MAX_FILE_BYTES = 200_000  # a model or a report the grader takes back; larger ones are not returned
DEFAULT_SECONDS = 120


def settings():
    """The lab settings the grader passed, for the submission's copy, building in the child's scratch."""
    from labkit import config

    return config.load(code=str(submission_path()), build_dir=Path(os.environ["HOME"]) / "build")


def files(folder: Path, names: tuple[str, ...]) -> dict:
    """``{name: base64}`` of the files of ``folder`` the grader takes back (a missing or oversized one is left out)."""
    found = {}
    for name in names:
        path = folder / name
        if path.is_file() and not path.is_symlink() and path.stat().st_size <= MAX_FILE_BYTES:
            found[name] = base64.b64encode(path.read_bytes()).decode()
    return found


def train(request: dict) -> dict:
    """Notebook 01: ``train.train(settings.model_dir)``; the model and its metadata."""
    lab = settings()
    trained = call_within(_seconds(request), lambda: import_module("train").train(lab.model_dir) and None)
    return {**trained, "files": files(lab.model_dir, ("model.joblib", "metadata.json"))}


def publish(request: dict) -> dict:
    """Notebooks 03 (host mode: the staged folder is the package) and 04: stage, ensure_repository(), publish()."""
    from labkit import images

    lab = settings()
    model = base64.b64decode(request.get("model", ""))
    lab.model_dir.mkdir(parents=True, exist_ok=True)
    (lab.model_dir / "model.joblib").write_bytes(model)

    def run():
        context = images.stage(lab, submission_path())
        for path in [context, *context.rglob("*")]:  # readable by the function's own user, whatever this umask
            path.chmod(0o755 if path.is_dir() else 0o644)
        registry = import_module("registry")
        registry.ensure_repository(lab)
        return registry.publish(lab).uri

    return call_within(_seconds(request), run)


def function(request: dict) -> dict:
    """Notebook 05: the log group, ensure_role(), then deploy() of the image ECR holds."""
    from labkit import ecr, lambdas

    lab = settings()

    def run():
        module = import_module("function")
        lambdas.ensure_log_group(lab)
        role = module.ensure_role(lab)
        return module.deploy(lab, ecr.latest(lab).uri, role)["FunctionArn"]

    return call_within(_seconds(request), run)


def gateway(request: dict) -> dict:
    """Notebook 06: ensure_api() for the function."""
    from labkit import aws

    lab = settings()

    def run():
        arn = aws.client(lab, "lambda").get_function_configuration(FunctionName=lab.function_name)["FunctionArn"]
        return str(import_module("gateway").ensure_api(lab, arn).url)

    return call_within(_seconds(request), run)


def latency(request: dict) -> dict:
    """Notebook 07: measure(), the samples and summary written with the lab's helpers, and the plot."""
    from labkit import apis, aws, plots, timing

    lab = settings()

    def run():
        module = import_module("latency")
        url = apis.find_api(lab, aws.client(lab, "apigatewayv2"))["ApiEndpoint"] + "/predict"
        samples = module.measure(lab, url, requests_per_round=10, rounds=3)
        timing.write_samples(samples, lab.latency_dir)
        timing.write_summary(module.summarize(samples), lab.latency_dir)
        plots.plot(samples, lab.latency_dir / "latency.png")

    measured = call_within(_seconds(request), run)
    return {**measured, "files": files(lab.latency_dir, ("samples.csv", "summary.json", "latency.png"))}


def cleanup(request: dict) -> dict:
    """Notebook 08: clean_up() as a dry run, for real, and once more."""
    lab = settings()

    def run():
        module = import_module("cleanup")
        module.clean_up(lab, dry_run=True)
        deleted, left = module.clean_up(lab)
        module.clean_up(lab)
        return {"deleted": [str(r) for r in deleted], "left": [str(r) for r in left]}

    return call_within(_seconds(request), run)


def _seconds(request: dict) -> float:
    return float(request.get("seconds", DEFAULT_SECONDS))


OPS = {f"drive.{op.__name__}": op for op in (train, publish, function, gateway, latency, cleanup)}
