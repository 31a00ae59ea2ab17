"""The stand-in process (``python -m localcloud serve``): assembles the parts and runs the edge.

Start-up order: claim LOCALCLOUD_HOME and the port, pick the mode, start the registry,
restore the saved control-plane state, start the runtime, serve. SIGTERM / SIGINT stop
it cleanly: environments and containers removed, state saved, registry stopped.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import secrets
import signal
import socket
import threading
import time
from pathlib import Path

import lambda_rie

from . import backends, engine, httpserver, motofixes, children, settings
from .apigateway_api import ApiGatewayHook
from .catalog import Catalog, LambdaError
from .control import ControlPlane
from .ecr_api import EcrHook
from .edge import Edge
from .functions import ImageStore
from .gateway import Gateway
from .gcp import CloudRun, Repositories
from .host_images import HostImages
from .invoke import InvokeApi
from .lambda_api import LambdaHook
from .lambdalog import LogSink
from .logs_api import LogsHook
from .persistence import StateStore
from .registry import Registry, RegistryUnavailable
from .registry_proxy import RegistryProxy
from .runtime import Runtime


class Prerequisite(RuntimeError):
    """Something the stand-in needs is missing; the message says what to do."""


def claim_home(home: Path):
    """An exclusive lock on LOCALCLOUD_HOME, held for the life of the process."""
    for folder in ("logs", "run", "state", "registry", "images"):
        (home / folder).mkdir(parents=True, exist_ok=True)
    handle = (home / "lock").open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise Prerequisite(f"another stand-in already runs with LOCALCLOUD_HOME={home}; "
                           "stop it with `python -m localcloud down`") from None
    return handle


def claim_port(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise Prerequisite(f"port {port} on 127.0.0.1 is in use by another program; stop it or set "
                           "LOCALCLOUD_PORT to a free port") from None
    sock.listen(128)
    return sock


def choose_mode() -> str:
    wanted = settings.mode()
    if wanted == "host":
        return "host"
    if engine.available():
        return "docker"
    if wanted == "docker":
        raise Prerequisite("LOCALCLOUD_MODE=docker, but no Docker engine answers; start one "
                           "(scripts/ensure-docker.sh) or set LOCALCLOUD_MODE=host")
    return "host"


class Server:
    def __init__(self, port: int, home: Path):
        self.port, self.home = port, home
        self.instance = secrets.token_hex(4)
        self._engine_checked = (0.0, False)
        self.edge_host = f"127.0.0.1:{port}"
        self.edge_url = f"http://{self.edge_host}"
        self._ensure_rie = functools.partial(lambda_rie.ensure_rie, cache_dir=settings.rie_cache())
        self._home_lock = claim_home(home)
        children.kill_recorded(home)  # left by a stand-in that was killed
        self.sock = claim_port(port)
        self.mode = choose_mode()
        try:
            self._ensure_rie(lambda_rie.host_arch())
        except lambda_rie.RieUnavailable as error:
            raise Prerequisite(str(error)) from None
        if engine.available(timeout=5):  # and its containers
            engine.remove(engine.containers(engine.LABEL_HOME, str(home)))
        self.registry = Registry(home, self.edge_url, self.instance)
        try:
            self.registry.start()
        except RegistryUnavailable as error:
            raise Prerequisite(str(error)) from None
        self._assemble()

    def _assemble(self) -> None:
        motofixes.install()
        self.control = ControlPlane([], settings.default_region(), self._changed)
        lock = self.control.lock
        self.state = StateStore(self.home, lock)
        print(f"localcloud: {self.state.load()}", flush=True)
        store = ImageStore(self.registry, self.home / "images", self.edge_host, docker=self.mode == "docker")
        self.catalog = Catalog(self.registry, (self.edge_host, f"localhost:{self.port}"))
        self.sink = LogSink(self._put_logs)
        self.runtime = Runtime(
            store, self.sink, self._ensure_rie, home=self.home, instance=self.instance,
            extra_env={"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "test",
                       "AWS_ENDPOINT_URL": self.edge_url},
            idle_timeout=settings.idle_timeout(), max_concurrency=settings.max_concurrency(),
            resolve=self.catalog.resolve)
        ecr = EcrHook(self.registry, self.edge_host, lock)
        lambda_hook = LambdaHook(self.catalog, store, self.runtime, lock, self._changed)
        apigateway = ApiGatewayHook(self.edge_url, lock, self._changed)
        self.control.hooks = [ecr, lambda_hook, apigateway, LogsHook(self.runtime)]
        self.cloudrun = CloudRun(self.edge_url, home=self.home, instance=self.instance,
                                 idle_timeout_s=settings.run_idle_timeout())
        apigateway.restore()
        lambda_hook.restore([fn for _, _, backend in backends.existing("lambda") for fn in backend.list_functions()])
        self.edge = Edge(control=self.control, invoke=InvokeApi(self.catalog, self.runtime, settings.default_region()),
                         gateway=Gateway(self.catalog, self.runtime, self.port),
                         registry=RegistryProxy(self.registry, Repositories(ecr), self._changed),
                         host_images=HostImages(self.registry, ecr, self.edge_host, self._changed),
                         status=self.status, health=self.health, cloudrun=self.cloudrun)

    def _changed(self) -> None:
        self.state.changed()

    def _put_logs(self, destination: tuple, events: list[dict]) -> None:
        account, region, group, stream = destination
        with self.control.lock:
            logs = backends.service("logs", account, region)
            if group not in logs.groups:
                try:
                    self.catalog.function(account, region, group.removeprefix("/aws/lambda/"))
                except LambdaError:
                    return  # the last words of a deleted function's environments: AWS keeps no such logs
                logs.ensure_log_group(group)  # Lambda creates /aws/lambda/NAME on first use
            if stream not in logs.groups[group].streams:
                logs.create_log_stream(group, stream)
            logs.put_log_events(group, stream, events)
        self.state.changed(urgent=False)

    def health(self) -> dict[str, bool]:
        components = {"edge": True, "registry": self.registry.running and self.registry.healthy(),
                      "control_plane": True, "runtime": self.runtime.pools.healthy()}
        if self.mode == "docker":
            if time.monotonic() - self._engine_checked[0] > 5:  # `docker version` takes ~0.1 s: ask every 5 s at most
                self._engine_checked = (time.monotonic(), engine.available(timeout=5))
            components["docker_engine"] = self._engine_checked[1]
        return components

    def status(self) -> dict:
        return {"service": "localcloud", "mode": self.mode, "endpoint": self.edge_url, "instance": self.instance,
                "pid": os.getpid(), "home": str(self.home), "registry": self.registry.url,
                "components": {name: "healthy" if ok else "unhealthy" for name, ok in self.health().items()},
                "functions": self.runtime.pools.status(), "cloud_run": self.cloudrun.status()}

    def serve(self) -> None:
        server = httpserver.make_server(self.sock, self.edge)
        stopping = threading.Event()

        def stop(*_):
            if not stopping.is_set():
                stopping.set()
                threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        threading.Thread(target=self._watch_registry, args=(stopping,), daemon=True).start()
        self.state.start()
        info = {"pid": os.getpid(), "port": self.port, "instance": self.instance, "mode": self.mode,
                "home": str(self.home), "endpoint": self.edge_url, "started": time.time()}
        (self.home / "instance.json").write_text(json.dumps(info))
        print(f"localcloud: serving {self.edge_url} in {self.mode} mode (instance {self.instance})", flush=True)
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            self.shutdown()

    def _watch_registry(self, stopping: threading.Event) -> None:
        while not stopping.wait(2):
            if not self.registry.running:
                print("localcloud: the registry stopped; restarting it", flush=True)
                try:
                    self.registry.start()
                except RegistryUnavailable as error:
                    print(f"localcloud: {error}", flush=True)

    def shutdown(self) -> None:
        """Each step runs even when an earlier one fails: nothing may outlive the stand-in."""
        print("localcloud: stopping", flush=True)
        steps = (self.runtime.shutdown, self.cloudrun.shutdown, lambda: self.runtime.flush_logs(timeout=2), self.state.close,
                 self.registry.stop, self._remove_containers, (self.home / "instance.json").unlink)
        for step in steps:
            try:
                step()
            except Exception as error:
                print(f"localcloud: while stopping: {error!r}", flush=True)
        print("localcloud: stopped", flush=True)

    def _remove_containers(self) -> None:
        if engine.available(timeout=5):
            engine.remove(engine.containers(engine.LABEL_INSTANCE, self.instance))


def serve(port: int | None = None, home: Path | None = None) -> None:
    """Run the stand-in in this process until SIGTERM or Ctrl-C."""
    Server(port or settings.port(), home or settings.home()).serve()
