"""The edge on cheroot (CherryPy's maintained WSGI server), for ``make cloud-bench`` to measure against
:mod:`localcloud.edge.httpserver` (``LOCALCLOUD_HTTP_SERVER=cheroot``; cheroot is not in requirements.txt).

cheroot keeps connections alive, turns Nagle off and streams request bodies (Content-Length
or chunked) to the app, which enforces its limits while reading, as with the built-in server.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

from cheroot import wsgi

THREADS = 64  # a slow invoke holds one; the tests run a dozen at once


class _Server(wsgi.Server):
    """cheroot on the socket the stand-in already bound (it claims its port before anything else)."""

    def __init__(self, sock: socket.socket, app: Callable):
        super().__init__(sock.getsockname(), app, numthreads=THREADS, request_queue_size=128)
        self._bound = sock

    def bind(self, family, type, proto=0):  # noqa: A002  (cheroot's signature)
        self._bound.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # what cheroot's own bind does
        self.socket = self._bound


class Server:
    """The two calls ``server.py`` makes of an edge server."""

    def __init__(self, sock: socket.socket, app: Callable):
        self.cheroot = _Server(sock, app)

    def serve_forever(self, poll_interval: float = 0.2) -> None:
        self.cheroot.safe_start()

    def shutdown(self) -> None:
        self.cheroot.stop()


def make_server(sock: socket.socket, app: Callable) -> Server:
    return Server(sock, app)
