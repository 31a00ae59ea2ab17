"""HTTP to the registry over its unix socket (urllib3 speaks only TCP).

The registry listens on a socket file in a folder only this user may open, not on a loopback
port, so no web page (DNS rebinding) and no other local user reaches it except through the
edge, whose guard and ECR rules it then cannot skip. ``request`` and ``urlopen`` take the
same arguments as a ``PoolManager``'s; the URL's host is ignored.
"""

from __future__ import annotations

import socket

import urllib3
from urllib3.connection import HTTPConnection
from urllib3.util import parse_url

HOST = "localhost"  # what the registry sees as Host; its Location headers use the edge's URL (http.host)


class UnixConnection(HTTPConnection):
    def __init__(self, *args, socket_path: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.socket_path = socket_path

    def _new_conn(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if isinstance(self.timeout, (int, float)):
            sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError as error:
            sock.close()
            raise urllib3.exceptions.NewConnectionError(self, f"cannot reach {self.socket_path}: {error}") from None
        return sock


class UnixPool(urllib3.HTTPConnectionPool):
    ConnectionCls = UnixConnection


class UnixHttp:
    """A pool of connections to one unix socket."""

    def __init__(self, socket_path: str, **pool):
        self.pool = UnixPool(HOST, socket_path=socket_path, **pool)

    def request(self, method: str, url: str, **kwargs) -> urllib3.BaseHTTPResponse:
        return self.pool.request(method, parse_url(url).request_uri, **kwargs)

    def urlopen(self, method: str, url: str, **kwargs) -> urllib3.BaseHTTPResponse:
        return self.pool.urlopen(method, parse_url(url).request_uri, **kwargs)
