"""Unpacking tar streams (image layers, uploaded code folders) without touching anything outside one folder.

Every entry passes the standard library's ``tarfile.data_filter`` (no absolute paths, no
``..``, no links that leave the folder, no devices, no setuid bits), and every path is
resolved on disk, following the links earlier entries or layers planted, and must stay
inside the root. Nothing is written through an existing link: it is replaced. Whiteouts
(the OCI image layer spec's ``.wh.NAME`` and ``.wh..wh..opq``) delete only inside the root.
After each stream every link in the tree must still resolve inside the root (links that pass
one by one can escape together: ``l -> x/x/../..``, then ``x -> .``). The files' logical size
(hardlinks included) and the number of entries are capped.
"""

from __future__ import annotations

import os
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
MAX_ENTRIES = 100_000


class UnsafeEntry(ValueError):
    """A tar entry that would reach outside the folder, or one that is not allowed there."""


class TooLarge(ValueError):
    """The files of a tar stream add up to more than the cap, or it has too many entries."""


def inside(root: Path, relative: str) -> Path:
    """``root/relative`` with every existing link resolved; UnsafeEntry when that is not inside ``root``."""
    target = Path(os.path.realpath(root / relative))
    if target != root and root not in target.parents:
        raise UnsafeEntry(f"{relative!r} resolves outside the folder")
    return target


def remove(path: Path) -> None:
    """Delete a file, a link (never what it points at) or a folder."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


class Unpacker:
    """Applies tar streams, in order, to one new, empty folder (layer by layer, as an image's file system is built)."""

    def __init__(self, root: Path, select: Callable[[str], bool] = lambda name: True, cap: int | None = None,
                 max_entries: int = MAX_ENTRIES):
        root.mkdir(parents=True, exist_ok=True)
        self.root = Path(os.path.realpath(root))
        self.select, self.cap, self.max_entries = select, cap, max_entries
        self.size = self.entries = 0
        self.links: set[Path] = set()  # every symlink this unpacker made (the root starts empty)

    def apply(self, tar: tarfile.TarFile) -> None:
        """Unpack one stream; an opaque whiteout hides what earlier streams left, not this stream's entries."""
        written: set[str] = set()
        for member in tar:
            name = os.path.normpath(member.name.removeprefix("./")) if member.name not in ("", ".", "./") else "."
            if name == "." or not self.select(name):
                continue
            self.entries += 1
            if self.entries > self.max_entries:
                raise TooLarge(f"more than {self.max_entries} entries")
            self._entry(tar, member.replace(name=name, deep=False), written)
            written.add(name)
        self.check_links()

    def check_links(self) -> None:
        """UnsafeEntry for any link in the tree that resolves outside the root (the links of all entries together)."""
        self.links = {link for link in self.links if link.is_symlink()}  # whiteouts and later entries remove some
        for link in self.links:
            inside(self.root, os.path.relpath(link, self.root))

    def _entry(self, tar: tarfile.TarFile, member: tarfile.TarInfo, written: set[str]) -> None:
        folder, base = os.path.split(member.name)
        if base == OPAQUE:
            parent = inside(self.root, folder)
            for child in list(parent.iterdir()) if parent.is_dir() else []:
                if os.path.relpath(child, self.root) not in written:
                    remove(child)
            return
        if base.startswith(WHITEOUT):
            if base[len(WHITEOUT):] in ("", ".", ".."):
                raise UnsafeEntry(f"{member.name!r} is not a whiteout of a file")
            remove(inside(self.root, folder) / base[len(WHITEOUT):])
            return
        try:
            member = tarfile.data_filter(member, str(self.root))
        except tarfile.FilterError as error:
            raise UnsafeEntry(f"{member.name!r}: {error}") from None
        target = inside(self.root, folder) / base
        if member.isdir():
            if target.exists() and not target.is_dir() or target.is_symlink():
                remove(target)
            target.mkdir(exist_ok=True)
            return
        remove(target)
        if member.issym():
            os.symlink(member.linkname, target)
            self.links.add(target)
        elif member.islnk():
            source = inside(self.root, member.linkname)
            if not source.is_file():
                raise UnsafeEntry(f"{member.name!r} links to {member.linkname!r}, which is not a file")
            self._count(source.stat().st_size)  # a copy: it takes the space again
            shutil.copy2(source, target)
        elif member.isfile():
            self._count(member.size)
            with tar.extractfile(member) as source, open(target, "xb") as sink:
                shutil.copyfileobj(source, sink)
            target.chmod(member.mode if member.mode is not None else 0o644)
        # other types (devices, fifos) are refused by data_filter

    def _count(self, size: int) -> None:
        self.size += size
        if self.cap is not None and self.size > self.cap:
            raise TooLarge(f"the files add up to more than {self.cap} bytes")
