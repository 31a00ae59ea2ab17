"""Where the runtime's log lines land: moto's CloudWatch Logs, as Lambda writes them.

As on Lambda, ``/aws/lambda/NAME`` is created on first use (no ``CreateLogGroup`` needed), with
one stream per execution environment. The last lines of a deleted function's environments are
dropped: AWS keeps no such logs, and a group deleted after its function stays deleted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from localcloud.aws import backends
from localcloud.aws.wire import AwsError

if TYPE_CHECKING:
    from localcloud.aws.awslambda.catalog import Catalog
    from localcloud.cloud import Cloud


class Delivery:
    """The log sink's destination (:class:`localcloud.aws.awslambda.lambdalog.LogSink`)."""

    def __init__(self, cloud: Cloud, catalog: Catalog):
        self.cloud, self.catalog = cloud, catalog

    def __call__(self, destination: tuple[str, str, str, str], events: list[dict]) -> None:
        account, region, group, stream = destination
        with self.cloud.lock:
            logs = backends.service("logs", account, region)
            if group not in logs.groups:
                try:
                    self.catalog.function(account, region, group.removeprefix("/aws/lambda/"))
                except AwsError:
                    return
                logs.ensure_log_group(group)
            if stream not in logs.groups[group].streams:
                logs.create_log_stream(group, stream)
            logs.put_log_events(group, stream, events)
        self.cloud.changed(urgent=False)
