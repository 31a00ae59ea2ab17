"""Without Docker: confine a sandbox process with the kernel's own mechanisms, where the system allows it.

Called in the child (:func:`restrict`, in a fork of :mod:`checks.sandbox.forkserver`). With the privilege to do so
(root, as in CI), the child gets its own mount namespace in which every filesystem is
read-only except its scratch folder, a private ``/dev/shm``, its own network namespace
(loopback only, down) for steps that need no network, and no capabilities at all: it
cannot remount, write the grader's files or another submission, or reach the network.
Where the system refuses (an unprivileged user), the child runs without these, and the
report says it was not sandboxed.

In that mount namespace the temporary folder (where a class's work folders, every child's scratch and the
stand-ins' homes live) is an empty file system holding only the folders the child needs (its own scratch),
and so is every top-level folder but the system's (a class's sources, an instructor's gradebook), the lab
itself but for the folders the child runs (:data:`SHOWN`: never the reference solution, the tests or
``.git``), and every folder the child's user could not enter on the host (e.g. a private ``/root`` holding
the interpreter): the child sees no classmate's copy, and a fresh user id can run the interpreter
(:func:`untrusted_uid`), so that a child is not root, even without capabilities (a root child owns every
root-owned file: classmates' copies, the Docker socket, other children's ``/proc/PID/root``).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import resource
import secrets
import site
import subprocess
import sys
import tempfile
from pathlib import Path

CLONE_NEWNS, CLONE_NEWNET = 0x00020000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = (
    1, 2, 4, 8, 32, 4096, 8192, 16384, 1 << 18)
PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, LAST_CAPABILITY = 4, 24, 38, 63
KEEP_WRITABLE = ("/proc", "/sys", "/dev")  # kernel interfaces; devices are not files a submission can plant
UNTRUSTED_UIDS = (200_000, 2_000_000_000)  # a fresh, unused user id per run (root only)
SYSTEM = frozenset({"bin", "boot", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "run", "sbin", "sys", "usr",
                    "var"})  # top-level folders a child sees (read-only); every other one it sees empty but for what it runs
SHOWN = ("checks", "labkit", "lambda_rie", "docker")  # of the lab, all a child runs: never the reference, tests or .git
MEMORY_BYTES = 3 * 1024**3  # address space: NumPy + scikit-learn need ~1 GB of it
MAX_PROCESSES = 64
MAX_FILE_BYTES = 64 * 1024**2
FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC}


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def confine(writable: Path, network: bool, drop: bool = True, visible: tuple[Path, ...] = (),
            cover: tuple[Path, ...] = ()) -> bool:
    """Make everything but ``writable`` read-only (and the network unreachable unless ``network``); hide the
    temporary folder, the ``cover`` folders and every folder others may not enter, but ``writable`` and the
    ``visible`` folders under them (:func:`hidden`); drop every capability (unless ``drop`` is False: the caller
    changes user next). Returns False, changing nothing that matters, where the system does not allow it."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS | (0 if network else CLONE_NEWNET)) != 0:
        return False
    if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return False
    libc.mount(b"tmpfs", b"/dev/shm", b"tmpfs", MS_NOSUID | MS_NODEV, b"size=64m")  # gone with the namespace
    kept = (writable, *visible)
    for folder in hidden(kept, cover):
        if not _cover(libc, folder, kept):
            return False
    folder = str(writable).encode()
    if libc.mount(folder, folder, None, MS_BIND, None) != 0:  # its own mount: it stays writable
        return False
    for target, options in _mounts():
        if target == str(writable) or target == "/dev/shm" or target.startswith(KEEP_WRITABLE):
            continue
        kept = sum(flag for name, flag in FLAGS.items() if name in options)
        libc.mount(None, target.encode(), None, MS_REMOUNT | MS_BIND | MS_RDONLY | kept, None)
    _drop_capabilities(libc, drop)
    return True


def restrict(uid: int | None, timeout: float, home: str, network: bool, confined: bool, visible: list[str],
             cover: list[str]) -> None:
    """In the child, before the submission's code: confinement (:func:`confine`, where ``confined``: ``visible``
    and ``cover`` as it takes them), the untrusted user ``uid``, then resource limits (CPU for ``timeout``,
    memory, processes, files).

    The limits come last: the child is a copy of the fork server, whose address space and open files may
    exceed them, and confining needs to allocate and to read /proc. Raises OSError when confining fails.
    """
    if confined and not confine(Path(home), network, drop=uid is None, visible=tuple(map(Path, visible)),
                                cover=tuple(map(Path, cover))):
        raise OSError("could not confine the sandbox process")
    if uid is not None:  # RLIMIT_NPROC counts the processes of the real user id; root ignores it
        resource.setrlimit(resource.RLIMIT_NPROC, (MAX_PROCESSES, MAX_PROCESSES))
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # as after exec: /proc/self is its own
    limits = {resource.RLIMIT_CPU: int(timeout) + 5, resource.RLIMIT_FSIZE: MAX_FILE_BYTES,
              resource.RLIMIT_NOFILE: 256, resource.RLIMIT_CORE: 0, resource.RLIMIT_AS: MEMORY_BYTES}
    for limit, value in limits.items():
        with contextlib.suppress(ValueError, OSError):  # macOS refuses some (RLIMIT_AS): the others still hold
            resource.setrlimit(limit, (value, value))


def hidden(kept: tuple[Path, ...], cover: tuple[Path, ...] = ()) -> list[Path]:
    """The folders a confined child sees empty but for ``kept`` (outermost first, none inside another): the
    temporary folder, every top-level folder but the system's (:data:`SYSTEM`: where a class's sources, an
    instructor's gradebook or a classmate's copy may lie), the ``cover`` folders, and every folder above a kept
    one that others may not enter."""
    tops = [entry for entry in Path("/").iterdir() if entry.name not in SYSTEM and not entry.is_symlink() and entry.is_dir()]
    folders = {Path(folder).resolve() for folder in (tempfile.gettempdir(), *tops, *cover)} - {Path("/")}
    for path in kept:
        for above in reversed(Path(path).resolve().parents):
            with contextlib.suppress(OSError):
                if above != Path("/") and not above.stat().st_mode & 0o001:
                    folders.add(above)
    return sorted((f for f in folders if not any(other in f.parents for other in folders)), key=lambda f: len(f.parts))


def _cover(libc, folder: Path, kept: tuple[Path, ...]) -> bool:
    """Mount an empty file system on ``folder``, then the ``kept`` folders under it back at their own paths."""
    inside = sorted({Path(p).resolve() for p in kept if folder in Path(p).resolve().parents and Path(p).is_dir()})
    inside = [p for p in inside if not any(other in p.parents for other in inside)]  # the outermost ones
    staged = []
    for number, path in enumerate(inside):
        stage = Path(f"/dev/shm/.kept-{len(folder.parts)}-{number}")
        stage.mkdir()
        if libc.mount(str(path).encode(), str(stage).encode(), None, MS_BIND | MS_REC, None) != 0:
            return False
        staged.append((stage, path))
    if libc.mount(b"tmpfs", str(folder).encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"mode=0755,size=1m") != 0:
        return False
    for stage, path in staged:
        path.mkdir(parents=True, exist_ok=True)
        for above in [path, *path.parents]:
            if above == folder:
                break
            above.chmod(0o755)
        if libc.mount(str(stage).encode(), str(path).encode(), None, MS_MOVE, None) != 0:
            return False
        stage.rmdir()
    return True


def works(python: str, scratch: Path) -> bool:
    """Whether confining works here: a confined child can write its folder and nothing else."""
    (scratch / "w").mkdir()
    script = ("import sys\ntry:\n    open(sys.argv[1], 'w').close()\n    sys.exit(1)\nexcept OSError:\n    pass\n"
              "open(sys.argv[2] + '/ok', 'w').close()")
    try:
        done = subprocess.run([python, "-I", "-c", script, str(scratch / "outside"), str(scratch / "w")],
                              preexec_fn=lambda: confine(scratch / "w", False, visible=interpreter()) or os._exit(2),
                              capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0 and not (scratch / "outside").exists()


def _mounts() -> list[tuple[str, str]]:
    """(mount point, options) of every mount, as the kernel lists them (octal escapes decoded)."""
    rows = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        rows.append((fields[4].encode().decode("unicode_escape"), fields[5]))
    return rows


def _drop_capabilities(libc, now: bool) -> None:
    """None after exec (an empty bounding set), no setuid binary to regain one, and (``now``) none from now on;
    otherwise the caller's change of user drops them."""
    for capability in range(LAST_CAPABILITY + 1):
        libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    if now:
        header, data = _CapHeader(0x20080522, 0), (_CapData * 2)()
        libc.capset(ctypes.byref(header), data)
    os.umask(0o077)


def untrusted_uid(repo: Path) -> int | None:
    """A user id nobody uses, so that its processes and files are exactly the child's.

    Only when the grader runs as root, and only when that user can run this interpreter and read
    the lab (an interpreter under a private home, e.g. /root/.pyenv, cannot be): None otherwise.
    """
    if os.geteuid() != 0 or not _interpreter_shared(repo):
        return None
    return UNTRUSTED_UIDS[0] + secrets.randbelow(UNTRUSTED_UIDS[1] - UNTRUSTED_UIDS[0])


@functools.cache
def confinable() -> bool:
    """Whether this system lets the grader confine a child (:mod:`checks.sandbox.confine`); tried once."""
    with tempfile.TemporaryDirectory(prefix="lab-grade-probe-") as folder:
        Path(folder).chmod(0o755)
        return works(sys.executable, Path(folder))


def needed(repo: Path) -> tuple[Path, ...]:
    """What a child must see besides its scratch: the folders of the lab (``repo``, which it sees empty but for
    these: ``cover=(repo,)``) it runs (:data:`SHOWN`), and this interpreter's folders."""
    return (*(repo / name for name in SHOWN), *interpreter())


def interpreter() -> tuple[Path, ...]:
    """This interpreter's folders: its prefixes, its executable's folder and its site-packages."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable)), *site.getsitepackages()}
    return tuple(sorted(Path(path) for path in paths if path))


@functools.cache
def _interpreter_shared(repo: Path) -> bool:
    """Whether another user, confined as a child is (:func:`confine`, where it can be), can run the lab's code."""
    uid = UNTRUSTED_UIDS[0] - 1
    confined = confinable()

    with tempfile.TemporaryDirectory(prefix="lab-grade-probe-") as folder:
        Path(folder).chmod(0o755)

        def drop():
            if confined and not confine(Path(folder), False, drop=False, visible=needed(repo), cover=(repo,)):
                os._exit(3)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)

        probe = f"import sys; sys.path.insert(0, {str(repo)!r}); import numpy, labkit.todo, checks.probes"
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            return subprocess.run([sys.executable, "-I", "-c", probe], cwd="/", preexec_fn=drop, capture_output=True,
                                  timeout=60).returncode == 0
    return False
