"""Running invocations on Lambda execution environments, and shaping their answers like Lambda's.

:class:`Runtime` takes an environment from :mod:`localcloud.aws.awslambda.pools` (which decides warm,
cold or throttled), sends the event to its RIE, and turns the RIE's answer into
Lambda's: FunctionError for handler errors, timeouts and crashed runtimes, the
``Task timed out after N.00 seconds`` payload, and the log tail with AWS's REPORT line.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from lambda_rie import RieUnavailable, WaitTimeout, wait_for
from localcloud.aws.awslambda.answers import MAX_RESPONSE, classify
from localcloud.aws.awslambda.concurrency import Throttled
from localcloud.aws.awslambda.environment import Environment, EnvironmentGone, Ports
from localcloud.aws.awslambda.functions import FunctionSpec, ImageError, ImageStore
from localcloud.aws.awslambda.lambdalog import Invocation, LogParser, LogSink, epoch_ms, iso_time
from localcloud.aws.awslambda.pools import Pools
from localcloud.aws.awslambda.rie_account import with_account
from localcloud.bridge import discard_folder, socket_folder
from localcloud.engine import EngineError

WARM_UP_EVENT = b'{"localcloud": "provisioned-concurrency warm-up"}'
START_FAILURES = (ImageError, EnvironmentGone, EngineError, RieUnavailable, LookupError, OSError)


@dataclass
class Result:
    """One invocation's answer: ``status`` is ok, error, timeout, crash or unavailable."""

    request_id: str
    status: str
    payload: bytes
    version: str
    cold: bool
    invocation: Invocation | None = None

    @property
    def function_error(self) -> str | None:
        return "Unhandled" if self.status in ("error", "timeout", "crash") else None


class Runtime:
    """Runs invocations on environments, starting, reusing and retiring them like Lambda."""

    def __init__(self, images: ImageStore, sink: LogSink, rie: Callable[[str], Path], *, home: Path, instance: str,
                 extra_env: dict[str, str], idle_timeout: float, max_concurrency: int,
                 resolve: Callable[[tuple, str], FunctionSpec | None], clock: Callable[[], float] = time.monotonic,
                 now_ms: Callable[[], int] = epoch_ms):
        self.images, self.sink, self.rie, self.now_ms = images, sink, rie, now_ms
        ports, self.home, self.sockets = Ports(), home, socket_folder(home, "lambda")
        self.pools = Pools(new_environment=lambda spec, provisioned: Environment(
            spec, ports=ports, sockets=self.sockets, home=home, instance=instance, extra_env=extra_env,
            provisioned=provisioned, clock=clock),
            idle_timeout=idle_timeout, max_concurrency=max_concurrency, resolve=resolve, warm_up=self._warm_up,
            clock=clock)
        self.lock = threading.Lock()
        self.unfinished: set[Invocation] = set()
        self.events = ThreadPoolExecutor(max_workers=4, thread_name_prefix="event-invoke")

    # -- invoking ----------------------------------------------------------------------
    def invoke(self, spec: FunctionSpec, payload: bytes, *, tail: bool = False, answer_within: float | None = None,
               headers: dict[str, str] | None = None, request_id: str | None = None) -> Result:
        """Run one invocation (RequestResponse); raises Throttled when no concurrency is left."""
        request_id = request_id or str(uuid.uuid4())
        for attempt in range(2):
            env, cold = self.pools.acquire(spec)
            try:
                result = self._run(env, spec, request_id, payload, cold, answer_within, headers or {})
                break
            except EnvironmentGone:
                self.pools.release(env, retire=True)
                if cold or attempt:  # a warm environment that died while idle is replaced once, silently
                    result = self._failure(spec, request_id, cold, "Runtime.ExitError",
                                           f"RequestId: {request_id} Error: the execution environment stopped")
                    break
        if tail and result.invocation:
            result.invocation.done.wait(2)
        return result

    def invoke_async(self, spec: FunctionSpec, payload: bytes) -> str:
        """InvocationType=Event: queue it, retrying throttles as Lambda's async queue does (for a minute here).

        The function's settings are looked up when the event runs, not when it was queued: an event queued
        before an update runs with the updated code and configuration, and one for a deleted function is dropped.
        """
        request_id = str(uuid.uuid4())

        def run() -> None:
            for delay in (0.5, 1, 2, 4, 8, 16, 30):
                current = self.pools.resolve(spec.key, spec.version)
                if current is None:
                    return
                try:
                    self.invoke(current, payload, request_id=request_id)
                    return
                except Throttled:
                    time.sleep(delay)
        self.events.submit(run)
        return request_id

    def _run(self, env: Environment, spec: FunctionSpec, request_id: str, payload: bytes, cold: bool,
             answer_within: float | None, headers: dict[str, str]) -> Result:
        if cold:
            try:
                self._start(env, spec)
            except START_FAILURES as error:
                self.pools.release(env, retire=True)
                return self._failure(spec, request_id, True, "Runtime.InvalidEntrypoint", str(error))
        invocation = Invocation(request_id, spec.memory, cold=not env.initialized, version=spec.version,
                                max_memory=env.max_memory_mb, on_final=lambda done: self._finalized(env, done),
                                now_ms=self.now_ms)
        env.parser.expect(invocation)
        started = time.perf_counter()
        env.send(payload, {"Content-Type": "application/json",
                           "X-Amzn-Trace-Id": headers.get("X-Amzn-Trace-Id") or trace_id(self.now_ms())})
        if answer_within is not None and not env.answered_within(answer_within):
            threading.Thread(target=self._finish_late, args=(env, invocation, started), daemon=True).start()
            return Result(request_id, "unavailable", b"", spec.version, cold, invocation)
        status, body = env.receive(MAX_RESPONSE)
        return self._classify(env, invocation, status, body, started)

    def _finish_late(self, env: Environment, invocation: Invocation, started: float) -> None:
        """The caller stopped waiting (API Gateway's integration timeout); the function runs on."""
        try:
            status, body = env.receive(MAX_RESPONSE)
            self._classify(env, invocation, status, body, started)
        except EnvironmentGone:
            invocation.answered(expect_report=False, duration_ms=(time.perf_counter() - started) * 1000)
            self.pools.release(env, retire=True)

    def _classify(self, env: Environment, inv: Invocation, status: int, body: bytes | None, started: float) -> Result:
        inv.started.wait(1.0)  # the log reader may trail the answer by a moment; START carries the request id
        verdict = classify(status, body, inv.request_id, iso_time(self.now_ms()))
        if verdict.counter:
            self.pools.count(env.spec.key, verdict.counter)
        duration = None if verdict.expect_report else (time.perf_counter() - started) * 1000
        self._answered(inv, verdict.expect_report, list(verdict.extra), duration)
        self.pools.release(env, retire=verdict.retire)
        return Result(inv.request_id, verdict.status, verdict.payload, env.spec.version, inv.cold, inv)

    def _answered(self, inv: Invocation, expect_report: bool, extra: list[str] = (), duration_ms: float | None = None):
        with self.lock:
            if not inv.done.is_set():
                self.unfinished.add(inv)
        inv.answered(expect_report, extra, duration_ms)

    def _finalized(self, env: Environment, inv: Invocation) -> None:
        spec = env.spec
        self.sink.ship((spec.account, spec.region, f"/aws/lambda/{spec.name}", env.log_stream), inv.final)
        with self.lock:
            self.unfinished.discard(inv)

    def _failure(self, spec: FunctionSpec, request_id: str, cold: bool, error_type: str, message: str) -> Result:
        self.pools.count(spec.key, "errors")
        payload = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
        return Result(request_id, "error", payload, spec.version, cold)

    def shutdown(self) -> None:
        self.events.shutdown(wait=False, cancel_futures=True)
        self.pools.shutdown()
        discard_folder(self.sockets, self.home)

    def flush_logs(self, timeout: float = 2.0) -> None:
        """Wait until every answered invocation's log reached CloudWatch Logs (read-your-writes)."""
        deadline = time.monotonic() + timeout
        with contextlib.suppress(WaitTimeout):
            wait_for(lambda: not self.unfinished, timeout, interval=0.002, what="every answered invocation logged")
        self.sink.flush(max(deadline - time.monotonic(), 0.1))

    # -- environments --------------------------------------------------------------------
    def _start(self, env: Environment, spec: FunctionSpec) -> None:
        plan = self.images.plan(spec)
        rie = with_account(self.rie(spec.architecture), spec.account)  # context's ARN: the function's account
        env.start(plan, rie, LogParser(orphan=lambda line: self._orphan(env, line), now_ms=self.now_ms))

    def _orphan(self, env: Environment, line: str) -> None:
        spec, event = env.spec, [(self.now_ms(), line)]
        self.sink.ship((spec.account, spec.region, f"/aws/lambda/{spec.name}", env.log_stream), lambda: event)

    def _warm_up(self, env: Environment, spec: FunctionSpec) -> None:
        """Initialise a provisioned environment. The RIE runs init only on an invoke, so one warm-up
        invoke is sent; its output is discarded (AWS runs the init phase alone)."""
        try:
            self._start(env, spec)
            warm_up = Invocation("warm-up", spec.memory, True, spec.version, env.max_memory_mb, lambda done: None,
                                 now_ms=self.now_ms)
            env.parser.expect(warm_up)
            env.send(WARM_UP_EVENT, {"Content-Type": "application/json"})
            status, _ = env.receive(MAX_RESPONSE)
            self.pools.release(env, retire=status != 200)
        except START_FAILURES as error:
            print(f"localcloud: provisioned environment for {spec.name}:{spec.version} failed: {error}", flush=True)
            self.pools.release(env, retire=True)


def trace_id(now_ms: int) -> str:
    return f"Root=1-{now_ms // 1000:08x}-{uuid.uuid4().hex[:24]}"
