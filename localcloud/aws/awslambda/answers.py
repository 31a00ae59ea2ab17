"""The RIE's answer turned into Lambda's, as a pure function (the RIE marks neither errors nor timeouts as AWS does).

=====================================  ========  =====================================================
the RIE answers                        status    Lambda answers (FunctionError: Unhandled unless ok)
=====================================  ========  =====================================================
200 ``Task timed out after N.00 ...``  timeout   ``{"errorMessage": "<time> <id> Task timed out ..."}``
200 awslambdaric's error document      error     the document, with the invocation's request id
200, more than 6 MB (read no further)  error     ``Function.ResponseSizeTooLarge``
200                                    ok        the body
anything else (exit, failed init)      crash /   the RIE's error document (``Runtime.ExitError`` ...)
                                       error
=====================================  ========  =====================================================
"""

from __future__ import annotations

import json
from dataclasses import dataclass

MAX_RESPONSE = 6 * 1024 * 1024  # synchronous invocation response quota


@dataclass(frozen=True)
class Verdict:
    status: str  # ok, error, timeout or crash
    payload: bytes
    retire: bool = False  # the environment must be replaced (AWS resets it after a timeout or a crash)
    expect_report: bool = True  # the RIE still prints END / REPORT for this invocation
    extra: tuple[str, ...] = ()  # log lines after REPORT
    counter: str | None = None  # the function counter it adds to: errors or timeouts


def classify(status: int, body: bytes | None, request_id: str, now: str) -> Verdict:
    """Lambda's answer for the RIE's (``status``, ``body``); ``now`` is the ISO time for a timeout's message.

    A body of None was longer than :data:`MAX_RESPONSE` and was not read
    (:func:`localcloud.aws.awslambda.environment.read_capped`).
    """
    if body is None:
        message = f"Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE} bytes)."
        document = {"errorMessage": message, "errorType": "Function.ResponseSizeTooLarge"}
        return Verdict("error", json.dumps(document).encode(), extra=(message,), counter="errors")
    if status == 200 and body.startswith(b"Task timed out after"):
        message = f"{now} {request_id} {body.decode()}"
        return Verdict("timeout", json.dumps({"errorMessage": message}).encode(), retire=True, extra=(message,),
                       counter="timeouts")
    if status == 200 and body.startswith(b'{"errorMessage"') and looks_like_error(body):
        document = {**json.loads(body), "requestId": request_id}
        return Verdict("error", json.dumps(document).encode(), counter="errors")
    if status == 200 and len(body) > MAX_RESPONSE:
        message = (f"Response payload size ({len(body)} bytes) exceeded maximum allowed payload size "
                   f"({MAX_RESPONSE} bytes).")
        document = {"errorMessage": message, "errorType": "Function.ResponseSizeTooLarge"}
        return Verdict("error", json.dumps(document).encode(), extra=(message,), counter="errors")
    if status == 200:
        return Verdict("ok", body)
    try:  # the runtime exited (Runtime.ExitError) or failed its init: AWS answers 200 with FunctionError
        document = json.loads(body)
    except ValueError:
        document = {"errorType": "Runtime.Unknown", "errorMessage": body.decode("utf-8", "replace")}
    crashed = document.get("errorType") == "Runtime.ExitError"
    return Verdict("crash" if crashed else "error", json.dumps(document).encode(), retire=True,
                   expect_report=not crashed, extra=(document.get("errorMessage", ""), document.get("errorType", "")),
                   counter="errors")


def looks_like_error(body: bytes) -> bool:
    """awslambdaric's error document: errorMessage, errorType, requestId, stackTrace and nothing else."""
    try:
        document = json.loads(body)
    except ValueError:
        return False
    return isinstance(document, dict) and "errorType" in document and set(document) <= {
        "errorMessage", "errorType", "requestId", "stackTrace"}
