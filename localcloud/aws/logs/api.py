"""CloudWatch Logs reads see every log line of every invocation already answered.

On AWS logs arrive within seconds; here they arrive within milliseconds, but a client
that invokes and then immediately calls ``filter_log_events`` should never miss its own
lines, so reads wait until the runtime's log shipping has caught up.
"""

from __future__ import annotations

from localcloud.aws.awslambda.runtime import Runtime
from localcloud.aws.control import Call, Hook
from localcloud.aws.wire import Answer

READS = ("FilterLogEvents", "GetLogEvents", "DescribeLogStreams", "DescribeLogGroups", "StartQuery")


class LogsHook(Hook):
    service = "logs"

    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    def before(self, call: Call) -> Answer | None:
        if call.action in READS:
            self.runtime.flush_logs()
        return None
