"""Answers from the code the stand-in runs are read within the providers' limits, never whole."""

from __future__ import annotations

import http.client
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from localcloud.aws.awslambda.answers import MAX_RESPONSE, classify
from localcloud.aws.awslambda.environment import read_capped
from localcloud.aws.ecr import images, layers
from memory import PeakMemory

MB = 1024 * 1024


class Flood(BaseHTTPRequestHandler):
    """Answers ``POST /declared/N`` with N bytes and their Content-Length, ``POST /chunked/N`` with N bytes chunked."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        framing, size = self.path.strip("/").split("/")
        chunked, left = framing == "chunked", int(size)
        self.send_response(200)
        self.send_header("Transfer-Encoding" if chunked else "Content-Length", "chunked" if chunked else size)
        self.end_headers()
        try:
            while left:
                block = b"x" * min(MB, left)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
                left -= len(block)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the reader hung up
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def flood():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Flood)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


@pytest.mark.parametrize("framing", ["declared", "chunked"])
def test_a_lambda_answer_over_6_mb_is_cut_at_the_limit_not_read_whole(flood, framing):
    connection = http.client.HTTPConnection("127.0.0.1", flood, timeout=30)
    with PeakMemory(os.getpid()) as memory:
        connection.request("POST", f"/{framing}/{200 * MB}", body=b"{}")
        body = read_capped(connection.getresponse(), MAX_RESPONSE)
        connection.close()
    assert body is None
    assert memory.rise_mb < 3 * MAX_RESPONSE / MB  # at most the limit's worth, never the 200 MB answer
    verdict = classify(200, body, "request-id", "2026-12-06T00:00:00.000Z")
    assert (verdict.status, json.loads(verdict.payload)) == ("error", {
        "errorType": "Function.ResponseSizeTooLarge",
        "errorMessage": f"Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE} bytes)."})


@pytest.mark.parametrize("framing", ["declared", "chunked"])
def test_an_answer_of_exactly_6_mb_is_read_whole(flood, framing):
    connection = http.client.HTTPConnection("127.0.0.1", flood, timeout=30)
    connection.request("POST", f"/{framing}/{MAX_RESPONSE}", body=b"{}")
    assert len(read_capped(connection.getresponse(), MAX_RESPONSE)) == MAX_RESPONSE
    connection.close()


class EndlessConfig:
    """A registry whose config blobs are ``size`` bytes long, produced as they are read."""

    def __init__(self, size: int):
        self.size = size

    def blob(self, repository: str, digest: str):
        left = [self.size]

        class Stream:
            @staticmethod
            def read(amount: int = -1) -> bytes:
                amount = left[0] if amount is None or amount < 0 else min(amount, left[0])
                left[0] -= amount
                return b" " * amount

            @staticmethod
            def release_conn() -> None:
                pass
        return Stream()


def test_an_image_config_is_read_up_to_4_mib_not_whole():
    manifest = {"config": {"digest": "sha256:" + "0" * 64}}
    with PeakMemory(os.getpid()) as memory, pytest.raises(layers.TooLarge, match="config is over"):
        images.read_config(EndlessConfig(200 * MB), "r", manifest)
    assert memory.rise_mb < 3 * images.MAX_CONFIG / MB
