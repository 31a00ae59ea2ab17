"""A confined child reaches only the port it is given, sees no other folder of the temporary folder and of the lab
only what it runs, as another user: the mechanisms a class batch relies on (:mod:`checks.sandbox.tunnel`, :mod:`checks.sandbox.confine`)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from checks.sandbox import confine, tunnel
from labkit.config import REPO_ROOT

pytestmark = pytest.mark.skipif(not tunnel.available(), reason="confining a process needs root and namespaces")


def test_as_root_a_child_can_be_confined():
    assert confine.confinable()  # otherwise every child would run unconfined, and the report would only say so


def greeter() -> tuple[socket.socket, int]:
    """A TCP server on the host's 127.0.0.1 that says hello to whoever connects."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            with client:
                client.sendall(b"hello")

    threading.Thread(target=serve, daemon=True).start()
    return server, server.getsockname()[1]


TRY = """
import socket, sys
sys.stdin.readline()
def get(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
            return sock.recv(10).decode()
    except OSError as error:
        return type(error).__name__
print(*[get(int(port)) for port in sys.argv[1:]], flush=True)
"""


def test_a_child_with_its_own_network_reaches_the_port_it_is_given_and_no_other(tmp_path):
    (ours, port), (other, other_port) = greeter(), greeter()
    with ours, other:
        child = subprocess.Popen([sys.executable, "-I", "-c", TRY, str(port), str(other_port)], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, preexec_fn=lambda: confine.confine(tmp_path, False, visible=confine.interpreter()) or os._exit(3))
        with tunnel.Tunnel(port) as inlet:
            inlet.enter(child.pid)
            said, _ = child.communicate(b"go\n", timeout=30)
    assert said.split() == [b"hello", b"ConnectionRefusedError"]


def test_a_tunnel_refuses_a_child_that_shares_the_graders_network():
    with tunnel.Tunnel(1) as inlet, pytest.raises(tunnel.TunnelError, match="no network namespace of its own"):
        inlet.enter(os.getpid())


READ = """
import os, sys
for path in sys.argv[1:]:
    try:
        with open(path) as handle:
            print(path, handle.read(), flush=True)
    except OSError as error:
        print(path, type(error).__name__, flush=True)
print("uid", os.getuid())
"""


def test_a_confined_child_sees_its_own_folder_and_no_other_of_the_temporary_folder_as_another_user():
    uid = confine.untrusted_uid(REPO_ROOT)
    assert uid is not None  # the interpreter is shown to the child's user, wherever it is installed
    with tempfile.TemporaryDirectory() as mine, tempfile.TemporaryDirectory() as classmate:
        (Path(mine) / "own.txt").write_text("own")
        (Path(classmate) / "app.py").write_text("secret")
        Path(classmate).chmod(0o755)
        os.chown(mine, uid, uid)

        def jail():
            if not confine.confine(Path(mine), False, drop=False, visible=confine.needed(REPO_ROOT), cover=(REPO_ROOT,)):
                os._exit(3)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)

        done = subprocess.run([sys.executable, "-I", "-c", READ, f"{mine}/own.txt", f"{classmate}/app.py"],
                              preexec_fn=jail, capture_output=True, text=True, timeout=60)
    assert done.stdout.splitlines() == [f"{mine}/own.txt own", f"{classmate}/app.py FileNotFoundError",
                                        f"uid {uid}"], done.stderr


def test_of_the_lab_a_child_sees_what_it_runs_and_not_the_reference_the_tests_or_the_history():
    # given: a child of the real fork server, whose app.py looks around the lab
    from checks.sandbox import spawn

    look = (f"import os; root = {str(REPO_ROOT)!r}\n"
            "print(sorted(os.listdir(root)), os.path.isfile(os.path.join(root, 'labkit', 'config.py')))\n"
            "print(sorted(os.listdir(os.path.dirname(root))))\n"
            "print(os.environ['HOME'])\n")
    outcome = spawn.run_probe("app", {"events": [], "broken_events": []}, {"app.py": look.encode()}, timeout=60,
                              network=False)
    # then: of the lab's folders it sees exactly those it runs (and the interpreter, where it lies in the lab: .venv);
    # the reference, the exercises, the tests, the stand-in and .git are not there
    shown = {path.relative_to(REPO_ROOT).parts[0] for path in confine.needed(REPO_ROOT) if path.is_relative_to(REPO_ROOT)}
    assert shown >= set(confine.SHOWN) and not shown & {"lab_solution", "exercises", "tests", "localcloud", ".git"}
    lab, beside, home = outcome.records["import"]["stdout"].splitlines()
    assert lab == f"{sorted(shown)} True"
    # and: beside the lab (a class's sources, an instructor's gradebook may lie there) only what leads to what it runs
    # and to its own scratch folder (there too when the lab lies in the temporary folder)
    parent = REPO_ROOT.parent
    if parent != Path("/") and parent.parts[1] not in confine.SYSTEM:
        leads = {p.relative_to(parent).parts[0] for p in [*confine.needed(REPO_ROOT), Path(home)] if p.is_relative_to(parent)}
        assert beside == str(sorted(leads))
