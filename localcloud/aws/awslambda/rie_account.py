"""The RIE as Lambda would be for the stand-in's account: ``context.invoked_function_arn`` names that account.

The Runtime Interface Emulator hard-codes the ARN it hands the runtime for each invocation,
``arn:aws:lambda:us-east-1:012345678912:function:NAME`` (a constant format string in its
binary: it reads no setting for it), while every ARN the stand-in's API returns carries the
function's own account (moto's ``123456789012`` unless the caller's access key is an account
id). So the stand-in runs a copy of the binary in which those twelve digits are the account's:
the same length, in a constant string, so nothing else in the binary moves. A binary without
exactly one such string is used unchanged. The region stays ``us-east-1`` (a region's name has
no fixed length); "What differs" in ``localcloud/README.md`` says so.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

RIE_ARN = b"arn:aws:lambda:us-east-1:012345678912:function:%s"
RIE_ACCOUNT = b"012345678912"
ACCOUNT = re.compile(r"^[0-9]{12}$")


def with_account(rie: Path, account: str) -> Path:
    """A copy of the RIE binary ``rie`` whose invoked function ARNs carry ``account``, beside it (made once)."""
    made = _copy(rie, account)
    if not made.exists():  # removed from the cache meanwhile
        _copy.cache_clear()
        made = _copy(rie, account)
    return made


@functools.cache  # the binary is read once per stand-in, not at every cold start
def _copy(rie: Path, account: str) -> Path:
    if account == RIE_ACCOUNT.decode() or not ACCOUNT.match(account):
        return rie
    target = rie.with_name(f"{rie.name}.account-{account}")
    if target.exists():
        return target
    binary = rie.read_bytes()
    if binary.count(RIE_ARN) != 1:
        return rie
    partial = rie.with_name(f"{target.name}.{os.getpid()}.partial")
    partial.write_bytes(binary.replace(RIE_ARN, RIE_ARN.replace(RIE_ACCOUNT, account.encode())))
    partial.chmod(rie.stat().st_mode)
    partial.replace(target)  # atomic: a concurrent stand-in finds the whole file or none
    return target
