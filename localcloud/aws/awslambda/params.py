"""Lambda's limits on a function's name and configuration, checked before moto stores it.

moto takes any ``MemorySize`` and ``Timeout``, and any environment; the runtime turns them
into ``docker run --memory``, the invoke timeout and the function's variables, so values
Lambda refuses must never get that far (``--memory 0m`` is no limit at all); a name becomes a
path segment of every later call, so one with ``/`` or ``..`` could never be deleted. Answers are
Lambda's: the API model's bounds as ``ValidationException`` ("1 validation error detected:
..."), Lambda's own quotas and reserved variables as ``InvalidParameterValueException``.
"""

from __future__ import annotations

import re

from localcloud.aws.wire import InvalidParameterValue, Validation

# the API model's FunctionName pattern (botocore's lambda/2015-03-31 service-2.json), and the name's 64 characters
FUNCTION_NAME = re.compile(r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
                           r"(\d{12}:)?(function:)?(?P<name>[a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?")
NAME_CHARACTERS = 64
MEMORY_MB = (128, 10240)
TIMEOUT_S = (1, 900)
ENV_KEY = re.compile(r"[a-zA-Z]([a-zA-Z0-9_])+")
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
RESERVED = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_RUNTIME_API", "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR"})


def within(value: int, bounds: tuple[int, int]) -> int:
    """``value`` clamped to ``bounds``: what reaches docker is never 0 ("no limit"), whatever was stored."""
    return min(max(value, bounds[0]), bounds[1])


def check_name(name: object) -> None:
    """Refuse a CreateFunction ``FunctionName`` Lambda would refuse (ValidationException, as AWS words it)."""
    if not isinstance(name, str) or not (match := FUNCTION_NAME.fullmatch(name)):
        raise Validation(f"1 validation error detected: Value '{name}' at 'functionName' failed to satisfy "
                         f"constraint: Member must satisfy regular expression pattern: {FUNCTION_NAME.pattern}"
                         .replace("?P<name>", ""))
    if len(match["name"]) > NAME_CHARACTERS:
        raise Validation(f"1 validation error detected: Value '{name}' at 'functionName' failed to satisfy "
                         f"constraint: Member must have length less than or equal to {NAME_CHARACTERS}")


def check_configuration(document: dict) -> None:
    """Refuse a CreateFunction / UpdateFunctionConfiguration body Lambda would refuse."""
    if not isinstance(document, dict):
        return
    _bounded(document, "MemorySize", "memorySize", MEMORY_MB)
    _bounded(document, "Timeout", "timeout", TIMEOUT_S)
    variables = (document.get("Environment") or {}).get("Variables") or {}
    if not isinstance(variables, dict):
        raise Validation("1 validation error detected: Value at 'environment.variables' failed to satisfy "
                         "constraint: Member must be a map")
    if bad := [key for key in variables if not isinstance(key, str) or not ENV_KEY.fullmatch(key)]:
        raise Validation(f"1 validation error detected: Value '{{{bad[0]}=****}}' at 'environment.variables' "
                         "failed to satisfy constraint: Map keys must satisfy constraint: "
                         f"[Member must satisfy regular expression pattern: {ENV_KEY.pattern}]")
    if reserved := sorted(key for key in variables if key in RESERVED):
        raise InvalidParameterValue(
            "Lambda was unable to configure your environment variables because the environment variables you have "
            "provided contains reserved keys that are currently not supported for modification. "
            f"Reserved keys used in this request: {','.join(reserved)}")


def _bounded(document: dict, name: str, member: str, bounds: tuple[int, int]) -> None:
    if name not in document:
        return
    value, (low, high) = document[name], bounds
    if isinstance(value, bool) or not isinstance(value, int):
        raise Validation(f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
                         "constraint: Member must be an integer")
    if value < low:
        raise Validation(f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
                         f"constraint: Member must have value greater than or equal to {low}")
    if value > high:
        raise InvalidParameterValue(f"'{name}' value failed to satisfy constraint: "
                                    f"Member must have value less than or equal to {high}")
