"""Replace a folder's set of files at once: a reader (or a run that dies) sees the old set or the new, never a mix.

The new set is written into a hidden sibling folder; the files in the folder that are not part of the set
(the batch's ``grade.json``, its history) are carried into it as hard links; then the two folders are
swapped in one ``renameat2(RENAME_EXCHANGE)`` (Linux), or, where the file system cannot exchange, by two
renames (a run that dies between them leaves no folder, and the old set in a ``.NAME.old-*`` sibling).
One writer at a time: the batch calls it after grading, not beside another writer of the same folder.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

AT_FDCWD, RENAME_EXCHANGE = -100, 2


def exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically; False where the system or file system cannot (then nothing changed)."""
    function = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if function is None:
        return False
    if function(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(a))


def carry(old: Path, new: Path, owned: Callable[[Path], bool]) -> None:
    """Hard-link (or copy) into ``new`` every file of ``old`` that the set does not own, keeping its place."""
    for path in sorted(old.rglob("*")):
        relative = path.relative_to(old)
        if owned(relative) or path.is_dir() and not path.is_symlink():
            continue
        target = new / relative
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target, follow_symlinks=False)
        except OSError:
            shutil.copy2(path, target, follow_symlinks=False)


def replace_set(folder: Path, write: Callable[[Path], None], owned: Callable[[Path], bool]) -> None:
    """Write a new set with ``write(staging)`` and put it in place of ``folder``'s set in one step.

    Args:
        folder: the published folder (created if missing).
        write: writes the whole new set into the folder it is given; whatever it raises leaves ``folder`` as it was.
        owned: whether a path (relative to the folder) belongs to the set; files it does not own are kept.
    """
    folder = folder.resolve()
    folder.parent.mkdir(parents=True, exist_ok=True)
    for stale in [*folder.parent.glob(f".{folder.name}.new-*"), *folder.parent.glob(f".{folder.name}.old-*")]:
        shutil.rmtree(stale, ignore_errors=True)  # a run that died before (or, renaming twice, during) its swap
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.new-", dir=folder.parent))
    try:
        write(staging)
        if folder.is_dir():
            carry(folder, staging, owned)
        staging.chmod(0o755)
        if not folder.exists():
            os.rename(staging, folder)
        elif exchange(staging, folder):
            shutil.rmtree(staging)  # now the old set
        else:
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old-", dir=folder.parent))
            os.rmdir(old)
            os.rename(folder, old)
            os.rename(staging, folder)
            shutil.rmtree(old, ignore_errors=True)
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(staging)
