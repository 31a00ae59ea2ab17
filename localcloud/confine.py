"""Confine a host-mode workload, then become it: the first process of its own namespaces.

``unshare --net --ipc --pid --mount --fork --kill-child -- python -I -S confine.py SPEC -- COMMAND...`` (standard
library only; root). Run as process 1 of a new PID namespace, in new network, IPC and mount namespaces, it

* brings up the namespace's loopback, its only interface (the stand-in reaches it through
  :mod:`localcloud.relay`; the workload reaches nothing of the host's network); System V shared memory,
  semaphores and message queues are the namespace's own and vanish with it;
* builds a new root and moves into it with ``pivot_root`` (:func:`build_file_system`): the system folders
  (``/usr``, ``/etc``, ...), ``SPEC["visible"]`` (the interpreter and its packages) and ``SPEC["binds"]``
  (``/var/task``, the RIE as ``/var/runtime/aws-lambda-rie``, as on Lambda) read-only, a fresh ``/proc``
  (only its own processes are visible), a ``/dev`` of a few devices, a private ``/tmp`` (Lambda's 512 MB,
  gone with the namespace) and ``/dev/shm``; nothing else of the host (home folders, other stand-ins' homes,
  ``/run`` and its sockets) exists there, and the workload writes nowhere but ``/tmp`` and ``/dev/shm``;
* puts itself in a cgroup of its own (:func:`limit_resources`; ``SPEC["memory_mb"]`` and ``SPEC["cpus"]``,
  when given; when cgroups cannot be written here it goes on without, unless ``SPEC["limits_required"]``),
  and limits the processes (threads included) and open files to Lambda's 1024 each, for its user id, which
  is its own; no core dumps;
* drops every capability for good (bounding set), changes to ``SPEC["uid"]``/``SPEC["gid"]`` with no
  supplementary groups, sets ``no_new_privs`` (a setuid binary gives nothing), refuses new user namespaces
  with a seccomp filter (in one it would hold every capability; Docker's default profile refuses them too),
  changes to ``SPEC["workdir"]``
  and executes COMMAND, which thus becomes process 1: when it ends, the kernel ends every process of the
  namespace, ``setsid`` children included, and ``--kill-child`` ends it when ``unshare`` is killed.

Any failure exits with status 125 and one line on stderr, before COMMAND runs.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import platform
import resource
import socket
import stat
import struct
import sys
import time

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 8, 32, 4096, 16384, 1 << 18)
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, LAST_CAPABILITY = 24, 38, 63
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")  # what programs need, read-only
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")  # Docker's set, less the console and terminals
NEW_ROOT, OLD_ROOT = "/tmp", "/.host"  # the new root is built on a tmpfs over /tmp (of this mount namespace only)
MNT_DETACH = 2
PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "armv7l": 218}  # no libc wrapper
# seccomp: (audit architecture, unshare, clone, clone3) system call numbers; clone3 passes its flags in memory,
# where a filter cannot read them, so it answers ENOSYS and the C library falls back to clone (as Docker does)
SECCOMP_ARCHES = {"x86_64": (0xC000003E, 272, 56, 435), "aarch64": (0xC00000B7, 97, 220, 435)}
PR_SET_SECCOMP, SECCOMP_MODE_FILTER, CLONE_NEWUSER, X32_SYSCALL_BIT = 22, 2, 0x10000000, 0x40000000
BPF_LD_ABS, BPF_JEQ, BPF_JGE, BPF_JSET, BPF_RET = 0x20, 0x15, 0x35, 0x45, 0x06
SECCOMP_ALLOW, SECCOMP_ERRNO, EPERM, ENOSYS = 0x7FFF0000, 0x00050000, 1, 38
PROCESSES, OPEN_FILES = 1024, 1024  # Lambda's limits; one user id per environment makes them per environment
CGROUP_FOLDER, CPU_PERIOD_US = "localcloud", 100_000
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


def mountpoint(path: str, like_file: bool) -> None:
    """Create ``path`` (and its parents) inside the new root's tmpfs, as a folder or an empty file to bind over."""
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    if like_file:
        open(path, "a").close()
    else:
        os.makedirs(path, mode=0o755, exist_ok=True)


def bind(handle: int, target: str) -> None:
    """Bind what ``handle`` (an O_PATH descriptor opened before anything was covered) names onto ``target``."""
    mountpoint(target, not stat.S_ISDIR(os.fstat(handle).st_mode))
    mount(f"/proc/self/fd/{handle}", target, None, MS_BIND | MS_REC)


def covered(path: str, covers: list[str] | tuple[str, ...]) -> bool:
    return any(path == cover or path.startswith(cover.rstrip("/") + "/") for cover in covers)


def pivot_root(new_root: str, put_old: str) -> None:
    number = PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise Refused(f"pivot_root: unknown system call number on {platform.machine()}")
    check(libc.syscall(number, new_root.encode(), put_old.encode()), "pivot_root")


def build_file_system(spec: dict) -> None:
    """A new root holding only what a workload needs, then ``pivot_root`` into it and detach the host's.

    The new root is a tmpfs with the system folders (:data:`SYSTEM`), ``SPEC["visible"]`` (the interpreter
    and its packages) and ``SPEC["binds"]`` bound read-only, a fresh ``/proc``, ``/sys`` read-only, a ``/dev``
    of :data:`DEVICES` only, and tmpfs ``/tmp`` and ``/dev/shm``. Nothing else of the host exists in it (no
    home folders, no other stand-in's ``LOCALCLOUD_HOME``, no ``/run`` with its sockets, no host ``/dev``), and
    the host's root is unmounted, so no chroot trick reaches it.
    """
    def handle(path: str) -> int:
        return os.open(path, os.O_PATH | os.O_NOFOLLOW)

    system = [(path, os.readlink(path) if os.path.islink(path) else handle(path))
              for path in SYSTEM if os.path.lexists(path)]
    devices = [(name, handle(f"/dev/{name}")) for name in DEVICES if os.path.exists(f"/dev/{name}")]
    sys_handle = handle("/sys")
    binds = [(os.open(source, os.O_PATH), target) for source, target in spec["binds"]]
    binds += [(os.open(path, os.O_PATH), path) for path in spec["visible"]
              if os.path.exists(path) and not covered(path, SYSTEM)]
    mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing done here reaches the host's mounts
    new = NEW_ROOT
    mount("tmpfs", new, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    for path, what in system:
        if isinstance(what, str):
            os.symlink(what, new + path)  # /bin -> usr/bin on merged-/usr systems
        else:
            bind(what, new + path)
    bind(sys_handle, new + "/sys")
    os.makedirs(new + "/proc")
    mount("proc", new + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)  # this PID namespace's processes only
    os.makedirs(new + "/tmp")
    mount("tmpfs", new + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={spec['tmp_mb']}m,mode=1777")
    os.makedirs(new + "/dev")
    mount("tmpfs", new + "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=0755")
    for name, device in devices:
        bind(device, f"{new}/dev/{name}")
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{new}/dev/{name}")
    os.makedirs(new + "/dev/shm")
    mount("tmpfs", new + "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=1777")
    for source, target in binds:
        bind(source, new + target)
    for _, what in [*system, *devices, (None, sys_handle), *binds]:
        if isinstance(what, int):
            os.close(what)
    os.makedirs(new + OLD_ROOT)
    os.chdir(new)
    pivot_root(".", "." + OLD_ROOT)
    os.chdir("/")
    check(libc.umount2(OLD_ROOT.encode(), MNT_DETACH), "unmount the host's root")
    os.rmdir(OLD_ROOT)
    with open("/proc/self/mountinfo") as table:
        mounts = [(line.split()[4].encode().decode("unicode_escape"), line.split()[5]) for line in table]
    for target, options in mounts:
        if target in ("/tmp", "/dev/shm") or covered(target, ["/proc"]):
            continue
        kept = sum(flag for name, flag in FLAGS.items() if name in options.split(","))
        check(libc.mount(None, target.encode(), None, MS_REMOUNT | MS_BIND | MS_RDONLY | kept, None),
              f"remount {target} read-only")


def cgroup_mounts() -> dict[str, str]:
    """Where each cgroup hierarchy is mounted: ``{"": v2 mount}`` and ``{controller: v1 mount}``."""
    found = {}
    with open("/proc/self/mountinfo") as table:
        for line in table:
            fields = line.split()
            after = fields[fields.index("-") + 1:]
            target = fields[4].encode().decode("unicode_escape")
            if after[0] == "cgroup2":
                found.setdefault("", target)
            elif after[0] == "cgroup":
                for option in after[2].split(","):
                    found.setdefault(option, target)
    return found


def write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def fresh_group(parent: str, name: str) -> str:
    """``parent/localcloud/name``, created; the groups of ended environments there are removed first (those
    empty for a minute: a group just created is empty until its process moves in)."""
    base = os.path.join(parent, CGROUP_FOLDER)
    os.makedirs(base, exist_ok=True)
    for entry in os.listdir(base):
        path = os.path.join(base, entry)
        with contextlib.suppress(OSError):
            if os.path.isdir(path) and time.time() - os.stat(path).st_mtime > 60:
                os.rmdir(path)  # refused while processes are in it
    group = os.path.join(base, name)
    os.makedirs(group, exist_ok=True)
    return group


def limit_resources(name: str, memory_mb: int, cpus: float) -> None:
    """Move this process into a cgroup ``localcloud/NAME`` of its own: at most ``memory_mb`` of memory (no
    swap), ``cpus`` CPUs and :data:`PROCESSES` processes; everything it starts stays in it (cgroup v2, or
    v1's memory, cpu and pids hierarchies).

    Raises:
        OSError, Refused: no cgroup hierarchy with these controllers can be written here.
    """
    mounts = cgroup_mounts()
    with open("/proc/self/cgroup") as table:
        own = {controller: path for _, controllers, path in (line.rstrip("\n").split(":", 2) for line in table)
               for controller in controllers.split(",")}
    memory, quota = str(memory_mb << 20), f"{int(cpus * CPU_PERIOD_US)} {CPU_PERIOD_US}"
    if "memory" not in mounts and "" in mounts:  # cgroup v2: a group beside the root's, which may hold processes
        root = mounts[""]
        with open(os.path.join(root, "cgroup.controllers")) as available:
            missing = {"memory", "cpu", "pids"} - set(available.read().split())
        if missing:
            raise Refused(f"cgroup v2 lacks the {', '.join(sorted(missing))} controllers")
        os.makedirs(os.path.join(root, CGROUP_FOLDER), exist_ok=True)
        write(os.path.join(root, CGROUP_FOLDER, "cgroup.subtree_control"), "+memory +cpu +pids")
        group = fresh_group(root, name)
        for key, value in (("memory.max", memory), ("memory.swap.max", "0"), ("cpu.max", quota),
                           ("pids.max", str(PROCESSES))):
            if key != "memory.swap.max" or os.path.exists(os.path.join(group, key)):
                write(os.path.join(group, key), value)
        write(os.path.join(group, "cgroup.procs"), "0")
        return
    settings = {"memory": [("memory.limit_in_bytes", memory), ("memory.memsw.limit_in_bytes", memory)],
                "cpu": [("cpu.cfs_period_us", str(CPU_PERIOD_US)), ("cpu.cfs_quota_us", str(int(cpus * CPU_PERIOD_US)))],
                "pids": [("pids.max", str(PROCESSES))]}
    for controller, values in settings.items():
        if controller not in mounts or controller not in own:
            raise Refused(f"no cgroup v1 {controller} hierarchy")
        group = fresh_group(mounts[controller] + own[controller].rstrip("/"), name)
        for key, value in values:
            if os.path.exists(os.path.join(group, key)):  # memsw: only with swap accounting
                write(os.path.join(group, key), value)
        write(os.path.join(group, "cgroup.procs"), "0")


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def seccomp_program(arch: int, unshare: int, clone: int, clone3: int) -> bytes:
    """A classic BPF filter refusing new user namespaces (``unshare``/``clone`` with ``CLONE_NEWUSER``: EPERM;
    ``clone3``, other ABIs than the native one: ENOSYS) and allowing everything else."""
    def op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
        return struct.pack("HBBI", code, jt, jf, k)

    return b"".join([
        op(BPF_LD_ABS, 4),                         # 0: seccomp_data.arch
        op(BPF_JEQ, arch, 0, 10),                  # 1: another ABI (i386 on x86_64, say) -> 12
        op(BPF_LD_ABS, 0),                         # 2: seccomp_data.nr
        op(BPF_JGE, X32_SYSCALL_BIT, 7, 0),        # 3: x32 -> 11
        op(BPF_JEQ, clone3, 7, 0),                 # 4: -> 12
        op(BPF_JEQ, unshare, 2, 0),                # 5: -> 8
        op(BPF_JEQ, clone, 1, 0),                  # 6: -> 8
        op(BPF_RET, SECCOMP_ALLOW),                # 7
        op(BPF_LD_ABS, 16),                        # 8: the flags, args[0] (low half)
        op(BPF_JSET, CLONE_NEWUSER, 1, 0),         # 9: -> 11
        op(BPF_RET, SECCOMP_ALLOW),                # 10
        op(BPF_RET, SECCOMP_ERRNO | EPERM),        # 11
        op(BPF_RET, SECCOMP_ERRNO | ENOSYS),       # 12
    ])


def no_user_namespaces() -> None:
    """Install :func:`seccomp_program` for this process and everything it starts (after ``no_new_privs``)."""
    numbers = SECCOMP_ARCHES.get(platform.machine())
    if numbers is None:
        raise Refused(f"no seccomp filter for {platform.machine()}")
    program = ctypes.create_string_buffer(seccomp_program(*numbers))
    fprog = SockFprog(len(program.raw) // 8, ctypes.addressof(program))
    check(libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp")


def become(uid: int, gid: int) -> None:
    for limit, value in ((resource.RLIMIT_NPROC, PROCESSES), (resource.RLIMIT_NOFILE, OPEN_FILES),
                         (resource.RLIMIT_CORE, 0)):  # no core dumps handed to the host's handler
        soft, hard = resource.getrlimit(limit)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(limit, (value, value))
    for capability in range(LAST_CAPABILITY + 1):
        libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)  # from root to another user: every capability is gone
    check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    no_user_namespaces()


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: confine.py SPEC -- COMMAND...", file=sys.stderr)
        return 125
    spec, command = json.loads(argv[0]), argv[2:]
    try:
        if os.getpid() != 1:
            raise Refused("not the first process of a new PID namespace")
        loopback_up()
        if spec.get("memory_mb"):
            try:
                limit_resources(f"env-{spec['uid']}", spec["memory_mb"], spec["cpus"])
            except (OSError, Refused) as error:
                if spec.get("limits_required"):
                    raise Refused(f"cannot limit memory and CPU: {error}") from None
        build_file_system(spec)
        become(spec["uid"], spec["gid"])
        os.chdir(spec["workdir"])
        os.execv(command[0], command)
    except (OSError, Refused) as error:
        print(f"localcloud: cannot confine the function: {error}", file=sys.stderr, flush=True)
    return 125


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
