"""A test container for Cloud Run's contract: answers GET /?sleep=S after S seconds with what it saw.

The answer names the instance's environment (PORT, K_SERVICE, K_REVISION, K_CONFIGURATION),
its user id, whether / is writable, how many requests this instance was serving at once, and the
Host it was sent. ``GET /redirect?to=PATH`` answers 302 with the root-relative ``Location: PATH``.
GET /?bytes=N answers N bytes instead (with their Content-Length, or chunked with &chunked=1).
"""

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

lock = threading.Lock()
in_flight = 0
INSTANCE = os.urandom(4).hex()


def writable(path: str) -> bool:
    try:
        with open(path, "w") as handle:
            handle.write("x")
        return True
    except OSError:
        return False


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        global in_flight
        url = urlparse(self.path)
        query = parse_qs(url.query)
        if "bytes" in query:
            return self.send_bytes(int(query["bytes"][0]), "chunked" in query)
        if url.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", parse_qs(url.query)["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with lock:
            in_flight += 1
            seen = in_flight
        time.sleep(float(parse_qs(urlparse(self.path).query).get("sleep", ["0"])[0]))
        with lock:
            in_flight -= 1
        body = json.dumps({
            "env": {k: os.environ.get(k) for k in ("PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION")},
            "uid": os.getuid(), "root_writable": writable("/probe"), "tmp_writable": writable("/tmp/probe"),
            "in_flight": seen, "instance": INSTANCE, "path": self.path, "host": self.headers.get("Host")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_bytes(self, size: int, chunked: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding" if chunked else "Content-Length", "chunked" if chunked else str(size))
        self.end_headers()
        block = b"x" * 1024 * 1024
        try:
            while size > 0:
                piece = block[:size]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                size -= len(piece)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client went away
            pass

    def log_message(self, *args):
        pass


ThreadingHTTPServer((os.environ.get("HOST", "0.0.0.0"), int(os.environ["PORT"])), Handler).serve_forever()
