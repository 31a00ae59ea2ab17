"""Turn the Runtime Interface Emulator's output into the log lines AWS Lambda writes.

The RIE prints its own ``(rapid)`` diagnostics, folds init into the cold call's
``Duration`` and reports ``Init Duration: 0.02 ms``. AWS's stream instead holds the
function's output framed by ``START`` / ``END`` / ``REPORT``, with the true init time
(the RIE's ``INIT REPORT(durationMs: ...)``) as ``Init Duration`` on cold starts.
:class:`LogParser` rebuilds that from one environment's output, line by line;
:class:`LogSink` ships finished invocations to CloudWatch Logs in the background.
Log timestamps come from an injected wall clock (``now_ms``), so tests can pin them.
An invocation keeps at most :data:`MAX_OUTPUT_BYTES` of its function's output (init output included)
and then one line saying how much it dropped, so a function that prints without end cannot grow the
stand-in's memory (or CloudWatch Logs') without end.
"""

from __future__ import annotations

import contextlib
import math
import queue
import re
import threading
import time
from collections import deque
from collections.abc import Callable

from lambda_rie import WaitTimeout, wait_for

RAPID = re.compile(r"^\d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2},\d{3} \[\w+\] \(rapid\) (.*)$")
START = re.compile(r"^START RequestId: (\S+) Version: (\S+)")
REPORT = re.compile(r"^REPORT RequestId: (\S+)\t(?:Init Duration: [\d.]+ ms\t)?Duration: ([\d.]+) ms")
INIT_REPORT = re.compile(r"INIT REPORT\(durationMs: ([\d.]+)\)")
RTDONE = re.compile(r"INVOKE RTDONE\(status: \w+.*?duration: ([\d.]+)ms\)")
TAIL_BYTES = 4096  # LogType=Tail returns "the last 4 KB of the execution log"
MAX_OUTPUT_BYTES = 1024 * 1024  # an invocation's output the stand-in keeps (Lambda keeps all: see "What differs")
BATCH_WINDOW_S = 0.05


def epoch_ms() -> int:
    return int(time.time() * 1000)


def iso_time(ms: int) -> str:
    """``ms`` since the epoch as Lambda's log timestamp, e.g. ``2026-01-01T00:00:00.000Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"



class Invocation:
    """The log of one invocation; final once the RIE reported it and the caller saw the answer."""

    def __init__(self, request_id: str, memory: int, cold: bool, version: str,
                 max_memory: Callable[[], int | None], on_final: Callable[[Invocation], None],
                 now_ms: Callable[[], int] = epoch_ms):
        self.request_id = request_id
        self.memory = memory
        self.cold = cold
        self.version = version
        self.started = threading.Event()  # the RIE printed START: request_id is now the runtime's own
        self.lines: list[tuple[int, str]] = []
        self.init_lines: list[tuple[int, str]] = []
        self.kept_bytes = 0
        self.dropped_bytes = 0
        self.start_line: tuple[int, str] | None = None
        self.init_ms: float | None = None
        self.duration_ms: float | None = None
        self.memory_used_mb: int | None = None
        self.extra: list[str] = []
        self.ended_ms: int | None = None
        self._final: list[tuple[int, str]] | None = None
        self.in_init = True  # output between START and the RIE's INVOKE START comes from the init phase
        self.done = threading.Event()
        self._reported = False
        self._answered = False
        self._lock = threading.Lock()
        self._max_memory = max_memory
        self._on_final = on_final
        self.now_ms = now_ms

    def add(self, text: str) -> None:
        """One line of the function's output, kept while the invocation's output is within its limit."""
        size = len(text.encode("utf-8", "replace"))
        if self.kept_bytes + size > MAX_OUTPUT_BYTES:
            self.dropped_bytes += size
            return
        self.kept_bytes += size
        (self.init_lines if self.in_init else self.lines).append((self.now_ms(), text))

    def reported(self, duration_ms: float) -> None:
        """The RIE printed END and REPORT."""
        if self.duration_ms is None:
            self.duration_ms = duration_ms - (self.init_ms or 0) if self.cold else duration_ms
        self._complete(reported=True)

    def answered(self, expect_report: bool, extra: list[str] = (), duration_ms: float | None = None) -> None:
        """The RIE answered the invoke; ``extra`` lines follow REPORT (crash and timeout messages)."""
        self.extra = list(extra)
        if not expect_report:
            self.duration_ms = duration_ms
        self._complete(answered=True, reported=not expect_report)

    def _complete(self, answered: bool = False, reported: bool = False) -> None:
        with self._lock:
            self._answered |= answered
            self._reported |= reported
            if not (self._answered and self._reported) or self.done.is_set():
                return
        self.ended_ms = self.now_ms()
        self.done.set()
        self._on_final(self)

    def final(self) -> list[tuple[int, str]]:
        """The finished log, rendered once for both the tail and CloudWatch. Memory is read here, by whoever
        needs the log first (usually the log sink's thread), not on the path that answers the caller."""
        with self._lock:
            if self._final is None:
                self.memory_used_mb = self._max_memory()
                self._final = self.events()
            return self._final

    def report_line(self) -> str:
        duration = self.duration_ms or 0.0
        init = self.init_ms if self.cold and self.init_ms is not None else 0.0
        billed = math.ceil(duration + init)  # container images bill the init phase too
        used = self.memory_used_mb
        line = (f"REPORT RequestId: {self.request_id}\tDuration: {duration:.2f} ms\tBilled Duration: {billed} ms\t"
                f"Memory Size: {self.memory} MB\t")
        if used is not None:  # unmeasured: say nothing rather than something false
            line += f"Max Memory Used: {min(used, self.memory)} MB\t"
        if self.cold and self.init_ms is not None:
            line += f"Init Duration: {self.init_ms:.2f} ms\t"
        return line

    def events(self) -> list[tuple[int, str]]:
        """The invocation's lines in AWS's order: init output, START, output, END, REPORT, extras."""
        now = self.ended_ms or self.now_ms()
        start = self.start_line or (now, f"START RequestId: {self.request_id} Version: {self.version}")
        ordered = [*self.init_lines, start, *self.lines]
        if self.dropped_bytes:
            ordered.append((now, f"[localcloud] {self.dropped_bytes} more bytes of output were not kept "
                                 f"(the stand-in keeps {MAX_OUTPUT_BYTES} bytes of an invocation's output)"))
        ordered += [(now, f"END RequestId: {self.request_id}"), (now, self.report_line())]
        ordered += [(now, text) for text in self.extra]
        stamps, latest = [], 0
        for stamp, _ in ordered:  # PutLogEvents wants chronological order; AWS puts init output before START
            latest = max(latest, stamp)
            stamps.append(latest)
        return [(stamp, text) for stamp, (_, text) in zip(stamps, ordered)]

    def tail(self) -> str:
        text = "".join(line + "\n" for _, line in (self.final() if self.done.is_set() else self.events()))
        return text.encode()[-TAIL_BYTES:].decode("utf-8", "ignore")


class LogParser:
    """Feeds one environment's output lines to the invocations it served, in order."""

    def __init__(self, orphan: Callable[[str], None], now_ms: Callable[[], int] = epoch_ms):
        self.pending: deque[Invocation] = deque()
        self.current: Invocation | None = None
        self.orphan, self.now_ms = orphan, now_ms

    def expect(self, invocation: Invocation) -> None:
        self.pending.append(invocation)

    def feed(self, line: str) -> None:
        line = line.rstrip("\r\n")
        rapid = RAPID.match(line)
        if rapid:
            self._rapid(rapid.group(1))
            return
        if start := START.match(line):
            self.current = self.pending.popleft() if self.pending else None
            if self.current:
                # Adopt the RIE's request id: it is the one the handler sees as context.aws_request_id,
                # and on AWS the REPORT line, the logs and x-amzn-RequestId all carry that same id.
                self.current.request_id = start.group(1)
                self.current.start_line = (self.now_ms(), line)
                self.current.started.set()
            return
        current = self.current
        if line.startswith("END RequestId: "):
            return
        if report := REPORT.match(line):
            if current:
                self.current = None
                current.reported(float(report.group(2)))
            return
        if current and not current.done.is_set():
            current.add(line)
        elif line.strip():
            self.orphan(line)

    def _rapid(self, message: str) -> None:
        current = self.current
        if init := INIT_REPORT.search(message):
            if current and current.cold:
                current.init_ms = float(init.group(1))
        elif message.startswith("INVOKE START(") and current:
            current.in_init = False
        elif (done := RTDONE.search(message)) and current:
            current.duration_ms = float(done.group(1))


class LogSink:
    """Ships log lines to CloudWatch Logs from one background thread, batching what piles up."""

    def __init__(self, put: Callable[[tuple, list[dict]], None]):
        self.put = put
        self.queue: queue.Queue = queue.Queue()
        self.idle = threading.Event()
        self.idle.set()
        self.thread = threading.Thread(target=self._run, name="log-sink", daemon=True)
        self.thread.start()

    def ship(self, destination: tuple, events: Callable[[], list[tuple[int, str]]]) -> None:
        """``destination`` is (account, region, group, stream); ``events`` is called on the sink's thread."""
        self.idle.clear()
        self.queue.put((destination, events))

    def flush(self, timeout: float = 2.0) -> None:
        with contextlib.suppress(WaitTimeout):
            wait_for(lambda: self.queue.empty() and self.idle.wait(0.01), timeout, interval=0.005,
                     what="the log sink idle")

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            time.sleep(BATCH_WINDOW_S)  # one PutLogEvents per stream for what arrives meanwhile
            batches: dict[tuple, list[dict]] = {}
            while item is not None:
                destination, events = item
                batches.setdefault(destination, []).extend(
                    {"timestamp": stamp, "message": text} for stamp, text in events())
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    item = None
            for destination, events in batches.items():
                try:
                    self.put(destination, sorted(events, key=lambda event: event["timestamp"]))
                except Exception as error:  # a log write must never take the runtime down
                    print(f"localcloud: could not write logs to {destination[2]}: {error}", flush=True)
            if self.queue.empty():
                self.idle.set()
