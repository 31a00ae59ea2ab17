"""A sandboxed child that needs the network reaches exactly one port of the host's loopback: its stand-in's edge
(and, in a class graded with Docker, its own :class:`~checks.sandbox.dockergate.DockerGate`).

The child runs in a network namespace of its own (:func:`checks.sandbox.confine.confine` without the network),
so it reaches nothing of the host: not the grader, not a classmate's stand-in, nothing on ``127.0.0.1``. A
:class:`Tunnel` then lets one port in:

- on the host, a thread of the grader listens on a path-based unix socket (a file, in a folder of the grader's
  only, mode 0700) and relays each connection to ``127.0.0.1:PORT`` of the host;
- in the child's namespace, :mod:`localcloud.relay` (``out-of``, started with ``nsenter --net``, as the grader's
  user) brings the loopback up, listens on ``127.0.0.1:PORT`` and relays each connection to that socket.

The child's URLs (``http://127.0.0.1:PORT``, a service's ``*.localhost:PORT``) and the edge's Host check are
unchanged; any other address or port is unreachable. Entering another process's network namespace takes root,
as confining does (:func:`available`).
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from localcloud import relay

RELAY = Path(relay.__file__).resolve()
NSENTER = shutil.which("nsenter")
READY_S = 20


class TunnelError(RuntimeError):
    """The inlet could not start in the child's namespace; the message says why."""


def available() -> bool:
    """Whether a child's namespace can be entered here (root, and ``nsenter``)."""
    return sys.platform == "linux" and os.geteuid() == 0 and NSENTER is not None


class Tunnel:
    """``127.0.0.1:port`` of the host, reachable at the same address inside one child's network namespace.

    ``sockets`` adds ports of the child's loopback that lead to unix sockets of the grader's own (a class's
    :class:`~checks.sandbox.dockergate.DockerGate`), ``{port: path}``.
    """

    def __init__(self, port: int, sockets: dict[int, Path] | None = None):
        self.folder = Path(tempfile.mkdtemp(prefix="lab-tunnel-"))  # 0700: the grader's own
        path = self.folder / "edge.sock"
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(128)
        self.routes = {port: path, **(sockets or {})}
        self.inlets: list[subprocess.Popen] = []
        threading.Thread(target=relay.accept_forever, args=(self.server, relay.to_tcp(port, timeout=10)),
                         daemon=True).start()

    def enter(self, pid: int) -> None:
        """Start the inlets in the network namespace of process ``pid`` and wait until they listen.

        Raises:
            TunnelError: ``pid`` shares the grader's network namespace, is gone, or the inlet did not start.
        """
        try:
            shared = os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat("/proc/self/ns/net").st_ino
        except OSError:
            raise TunnelError(f"the sandboxed process {pid} is gone") from None
        if shared:
            raise TunnelError(f"the sandboxed process {pid} has no network namespace of its own")
        for port, path in self.routes.items():
            command = [NSENTER or "nsenter", "--target", str(pid), "--net", "--", sys.executable, "-I", "-S",
                       str(RELAY), "out-of", str(port), str(path)]
            inlet = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True, close_fds=True)
            self.inlets.append(inlet)
            ready, _, _ = select.select([inlet.stdout], [], [], READY_S)
            line = inlet.stdout.readline() if ready else b""
            if line.strip() != b"ready":
                inlet.kill()
                error = inlet.stderr.read().decode("utf-8", "replace").strip() if inlet.wait(10) is not None else ""
                raise TunnelError(f"the inlet into the sandbox's network did not start: {error[-300:] or 'no answer'}")

    def close(self) -> None:
        """End the inlets and the host side; remove the socket."""
        for inlet in self.inlets:
            with contextlib.suppress(OSError):
                inlet.stdin.close()
            with contextlib.suppress(OSError):
                inlet.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                inlet.wait(10)
            for stream in (inlet.stdout, inlet.stderr):
                stream.close()
        with contextlib.suppress(OSError):
            self.server.shutdown(socket.SHUT_RDWR)
        self.server.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Tunnel:
        return self

    def __exit__(self, *_) -> None:
        self.close()
