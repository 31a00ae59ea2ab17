"""Long-running operations, as Cloud Run's Admin API v2 returns them for create, update and delete.

``{"name": "projects/P/locations/L/operations/UUID", "metadata": {"@type": ..., ...},
"done": false}`` at first; once the work is finished ``done`` is true and the operation
holds either ``response`` (the Service) or ``error`` (a google.rpc.Status). The client's
``operation.result()`` polls ``GET /v2/{name}`` until ``done``.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

from .errors import GoogleError, not_found

TYPE = "type.googleapis.com/google.cloud.run.v2."


class Operations:
    def __init__(self):
        self._all: dict[str, dict] = {}
        self._lock = threading.Lock()

    def start(self, location: str, metadata: dict, work: Callable[[], dict], kind: str = "Service") -> dict:
        """A new, unfinished operation; ``work`` runs in the background and returns the resource (a ``kind``)."""
        name = f"{location}/operations/{uuid.uuid4()}"
        operation = {"name": name, "metadata": {"@type": TYPE + kind, **metadata}, "done": False}
        with self._lock:
            self._all[name] = operation

        def run() -> None:
            try:
                outcome = {"response": {"@type": TYPE + kind, **work()}}
            except GoogleError as error:
                outcome = {"error": error.status()}
            except Exception as error:  # keep the stand-in serving; the operation carries the failure
                outcome = {"error": {"code": 13, "message": f"internal error: {error}"}}
            with self._lock:
                operation.update(done=True, **outcome)

        threading.Thread(target=run, name=f"operation-{name[-8:]}", daemon=True).start()
        return self.get(name)

    def get(self, name: str) -> dict:
        with self._lock:
            if name not in self._all:
                raise not_found("OPERATION", name)
            return dict(self._all[name])

    def list(self, location: str) -> list[dict]:
        with self._lock:
            return [dict(op) for name, op in self._all.items() if name.startswith(location + "/")]

    def delete(self, name: str) -> None:
        with self._lock:
            if self._all.pop(name, None) is None:
                raise not_found("OPERATION", name)
