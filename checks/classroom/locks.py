"""Class-wide locks between the batch's workers (separate processes): file locks in one folder of the run.

- :meth:`ClassLocks.alone`: step 7's timing. No build and no other measurement runs beside it: it takes the
  ``quiet`` lock exclusively, behind a turnstile, so waiting builds cannot starve it.
- :meth:`ClassLocks.building`: an image build: one of ``build_slots`` slots, and the ``quiet`` lock shared.

Every hold is a :class:`Lease`: it is let go at the latest after its seconds (:data:`MEASURE_LEASE`,
:data:`BUILD_LEASE`, many times what the reference needs in a class), whatever the holder is still doing, so a
submission that hangs or loops while it holds a lock delays the class by one lease at most. A holder learns
whether its lease ran out (:attr:`Lease.expired`): its measurement or build then ran beside the class.

Every wait is counted (:attr:`ClassLocks.waited`): time spent waiting for the class is not the student's, and
does not count against a submission's cap.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

MEASURE_LEASE, BUILD_LEASE = 60.0, 120.0  # seconds; the reference's step 7 and builds take about 10 s in a class


class Lease:
    """Locks held together and let go together: at the end of the ``with`` block, or after ``seconds``."""

    def __init__(self, seconds: float):
        self.seconds, self.expired = seconds, False
        self._fds: list[int] = []
        self._guard = threading.Lock()
        self._timer: threading.Timer | None = None

    def hold(self, fd: int) -> None:
        self._fds.append(fd)

    def start(self) -> None:
        """Start counting, once every lock is held."""
        self._timer = threading.Timer(self.seconds, self._let_go, (True,))
        self._timer.daemon = True
        self._timer.start()

    def _let_go(self, expired: bool = False) -> None:
        with self._guard:  # each descriptor is closed once, by whichever comes first
            self.expired = self.expired or (expired and bool(self._fds))
            while self._fds:
                os.close(self._fds.pop())  # closing releases the lock

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._let_go()


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

    def _take(self, name: str, mode: int) -> int:
        """The descriptor of lock ``name``, held in ``mode`` once it could be (the wait counted)."""
        fd = self._open(name)
        started = time.monotonic()
        try:
            fcntl.flock(fd, mode)
        except BaseException:
            os.close(fd)
            raise
        self._count(time.monotonic() - started)
        return fd

    @contextlib.contextmanager
    def alone(self, seconds: float = MEASURE_LEASE) -> Iterator[Lease]:
        """Nothing else measures or builds meanwhile, for ``seconds`` at most."""
        with Lease(seconds) as lease:
            lease.hold(self._take("turnstile", fcntl.LOCK_EX))
            lease.hold(self._take("quiet", fcntl.LOCK_EX))
            lease.start()
            yield lease

    @contextlib.contextmanager
    def building(self, seconds: float = BUILD_LEASE) -> Iterator[Lease]:
        """One of the build slots, while no measurement runs, for ``seconds`` at most."""
        with Lease(seconds) as lease:
            lease.hold(self._slot())
            os.close(self._take("turnstile", fcntl.LOCK_EX))  # behind a waiting measurement, not before it
            lease.hold(self._take("quiet", fcntl.LOCK_SH))
            lease.start()
            yield lease

    def _slot(self) -> int:
        """A free build slot's descriptor, held; waits for one."""
        started = time.monotonic()
        while True:
            for slot in range(self.build_slots):
                fd = self._open(f"build-{slot}")
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                self._count(time.monotonic() - started)
                return fd
            time.sleep(0.2)
