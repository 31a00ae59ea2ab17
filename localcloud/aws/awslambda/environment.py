"""One Lambda execution environment: the AWS Runtime Interface Emulator running awslambdaric.

Docker mode runs the function's image with the RIE as entrypoint (SAM CLI's recipe) in a
container with no network but its own loopback, where the RIE listens; the stand-in reaches
its invoke port through a forwarder in the container's network namespace, on a unix socket
(:mod:`localcloud.bridge`), and its runtime API stays inside. The RIE binary is mounted
read-only, so images without it work too. Host mode runs the RIE as a process with this
Python over the image's extracted /var/task: where the system allows it, as a user of its own
in namespaces of its own (:mod:`localcloud.namespaces`), reached the same way. Either way the
environment serves strictly one request at a time (the RIE cannot do more, and neither does Lambda).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import secrets
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from lambda_rie import WaitTimeout, free_port, listening, wait_for
from lambda_rie.run import INSIDE, INVOKE_PATH
from localcloud import children, engine, namespaces
from localcloud.aws.awslambda import launchers
from localcloud.aws.awslambda.functions import FunctionSpec, LaunchPlan
from localcloud.aws.awslambda.lambdalog import LogParser
from localcloud.bridge import Bridge, BridgeError

GRACE_S = 5.0  # beyond the function timeout, before an unanswered invoke counts as a dead environment
MAX_LINE_BYTES = 256 * 1024  # the longest piece of output read as one line (a longer line arrives in pieces)


def read_capped(response: http.client.HTTPResponse, limit: int) -> bytes | None:
    """The answer's body, read up to ``limit`` bytes and never further; None for a longer one (left unread when its
    Content-Length says so, else cut one byte past the limit)."""
    length = response.getheader("Content-Length", "")
    if length.isdigit() and int(length) > limit:
        return None
    body = response.read(limit + 1)
    return None if len(body) > limit else body


class EnvironmentGone(RuntimeError):
    """The environment stopped answering (crashed, killed, or never started)."""


class Ports:
    """Hands out free loopback ports, never the same one twice while it is in use."""

    def __init__(self):
        self._used: set[int] = set()
        self._lock = threading.Lock()

    def take(self) -> int:
        with self._lock:
            while True:
                port = free_port()
                if port not in self._used:
                    self._used.add(port)
                    return port

    def give_back(self, *ports: int) -> None:
        with self._lock:
            self._used.difference_update(ports)


class Environment:
    """An RIE serving one function version; ``generation`` says which code and configuration it runs."""

    def __init__(self, spec: FunctionSpec, *, ports: Ports, sockets: Path, home: Path, instance: str,
                 extra_env: dict[str, str], provisioned: bool = False, clock: Callable[[], float] = time.monotonic):
        """``sockets``: the private folder where the forwarders of bridged environments bind their sockets."""
        self.spec = spec
        self.plan: LaunchPlan | None = None
        self.docker = False
        self.rie: Path | None = None
        self.ports = ports
        self.home = home
        self.instance = instance
        self.extra_env = extra_env
        self.provisioned = provisioned
        self.id = secrets.token_hex(16)
        self.generation = spec.generation
        self.log_stream = time.strftime("%Y/%m/%d/", time.gmtime()) + f"[{spec.version}]{self.id}"  # AWS's stream name
        self.sockets = sockets
        self.port, self.api_port = INSIDE  # ports of the environment's own loopback, unless it shares the host's
        self.bridge: Bridge | None = None
        self.pid: int | None = None  # the environment's first process on this machine (a container's, or the RIE's)
        self.user: int | None = None  # a confined host-mode environment's own user id
        self.busy = True  # created for the request that needs it
        self.initialized = False
        self.retiring = False
        self.last_used = clock()
        self.parser: LogParser | None = None
        self.process: subprocess.Popen | None = None
        self.container: str | None = None
        self._conn: http.client.HTTPConnection | None = None
        self._peak_mb: int | None = None
        self._peak_file: Path | None = None  # found once per environment, read on every REPORT
        self.cidfile = home / "run" / f"{self.id}.cid"

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def bridged(self) -> bool:
        """Whether the environment has a network namespace of its own, reached through a :class:`Bridge`."""
        if self.docker:
            return engine.host_networking()  # Docker Desktop's containers cannot be entered
        return self.user is not None

    def start(self, plan: LaunchPlan, rie: Path, parser: LogParser, timeout: float = 60) -> None:
        """Launch the RIE for ``plan`` and wait until it accepts connections."""
        self.plan, self.rie, self.parser = plan, rie, parser
        self.docker = plan.docker_reference is not None
        self.container = f"localcloud-{self.instance}-{self.id[:12]}" if self.docker else None
        if not self.docker and namespaces.unavailable() is None:
            self.user = namespaces.new_user()
        if not self.bridged:
            self.port, self.api_port = self.ports.take(), self.ports.take()
        command, env, cwd = (launchers.docker_command if self.docker else launchers.host_command)(self)
        self.process = children.spawn(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      env=env, cwd=cwd, start_new_session=True)
        if not self.docker:  # containers carry labels instead
            children.record(self.home, f"env-{self.id}", self.process.pid, "aws-lambda-rie", "awslambdaric")
            self.pid = self.process.pid
        threading.Thread(target=self._read_output, name=f"env-{self.id[:8]}", daemon=True).start()
        try:
            if self.bridged:
                self.pid = wait_for(self._namespace, timeout, interval=0.005, what="the environment running")
                self.bridge = Bridge(self.sockets, self.id, self.port, self.home)
                self.bridge.start(self.pid, self.container, plan.docker_reference,
                                  [f"{engine.LABEL_HOME}={self.home}", f"{engine.LABEL_INSTANCE}={self.instance}"])
            wait_for(self._listening, timeout, interval=0.005, what="the environment listening")
        except WaitTimeout:
            raise EnvironmentGone(f"the environment did not start within {timeout:.0f} s") from None
        except BridgeError as error:
            raise EnvironmentGone(str(error)) from None

    def _namespace(self) -> int:
        """The environment's first process in its own namespaces (a container's first, or the process ``unshare``
        forked, which becomes the RIE), once there is one; 0 until then."""
        self._exited("starting")
        if self.docker:
            return engine.pid(self.container)
        forked = children.children_of(self.process.pid)
        return forked[0] if forked else 0

    def _exited(self, doing: str) -> None:
        if self.process.poll() is not None:
            raise EnvironmentGone(f"the environment exited while {doing} (status {self.process.returncode})")

    def _listening(self) -> bool:
        if self.bridge.ready() if self.bridge else listening(self.port):
            return True
        self._exited("starting")
        return False

    def function_env(self) -> dict[str, str]:
        """The variables Lambda sets (configuration-envvars.html), after the function's own."""
        spec = self.spec
        env = dict(spec.environment)
        env.update(self.extra_env)
        env.update({
            "AWS_LAMBDA_FUNCTION_NAME": spec.name, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
            "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(spec.timeout),  # not AWS's: the RIE enforces the timeout from it
            "AWS_REGION": spec.region, "AWS_DEFAULT_REGION": spec.region,
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}", "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "provisioned-concurrency" if self.provisioned else "on-demand",
            "TZ": ":UTC",
        })
        return env

    def _read_output(self) -> None:
        """Feed the runtime's output to the parser a line at a time; a line longer than
        :data:`MAX_LINE_BYTES` arrives in pieces, so no line is ever held whole."""
        while raw := self.process.stdout.readline(MAX_LINE_BYTES):
            self.parser.feed(raw.decode("utf-8", "replace"))

    def address(self) -> str:
        """Where the stand-in reaches the RIE's invoke API: ``unix:SOCKET``, or a loopback URL when not bridged."""
        return f"unix:{self.bridge.path}" if self.bridge else f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None and (self.bridge is None or self.bridge.alive())

    def stop(self) -> None:
        """Shut the environment down (AWS's Shutdown phase, without its grace period)."""
        if self._conn:
            self._conn.close()
        if self.container:
            engine.remove([self.container])
        if self.bridge:
            self.bridge.stop()
        if self.process:  # the RIE's process group, with the runtime it started (even when the RIE already died)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.cidfile.unlink(missing_ok=True)
        children.forget(self.home, f"env-{self.id}")
        if not self.bridged:
            self.ports.give_back(self.port, self.api_port)

    # -- invoking ------------------------------------------------------------------------
    def send(self, payload: bytes, headers: dict[str, str]) -> None:
        """Send one invoke; read the answer with :meth:`receive`."""
        if self._conn is None:
            timeout = self.spec.timeout + GRACE_S
            self._conn = self.bridge.connection(timeout) if self.bridge else \
                http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            self._conn.request("POST", INVOKE_PATH, body=payload, headers=headers)
        except OSError as error:
            self._conn = None
            raise EnvironmentGone(f"the environment refused the invoke: {error}") from None

    def answered_within(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the answer to start arriving."""
        sock = self._conn.sock if self._conn else None
        return sock is None or bool(select.select([sock], [], [], max(seconds, 0))[0])

    def receive(self, limit: int) -> tuple[int, bytes | None]:
        """The invoke's answer: (status, body), the body read up to ``limit`` bytes and never further; None for a
        longer one (what the workload sends is its own to choose), whose connection is then closed unread."""
        try:
            response = self._conn.getresponse()
            body = read_capped(response, limit)
            if body is None:
                self._conn.close()
                self._conn = None
            return response.status, body
        except (OSError, http.client.HTTPException) as error:
            self._conn = None
            raise EnvironmentGone(f"the environment stopped answering: {error}") from None

    def max_memory_mb(self) -> int | None:
        """Peak memory of the function (the runtime process, or the container's cgroup)."""
        self._peak_mb = self._measure_peak() or self._peak_mb  # a crashed runtime keeps its last reading
        return self._peak_mb

    def _measure_peak(self) -> int | None:
        try:
            self._peak_file = self._peak_file or self._find_peak_file()
            if self._peak_file is None:
                return None
            text = self._peak_file.read_text()
            if self._peak_file.name != "status":  # a cgroup's peak, in bytes
                return -(-int(text) // 2**20)
            for line in text.splitlines():
                if line.startswith("VmHWM:"):
                    return -(-int(line.split()[1]) // 1024)
        except (OSError, ValueError):
            self._peak_file = None  # the runtime was replaced or is gone: look again next time
        return None

    def _find_peak_file(self) -> Path | None:
        """Where the function's peak memory is read: the container's cgroup, or the runtime process's status."""
        if self.container:
            cid = self.cidfile.read_text().strip()
            for path in (f"/sys/fs/cgroup/memory/docker/{cid}/memory.max_usage_in_bytes",
                         f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/memory.peak"):
                if os.path.exists(path):
                    return Path(path)
            return None
        runtimes = children.children_of(self.pid)  # the RIE's child: the runtime
        return Path(f"/proc/{runtimes[0]}/status") if runtimes else None
