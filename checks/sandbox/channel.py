"""The grader's end of the grading channel: the child's records, read before a deadline and within a size limit.

Whatever else writes to the channel (the student's code shares the child's process) is refused:
anything that is not a record, a key sent twice, a last record without the nonce. One such line
taints the whole step (:attr:`Outcome.tampered`).
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import time
from dataclasses import dataclass, field

from labkit.bilingual import say

from .protocol import DONE, MAX_CHANNEL_BYTES, observation


@dataclass
class Outcome:
    """What came back from one sandboxed probe."""

    records: dict[str, object] = field(default_factory=dict)
    finished: bool = False  # the probe reached its end
    problem: str = ""  # why it did not: a timeout, a crash, a refused record (in both languages: labkit.bilingual)
    tampered: bool = False  # something other than the probe wrote to the grading channel
    nonce: str = ""
    isolation: str = "process"
    elapsed_s: float = 0.0


def send(child: subprocess.Popen, message: bytes) -> None:
    with contextlib.suppress(BrokenPipeError, OSError):
        child.stdin.write(message)
    with contextlib.suppress(BrokenPipeError, OSError):
        child.stdin.close()


def collect(read_end: int, child: subprocess.Popen, timeout: float, nonce: str) -> Outcome:
    """Read JSON lines until the probe's last record, its exit, the size limit or the deadline."""
    outcome, buffer, total = Outcome(nonce=nonce), b"", 0
    deadline = time.monotonic() + timeout
    exited_at = None
    while not outcome.finished and not outcome.problem:
        now = time.monotonic()
        if now > deadline:
            outcome.problem = say(f"timed out after {timeout:.0f} s",
                                  f"{timeout:.0f} সেকেন্ডেও শেষ হয়নি (timeout): কোথাও code আটকে আছে বা অনেক ধীর")
            break
        if exited_at is None and child.poll() is not None:
            exited_at = now
        if exited_at is not None and now - exited_at > 1.0:  # a stray process may still hold the pipe
            break
        ready, _, _ = select.select([read_end], [], [], min(0.2, max(deadline - now, 0)))
        if not ready:
            continue
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        total += len(chunk)
        if total > MAX_CHANNEL_BYTES:
            outcome.problem = say(f"the code under test sent more than {MAX_CHANNEL_BYTES:,} bytes of observations",
                                  f"তোমার code {MAX_CHANNEL_BYTES:,} byte-এর বেশি observation পাঠিয়েছে")
            break
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            accept(outcome, line)
    if not outcome.finished and not outcome.problem:
        code = child.poll()
        status = f" (exit code {code})" if code is not None else ""
        outcome.problem = say(f"the code under test ended the grading process{status}",
                              f"তোমার code grading process-টাই থামিয়ে দিয়েছে{status}")
    return outcome


def accept(outcome: Outcome, line: bytes) -> None:
    """One line from the child; a repeated key or a last record without the nonce means something forged records."""
    if outcome.problem or not line.strip():
        return
    record = observation(line)
    if record is None:
        outcome.problem = say("the grading channel received something that is not an observation",
                              "grading channel-এ এমন কিছু এসেছে যা observation নয়")
        outcome.tampered = True
        return
    key, value = record
    if key in outcome.records or (key == DONE and value != outcome.nonce):
        outcome.problem = say(f"observation {key!r} was forged: the code under test wrote to the grading channel",
                              f"observation {key!r} জাল: তোমার code grading channel-এ লিখেছে")
        outcome.tampered = True
    elif key == DONE:
        outcome.finished = True
    else:
        outcome.records[key] = value
