"""Step 3 is contained: the build follows no link, reports nothing but its own lines and has no route but to
the package index; the built image answers the emulator with no route at all."""

from __future__ import annotations

import secrets
import shutil
import socket
import threading
from pathlib import Path

import pytest

from checks import Context, run_steps
from checks.events import load_event
from checks.sandbox import build, container, indexproxy
from checks.sandbox.container import docker_available
from lab_solution import train
from labkit import config

REPO = config.REPO_ROOT
needs_docker = pytest.mark.skipif(not docker_available(), reason="no Docker engine")


def context_files(code: Path, model: Path) -> dict:
    lab = REPO
    files = {"Dockerfile": (code, code / "Dockerfile"), "app.py": (code, code / "app.py"),
             "requirements.txt": (lab, lab / "docker" / "requirements.txt"), "model.joblib": (model.parent, model),
             ".dockerignore": (lab, lab / "docker" / ".dockerignore")}
    return files | {f"labkit/{n}": (lab, lab / "labkit" / n) for n in ("__init__.py", "serving.py", "todo.py")}


@pytest.fixture
def submission(tmp_path):
    code = tmp_path / "code"
    shutil.copytree(REPO / "lab_solution", code, ignore=shutil.ignore_patterns("__pycache__"))
    return code


@pytest.mark.parametrize("how", ["a linked file", "a file in a linked folder"])
def test_a_linked_file_is_refused_by_its_name_and_never_read(tmp_path, submission, how):
    # given a requirements.txt that leads to a file of the grader's machine
    secret = tmp_path / "grader-secret.txt"
    secret.write_text("GRADER-SECRET\n")
    if how == "a linked file":
        (submission / "requirements.txt").symlink_to(secret)
        source = submission / "requirements.txt"
    else:
        (submission / "docker").symlink_to(tmp_path)
        source = submission / "docker" / "grader-secret.txt"
    files = context_files(submission, REPO / "docker" / "requirements.txt") | {"requirements.txt": (submission, source)}
    # when / then
    with pytest.raises(build.LinkRefused) as refused:
        build.stage(files, tmp_path / "context")
    assert refused.value.name == "requirements.txt"
    assert "GRADER-SECRET" not in "".join(p.read_text() for p in (tmp_path / "context").rglob("*") if p.is_file())


def test_a_failed_build_reports_its_failing_step_and_last_lines_only(tmp_path):
    context = tmp_path / "context"
    log = "\n".join(["Sending build context to Docker daemon  12kB", "Step 1/4 : FROM public.ecr.aws/lambda/python:3.11",
                     " ---> 975dc68fa1f6", "Step 2/4 : RUN cat /etc/hostname", " ---> Running in 1234",
                     "EARLIER-STEP-OUTPUT", "Removing intermediate container 1234", " ---> abcd",
                     "Step 3/4 : RUN pip install -r requirements.txt", " ---> Running in 5678",
                     *[f"line {n}" for n in range(8)], f"ERROR: cannot open {context}/requirements.txt",
                     f"while reading {REPO}/checks and {Path.home()}/.cache"])
    errors = ("DEPRECATED: The legacy builder is deprecated\n"
              "The command '/bin/sh -c pip install -r requirements.txt' returned a non-zero code: 1\n")
    told = build.failure(log, errors, context)
    assert told.startswith("RUN pip install -r requirements.txt failed: line 5 | line 6 | line 7")
    assert "returned a non-zero code: 1" in told and "DEPRECATED" not in told
    assert "EARLIER-STEP-OUTPUT" not in told and "line 2" not in told
    assert str(context) not in told and str(REPO) not in told and str(Path.home()) not in told
    assert "<context>/requirements.txt" in told


@pytest.mark.parametrize("asked", ["CONNECT example.com:443 HTTP/1.1", "CONNECT pypi.org:80 HTTP/1.1",
                                   "GET http://pypi.org/simple/ HTTP/1.1", "CONNECT 127.0.0.1:443 HTTP/1.1",
                                   "CONNECT localhost:443 HTTP/1.1"])
def test_the_build_proxy_opens_no_tunnel_but_to_the_index(tmp_path, asked):
    proxy = indexproxy.IndexProxy(tmp_path / "proxy.sock", hosts=frozenset({"pypi.org", "localhost"}))
    assert proxy._open(asked) is None  # localhost is named, but it is this machine


@pytest.mark.parametrize("address, is_local", [("127.0.0.1", True), ("::1", True), ("10.1.2.3", True),
                                               ("172.20.0.1", True), ("192.168.1.1", True),
                                               ("169.254.169.254", True), ("100.64.0.1", True),
                                               ("::ffff:127.0.0.1", True), ("203.0.113.80", False),
                                               ("151.101.0.223", False)])
def test_local_addresses_are_never_tunnelled_to(address, is_local):
    assert indexproxy.local(address) is is_local


@pytest.mark.docker
@pytest.mark.integration
@needs_docker
def test_a_build_reaches_the_package_index_and_no_service_of_this_machine(tmp_path, submission):
    # given a service on this machine's loopback, and a Dockerfile that tries it before installing from the index
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    reached: list = []
    threading.Thread(target=lambda: reached.append(listener.accept()), daemon=True).start()
    port = listener.getsockname()[1]
    nonce = secrets.token_hex(4)
    (submission / "Dockerfile").write_text(
        "FROM public.ecr.aws/lambda/python:3.11\n"
        f"RUN python -c \"import socket, sys; s = socket.socket(); s.settimeout(3); "
        f"sys.exit(1 if s.connect_ex(('127.0.0.1', {port})) == 0 else 0)\"\n"
        f"RUN echo {nonce} && pip download --no-deps --dest /tmp/wheels joblib==1.6.0\n")
    model = tmp_path / "model" / "model.joblib"
    train.train(model.parent)
    files = context_files(submission, model)
    tag = build.stage(files, tmp_path / "context")
    # when
    image, told = build.build(tmp_path / "context", tag + nonce, "linux/amd64", timeout=600)
    # then the index answered, the service was never reached
    assert image, told
    assert not reached


@pytest.mark.docker
@pytest.mark.integration
@needs_docker
def test_grading_a_linked_requirements_file_fails_the_build_check_naming_it(tmp_path, submission):
    secret = tmp_path / "grader-secret.txt"
    secret.write_text("scikit-learn==0.0\nGRADER-SECRET\n")
    (submission / "requirements.txt").symlink_to(secret)
    settings = config.load({}, code=str(submission), build_dir=tmp_path / "build")
    train.train(settings.model_dir)
    report = run_steps([3], Context(settings))
    [built] = [r for r in report.results if r.name == "the submission's Dockerfile builds"]
    assert not built.passed and "requirements.txt is a symbolic link" in built.message
    assert "GRADER-SECRET" not in report.summary()


@pytest.mark.docker
@pytest.mark.integration
@needs_docker
def test_the_handler_under_the_emulator_reaches_no_service_of_this_machine(tmp_path, submission):
    # given a service on this machine's loopback, and a handler that tries it when imported
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    reached: list = []
    threading.Thread(target=lambda: reached.append(listener.accept()), daemon=True).start()
    app = submission / "app.py"
    app.write_text(f"import socket as _s\n_s.socket().connect_ex(('127.0.0.1', {listener.getsockname()[1]}))\n"
                   + app.read_text().replace("from __future__ import annotations\n", ""))
    model = tmp_path / "model" / "model.joblib"
    train.train(model.parent)
    tag = build.stage(context_files(submission, model), tmp_path / "context")
    image, told = build.build(tmp_path / "context", tag, "linux/amd64", timeout=600)
    assert image, told
    # when
    with container.under_rie(image, 30) as invoke:
        answer = invoke(load_event(body=config.SETOSA))
    # then it answered, and nothing reached the service
    assert answer["statusCode"] == 200, answer
    assert not reached
