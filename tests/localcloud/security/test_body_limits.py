"""Body limits by construction: every route of the edge holds request bodies to its limit, whoever reads them."""

from __future__ import annotations

import contextlib
import io
import json
import re
import socket
import threading

import pytest

from localcloud.edge import wsgi
from localcloud.edge.router import DEFAULT_MAX_BODY, Edge, Route
from memory import PeakMemory

MB = 1024 * 1024


def greedy(environ: dict, start_response: wsgi.StartResponse) -> list[bytes]:
    """An app that reads the whole body with no limit of its own."""
    return wsgi.respond_json(start_response, 200, {"read": len(environ["wsgi.input"].read())})


def reads_in_chunks(environ: dict, start_response: wsgi.StartResponse) -> list[bytes]:
    return wsgi.respond_json(start_response, 200, {"read": len(wsgi.read_body(environ))})


def call(edge: Edge, path: str, body: bytes, declared: bool) -> tuple[str, dict]:
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "HTTP_HOST": "127.0.0.1:4566",
               "wsgi.input": io.BytesIO(body), "wsgi.input_terminated": not declared,
               "CONTENT_LENGTH": str(len(body)) if declared else "", "HTTP_TRANSFER_ENCODING": "" if declared else "chunked"}
    answer = {}
    chunks = edge(environ, lambda status, headers, exc_info=None: answer.update(status=status))
    return answer["status"], json.loads(b"".join(chunks))


@pytest.mark.parametrize("declared", [True, False], ids=["Content-Length", "chunked"])
@pytest.mark.parametrize("app", [greedy, reads_in_chunks])
def test_no_app_reads_past_its_routes_limit_nor_past_the_default(app, declared):
    edge = Edge(port=4566, control=Route("control", re.compile(""), app, max_body=3000),
                status=dict, health=dict)
    edge.register(Route("small", re.compile("^/small$"), app, max_body=1000))
    edge.register(Route("default", re.compile("^/default$"), app))
    for path, limit in (("/small", 1000), ("/default", DEFAULT_MAX_BODY), ("/anything", 3000)):
        assert call(edge, path, b"x" * limit, declared) == ("200 OK", {"read": limit})
        status, answer = call(edge, path, b"x" * (limit + 1), declared)
        assert status.startswith("413") and answer == {"message": "Request Entity Too Large"}


@pytest.mark.integration
@pytest.mark.parametrize("lab", ["host"], indirect=True)
def test_every_route_of_the_stand_in_has_a_body_limit(lab):
    routes = lab.status()["routes"]  # the route table itself, control plane included
    assert {"invoke", "execute-api", "registry", "registry-blob-uploads", "host-images", "cloud-run",
            "control-plane"} <= {route["name"] for route in routes}
    unlimited = [route["name"] for route in routes if not isinstance(route["max_body"], int) or route["max_body"] <= 0]
    assert unlimited == []
    limits = {route["name"]: route["max_body"] for route in routes}
    assert (limits["registry"], limits["invoke"], limits["execute-api"], limits["cloud-run"]) == (
        4 * MB, 6 * MB, 10 * MB, 32 * MB)


def put_manifest(lab, headers: dict[str, str], send) -> tuple[int, bytes]:
    """PUT a manifest with the given framing, fed by ``send(socket)`` in a thread; (status, body) of the answer."""
    sock = socket.create_connection(("127.0.0.1", lab.cloud.port), timeout=30)
    head = (f"PUT /v2/lc-tests/manifests/huge HTTP/1.1\r\nHost: {lab.host}\r\n"
            "Content-Type: application/vnd.docker.distribution.manifest.v2+json\r\n")
    sock.sendall((head + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode())

    def feed():
        with contextlib.suppress(OSError):  # the stand-in closes the connection once it has answered
            send(sock)
    threading.Thread(target=feed, daemon=True).start()
    answer = b""
    with contextlib.suppress(OSError):
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    sock.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.integration
@pytest.mark.parametrize("lab", ["host"], indirect=True)
def test_a_huge_manifest_is_refused_while_it_is_read_without_the_stand_in_growing(lab):
    size = 256 * MB

    def chunked(sock):
        block = b"%x\r\n%s\r\n" % (MB, b" " * MB)
        for _ in range(size // MB):
            sock.sendall(block)
        sock.sendall(b"0\r\n\r\n")

    with PeakMemory(lab.cloud.pid) as memory:
        declared = put_manifest(lab, {"Content-Length": str(size)}, lambda sock: sock.sendall(b" " * 8 * MB))
        streamed = put_manifest(lab, {"Transfer-Encoding": "chunked"}, chunked)
    for status, body in (declared, streamed):
        assert status == 400 and json.loads(body)["errors"][0]["code"] == "MANIFEST_INVALID"
    assert memory.rise_mb < 40  # 4 MiB of a manifest at most, never the 256 MB sent
