"""labkit.loopback: names under localhost resolve to the loopback address, every other name as before."""

from __future__ import annotations

import socket

import pytest

from labkit.loopback import resolve_localhost_names


@pytest.fixture(autouse=True)
def resolving():
    before = socket.getaddrinfo
    resolve_localhost_names()
    yield
    socket.getaddrinfo = before


@pytest.mark.parametrize("name", ["iris-api-0123456789.asia-south1.run.localhost", "A.LOCALHOST", "x.localhost.",
                                  b"x.localhost"])
def test_names_under_localhost_are_loopback(name):
    answers = socket.getaddrinfo(name, 4566, proto=socket.IPPROTO_TCP)
    assert {address for *_, (address, port) in answers} == {"127.0.0.1"}
    assert socket.getaddrinfo(name, 4566, socket.AF_INET6, proto=socket.IPPROTO_TCP)[0][4][0] == "::1"


@pytest.mark.parametrize("name", ["localhost.example.invalid", "notlocalhost.invalid", "evil-localhost.invalid"])
def test_other_names_are_left_to_the_system(name):
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo(name, 80)
