"""Saving moto's backends to LOCALCLOUD_HOME, so resources survive a restart of the stand-in.

Like LocalStack's persistence, the service backends are pickled whole. moto's objects
hold a few things pickle refuses (locks, a WeakValueDictionary); they are rebuilt
empty or from their contents. Saves happen shortly after a change (debounced), and at
shutdown; a snapshot is written to a temporary file and renamed, so a crash never
leaves half a file. A saved state that cannot be restored is never lost silently: it is moved
to a backup of its own (a new name each time, never overwritten) and the start stops there
(:class:`StateDamaged`); the next start begins empty.
"""

from __future__ import annotations

import io
import pickle
import secrets
import threading
import time
import weakref
from collections import defaultdict
from pathlib import Path

from moto.backends import get_backend

from localcloud.aws.sidetable import SideTable

SERVICES = ("ecr", "iam", "sts", "lambda", "apigatewayv2", "logs")
LOCK_TYPES = {type(threading.Lock()): threading.Lock, type(threading.RLock()): threading.RLock}


def _weak_values(items: dict) -> weakref.WeakValueDictionary:
    return weakref.WeakValueDictionary(items)


def _defaults(factory: type, items: dict) -> defaultdict:
    return defaultdict(factory, items)


def _plain_factory(factory) -> type | None:
    """The type a ``lambda: {}``-style factory stands for (moto uses such lambdas, which pickle refuses)."""
    sample = factory()
    return type(sample) if type(sample) in (dict, list, set, int) and sample == type(sample)() else None


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj):
        factory = LOCK_TYPES.get(type(obj))
        if factory:
            return factory, ()
        if isinstance(obj, weakref.WeakValueDictionary):
            return _weak_values, (dict(obj),)
        if isinstance(obj, defaultdict) and getattr(obj.default_factory, "__name__", "") == "<lambda>":
            return _defaults, (_plain_factory(obj.default_factory), dict(obj))
        return NotImplemented


def snapshot(table: SideTable) -> bytes:
    state = {name: {account: dict(regions) for account, regions in get_backend(name).items()} for name in SERVICES}
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump({"moto": state, "localcloud": table})
    return buffer.getvalue()


def restore(data: bytes, table: SideTable) -> None:
    saved = pickle.loads(data)
    table.replace(saved["localcloud"])
    for name, accounts in saved["moto"].items():
        backend_dict = get_backend(name)
        for account, regions in accounts.items():
            per_region = backend_dict[account]
            for region, backend in regions.items():
                dict.__setitem__(per_region, region, backend)


class StateDamaged(RuntimeError):
    """The saved state could not be restored; the message says where it is kept."""


class StateStore:
    """The saved control-plane state under ``home/state``."""

    def __init__(self, home: Path, lock, table: SideTable, delay: float = 0.5, log_delay: float = 5.0):
        self.path = home / "state" / "backends.pickle"
        self.lock, self.table = lock, table
        self.delay, self.log_delay = delay, log_delay
        self._urgent = False
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._save_when_dirty, name="state-saver", daemon=True)

    def load(self) -> str:
        """Restore the saved state; returns a sentence for the log. Raises :class:`StateDamaged` when it cannot be
        restored (damaged, or from another moto version), after moving it to a backup of its own."""
        if not self.path.exists():
            return "no saved state; starting empty"
        try:
            with self.lock:
                restore(self.path.read_bytes(), self.table)
        except Exception as error:
            backup = self.path.with_name(f"{self.path.stem}-{time.strftime('%Y%m%d-%H%M%S')}-"
                                         f"{secrets.token_hex(3)}.broken")
            self.path.rename(backup)  # a new name each time: an earlier backup is never overwritten
            reason = f"{type(error).__name__}: {error}".splitlines()[0][:200]
            raise StateDamaged(f"the saved state could not be restored ({reason}); it is kept in {backup}. "
                               "Nothing was started: start again to begin without the saved functions, "
                               "repositories and APIs (pushed images stay in the registry's storage)") from None
        return f"restored saved state from {self.path}"

    def start(self) -> None:
        self._thread.start()

    def changed(self, urgent: bool = True) -> None:
        """Something changed; ``urgent=False`` (log lines) lets saves wait longer, as logs pile up fast."""
        self._urgent |= urgent
        self._dirty.set()

    def save(self) -> None:
        with self.lock:
            data = snapshot(self.table)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".partial")
        partial.write_bytes(data)
        partial.replace(self.path)

    def _save_when_dirty(self) -> None:
        while not self._stop.is_set():
            if self._dirty.wait(0.5):
                settle = time.monotonic() + (self.delay if self._urgent else self.log_delay)
                while time.monotonic() < settle and not self._stop.is_set():
                    time.sleep(0.1)  # let a burst of changes settle into one save
                    if self._urgent:
                        settle = min(settle, time.monotonic() + self.delay)
                self._dirty.clear()
                self._urgent = False
                try:
                    self.save()
                except Exception as error:
                    print(f"localcloud: could not save state: {error!r}", flush=True)

    def close(self) -> None:
        self._stop.set()
        self.save()
