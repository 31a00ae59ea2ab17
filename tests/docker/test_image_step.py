"""Step 3 for real: the seed Dockerfile builds on the Lambda base, runs under the RIE, and the
same code runs in host mode from the staged folder when there is no Docker engine."""

from __future__ import annotations

import json

import pytest

from checks import Context, run_steps
from checks.events import load_event
from lab_solution import image, train
from labkit import config, images
from labkit.config import SETOSA
from labkit.experiments import init_profile, numpy_variant, onnx_variant

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    build = tmp_path_factory.mktemp("build")
    settings = config.load({}, code="lab_solution", build_dir=build, name="iris-image-test")
    train.train(settings.model_dir)
    return settings


def answers(local) -> tuple[dict, dict]:
    good, _ = local.invoke(load_event(body=SETOSA))
    bad, _ = local.invoke(load_event(raw_body="{oops"))
    return good, bad


@pytest.mark.docker
def test_image_builds_runs_and_reports_init(settings, lambda_base, docker_cli):
    # given
    context = images.stage(settings, config.code_dir(settings))
    # when
    info = image.build(settings, context, "iris-image-test:latest")
    try:
        with images.run_local(settings, info.tag) as local:
            good, bad = answers(local)
            durations = local.durations()
        init = init_profile.profile(settings, info.tag, runs=1)
    finally:
        docker_cli("image", "rm", "--force", info.tag, check=False)
    # then
    assert info.architecture == "amd64" and 100e6 < info.size_bytes < 1024e6
    assert good["statusCode"] == 200 and json.loads(good["body"])["prediction"] == "setosa"
    assert bad["statusCode"] == 400
    assert len(durations["init_ms"]) == 1 and durations["init_ms"][0] > 0
    assert all(init.rows[row] > 0 for row in ("NumPy", "SciPy", "scikit-learn", init_profile.HANDLER_ROW))


def test_host_mode_runs_the_staged_folder(settings):
    # given: no Docker for the lab
    host = settings.with_overrides(docker="off")
    context = images.stage(host, config.code_dir(host))
    # when
    assert not images.uses_docker(host)
    with images.run_local(host, context) as local:
        good, bad = answers(local)
    init = init_profile.profile(host, context, runs=1)
    # then
    assert json.loads(good["body"])["cold_start"] is True and bad["statusCode"] == 400
    assert all(init.rows[row] > 0 for row in ("NumPy", "SciPy", "scikit-learn", init_profile.HANDLER_ROW))


def test_step_3_grades_in_host_mode_with_image_checks_skipped(settings):
    report = run_steps([3], Context(settings.with_overrides(docker="off")))
    assert report.passed, report.summary()
    # the image checks, and the emulator check: without an image it would run the handler outside any sandbox
    assert [r.mark for r in report.results].count("SKIP") == 4


@pytest.mark.docker
def test_step_3_fails_with_hints_on_the_untouched_exercises(settings, lambda_base):
    report = run_steps([3], Context(settings.with_overrides(code="exercises")))
    failed = [r for r in report.results if r.mark == "FAIL"]
    assert not report.passed and all(r.hint for r in failed)
    assert any("TODO still open: exercises/image.py build_command()" in r.message for r in failed)


@pytest.mark.docker
def test_the_onnx_image_serves_the_same_model_without_scikit_learn(settings, lambda_base, docker_cli):
    # given the exported model, staged with the same app.py
    onnx_variant.export(settings)
    context = onnx_variant.stage(settings, config.code_path(settings, "app"))
    # when built and measured (measure() fails unless the image answers 200 with the right species)
    try:
        variant = onnx_variant.measure(settings, "ONNX Runtime", context, "iris-image-test:onnx")
    finally:
        docker_cli("image", "rm", "--force", "iris-image-test:onnx", check=False)
    # then it imported ONNX Runtime and none of scikit-learn, SciPy or joblib
    assert variant.imports.rows["ONNX Runtime"] > 0 and variant.init_ms > 0
    assert variant.imports.rows["scikit-learn"] == variant.imports.rows["SciPy"] == variant.imports.rows["joblib"] == 0


@pytest.mark.docker
def test_the_numpy_image_serves_the_same_model_with_numpy_alone(settings, lambda_base, docker_cli):
    # given the exported numbers, staged with the same app.py
    numpy_variant.export(settings)
    context = numpy_variant.stage(settings, config.code_path(settings, "app"))
    # when built and measured (measure() fails unless the image answers 200 with the right species)
    try:
        variant = onnx_variant.measure(settings, "NumPy only", context, "iris-image-test:numpy")
    finally:
        docker_cli("image", "rm", "--force", "iris-image-test:numpy", check=False)
    # then it imported NumPy and nothing of scikit-learn, SciPy, joblib or ONNX Runtime
    rows = variant.imports.rows
    assert rows["NumPy"] > 0 and variant.init_ms > 0
    assert rows["scikit-learn"] == rows["SciPy"] == rows["joblib"] == rows["ONNX Runtime"] == 0
