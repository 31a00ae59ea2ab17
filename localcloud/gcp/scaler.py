"""The instances of one revision and the requests they serve, as Cloud Run schedules them.

- An instance serves up to ``concurrency`` requests at once (default 80); a request goes to
  an instance with a free slot, starting or started, before a new instance is started.
- At ``max_instances`` with every slot taken, a request waits up to ``queue_wait_s`` (Cloud
  Run: about 10 s) for a slot, then is refused: :class:`NoInstance`, Cloud Run's 429.
- ``min_instances`` stay started; any other instance idle for ``idle_timeout_s`` is stopped
  (scale to zero).

The clock is injected, so tests can drive idle retirement without waiting.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

from .container import Container, StartFailed
from .resources import RevisionSpec

QUEUE_WAIT_S = 10.0


class NoInstance(RuntimeError):
    """No instance could take the request in time (Cloud Run answers 429)."""


class Instance:
    _ids = itertools.count(1)

    def __init__(self, container: Container, now: float):
        self.id = f"{next(self._ids):04d}"
        self.container = container
        self.in_flight = 0
        self.served = 0
        self.peak_in_flight = 0
        self.idle_since = now
        self.started_at = now
        self.busy_s = 0.0  # time with at least one request in flight: what request-based billing charges
        self.ready = threading.Event()
        self.failure: str | None = None

    @property
    def state(self) -> str:
        return "failed" if self.failure else "ready" if self.ready.is_set() else "starting"


class Pool:
    def __init__(self, spec: RevisionSpec, launch: Callable[[], Container], *, idle_timeout_s: float,
                 clock: Callable[[], float] = time.monotonic, queue_wait_s: float = QUEUE_WAIT_S):
        self.spec, self.launch, self.clock = spec, launch, clock
        self.idle_timeout_s, self.queue_wait_s = idle_timeout_s, queue_wait_s
        self.instances: list[Instance] = []
        self.counters = {"instances_started": 0, "cold_starts": 0, "requests": 0, "refused_429": 0,
                         "timed_out_504": 0, "peak_instances": 0, "peak_in_flight_per_instance": 0,
                         "busy_instance_s": 0.0, "alive_instance_s": 0.0}  # of retired instances; status() adds live ones
        self._changed = threading.Condition()
        self.stopped = False

    # -- starting ------------------------------------------------------------------------
    def start_instance(self) -> Instance:
        """Start one more instance in the background (call with the lock held)."""
        instance = Instance(self.launch(), self.clock())
        self.instances.append(instance)
        self.counters["instances_started"] += 1
        self.counters["peak_instances"] = max(self.counters["peak_instances"], len(self.instances))
        threading.Thread(target=self._boot, args=(instance,), daemon=True,
                         name=f"run-{self.spec.revision}-{instance.id}").start()
        return instance

    def _boot(self, instance: Instance) -> None:
        try:
            instance.container.start(self.spec.startup_timeout_s)
        except Exception as error:  # StartFailed, or the engine's own error
            instance.failure = str(error)
            with self._changed:
                self.instances.remove(instance)
                self._changed.notify_all()
            instance.ready.set()
            instance.container.stop()
            return
        instance.ready.set()

    def deploy(self) -> None:
        """Start the revision's first instance and wait until it listens (raises StartFailed), then its minimum."""
        with self._changed:
            first = self.start_instance()
        first.ready.wait()
        if first.failure:
            raise StartFailed(first.failure)
        self.keep_minimum()

    def keep_minimum(self) -> None:
        with self._changed:
            while not self.stopped and len(self.instances) < self.spec.min_instances:
                self.start_instance()

    # -- serving -------------------------------------------------------------------------
    def acquire(self) -> tuple[Instance, bool]:
        """An instance with a free slot for one request, and whether the request waited for it to start.

        Raises:
            NoInstance: every instance is full at max_instances for ``queue_wait_s``.
            StartFailed: the instance started for this request did not come up.
        """
        deadline = self.clock() + self.queue_wait_s
        with self._changed:
            self.counters["requests"] += 1
            while True:
                free = [i for i in self.instances if i.in_flight < self.spec.concurrency]
                if free:
                    instance = max(free, key=lambda i: (i.ready.is_set(), i.in_flight))  # pack started ones first
                    cold = not instance.ready.is_set()
                    break
                if len(self.instances) < self.spec.max_instances and not self.stopped:
                    instance, cold = self.start_instance(), True
                    break
                left = deadline - self.clock()
                if left <= 0:
                    self.counters["refused_429"] += 1
                    raise NoInstance(self.spec.revision)
                self._changed.wait(min(left, 0.5))
            if instance.in_flight == 0:
                instance.idle_since = self.clock()  # from here on it is busy
            instance.in_flight += 1
            instance.peak_in_flight = max(instance.peak_in_flight, instance.in_flight)
            self.counters["peak_in_flight_per_instance"] = max(self.counters["peak_in_flight_per_instance"],
                                                               instance.in_flight)
            self.counters["cold_starts"] += cold
        if cold:
            instance.ready.wait()
            if instance.failure:
                raise StartFailed(instance.failure)
        return instance, cold

    def release(self, instance: Instance, *, timed_out: bool = False) -> None:
        with self._changed:
            instance.in_flight -= 1
            instance.served += 1
            if instance.in_flight == 0:
                instance.busy_s += self.clock() - instance.idle_since
                instance.idle_since = self.clock()
            self.counters["timed_out_504"] += timed_out
            self._changed.notify_all()

    # -- retiring ------------------------------------------------------------------------
    def reap(self) -> int:
        """Stop instances idle for ``idle_timeout_s`` beyond the minimum; returns how many."""
        with self._changed:
            idle = sorted((i for i in self.instances if i.ready.is_set() and i.in_flight == 0
                           and self.clock() - i.idle_since >= self.idle_timeout_s), key=lambda i: i.idle_since)
            spare = max(0, len(self.instances) - self.spec.min_instances)
            retired = idle[:spare]
            for instance in retired:
                self.instances.remove(instance)
                self._bill(instance)
        for instance in retired:
            instance.container.stop()
        self.keep_minimum()
        return len(retired)

    def _bill(self, instance: Instance) -> None:
        self.counters["busy_instance_s"] += instance.busy_s
        self.counters["alive_instance_s"] += self.clock() - instance.started_at

    def stop(self) -> None:
        with self._changed:
            self.stopped = True
            instances, self.instances = self.instances, []
            self._changed.notify_all()
        for instance in instances:
            instance.container.stop()

    def status(self) -> dict:
        """Counters; ``busy_instance_s`` (request-based billing) and ``alive_instance_s`` (instance-based) over all
        instances; ``idle_timeout_s``, how long an idle instance beyond the minimum is kept."""
        with self._changed:
            now = self.clock()
            busy = sum(i.busy_s + (now - i.idle_since if i.in_flight else 0) for i in self.instances)
            alive = sum(now - i.started_at for i in self.instances)
            return {**self.counters, "live_instances": len(self.instances), "idle_timeout_s": self.idle_timeout_s,
                    "busy_instance_s": round(self.counters["busy_instance_s"] + busy, 3),
                    "alive_instance_s": round(self.counters["alive_instance_s"] + alive, 3),
                    "instances": [{"id": i.id, "state": i.state, "in_flight": i.in_flight, "served": i.served,
                                   "peak_in_flight": i.peak_in_flight} for i in self.instances]}
