"""Settings: defaults, validation with one clear line, explicit overrides."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest

from labkit import config
from labkit.config import ConfigError


def test_defaults_target_the_local_stand_in():
    settings = config.load({})
    assert (settings.target, settings.code, settings.region) == ("local", "exercises", "us-east-1")
    assert settings.endpoint_url == "http://127.0.0.1:4566"
    assert dict(settings.tags) == {"lab": "serverless-iris"}
    assert settings.function_name == settings.repository == "serverless-iris"


def test_aws_target_has_no_endpoint_and_reads_the_region():
    settings = config.load({"LAB_TARGET": "AWS", "AWS_DEFAULT_REGION": "eu-west-1"})
    assert (settings.target, settings.endpoint_url, settings.region) == ("aws", None, "eu-west-1")


@pytest.mark.parametrize(
    "environ, says",
    [
        ({"LAB_TARGET": "azure"}, "LAB_TARGET='azure' is not one of: local, aws"),
        ({"LAB_TARGET": "aws", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}, "unset AWS_ENDPOINT_URL"),
        ({"LAB_CODE": "/no/such/folder"}, "neither exercises nor lab_solution"),
        ({"LAB_ARCH": "x86"}, "LAB_ARCH='x86'"),
        ({"LAB_MEMORY_MB": "64"}, "128-10240"),
        ({"LAB_TIMEOUT_S": "soon"}, "not a whole number"),
        ({"LAB_NAME": "Iris Lab"}, "lower-case"),
    ],
)
def test_bad_values_are_refused_with_the_variable_named(environ, says):
    with pytest.raises(ConfigError, match=says.replace("(", r"\(").replace(")", r"\)")):
        config.load(environ)


def test_explicit_overrides_win_over_the_environment(tmp_path):
    settings = config.load({"LAB_CODE": "exercises"}, code="lab_solution", build_dir=tmp_path)
    assert settings.code == "lab_solution" and settings.model_dir == tmp_path / "model"


def test_a_cli_mistake_is_one_line_not_a_traceback():
    done = subprocess.run([sys.executable, "-m", "lab_solution.train"], env={"LAB_TARGET": "moon", "PATH": ""},
                          capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.strip() == "error: LAB_TARGET='moon' is not one of: local, aws, gcp"


@pytest.mark.parametrize("lang, says", [("bn", "python -m checks: error: ধাপ 42 নেই; ধাপগুলো হলো 1, 2"),
                                        ("en", "python -m checks: error: no step 42; steps are 1, 2")])
def test_grader_usage_mistakes_exit_2_without_traceback_in_the_students_language(lang, says):
    done = subprocess.run([sys.executable, "-m", "checks", "42"], capture_output=True, text=True,
                          env={**os.environ, "LAB_LANG": lang})
    assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr


def test_a_relative_code_folder_is_taken_from_the_repository_root(tmp_path, monkeypatch):
    # given a submission two levels below the repository root, named relative to it
    submission = config.REPO_ROOT / "build" / "test-submissions" / "alice"
    submission.mkdir(parents=True, exist_ok=True)
    try:
        # when the name is read from the root (a terminal) and from notebooks/ (a kernel) and elsewhere
        seen = set()
        for cwd in (config.REPO_ROOT, config.REPO_ROOT / "notebooks", tmp_path):
            monkeypatch.chdir(cwd)
            seen.add(config.load({"LAB_CODE": "build/test-submissions/alice"}).code)
        # then it is one and the same folder, and its files are found there
        assert seen == {str(submission)}
        assert config.code_path(config.load({"LAB_CODE": str(submission)}), "Dockerfile") == submission / "Dockerfile"
    finally:
        submission.rmdir()


@pytest.mark.parametrize("lang, line", [(None, "TODO এখনো বাকি: exercises/train.py split()"),
                                        ("en", "TODO still open: exercises/train.py split()")],
                         ids=["Bengali by default", "English"])
def test_a_cli_with_an_open_todo_prints_it_in_one_line_in_the_students_language(tmp_path, lang, line):
    env = {"LAB_BUILD_DIR": str(tmp_path), "PATH": "", **({"LAB_LANG": lang} if lang else {})}
    done = subprocess.run([sys.executable, "-m", "exercises.train"], env=env, capture_output=True, text=True,
                          cwd=config.REPO_ROOT)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip() == f"error: {line}"


def test_the_endpoint_follows_the_stand_ins_port_unless_it_is_given():
    # given the port the stand-in was started on (make cloud-up reads LOCALCLOUD_PORT too)
    moved = {"LOCALCLOUD_PORT": "4599"}
    # then the lab, the doctor and the grader look for it there, unless LAB_ENDPOINT_URL names the endpoint
    assert config.load(moved).endpoint_url == "http://127.0.0.1:4599"
    assert config.load({**moved, "LAB_ENDPOINT_URL": "http://127.0.0.1:5000"}).endpoint_url == "http://127.0.0.1:5000"
    assert config.load({}).endpoint_url == "http://127.0.0.1:4566"
    assert config.load({**moved, "LAB_TARGET": "aws"}).endpoint_url is None
    # and a child process that reads the settings back finds the same endpoint
    assert config.load(config.load(moved).environment()).endpoint_url == "http://127.0.0.1:4599"


@pytest.mark.parametrize("port", ["0", "70000", "http"])
def test_a_port_that_is_not_one_is_refused_with_the_variable_named(port):
    with pytest.raises(ConfigError, match="LOCALCLOUD_PORT"):
        config.load({"LOCALCLOUD_PORT": port})


def test_the_code_is_named_as_a_student_names_it(tmp_path):
    inside = config.REPO_ROOT / "build" / "test-submissions" / "bob"
    inside.mkdir(parents=True, exist_ok=True)
    try:
        assert config.code_label(config.load({})) == "exercises"
        assert config.code_label(config.load({"LAB_CODE": "build/test-submissions/bob"})) == "build/test-submissions/bob"
        assert config.code_label(config.load({"LAB_CODE": str(tmp_path)})) == str(tmp_path)
    finally:
        inside.rmdir()


def non_default(tmp_path) -> dict[str, object]:
    """A valid value other than the default for every setting read from the environment."""
    return {"target": "aws", "code": str(tmp_path), "region": "eu-west-1", "endpoint_url": "http://127.0.0.1:4599",
            "name": "iris-lab", "architecture": "arm64", "memory_mb": 2048, "timeout_s": 60,
            "build_dir": tmp_path / "build", "docker": "off", "gcp_project": "my-project-1", "gcp_region": "europe-west1",
            "lang": "en"}


def test_every_setting_but_the_lab_tag_round_trips_through_the_environment(tmp_path):
    values = non_default(tmp_path)
    assert set(values) == {f.name for f in dataclasses.fields(config.Settings)} - {"tags"}
    for name, value in values.items():
        # given settings that differ from the defaults in one value
        settings = config.Settings(**({"target": "aws", "endpoint_url": None} if name == "target" else {name: value}))
        # when a child process reads them back from the environment they render
        # then it has the same settings
        assert config.load(settings.environment()) == settings, name


@pytest.mark.parametrize("target", ["local", "aws", "gcp"])
def test_settings_read_back_from_their_own_environment_are_the_same(target, tmp_path):
    environ = {"LAB_TARGET": target, "LAB_CODE": "lab_solution", "AWS_REGION": "ap-south-1", "LAB_NAME": "iris-two",
               "LAB_ARCH": "arm64", "LAB_MEMORY_MB": "512", "LAB_TIMEOUT_S": "5", "LAB_BUILD_DIR": str(tmp_path),
               "LAB_DOCKER": "off", "GOOGLE_CLOUD_PROJECT": "course-project-7", "LAB_ENDPOINT_URL": "http://127.0.0.1:4600"}
    settings = config.load(environ, code=str(tmp_path))
    assert config.load(settings.environment()) == settings
    assert config.load(settings.with_overrides(code="exercises").environment()).code == "exercises"
