"""A submission's Docker in a class batch: the Engine API calls that push its own image, and nothing else.

In deploy mode with a Docker engine, notebook 04's ``registry.push()`` (the student's code, in a sandboxed child)
logs Docker in to the submission's private stand-in, tags the image the grader built from its Dockerfile and
pushes it. The child never sees the engine's socket: its ``DOCKER_HOST`` is a port that the sandbox's tunnel
(:class:`checks.sandbox.tunnel.Tunnel`) leads here, a unix socket in a folder of the grader's, where each
request is read whole (:mod:`h11`) and passed to the engine only when :func:`refusal` finds nothing against it:

- ``/_ping`` and ``/version``;
- ``/auth`` to the stand-in's registry (the engine would otherwise reach any address it is given);
- reading, and tagging into the stand-in's registry, the one local image the grader made for it;
- pushing what it tagged here, and only that.

Anything else (``run``, ``build``, ``pull``, another image, another registry, listing the engine's images) is
answered ``403`` with Docker's JSON error, which the CLI prints. Each request goes upstream with
``Connection: close`` and its answer comes back as the engine streams it.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import tempfile
import threading
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import h11

from localcloud import relay

ENGINE = "/var/run/docker.sock"
PORT = 2375  # the child's DOCKER_HOST is tcp://127.0.0.1:PORT, inside its own network namespace
MAX_BODY = 64_000
AT_ONCE = 8  # connections served together; the CLI opens one or two
VERSIONED = re.compile(r"^/v1\.\d+(?=/)")
IMAGE_CALL = re.compile(r"^/images/(?P<name>.+)/(?P<call>json|history|tag|push)$")
REPOSITORY = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")  # Docker's path grammar
TAG = re.compile(r"^[\w][\w.-]{0,127}$")


def with_tag(name: str) -> str:
    """``name`` with Docker's default tag when it names none (``repo`` is ``repo:latest``)."""
    return name if re.search(r":[\w][\w.-]*$", name.rsplit("/", 1)[-1]) else f"{name}:latest"


class DockerGate:
    """The engine API for one submission: it may tag ``image`` into ``registry`` (``host:port``) and push that."""

    def __init__(self, image: str, registry: str, engine: str = ENGINE):
        self.image, self.engine, self.registry = with_tag(image), engine, registry
        self.tagged: set[str] = set()
        self.slots = threading.BoundedSemaphore(AT_ONCE)
        self.folder = Path(tempfile.mkdtemp(prefix="lab-docker-"))  # 0700: the grader's own
        self.path = self.folder / "docker.sock"
        self.listener = relay.bind_unix(str(self.path))

    def __enter__(self) -> DockerGate:
        self.listener.listen(16)
        threading.Thread(target=relay.serve_forever, args=(self.listener, self._serve), daemon=True).start()
        return self

    def __exit__(self, *_) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def refusal(self, method: str, target: str, body: bytes) -> str | None:
        """Why this request may not reach the engine, or None when it may (recording a tag it makes)."""
        if not target.startswith("/") or target.startswith("//"):  # the engine must route the path read here
            return f"{target[:80]!r} is not a path"
        address = urlsplit(target)
        path, query = VERSIONED.sub("", address.path), parse_qs(address.query)
        if path in ("/_ping", "/version") and method in ("GET", "HEAD"):
            return None
        if path == "/auth" and method == "POST":
            try:
                server = str(json.loads(body or b"{}").get("serveraddress", ""))
            except (ValueError, AttributeError):
                return "the login request is not JSON"
            host = re.sub(r"^https?://", "", server).rstrip("/")
            return None if host == self.registry else f"logging in to {server!r}: only {self.registry} is this stand-in's"
        found = IMAGE_CALL.match(path)
        if not found:
            return f"{method} {path}: the grader's Docker only logs in, tags and pushes this submission's image"
        name, call = with_tag(unquote(found["name"])), found["call"]
        if call in ("json", "history") and method == "GET":
            return None if name == self.image or name in self.tagged else f"{name} is not this submission's image"
        if call == "tag" and method == "POST":
            repo, tag = query.get("repo", [""])[0], query.get("tag", ["latest"])[0] or "latest"
            if name != self.image:
                return f"tagging {name}: only {self.image} (the image built from your Dockerfile) is yours"
            if not repo.startswith(f"{self.registry}/"):
                return f"tagging into {repo!r}: only this stand-in's registry {self.registry} is reachable"
            if not (REPOSITORY.match(repo.split("/", 1)[1]) and TAG.match(tag)):
                return f"{repo}:{tag} is not an image name Docker accepts"
            self.tagged.add(with_tag(f"{repo}:{tag}"))
            return None
        if call == "push" and method == "POST":
            tag = query.get("tag", [""])[0]
            if not tag:  # the engine would push every tag of the repository
                return f"pushing every tag of {name}: push the one tag you made"
            pushed = f"{name.rsplit(':', 1)[0]}:{tag}"
            return None if pushed in self.tagged else f"pushing {pushed}: only an image tagged here may be pushed"
        return f"{method} {path}: the grader's Docker only logs in, tags and pushes this submission's image"

    def _serve(self, client: socket.socket) -> None:
        if not self.slots.acquire(blocking=False):  # a flood of connections costs the grader no more threads
            answer(client, 429, f"more than {AT_ONCE} connections at once")
            client.close()
            return
        try:
            self._answer(client)
        finally:
            self.slots.release()

    def _answer(self, client: socket.socket) -> None:
        with client:
            client.settimeout(30)
            try:
                request, body = read_request(client)
            except (OSError, h11.ProtocolError, ValueError) as error:
                return answer(client, 400, f"bad request: {error}")
            method, target = request.method.decode(), request.target.decode("latin-1")
            if reason := self.refusal(method, target, body):
                return answer(client, 403, f"refused by the grader: {reason}")
            headers = [(k, v) for k, v in request.headers if k.lower() not in (b"connection", b"content-length",
                                                                               b"transfer-encoding", b"host")]
            head = f"{method} {target} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\nContent-Length: {len(body)}\r\n"
            head += "".join(f"{k.decode('latin-1')}: {v.decode('latin-1')}\r\n" for k, v in headers)
            client.settimeout(None)
            try:
                upstream = relay.to_unix(self.engine)()
            except OSError:
                return answer(client, 502, "the Docker engine is not running")
            with upstream:
                upstream.sendall(head.encode("latin-1") + b"\r\n" + body)
                relay.pump(upstream, client)


def read_request(client: socket.socket) -> tuple[h11.Request, bytes]:
    """One whole request (its body at most :data:`MAX_BODY` bytes)."""
    connection, request, body = h11.Connection(h11.SERVER), None, b""
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            data = client.recv(65536)
            connection.receive_data(data)
            if not data and connection.their_state is not h11.DONE:
                raise ValueError("the connection closed mid-request")
            continue
        if isinstance(event, h11.Request):
            request = event
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_BODY:
                raise ValueError("the request body is too large")
        elif isinstance(event, h11.EndOfMessage) and request is not None:
            return request, body
        elif isinstance(event, h11.ConnectionClosed):
            raise ValueError("the connection closed mid-request")


def answer(client: socket.socket, status: int, message: str) -> None:
    """Docker's error shape (``{"message": ...}``), which the CLI prints as the command's error."""
    body = json.dumps({"message": message}).encode()
    reason = {400: "Bad Request", 403: "Forbidden", 429: "Too Many Requests", 502: "Bad Gateway"}[status]
    with contextlib.suppress(OSError):
        client.sendall(f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                       f"Connection: close\r\n\r\n".encode() + body)
