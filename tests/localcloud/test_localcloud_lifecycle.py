"""Lifecycle and races: restarts, updates, deletes, damaged state, and what they leave behind."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from botocore.exceptions import BotoCoreError

from localcloud import children, process, server
from localcloud.aws.ecr import images
from polling import wait_for

pytestmark = pytest.mark.integration
SLOW_FILES = 2000  # an image with this many files takes seconds to unpack: long enough to stop the stand-in meanwhile


def slow_folder(folder: Path, answer: str) -> Path:
    """A handler answering ``answer`` among SLOW_FILES small files."""
    (folder / "data").mkdir(parents=True)
    for index in range(SLOW_FILES):
        (folder / "data" / f"f{index}").write_text("x")
    (folder / "app.py").write_text(f"def handler(event, context):\n    return {answer!r}\n")
    return folder


def test_a_preparation_cut_by_a_stop_resumes_on_start(own, tmp_path):
    # given: a function whose image is still being unpacked when the stand-in dies
    uri = own.cloud.push_folder(slow_folder(tmp_path / "slow", "ready"), "lc-tests", "slow").json()["imageUri"]
    state = own.cloud.home / "state" / "backends.pickle"
    saved = state.stat().st_mtime if state.exists() else 0
    own.lam.create_function(FunctionName="slow", PackageType="Image", Role=own.role, Code={"ImageUri": uri})
    wait_for(lambda: state.exists() and state.stat().st_mtime > saved, what="saving the Pending function")
    os.kill(own.cloud.pid, signal.SIGKILL)
    assert list((own.cloud.home / "images").glob("*.partial*")), "the image was ready before the stand-in died"
    own.restart()
    # when: it starts again
    wait_for(lambda: own.lam.get_function(FunctionName="slow")["Configuration"]["State"] != "Pending",
             what="leaving Pending")
    # then
    assert own.lam.get_function(FunctionName="slow")["Configuration"]["State"] == "Active"
    assert own.invoke("slow")[0] == "ready"
    assert not list((own.cloud.home / "images").glob("*.partial*"))


def test_a_preparation_cut_by_a_restart_resumes_on_start(own, tmp_path):
    # given: a function whose image is still being unpacked when the stand-in is restarted (SIGTERM, then up)
    uri = own.cloud.push_folder(slow_folder(tmp_path / "slow", "ready"), "lc-tests", "slow").json()["imageUri"]
    own.lam.create_function(FunctionName="slow", PackageType="Image", Role=own.role, Code={"ImageUri": uri})
    wait_for(lambda: list((own.cloud.home / "images").glob("*.partial*")), what="the unpacking starting")
    # when
    own.restart()
    # then: it is unpacked again and runs, and nothing unfinished is left
    configuration = own.settled("slow")
    assert (configuration["State"], configuration.get("StateReason")) == ("Active", None)
    assert own.invoke("slow")[0] == "ready"
    assert not list((own.cloud.home / "images").glob("*.partial*"))


def test_the_previous_code_serves_while_an_update_is_in_progress_and_after_it_failed(lab, tmp_path):
    if lab.mode != "host":
        pytest.skip("an image without /var/task files fails only in host mode")
    name = lab.function("echo")
    old_digest = lab.lam.get_function(FunctionName=name)["Configuration"]["CodeSha256"]
    # when: an update to an image that takes seconds to prepare
    slow = lab.cloud.push_folder(slow_folder(tmp_path / "slow", "new"), "lc-tests", f"new-{name}").json()["imageUri"]
    lab.lam.update_function_code(FunctionName=name, ImageUri=slow)
    during = lab.invoke(name)[0]
    status = lab.lam.get_function(FunctionName=name)["Configuration"]["LastUpdateStatus"]
    # then: the old code answered while InProgress, the new one once Successful
    assert status == "InProgress" and during["event"] == {}
    lab.wait_active(name)
    assert lab.invoke(name)[0] == "new"
    # when: an update to an image with nothing in /var/task
    (tmp_path / "empty").mkdir()
    empty = lab.cloud.push_folder(tmp_path / "empty", "lc-tests", f"empty-{name}").json()["imageUri"]
    lab.lam.update_function_code(FunctionName=name, ImageUri=empty)
    configuration = wait_for(lambda: (c := lab.lam.get_function(FunctionName=name)["Configuration"])[
        "LastUpdateStatus"] != "InProgress" and c, what="the update ending")
    # then: it failed, and the code before it still runs and is what GetFunction reports
    assert configuration["LastUpdateStatus"] == "Failed" and configuration["State"] == "Active"
    assert lab.invoke(name)[0] == "new"
    assert configuration["CodeSha256"] != old_digest
    assert lab.lam.get_function(FunctionName=name)["Code"]["ImageUri"] == slow


def test_functions_work_after_a_restart_on_another_port(own):
    name = own.function("echo")
    own.restart(port=process.free_port())
    assert own.invoke(name)[0]["event"] == {}
    assert own.lam.get_function(FunctionName=name)["Code"]["ImageUri"].startswith(own.host + "/")


def test_a_queued_event_runs_with_the_settings_of_when_it_runs(lab):
    name = lab.function("sandbox", Environment={"Variables": {"GREETING": "old"}})
    lab.lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    busy = threading.Thread(target=lab.invoke, args=(name, {"sleep": 3}))
    busy.start()
    wait_for(lambda: lab.counters(name).get("busy"), what="the first call running")
    # when: an event queued (throttled) before an update
    lab.lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({}))
    lab.lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"GREETING": "new"}})
    lab.wait_active(name)
    busy.join(30)
    # then
    messages = wait_for(lambda: [event["message"] for event in lab.logs.filter_log_events(
        logGroupName=f"/aws/lambda/{name}")["events"] if event["message"].startswith("greeting=")][1:],
                        what="the event's log line")
    assert [message.strip() for message in messages] == ["greeting=new"]


def test_a_deleted_function_does_not_come_back_in_status(lab):
    name = lab.function("sandbox")
    call = threading.Thread(target=lab.invoke, args=(name, {"sleep": 2}))
    call.start()
    wait_for(lambda: lab.counters(name).get("busy"), what="the call running")
    lab.lam.delete_function(FunctionName=name)
    call.join(30)
    time.sleep(0.5)
    assert name not in lab.status()["functions"]


def test_down_after_a_crash_leaves_no_runtime_process(own):
    name = own.function("sandbox", Timeout=300)
    def call():
        with contextlib.suppress(BotoCoreError):  # the stand-in dies under it
            own.invoke(name, {"sleep": 120})
    threading.Thread(target=call, daemon=True).start()
    def runtimes_started() -> list[int]:  # the runtime under this stand-in's environment (its RIE's child)
        environments = own.counters(name).get("environments") or [{}]
        pid = environments[0].get("pid")
        return [child for child in children.children_of(pid) if _is_runtime(child)] if pid else []

    runtimes = wait_for(runtimes_started, what="the runtime starting")
    time.sleep(2)  # past its init (a runtime killed there exits by itself): it now sleeps in the handler
    # when: the stand-in is killed, then `down`
    os.kill(own.cloud.pid, signal.SIGKILL)
    process.stop(own.cloud.home)
    # then
    wait_for(lambda: not any(_is_runtime(pid) for pid in runtimes), timeout=10, what="the runtime ending")


def test_deleted_images_and_functions_leave_nothing_behind_after_a_restart(own, tmp_path):
    # given: an image with a layer of its own, deleted; and a function, deleted
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "app.py").write_text(f"# {uuid.uuid4()}\ndef handler(event, context):\n    return 1\n")
    own.cloud.push_folder(tmp_path / "code", "lc-tests", "doomed")
    manifest = requests.get(f"{own.endpoint}/v2/lc-tests/manifests/doomed",
                            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"}).json()
    layer = manifest["layers"][0]["digest"].split(":")[1]
    blob = own.cloud.home / "registry" / "docker" / "registry" / "v2" / "blobs" / "sha256" / layer[:2] / layer
    name = own.function("echo")
    digest = own.lam.get_function(FunctionName=name)["Configuration"]["CodeSha256"]
    extracted = own.cloud.home / "images" / f"sha256-{digest}"
    assert blob.exists() and extracted.exists()
    own.ecr.batch_delete_image(repositoryName="lc-tests", imageIds=[{"imageTag": "doomed"}])
    own.lam.delete_function(FunctionName=name)
    # when
    own.restart()
    # then
    assert not blob.exists() and not extracted.exists()


def _is_runtime(pid: int) -> bool:
    """``python -m awslambdaric ...`` (not the RIE, whose arguments name it too)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"python" in argv[0] and argv[1:3] == [b"-m", b"awslambdaric"]



def up(home: Path, port: int) -> subprocess.CompletedProcess:
    """`python -m localcloud up` on ``home`` (host mode), as a student runs it."""
    return subprocess.run([sys.executable, "-m", "localcloud", "up", "--home", str(home), "--port", str(port),
                           "--mode", "host"], capture_output=True, text=True, timeout=120)


def test_a_damaged_state_stops_up_with_one_line_and_every_backup_survives(own):
    home, port, state = own.cloud.home, own.cloud.port, own.cloud.home / "state" / "backends.pickle"
    damages = [b"first damage", b"second damage"]
    try:
        for damage in damages:
            # given: a saved repository, then the state file damaged while the stand-in is down
            own.ecr.create_repository(repositoryName=damage.decode().replace(" ", "-"))
            process.stop(home)
            state.write_bytes(damage)
            # when
            refused = up(home, port)
            # then: `up` stops, in one line saying where the state is kept, and starts nothing
            assert refused.returncode == 1 and "ready" not in refused.stdout
            line = refused.stderr.strip()
            assert len(line.splitlines()) == 1 and "could not be restored" in line
            kept = Path(line.split("kept in ", 1)[1].split(". ", 1)[0])
            assert kept.read_bytes() == damage
            assert process.current(home) is None
            # when: up again, by choice
            assert up(home, port).returncode == 0
        # then: it started empty, and both damaged files are still there, each as it was
        assert sorted(path.read_bytes() for path in state.parent.glob("*.broken")) == sorted(damages)
    finally:
        process.stop(home)


def test_uploads_cut_by_a_killed_stand_in_are_removed_at_start(own):
    # given: a blob upload begun and left unfinished, and a host image upload half sent, when the stand-in dies
    start = requests.post(f"{own.endpoint}/v2/lc-tests/blobs/uploads/", timeout=10)
    assert start.status_code == 202, start.text
    location = start.headers["Location"]
    patched = requests.patch(location if location.startswith("http") else own.endpoint + location,
                             data=b"x" * 1024 * 1024, headers={"Content-Type": "application/octet-stream"}, timeout=30)
    assert patched.status_code == 202, patched.text
    uploads = own.cloud.home / "registry" / "docker" / "registry" / "v2" / "repositories" / "lc-tests" / "_uploads"
    assert list(uploads.iterdir())
    (own.cloud.home / "uploads" / "cut").mkdir(parents=True)
    os.kill(own.cloud.pid, signal.SIGKILL)
    # when
    own.restart()
    # then: nothing unfinished is left, and pushes still work
    assert list(uploads.iterdir()) == [] and list((own.cloud.home / "uploads").iterdir()) == []
    assert own.image("echo", tag="after")


class SlowBlobs:
    """A registry for extract_task_root whose one layer (many small files under /var/task) arrives slowly."""

    def __init__(self, layer: bytes):
        self.layer = layer

    def blob(self, repository: str, digest: str):
        data = io.BytesIO(self.layer)

        class Slow:
            @staticmethod
            def read(size: int = -1) -> bytes:
                time.sleep(0.0005)
                return data.read(min(size, 4096) if size > 0 else 4096)

            @staticmethod
            def release_conn() -> None:
                pass
        return Slow()


def test_two_extractions_of_one_image_at_once_both_finish_whole(tmp_path):
    # given: an image whose /var/task takes a while to unpack, twice at once (two stand-ins on one home in the
    # moments one stops and the next starts, or any caller that does not wait for the other)
    stream = io.BytesIO()
    with tarfile.open(fileobj=stream, mode="w") as tar:
        for folder in ("var", "var/task", "var/task/data"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for index in range(400):
            data = b"x" * 100
            info = tarfile.TarInfo(f"var/task/data/f{index}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    registry = SlowBlobs(stream.getvalue())
    manifest = {"layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar", "digest": "sha256:" + "0" * 64}]}
    errors, roots = [], []

    def extract():
        try:
            roots.append(images.extract_task_root(registry, "r", manifest, tmp_path / "sha256-0"))
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=extract) for _ in range(2)]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join(60)
    # then
    assert errors == []
    assert all(len(list((root / "data").iterdir())) == 400 for root in roots)
    assert [path.name for path in tmp_path.iterdir()] == ["sha256-0"]


def test_the_home_stays_locked_until_the_process_that_claimed_it_exits(tmp_path):
    # given: a process that claims a home, then drops everything it built around it (as a stopping stand-in does)
    script = ("import gc, sys, time\nfrom pathlib import Path\nfrom localcloud import server\n"
              "server.claim_home(Path(sys.argv[1]))\ngc.collect()\nprint('claimed', flush=True)\ntime.sleep(60)\n")
    child = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "home")], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "claimed"
        # then: no other stand-in can claim it while that process lives
        with pytest.raises(server.Prerequisite, match="another stand-in already runs"):
            server.claim_home(tmp_path / "home")
    finally:
        child.kill()
        child.wait()
