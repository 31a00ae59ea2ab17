"""The build's only way out: an HTTPS tunnelling proxy that reaches the package index pip uses, and nothing else.

:mod:`checks.sandbox.build` runs it on a unix socket that the build's gate container forwards to. It answers
``CONNECT host:443`` for the index's own hosts (:func:`index_hosts`, read from pip at run time) and refuses
every other request: another host or port, plain HTTP, and any address that is this machine's, its network's
or a cloud metadata service's (:func:`local`), whatever a name resolves to.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import select
import socket
import threading
from pathlib import Path

from localcloud import relay

LOCAL_NETWORKS = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                                                         "fc00::/7"))  # private and carrier-grade NAT ranges


def index_hosts() -> frozenset[str]:
    """The hosts of the package index pip uses when nothing configures another (its index and its files)."""
    try:
        from pip._internal.models.index import PyPI  # the default pip itself compiles in
    except ImportError:
        return frozenset()
    return frozenset({PyPI.netloc, PyPI.file_storage_domain})


class IndexProxy:
    """An HTTPS tunnelling proxy on a unix socket that reaches only :func:`index_hosts` on port 443, never a :func:`local` address."""

    def __init__(self, path: Path, hosts: frozenset[str] | None = None):
        self.path, self.hosts = path, index_hosts() if hosts is None else hosts
        self.listener = socket.socket(socket.AF_UNIX)

    def __enter__(self) -> IndexProxy:
        self.listener.bind(str(self.path))
        self.path.chmod(0o666)  # the gate's forwarder runs as nobody
        self.listener.listen(64)
        threading.Thread(target=relay.serve_forever, args=(self.listener, self._serve), daemon=True).start()
        return self

    def __exit__(self, *_) -> None:
        self.listener.close()
        with contextlib.suppress(OSError):
            self.path.unlink()

    def _serve(self, client: socket.socket) -> None:
        with client:
            client.settimeout(30)
            head = b""
            with contextlib.suppress(OSError):
                while b"\r\n\r\n" not in head and len(head) < 8192 and (chunk := client.recv(4096)):
                    head += chunk
            asked = head.split(b"\r\n", 1)[0].decode("latin-1")
            upstream = self._open(asked)
            if upstream is None:
                with contextlib.suppress(OSError):
                    client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            with upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                rest = head.split(b"\r\n\r\n", 1)[1]
                if rest:
                    upstream.sendall(rest)
                _pipe(client, upstream)

    def _open(self, request_line: str) -> socket.socket | None:
        """A connection to the host a ``CONNECT host:443`` asks for, when it is the index; None otherwise."""
        found = re.match(r"^CONNECT ([A-Za-z0-9.-]+):443 HTTP/1\.[01]$", request_line)
        if not found or found.group(1).lower() not in self.hosts:
            return None
        try:
            addresses = [a[4][0] for a in socket.getaddrinfo(found.group(1), 443, type=socket.SOCK_STREAM)]
        except OSError:
            return None
        for address in addresses:
            if not local(address):
                with contextlib.suppress(OSError):
                    return socket.create_connection((address, 443), timeout=30)
        return None


def local(address: str) -> bool:
    """Whether an address is this machine's, its network's or a cloud's metadata service (never tunnelled to)."""
    found = ipaddress.ip_address(address.split("%")[0])
    found = getattr(found, "ipv4_mapped", None) or found
    return (found.is_loopback or found.is_link_local or found.is_unspecified or found.is_multicast
            or any(found in network for network in LOCAL_NETWORKS if network.version == found.version))


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes (or 60 s pass with nothing)."""
    a.settimeout(None)
    b.settimeout(None)
    while True:
        ready, _, _ = select.select([a, b], [], [], 60)
        if not ready:
            return
        for source in ready:
            try:
                data = source.recv(65536)
            except OSError:
                return
            if not data:
                return
            (b if source is a else a).sendall(data)
