"""Lambda's concurrency accounting, for local use (lambda-concurrency.html): one pool per function, its counters,
and the throttle: ``ReservedConcurrentExecutions`` caps a function, the account limit caps the unreserved rest."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from localcloud.aws.awslambda.environment import Environment


class Throttled(Exception):
    """No concurrency left: AWS's TooManyRequestsException with its Reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Counters:
    """What ``status`` reports of one function; changed only under the pools' lock."""

    environments_started: int = 0
    cold_starts: int = 0
    invocations: int = 0
    throttles: int = 0
    errors: int = 0
    timeouts: int = 0


@dataclass
class Pool:
    """The environments of one function (all its versions) and its counters."""

    key: tuple[str, str, str]
    envs: list[Environment] = field(default_factory=list)
    reserved: int | None = None
    counters: Counters = field(default_factory=Counters)

    def busy(self) -> int:
        return sum(env.busy for env in self.envs)


def check_concurrency(pool: Pool, pools: Iterable[Pool], max_concurrency: int) -> None:
    """Throttled when one more execution would pass the function's reserved or the account's concurrency."""
    if pool.reserved is not None:
        if pool.busy() >= pool.reserved:
            pool.counters.throttles += 1
            raise Throttled("ReservedFunctionConcurrentInvocationLimitExceeded")
        return
    reserved = sum(p.reserved for p in pools if p.reserved is not None)
    unreserved_busy = sum(p.busy() for p in pools if p.reserved is None)
    if unreserved_busy >= max_concurrency - reserved:
        pool.counters.throttles += 1
        raise Throttled("ConcurrentInvocationLimitExceeded")
