"""The stand-in process (``python -m localcloud serve``): assembles the parts and runs the edge.

Start-up order: claim LOCALCLOUD_HOME and the port, pick the mode, start the registry,
restore the saved control-plane state (:class:`localcloud.cloud.Cloud`, which every service
shares), build each service from its package's ``urls.py`` (Cloud Run, Lambda and its
runtime, API Gateway, CloudWatch Logs, ECR) and register its routes and hooks, serve.
SIGTERM / SIGINT stop it cleanly: environments and containers removed, state saved,
registry stopped.
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
from localcloud import children, engine, settings
from localcloud.aws import motofixes
from localcloud.aws.apigateway import urls as apigateway_urls
from localcloud.aws.awslambda import urls as lambda_urls
from localcloud.aws.control import MAX_REQUEST, ControlPlane
from localcloud.aws.ecr import host_images
from localcloud.aws.ecr import urls as ecr_urls
from localcloud.aws.ecr.registry import Registry, RegistryUnavailable
from localcloud.aws.logs import urls as logs_urls
from localcloud.aws.persistence import StateDamaged
from localcloud.cloud import Cloud
from localcloud.edge.cheroot_server import EdgeServer, return_large_blocks
from localcloud.edge.router import ANY_PATH, Edge, Route
from localcloud.gcp import Repositories
from localcloud.gcp import urls as cloud_run_urls


class Prerequisite(RuntimeError):
    """Something the stand-in needs is missing; the message says what to do."""


HELD: list = []  # the home locks this process holds: open until it exits, whatever becomes of its Server


def claim_home(home: Path) -> None:
    """An exclusive lock on LOCALCLOUD_HOME, held for the life of the process (not of the :class:`Server`: its
    daemon threads, an image extraction among them, may still write in the home while the process exits)."""
    for folder in ("logs", "run", "state", "registry", "images"):
        (home / folder).mkdir(parents=True, exist_ok=True)
    handle = (home / "lock").open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise Prerequisite(f"another stand-in already runs with LOCALCLOUD_HOME={home}; "
                           "stop it with `python -m localcloud down`") from None
    HELD.append(handle)


def claim_port(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise Prerequisite(f"port {port} on 127.0.0.1 is in use by another program; stop it or set "
                           "LOCALCLOUD_PORT to a free port") from None
    sock.listen(settings.EDGE.listen_backlog)
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
        claim_home(home)
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
        for line in (self.registry.discard_unfinished_uploads(), host_images.discard_unfinished(home),
                     self.registry.collect_garbage()):
            print(f"localcloud: {line}", flush=True)
        try:
            self.registry.start()
        except RegistryUnavailable as error:
            raise Prerequisite(str(error)) from None
        try:
            self._assemble()
        except StateDamaged as error:
            self.registry.stop()
            raise Prerequisite(str(error)) from None

    def _assemble(self) -> None:
        """The shared state, restored; then each service, from its package's ``urls.py``; then the edge."""
        self.cloud = cloud = Cloud(self.home, self.port, self.instance, self.mode, settings.default_region(),
                                   self.registry)
        motofixes.install(cloud.table)
        self.control = ControlPlane(cloud)
        cloud.log(cloud.state.load())
        self.cloud_run = cloud_run_urls.service(cloud, idle_timeout_s=settings.run_idle_timeout(),
                                                startup_limit_s=settings.run_startup_limit())
        self.awslambda = lambda_urls.service(cloud, rie=self._ensure_rie, idle_timeout=settings.idle_timeout(),
                                             max_concurrency=settings.max_concurrency())
        control = Route("control-plane", ANY_PATH, self.control, max_body=MAX_REQUEST)  # what no route takes
        self.edge = Edge(port=self.port, control=control, status=self.status, health=self.health)
        for service in (self.cloud_run,  # before the registry's /v2: Cloud Run's Admin API v2 shares the prefix
                        self.awslambda, apigateway_urls.service(cloud, self.awslambda), logs_urls.service(self.awslambda),
                        ecr_urls.service(cloud, push_rules=Repositories)):
            for route in service.routes:
                self.edge.register(route)
            self.control.hooks += service.hooks

    def health(self) -> dict[str, bool]:
        components = {"edge": True, "registry": self.registry.running and self.registry.healthy(),
                      "control_plane": True, "runtime": self.awslambda.runtime.pools.healthy()}
        if self.mode == "docker":
            if time.monotonic() - self._engine_checked[0] > 5:  # `docker version` takes ~0.1 s: ask every 5 s at most
                self._engine_checked = (time.monotonic(), engine.available(timeout=5))
            components["docker_engine"] = self._engine_checked[1]
        return components

    def status(self) -> dict:
        return {"service": "localcloud", "mode": self.mode, "endpoint": self.edge_url, "instance": self.instance,
                "pid": os.getpid(), "home": str(self.home), "registry": self.registry.shown,
                "components": {name: "healthy" if ok else "unhealthy" for name, ok in self.health().items()},
                "functions": self.awslambda.runtime.pools.status(), "cloud_run": self.cloud_run.app.status()}

    def serve(self) -> None:
        return_large_blocks()
        server = EdgeServer(self.sock, self.edge)
        stopping = threading.Event()
        stopper = threading.Thread(target=server.stop, daemon=True)  # ends accepting, then drains the requests in flight

        def stop(*_):
            if not stopping.is_set():
                stopping.set()
                stopper.start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        threading.Thread(target=self._watch_registry, args=(stopping,), daemon=True).start()
        self.cloud.state.start()
        info = {"pid": os.getpid(), "port": self.port, "instance": self.instance, "mode": self.mode,
                "home": str(self.home), "endpoint": self.edge_url, "started": time.time()}
        (self.home / "instance.json").write_text(json.dumps(info))
        print(f"localcloud: serving {self.edge_url} in {self.mode} mode (instance {self.instance})", flush=True)
        try:
            server.safe_start()
        finally:
            if stopper.is_alive():  # the serving loop ends at once: the requests still in flight finish first
                stopper.join()
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
        runtime = self.awslambda.runtime
        steps = (runtime.shutdown, self.cloud_run.app.shutdown, lambda: runtime.flush_logs(timeout=2),
                 self.cloud.state.close, self.registry.stop, self._remove_containers, (self.home / "instance.json").unlink)
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
