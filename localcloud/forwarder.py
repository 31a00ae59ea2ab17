"""Forward a unix socket to a TCP port of a workload's own loopback: run inside the workload's network namespace.

``python -I -S forwarder.py SOCKET PORT`` (standard library only: it runs under ``nsenter -n`` or
``unshare --net``, with the stand-in's interpreter but none of its packages). It waits until something
accepts connections on ``127.0.0.1:PORT`` of the namespace it runs in (a startup probe), then binds the
path-based unix socket ``SOCKET`` (mode 0600; the stand-in keeps it in a folder only it may open), and
forwards every connection made to it to ``127.0.0.1:PORT``, both ways, until either side closes.

A path-based unix socket belongs to the file system, not to a network namespace: the stand-in, on the
host's network, connects to it, while the workload, whose namespace has nothing but its own loopback,
reaches nothing of the host. Nothing is read from the workload but the bytes it answers.

The forwarder ends when its standard input closes (the stand-in holds the other end, so it ends with
the stand-in, even one that was killed) or when it is killed; it never outlives its stand-in.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import time

PROBE_EVERY_S = 0.005
CHUNK = 65536


def upstream(port: int, timeout: float | None = None) -> socket.socket:
    """A connection to ``127.0.0.1:PORT`` in this namespace (raises OSError when nothing listens)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(None)
    return sock


def wait_listening(port: int) -> None:
    """Return once something accepts a connection on ``127.0.0.1:PORT`` (the probe connection is closed)."""
    while True:
        try:
            upstream(port, timeout=1).close()
            return
        except OSError:
            time.sleep(PROBE_EVERY_S)


def bind(path: str) -> socket.socket:
    """A listening unix socket at ``path``, created 0600 and listening before it appears under its name."""
    staging = f"{path}.{os.getpid()}"
    for stale in (path, staging):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(stale)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        server.bind(staging)
    finally:
        os.umask(old)
    server.listen(128)
    os.rename(staging, path)  # a client never finds the name before it accepts connections
    return server


def pump(source: socket.socket, target: socket.socket) -> None:
    """Copy ``source`` to ``target`` until ``source`` ends, then end ``target``'s writing side."""
    try:
        while True:
            data = source.recv(CHUNK)
            if not data:
                break
            target.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


def serve(client: socket.socket, port: int) -> None:
    """Forward one connection; a refused upstream closes the client's connection with nothing sent."""
    try:
        remote = upstream(port, timeout=5)
    except OSError:
        client.close()
        return
    back = threading.Thread(target=pump, args=(remote, client), daemon=True)
    back.start()
    pump(client, remote)
    back.join()
    client.close()
    remote.close()


def end_with_stdin() -> None:
    """Exit when the stand-in's end of standard input closes."""
    try:
        while sys.stdin.buffer.read(1):
            pass
    finally:
        os._exit(0)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[1].isdigit():
        print("usage: forwarder.py SOCKET PORT", file=sys.stderr)
        return 2
    path, port = argv[0], int(argv[1])
    threading.Thread(target=end_with_stdin, daemon=True).start()
    wait_listening(port)
    server = bind(path)
    print("ready", flush=True)
    while True:
        client, _ = server.accept()
        threading.Thread(target=serve, args=(client, port), daemon=True).start()


if __name__ == "__main__":
    try:
        status = main(sys.argv[1:])
    except Exception as error:  # one line for the stand-in's message, not a traceback
        print(f"forwarder: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        status = 1
    os._exit(status)  # at once: the thread reading standard input holds its lock
