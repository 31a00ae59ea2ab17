"""Confine a host-mode workload, then become it: the first process of its own namespaces.

``unshare --net --pid --mount --fork --kill-child -- python -I -S confine.py SPEC -- COMMAND...`` (standard
library only; root). Run as process 1 of a new PID namespace, in new network and mount namespaces, it

* brings up the namespace's loopback, its only interface (the stand-in reaches it through
  :mod:`localcloud.forwarder`; the workload reaches nothing of the host's network);
* mounts a fresh ``/proc`` (only its own processes are visible), a private ``/tmp`` (Lambda's 512 MB, gone
  with the namespace) and ``/dev/shm``, and a ``/var`` of its own where ``SPEC["binds"]`` appear read-only
  (``/var/task``, the RIE as ``/var/runtime/aws-lambda-rie``, as on Lambda);
* keeps ``SPEC["visible"]`` (the interpreter and its packages) reachable for the user below even where a
  parent folder is private (``/root``, say): that parent is covered by an empty folder holding only them;
* remounts every other file system read-only, so the workload writes nowhere but ``/tmp`` and ``/dev/shm``;
* drops every capability for good (bounding set), changes to ``SPEC["uid"]``/``SPEC["gid"]`` with no
  supplementary groups, sets ``no_new_privs`` (a setuid binary gives nothing), changes to ``SPEC["workdir"]``
  and executes COMMAND, which thus becomes process 1: when it ends, the kernel ends every process of the
  namespace, ``setsid`` children included, and ``--kill-child`` ends it when ``unshare`` is killed.

Any failure exits with status 125 and one line on stderr, before COMMAND runs.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import socket
import stat
import struct
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 8, 32, 4096, 16384, 1 << 18)
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, LAST_CAPABILITY = 24, 38, 63
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
KERNEL_FILESYSTEMS = ("/proc", "/sys", "/dev")  # interfaces, not files a workload could plant anything in
FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC}
libc = ctypes.CDLL(None, use_errno=True)


class Refused(RuntimeError):
    pass


def check(result: int, what: str) -> None:
    if result != 0:
        raise Refused(f"{what}: {os.strerror(ctypes.get_errno())}")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def encode(text: str | None) -> bytes | None:
        return text.encode() if text is not None else None

    check(libc.mount(encode(source), target.encode(), encode(fstype), flags, encode(data)), f"mount {target}")


def loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(sock, SIOCGIFFLAGS, request + b"\0" * 14)[:18])[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | IFF_UP) + b"\0" * 14)


def private_parent(path: str) -> str | None:
    """The top-most folder above ``path`` that other users may not traverse, if any."""
    current = "/"
    for part in path.strip("/").split("/")[:-1]:
        current = os.path.join(current, part)
        if not os.stat(current).st_mode & stat.S_IXOTH:
            return current
    return None


def mountpoint(path: str, like_file: bool) -> None:
    """Create ``path`` (and its parents) inside a fresh tmpfs, as a folder or an empty file to bind over."""
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    if like_file:
        open(path, "a").close()
    else:
        os.makedirs(path, mode=0o755, exist_ok=True)


def bind(handle: int, target: str) -> None:
    """Bind what ``handle`` (an O_PATH descriptor opened before anything was covered) names onto ``target``."""
    mountpoint(target, not stat.S_ISDIR(os.fstat(handle).st_mode))
    mount(f"/proc/self/fd/{handle}", target, None, MS_BIND | MS_REC)


def covered(path: str, covers: list[str]) -> bool:
    return any(path == cover or path.startswith(cover.rstrip("/") + "/") for cover in covers)


def build_file_system(spec: dict) -> None:
    binds = [(os.open(source, os.O_PATH), target) for source, target in spec["binds"]]
    visible = [(os.open(path, os.O_PATH), path) for path in spec["visible"] if os.path.exists(path)]
    fresh = ["/tmp", "/dev/shm", "/var"]  # replaced: what the workload needs from under them is bound again
    covers = []  # private folders above something visible: replaced by an empty folder holding only that
    for _, path in visible:
        parent = private_parent(path)
        if parent and not covered(parent, fresh + covers):
            covers = [cover for cover in covers if not covered(cover, [parent])] + [parent]
    mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing done here reaches the host's mounts
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={spec['tmp_mb']}m,mode=1777")
    mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=1777")
    for cover in ["/var", *covers]:
        mount("tmpfs", cover, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    for handle, path in visible:
        if covered(path, fresh + covers):
            bind(handle, path)
    for handle, target in binds:
        bind(handle, target)
    for handle, _ in [*binds, *visible]:
        os.close(handle)
    with open("/proc/self/mountinfo") as table:
        mounts = [(line.split()[4].encode().decode("unicode_escape"), line.split()[5]) for line in table]
    for target, options in mounts:
        if target in ("/tmp", "/dev/shm") or covered(target, list(KERNEL_FILESYSTEMS)):
            continue
        kept = sum(flag for name, flag in FLAGS.items() if name in options.split(","))
        libc.mount(None, target.encode(), None, MS_REMOUNT | MS_BIND | MS_RDONLY | kept, None)  # best effort


def become(uid: int, gid: int) -> None:
    for capability in range(LAST_CAPABILITY + 1):
        libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)  # from root to another user: every capability is gone
    check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: confine.py SPEC -- COMMAND...", file=sys.stderr)
        return 125
    spec, command = json.loads(argv[0]), argv[2:]
    try:
        if os.getpid() != 1:
            raise Refused("not the first process of a new PID namespace")
        loopback_up()
        build_file_system(spec)
        become(spec["uid"], spec["gid"])
        os.chdir(spec["workdir"])
        os.execv(command[0], command)
    except (OSError, Refused) as error:
        print(f"localcloud: cannot confine the function: {error}", file=sys.stderr, flush=True)
    return 125


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
