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
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode

import h11

from localcloud import relay

ENGINE = "/var/run/docker.sock"
PORT = 2375  # the child's DOCKER_HOST is tcp://127.0.0.1:PORT, inside its own network namespace
MAX_BODY = 64_000
AT_ONCE = 8  # connections served together; the CLI opens one or two
VERSIONED = re.compile(r"^(?P<version>/v1\.\d{1,3})?(?P<path>/.*)$")
IMAGE_CALL = re.compile(r"^/images/(?P<name>.+)/(?P<call>json|history|tag|push)$")
REPOSITORY = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*\Z")  # Docker's path grammar
TAG = re.compile(r"^[\w][\w.-]{0,127}\Z")
LOGIN_FIELDS = frozenset({"username", "password", "serveraddress", "email", "auth", "identitytoken", "registrytoken"})
PASSED_HEADERS = {"push": (b"x-registry-auth",)}  # besides User-Agent: nothing else of the client's goes upstream


class Refused(Exception):
    """The request may not reach the engine; the message says why, in the student's terms."""


@dataclass(frozen=True)
class Upstream:
    """The request the engine gets: rebuilt from what was checked, never the client's own bytes."""

    method: str
    target: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    tags: str | None = None  # the name a tag call makes, recorded once the engine has made it


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

    def refusal(self, method: str, target: str, body: bytes = b"", headers: dict[bytes, bytes] | None = None) -> str | None:
        """Why this request may not reach the engine, or None when it may."""
        try:
            self.admit(method, target, body, headers or {})
        except Refused as refused:
            return str(refused)
        return None

    def admit(self, method: str, target: str, body: bytes, headers: dict[bytes, bytes]) -> Upstream:
        """The engine's request for this one, rebuilt from the values checked here.

        Raises:
            Refused: anything but logging in to the stand-in, reading and tagging this submission's image into its
                registry, and pushing what was tagged here.
        """
        version, path, query = parts(target)
        if path in ("/_ping", "/version") and method in ("GET", "HEAD") and not query and not body:
            return Upstream(method, version + path)
        if path == "/auth" and method == "POST" and not query:
            login = login_fields(body)
            host = re.sub(r"^https?://", "", str(login.get("serveraddress", ""))).rstrip("/")
            if host != self.registry:
                raise Refused(f"logging in to {host!r}: only {self.registry} is this stand-in's")
            return Upstream(method, version + path, json.dumps(login).encode(), (("Content-Type", "application/json"),))
        found = IMAGE_CALL.match(path)
        if not found or body:
            raise Refused(f"{method} {path}: the grader's Docker only logs in, tags and pushes this submission's image")
        name, call = with_tag(found["name"]), found["call"]
        passed = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in headers.items()
                       if k in (b"user-agent", *PASSED_HEADERS.get(call, ())))
        if call in ("json", "history") and method == "GET" and not query:
            if name != self.image and name not in self.tagged:
                raise Refused(f"{name} is not this submission's image")
            return Upstream(method, f"{version}/images/{quote(name, safe=':/')}/{call}", headers=passed)
        if call == "tag" and method == "POST" and set(query) <= {"repo", "tag"} and "repo" in query:
            repo, tag = query["repo"], query.get("tag", "latest")
            if name != self.image:
                raise Refused(f"tagging {name}: only {self.image} (the image built from your Dockerfile) is yours")
            if not repo.startswith(f"{self.registry}/"):
                raise Refused(f"tagging into {repo!r}: only this stand-in's registry {self.registry} is reachable")
            if not (REPOSITORY.match(repo.split("/", 1)[1]) and TAG.match(tag)):
                raise Refused(f"{repo}:{tag} is not an image name Docker accepts")
            return Upstream(method, f"{version}/images/{quote(name, safe=':/')}/tag?{urlencode({'repo': repo, 'tag': tag})}",
                            headers=passed, tags=f"{repo}:{tag}")
        if call == "push" and method == "POST" and set(query) == {"tag"}:
            tag, repository = query["tag"], found["name"]
            if ":" in repository.rsplit("/", 1)[-1] or not TAG.match(tag):
                raise Refused(f"pushing {repository} with tag {tag!r}: push the one name you tagged")
            if f"{repository}:{tag}" not in self.tagged:
                raise Refused(f"pushing {repository}:{tag}: only an image tagged here may be pushed")
            return Upstream(method, f"{version}/images/{quote(repository, safe=':/')}/push?{urlencode({'tag': tag})}",
                            headers=passed)
        raise Refused(f"{method} {path}: the grader's Docker only logs in, tags and pushes this submission's image")

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
                headers = {k.lower(): v for k, v in request.headers}
                upstream = self.admit(request.method.decode(), request.target.decode("latin-1"), body, headers)
            except Refused as refused:
                return answer(client, 403, f"refused by the grader: {refused}")
            except Exception as error:  # noqa: BLE001 - whatever the client sent: refused, and the grader goes on
                return answer(client, 400, f"bad request: {type(error).__name__}: {str(error)[:200]}")
            client.settimeout(None)
            try:
                engine = relay.to_unix(self.engine)()
            except OSError:
                return answer(client, 502, "the Docker engine is not running")
            with engine:
                head = f"{upstream.method} {upstream.target} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n"
                head += f"Content-Length: {len(upstream.body)}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in upstream.headers)
                engine.sendall(head.encode("latin-1") + b"\r\n" + upstream.body)
                status = engine.recv(65536)
                if upstream.tags and status.startswith((b"HTTP/1.1 201", b"HTTP/1.0 201")):
                    self.tagged.add(upstream.tags)
                client.sendall(status)
                relay.pump(engine, client)


def parts(target: str) -> tuple[str, str, dict[str, str]]:
    """``(API version prefix, decoded path, query)`` of a request target that reads the same to this gate and to
    Docker's router.

    Raises:
        Refused: not a plain path, or a query with a key twice, a blank value or a separator Go reads otherwise.
    """
    if not target.startswith("/") or target.startswith("//") or "#" in target or "\\" in target:
        raise Refused(f"{target[:80]!r} is not a path")
    raw, _, raw_query = target.partition("?")
    if re.search(r"%2[ef]|%5c", raw, re.IGNORECASE):
        raise Refused(f"{raw[:80]!r}: an encoded '/', '.' or '\\' in a path")
    found = VERSIONED.match(unquote(raw))
    if not found or any(part in (".", "..") for part in found["path"].split("/")):
        raise Refused(f"{raw[:80]!r} is not a path")
    pairs = parse_qsl(raw_query, keep_blank_values=True, strict_parsing=True) if raw_query else []
    query = dict(pairs)
    if len(query) != len(pairs) or any(not value for value in query.values()) or ";" in raw_query:
        raise Refused("a query must give each of its values once, none of them blank")
    return found["version"] or "", found["path"], query


def login_fields(body: bytes) -> dict:
    """The fields of a login, exactly as Docker will read them: JSON object of known lower-case keys, each once."""

    def once(pairs: list[tuple[str, object]]) -> dict:
        keys = [key for key, _ in pairs]
        if len(set(keys)) != len(keys) or not set(keys) <= LOGIN_FIELDS:
            raise Refused(f"a login with the fields {sorted(keys)}: only {sorted(LOGIN_FIELDS)}, each once")
        if not all(isinstance(value, str) for _, value in pairs):
            raise Refused("a login's fields are strings")
        return dict(pairs)

    try:
        login = json.loads(body or b"{}", object_pairs_hook=once)
    except (ValueError, RecursionError):
        raise Refused("the login request is not JSON") from None
    if not isinstance(login, dict):
        raise Refused("the login request is not a JSON object")
    return login


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
