"""The edge's RFC 9112 framing on its own: header lines, the body's length, and chunked bodies read as asked."""

from __future__ import annotations

import io

import pytest

from localcloud.edge import wsgi
from localcloud.edge.framing import Dechunked, HeaderReader, Limited


def headers_of(raw: bytes) -> dict[bytes, bytes]:
    return HeaderReader()(io.BufferedReader(io.BytesIO(raw)))


def test_repeated_fields_are_joined_and_names_with_underscores_dropped():
    headers = headers_of(b"Host: a\r\nhost: b\r\nX_Api_Key: forged\r\nX-Api-Key: real\r\n\r\n")
    assert headers == {b"Host": b"a, b", b"X-Api-Key": b"real"}


def test_chunked_wins_over_content_length():
    assert headers_of(b"Content-Length: 5\r\nTransfer-Encoding: gzip, chunked\r\n\r\n") == {
        b"Transfer-Encoding": b"gzip, chunked"}


def test_identical_repeated_lengths_become_one():
    assert headers_of(b"Content-Length: 2\r\nContent-Length: 2, 2\r\n\r\n") == {b"Content-Length": b"2"}


@pytest.mark.parametrize("raw", [b"X-A: 1\r\n folded\r\n\r\n", b"X-A : 1\r\n\r\n", b"X A: 1\r\n\r\n",
                                 b"X-A: 1\r2\r\n\r\n", b"X-A: 1\n\r\n", b"X-A: 1\r\n", b"Content-Length: +2\r\n\r\n",
                                 b"Content-Length: 2, 3\r\n\r\n", b"Transfer-Encoding: chunked, gzip\r\n\r\n"],
                         ids=["folded", "space before colon", "space in name", "bare CR", "bare LF", "no end",
                              "signed length", "conflicting lengths", "chunked not last"])
def test_heads_that_two_parsers_could_read_differently_are_refused(raw):
    with pytest.raises(ValueError):
        headers_of(raw)


def test_a_chunked_body_is_read_no_further_than_asked():
    # given: a chunk that announces 1 GB
    stream = io.BufferedReader(io.BytesIO(b"40000000\r\n" + b"x" * 100_000), buffer_size=4096)
    body = Dechunked(stream, max_line=1024)
    # when / then
    assert body.read(1000) == b"x" * 1000
    assert stream.tell() <= len(b"40000000\r\n") + 4096  # one buffer ahead at most
    assert body.left == 0x40000000 - 1000


def test_extensions_and_trailer_fields_are_read_past():
    stream = io.BufferedReader(io.BytesIO(b"3;name=value\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT"))
    body = Dechunked(stream, max_line=1024)
    assert body.read() == b"abcde" and body.done
    assert stream.read() == b"NEXT"  # the next request starts exactly after the body


def test_a_body_of_known_length_stops_at_it():
    stream = io.BufferedReader(io.BytesIO(b"abcdeNEXT"))
    body = Limited(stream, 5)
    assert (body.read(3), body.read(100), body.read(100), body.done) == (b"abc", b"de", b"", True)
    assert stream.read() == b"NEXT"


@pytest.mark.parametrize("raw", [b"zz\r\n", b"-1\r\n", b"0x3\r\nabc\r\n", b"3\r\nabcXX", b"3\r\nab", b"3abc",
                                 b"1" * 2000 + b"\r\n"],
                         ids=["not hex", "negative", "prefixed", "no CRLF after data", "ends inside a chunk",
                              "no CRLF after size", "size line too long"])
def test_malformed_chunked_bodies_are_bad_requests(raw):
    body = Dechunked(io.BufferedReader(io.BytesIO(raw)), max_line=1024)
    with pytest.raises(wsgi.BadBody):
        body.read()
