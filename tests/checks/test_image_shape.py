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
