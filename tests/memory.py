"""How much memory a process took while a test ran (Linux): for tests that a bound keeps it small."""

from __future__ import annotations

from pathlib import Path


class PeakMemory:
    """How much a process's peak resident memory rose during the ``with`` block, and how much of it it kept, in MB
    (Linux)."""

    def __init__(self, pid: int):
        self.pid, self.rise_mb, self.kept_mb = pid, 0.0, 0.0

    def _read(self, field: str) -> float:
        status = Path(f"/proc/{self.pid}/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith(field)).split()[1]) / 1024

    def __enter__(self) -> PeakMemory:
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")  # resets VmHWM to the current VmRSS
        self.before = self._read("VmRSS:")
        return self

    def __exit__(self, *exc) -> None:
        self.rise_mb = self._read("VmHWM:") - self.before
        self.kept_mb = self._read("VmRSS:") - self.before
