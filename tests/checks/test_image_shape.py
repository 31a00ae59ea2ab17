"""Step 3's Dockerfile and build_command() shape checks on equivalent spellings (no build, no Docker)."""

from __future__ import annotations

import pytest

from checks import Context, step3_image
from checks.framework import CheckFailed, Plan, Run
from labkit import config

TAG = "lab-grade/check:build-command"
BASE = "FROM public.ecr.aws/lambda/python:3.11\n"


def run_with(tmp_path, dockerfile: str = "", args: list[str] | None = None, other: list[str] | None = None) -> Run:
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    (code / "Dockerfile").write_text(BASE + dockerfile)
    settings = config.load({}, code=str(code), build_dir=tmp_path / "build")
    run = Run(Context(settings), Plan("calls", {"tag": TAG, "other_architecture": "arm64"}, {}))
    run.records = {"build_command": {"value": args or []}, "build_command_other_arch": {"value": other or []}}
    return run


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


def build(platform: str, *tag: str) -> list[str]:
    return ["buildx", "build", "--platform", platform, *tag, "--provenance=false", "--load"]


@pytest.mark.parametrize("tag", [["--tag", TAG], [f"--tag={TAG}"], ["-t", TAG], [f"-t={TAG}"]],
                         ids=["--tag x", "--tag=x", "-t x", "-t=x"])
def test_any_spelling_of_the_tag_passes(tmp_path, tag):
    step3_image.command_shape(run_with(tmp_path, args=build("linux/amd64", *tag), other=build("linux/arm64", *tag)))


def test_a_platform_that_ignores_the_architecture_fails(tmp_path):
    run = run_with(tmp_path, args=build("linux/amd64", "--tag", TAG), other=build("linux/amd64", "--tag", TAG))
    with pytest.raises(CheckFailed, match="linux/arm64"):
        step3_image.command_shape(run)


def test_a_tag_that_only_starts_with_the_given_one_fails(tmp_path):
    with pytest.raises(CheckFailed, match="tag"):
        step3_image.command_shape(run_with(tmp_path, args=build("linux/amd64", "--tag", TAG + "x"),
                                           other=build("linux/arm64", "--tag", TAG + "x")))


def test_installing_unpinned_packages_instead_of_the_requirements_fails(tmp_path):
    dockerfile = "RUN pip install --no-cache-dir scikit-learn joblib\nCOPY app.py ${LAMBDA_TASK_ROOT}/\n"
    with pytest.raises(CheckFailed, match="requirements.txt"):
        step3_image.cache_friendly(run_with(tmp_path, dockerfile))


def test_the_reference_dockerfile_is_cache_friendly(tmp_path):
    run = run_with(tmp_path)
    (run.ctx.folder / "Dockerfile").write_text((config.REPO_ROOT / "lab_solution" / "Dockerfile").read_text())
    step3_image.cache_friendly(run)
