"""Relay connections between a network namespace's own loopback and a path-based unix socket.

Standard library only: it runs under ``nsenter --net`` (or in a helper container that shares a workload's
network) with ``python -I -S``, and none of the lab's packages. A path-based unix socket belongs to the file
system, not to a network namespace, so it is the one door between a namespace that has nothing but its
own loopback and the host:

``python -I -S relay.py into SOCKET PORT``
    The stand-in reaches a workload (:mod:`localcloud.bridge`): wait until something accepts connections on
    ``127.0.0.1:PORT`` of this namespace (a startup probe), bind ``SOCKET`` (mode 0600, listening before it
    appears under its name), and relay each connection made to it to that port.
``python -I -S relay.py out-of PORT SOCKET``
    A sandboxed child reaches its stand-in (:mod:`checks.sandbox.tunnel`), a build its package index
    (:mod:`checks.sandbox.build`'s gate): bring this namespace's loopback
    up, listen on ``127.0.0.1:PORT`` (and ``[::1]:PORT`` where IPv6 is on), so the child's URLs stay what
    they are, and relay each connection to ``SOCKET``, behind which the grader reaches that port of the host.

Either prints ``ready`` once it accepts connections, and ends when its standard input closes (its starter
holds the other end, so it never outlives it) or when it is killed. A connection its target refuses is
closed with nothing sent. The host's ends import this module for :func:`accept_forever`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import struct
import sys
import threading
import time

CHUNK = 65536
PROBE_EVERY_S = 0.005
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def to_tcp(port: int, timeout: float = 5):
    """Connections to ``127.0.0.1:PORT`` of this namespace (a slow answer is the client's to wait for)."""
    def connect() -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(None)
        return sock
    return connect


def to_unix(path: str):
    """Connections to the unix socket at ``path``."""
    def connect() -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
        except OSError:
            sock.close()
            raise
        return sock
    return connect


def pump(source: socket.socket, target: socket.socket) -> None:
    """Copy ``source`` to ``target`` until ``source`` ends, then end ``target``'s writing side."""
    try:
        while data := source.recv(CHUNK):
            target.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


def relay(client: socket.socket, connect) -> None:
    """Join ``client`` to a fresh connection from ``connect()`` both ways; a refused one closes ``client``."""
    try:
        remote = connect()
    except OSError:
        client.close()
        return
    back = threading.Thread(target=pump, args=(remote, client), daemon=True)
    back.start()
    pump(client, remote)
    back.join()
    client.close()
    remote.close()


def serve_forever(server: socket.socket, handle) -> None:
    """``handle(client)`` for every connection ``server`` accepts, in a thread each, until ``server`` is closed."""
    while True:
        try:
            client, _ = server.accept()
        except OSError:
            return
        threading.Thread(target=handle, args=(client,), daemon=True).start()


def accept_forever(server: socket.socket, connect) -> None:
    """Relay every connection ``server`` accepts (a thread each) until ``server`` is closed."""
    serve_forever(server, lambda client: relay(client, connect))


def wait_listening(port: int) -> None:
    """Return once something accepts a connection on ``127.0.0.1:PORT`` (the probe connection is closed)."""
    while True:
        try:
            to_tcp(port, timeout=1)().close()
            return
        except OSError:
            time.sleep(PROBE_EVERY_S)


def bind_unix(path: str) -> socket.socket:
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


def loopback_up() -> None:
    """Bring ``lo`` of this network namespace up where it is down (a new namespace's is; a container's is not)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, request))[1]
        if not flags & IFF_UP:
            fcntl.ioctl(sock.fileno(), SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def listen_tcp(port: int) -> list[socket.socket]:
    """Listening sockets on ``127.0.0.1:PORT`` and, where this namespace has IPv6, ``[::1]:PORT``."""
    found = []
    for family, address in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        try:
            server = socket.socket(family, socket.SOCK_STREAM)
        except OSError:
            continue
        try:
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind((address, port))
            server.listen(128)
        except OSError:
            server.close()
            if family == socket.AF_INET:
                raise
            continue
        found.append(server)
    return found


def end_with_stdin() -> None:
    """Exit when the starter's end of standard input closes."""
    try:
        while sys.stdin.buffer.read(1):
            pass
    finally:
        os._exit(0)


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in ("into", "out-of") or not argv[1 if argv[0] == "out-of" else 2].isdigit():
        print("usage: relay.py into SOCKET PORT | relay.py out-of PORT SOCKET", file=sys.stderr)
        return 2
    threading.Thread(target=end_with_stdin, daemon=True).start()
    if argv[0] == "into":
        path, port = argv[1], int(argv[2])
        wait_listening(port)
        servers, connect = [bind_unix(path)], to_tcp(port)
    else:
        port, path = int(argv[1]), argv[2]
        loopback_up()
        servers, connect = listen_tcp(port), to_unix(path)
    for server in servers[1:]:
        threading.Thread(target=accept_forever, args=(server, connect), daemon=True).start()
    print("ready", flush=True)
    accept_forever(servers[0], connect)
    return 0


if __name__ == "__main__":
    try:
        status = main(sys.argv[1:])
    except Exception as error:  # one line for the starter's message, not a traceback
        print(f"relay: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        status = 1
    os._exit(status)  # at once: the thread reading standard input holds its lock
