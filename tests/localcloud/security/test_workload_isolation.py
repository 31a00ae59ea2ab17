"""A Lambda function is an untrusted client: what its handler tries from inside must fail.

The handler (tests/localcloud/functions/intruder) tries to reach the edge and a server on the host's
loopback, to open a raw socket, to gain root through a setuid binary of its image, to leave a process
behind in a session of its own, and to write into a VOLUME of its image; from the outside, a loopback
client polls every port the function listens on, as a DNS-rebound page would. Each runs against a
docker-mode function (its own image) and a host-mode function (a folder pushed as a host image, which
the stand-in runs on this machine, in host mode and in docker mode alike).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
import requests
from workloads import container_pid, descendants, host_listening_ports, own_network, processes_with

from polling import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
DOCKER = pytest.mark.docker
# (stand-in mode, how the intruder is packaged): an image built with Docker, or a folder pushed as a host image
KINDS = [pytest.param("host", "folder", id="host"),
         pytest.param("docker", "image", id="docker", marks=DOCKER),
         pytest.param("docker", "folder", id="docker-host-image", marks=DOCKER)]
NO_CAPABILITIES = "0000000000000000"
REPOSITORY = "lc-tests"  # the repository the lab fixture creates


def intruder(lab, kind: str, image: str | None = None) -> str:
    """A function running the intruder handler, packaged as ``kind``; returns its name."""
    if kind == "folder":
        answer = lab.cloud.push_folder(lab.functions / "intruder", REPOSITORY, "intruder-folder")
        assert answer.status_code == 200, answer.text
        image = answer.json()["imageUri"]
    return lab.function("intruder", image=image or lab.image("intruder"), Timeout=5)


def environment(lab, name: str) -> dict:
    (env,) = lab.counters(name)["environments"]
    return env


def workload_pid(env: dict) -> int:
    """The environment's first process on this machine: its container's, or its host process."""
    return container_pid(env["container"]) if env["container"] else env["pid"]


@pytest.fixture
def host_server():
    """A TCP server on the host's loopback (as another workload's port or a local service would be)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(0.2)
        yield server.getsockname()[1]


@pytest.mark.parametrize("lab, kind", KINDS, indirect=["lab"])
def test_a_function_reaches_neither_the_edge_nor_a_server_on_the_hosts_loopback(lab, kind, host_server):
    # given
    name = intruder(lab, kind)
    # when: the handler connects to the edge's port and to a server of the host, and calls the edge's API
    report, _ = lab.invoke(name, {"connect": [["127.0.0.1", lab.cloud.port], ["127.0.0.1", host_server]],
                                  "edge": True})
    # then: nothing answers; its only network is its own loopback
    assert "connected" not in report["connect"], report
    assert report["edge"] != 200, report
    assert report["interfaces"] == ["lo"], report


@pytest.mark.parametrize("lab, kind", KINDS, indirect=["lab"])
def test_a_function_runs_unprivileged_with_no_capabilities_and_no_new_privileges(lab, kind):
    # given
    name = intruder(lab, kind)
    # when
    report, _ = lab.invoke(name, {})
    # then: not root, no capability now or ever (bounding set), no way up through setuid, no raw socket
    assert report["uid"] != 0 and report["euid"] != 0, report
    assert (report["CapEff"], report["CapBnd"], report["NoNewPrivs"]) == (NO_CAPABILITIES, NO_CAPABILITIES, "1"), report
    assert report["raw_socket"] != "opened", report


@pytest.mark.parametrize("lab, kind", KINDS, indirect=["lab"])
def test_a_setsid_child_ends_with_its_environment_and_so_do_its_forwarder_and_container(lab, kind):
    # given: a handler that leaves a process in a session of its own
    name = intruder(lab, kind)
    marker = f"lingering-{uuid.uuid4().hex}"
    report, _ = lab.invoke(name, {"linger": marker})
    assert isinstance(report["linger"], int), report
    assert processes_with(marker), "the handler's child did not start"
    env = environment(lab, name)
    socket_path = env["rie"].removeprefix("unix:")
    # when
    lab.lam.delete_function(FunctionName=name)
    # then: nothing of the environment is left: its processes, its forwarder and socket, its container
    wait_for(lambda: not processes_with(marker), 30, what="the lingering child to end with its environment")
    wait_for(lambda: not processes_with(socket_path) and not os.path.exists(socket_path), 30,
             what="the forwarder ending and its socket removed")
    if env["container"]:
        left = subprocess.run(["docker", "ps", "--all", "--quiet", "--filter", f"name={env['container']}"],
                              capture_output=True, text=True, timeout=30).stdout
        assert left.strip() == ""


@pytest.mark.parametrize("lab, kind", KINDS, indirect=["lab"])
def test_nothing_of_a_function_listens_on_the_hosts_network_so_a_loopback_poller_steals_nothing(lab, kind):
    # given: a warm environment
    name = intruder(lab, kind)
    lab.invoke(name, {})
    pid = workload_pid(environment(lab, name))
    ports = host_listening_ports(descendants(pid))
    # when: a loopback client (a DNS-rebound page) polls the runtime API on every port the function listens on
    stop = threading.Event()

    def poll(port: int) -> None:
        while not stop.is_set():
            try:
                requests.get(f"http://127.0.0.1:{port}/2018-06-01/runtime/invocation/next", timeout=1)
            except requests.RequestException:
                stop.wait(0.05)

    pollers = [threading.Thread(target=poll, args=(port,), daemon=True) for port in ports]
    for poller in pollers:
        poller.start()
    try:
        report, answer = lab.invoke(name, {})
    finally:
        stop.set()
    # then: the student's invoke is answered by the handler, and there was nothing to poll
    assert "FunctionError" not in answer and report["uid"] != 0, report
    assert ports == [], f"the function listens on the host's loopback ports {ports}"
    assert own_network(pid)


@pytest.mark.docker
@pytest.mark.parametrize("lab", ["docker"], indirect=True)
def test_a_setuid_root_binary_or_a_volume_in_the_image_gives_nothing(lab, tmp_path):
    # given: an image with a setuid-root interpreter and a VOLUME
    (tmp_path / "app.py").write_text((lab.functions / "intruder" / "app.py").read_text())
    (tmp_path / "Dockerfile").write_text(
        f"FROM {lab.base_image}\nCOPY app.py ${{LAMBDA_TASK_ROOT}}/\n"
        "RUN cp /usr/bin/python3.11 /usr/local/bin/rootpython && chmod 4755 /usr/local/bin/rootpython "
        "&& mkdir /data && echo kept > /data/kept\nVOLUME /data\nCMD [\"app.handler\"]\n")
    uri = f"{lab.host}/{REPOSITORY}:hostile-{uuid.uuid4().hex[:6]}"
    for command in (["build", "--network", "host", "--quiet", "--tag", uri, str(tmp_path)], ["push", "--quiet", uri]):
        done = subprocess.run(["docker", *command], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    lab.built[uri] = uri
    name = intruder(lab, "image", image=uri)
    # when
    report, _ = lab.invoke(name, {"setuid": "/usr/local/bin/rootpython", "write": "/data/left"})
    container = environment(lab, name)["container"]
    mounts = subprocess.run(["docker", "inspect", "--format", "{{json .Mounts}}", container], capture_output=True,
                            text=True, timeout=30).stdout
    # then: the setuid bit gives no root and no raw socket; the VOLUME is no writable volume on the engine's disk
    assert report["setuid"]["euid"] != 0 and report["setuid"]["raw_socket"] != "opened", report
    assert report["write"] != "written", report
    assert '"Type":"volume"' not in mounts, mounts
    assert container_pid(container) and own_network(container_pid(container))


REPO = Path(__file__).resolve().parents[3]
SYSTEM_V_KEY = 0x5EC0DE00 + os.getpid() % 256  # a key of this test process's own


def system_v_segments(key: int) -> list[str]:
    """Lines of the host's (this test's IPC namespace's) System V shared memory table for ``key``."""
    lines = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
    return [line for line in lines if int(line.split()[0]) == key]


@pytest.mark.parametrize("lab, kind", KINDS, indirect=["lab"])
def test_a_function_reads_no_file_or_socket_of_the_host_and_its_shared_memory_goes_with_it(lab, kind):
    # given: the reference solution and the grader (world-readable, as a checkout is), the engine's and the
    # registry's sockets, an abstract unix socket of the host, and a System V key of this test's own
    secrets = [str(REPO / "lab_solution" / "app.py"), str(REPO / "checks" / "step7_latency.py")]
    sockets = ["/var/run/docker.sock", str(lab.cloud.home / "run" / "registry.sock")]
    key = SYSTEM_V_KEY + len(kind) + len(lab.mode)
    abstract = socket.socket(socket.AF_UNIX)
    abstract.bind(f"\0localcloud-tests-{uuid.uuid4().hex}")  # belongs to the host's network namespace
    abstract.listen()
    sockets.append("@" + abstract.getsockname()[1:].decode())
    name = intruder(lab, kind)
    try:
        # when: the handler reads and connects, and creates a shared memory segment (memory no process holds,
        # left until the next boot)
        report, _ = lab.invoke(name, {"read": secrets + sockets, "shm": key})
        # then: none of those files exists for the function (a classmate's submission or home would be as far
        # away), and the segment lives in the function's own IPC namespace, not in the host's
        assert {path: result for path, result in report["read"].items() if result in ("read", "connected")} == {}, \
            report
        assert isinstance(report["shm"], int), report
        assert system_v_segments(key) == []
    finally:
        abstract.close()
        for line in system_v_segments(key):
            subprocess.run(["ipcrm", "--shmem-id", line.split()[1]], capture_output=True)


@pytest.mark.parametrize("lab, kind", KINDS, indirect=["lab"])
def test_a_function_cannot_create_a_user_namespace_or_start_more_than_lambdas_1024_threads(lab, kind):
    # given: in a user namespace of its own a process holds every capability, over namespaces it then creates:
    # the kernel's widest surface (Docker's default seccomp profile refuses it)
    name = intruder(lab, kind)
    # when: the handler tries one, and starts threads until refused (a fork bomb, slowly)
    report, _ = lab.invoke(name, {"user_namespace": True, "threads": 1100})
    # then
    assert report["user_namespace"] == "refused", report
    assert isinstance(report["threads"], int) and report["threads"] < 1024, report


@pytest.mark.parametrize("lab, kind", KINDS, indirect=["lab"])
def test_a_function_is_held_to_its_memory_and_a_share_of_the_cpus(lab, kind):
    # given: a function of 256 MB
    name = intruder(lab, kind)
    # when: the handler reads its CPU quota, then fills twice its memory
    quota, _ = lab.invoke(name, {"cpu_quota": True})
    report, answer = lab.invoke(name, {"allocate": 512})
    # then: a busy loop takes at most its share of the machine, and the runtime ends as Lambda ends it
    assert quota["cpu_quota"] != "max", quota
    assert answer.get("FunctionError") == "Unhandled", report


@pytest.mark.docker
@pytest.mark.parametrize("lab", ["docker"], indirect=True)
def test_a_docker_mode_functions_output_fills_no_disk_of_the_engine(lab):
    # given
    name = intruder(lab, "image")
    lab.invoke(name, {})
    container = environment(lab, name)["container"]
    # when: the engine is asked where the function's output goes
    logging = subprocess.run(["docker", "inspect", "--format", "{{json .HostConfig.LogConfig}}", container],
                             capture_output=True, text=True, timeout=30).stdout
    # then: endless output is kept only up to a size
    assert "max-size" in logging, logging


@pytest.mark.parametrize("lab", ["host"], indirect=True)
def test_a_functions_output_does_not_grow_the_stand_ins_memory_without_end(lab):
    # given: the stand-in's resident memory, with a warm function
    name = intruder(lab, "folder")
    lab.invoke(name, {})
    before = resident_mb(lab.cloud.pid)
    # when: the handler prints 200 MB
    report, _ = lab.invoke(name, {"print": 200})
    # then
    assert report["print"] == "printed", report
    assert resident_mb(lab.cloud.pid) - before < 100


def resident_mb(pid: int) -> int:
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(status["VmRSS"].split()[0]) // 1024


@pytest.mark.parametrize("lab", ["host"], indirect=True)
def test_a_local_user_reaches_neither_the_registry_nor_a_functions_socket(lab):
    # given: a warm confined function (a host-mode stand-in run by root), and another local user
    name = intruder(lab, "folder")
    lab.invoke(name, {})
    paths = [lab.cloud.home / "run" / "registry.sock", Path(environment(lab, name)["rie"].removeprefix("unix:"))]
    # when: that user connects to each socket
    probe = "import socket, sys\nfor path in sys.argv[1:]:\n    s = socket.socket(socket.AF_UNIX)\n" \
            "    try:\n        s.connect(path); print('connected', path)\n    except OSError as e:\n" \
            "        print(type(e).__name__, path)\n"
    done = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", sys.executable, "-I",
                           "-c", probe, *map(str, paths)], capture_output=True, text=True, timeout=60)
    # then
    assert done.returncode == 0 and done.stdout.count("PermissionError") == len(paths), done.stdout + done.stderr


SHARED_USER = ("every docker-mode Lambda environment runs as 993:990 (Lambda's sbx_user1051), so per-user kernel "
               "counters are shared by all of them, on the whole machine (fix: a user namespace per container, "
               "dockerd --userns-remap, or a user id per environment at the cost of Lambda's 993)")
INOTIFY_PROBE = "import ctypes\nprint(ctypes.CDLL(None).inotify_init() >= 0)"


@pytest.mark.docker
@pytest.mark.xfail(strict=True, reason=SHARED_USER)
@pytest.mark.parametrize("lab", ["docker"], indirect=True)
def test_a_docker_mode_function_cannot_use_up_a_per_user_kernel_counter_of_another(lab):
    # given: a function that holds every inotify instance its user may open (128 by default)
    name = intruder(lab, "image")
    limit = int(Path("/proc/sys/fs/inotify/max_user_instances").read_text())
    held, _ = lab.invoke(name, {"inotify": limit})
    assert isinstance(held["inotify"], int) and held["inotify"] > 0, held
    # when: another process of Lambda's user (another function's environment, a classmate's in class grading)
    # opens one while the first is warm
    done = subprocess.run(["setpriv", "--reuid", "993", "--regid", "990", "--clear-groups", sys.executable, "-I",
                           "-c", INOTIFY_PROBE], capture_output=True, text=True, timeout=60)
    # then
    assert done.stdout.strip() == "True", done.stdout + done.stderr
