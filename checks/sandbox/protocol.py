"""The grading channel: the only module both sides of the sandbox import.

The grader (:mod:`checks.sandbox.spawn`) starts a fresh interpreter running :data:`BOOT`, writes
one :func:`request` on its stdin and closes it. The child (:mod:`checks.probes`) runs the probe it
names over the submission's copy in ``$LAB_SUBMISSION`` and answers on its original stdout with one
JSON line per observation (:func:`record`), ending with the record :data:`DONE` whose value is the
request's nonce: only the probe knows it, so a last record without it was written by something
else. The grader keeps what :func:`observation` accepts (:mod:`checks.sandbox.channel`) and decides
every verdict itself.
"""

from __future__ import annotations

import json

BOOT = "import sys; sys.path.insert(0, {root!r}); from checks.probes import main; main()"  # the child's program
SUBMISSION = "LAB_SUBMISSION"  # the environment variable naming the folder of the submission's read-only copy
DONE = "done"  # the key of the last record
MAX_REQUEST_BYTES = 4_000_000
MAX_CHANNEL_BYTES = 4_000_000  # observations of one step; anything beyond is refused
MAX_RECORD_BYTES = 1_000_000


def request(probe: str, data: dict, nonce: str) -> bytes:
    """What the grader writes on the child's stdin: the probe to run, its plain data and the nonce."""
    return json.dumps({"probe": probe, "request": data, "nonce": nonce}).encode()


def read_request(message: bytes) -> tuple[str, dict, str]:
    """(probe, request, nonce) of the grader's message, as the child reads it."""
    parsed = json.loads(message or b"{}")
    return parsed["probe"], parsed["request"], parsed["nonce"]


def record(key: str, value: object) -> bytes:
    """One observation as the child sends it; ``value`` is plain data already."""
    return (json.dumps({"key": key, "value": value}, allow_nan=False) + "\n").encode()


def observation(line: bytes) -> tuple[str, object] | None:
    """(key, value) of one line the grader read, or None when it is not a record: ``{"key": str, "value": ...}``."""
    try:
        parsed = json.loads(line) if len(line) <= MAX_RECORD_BYTES else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and set(parsed) == {"key", "value"} and isinstance(parsed["key"], str):
        return parsed["key"], parsed["value"]
    return None
