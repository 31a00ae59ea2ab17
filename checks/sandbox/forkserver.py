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
closes (the grader ended, however), the server kills every child it forked and ends. A class batch starts
one server for all its workers (:func:`share`): each connects to it, and when one's connection closes, the
server kills its children and every process of their user ids.

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
from pathlib import Path

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
    """The grader's end of one fork server: one it started (:meth:`start`) or one it shares (:meth:`attach`)."""

    def __init__(self, sock: socket.socket, process: subprocess.Popen | None):
        self.socket, self.process, self.lock = sock, process, threading.RLock()
        self.lines = Lines(sock)
        self.codes: dict[int, int] = {}
        ready = self._receive(None)
        if not ready.get("ready"):
            raise ServerGone("the fork server did not start")
        self.pid: int = ready["pid"]

    @classmethod
    def start(cls, root: str, tmp: str, listen: Path | None = None, preload: tuple[str, ...] = PRELOAD,
              confining: bool = True) -> Server:
        """A fork server of this process's own, which imports ``preload``; with ``listen``, other grader processes of
        this user may share it (:meth:`attach`) through the unix socket at that path (mode 0600). Without
        ``confining`` its children are the grader's own code (a class's workers), run as the request says and
        confined in nothing."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        boot = f"import sys; sys.path.insert(0, {root!r}); from checks.sandbox import forkserver; forkserver.serve()"
        options = {"listen": str(listen) if listen else None, "preload": list(preload), "confining": confining}
        process = subprocess.Popen([sys.executable, "-I", "-c", boot, json.dumps(options)],
                                   env={**BASE_ENVIRONMENT, "TMPDIR": tmp}, stdin=theirs, stdout=subprocess.DEVNULL,
                                   start_new_session=True, close_fds=True)
        theirs.close()
        return cls(ours, process)

    @classmethod
    def attach(cls, path: Path) -> Server:
        """A connection to the fork server another grader process started with ``listen=path``."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(str(path))
        except OSError as error:
            sock.close()
            raise ServerGone(f"no fork server at {path} ({error})") from None
        return cls(sock, None)

    @property
    def own(self) -> bool:
        """Whether this process started the server (so that every process it adopts is this process's)."""
        return self.process is not None

    def alive(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        with contextlib.suppress(OSError):
            os.kill(self.pid, 0)
            return True
        return False

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
        """Close this end: the server kills every child forked for it (and ends, when this process started it)."""
        self.socket.close()
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(5)


class Lines:
    """JSON lines read from a stream socket, with the fds that came along."""

    def __init__(self, sock: socket.socket):
        self.socket, self.pending, self.fds = sock, b"", []

    def buffered(self) -> bool:
        return b"\n" in self.pending

    def next(self) -> tuple[bytes | None, list[int]]:
        """The next whole line and the fds received with it; (None, []) at end of stream (or when it broke)."""
        while not self.buffered():
            try:
                data, fds, _, _ = socket.recv_fds(self.socket, MAX_MESSAGE, 4)
            except OSError:  # a peer that went away with bytes unread resets the connection
                data, fds = b"", []
            self.fds += fds
            if not data:
                return None, []
            self.pending += data
        line, _, self.pending = self.pending.partition(b"\n")
        fds, self.fds = self.fds, []
        return line, fds


_servers: dict[tuple[int, str, str], Server] = {}


def server(root: str, tmp: str) -> Server:
    """This grader process's fork server for the lab at ``root`` (the one :func:`share` names, or one of its own,
    started on first use and again if it ended)."""
    key = (os.getpid(), root, tmp)
    running = _servers.get(key)
    if running is None or not running.alive():
        _servers[key] = running = Server.start(root, tmp)
    return running


def share(path: Path, root: str, tmp: str) -> None:
    """From now on this process's children come from the fork server listening at ``path`` (a class batch's, which
    saves each worker the server's imports). Only where each child runs as a user of its own: the orphans of a
    child are then found by their user id, not as the server's (it adopts every grader's)."""
    _servers[(os.getpid(), root, tmp)] = Server.attach(path)


# --- the server's side: runs in the fresh interpreter Server started ---------------------------------------------

def serve() -> None:
    """The fork server's loop (its program): fork a child per request of each connection, report each exit to the
    connection that asked for it; when a connection closes its children are killed, and when the starter's closes
    (the grader ended, however) every child is, then the server ends. ``argv[1]``: :meth:`Server.start`'s options."""
    from . import confine  # noqa: F401 - imported once, here, for every child

    options = json.loads(sys.argv[1])
    with contextlib.suppress(AttributeError):  # Linux only
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    for name in options["preload"]:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    starter = socket.socket(fileno=os.dup(0))
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    if options["listen"]:  # a unix socket only this user may connect to (mode 0600)
        from localcloud.relay import bind_unix

        listener = bind_unix(options["listen"])
    else:
        listener = None
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    os.set_blocking(wake_read, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    connections = {starter: Lines(starter)}
    owners: dict[int, tuple[socket.socket, int | None]] = {}  # pid -> (the connection that asked, its user id)
    _say(starter, {"ready": True, "pid": os.getpid()})
    while True:
        buffered = [c for c, lines in connections.items() if lines.buffered()]
        waiting = [wake_read, *connections, *([listener] if listener else [])]
        ready = buffered or select.select(waiting, [], [])[0]
        if wake_read in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(wake_read, 4096)
            _report_exits(owners)
        if listener in ready:
            joined, _ = listener.accept()
            connections[joined] = Lines(joined)
            _say(joined, {"ready": True, "pid": os.getpid()})  # a grader gone already is seen as such below
        for connection in [c for c in ready if c in connections]:
            line, fds = connections[connection].next()
            if line is None:
                if connection is starter:
                    _kill(owners)
                    os._exit(0)
                _kill({pid: owner for pid, owner in owners.items() if owner[0] is connection})
                del connections[connection]
                connection.close()
                continue
            request = json.loads(line)
            try:
                pid = os.fork() if len(fds) == 2 else -1
            except OSError as error:
                _say(connection, {"error": f"fork: {error}"})
                pid = -1
            if pid == 0:
                _child(request, *fds, confining=options["confining"])
            for fd in fds:
                os.close(fd)
            if pid > 0:
                owners[pid] = (connection, request.get("uid"))
                _say(connection, {"pid": pid})
            elif len(fds) != 2:
                _say(connection, {"error": "a request comes with two fds: its log, and where to say it is confined"})


def _report_exits(owners: dict[int, tuple[socket.socket, int | None]]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid in owners:  # an orphan the server adopted is reaped silently
            _say(owners.pop(pid)[0], {"exit": pid, "code": os.waitstatus_to_exitcode(status)})


def _say(connection: socket.socket, message: dict) -> None:
    """Send one message; a grader that went away meanwhile is found when its connection reads as ended."""
    with contextlib.suppress(OSError):
        connection.sendall(json.dumps(message).encode() + b"\n")


def _kill(owned: dict[int, tuple[socket.socket, int | None]]) -> None:
    """Kill these children's sessions and every process of their user ids (their orphans, wherever they went)."""
    uids = {uid for _, uid in owned.values() if uid is not None}
    for pid in owned:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
    for entry in os.scandir("/proc") if uids and os.path.isdir("/proc") else ():
        with contextlib.suppress(OSError, ValueError):
            if entry.name.isdigit() and entry.stat().st_uid in uids:
                os.kill(int(entry.name), signal.SIGKILL)


def _child(request: dict, log_fd: int, confined_fd: int, confining: bool) -> None:
    """In the fork: a session of its own, its output to the log and no other fd of the server's, confined (where
    ``confining``; said on ``confined_fd``), then the request's program (never returns; its exit status is the
    program's ``SystemExit`` code, 1 on an exception)."""
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
        if confining:
            confine.restrict(request["uid"], request["timeout"], request["home"], request["network"],
                             request["confined"], request["visible"], request["cover"])
        os.write(confined_fd, b"1")
        os.close(confined_fd)
        os.environ.clear()
        os.environ.update(request["env"])
        _fresh_state()
        exec(compile(request["program"], "<sandbox>", "exec"), {"__name__": "__main__"})
    except SystemExit as done:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(done.code if isinstance(done.code, int) else 0 if done.code is None else 1)
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
