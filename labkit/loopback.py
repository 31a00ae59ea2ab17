"""Names under ``localhost`` resolve to the loopback address in this process, as browsers and curl resolve them.

RFC 6761 (section 6.3) reserves ``localhost`` and every name under it for the loopback address, and asks
name resolution libraries to answer them so without asking DNS. Browsers and curl do; glibc does only
where ``systemd-resolved`` or ``nss-myhostname`` is configured, and macOS and Windows may not, so on
many machines Python cannot resolve the local stand-in's Cloud Run URLs
(``http://SERVICE-HASH.REGION.run.localhost:PORT``). :func:`resolve_localhost_names` makes this
process follow the RFC: ``socket.getaddrinfo`` answers such a name with ``127.0.0.1`` (``::1`` when
IPv6 is asked for) and leaves every other name to the system. ``labkit.gcp`` calls it on import, so the
lab, the grader and a student's own ``requests.get(service.uri)`` reach the stand-in.
"""

from __future__ import annotations

import socket

_system_getaddrinfo = socket.getaddrinfo


def is_localhost_name(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    return isinstance(host, str) and host.lower().rstrip(".").endswith(".localhost")


def _getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002 (socket's own parameter names)
    if is_localhost_name(host):
        host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    return _system_getaddrinfo(host, port, family, type, proto, flags)


def resolve_localhost_names() -> None:
    """Answer names under ``localhost`` with the loopback address in this process (idempotent)."""
    socket.getaddrinfo = _getaddrinfo
