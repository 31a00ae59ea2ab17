"""Lambda's scaling model, for local use: the execution environments of each function.

What it copies from AWS (lambda-concurrency.html, lambda-runtime-environment.html,
provisioned-concurrency.html):

* one request per environment at a time; a request that finds none free starts a new
  environment, and that first request is a *cold start*;
* ``ReservedConcurrentExecutions`` caps a function's concurrent executions, and the
  account limit caps the rest (``TooManyRequestsException``, 429);
* provisioned concurrency keeps N initialised environments for a published version;
* an update of code or configuration retires warm environments; idle environments retire
  after an idle timeout (scale to zero); a crashed or timed-out environment is replaced.

The clock is injectable so idle retirement can be tested without waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict

from localcloud.aws.awslambda.concurrency import Pool, check_concurrency
from localcloud.aws.awslambda.environment import Environment
from localcloud.aws.awslambda.functions import FunctionSpec


class Pools:
    """Hands out environments, starts and retires them, keeps provisioned ones, reaps idle ones."""

    def __init__(self, *, new_environment: Callable[[FunctionSpec, bool], Environment], idle_timeout: float,
                 max_concurrency: int, resolve: Callable[[tuple, str], FunctionSpec | None],
                 warm_up: Callable[[Environment, FunctionSpec], None], clock: Callable[[], float] = time.monotonic):
        """``new_environment(spec, provisioned)`` makes an environment (not started yet)."""
        self.new_environment = new_environment
        self.idle_timeout, self.max_concurrency = idle_timeout, max_concurrency
        self.resolve, self.warm_up, self.clock = resolve, warm_up, clock
        self.by_key: dict[tuple, Pool] = {}
        self.provisioned: dict[tuple, int] = {}  # (function key, version) -> requested environments
        self.lock = threading.Lock()
        self._upkeep = threading.Lock()  # one provisioned-concurrency upkeep at a time
        self._stopping = threading.Event()
        self._reaper = threading.Thread(target=self._reap_forever, name="reaper", daemon=True)
        self._reaper.start()

    def _pool(self, key: tuple) -> Pool:
        """The function's pool, created on first use (callers hold the lock)."""
        return self.by_key.get(key) or self.by_key.setdefault(key, Pool(key))

    def count(self, key: tuple, counter: str) -> None:
        """Add one to a counter of the function (``errors``, ``timeouts``); never brings a deleted function back."""
        with self.lock:
            pool = self.by_key.get(key)
            if pool is not None:
                setattr(pool.counters, counter, getattr(pool.counters, counter) + 1)

    def acquire(self, spec: FunctionSpec, provisioned: bool = False) -> tuple[Environment, bool]:
        """A free warm environment of this generation (provisioned ones first), or a new one: (env, is_new).

        Raises Throttled when the execution would exceed the function's or the account's concurrency.
        """
        stale: list[Environment] = []
        with self.lock:
            pool = self._pool(spec.key)
            pool.reserved = spec.reserved
            if not provisioned:  # every execution counts against concurrency, warm or cold
                check_concurrency(pool, self.by_key.values(), self.max_concurrency)
            chosen = None
            for env in pool.envs:
                if env.busy or env.spec.version != spec.version:
                    continue
                if env.generation != spec.generation or not env.alive():
                    stale.append(env)
                elif not provisioned and (chosen is None or env.provisioned > chosen.provisioned):
                    chosen = env
            for env in stale:
                pool.envs.remove(env)
            if chosen:
                chosen.busy = True
                pool.counters.invocations += 1
            else:
                if not provisioned:
                    pool.counters.invocations += 1
                    pool.counters.cold_starts += 1
                chosen = self.new_environment(spec, provisioned)
                chosen.last_used = self.clock()
                pool.envs.append(chosen)
                pool.counters.environments_started += 1
        self.stop_later(stale)
        return chosen, chosen.plan is None

    def release(self, env: Environment, retire: bool = False) -> None:
        with self.lock:
            env.busy = False
            env.last_used = self.clock()
            if env.plan is not None and not retire:
                env.initialized = True
            pool = self.by_key.get(env.spec.key)
            if retire or env.retiring or pool is None:
                if pool and env in pool.envs:
                    pool.envs.remove(env)
                retire = True
        if retire:
            self.stop_later([env])

    def stop_later(self, envs: list[Environment]) -> None:
        for env in envs:
            threading.Thread(target=env.stop, name=f"stop-{env.id[:8]}", daemon=True).start()

    def refresh(self, spec: FunctionSpec) -> None:
        """After an update: idle environments of the old generation retire now, busy ones when done."""
        with self.lock:
            pool = self.by_key.get(spec.key)
            doomed = []
            for env in list(pool.envs if pool else []):
                if env.spec.version == spec.version and env.generation != spec.generation:
                    if env.busy:
                        env.retiring = True
                    else:
                        pool.envs.remove(env)
                        doomed.append(env)
        self.stop_later(doomed)

    def forget(self, key: tuple) -> None:
        """The function was deleted: stop all its environments."""
        with self.lock:
            pool = self.by_key.pop(key, None)
            self.provisioned = {target: n for target, n in self.provisioned.items() if target[0] != key}
        if pool:
            for env in pool.envs:
                env.retiring = True
            self.stop_later([env for env in pool.envs if not env.busy])

    # -- provisioned concurrency and idle retirement ------------------------------------------
    def provision(self, key: tuple, version: str, count: int) -> None:
        """Keep ``count`` initialised environments for ``version`` (0 removes the configuration)."""
        doomed = []
        with self.lock:
            if count:
                self.provisioned[(key, version)] = count
            else:  # the configuration is gone: its environments are deallocated
                self.provisioned.pop((key, version), None)
                pool = self.by_key.get(key)
                for env in list(pool.envs if pool else []):
                    if env.provisioned and env.spec.version == version:
                        env.retiring = True
                        if not env.busy:
                            pool.envs.remove(env)
                            doomed.append(env)
        self.stop_later(doomed)
        self._maintain()

    def provisioned_ready(self, key: tuple, version: str) -> int:
        with self.lock:
            pool = self.by_key.get(key)
            return sum(1 for env in (pool.envs if pool else []) if env.provisioned and env.initialized
                       and env.spec.version == version)

    def _maintain(self) -> None:
        with self._upkeep:
            self._keep_provisioned()

    def _keep_provisioned(self) -> None:
        with self.lock:
            targets = dict(self.provisioned)
        for (key, version), wanted in targets.items():
            spec = self.resolve(key, version)
            if spec is None:
                continue
            with self.lock:
                pool = self._pool(key)
                mine = [env for env in pool.envs if env.provisioned and env.spec.version == version
                        and env.generation == spec.generation]
                extra = [env for env in mine[wanted:] if not env.busy]
                for env in extra:
                    pool.envs.remove(env)
            self.stop_later(extra)
            for _ in range(wanted - len(mine)):
                env, _ = self.acquire(spec, provisioned=True)
                threading.Thread(target=self.warm_up, args=(env, spec), daemon=True).start()

    def _reap_forever(self) -> None:
        while not self._stopping.wait(min(1.0, self.idle_timeout / 4)):
            now = self.clock()
            doomed = []
            with self.lock:
                for pool in self.by_key.values():
                    for env in list(pool.envs):
                        idle_too_long = not env.provisioned and now - env.last_used >= self.idle_timeout
                        if not env.busy and (idle_too_long or not env.alive()):
                            pool.envs.remove(env)
                            doomed.append(env)
            self.stop_later(doomed)
            try:
                self._maintain()
            except Exception as error:  # keep reaping whatever one function's lookup does
                print(f"localcloud: provisioned concurrency upkeep failed: {error}", flush=True)

    # -- status and shutdown -------------------------------------------------------------
    def healthy(self) -> bool:
        return self._reaper.is_alive()

    def status(self) -> dict[str, dict]:
        now = self.clock()
        with self.lock:
            return {pool.key[2]: {
                "region": pool.key[1], **asdict(pool.counters), "live_environments": len(pool.envs),
                "busy": pool.busy(), "reserved_concurrency": pool.reserved,
                "environments": [{"id": env.id, "version": env.spec.version, "busy": env.busy,
                                  "provisioned": env.provisioned, "idle_s": round(now - env.last_used, 1),
                                  "rie": env.address(), "container": env.container,
                                  "pid": env.pid, "user": env.user}
                                 for env in pool.envs]}
                for pool in self.by_key.values()}

    def shutdown(self) -> None:
        self._stopping.set()
        with self.lock:
            envs = [env for pool in self.by_key.values() for env in pool.envs]
            self.by_key.clear()
        threads = [threading.Thread(target=env.stop) for env in envs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
