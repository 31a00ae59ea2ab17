"""Sandboxed children as forks of one pre-imported interpreter, not fresh interpreters.

A fresh interpreter importing NumPy, scikit-learn and boto3 takes 1-2 s, and several times that on a
busy machine; grading one submission starts several children. The fork server is that interpreter,
started once per grader process (:func:`server`): a fresh ``python -I`` with the children's clean
environment, which imports the libraries of :data:`PRELOAD` (never a module of the grader's side, never
a secret: the grader's environment is not its environment) and then only forks. Each fork confines
itself exactly as a spawned child did (:func:`checks.sandbox.confine.restrict`), takes the environment,
folder and log the grader sent, and runs the program it sent (:data:`checks.sandbox.protocol.BOOT`).

The grader and the server share one unix socket of JSON lines: a request (the log's fd attached) is
answered by the child's pid; when a child the server forked ends, the server says so with its exit
code, as :class:`subprocess.Popen` would. The server is a child subreaper, so a child's orphans are
its own to reap (the grader kills them: :mod:`checks.sandbox.reaper`); when the grader's end of the socket
closes (the grader ended, however), the server kills every child it forked and ends.

Not :mod:`multiprocessing`'s forkserver: it starts with the grader's environment (readable in every
child's ``/proc/self/environ``) and re-imports the grader's ``__main__`` in every child.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time

PRELOAD = ("numpy", "scipy.stats", "sklearn.datasets", "sklearn.ensemble", "sklearn.linear_model",
           "sklearn.metrics", "sklearn.model_selection", "sklearn.pipeline", "sklearn.preprocessing",
           "sklearn.tree", "joblib", "boto3", "botocore.session", "requests", "fastapi", "starlette.testclient",
           "pydantic")  # third-party libraries only: none reads its environment when imported
BASE_ENVIRONMENT = {"PATH": os.defpath, "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                    "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}
MAX_MESSAGE = 1 << 16
PR_SET_CHILD_SUBREAPER = 36


class ServerGone(OSError):
    """The fork server ended (it is started again for the next child)."""


class Child:
    """A forked child as :class:`subprocess.Popen` shows one: ``pid``, ``poll()``, ``wait()``, ``returncode``."""

    def __init__(self, server: Server, pid: int):
        self.server, self.pid, self.returncode = server, pid, None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.server.exit_code(self.pid, 0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            self.returncode = self.server.exit_code(self.pid, 0.2 if left is None else min(0.2, left))
        return self.returncode


class Server:
    """The grader's end of one fork server."""

    def __init__(self, root: str, tmp: str):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        boot = f"import sys; sys.path.insert(0, {root!r}); from checks.sandbox import forkserver; forkserver.serve()"
        self.process = subprocess.Popen([sys.executable, "-I", "-c", boot],
                                        env={**BASE_ENVIRONMENT, "TMPDIR": tmp}, stdin=theirs, stdout=subprocess.DEVNULL,
                                        start_new_session=True, close_fds=True)
        theirs.close()
        self.socket, self.lock = ours, threading.RLock()
        self.lines = Lines(ours)
        self.codes: dict[int, int] = {}
        if self._receive(None) != {"ready": True}:
            raise ServerGone("the fork server did not start")

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def fork(self, request: dict, log_fd: int, timeout: float = 60) -> Child:
        """A child confined as ``request`` says (:func:`_child`), its fds 1 and 2 on ``log_fd``; returns once the
        child is confined, so that nothing the grader does next (e.g. :mod:`.tunnel`) races it. Raises OSError
        when it could not be (the child's log says why)."""
        ready, confined = os.pipe()
        with self.lock:
            try:
                try:
                    socket.send_fds(self.socket, [json.dumps(request).encode() + b"\n"], [log_fd, confined])
                except OSError as error:
                    raise ServerGone(f"the fork server is gone ({error})") from None
                finally:
                    os.close(confined)
                while "pid" not in (message := self._receive(None)):
                    if "error" in message:
                        raise OSError(message["error"])
                child = Child(self, message["pid"])
                if not select.select([ready], [], [], timeout)[0] or os.read(ready, 1) != b"1":
                    with contextlib.suppress(OSError):
                        os.kill(child.pid, signal.SIGKILL)
                    raise OSError("the sandboxed child could not be confined")
                return child
            finally:
                os.close(ready)

    def exit_code(self, pid: int, wait: float) -> int | None:
        """The child's exit code once the server reaped it (-N: killed by signal N), waiting up to ``wait`` s."""
        with self.lock:
            deadline = time.monotonic() + wait
            while pid not in self.codes:
                left = deadline - time.monotonic()
                if not self.lines.buffered() and not select.select([self.socket], [], [], max(0.0, left))[0]:
                    if left <= 0:
                        return None
                    continue
                self._receive(0)
            return self.codes.pop(pid)

    def _receive(self, timeout: float | None) -> dict:
        """The next message that is not an exit code (those are kept); {} when none came within ``timeout``."""
        while True:
            if timeout is not None and not self.lines.buffered() and not select.select([self.socket], [], [], timeout)[0]:
                return {}
            line, _ = self.lines.next()
            if line is None:
                raise ServerGone("the fork server is gone")
            message = json.loads(line)
            if "exit" not in message:
                return message
            self.codes[message["exit"]] = message["code"]
            if timeout is not None:
                return {}

    def close(self) -> None:
        self.socket.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)


class Lines:
    """JSON lines read from a stream socket, with the fds that came along."""

    def __init__(self, sock: socket.socket):
        self.socket, self.pending, self.fds = sock, b"", []

    def buffered(self) -> bool:
        return b"\n" in self.pending

    def next(self) -> tuple[bytes | None, list[int]]:
        """The next whole line and the fds received with it; (None, []) at end of stream."""
        while not self.buffered():
            data, fds, _, _ = socket.recv_fds(self.socket, MAX_MESSAGE, 4)
            self.fds += fds
            if not data:
                return None, []
            self.pending += data
        line, _, self.pending = self.pending.partition(b"\n")
        fds, self.fds = self.fds, []
        return line, fds


_servers: dict[tuple[int, str, str], Server] = {}


def server(root: str, tmp: str) -> Server:
    """This grader process's fork server for the lab at ``root`` (started on first use, again if it ended)."""
    key = (os.getpid(), root, tmp)
    running = _servers.get(key)
    if running is None or not running.alive():
        _servers[key] = running = Server(root, tmp)
    return running


# --- the server's side: runs in the fresh interpreter Server started ---------------------------------------------

def serve() -> None:
    """The fork server's loop (its program): fork a child per request, report each exit, end with the grader."""
    from . import confine  # noqa: F401 - imported once, here, for every child

    with contextlib.suppress(AttributeError):  # Linux only
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    control = socket.socket(fileno=os.dup(0))
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    os.set_blocking(wake_read, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    forked: set[int] = set()
    lines = Lines(control)
    _say(control, {"ready": True})
    while True:
        ready = [control] if lines.buffered() else select.select([control, wake_read], [], [])[0]
        if wake_read in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(wake_read, 4096)
            _report_exits(control, forked)
        if control in ready:
            line, fds = lines.next()
            if line is None:
                _end(forked)
            try:
                pid = os.fork() if len(fds) == 2 else -1
            except OSError as error:
                _say(control, {"error": f"fork: {error}"})
                pid = -1
            if pid == 0:
                _child(json.loads(line), *fds)
            for fd in fds:
                os.close(fd)
            if pid > 0:
                forked.add(pid)
                _say(control, {"pid": pid})
            elif len(fds) != 2:
                _say(control, {"error": "a request comes with two fds: its log, and where to say it is confined"})


def _report_exits(control: socket.socket, forked: set[int]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid in forked:  # an orphan the server adopted is reaped silently
            forked.discard(pid)
            _say(control, {"exit": pid, "code": os.waitstatus_to_exitcode(status)})


def _say(control: socket.socket, message: dict) -> None:
    control.sendall(json.dumps(message).encode() + b"\n")


def _end(forked: set[int]) -> None:
    """The grader is gone: so is every child, then the server."""
    for pid in forked:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
    os._exit(0)


def _child(request: dict, log_fd: int, confined_fd: int) -> None:
    """In the fork: a session of its own, its output to the log and no other fd of the server's, confined (said
    on ``confined_fd``), then the probe (never returns)."""
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.closerange(3, confined_fd)
        os.closerange(confined_fd + 1, 1 << 16)
        from . import confine

        os.chdir(request["cwd"])
        confine.restrict(request["uid"], request["timeout"], request["home"], request["network"],
                         request["confined"], request["visible"], request["cover"])
        os.write(confined_fd, b"1")
        os.close(confined_fd)
        os.environ.clear()
        os.environ.update(request["env"])
        _fresh_state()
        exec(compile(request["program"], "<sandbox>", "exec"), {"__name__": "__main__"})
    except BaseException:  # noqa: BLE001 - said in the child's log, which the grader reads as its last words
        import traceback

        with contextlib.suppress(BaseException):
            traceback.print_exc()
            sys.stderr.flush()
    os._exit(1)


def _fresh_state() -> None:
    """What a fresh interpreter would not share with its siblings: random seeds, the temporary folder."""
    import random
    import tempfile

    random.seed()
    tempfile.tempdir = None
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
