"""Step 3's Dockerfile and build_command() shape checks on equivalent spellings (no build, no Docker)."""

from __future__ import annotations

import pytest

from checks import Context, step3_image
from checks.framework import CheckFailed, Plan, Run
from labkit import config

TAG = "lab-grade/check:build-command"
BASE = "FROM public.ecr.aws/lambda/python:3.11\n"


def run_with(tmp_path, dockerfile: str = "", answers: list[dict] | None = None) -> Run:
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    (code / "Dockerfile").write_text(BASE + dockerfile)
    settings = config.load({}, code=str(code), build_dir=tmp_path / "build")
    run = Run(Context(settings), Plan("calls", {"tag": TAG, "architectures": ["x86_64", "arm64"]}, {}))
    run.records = {"build_command_each_way": {"value": answers or []}}
    return run


def each_way(command) -> list[dict]:
    """build_command()'s answers as the probe reports them; ``command(platform, buildx)`` makes one."""
    return [{"architecture": arch, "buildx": buildx, "value": command(platform, buildx)}
            for buildx in (True, False) for arch, platform in (("x86_64", "linux/amd64"), ("arm64", "linux/arm64"))]


@pytest.mark.parametrize("dockerfile", [
    "COPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY app.py ${LAMBDA_TASK_ROOT}/\n",
    "COPY requirements.txt .\nRUN pip3 install --no-cache-dir -r requirements.txt\nCOPY app.py ./\n",
    "COPY requirements.txt .\nRUN python -m pip install -r requirements.txt\nCOPY . ${LAMBDA_TASK_ROOT}/\n",
    "COPY requirements.txt .\nRUN python3.11 -m pip install -r requirements.txt\nCOPY ./ ${LAMBDA_TASK_ROOT}/\n",
], ids=["pip", "pip3", "python -m pip, COPY .", "python3.11 -m pip, COPY ./"])
def test_installing_before_copying_the_code_passes_however_it_is_spelled(tmp_path, dockerfile):
    step3_image.cache_friendly(run_with(tmp_path, dockerfile))


@pytest.mark.parametrize("dockerfile", [
    "COPY . ${LAMBDA_TASK_ROOT}/\nRUN pip3 install -r requirements.txt\n",
    "COPY app.py requirements.txt ./\nRUN python -m pip install -r requirements.txt\n",
], ids=["COPY . first", "COPY app.py first"])
def test_copying_the_code_before_installing_fails(tmp_path, dockerfile):
    with pytest.raises(CheckFailed):
        step3_image.cache_friendly(run_with(tmp_path, dockerfile))


LAMBDA = "public.ecr.aws/lambda/python:3.11"
INSTALLS = {  # ways to install the requirements: (lines before the code, the same after it)
    "shell form": "COPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\n",
    "exec form": 'COPY requirements.txt ${LAMBDA_TASK_ROOT}/\nRUN ["pip", "install", "-r", "/var/task/requirements.txt"]\n',
    "relative WORKDIR": "WORKDIR /opt\nWORKDIR deps\nCOPY requirements.txt ./\nRUN pip3 install --requirement=requirements.txt\n"
                        "WORKDIR ${LAMBDA_TASK_ROOT}\n",
    "cd in the RUN": "COPY requirements.txt /tmp/req/\nRUN cd /tmp/req && python3.11 -m pip install -r requirements.txt\n",
    "renamed": "COPY [\"requirements.txt\", \"/tmp/pins.txt\"]\nRUN python -m pip install -r/tmp/pins.txt\n",
}
COPIES = {  # ways to copy the code
    "globs": "COPY *.py model.joblib ./\nCOPY labkit ./labkit/\n",
    "everything": "COPY . ${LAMBDA_TASK_ROOT}\n",
    "exec form": 'COPY ["app.py", "model.joblib", "/var/task/"]\nCOPY labkit/ /var/task/labkit/\n',
    "through a variable": "ENV CODE=/var/task\nCOPY app.py model.joblib $CODE/\nCOPY labkit $CODE/labkit\n",
}
STAGES = {  # ways to start from the Lambda base
    "plain": f"FROM {LAMBDA}\n",
    "named stage": f"FROM {LAMBDA} AS runtime\n",
    "an ARG": f"ARG BASE={LAMBDA}\nFROM ${{BASE}}\n",
    "through a stage": f"FROM python:3.11-slim AS tools\nRUN echo unused\nFROM {LAMBDA} AS base\nFROM base\n",
}


def dockerfile_run(tmp_path, text: str) -> Run:
    run = run_with(tmp_path)
    (run.ctx.folder / "Dockerfile").write_text(text)
    return run


@pytest.mark.parametrize("start", STAGES, ids=list(STAGES))
@pytest.mark.parametrize("install", INSTALLS, ids=list(INSTALLS))
@pytest.mark.parametrize("copy", COPIES, ids=list(COPIES))
def test_installing_before_copying_passes_in_every_spelling_docker_accepts(tmp_path, start, install, copy):
    run = dockerfile_run(tmp_path, STAGES[start] + INSTALLS[install] + COPIES[copy] + 'CMD ["app.handler"]\n')
    step3_image.from_base(run)
    step3_image.cache_friendly(run)


@pytest.mark.parametrize("install", INSTALLS, ids=list(INSTALLS))
@pytest.mark.parametrize("copy", COPIES, ids=list(COPIES))
def test_copying_the_code_first_fails_in_every_spelling(tmp_path, install, copy):
    with pytest.raises(CheckFailed, match="before the code"):
        step3_image.cache_friendly(dockerfile_run(tmp_path, BASE + COPIES[copy] + INSTALLS[install]))


@pytest.mark.parametrize("dockerfile, message", [
    ("COPY requirements.txt /tmp/\nRUN pip install -r requirements.txt\nCOPY . .\n", "requirements.txt the image"),
    ('COPY requirements.txt .\nRUN ["pip", "install", "-r", "${LAMBDA_TASK_ROOT}/requirements.txt"]\nCOPY . .\n',
     "requirements.txt the image"),
    ("COPY requirements.txt .\n# RUN pip install -r requirements.txt\nCOPY . .\n", "before the code"),
    ("COPY requirements.txt .\nRUN pip download -r requirements.txt\nCOPY . .\n", "before the code"),
], ids=["installs where it was not copied", "exec form has no variables", "commented out", "pip download"])
def test_an_install_that_docker_would_not_run_from_the_requirements_fails(tmp_path, dockerfile, message):
    with pytest.raises(CheckFailed, match=message):
        step3_image.cache_friendly(dockerfile_run(tmp_path, BASE + dockerfile))


@pytest.mark.parametrize("start", [f"FROM {LAMBDA} AS base\nFROM python:3.11\n", "FROM python:3.11\n",
                                   f"FROM {LAMBDA}\nFROM python:3.11-slim\nCOPY --from=0 /var/task /var/task\n"],
                         ids=["last stage elsewhere", "another base", "copied out of the base"])
def test_a_final_image_not_built_on_the_lambda_base_fails(tmp_path, start):
    with pytest.raises(CheckFailed, match="starts from python"):
        step3_image.from_base(dockerfile_run(tmp_path, start + "COPY . /var/task/\n"))


def build(platform: str, *tag: str, buildx: bool = True) -> list[str]:
    if not buildx:
        return ["build", "--platform", platform, *tag]
    return ["buildx", "build", "--platform", platform, *tag, "--provenance=false", "--load"]


@pytest.mark.parametrize("tag", [["--tag", TAG], [f"--tag={TAG}"], ["-t", TAG], [f"-t={TAG}"]],
                         ids=["--tag x", "--tag=x", "-t x", "-t=x"])
def test_any_spelling_of_the_tag_passes(tmp_path, tag):
    step3_image.command_shape(run_with(tmp_path, answers=each_way(lambda p, b: build(p, *tag, buildx=b))))


@pytest.mark.parametrize("wrong, message", [
    (lambda p, b: build("linux/amd64", "--tag", TAG, buildx=b), "linux/arm64"),
    (lambda p, b: build(p, "--tag", TAG + "x", buildx=b), "tag"),
    (lambda p, b: build(p, "--tag", TAG, buildx=False), "buildx"),
    (lambda p, b: build(p, "--tag", TAG, buildx=True), "buildx"),
    (lambda p, b: build(p, "--tag", TAG, buildx=b)[:-1], "--load"),
    (lambda p, b: build(p, "--tag", TAG, buildx=b) + ([] if b else ["--provenance=false"]), "does not know"),
], ids=["platform ignores the architecture", "a tag that only starts with the given one", "never buildx",
        "always buildx", "buildx without --load", "plain build with buildx's options"])
def test_a_wrong_branch_of_build_command_fails(tmp_path, wrong, message):
    with pytest.raises(CheckFailed, match=message):
        step3_image.command_shape(run_with(tmp_path, answers=each_way(wrong)))


def test_installing_unpinned_packages_instead_of_the_requirements_fails(tmp_path):
    dockerfile = "RUN pip install --no-cache-dir scikit-learn joblib\nCOPY app.py ${LAMBDA_TASK_ROOT}/\n"
    with pytest.raises(CheckFailed, match="requirements.txt"):
        step3_image.cache_friendly(run_with(tmp_path, dockerfile))


def test_the_reference_dockerfile_is_cache_friendly(tmp_path):
    run = run_with(tmp_path)
    (run.ctx.folder / "Dockerfile").write_text((config.REPO_ROOT / "lab_solution" / "Dockerfile").read_text())
    step3_image.cache_friendly(run)
