"""The fork server: each sandboxed child is a fork of one pre-imported interpreter that holds nothing of the grader's.

Every test runs real children through :func:`checks.sandbox.spawn.run_probe` (step 2's probe imports an
``app.py`` that prints what it sees) or a real grader process, never a mock of either.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from checks.sandbox import confine, forkserver, spawn
from labkit import config

pytestmark = pytest.mark.integration

LOOK = b"""import json, os, sys
print(json.dumps({"env": dict(os.environ), "environ_block": open("/proc/self/environ", "rb").read().decode(),
                  "uid": os.getuid(), "pid": os.getpid(), "sid": os.getsid(0), "parent": os.getppid(),
                  "threads": len(os.listdir("/proc/self/task")), "preloaded": "sklearn" in sys.modules,
                  "checks": sorted(m for m in sys.modules if m.split(".")[0] == "checks")}))
"""


def look(code: bytes = LOOK, timeout: float = 60) -> dict:
    """What a child's app.py printed when step 2's probe imported it."""
    outcome = spawn.run_probe("app", {"events": [], "broken_events": []}, {"app.py": code}, timeout=timeout,
                              network=False)
    assert not outcome.problem, outcome.problem
    return json.loads(outcome.records["import"]["stdout"])


@pytest.fixture
def fresh_server(monkeypatch):
    """A fork server started in this test, after the test changed the grader's environment."""
    monkeypatch.setattr(forkserver, "_servers", {})
    yield
    for server in forkserver._servers.values():
        server.close()


def test_a_child_holds_the_environment_it_was_given_and_nothing_of_the_graders(monkeypatch, fresh_server):
    # given: a grader whose environment holds a secret when its fork server starts
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "grader-secret-4f1e")
    # when
    seen = look()
    # then: its environment is the one the grader sent; the block a fork inherits is the server's, with no secret
    assert set(seen["env"]) == {*forkserver.BASE_ENVIRONMENT, "HOME", "TMPDIR", "LAB_CHANNEL", "LAB_SUBMISSION",
                                "LAMBDA_TASK_ROOT"}
    assert "grader-secret" not in json.dumps(seen)
    assert dict(item.split("=", 1) for item in seen["environ_block"].split("\0") if item) == {
        **forkserver.BASE_ENVIRONMENT, "TMPDIR": "/tmp"}
    # and: the libraries were imported before it, by the server
    assert seen["preloaded"]


def test_of_the_graders_side_a_child_holds_the_protocol_and_what_forks_and_confines_it():
    checks_modules = set(look()["checks"])
    assert {m for m in checks_modules if not m.startswith("checks.probes")} == {
        "checks", "checks.sandbox", "checks.sandbox.protocol", "checks.sandbox.forkserver", "checks.sandbox.confine"}


@pytest.mark.skipif(os.geteuid() != 0, reason="a user of its own needs root")
def test_each_child_is_a_fork_of_one_single_threaded_server_in_a_session_and_user_of_its_own():
    first, second = look(), look()
    server = forkserver.server(str(config.REPO_ROOT), spawn.tempfile.gettempdir())
    assert first["parent"] == second["parent"] == server.pid
    assert first["pid"] == first["sid"] != second["pid"] == second["sid"]
    assert first["uid"] != second["uid"] and min(first["uid"], second["uid"]) >= confine.UNTRUSTED_UIDS[0]
    assert first["threads"] == 1 and len(os.listdir(f"/proc/{server.pid}/task")) == 1


GRADER = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from checks.sandbox import forkserver, spawn
if len(sys.argv) > 2:
    forkserver.share(Path(sys.argv[2]), sys.argv[1], spawn.tempfile.gettempdir())
server = forkserver.server(sys.argv[1], spawn.tempfile.gettempdir())
print(server.pid, flush=True)
hang = b"import os, time\\nif os.fork() == 0:\\n    os.setsid()\\n    time.sleep(1000)\\ntime.sleep(1000)"
spawn.run_probe("app", {"events": [], "broken_events": []}, {"app.py": hang}, timeout=600, network=False)
"""


def test_a_killed_grader_takes_its_server_and_every_child_along():
    # given: a grader whose child hangs in its import, beside an orphan of its own
    grader = subprocess.Popen([sys.executable, "-c", GRADER, str(config.REPO_ROOT)], stdout=subprocess.PIPE,
                              start_new_session=True)
    try:
        server_pid = int(grader.stdout.readline())
        children = _wait_for(lambda: len(found := _descendants(server_pid)) == 2 and found, 120)
        # when: the grader is killed, with no chance to clean up
        os.killpg(grader.pid, signal.SIGKILL)
        grader.wait()
        # then: the server, and the children it forked or adopted, are gone
        assert _wait_for(lambda: not any(_alive(pid) for pid in (server_pid, *children)), 20)
    finally:
        grader.kill()
        grader.wait()


@pytest.mark.skipif(os.geteuid() != 0, reason="a shared server needs a user of its own per child")
def test_a_shared_server_outlives_a_killed_grader_but_not_its_children(tmp_path):
    # given: a server shared through a socket, and a grader using it whose child hangs beside an orphan of its own
    shared = forkserver.Server.start(str(config.REPO_ROOT), spawn.tempfile.gettempdir(), listen=tmp_path / "fork.sock")
    grader = subprocess.Popen([sys.executable, "-c", GRADER, str(config.REPO_ROOT), str(tmp_path / "fork.sock")],
                              stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert int(grader.stdout.readline()) == shared.pid
        children = _wait_for(lambda: len(found := _descendants(shared.pid)) == 2 and found, 120)
        # when: the grader is killed
        os.killpg(grader.pid, signal.SIGKILL)
        grader.wait()
        # then: its children and their orphans are gone; the server serves on
        assert _wait_for(lambda: not any(_alive(pid) for pid in children), 20)
        assert shared.alive() and look()["parent"] != shared.pid  # this test's own children: its own server's
    finally:
        grader.kill()
        grader.wait()
        shared.close()
    assert _wait_for(lambda: not _alive(shared.pid), 20)


def _descendants(root: int) -> list[int]:
    """Live processes below ``root``: its children, theirs, and so on."""
    table, found = _table(), [root]
    for pid in found:
        found += [child for child, state, parent in table if parent == pid and state != "Z"]
    return found[1:]


def _alive(pid: int) -> bool:
    """Running, not a zombie (this test process is a subreaper: the orphaned server's zombie is its own)."""
    return any(p == pid and state != "Z" for p, state, _ in _table())


def _table() -> list[tuple[int, str, int]]:
    """(pid, state, parent pid) of every process."""
    rows = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            rows.append((int(entry.name), fields[0], int(fields[1])))
    return rows


def _wait_for(condition, seconds: float):
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, "waited in vain"
        time.sleep(0.1)
    return value
