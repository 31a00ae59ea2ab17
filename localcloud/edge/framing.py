"""HTTP/1.1 message framing for the edge (RFC 9112): header lines, the body's length, and the body as a stream.

Strict where a lenient reading would let two parsers disagree about where a request ends (the
root of request smuggling): malformed header lines and obsolete line folding are refused; a
``Content-Length`` must be digits and repeats must agree; a ``Transfer-Encoding`` must end in
chunked and then wins over ``Content-Length``. A chunked body is de-chunked as it is read,
never further than the reader asks, whatever the chunk sizes the client announces.
"""

from __future__ import annotations

import re

from cheroot import server

from localcloud.edge import wsgi

TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
DIGITS = re.compile(rb"[0-9]+")
CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,15}")
CRLF = b"\r\n"


class HeaderReader(server.HeaderReader):
    """Header lines as RFC 9112 section 5 reads them, then the body's framing; cheroot answers a ValueError with 400
    and closes. Repeated fields are joined with ", " (a second ``Host`` cannot hide behind the first); names with
    ``_`` are dropped, as werkzeug drops them (WSGI cannot tell ``X_Foo`` from ``X-Foo``)."""

    def __call__(self, rfile, hdict=None) -> dict:
        fields: dict[bytes, list[bytes]] = {}
        while (line := rfile.readline()) != CRLF:
            if not line.endswith(CRLF):
                raise ValueError("HTTP requires CRLF terminators" if line else "Illegal end of headers.")
            if line[:1] in (b" ", b"\t"):
                raise ValueError("obsolete line folding is not accepted")
            name, colon, value = line[:-2].partition(b":")
            if not colon or not TOKEN.fullmatch(name) or b"\r" in value or b"\0" in value:
                raise ValueError("Illegal header line.")
            if b"_" not in name:
                fields.setdefault(name.title(), []).append(value.strip(b" \t"))
        headers = {name: b", ".join(values) for name, values in fields.items()}
        frame(headers)
        if hdict is not None:
            hdict.update(headers)
        return headers


def frame(headers: dict[bytes, bytes]) -> None:
    """Check the body's framing (RFC 9112 section 6.3) and leave one ``Content-Length``, or none when chunked."""
    if b"Transfer-Encoding" in headers:
        codings = [coding.strip().lower() for coding in headers[b"Transfer-Encoding"].split(b",")]
        if codings[-1] != b"chunked":
            raise ValueError(f"Transfer-Encoding {headers[b'Transfer-Encoding']!r} does not end in chunked")
        headers.pop(b"Content-Length", None)
    elif b"Content-Length" in headers:
        lengths = {value.strip() for value in headers[b"Content-Length"].split(b",")}
        if len(lengths) != 1 or not DIGITS.fullmatch(next(iter(lengths))):
            raise ValueError(f"invalid Content-Length {headers[b'Content-Length']!r}")
        headers[b"Content-Length"] = lengths.pop()


class Limited:
    """A body of known length (``left`` rather than cheroot's ``remaining``, so cheroot does not drain it at once)."""

    def __init__(self, rfile, length: int):
        self.rfile, self.left = rfile, length

    def read(self, size: int | None = -1) -> bytes:
        size = self.left if size is None or size < 0 else min(size, self.left)
        data = self.rfile.read(size) if size else b""
        self.left -= len(data)
        return data

    @property
    def done(self) -> bool:
        return self.left == 0


class Dechunked:
    """A chunked body (RFC 9112 section 7.1), read no further than the caller asks; trailer fields are dropped."""

    def __init__(self, rfile, max_line: int):
        self.rfile, self.max_line = rfile, max_line
        self.left, self.done = 0, False

    def _line(self) -> bytes:
        line = self.rfile.readline(self.max_line)
        if not line.endswith(CRLF):
            raise wsgi.BadBody("malformed chunked body: a line that does not end in CRLF, or is too long")
        return line[:-2]

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(wsgi.CHUNK), b""))
        if self.done or size == 0:
            return b""
        if self.left == 0:
            field = self._line().split(b";", 1)[0].strip(b" \t")
            if not CHUNK_SIZE.fullmatch(field):
                raise wsgi.BadBody(f"malformed chunked body: chunk size {field[:20]!r}")
            self.left = int(field, 16)
            if self.left == 0:
                trailer = 0
                while line := self._line():
                    trailer += len(line)
                    if trailer > self.max_line:
                        raise wsgi.BadBody("the chunked body's trailer fields are too long")
                self.done = True
                return b""
        data = self.rfile.read(min(size, self.left))
        if not data:
            raise wsgi.BadBody("the chunked body ended inside a chunk")
        self.left -= len(data)
        if self.left == 0 and self.rfile.read(2) != CRLF:
            raise wsgi.BadBody("malformed chunked body: a chunk's data does not end in CRLF")
        return data
