"""Class-wide locks between the batch's workers (separate processes): file locks in one folder of the run.

- :meth:`ClassLocks.alone`: step 7's timing. No build and no other measurement runs beside it: it takes the
  ``quiet`` lock exclusively, behind a turnstile, so waiting builds cannot starve it.
- :meth:`ClassLocks.building`: an image build: one of ``build_slots`` slots, and the ``quiet`` lock shared.

Every wait is counted (:attr:`ClassLocks.waited`): time spent waiting for the class is not the student's, and
does not count against a submission's cap.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path


class ClassLocks:
    def __init__(self, folder: Path, build_slots: int = 1, report: Path | None = None):
        self.folder, self.build_slots, self.report = folder, max(1, build_slots), report
        self.waited = 0.0
        folder.mkdir(parents=True, exist_ok=True)

    def _count(self, seconds: float) -> None:
        """Add a wait; the batch reads ``report`` to extend this worker's deadline by every wait so far."""
        self.waited += seconds
        if self.report is not None:
            self.report.write_text(f"{self.waited:.3f}")

    def _open(self, name: str) -> int:
        return os.open(self.folder / name, os.O_RDWR | os.O_CREAT, 0o600)

    @contextlib.contextmanager
    def _held(self, name: str, mode: int) -> Iterator[None]:
        fd = self._open(name)
        started = time.monotonic()
        try:
            fcntl.flock(fd, mode)
            self._count(time.monotonic() - started)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    @contextlib.contextmanager
    def alone(self) -> Iterator[None]:
        """Nothing else measures or builds meanwhile."""
        with self._held("turnstile", fcntl.LOCK_EX), self._held("quiet", fcntl.LOCK_EX):
            yield

    @contextlib.contextmanager
    def building(self) -> Iterator[None]:
        """One of the build slots, while no measurement runs."""
        started = time.monotonic()
        while True:
            for slot in range(self.build_slots):
                fd = self._open(f"build-{slot}")
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                try:
                    self._count(time.monotonic() - started)
                    with self._held("turnstile", fcntl.LOCK_EX):
                        pass  # behind a waiting measurement, not before it
                    with self._held("quiet", fcntl.LOCK_SH):
                        yield
                    return
                finally:
                    os.close(fd)
            time.sleep(0.2)
