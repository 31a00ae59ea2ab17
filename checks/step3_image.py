"""Step 3: the submission's own Dockerfile has Lambda's shape, builds, holds the right things and answers.

The grader builds the submission's Dockerfile itself (:mod:`checks.sandbox.container`), into an
image tagged for that submission's content; ``build_command()`` is judged from what it
returns, never run.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from labkit.config import ARCHITECTURES

from . import dockerfile
from .context import REPO_ROOT, SETOSA
from .events import load_event
from .framework import CheckFailed, CheckSkipped, Plan, joined, say, step, todo_open
from .sandbox import build, container

STEP = step(3)
DOCKERFILE, BUILD_COMMAND = "Dockerfile", "image.py:build_command"
BASE_IMAGE = "public.ecr.aws/lambda/python:3.11"
SIZE_BUDGET_MB = 1024  # Lambda allows 10 GB; a small image pulls faster on a cold start
SERVING = ("__init__.py", "serving.py", "todo.py")
REQUIREMENTS = ("requirements.txt", "docker/requirements.txt")  # the submission's own, else the lab's


CONTEXT = ("Dockerfile", ".dockerignore", "requirements.txt", "app.py", "model.joblib",
           *(f"labkit/{n}" for n in SERVING))  # what the grader stages: the build context, file by file
CODE = ("app.py", "model.joblib", "labkit/")  # what changes more often than the requirements


def parsed(run) -> dockerfile.Image:
    """The submission's Dockerfile as Docker builds it (:mod:`checks.dockerfile`) from the staged context."""
    path = run.ctx.source(DOCKERFILE)
    if path.is_symlink():
        raise CheckFailed(say("Dockerfile is a symbolic link: the grader reads the file itself, never what a link points at",
                              "Dockerfile একটা symbolic link: grader file-টাই পড়ে, link যেদিকে দেখায় সেটা কখনো নয়"))
    if not path.is_file():
        raise CheckFailed(say(f"there is no Dockerfile in {run.folder}", f"{run.folder}-এ কোনো Dockerfile নেই"))
    built = dockerfile.read(path.read_text(errors="replace")[:100_000], list(CONTEXT))
    if built.base is None or not built.instructions:
        raise CheckFailed(todo_open(DOCKERFILE, run.folder))
    return built


@STEP.observe
def plan(ctx) -> Plan:
    """build_command() for both architectures, with and without buildx: every branch, whatever this machine has.

    It needs the lab's settings, not the network: nothing it is given runs Docker."""
    architectures = [ctx.settings.architecture, *(a for a in ARCHITECTURES if a != ctx.settings.architecture)]
    return Plan("calls", {"calls": ["build_command_each_way"], "tag": "lab-grade/check:build-command",
                          "architectures": architectures}, ctx.submission_files(), timeout=60, network=False,
                lab_environment=True)


@STEP.check("the Dockerfile starts from AWS's Lambda Python 3.11 base image", points=1, todos=(DOCKERFILE,),
            hint="Dockerfile: the final image starts FROM public.ecr.aws/lambda/python:3.11.")
def from_base(run):
    base = parsed(run).base
    if not dockerfile.LAMBDA_BASE.match(base):
        raise CheckFailed(say(f"the final image starts from {base}", f"শেষ image-টা শুরু হয় {base} থেকে"))


@STEP.check("the Dockerfile installs dependencies before it copies the code", points=1, todos=(DOCKERFILE,),
            hint="Dockerfile: COPY requirements.txt and RUN pip install -r requirements.txt first, code later, so that code edits reuse "
                 "the cached dependency layer.")
def cache_friendly(run):
    steps = parsed(run).steps
    requirements, install, pip, code = set(), None, False, None
    for number, step_ in enumerate(steps):
        requirements |= {target for target, source in step_.copied.items() if source == "requirements.txt"}
        if code is None and any(source.startswith(CODE) for source in step_.copied.values()):
            code = number
        for directory, words in step_.commands:
            files = dockerfile.requirement_files(directory, words)
            pip = pip or files is not None
            if install is None and files and requirements & set(files):
                install = number
    if install is None and pip:
        raise CheckFailed(say("pip install does not install from the requirements.txt the image was given "
                              "(-r requirements.txt): the image must get the pinned versions that trained the model",
                              "image-কে যে requirements.txt দেওয়া হয়েছে pip install সেটা থেকে install করে না "
                              "(-r requirements.txt): image-এ সেই pin করা version-গুলোই লাগবে, যা দিয়ে model train হয়েছে"))
    if install is None or code is None or install > code:
        where = (f" (line {steps[code].line}: {steps[code].text[:60]})", f" (লাইন {steps[code].line}: "
                 f"{steps[code].text[:60]})") if code is not None else ("", "")
        raise CheckFailed(say(f"expected RUN pip install -r requirements.txt before the code is copied{where[0]}",
                              f"আশা ছিল code copy করার আগে RUN pip install -r requirements.txt{where[1]}"))


BUILDX_ONLY = ("--provenance", "--load", "--push", "--sbom", "--attest", "--output")


@STEP.check("build_command() builds for the function's architecture, tagged, without attestations", points=1,
            todos=(BUILD_COMMAND,), hint="image.py build_command(): --platform settings.platform and --tag tag; "
                                         "with buildx also --provenance=false and --load, without it neither.")
def command_shape(run):
    problems = []
    for answer in run.value("build_command_each_way"):
        args = answer.get("value")
        buildx = ("installed", "আছে") if answer["buildx"] else ("missing", "নেই")
        where = say(f"with LAB_ARCH={answer['architecture']} and docker buildx {buildx[0]}",
                    f"LAB_ARCH={answer['architecture']} আর docker buildx {buildx[1]}")
        if "error" in answer:
            raise CheckFailed(run.todo(answer.get("todo")) or say(f"{where}, build_command() failed: {answer['error']}",
                                                                  f"{where.bn}: build_command() ব্যর্থ: {answer['error']}"))
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            got = json.dumps(args)[:100]
            raise CheckFailed(say(f"build_command() returned {got}, not a list of strings",
                                  f"build_command() ফেরত দিয়েছে {got}, string-এর list নয়"))
        platform = run.settings.with_overrides(architecture=answer["architecture"]).platform
        start = ["buildx", "build"] if answer["buildx"] else ["build"]
        found = [] if args[:len(start)] == start else [say(f"it starts {args[:2]}, not {start}",
                                                           f"এটা শুরু হয় {args[:2]} দিয়ে, {start} দিয়ে নয়")]
        found += [] if has_option(args, ("--platform",), platform) else [
            say(f"no --platform {platform} (use settings.platform)",
                f"--platform {platform} নেই (settings.platform ব্যবহার করো)")]
        found += [] if has_option(args, ("--tag", "-t"), run.plan.request["tag"]) else [
            say("the tag it was given is not its --tag", "যে tag দেওয়া হয়েছে সেটা এর --tag নয়")]
        if args[:1] == ["buildx"] and not {"--provenance=false", "--load"} <= set(args):
            found.append(say("buildx needs --provenance=false and --load", "buildx-এ --provenance=false আর --load লাগে"))
        if args[:1] == ["build"] and (extra := [a for a in args if a.split("=")[0] in BUILDX_ONLY]):
            found.append(say(f"docker build without buildx does not know {extra}",
                             f"buildx ছাড়া docker build {extra} চেনে না"))
        problems += [where + f": {args}: " + joined(found)] if found else []
    if problems:
        raise CheckFailed(joined(problems[:2], " | "))


def has_option(args: list[str], names: tuple[str, ...], value: str) -> bool:
    """``--name value`` or ``--name=value`` among the arguments."""
    return any((a in names and args[i + 1:i + 2] == [value]) or a in {f"{n}={value}" for n in names}
               for i, a in enumerate(args))


def context_files(ctx, model: Path) -> dict[str, tuple[Path, Path]]:
    """The build context of the submission's image (:func:`checks.sandbox.build.stage`'s ``files``): its Dockerfile,
    ``app.py`` and requirements (else the lab's), the lab's serving code and ``.dockerignore``, and ``model``."""
    own = [n for n in REQUIREMENTS if ctx.source(n).is_file() or ctx.source(n).is_symlink()]
    student, lab = ctx.folder, REPO_ROOT
    files = {"Dockerfile": (student, ctx.source(DOCKERFILE)), "app.py": (student, ctx.source("app.py")),
             "model.joblib": (model.parent, model),
             "requirements.txt": (student, ctx.source(own[0])) if own else (lab, lab / "docker" / "requirements.txt"),
             ".dockerignore": (lab, lab / "docker" / ".dockerignore")}
    files |= {f"labkit/{n}": (lab, lab / "labkit" / n) for n in SERVING}
    return {k: v for k, v in files.items() if v[1].is_file() or v[1].is_symlink()}


@STEP.check("the submission's Dockerfile builds", points=3, todos=(DOCKERFILE,),
            hint="Dockerfile: run `python -m <code>.image` to see the build's own error; COPY names files of the "
                 "staged context (requirements.txt, labkit/, app.py, model.joblib).")
def builds(run):
    parsed(run)
    if run.settings.docker == "off" or not container.docker_available():
        raise CheckSkipped(say("no Docker engine here (host mode): the image cannot be built or checked",
                               "এখানে Docker engine নেই (host mode): image build বা পরীক্ষা করা যায় না"))
    model = run.settings.model_dir / "model.joblib"
    if not model.is_file():
        raise CheckFailed(say(f"{model} is missing: train the model first (step 1)",
                              f"{model} নেই: আগে model train করো (ধাপ 1)"))
    with tempfile.TemporaryDirectory(prefix="lab-grade-build-") as folder:
        try:
            tag = build.stage(context_files(run.ctx, model), Path(folder) / "context")
        except build.LinkRefused as link:
            raise CheckFailed(say(f"{link.name} is a symbolic link (or lies in a linked folder): the grader stages "
                                  "real files only, never what a link points at; put the file itself there",
                                  f"{link.name} একটা symbolic link (বা link করা folder-এ আছে): grader শুধু আসল file stage "
                                  "করে, link যেদিকে দেখায় সেটা কখনো নয়; file-টাই সেখানে রাখো")) from None
        image, log = build.build(Path(folder) / "context", tag, run.settings.platform, timeout=900)
    if image is None:
        raise CheckFailed(say(f"docker build failed: {log}", f"docker build ব্যর্থ হয়েছে: {log}"))
    run.facts["image"] = image
    arch = container.inspect(image).get("Architecture")
    expected = {"x86_64": "amd64", "arm64": "arm64"}[run.settings.architecture]
    if arch != expected:
        raise CheckFailed(say(f"the image is {arch}; the function is {run.settings.architecture} ({expected})",
                              f"image-টা {arch}; function {run.settings.architecture} ({expected})"))
    return tag


PROBE = ("import json, os, sklearn; print(json.dumps({'sklearn': sklearn.__version__, 'files': sorted(os.listdir("
         "'/var/task')), 'labkit': sorted(os.listdir('/var/task/labkit')) if os.path.isdir('/var/task/labkit') "
         "else []}))")


@STEP.check("the image holds app.py, labkit/, model.joblib and the scikit-learn that trained it, and runs "
            "app.handler", points=1, todos=(DOCKERFILE,), needs="the submission's Dockerfile builds",
            hint="Dockerfile: COPY app.py, labkit/ and model.joblib into ${LAMBDA_TASK_ROOT}; CMD [\"app.handler\"].")
def contents(run):
    image = run.facts["image"]
    code, output = container.python_in(image, PROBE)
    if code != 0:
        last = output.strip().splitlines()[-1:]
        raise CheckFailed(say(f"python in the image failed: {last}", f"image-এর ভেতরে python ব্যর্থ হয়েছে: {last}"))
    found = json.loads(output.strip().splitlines()[-1])
    meta = json.loads((run.settings.model_dir / "metadata.json").read_text()) if (
        run.settings.model_dir / "metadata.json").is_file() else {}
    problems = [say(f"/var/task lacks {n}", f"/var/task-এ {n} নেই") for n in ("app.py", "model.joblib", "labkit")
                if n not in found["files"]]
    problems += [say("/var/task/labkit lacks serving.py", "/var/task/labkit-এ serving.py নেই")] if (
        "labkit" in found["files"] and "serving.py" not in found["labkit"]) else []
    if found["sklearn"] != meta.get("sklearn_version"):
        problems.append(say(f"the image has scikit-learn {found['sklearn']}, the model was trained with "
                            f"{meta.get('sklearn_version')}",
                            f"image-এ scikit-learn {found['sklearn']}, অথচ model train হয়েছে "
                            f"{meta.get('sklearn_version')} দিয়ে"))
    cmd = (container.inspect(image).get("Config") or {}).get("Cmd")
    if cmd != ["app.handler"]:
        problems.append(say(f"CMD is {cmd}, not [\"app.handler\"]", f"CMD হলো {cmd}, [\"app.handler\"] নয়"))
    if problems:
        raise CheckFailed(joined(problems))


@STEP.check("the image fits the size budget", points=1, todos=(DOCKERFILE,), needs="the submission's Dockerfile builds",
            hint="Dockerfile: install only requirements.txt, with pip's --no-cache-dir.")
def size_budget(run):
    size_mb = int(container.inspect(run.facts["image"]).get("Size", 0)) / 1e6
    if size_mb > SIZE_BUDGET_MB:
        raise CheckFailed(say(f"{size_mb:,.0f} MB is over the lab's {SIZE_BUDGET_MB:,} MB budget",
                              f"{size_mb:,.0f} MB, lab-এর {SIZE_BUDGET_MB:,} MB বাজেটের বেশি"))
    return say(f"{size_mb:,.0f} MB of a {SIZE_BUDGET_MB:,} MB budget (Lambda's limit: 10 GB)",
               f"{SIZE_BUDGET_MB:,} MB বাজেটের {size_mb:,.0f} MB (Lambda-র সীমা: 10 GB)")


@STEP.check("under the Runtime Interface Emulator the image answers right and refuses bad input", points=3,
            todos=(DOCKERFILE,), needs="the submission's Dockerfile builds",
            hint="Dockerfile: the image must start app.handler; run `python -m <code>.image` and read the log it prints.")
def answers_locally(run):
    with container.under_rie(run.facts["image"], run.settings.timeout_s) as invoke:
        good, bad = invoke(load_event(body=SETOSA)), invoke(load_event(raw_body="{not json"))
    body = json.loads(good["body"]) if isinstance(good, dict) and isinstance(good.get("body"), str) else {}
    if not (isinstance(good, dict) and good.get("statusCode") == 200 and body.get("prediction") == "setosa"):
        raise CheckFailed(say(f"a setosa got {str(good)[:120]}", f"একটা setosa পেয়েছে {str(good)[:120]}"))
    if not (isinstance(bad, dict) and 400 <= (bad.get("statusCode") or 0) < 500):
        raise CheckFailed(say(f"invalid JSON got {str(bad)[:120]}", f"ভুল JSON পেয়েছে {str(bad)[:120]}"))
