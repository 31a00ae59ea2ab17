"""Step 9 end to end against the stand-in: lab_solution/cloudrun.py builds, pushes, deploys and calls the model."""

from __future__ import annotations

import pytest
import requests
from cloudrun_support import PROJECT, counters, run

from lab_solution import cloudrun as step
from lab_solution import train
from labkit import config, gcp
from labkit.config import SETOSA

pytestmark = [pytest.mark.docker, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def settings(cloud, tmp_path_factory):
    settings = config.load({"LAB_ENDPOINT_URL": cloud.endpoint, "GOOGLE_CLOUD_PROJECT": PROJECT,
                            "LAB_BUILD_DIR": str(tmp_path_factory.mktemp("build")), "LAB_NAME": "iris-step9"},
                           code="lab_solution")
    train.train(settings.model_dir)
    yield settings
    step.delete(settings)
    run("docker", "rmi", "--force", f"{settings.cloud_run_service}-cloudrun:latest", gcp.push_target(settings))


def test_publish_serves_the_model_with_the_lambda_handlers_answers(settings, cloud):
    # when
    service = step.publish(settings)
    status, body, _, cold = gcp.call(service.uri, SETOSA)
    mistake = requests.post(service.uri + "/predict", json={"sepal_length": 1}, timeout=30)
    # then
    assert (status, body["prediction"], body["version"]) == (200, "setosa", "v1")
    assert cold is True  # the instance's first request
    assert mistake.status_code == 400 and "missing: sepal_width" in mistake.json()["error"]
    assert service.template.containers[0].image.startswith(settings.cloud_run_image + "@sha256:")
    limits = service.template.containers[0].resources.limits
    assert (limits["memory"], limits["cpu"], service.template.scaling.max_instance_count) == ("1Gi", "1", 10)
    assert counters(cloud, service.name)["requests"] == 2


def test_publishing_again_rolls_out_a_new_revision(settings):
    first = step.publish(settings)
    second = step.publish(settings)
    assert second.generation == first.generation + 1
    assert second.latest_ready_revision != first.latest_ready_revision
    assert gcp.call(second.uri, SETOSA)[0] == 200


def test_a_gcr_io_image_path_is_served_by_the_same_registry(settings, cloud):
    # given the step's image pushed under Container Registry's name
    local = f"{settings.cloud_run_service}-cloudrun:latest"
    if run("docker", "images", "--quiet", local).strip() == "":
        gcp.build(settings, gcp.stage(settings, step.CODE_DIR))
    image = f"gcr.io/{PROJECT}/iris"
    pushed = f"{cloud.endpoint.removeprefix('http://')}/{image}:latest"
    run("docker", "tag", local, pushed)
    run("docker", "push", "--quiet", pushed)
    other = settings.with_overrides(name="iris-gcr")
    try:
        # when
        service = step.deploy(other, step.service_spec(other, f"{image}:latest"))
        gcp.allow_unauthenticated(other)
        # then
        assert gcp.call(service.uri, SETOSA)[1]["prediction"] == "setosa"
    finally:
        step.delete(other)
        run("docker", "rmi", "--force", pushed)


def test_delete_removes_the_service_and_says_so_when_there_is_none(settings):
    step.publish(settings)
    assert step.delete(settings) is True
    assert step.delete(settings) is False


def test_the_grader_passes_the_reference_and_names_the_open_todo_of_the_exercises(settings):
    from checks import Context, run_steps

    # given the image notebook 09 pushes
    step.publish(settings)
    # when / then
    reference = run_steps([9], Context(settings))
    assert reference.passed and reference.earned == reference.possible == 12, reference.summary()
    untouched = run_steps([9], Context(settings.with_overrides(code="exercises")))
    assert untouched.earned == 0 and "TODO still open: exercises/cloudrun.py deploy()" in untouched.summary("en")


def test_step_8s_cleanup_finds_and_deletes_the_cloud_run_service(settings):
    from checks import Context
    from checks.step8_cleanup import cloud_run_leftovers
    from lab_solution import cleanup
    from labkit import teardown

    # given step 9's service
    step.publish(settings)
    assert [r.kind for r in teardown.plan(settings)] == [teardown.CLOUD_RUN]
    assert cloud_run_leftovers(Context(settings), lambda tags: tags.get("lab") == "serverless-iris") == [
        f"Cloud Run service {settings.cloud_run_service}"]
    # when
    planned, left = cleanup.clean_up(settings)
    # then
    assert [r.kind for r in planned] == [teardown.CLOUD_RUN] and left == []
    assert step.delete(settings) is False
