"""Reports the sandbox it runs in (user, terminal, writable places) and the GREETING it was configured with.

``sleep`` (seconds, in a direct event) makes it run that long first.
"""

import os
import sys
import time


def writable(folder: str) -> bool:
    try:
        with open(os.path.join(folder, ".probe"), "w") as probe:
            probe.write("x")
        os.remove(os.path.join(folder, ".probe"))
        return True
    except OSError:
        return False


def handler(event, context):
    time.sleep(float(event.get("sleep", 0)))
    print(f"greeting={os.environ.get('GREETING')}")
    return {"uid": os.getuid(), "gid": os.getgid(), "tty": sys.stdout.isatty() or sys.stdin.isatty(),
            "task_root_writable": writable(os.environ["LAMBDA_TASK_ROOT"]), "tmp_writable": writable("/tmp"),
            "greeting": os.environ.get("GREETING"), "pid": os.getpid()}
