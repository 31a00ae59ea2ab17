"""A small threaded WSGI server with HTTP/1.1 keep-alive, for the edge.

Werkzeug's development server closes every connection after one response; boto3,
requests and the docker daemon all reuse connections, and a new TCP connection plus a
new thread per call would cost more than the edge's whole latency budget. This server
keeps connections open, streams request bodies (Content-Length or chunked, as docker
push sends) and responses, and turns Nagle off. Framing is RFC 9112's: a Content-Length that
is not digits, or duplicated with different values, or a Transfer-Encoding that does not end
in chunked, answers 400 and closes; chunked wins over Content-Length. An absolute-form target's
authority replaces Host (section 3.2.2), so the edge's Host guard judges it.
"""

from __future__ import annotations

import itertools
import re
import socket
import sys
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from werkzeug.serving import DechunkedInput

QUIET_PATHS = ("/2015-03-31/functions/", "/_aws/execute-api/", "/_localcloud/")
IDLE_CONNECTION_S = 120
DISCARD_CAP = 16 * 1024 * 1024  # what is read and dropped of a refused body, so the client sees the answer
DISCARD_IDLE_S = 1.0  # ... as long as it keeps sending
DIGITS = re.compile(r"[0-9]+")


class BadFraming(ValueError):
    """A request whose body cannot be delimited without guessing (RFC 9112 section 6.3)."""


def body_length(headers) -> int | None:
    """The body's framing: None for chunked, else its Content-Length (0 without one); BadFraming otherwise."""
    codings = [c.strip().lower() for value in headers.get_all("Transfer-Encoding") or [] for c in value.split(",")]
    if codings:
        if codings[-1] != "chunked":
            raise BadFraming(f"Transfer-Encoding {', '.join(codings)!r} does not end in chunked")
        return None
    lengths = {v.strip() for value in headers.get_all("Content-Length") or [] for v in value.split(",")}
    if not lengths:
        return 0
    if len(lengths) > 1 or not DIGITS.fullmatch(next(iter(lengths))):
        raise BadFraming(f"invalid Content-Length {sorted(lengths)}")
    return int(lengths.pop())


class LimitedInput:
    """The request body as a stream that stops at Content-Length."""

    def __init__(self, stream, length: int):
        self.stream, self.remaining = stream, length

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        size = self.remaining if size is None or size < 0 else min(size, self.remaining)
        data = self.stream.read(size)
        self.remaining -= len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        size = self.remaining if size is None or size < 0 else min(size, self.remaining)
        data = self.stream.readline(size)
        self.remaining -= len(data)
        return data

    def drain(self) -> None:
        while self.read(65536):
            pass


def discard(body, connection: socket.socket) -> None:
    """Read and drop what is left of a body the app refused, up to DISCARD_CAP, while it keeps coming.

    Closing with unread data would reset the connection before the client reads the answer.
    """
    connection.settimeout(DISCARD_IDLE_S)
    dropped = 0
    try:
        while dropped < DISCARD_CAP and (chunk := body.read(65536)):
            dropped += len(chunk)
    except Exception:  # a timeout, a reset, or a malformed chunk: the connection closes anyway
        pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_CONNECTION_S
    app: Callable = None  # set by serve()

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def __getattr__(self, name: str):
        if name.startswith("do_"):  # every method goes to the WSGI app
            return self.run_wsgi
        raise AttributeError(name)

    def environ(self) -> dict:
        path, _, query = self.path.partition("?")
        authority = None
        if path.lower().startswith(("http://", "https://")):
            authority, _, rest = path.split("://", 1)[1].partition("/")
            path = "/" + rest
        length = body_length(self.headers)
        chunked = length is None
        body = DechunkedInput(self.rfile) if chunked else LimitedInput(self.rfile, length)
        environ = {
            "REQUEST_METHOD": self.command, "SCRIPT_NAME": "", "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": str(self.server.server_address[1]),
            "SERVER_PROTOCOL": self.request_version, "REMOTE_ADDR": self.client_address[0],
            "REMOTE_PORT": str(self.client_address[1]), "wsgi.version": (1, 0), "wsgi.url_scheme": "http",
            "wsgi.input": body, "wsgi.input_terminated": chunked, "wsgi.errors": sys.stderr,
            "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
        }
        for name, value in self.headers.items():
            if "_" in name:  # WSGI cannot tell X_Foo from X-Foo; drop the ambiguous one, as werkzeug does
                continue
            key = name.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                environ[key] = value
            elif key != "CONTENT_LENGTH":
                key = "HTTP_" + key
                environ[key] = f"{environ[key]},{value}" if key in environ else value
        if not chunked and self.headers.get("Content-Length") is not None:
            environ["CONTENT_LENGTH"] = str(length)
        if authority is not None:
            environ["HTTP_HOST"] = authority  # even when empty: the guard refuses what is not this stand-in
        return environ

    def run_wsgi(self) -> None:
        try:
            environ = self.environ()
        except BadFraming as error:
            self.close_connection = True
            self.send_error(400, "Bad Request", str(error))
            return
        sent: dict = {}

        def start_response(status: str, headers: list, exc_info=None):
            sent["status"], sent["headers"] = status, headers
            return self.wfile.write

        try:
            chunks = self.app(environ, start_response)
            try:
                self._write(environ, sent, chunks)
            finally:
                getattr(chunks, "close", lambda: None)()
        except (TimeoutError, ConnectionError):
            self.close_connection = True
            return
        except Exception:
            traceback.print_exc()
            if "written" not in sent:
                self.send_error(500)
            self.close_connection = True
            return
        body = environ["wsgi.input"]
        if isinstance(body, LimitedInput) and not self.close_connection:
            body.drain()  # the next request starts after this one's body
        else:
            discard(body, self.connection)
            self.close_connection = True

    def _write(self, environ: dict, sent: dict, chunks) -> None:
        iterator = iter(chunks)
        first = next(iterator, b"")  # start_response has been called once the first chunk exists
        code = int(sent["status"].split()[0])
        self.send_response(code, sent["status"].partition(" ")[2] or None)
        names = set()
        for name, value in sent["headers"]:
            names.add(name.lower())
            self.send_header(name, value)
        head = environ["REQUEST_METHOD"] == "HEAD"
        chunked = "content-length" not in names and code not in (204, 304) and not head
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self._headers_buffer.append(b"\r\n")
        if not chunked and not head:
            self._headers_buffer.append(first)  # headers and a small body leave in one packet
        self.flush_headers()
        sent["written"] = True
        if head:
            return
        for chunk in itertools.chain([first], iterator) if chunked else iterator:
            if chunk and chunked:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            elif chunk:
                self.wfile.write(chunk)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def log_request(self, code="-", size="-") -> None:
        if str(code).startswith(("2", "3")) and self.path.startswith(QUIET_PATHS):
            return
        super().log_request(code, size)

    def log_message(self, format: str, *args) -> None:
        if getattr(self, "raw_requestline", b"").startswith(b"\x16\x03"):
            return  # a TLS hello: the docker daemon tries https before plain http on loopback registries
        sys.stderr.write(f"{self.address_string()} - [{self.log_date_time_string()}] {format % args}\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def make_server(sock: socket.socket, app: Callable) -> Server:
    """A server for ``app`` on an already bound and listening socket."""
    handler = type("EdgeHandler", (Handler,), {"app": staticmethod(app)})
    server = Server(sock.getsockname(), handler, bind_and_activate=False)
    server.socket.close()
    server.socket = sock
    return server
