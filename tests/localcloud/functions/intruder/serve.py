"""The intruder as a Cloud Run container: ``POST /`` with the event as JSON answers the handler's report.

Listens on ``0.0.0.0:$PORT``, as Google's samples do.
"""

import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

import app


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        event = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        body = json.dumps(app.handler(event, None)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


HTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
