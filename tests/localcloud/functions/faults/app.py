"""Misbehaves on request: ``fault`` (in a direct event or the query string) is raise, sleep or kill.

raise: a handler exception; sleep: runs ``seconds`` (default 10), past a short timeout;
kill: the runtime's own process is killed mid-invoke. Without ``fault`` it answers normally.
"""

import os
import signal
import time


def handler(event, context):
    request = event.get("queryStringParameters") or event
    fault = request.get("fault")
    if fault == "raise":
        raise ValueError("raised on purpose")
    if fault == "sleep":
        time.sleep(float(request.get("seconds", 10)))
    if fault == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    return {"statusCode": 200, "body": "fine"} if "requestContext" in event else {"fine": True}
