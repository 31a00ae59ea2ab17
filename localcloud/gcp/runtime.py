"""The Cloud Run runtime: a pool of instances per ready revision, retired when idle.

A revision is deployed by pulling its image through the edge and starting its first
instance; until that instance listens, the revision is not ready (Cloud Run fails the
revision with its "failed to start and listen on the port" message). Only the revision
serving traffic keeps a pool: a new ready revision replaces the old one's instances.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from pathlib import Path

from localcloud import engine
from localcloud.bridge import discard_folder, socket_folder

from .container import Container, StartFailed
from .images import local_reference
from .resources import RevisionSpec
from .scaler import QUEUE_WAIT_S, Pool

REAP_EVERY_S = 0.5


class DeployFailed(RuntimeError):
    """The revision cannot serve; the message is Cloud Run's reason."""


class Runtime:
    def __init__(self, *, registry_host: str, home: Path, instance: str, idle_timeout_s: float,
                 startup_limit_s: float | None = None, clock: Callable[[], float] = time.monotonic,
                 queue_wait_s: float = QUEUE_WAIT_S):
        self.registry_host, self.home, self.instance = registry_host, home, instance
        self.idle_timeout_s, self.clock, self.queue_wait_s = idle_timeout_s, clock, queue_wait_s
        self.startup_limit_s = startup_limit_s
        self.sockets = socket_folder(home, "cloudrun")
        self.pools: dict[str, Pool] = {}  # service name -> the pool of its serving revision
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        threading.Thread(target=self._reap, name="cloudrun-reaper", daemon=True).start()

    def deploy(self, service_name: str, spec: RevisionSpec) -> None:
        """Make ``spec`` the serving revision of ``service_name``; raises DeployFailed."""
        if not engine.available(timeout=10):
            raise DeployFailed("Cloud Run in the local stand-in runs containers: it needs a Docker engine "
                               "(scripts/ensure-docker.sh)")
        image = local_reference(spec.image, self.registry_host)
        if self.startup_limit_s is not None and spec.startup_timeout_s > self.startup_limit_s:
            spec = dataclasses.replace(spec, startup_timeout_s=self.startup_limit_s)
        try:
            engine.pull(image, timeout=600)
        except engine.EngineError:
            raise DeployFailed(f"Image '{spec.image}' not found.") from None
        pool = Pool(spec, lambda: Container(spec, image, sockets=self.sockets, home=self.home,
                                                  instance=self.instance),
                    idle_timeout_s=self.idle_timeout_s, clock=self.clock, queue_wait_s=self.queue_wait_s)
        try:
            pool.deploy()
        except StartFailed as error:
            pool.stop()
            raise DeployFailed(str(error)) from None
        with self._lock:
            old, self.pools[service_name] = self.pools.get(service_name), pool
        if old:
            old.stop()

    def pool(self, service_name: str) -> Pool | None:
        with self._lock:
            return self.pools.get(service_name)

    def remove(self, service_name: str) -> None:
        with self._lock:
            pool = self.pools.pop(service_name, None)
        if pool:
            pool.stop()

    def _reap(self) -> None:
        while not self._stopping.wait(REAP_EVERY_S):
            with self._lock:
                pools = list(self.pools.values())
            for pool in pools:
                try:
                    pool.reap()
                except Exception as error:  # keep reaping the others
                    print(f"localcloud: cloud run reaper: {error!r}", flush=True)

    def status(self) -> dict:
        with self._lock:
            pools = dict(self.pools)
        return {name.rsplit("/", 1)[1]: {"revision": pool.spec.revision, **pool.status()}
                for name, pool in pools.items()}

    def shutdown(self) -> None:
        self._stopping.set()
        with self._lock:
            pools, self.pools = list(self.pools.values()), {}
        for pool in pools:
            pool.stop()
        discard_folder(self.sockets, self.home)
