"""Where a class's submissions come from, and the grader's own copy of each.

SOURCE is a folder with one submission per subfolder (the subfolder's name is the student id), or a
roster CSV ``student_id,name,email,source[,submitted_at]`` whose ``source`` (relative to the CSV's
folder) is a folder, a ``.zip`` or a git repository (a folder holding ``.git``, or a URL): a repository
is cloned and checked out at its last commit before ``--due`` (its last commit without one), and the
commit is recorded. A mistake in the roster or the folder (an unsafe id, a duplicate, a missing
source) is a :class:`RosterError`: one line, and nothing is graded. A submission that cannot be read
(a broken zip, no commit before the due date) is a :class:`SourceError`: that student's NOT GRADED
row, and the class goes on.

:func:`snapshot` copies what the grader reads into a folder of the grader's: regular files only (no
link is followed), never the submission's ``build/``, ``.git`` or caches, within size limits. The
grader grades that copy, so nothing a submission (or its author, meanwhile) changes in SOURCE
reaches the grade; :func:`content_hash` names it.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import shutil
import stat
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from ..context import IMAGE_FILES

SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
COLUMNS = ("student_id", "name", "email", "source")
SKIPPED = {"build", ".git", "__pycache__", ".ipynb_checkpoints", ".venv", "venv", "node_modules", ".mypy_cache",
           ".pytest_cache", ".ruff_cache"}
MAX_FILES, MAX_FILE_BYTES, MAX_TOTAL_BYTES, MAX_DEPTH = 400, 5_000_000, 40_000_000, 6
GIT_SECONDS = 120


class RosterError(Exception):
    """The roster or the submissions folder is wrong: one line naming where; nothing is graded."""


class SourceError(Exception):
    """One submission cannot be read; the message is its NOT GRADED reason."""


@dataclass(frozen=True)
class Submission:
    """One student's entry: who, and where their code is (``kind``: folder, zip or git)."""

    id: str
    name: str = ""
    email: str = ""
    kind: str = "folder"
    path: str = ""
    submitted_at: str | None = None  # ISO 8601, as the roster says (a git source: its commit's time)
    commit: str | None = None

    @property
    def student(self) -> dict:
        return {"id": self.id, "name": self.name, "email": self.email}

    @property
    def source(self) -> dict:
        return {"kind": self.kind, "path": self.path, "commit": self.commit, "submitted_at": self.submitted_at}


def safe_id(value: str) -> bool:
    """A student id the grader can name a folder after: letters, digits, ``.``, ``_``, ``-``; at most 64."""
    return bool(SAFE_ID.fullmatch(value)) and value not in (".", "..")


def parse_time(value: str, what: str) -> datetime:
    """An ISO 8601 time (``Z`` allowed); one without a zone is taken as UTC."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise RosterError(f"{what}: {value!r} is not an ISO 8601 time (e.g. 2026-12-01T23:59:00+06:00)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def load(source: Path) -> list[Submission]:
    """The class's submissions, in id order, from a folder of subfolders or a roster CSV."""
    if source.is_dir():
        return from_folder(source)
    if source.is_file() and source.suffix.lower() == ".csv":
        return from_roster(source)
    raise RosterError(f"{source}: neither a folder of submissions nor a roster .csv")


def from_folder(folder: Path) -> list[Submission]:
    found = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or not entry.is_dir() or entry.is_symlink():
            continue
        if not safe_id(entry.name):
            raise RosterError(f"{entry}: {entry.name!r} is not a safe student id "
                              "(letters, digits, '.', '_' or '-', at most 64, not starting with '.', '_' or '-')")
        found.append(Submission(entry.name, kind="folder", path=str(entry.resolve())))
    if not found:
        raise RosterError(f"{folder}: no submission folders in it")
    return found


def from_roster(roster: Path) -> list[Submission]:
    try:
        text = roster.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise RosterError(f"{roster}: cannot be read ({error})") from None
    rows = csv.DictReader(text.splitlines())
    header = [h.strip() for h in rows.fieldnames or []]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise RosterError(f"{roster}: the header lacks {', '.join(missing)} (expected {','.join(COLUMNS)}"
                          "[,submitted_at])")
    found, seen = [], {}
    for line, row in enumerate(rows, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        where = f"{roster.name} line {line}"
        ident = row["student_id"]
        if not ident:
            raise RosterError(f"{where}: empty student_id")
        if not safe_id(ident):
            raise RosterError(f"{where}: student_id {ident!r} is not a safe folder name "
                              "(letters, digits, '.', '_' or '-', at most 64, starting with a letter or digit)")
        if ident in seen:
            raise RosterError(f"{where}: student_id {ident!r} is already on line {seen[ident]}")
        seen[ident] = line
        if not row["source"]:
            raise RosterError(f"{where}: empty source for {ident}")
        submitted = row.get("submitted_at") or None
        if submitted:
            submitted = parse_time(submitted, f"{where}: submitted_at").isoformat()
        kind, path = classify(row["source"], roster.parent, where)
        found.append(Submission(ident, row["name"], row["email"], kind, path, submitted))
    if not found:
        raise RosterError(f"{roster}: no students in it")
    return sorted(found, key=lambda s: s.id)


def classify(source: str, base: Path, where: str) -> tuple[str, str]:
    """(kind, path) of a roster's source: a .zip file, a git repository (a folder with .git, or a URL), a folder."""
    if "://" in source or source.startswith("git@"):
        return "git", source
    path = (base / source).resolve()
    if source.lower().endswith(".zip"):
        if not path.is_file():
            raise RosterError(f"{where}: no zip file {path}")
        return "zip", str(path)
    if path.is_dir():
        return ("git" if (path / ".git").exists() else "folder"), str(path)
    if source.endswith(".git"):
        raise RosterError(f"{where}: no git repository {path}")
    raise RosterError(f"{where}: source {source!r} is not a folder, a .zip or a git repository ({path} not found)")


def snapshot(submission: Submission, into: Path, due: datetime | None) -> Submission:
    """The grader's copy of the submission in ``into`` (made here); returns it with its commit and time, if git.

    Raises:
        SourceError: this submission cannot be read (its NOT GRADED reason).
    """
    into.mkdir(parents=True)
    if submission.kind == "zip":
        _unzip(Path(submission.path), into)
        return submission
    if submission.kind == "git":
        with tempfile.TemporaryDirectory(prefix="lab-class-clone-") as clone:
            commit, when = _clone(submission.path, Path(clone) / "repo", due)
            _copy_tree(Path(clone) / "repo", into)
        return replace(submission, commit=commit, submitted_at=when)
    folder = Path(submission.path)
    if not folder.is_dir():
        raise SourceError(f"the submission folder {folder} is gone")
    _copy_tree(folder, into)
    return submission


def content_hash(folder: Path) -> str:
    """``sha256:…`` of what the grader reads of a snapshot: its top-level modules and image files, by name."""
    digest = hashlib.sha256()
    names = sorted({p.name for p in folder.glob("*.py")} | {n for n in IMAGE_FILES if (folder / n).is_file()})
    for name in names:
        digest.update(name.encode() + b"\0" + (folder / name).read_bytes() + b"\0")
    return "sha256:" + digest.hexdigest()


class _Budget:
    def __init__(self):
        self.files = self.bytes = 0

    def take(self, size: int, name: str) -> None:
        self.files += 1
        self.bytes += size
        if size > MAX_FILE_BYTES:
            raise SourceError(f"{name} is larger than {MAX_FILE_BYTES // 1_000_000} MB")
        if self.files > MAX_FILES or self.bytes > MAX_TOTAL_BYTES:
            raise SourceError(f"the submission holds more than {MAX_FILES} files or {MAX_TOTAL_BYTES // 1_000_000} MB")


def _copy_tree(source: Path, into: Path) -> None:
    """Regular files below ``source``, links never followed, the skipped folders left out."""
    budget = _Budget()
    for root, folders, files in os.walk(source, followlinks=False):
        relative = Path(root).relative_to(source)
        folders[:] = sorted(f for f in folders if f not in SKIPPED and len(relative.parts) < MAX_DEPTH
                            and not (Path(root) / f).is_symlink())
        for name in sorted(files):
            path = Path(root) / name
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode):
                continue  # a link, a FIFO, a device: nothing the grader reads
            budget.take(info.st_size, str(relative / name))
            target = into / relative / name
            target.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(descriptor, "rb") as handle, target.open("wb") as out:
                shutil.copyfileobj(handle, out)


def _unzip(archive: Path, into: Path) -> None:
    """The zip's regular files (a single top folder unwrapped); absolute names, ``..`` and links refused."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = [m for m in zipped.infolist() if not m.is_dir()]
            names = [PurePosixPath(m.filename) for m in members]
            if any(n.is_absolute() or ".." in n.parts or "\\" in str(n) for n in names):
                raise SourceError(f"{archive.name} holds a file outside its own folder (an absolute name or '..')")
            tops = {n.parts[0] for n in names if n.parts}
            strip = 1 if len(tops) == 1 and all(len(n.parts) > 1 for n in names) else 0
            budget = _Budget()
            for member, name in zip(members, names):
                parts = name.parts[strip:]
                if not parts or any(p in SKIPPED for p in parts[:-1]) or len(parts) > MAX_DEPTH:
                    continue
                if stat.S_ISLNK(member.external_attr >> 16):
                    continue
                budget.take(member.file_size, "/".join(parts))
                target = into.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with zipped.open(member) as handle, target.open("wb") as out:
                    shutil.copyfileobj(handle, out, MAX_FILE_BYTES)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise SourceError(f"{archive.name} is not a readable zip ({error})") from None


def _git(*args: str, cwd: Path | None = None) -> str:
    env = {"PATH": os.environ.get("PATH", os.defpath), "GIT_TERMINAL_PROMPT": "0", "HOME": tempfile.gettempdir(),
           "GIT_CONFIG_NOSYSTEM": "1", "LANG": "C", "GIT_ALLOW_PROTOCOL": "file:git:http:https:ssh"}  # never ext::
    try:
        done = subprocess.run(["git", "-c", "core.hooksPath=/dev/null", "-c", "protocol.file.allow=always", *args],
                              cwd=cwd, capture_output=True, text=True, timeout=GIT_SECONDS, env=env)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SourceError(f"git {args[0]} failed ({type(error).__name__})") from None
    if done.returncode != 0:
        raise SourceError(f"git {args[0]} failed: {(done.stderr.strip().splitlines() or [''])[-1][:200]}")
    return done.stdout.strip()


def _clone(url: str, into: Path, due: datetime | None) -> tuple[str, str]:
    """Clone and check out the last commit before ``due`` (or the last one); (commit, its committer time)."""
    _git("clone", "--quiet", "--no-checkout", "--no-hardlinks", "--", url, str(into))  # a URL is never an option
    before = ["--before", due.isoformat()] if due else []
    commit = _git("rev-list", "-1", *before, "HEAD", cwd=into)
    if not commit:
        raise SourceError(f"no commit before the due date {due.isoformat()}" if due else "the repository has no commit")
    _git("checkout", "--quiet", "--detach", commit, cwd=into)
    return commit, _git("show", "-s", "--format=%cI", commit, cwd=into)
