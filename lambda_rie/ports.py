"""Loopback ports: a free one to listen on, and whether something listens on one."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A TCP port nobody listens on at 127.0.0.1 right now (the kernel's choice)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port: int, timeout: float = 1) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port``."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=timeout).close()
    except OSError:
        return False
    return True
