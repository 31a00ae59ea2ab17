"""Tries what a workload must not be able to do, and reports what it got; it never raises.

The event says what to try (every key optional):

- ``connect``: ``[[host, port], ...]``, TCP connections to open (the edge, a server of the host's, another
  workload); each is reported ``"connected"`` or the error's name;
- ``edge``: GET ``$AWS_ENDPOINT_URL/_localcloud/status`` (the stand-in's own API), reported as status or error;
- ``setuid``: a program to run as ``PROGRAM -c CODE`` that reports its effective user id and whether it may
  open a raw socket (a setuid-root interpreter in the image);
- ``linger``: a marker; starts ``python -c 'sleep' MARKER`` in a session of its own (``setsid``), which must
  end with the environment;
- ``write``: a path to create (a VOLUME of the image, say);
- ``read``: paths of files to read (the grader's files, another stand-in's home, a socket to connect to;
  ``@NAME`` is an abstract unix socket): each is reported ``"read"`` (or ``"connected"``) or the error's name;
- ``shm``: a System V key; creates a 1 MB shared memory segment under it (must be gone with the environment);
- ``threads``: how many threads to try to start (each waits until all are counted); reports how many started;
- ``user_namespace``: whether a child may create a user namespace (where it would hold every capability);
- ``cpu_quota``: the CPU time the workload's cgroup may use per period (``"max"`` when unlimited);
- ``allocate``: megabytes of memory to fill (more than the function's memory: Lambda ends the runtime);
- ``print``: megabytes of output to write to stdout (the function's log);
- ``inotify``: how many inotify instances to open and keep while the environment lives (a per-user kernel
  counter); reports how many it got.

It always reports its own ids, capabilities, ``NoNewPrivs``, a raw socket attempt and its network interfaces.
"""

import ctypes
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import urllib.request

RAW_PROBE = ("import json, os, socket\nresult = {'euid': os.geteuid()}\ntry:\n"
             "    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()\n"
             "    result['raw_socket'] = 'opened'\nexcept OSError as error:\n"
             "    result['raw_socket'] = type(error).__name__\nprint(json.dumps(result))")


def status_fields(*names):
    with open("/proc/self/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    return {name: fields.get(name, "").strip() for name in names}


def attempt(action):
    try:
        return action()
    except Exception as error:  # the point is to report, not to fail
        return type(error).__name__


def connect(host, port):
    socket.create_connection((host, port), timeout=2).close()
    return "connected"


def edge():
    with urllib.request.urlopen(os.environ["AWS_ENDPOINT_URL"] + "/_localcloud/status", timeout=2) as answer:
        return answer.status


def raw_socket():
    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
    return "opened"


def setuid(program):
    done = subprocess.run([program, "-c", RAW_PROBE], capture_output=True, text=True, timeout=30)
    return json.loads(done.stdout) if done.returncode == 0 else done.stderr[-300:]


def linger(marker):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)", marker], start_new_session=True,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return child.pid


def write(path):
    with open(path, "w") as handle:
        handle.write("left behind")
    return "written"


def read(path):
    if path.startswith("@") or stat.S_ISSOCK(os.stat(path).st_mode):
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect("\0" + path[1:] if path.startswith("@") else path)
        return "connected"
    with open(path, "rb") as handle:
        handle.read(1)
    return "read"


def shm(key):
    libc = ctypes.CDLL(None, use_errno=True)
    segment = libc.shmget(key, 1 << 20, 0o1000 | 0o600)  # IPC_CREAT
    if segment < 0:
        return os.strerror(ctypes.get_errno())
    return segment


def threads(count):
    threading.stack_size(65536)
    release, started = threading.Event(), []
    try:
        for _ in range(count):
            thread = threading.Thread(target=release.wait, daemon=True)
            thread.start()
            started.append(thread)
    except RuntimeError:
        pass
    finally:
        release.set()
    for thread in started:
        thread.join()
    return len(started)


def user_namespace():
    child = os.fork()
    if child == 0:
        os._exit(0 if ctypes.CDLL(None).unshare(0x10000000) == 0 else 1)  # CLONE_NEWUSER
    return "created" if os.waitpid(child, 0)[1] == 0 else "refused"


def cpu_quota():
    with open("/proc/self/cgroup") as table:
        own = {controller: path for _, controllers, path in (line.rstrip("\n").split(":", 2) for line in table)
               for controller in controllers.split(",")}
    # its own group where /sys shows the host's hierarchy (host mode), else the root of what it sees (a container)
    candidates = [f"/sys/fs/cgroup{own.get('', '/').rstrip('/')}/cpu.max", "/sys/fs/cgroup/cpu.max",
                  f"/sys/fs/cgroup/cpu{own.get('cpu', '/').rstrip('/')}/cpu.cfs_quota_us",
                  "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"]
    for path in candidates:
        if os.path.exists(path):
            with open(path) as limit:
                quota = limit.read().split()[0]
            if quota not in ("max", "-1"):
                return quota
    return "max"


def allocate(megabytes):
    filled = b"\1" * (megabytes << 20)
    return f"allocated {len(filled) >> 20} MB"


def output(megabytes):
    line = "x" * 1023 + "\n"
    for _ in range(megabytes * 1024):
        sys.stdout.write(line)
    sys.stdout.flush()
    return "printed"


KEPT = []  # what the environment keeps open between invocations


def inotify(count):
    libc = ctypes.CDLL(None, use_errno=True)
    for _ in range(count):
        descriptor = libc.inotify_init()
        if descriptor < 0:
            break
        KEPT.append(descriptor)
    return len(KEPT)


def interfaces():
    return sorted(name for _, name in socket.if_nameindex())


def handler(event, context):
    report = {"uid": os.getuid(), "euid": os.geteuid(),
              **status_fields("CapEff", "CapBnd", "NoNewPrivs"),
              "raw_socket": attempt(raw_socket), "interfaces": attempt(interfaces),
              "connect": [attempt(lambda address=address: connect(*address)) for address in event.get("connect", [])]}
    if event.get("edge"):
        report["edge"] = attempt(edge)
    if event.get("setuid"):
        report["setuid"] = attempt(lambda: setuid(event["setuid"]))
    if event.get("linger"):
        report["linger"] = attempt(lambda: linger(event["linger"]))
    if event.get("write"):
        report["write"] = attempt(lambda: write(event["write"]))
    if event.get("read"):
        report["read"] = {path: attempt(lambda path=path: read(path)) for path in event["read"]}
    if event.get("shm"):
        report["shm"] = attempt(lambda: shm(event["shm"]))
    if event.get("threads"):
        report["threads"] = attempt(lambda: threads(event["threads"]))
    if event.get("user_namespace"):
        report["user_namespace"] = attempt(user_namespace)
    if event.get("cpu_quota"):
        report["cpu_quota"] = attempt(cpu_quota)
    if event.get("allocate"):
        report["allocate"] = attempt(lambda: allocate(event["allocate"]))
    if event.get("inotify"):
        report["inotify"] = attempt(lambda: inotify(event["inotify"]))
    if event.get("print"):
        report["print"] = attempt(lambda: output(event["print"]))
    return report
