"""The child side of the sandbox: run a step's probe over the submission and report what happened.

Runs only in the interpreter :mod:`checks.sandbox.spawn` starts, whose program is
:data:`checks.sandbox.protocol.BOOT`. It reads one request on stdin, keeps its original stdout
as the grading channel, points fds 1 and 2 at the log, imports the submission (a read-only copy
in ``$LAB_SUBMISSION``) as the package ``submission`` and sends one record per observation
(:mod:`checks.probes.harness`). It decides nothing: every verdict is the grader's.

Of the grader's side this package imports only :mod:`checks.sandbox.protocol`.
"""

from __future__ import annotations

import os
import sys

from ..sandbox import protocol
from . import harness


def main() -> None:
    """Entry point of the child (see :data:`checks.sandbox.protocol.BOOT`)."""
    probe, request, nonce = protocol.read_request(sys.stdin.buffer.read(protocol.MAX_REQUEST_BYTES))
    finish = _finisher(nonce)
    os.close(0)
    os.chdir(os.environ["HOME"])  # the scratch folder: the only place the child can write
    harness.take_channel()
    sys.meta_path.insert(0, harness.Blocked())
    from . import app, calls, train  # a fixed list: nothing found on disk is imported

    probes = {"train": train.run, "app": app.run, "calls": calls.run}
    probes[probe](request)
    finish()


def _finisher(nonce: str):
    """The last record, which only the probe can write: it carries the grader's nonce."""

    def finish() -> None:
        harness.emit(protocol.DONE, nonce)
        os._exit(0)  # skip atexit handlers and finalizers a submission may have registered

    return finish
