"""The grading conversation: the only module both sides of the sandbox import.

The grader (:mod:`checks.sandbox.spawn`) makes four FIFOs in a folder of its own, names the folder in
the child's environment (:data:`CHANNEL`) and starts a child running :data:`BOOT` (a container's fresh interpreter,
or a fork of :mod:`checks.sandbox.forkserver`). The child
(:mod:`checks.probes`) opens them before it imports anything of the submission: it reads questions on
:data:`ASK`, writes each answer on :data:`ANSWER`, and its fds 1 and 2 (the student's ``print``, ``os.write``
and child processes alike) become :data:`STDOUT` and :data:`STDERR`.

The grader asks one question at a time (:func:`question`: a fresh random id, an operation of the probes
and its plain arguments) and keeps a line of :data:`ANSWER` only as the answer to the question it has just
asked (:func:`read_answer`: the same id). Nothing the child holds is a secret: no nonce, no verdict, no
expected answer ever crosses to it, so whatever the student's code writes on the channel is at most an
answer to the question asked, judged like any other answer. The grader decides every verdict itself.
"""

from __future__ import annotations

import json

BOOT = "import sys; sys.path.insert(0, {root!r}); from checks.probes import main; main()"  # the child's program
SUBMISSION = "LAB_SUBMISSION"  # the environment variable naming the folder of the submission's read-only copy
CHANNEL = "LAB_CHANNEL"  # the environment variable naming the folder of the four FIFOs
ASK, ANSWER, STDOUT, STDERR = "ask", "answer", "stdout", "stderr"  # the FIFOs, by their file names
FIFOS = (ASK, ANSWER, STDOUT, STDERR)
MAX_QUESTION_BYTES = 4_000_000
MAX_ANSWER_BYTES = 1_000_000
MAX_CHANNEL_BYTES = 4_000_000  # every answer of one step; anything beyond is refused


def question(ident: str, op: str, args: object) -> bytes:
    """One question as the grader writes it: its id, the probe operation to run and its plain arguments."""
    return (json.dumps({"id": ident, "op": op, "args": args}) + "\n").encode()


def read_question(line: bytes) -> tuple[str, str, object]:
    """(id, op, args) of one question, as the child reads it."""
    parsed = json.loads(line)
    return parsed["id"], parsed["op"], parsed["args"]


def answer(ident: str, value: object) -> bytes:
    """One answer as the child writes it; ``value`` is plain data already."""
    return (json.dumps({"id": ident, "answer": value}, allow_nan=False) + "\n").encode()


def read_answer(line: bytes) -> tuple[str, object] | None:
    """(id, value) of one line the grader read, or None when it is not an answer: ``{"id": str, "answer": ...}``."""
    try:
        parsed = json.loads(line) if len(line) <= MAX_ANSWER_BYTES else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and set(parsed) == {"id", "answer"} and isinstance(parsed["id"], str):
        return parsed["id"], parsed["answer"]
    return None
