"""The one way out of a sandboxed child's network namespace: its stand-in's port, relayed to a unix socket.

``python -I -S inlet.py PORT SOCKET``, started by :mod:`checks.sandbox.tunnel` with ``nsenter --net`` in the
network namespace of a sandboxed child (standard library only). It brings that namespace's loopback up,
listens on ``127.0.0.1:PORT`` there (and ``[::1]:PORT`` where IPv6 is on), so the child's URLs and the
stand-in's Host check stay what they are, prints ``ready``, and relays every connection to the path-based
unix socket ``SOCKET``, behind which the grader reaches that port of the host's loopback. A path-based unix
socket belongs to the file system, not to a network namespace: nothing else of the host's network exists
in the child's namespace. The inlet ends when its standard input closes (the grader holds the other end)
or when it is killed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import struct
import sys
import threading

CHUNK = 65536
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def loopback_up() -> None:
    """Bring ``lo`` of this network namespace up (a new namespace's loopback is down)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock.fileno(), SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def listeners(port: int) -> list[socket.socket]:
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


def to_unix(path: str):
    def connect() -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
        except OSError:
            sock.close()
            raise
        return sock
    return connect


def accept_forever(server: socket.socket, connect) -> None:
    while True:
        try:
            client, _ = server.accept()
        except OSError:
            return
        threading.Thread(target=relay, args=(client, connect), daemon=True).start()


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[0].isdigit():
        print("usage: inlet.py PORT SOCKET", file=sys.stderr)
        return 2
    port, path = int(argv[0]), argv[1]
    loopback_up()
    servers = listeners(port)
    for server in servers:
        threading.Thread(target=accept_forever, args=(server, to_unix(path)), daemon=True).start()
    print("ready", flush=True)
    while sys.stdin.buffer.read(1):  # until the grader's end closes
        pass
    return 0


if __name__ == "__main__":
    try:
        status = main(sys.argv[1:])
    except Exception as error:  # one line for the grader's message, not a traceback
        print(f"inlet: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        status = 1
    os._exit(status)
