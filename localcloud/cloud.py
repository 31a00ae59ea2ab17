"""What the services of one stand-in share (:class:`Cloud`), and what each adds to the edge (:class:`Service`).

Each service package builds its part from the ``Cloud`` in its own ``urls.py``, beside its code, as
moto's services declare their routes in theirs: :mod:`localcloud.aws.ecr.urls`,
:mod:`localcloud.aws.awslambda.urls`, :mod:`localcloud.aws.apigateway.urls`,
:mod:`localcloud.aws.logs.urls` and :mod:`localcloud.gcp.urls`. The stand-in
(:mod:`localcloud.server`) only puts them together.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from localcloud.aws.persistence import StateStore
from localcloud.aws.sidetable import SideTable

if TYPE_CHECKING:
    from localcloud.aws.control import Hook
    from localcloud.aws.ecr.registry import Registry
    from localcloud.edge.router import Route


@dataclass(kw_only=True)
class Service:
    """One service's share of the edge: its routes, tried in order before the control plane, and its control-plane
    hooks (:class:`localcloud.aws.control.Hook`), which see the calls moto answers for it."""

    routes: list[Route] = field(default_factory=list)
    hooks: list[Hook] = field(default_factory=list)


@dataclass
class Cloud:
    """Where the stand-in runs, and the control plane's state: moto's backends and the side table, read and changed
    under one lock, saved by one state store."""

    home: Path
    port: int
    instance: str  # this run's id, which its containers carry
    mode: str  # "docker" or "host"
    region: str  # of the requests that name none
    registry: Registry
    clock: Callable[[], float] = time.monotonic
    lock: threading.RLock = field(default_factory=threading.RLock)
    table: SideTable = field(default_factory=SideTable)
    state: StateStore = field(init=False)

    def __post_init__(self) -> None:
        self.state = StateStore(self.home, self.lock, self.table)

    @property
    def edge_host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def edge_url(self) -> str:
        return f"http://{self.edge_host}"

    @property
    def local_hosts(self) -> tuple[str, ...]:
        """The names an image URI may give this stand-in's registry."""
        return self.edge_host, f"localhost:{self.port}"

    def changed(self, urgent: bool = True) -> None:
        """Something in the saved state changed; ``urgent=False`` (log lines, which pile up fast) lets the save wait."""
        self.state.changed(urgent)

    @staticmethod
    def log(message: str) -> None:
        """A line for the edge's log."""
        print(f"localcloud: {message}", flush=True)
