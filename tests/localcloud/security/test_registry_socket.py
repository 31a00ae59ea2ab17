"""Finding H1b/H1c: the registry is reachable only through the edge (a private unix socket, no loopback port)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.parametrize("lab", ["host"], indirect=True)]


def listening_tcp_inodes() -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                inodes.add(fields[9])
    return inodes


def socket_inodes(pid: int) -> set[str]:
    links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    return {link[8:-1] for link in links if link.startswith("socket:[")}


def test_the_registry_listens_on_a_private_unix_socket_only(lab):
    shown = lab.status()["registry"]
    assert shown.startswith("unix:"), shown
    path = Path(shown.removeprefix("unix:"))
    assert stat.S_ISSOCK(path.stat().st_mode) and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    pid = int((lab.cloud.home / "run" / "registry.pid").read_text().split()[0])
    assert not socket_inodes(pid) & listening_tcp_inodes()


def test_pushes_and_pulls_still_go_through_the_edge(lab):
    uri = lab.image("echo", tag="via-socket")
    name = lab.function("echo", image=uri)
    assert lab.invoke(name, {"x": 1})[0]
