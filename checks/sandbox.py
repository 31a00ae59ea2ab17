"""Run a submission's code in a sandbox and bring back what it did, as plain data.

The grader never runs student code in its own process and never forks itself (or a
Jupyter kernel). Each step's probe (:mod:`checks.probe`) runs in a freshly spawned
interpreter:

- in a container when Docker is available (``docker``): the submission mounted read-only,
  a tmpfs scratch, ``--network none`` unless the step needs the cloud, memory and pids
  limits, a non-root user, no capabilities;
- otherwise in a process (``process``): its own session and process group, a throw-away
  user id when the grader runs as root (so it can write nothing but its scratch folder and
  signal no one), ``setrlimit`` limits on memory, CPU, processes, open files and file size,
  fds 1 and 2 pointing at a log file. The report says the run was not in a container.

The child sends observations as JSON lines on its original stdout; the grader reads at
most :data:`MAX_CHANNEL_BYTES` before a deadline, rejects anything that is not a known,
unique record, and afterwards kills every process the child left and removes its files.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import os
import resource
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import confine

REPO_ROOT = Path(__file__).resolve().parent.parent
MAX_CHANNEL_BYTES = 4_000_000  # observations of one step; anything beyond is refused
MAX_RECORD_BYTES = 1_000_000
MEMORY_BYTES = 3 * 1024**3  # address space: NumPy + scikit-learn need ~1 GB of it
MAX_PROCESSES = 64
MAX_FILE_BYTES = 64 * 1024**2
SANDBOX_IMAGE = "serverless-iris-grader-sandbox:1"
UNTRUSTED_UIDS = (200_000, 2_000_000_000)  # a fresh, unused user id per run (root only)
SCRATCH_PREFIX = "lab-grade-"
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h
BOOT = "import sys; sys.path.insert(0, {root!r}); from checks.probes import main; main()"


@dataclass
class Outcome:
    """What came back from one sandboxed probe."""

    records: dict[str, object] = field(default_factory=dict)
    finished: bool = False  # the probe reached its end
    problem: str = ""  # why it did not: a timeout, a crash, a refused record
    tampered: bool = False  # something other than the probe wrote to the grading channel
    nonce: str = ""
    isolation: str = "process"
    elapsed_s: float = 0.0


def docker_available() -> bool:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        return subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True,
                              timeout=10).returncode == 0
    return False


def run_probe(probe: str, request: dict, files: dict[str, Path | bytes], *, timeout: float, network: bool,
              isolation: str = "process", environ: dict[str, str] | None = None) -> Outcome:
    """Run ``checks.probe`` for one step over a read-only copy of ``files`` and collect its records.

    Args:
        probe: the probe's name (``train``, ``app``, ...).
        request: plain data the probe needs (the grader's generated cases).
        files: name in the submission folder -> file to copy there, or its bytes (the submission, models).
        timeout: wall-clock budget of the whole probe.
        network: the step talks to the cloud (process mode only; a container gets ``--network none``).
        environ: extra environment for the child (e.g. the lab settings a cloud step needs).
    """
    started = time.monotonic()
    _remove_stale_scratch()
    scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
    try:
        submission = _copy_submission(files, scratch / "submission")
        nonce = secrets.token_hex(16)  # only the probe's own last record carries it
        message = json.dumps({"probe": probe, "request": request, "nonce": nonce}).encode()
        if isolation == "docker":
            outcome = _run_container(scratch, submission, message, timeout, nonce)
        else:
            outcome = _run_process(scratch, submission, message, timeout, environ or {}, network, nonce)
        if outcome.problem:
            outcome.problem += _last_words(scratch / "child.log")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    outcome.elapsed_s = time.monotonic() - started
    return outcome


def _remove_stale_scratch() -> None:
    """Scratch folders of graders that were killed before they could remove them (named after their pid)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*-*"):
        pid = folder.name[len(SCRATCH_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)


def _last_words(log: Path) -> str:
    """The last line the child wrote to its log (e.g. the exception that stopped it), for the message."""
    with contextlib.suppress(OSError), log.open("rb") as handle:
        handle.seek(max(0, log.stat().st_size - 2000))
        lines = [line for line in handle.read().decode("utf-8", "replace").splitlines() if line.strip()]
        return f"; its last words: {lines[-1].strip()[:200]}" if lines else ""
    return ""


def _copy_submission(files: dict[str, Path | bytes], folder: Path) -> Path:
    """A copy the child can read and not change; symbolic links and oversized files are refused."""
    folder.mkdir(parents=True)
    for name, source in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(source, bytes):
            target.write_bytes(source)
        elif source.is_symlink() or not source.is_file() or source.stat().st_size > MAX_FILE_BYTES:
            continue  # the check that needs the file reports it missing
        else:
            shutil.copyfile(source, target)
        target.chmod(0o444)
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir():
            path.chmod(0o555)
    folder.parent.chmod(0o755)
    return folder


def _child_environment(scratch: Path, extra: dict[str, str]) -> dict[str, str]:
    return {"PATH": os.defpath, "HOME": str(scratch / "home"), "TMPDIR": str(scratch / "home"),
            "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", **extra}


def _run_process(scratch: Path, submission: Path, message: bytes, timeout: float, extra: dict,
                 network: bool, nonce: str) -> Outcome:
    uid, confined = _untrusted_uid(), _confinable()
    _become_subreaper()
    before = set(_children())
    home = scratch / "home"
    home.mkdir()
    if uid is not None:
        os.chown(home, uid, uid)
    env = _child_environment(scratch, {"LAB_SUBMISSION": str(submission), **extra})
    read_end, write_end = os.pipe()
    with open(scratch / "child.log", "wb") as log:
        child = subprocess.Popen(
            [sys.executable, "-I", "-c", BOOT.format(root=str(REPO_ROOT))], stdin=subprocess.PIPE, stdout=write_end,
            stderr=log, cwd=home, env=env, start_new_session=True, close_fds=True,
            preexec_fn=lambda: _limit(uid, timeout, home, network, confined))
    os.close(write_end)
    try:
        _send(child, message)
        outcome = _collect(read_end, child, timeout, nonce)
    finally:
        os.close(read_end)
        _kill_everything(child, uid, before)
        _remove_leftovers(uid)
    outcome.isolation = "process" + (f", user {uid}" if uid is not None else ", same user") + (
        ", read-only filesystem, no capabilities" + ("" if network else ", no network") if confined else "")
    return outcome


def _untrusted_uid() -> int | None:
    """A user id nobody uses, so that its processes and files are exactly the child's.

    Only when the grader runs as root, and only when that user can run this interpreter and read
    the lab (an interpreter under a private home, e.g. /root/.pyenv, cannot be): None otherwise.
    """
    if os.geteuid() != 0 or not _interpreter_shared():
        return None
    return UNTRUSTED_UIDS[0] + secrets.randbelow(UNTRUSTED_UIDS[1] - UNTRUSTED_UIDS[0])


@functools.cache
def _confinable() -> bool:
    """Whether this system lets the grader confine a child (:mod:`checks.confine`); tried once."""
    with tempfile.TemporaryDirectory(prefix="lab-grade-probe-") as folder:
        Path(folder).chmod(0o755)
        return confine.works(sys.executable, Path(folder))


@functools.cache
def _interpreter_shared() -> bool:
    uid = UNTRUSTED_UIDS[0] - 1

    def drop():
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)

    probe = f"import sys; sys.path.insert(0, {str(REPO_ROOT)!r}); import numpy, labkit.todo, checks.probes"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        return subprocess.run([sys.executable, "-I", "-c", probe], cwd="/", preexec_fn=drop, capture_output=True,
                              timeout=60).returncode == 0
    return False


def _become_subreaper() -> None:
    """Orphans of the child (even ones that left its session) become the grader's children, to be killed."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _limit(uid: int | None, timeout: float, home: Path, network: bool, confined: bool) -> None:
    """In the child, before Python starts: resource limits, confinement, then drop to the untrusted user."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (int(timeout) + 5, int(timeout) + 10))
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if confined and not confine.confine(home, network, drop=uid is None):
        raise OSError("could not confine the sandbox process")
    if uid is not None:  # RLIMIT_NPROC counts the processes of the real user id; root ignores it
        resource.setrlimit(resource.RLIMIT_NPROC, (MAX_PROCESSES, MAX_PROCESSES))
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)


def _send(child: subprocess.Popen, message: bytes) -> None:
    with contextlib.suppress(BrokenPipeError, OSError):
        child.stdin.write(message)
    with contextlib.suppress(BrokenPipeError, OSError):
        child.stdin.close()


def _collect(read_end: int, child: subprocess.Popen, timeout: float, nonce: str) -> Outcome:
    """Read JSON lines until the probe's last record, its exit, the size limit or the deadline."""
    outcome, buffer, total = Outcome(nonce=nonce), b"", 0
    deadline = time.monotonic() + timeout
    exited_at = None
    while not outcome.finished and not outcome.problem:
        now = time.monotonic()
        if now > deadline:
            outcome.problem = f"timed out after {timeout:.0f} s"
            break
        if exited_at is None and child.poll() is not None:
            exited_at = now
        if exited_at is not None and now - exited_at > 1.0:  # a stray process may still hold the pipe
            break
        ready, _, _ = select.select([read_end], [], [], min(0.2, max(deadline - now, 0)))
        if not ready:
            continue
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        total += len(chunk)
        if total > MAX_CHANNEL_BYTES:
            outcome.problem = f"the code under test sent more than {MAX_CHANNEL_BYTES:,} bytes of observations"
            break
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            _accept(outcome, line)
    if not outcome.finished and not outcome.problem:
        code = child.poll()
        outcome.problem = ("the code under test ended the grading process" +
                           (f" (exit code {code})" if code is not None else ""))
    return outcome


def _accept(outcome: Outcome, line: bytes) -> None:
    """One record: ``{"key": str, "value": ...}``; a repeated key means something forged records."""
    if outcome.problem or not line.strip():
        return
    try:
        record = json.loads(line) if len(line) <= MAX_RECORD_BYTES else None
    except ValueError:
        record = None
    if not (isinstance(record, dict) and set(record) == {"key", "value"} and isinstance(record["key"], str)):
        outcome.problem, outcome.tampered = "the grading channel received something that is not an observation", True
    elif record["key"] in outcome.records or (record["key"] == "done" and record["value"] != outcome.nonce):
        outcome.problem = f"observation {record['key']!r} was forged: the code under test wrote to the grading channel"
        outcome.tampered = True
    elif record["key"] == "done":
        outcome.finished = True
    else:
        outcome.records[record["key"]] = record["value"]


def _kill_everything(child: subprocess.Popen, uid: int | None, before: set[int]) -> None:
    """The child's session, every process of its user id (only this run uses it) and orphans we adopted."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)
    killed = set()
    for _ in range(100):
        left = [p for p in _processes(child.pid, uid, before) if p != child.pid]
        if not left:
            break
        for pid in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        killed |= set(left)
        _reap(killed)
        time.sleep(0.02)
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.wait(5)
    _reap(killed)


def _reap(pids: set[int]) -> None:
    for pid in list(pids):
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)


def _children() -> list[int]:
    return [pid for pid, parent in _table() if parent == os.getpid()]


def _table() -> list[tuple[int, int]]:
    """(pid, parent pid) of every live process."""
    rows = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if fields[0] != "Z":
                    rows.append((int(entry.name), int(fields[1])))
    return rows


def _processes(session: int, uid: int | None, before: set[int]) -> list[int]:
    """Live processes in the child's session, owned by its user id, or orphans the grader adopted."""
    found, me = [], os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if fields[0] == "Z":
                continue
            owner = entry.stat().st_uid
            if int(fields[3]) == session or (uid is not None and owner == uid) or (
                    int(fields[1]) == me and int(entry.name) not in before):
                found.append(int(entry.name))
    return found


def _remove_leftovers(uid: int | None) -> None:
    """Files and folders the untrusted user left in the shared temporary folders."""
    if uid is None:
        return
    for folder in {Path(tempfile.gettempdir()), Path("/tmp"), Path("/var/tmp"), Path("/dev/shm")}:
        with contextlib.suppress(OSError):
            for entry in folder.iterdir():
                with contextlib.suppress(OSError):
                    if entry.lstat().st_uid == uid:
                        shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()


def _run_container(scratch: Path, submission: Path, message: bytes, timeout: float, nonce: str) -> Outcome:
    """The same probe in a container of the grader's own sandbox image (``ensure_sandbox_image``)."""
    name = f"lab-grade-{secrets.token_hex(6)}"
    command = ["docker", "run", "--rm", "-i", "--name", name, "--network", "none", "--read-only",
               "--tmpfs", "/scratch:rw,size=256m,uid=65534,gid=65534,mode=0700", "--memory", "2g", "--memory-swap", "2g",
               "--pids-limit", str(MAX_PROCESSES), "--user", "65534:65534", "--cap-drop", "ALL",
               "--security-opt", "no-new-privileges",
               "-v", f"{REPO_ROOT / 'checks'}:/grader/checks:ro", "-v", f"{REPO_ROOT / 'labkit'}:/grader/labkit:ro",
               "-v", f"{submission}:/submission:ro", "--entrypoint", "/var/lang/bin/python"]
    env = _child_environment(Path("/scratch"), {"LAB_SUBMISSION": "/submission", "HOME": "/scratch",
                                                "TMPDIR": "/scratch"})
    command += [arg for key, value in env.items() for arg in ("--env", f"{key}={value}")]
    command += [SANDBOX_IMAGE, "-I", "-c", BOOT.format(root="/grader")]
    read_end, write_end = os.pipe()
    with open(scratch / "child.log", "wb") as log:
        child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=write_end, stderr=log, close_fds=True,
                                 start_new_session=True)
    os.close(write_end)
    try:
        _send(child, message)
        outcome = _collect(read_end, child, timeout + 10, nonce)  # container start-up is not the student's time
    finally:
        os.close(read_end)
        subprocess.run(["docker", "kill", name], capture_output=True, timeout=30)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(10)
    outcome.isolation = "docker"
    return outcome


def ensure_sandbox_image() -> bool:
    """Build the grader's sandbox image (the Lambda base + the image's pinned packages) once."""
    if subprocess.run(["docker", "image", "inspect", SANDBOX_IMAGE], capture_output=True).returncode == 0:
        return True
    with tempfile.TemporaryDirectory(prefix="lab-grade-image-") as context:
        shutil.copy(REPO_ROOT / "docker" / "requirements.txt", Path(context) / "requirements.txt")
        (Path(context) / "Dockerfile").write_text(
            "FROM public.ecr.aws/lambda/python:3.11\nCOPY requirements.txt /tmp/\n"
            "RUN pip install --no-cache-dir -r /tmp/requirements.txt\n")
        done = subprocess.run(["docker", "build", "--network", "host", "--tag", SANDBOX_IMAGE, context],
                              capture_output=True, timeout=900)
    return done.returncode == 0
