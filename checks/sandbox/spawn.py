"""Run a submission's code in a sandbox and bring back what it did, as plain data.

The grader never runs student code in its own process and never forks itself (or a
Jupyter kernel). Each step's probe (:mod:`checks.probes`) runs:

- in a container when Docker is available (``docker``): a fresh interpreter, the submission mounted
  read-only, a tmpfs scratch, ``--network none`` unless the step needs the cloud, memory and pids
  limits, a non-root user, no capabilities;
- otherwise in a process (``process``), a fork of the grader's pre-imported fork server
  (:mod:`checks.sandbox.forkserver`), never of the grader: its own session, a throw-away
  user id when the grader runs as root (so it can write nothing but its scratch folder and
  signal no one), ``setrlimit`` limits on memory, CPU, processes, open files and file size.
  The report says the run was not in a container.

The observer stays here, in the grader's process: it asks the child one question at a time over
FIFOs (:mod:`checks.sandbox.protocol`, :mod:`checks.sandbox.questions`), keeps each answer as the
record of that question, and reads what the child's fds 1 and 2 printed from FIFOs of its own
(:mod:`checks.sandbox.channel`); afterwards it kills every process the child left and removes its
files (:mod:`checks.sandbox.reaper`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from labkit.bilingual import say
from labkit.config import REPO_ROOT

from . import confine, container, forkserver, protocol, questions, reaper, tunnel
from .channel import Outcome, converse, make_fifos
from .reaper import SCRATCH_PREFIX


def run_probe(probe: str, request: dict, files: dict[str, Path | bytes], *, timeout: float, network: bool,
              isolation: str = "process", environ: dict[str, str] | None = None, reach: int | None = None,
              sockets: dict[int, Path] | None = None) -> Outcome:
    """Run a probe of :mod:`checks.probes` over a read-only copy of ``files``: ask it the probe's questions
    (:mod:`checks.sandbox.questions`) and keep the answers as records.

    Args:
        probe: the probe's name (``train``, ``app``, ``calls``, ``service``).
        request: plain data the questions are made of (the grader's generated cases).
        files: name in the submission folder -> file to copy there, or its bytes (the submission, models).
        timeout: wall-clock budget of the whole probe.
        network: the step talks to the cloud (process mode only; a container gets ``--network none``).
        environ: extra environment for the child (e.g. the lab settings a cloud step needs).
        reach: with ``network``, the one port of the host's loopback the child needs (its stand-in's edge): a
            confined child then gets a network namespace of its own in which only ``127.0.0.1:reach`` leads
            anywhere (:mod:`checks.sandbox.tunnel`); None: the host's network, as the step needs (AWS).
        sockets: with ``reach``, more ports of the child's loopback, each leading to a unix socket of the
            grader's (``{port: path}``: a class's :class:`~checks.sandbox.dockergate.DockerGate`).
    """
    started = time.monotonic()
    reaper.remove_stale_scratch()
    scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
    try:
        submission = _copy_submission(files, scratch / "submission")
        driver = questions.driver(probe, request)
        if isolation == "docker":
            outcome = _run_container(scratch, submission, driver, timeout)
        else:
            outcome = _run_process(scratch, submission, driver, timeout, environ or {}, network, reach, sockets)
        if outcome.problem:
            words = outcome.last_words or _last_words(scratch / "child.log")
            outcome.problem += say(f"; its last words: {words}", f"; শেষ লাইন: {words}") if words else ""
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    outcome.elapsed_s = time.monotonic() - started
    return outcome


def _last_words(log: Path) -> str:
    """The last line the child wrote to its log before it could open the channel (e.g. a failed start)."""
    with contextlib.suppress(OSError), log.open("rb") as handle:
        handle.seek(max(0, log.stat().st_size - 2000))
        lines = [line for line in handle.read().decode("utf-8", "replace").splitlines() if line.strip()]
        return lines[-1].strip()[:200] if lines else ""
    return ""


def _copy_submission(files: dict[str, Path | bytes], folder: Path) -> Path:
    """A copy the child can read and not change; symbolic links and oversized files are refused."""
    folder.mkdir(parents=True)
    for name, source in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(source, bytes):
            target.write_bytes(source)
        elif source.is_symlink() or not source.is_file() or source.stat().st_size > confine.MAX_FILE_BYTES:
            continue  # the check that needs the file reports it missing
        else:
            shutil.copyfile(source, target)
        target.chmod(0o444)
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir():
            path.chmod(0o555)
    folder.parent.chmod(0o755)
    return folder


def child_environment(scratch: Path, extra: dict[str, str]) -> dict[str, str]:
    return {**forkserver.BASE_ENVIRONMENT, "HOME": str(scratch / "home"), "TMPDIR": str(scratch / "home"), **extra}


def _run_process(scratch: Path, submission: Path, driver, timeout: float, extra: dict, network: bool,
                 reach: int | None, sockets: dict[int, Path] | None) -> Outcome:
    uid, confined = confine.untrusted_uid(REPO_ROOT), confine.confinable()
    tunneled = network and reach is not None and confined and tunnel.available()
    server = forkserver.server(str(REPO_ROOT), tempfile.gettempdir())
    reaper.become_subreaper()
    adopters = {os.getpid(), server.pid} if server.own else {os.getpid()}  # a shared one adopts every grader's
    with server.lock:  # one child of this process at a time: every other process its own server adopts is this child's
        before = {pid for adopter in adopters for pid in reaper.children(adopter)}
        home = scratch / "home"
        home.mkdir()
        if uid is not None:
            os.chown(home, uid, uid)
        channel = make_fifos(scratch / "channel", uid)
        env = child_environment(scratch, {**extra, protocol.SUBMISSION: str(submission), protocol.CHANNEL: str(channel)})
        if "LAB_CODE" in extra:  # the folder the grader named is not the child's to see: its own copy is
            env["LAB_CODE"] = str(submission)
        request = {"program": protocol.BOOT.format(root=str(REPO_ROOT)), "env": env, "cwd": str(home), "uid": uid, "timeout": timeout, "home": str(home),
                   "network": network and not tunneled, "confined": confined,
                   "visible": [str(p) for p in (home.parent, *confine.needed(REPO_ROOT))], "cover": [str(REPO_ROOT)]}
        with open(scratch / "child.log", "wb") as log:
            child = server.fork(request, log.fileno())
        inlet = tunnel.Tunnel(reach, sockets) if tunneled else contextlib.nullcontext()
        try:
            with inlet:
                if tunneled:
                    inlet.enter(child.pid)  # before the first question: no code of the submission has run yet
                outcome = converse(channel, child, timeout, driver)
        finally:
            reaper.kill_everything(child, uid, before, adopters)
            reaper.remove_leftovers(uid)
    network_kind = ", only its stand-in's port" if tunneled else "" if network else ", no network"
    outcome.isolation = "process" + (", a user of its own" if uid is not None else ", same user") + (
        ", read-only filesystem, no capabilities" + network_kind if confined else "")
    return outcome


def _run_container(scratch: Path, submission: Path, driver, timeout: float) -> Outcome:
    """The probe in a container of the grader's own sandbox image (:func:`.container.ensure_sandbox_image`)."""
    name = f"lab-grade-{secrets.token_hex(6)}"
    channel = make_fifos(scratch / "channel", container.SANDBOX_UID if os.geteuid() == 0 else None)
    if os.geteuid() != 0:  # the container's user is not this one: it may open the FIFOs in the unlisted folder
        channel.chmod(0o711)
        for fifo in channel.iterdir():
            fifo.chmod(0o666)
    command = ["docker", "run", "--rm", "--name", name, "--network", "none", "--read-only",
               "--tmpfs", "/scratch:rw,size=256m,uid=65534,gid=65534,mode=0700", "--memory", "2g", "--memory-swap", "2g",
               "--pids-limit", str(confine.MAX_PROCESSES), "--user", f"{container.SANDBOX_UID}:{container.SANDBOX_UID}",
               "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
               "-v", f"{REPO_ROOT / 'checks'}:/grader/checks:ro", "-v", f"{REPO_ROOT / 'labkit'}:/grader/labkit:ro",
               "-v", f"{submission}:/submission:ro", "-v", f"{channel}:/channel:ro", "--entrypoint", "/var/lang/bin/python"]
    env = child_environment(Path("/scratch"), {protocol.SUBMISSION: "/submission", protocol.CHANNEL: "/channel",
                                               "HOME": "/scratch", "TMPDIR": "/scratch"})
    command += [arg for key, value in env.items() for arg in ("--env", f"{key}={value}")]
    command += [container.SANDBOX_IMAGE, "-I", "-c", protocol.BOOT.format(root="/grader")]
    with open(scratch / "child.log", "wb") as log:
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, close_fds=True,
                                 start_new_session=True)
    try:
        outcome = converse(channel, child, timeout + 10, driver)  # container start-up is not the student's time
    finally:
        subprocess.run(["docker", "kill", name], capture_output=True, timeout=30)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(10)
    outcome.isolation = "docker"
    return outcome
