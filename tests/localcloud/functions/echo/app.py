"""Answers with its event and what Lambda told it: environment, memory, whether it was a cold start."""

import json
import os

ENV_NAMES = ("AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_REGION",
             "LAMBDA_TASK_ROOT", "AWS_LAMBDA_INITIALIZATION_TYPE", "GREETING")
_cold = True


def handler(event, context):
    global _cold
    cold, _cold = _cold, False
    print(json.dumps({"message": "echo handled a request", "request_id": context.aws_request_id}))
    return {"event": event, "cold": cold, "memory_limit_in_mb": int(context.memory_limit_in_mb),
            "env": {name: os.environ.get(name) for name in ENV_NAMES}, "pid": os.getpid(),
            "function_arn": context.invoked_function_arn}
