"""The stand-in's own records beside moto's: what AWS tracks and moto has no field for.

One typed table instead of attributes set on moto's objects; it is saved and restored
with moto's backends (:mod:`localcloud.aws.persistence`) and, like them, read and changed
only under the control plane's lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FunctionKey = tuple[str, str, str]  # (account, region, function name)


@dataclass(frozen=True)
class Code:
    """An image a function runs: what ``ImageUri`` named, and the digest it resolved to."""

    image_uri: str
    digest: str
    size: int


@dataclass
class FunctionRecord:
    """Lambda's state of one function ($LATEST) that moto does not keep."""

    state_reason: tuple[str, str] | None = None  # (StateReason, StateReasonCode) while not Active
    update: tuple[str, ...] | None = None  # (LastUpdateStatus[, reason, reason code])
    revision: int = 0  # counts code and configuration updates: a new revision means new environments
    provisioned: dict[str, dict] = field(default_factory=dict)  # qualifier -> requested, version, modified
    serving: Code | None = None  # the code invocations run; the previous one while an update is InProgress
    pending: Code | None = None  # the code an update in progress is preparing


@dataclass
class ApiRecord:
    deployments: dict[str, dict] = field(default_factory=dict)  # deployment id -> GetDeployments item
    stages: dict[str, str] = field(default_factory=dict)  # stage name -> deployment id


@dataclass
class SideTable:
    functions: dict[FunctionKey, FunctionRecord] = field(default_factory=dict)
    apis: dict[str, ApiRecord] = field(default_factory=dict)
    host_images: set[str] = field(default_factory=set)  # manifest digests this stand-in packed from uploads

    def function(self, key: FunctionKey) -> FunctionRecord:
        return self.functions.setdefault(key, FunctionRecord())

    def api(self, api_id: str) -> ApiRecord:
        return self.apis.setdefault(api_id, ApiRecord())

    def replace(self, other: SideTable) -> None:
        """Take over a restored table's contents (the objects that hold this one keep it)."""
        self.functions, self.apis, self.host_images = other.functions, other.apis, other.host_images


def key_of(fn) -> FunctionKey:
    """The record key of a moto LambdaFunction (any of its versions)."""
    return fn.account_id, fn.region, fn.function_name
