"""The grader's end of the grading channel: ask one question at a time, keep only its answer and what was printed.

The child holds no secret of the grader's, so nothing it writes can pass for the grader's own record:
a record is the answer to a question the grader has just asked (a fresh id each time), read before a
deadline and within a size limit, and what the code under test printed on its fds 1 and 2 while it
worked on that question, read here from the FIFOs those fds are. A line on the answer channel that
is not the answer to the question asked (a second answer, an answer nobody asked for, a wrong id,
anything that is not an answer) taints the whole step (:attr:`Outcome.tampered`).
"""

from __future__ import annotations

import os
import secrets
import select
import subprocess
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path

from labkit.bilingual import Said, say

from . import protocol
from .questions import Question

OUTPUT_LIMIT = 20_000  # bytes of each stream kept per question
MAX_OUTPUT_BYTES = 64 * 1024**2  # everything the code under test may print in one step
GRACE_S = 1.0  # after the child exits, how long a stray process may still hold the FIFOs
TAIL_BYTES = 2000


@dataclass
class Outcome:
    """What came back from one sandboxed probe."""

    records: dict[str, object] = field(default_factory=dict)
    finished: bool = False  # every question was answered
    problem: str = ""  # why not: a timeout, a crash, a refused answer (in both languages: labkit.bilingual)
    tampered: bool = False  # something other than an answer to the question asked was on the answer channel
    isolation: str = "process"
    elapsed_s: float = 0.0
    last_words: str = ""  # the end of what the child wrote to stderr, for the message of a problem


def make_fifos(folder: Path, owner: int | None) -> Path:
    """The four FIFOs of :mod:`.protocol` in a new ``folder``, usable by user ``owner`` (None: this user)."""
    folder.mkdir(mode=0o700)
    for name in protocol.FIFOS:
        os.mkfifo(folder / name, 0o600)
    if owner is not None:
        for path in (folder, *(folder / name for name in protocol.FIFOS)):
            os.chown(path, owner, owner)
    return folder


def converse(folder: Path, child: subprocess.Popen, timeout: float, driver: Generator[Question, object, None]) -> Outcome:
    """Ask the driver's questions in order, each once its previous one is answered; the records, keyed by the grader."""
    conversation = Conversation(folder, child, timeout)
    outcome = conversation.outcome
    try:
        asked = next(driver)
        while True:
            value = conversation.ask(asked)
            if outcome.problem:
                break
            outcome.records[asked.key] = value
            asked = driver.send(value)
    except StopIteration:
        outcome.finished = not outcome.problem
    finally:
        conversation.close()
    outcome.last_words = conversation.last_words()
    return outcome


class Conversation:
    """The grader's ends of the four FIFOs (each opened read-write, so that none reads end-of-file early)."""

    def __init__(self, folder: Path, child: subprocess.Popen, timeout: float):
        self.fds = {name: os.open(folder / name, os.O_RDWR | os.O_NONBLOCK) for name in protocol.FIFOS}
        self.child, self.timeout = child, timeout
        self.deadline = time.monotonic() + timeout
        self.outcome = Outcome()
        self.pending = b""  # bytes of the answer channel not yet consumed
        self.answered = 0  # bytes of answers, in all
        self.printed = {protocol.STDOUT: bytearray(), protocol.STDERR: bytearray()}
        self.output_total = 0
        self.tail = b""
        self.exited_at: float | None = None

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds = {}

    def last_words(self) -> str:
        lines = [line for line in self.tail.decode("utf-8", "replace").splitlines() if line.strip()]
        return lines[-1].strip()[:200] if lines else ""

    def ask(self, asked: Question) -> object:
        """The answer to one question (with what was printed meanwhile, when ``asked.output``); on a problem, None."""
        self._read_ready(0)
        if self.pending:
            return self._refuse(say("an answer came before its question was asked", "প্রশ্ন করার আগেই উত্তর এসেছে"))
        for printed in self.printed.values():
            printed.clear()
        ident = secrets.token_hex(8)
        if not self._send(protocol.question(ident, asked.op, asked.args)):
            return None
        line = self._line()
        if line is None:
            return None
        self._read_ready(0)  # whatever it printed before it answered is in the FIFOs by now
        if self.pending:
            return self._refuse(say("a second answer to one question", "একটা প্রশ্নের দ্বিতীয় উত্তর"))
        parsed = protocol.read_answer(line)
        if parsed is None or parsed[0] != ident:
            return self._refuse(say("not the answer to the question asked", "যে প্রশ্ন করা হয়েছে এটা তার উত্তর নয়"))
        value = parsed[1]
        if asked.output and isinstance(value, dict):
            value = {**value, **{name: bytes(printed).decode("utf-8", "replace")
                                 for name, printed in self.printed.items()}}
        return value

    def _refuse(self, why: Said) -> None:
        self.outcome.problem = say(f"the grading channel carried something other than the grader's answers ({why})",
                                   f"grading channel-এ grader-এর প্রশ্নের উত্তর ছাড়া অন্য কিছু এসেছে ({why.bn})")
        self.outcome.tampered = True
        return None

    def _send(self, message: bytes) -> bool:
        while message and not self.outcome.problem:
            writable = self._read_ready(self._wait(), write=True)
            if writable:
                try:
                    message = message[os.write(self.fds[protocol.ASK], message):]
                except BlockingIOError:
                    continue
        return not self.outcome.problem

    def _line(self) -> bytes | None:
        while b"\n" not in self.pending and not self.outcome.problem:
            if len(self.pending) > protocol.MAX_ANSWER_BYTES:
                self.outcome.problem = say(f"an answer was larger than {protocol.MAX_ANSWER_BYTES:,} bytes",
                                           f"একটা উত্তর {protocol.MAX_ANSWER_BYTES:,} byte-এর চেয়ে বড়")
                break
            self._read_ready(self._wait())
        if self.outcome.problem:
            return None
        line, _, self.pending = self.pending.partition(b"\n")
        return line

    def _wait(self) -> float:
        """How long one select may wait; sets the problem when the deadline passed or the child is gone."""
        now = time.monotonic()
        if now > self.deadline:
            self.outcome.problem = say(f"timed out after {self.timeout:.0f} s",
                                       f"{self.timeout:.0f} সেকেন্ডেও শেষ হয়নি (timeout): কোথাও code আটকে আছে বা অনেক ধীর")
        if self.exited_at is None and self.child.poll() is not None:
            self.exited_at = now
        if self.exited_at is not None and now - self.exited_at > GRACE_S:
            code = self.child.poll()
            status = f" (exit code {code})" if code is not None else ""
            self.outcome.problem = self.outcome.problem or say(f"the code under test ended the grading process{status}",
                                                               f"তোমার code grading process-টাই থামিয়ে দিয়েছে{status}")
        return max(0.0, min(0.2, self.deadline - now))

    def _read_ready(self, wait: float, write: bool = False) -> bool:
        """Read whatever the answer and output FIFOs hold; returns whether the question FIFO takes more bytes."""
        if self.outcome.problem:
            return False
        reading = [self.fds[name] for name in (protocol.ANSWER, protocol.STDOUT, protocol.STDERR)]
        ready, writable, _ = select.select(reading, [self.fds[protocol.ASK]] if write else [], [], wait)
        for fd in ready:
            self._drain(fd)
        return bool(writable)

    def _drain(self, fd: int) -> None:
        while not self.outcome.problem:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                return
            if not chunk:
                return
            if fd == self.fds[protocol.ANSWER]:
                self.answered += len(chunk)
                if self.answered > protocol.MAX_CHANNEL_BYTES:
                    self.outcome.problem = say(
                        f"the code under test sent more than {protocol.MAX_CHANNEL_BYTES:,} bytes of answers",
                        f"তোমার code {protocol.MAX_CHANNEL_BYTES:,} byte-এর বেশি উত্তর পাঠিয়েছে")
                self.pending += chunk
                continue
            self.output_total += len(chunk)
            if self.output_total > MAX_OUTPUT_BYTES:
                self.outcome.problem = say(f"the code under test printed more than {MAX_OUTPUT_BYTES:,} bytes",
                                           f"তোমার code {MAX_OUTPUT_BYTES:,} byte-এর বেশি print করেছে")
            name = protocol.STDOUT if fd == self.fds[protocol.STDOUT] else protocol.STDERR
            printed = self.printed[name]
            printed += chunk[:max(0, OUTPUT_LIMIT - len(printed))]
            if name == protocol.STDERR:
                self.tail = (self.tail + chunk)[-TAIL_BYTES:]
