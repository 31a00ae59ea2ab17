"""The edge's HTTP server: cheroot (CherryPy's maintained WSGI server), with the edge's bounds.

cheroot keeps connections alive with Nagle off, bounds the request head's size, parks idle
connections in a selector (holding no thread) until they expire, and serves requests from a
fixed pool of threads; every number is in :class:`localcloud.settings.EdgeBounds`. On top:

* the whole request head must arrive within ``head_timeout_s`` of its first byte, or the
  connection is cut (408): a client trickling a header cannot hold a thread; a new connection
  waits for its first byte in the selector, and expires there;
* framing as RFC 9112 wants it (:mod:`localcloud.edge.framing`): unframeable requests answer 400
  and close, and a chunked body is de-chunked as the app reads it, never further than the app
  asks, so a route's limit holds whatever the chunk sizes (cheroot's own reader takes a chunk whole);
* what an app left unread of a body, or of a head refused as too large, is read and dropped, up
  to ``discard_bytes`` while it keeps coming, so the client reads the answer instead of a reset;
  the connection stays open only when the whole body was read;
* an absolute-form target's authority replaces ``Host`` (RFC 9112 section 3.2.2), so the edge's
  guard judges it; CONNECT and other targets are refused;
* it serves only a socket bound to 127.0.0.1, and logs every answer but the busy paths' successes.
"""

from __future__ import annotations

import contextlib
import ctypes
import socket
import sys
import threading
import time
from collections.abc import Callable
from urllib.parse import unquote_to_bytes, urlsplit

from cheroot import server
from cheroot import wsgi as cheroot_wsgi

from localcloud import settings
from localcloud.edge.framing import Dechunked, HeaderReader, Limited

QUIET_PATHS = (b"/2015-03-31/functions/", b"/_aws/execute-api/", b"/_localcloud/")  # no access line when answered 2xx/3xx
LOGGED_REFUSALS = ("408", "413", "414", "503")  # what cheroot answers itself that says a bound was hit
M_MMAP_THRESHOLD, GLIBC_MMAP_THRESHOLD = -3, 128 * 1024  # mallopt(3)


def return_large_blocks() -> None:
    """Make glibc give every freed block of 128 KB or more back to the system at once.

    Each pooled thread gets its own malloc arena, and glibc raises its mmap threshold after a large free, so a
    large body read by one thread stayed in that thread's arena: the stand-in grew about 7 MB per large request,
    arena after arena. Setting the threshold (to glibc's own default) turns that raise off. Elsewhere: nothing.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, GLIBC_MMAP_THRESHOLD)


class HeadDeadlines:
    """One thread watches every connection's head: the read side of one that is late is shut (its recv sees EOF)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._due: dict[object, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def run(self) -> None:
        while not self._stop.wait(min(0.25, self.seconds / 4)):
            now = time.monotonic()
            with self._lock:
                for conn in [conn for conn, due in self._due.items() if due <= now]:
                    del self._due[conn]
                    conn.head_late = True
                    with contextlib.suppress(OSError):
                        conn.socket.shutdown(socket.SHUT_RD)

    def watch(self, conn) -> None:
        with self._lock:
            self._due[conn] = time.monotonic() + self.seconds

    def release(self, conn) -> None:
        with self._lock:
            self._due.pop(conn, None)

    def stop(self) -> None:
        self._stop.set()


class Request(server.HTTPRequest):
    header_reader = HeaderReader()

    def __init__(self, server_, conn, proxy_mode=True, strict_mode=True):
        super().__init__(server_, conn, proxy_mode=True, strict_mode=strict_mode)  # cheroot parses absolute-form
        self.absolute_form = False

    def parse_request(self) -> None:
        self.server.head_deadlines.watch(self.conn)
        try:
            super().parse_request()
        finally:
            self.server.head_deadlines.release(self.conn)
        if self.ready and self.conn.head_late:
            self.simple_response("408 Request Timeout")
            self.ready = False
        if not self.ready and self.close_connection:  # 413 or 414: the rest of the head is still coming
            self._discard_input()

    def read_request_line(self) -> bool:
        if not super().read_request_line():
            return False
        if self.method == b"CONNECT":
            self.simple_response("405 Method Not Allowed")
            return False
        self.absolute_form = not self.uri.startswith(b"/") and self.uri != b"*"
        parts = urlsplit(self.uri)
        if self.uri.startswith(b"//") or self.absolute_form and parts.scheme.lower() not in (b"http", b"https"):
            self.simple_response("400 Bad Request", "the request target must be a path or an http URL")
            return False
        self.authority, self.scheme = parts.netloc, b"http"
        return True

    def read_request_headers(self) -> bool:
        if not super().read_request_headers():
            return False
        if b"Transfer-Encoding" in self.inheaders and not self.chunked_read:  # HTTP/1.0: cheroot would ignore it
            self.simple_response("400 Bad Request", "Transfer-Encoding is not HTTP/1.0")
            return False
        return True

    def respond(self) -> None:
        bounds = self.server.bounds
        self.rfile = Dechunked(self.conn.rfile, bounds.max_head_bytes) if self.chunked_read else \
            Limited(self.conn.rfile, int(self.inheaders.get(b"Content-Length", 0)))
        self.server.gateway(self).respond()
        if self.ready:
            self.ensure_headers_sent()
        if self.chunked_write:
            self.conn.wfile.write(b"0\r\n\r\n")
        self._drop_unread_body()

    def send_headers(self) -> None:
        if any(name.lower() == b"connection" and b"close" in value.lower() for name, value in self.outheaders):
            self.close_connection = True
        body = self.rfile
        if isinstance(body, Dechunked) and not body.done or getattr(body, "left", 0) > self.server.bounds.discard_bytes:
            self.close_connection = True  # what is left cannot be skipped within the discard budget
        status = self.status[:3].decode()
        if status[0] not in "23" or not self.path.startswith(QUIET_PATHS):
            self._log(f'"{self.method.decode()} {self.uri.decode("latin-1")} {self.request_protocol.decode()}" {status}')
        super().send_headers()

    def simple_response(self, status, msg="") -> None:
        if getattr(self.conn, "head_late", False):
            status, msg = "408 Request Timeout", f"the request head did not arrive within {self.server.bounds.head_timeout_s:g} s"
        if str(status)[:3] in LOGGED_REFUSALS:
            self._log(f"{status}: {msg}")
        super().simple_response(status, msg)

    def _drop_unread_body(self) -> None:
        """Read and drop what the app left of the body; the connection stays open only when all of it was read."""
        if not self.rfile.done:
            self.close_connection = self._discard_input(self.rfile.read if not self.close_connection else None)
            self.close_connection = self.close_connection or not self.rfile.done

    def _discard_input(self, read: Callable[[int], bytes] | None = None) -> bool:
        """Read and drop up to ``discard_bytes`` (of the raw input, unless ``read`` is given) while it keeps coming,
        so the client reads the answer instead of a reset; True when the connection must close."""
        bounds, dropped = self.server.bounds, 0
        read = read or self.conn.rfile.read1
        self.conn.socket.settimeout(bounds.discard_idle_s)
        try:
            while dropped < bounds.discard_bytes and (chunk := read(65536)):
                dropped += len(chunk)
        except (OSError, ValueError):  # a stall, a reset, a malformed chunk
            return True
        finally:
            self.conn.socket.settimeout(self.server.timeout)
        return self.close_connection

    def _log(self, line: str) -> None:
        sys.stderr.write(f"{self.conn.remote_addr} - [{time.strftime('%d/%b/%Y %H:%M:%S')}] {line}\n")


class Connection(server.HTTPConnection):
    RequestHandlerClass = Request
    head_late = False


class Gateway(cheroot_wsgi.Gateway_10):
    def get_environ(self) -> dict:
        environ = super().get_environ()
        environ["SERVER_NAME"], environ["wsgi.url_scheme"] = "127.0.0.1", "http"
        if self.req.uri != b"*":  # decoded whole, %2F included, as werkzeug's and http.server's (moto's routes expect it)
            environ["PATH_INFO"] = unquote_to_bytes(urlsplit(self.req.uri).path or b"/").decode("latin-1")
        if self.req.absolute_form:
            environ["HTTP_HOST"] = self.req.authority.decode("latin-1")  # even when empty: the guard refuses it
        return environ


class EdgeServer(cheroot_wsgi.Server):
    """cheroot on the socket the stand-in already bound (it claims its port before anything else)."""

    ConnectionClass = Connection

    def __init__(self, sock: socket.socket, app: Callable, bounds: settings.EdgeBounds = settings.EDGE):
        address = sock.getsockname()
        if address[0] != "127.0.0.1":
            raise ValueError(f"the edge serves 127.0.0.1 only, not {address[0]}")
        super().__init__(address, app, numthreads=bounds.threads, max=bounds.threads, server_name="localcloud",
                         request_queue_size=bounds.listen_backlog, timeout=bounds.idle_timeout_s,
                         accepted_queue_size=bounds.accepted_queue,
                         accepted_queue_timeout=bounds.accepted_queue_timeout_s)
        self.gateway, self.bounds, self._bound = Gateway, bounds, sock
        self.max_request_header_size = bounds.max_head_bytes
        self.keep_alive_conn_limit = bounds.keep_alive_connections
        self.head_deadlines = HeadDeadlines(bounds.head_timeout_s)

    def bind(self, family, type, proto=0):  # noqa: A002  (cheroot's signature)
        self._bound.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # what cheroot's own bind does
        self.socket = self._bound

    def prepare(self) -> None:
        super().prepare()
        threading.Thread(target=self.head_deadlines.run, name="edge-head-deadlines", daemon=True).start()

    def process_conn(self, conn) -> None:
        if conn.last_used is None and self.can_add_keepalive_connection:
            self._connections.put(conn)  # just accepted: it waits for its first byte in the selector, not a thread
        else:
            super().process_conn(conn)

    def stop(self) -> None:
        self.head_deadlines.stop()
        super().stop()
