"""The child side of the sandbox: answer the grader's questions about the submission, one at a time.

Runs only in the interpreter :mod:`checks.sandbox.spawn` starts, whose program is
:data:`checks.sandbox.protocol.BOOT`. Before anything of the submission is imported it opens the
FIFOs of ``$LAB_CHANNEL``: questions come on ``ask``, answers go on ``answer``, and fds 1 and 2 become
the ``stdout`` and ``stderr`` FIFOs, which the grader reads. Each question names an operation of
a probe (``OPS`` of :mod:`~checks.probes.train`, :mod:`~checks.probes.app`, :mod:`~checks.probes.calls`,
:mod:`~checks.probes.service`, and a class batch's :mod:`~checks.probes.drive`) that calls the submission (a read-only copy in ``$LAB_SUBMISSION``,
imported as the package ``submission``) and returns plain data. It holds nothing of the grader's
but the questions asked so far, and decides nothing: every verdict is the grader's.

Of the grader's side this package imports only :mod:`checks.sandbox.protocol`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..sandbox import protocol
from . import harness


def main() -> None:
    """Entry point of the child (see :data:`checks.sandbox.protocol.BOOT`)."""
    channel = Path(os.environ[protocol.CHANNEL])
    asking = os.open(channel / protocol.ASK, os.O_RDONLY)
    answering = os.open(channel / protocol.ANSWER, os.O_WRONLY)
    for fd, name in ((1, protocol.STDOUT), (2, protocol.STDERR)):  # the student's output is the grader's to read
        opened = os.open(channel / name, os.O_WRONLY)
        os.dup2(opened, fd)
        os.close(opened)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.chdir(os.environ["HOME"])  # the scratch folder: the only place the child can write
    sys.meta_path.insert(0, harness.Blocked())
    from . import app, calls, drive, service, train  # a fixed list: nothing found on disk is imported

    ops = {**train.OPS, **app.OPS, **calls.OPS, **service.OPS, **drive.OPS}
    with os.fdopen(asking, "rb") as questions:
        while line := questions.readline(protocol.MAX_QUESTION_BYTES + 1):
            ident, op, args = protocol.read_question(line)
            try:
                value = harness.plain(ops[op](args))
            except BaseException as error:  # noqa: BLE001 - whatever happens is the answer
                value = harness.describe(error)
            harness.flush()  # what it printed is in the FIFOs before the answer is
            harness.write_all(answering, protocol.answer(ident, value))
    os._exit(0)  # skip atexit handlers and finalizers a submission may have registered
