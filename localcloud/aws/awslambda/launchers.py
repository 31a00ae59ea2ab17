"""How an execution environment starts: the command line in docker mode and in host mode.

Docker mode copies Lambda's sandbox where a container can: a read-only file system but
/tmp, the non-root user sbx_user1051, no terminal, the function's memory as the limit and its
share of CPUs (:func:`cpus`); and
it confines the function (:data:`localcloud.engine.CONFINED`): no network but the container's
own loopback, where the RIE listens (its runtime API stays inside), no capabilities, no new
privileges, the image's VOLUMEs masked. Host mode, where the system allows it
(:func:`localcloud.namespaces.unavailable`), runs the RIE confined as a user of its own, in network,
IPC, PID and mount namespaces and a cgroup of its own (its memory, the same CPU share), over ``/var/task``
bound read-only; elsewhere it runs as the
stand-in's user on the host's loopback (see the README's security model).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from lambda_rie import run as rie
from localcloud import engine, namespaces

if TYPE_CHECKING:
    from localcloud.aws.awslambda.environment import Environment

RIE_IN_CONTAINER = "/opt/localcloud/aws-lambda-rie"
RIE_CONFINED = "/var/runtime/aws-lambda-rie"  # where a confined host-mode environment finds the RIE
TASK_ROOT = "/var/task"
LAMBDA_USER = "993:990"  # sbx_user1051, the user Lambda runs functions as
TMP_MB = 512  # Lambda's default ephemeral storage: /tmp is the only writable place
MB_PER_VCPU = 1769  # Lambda: "at 1,769 MB, a function has the equivalent of one vCPU", up to 6 at 10,240 MB


def cpus(memory_mb: int, available: int) -> float:
    """The CPUs an environment may use: Lambda's share for its memory, but at least one (a smaller share would
    make local cold starts much slower than the lab's measurements expect) and at most the ``available`` ones
    (the engine's, or this machine's), so a busy loop in several processes takes one core, not the machine."""
    return round(min(available, max(1.0, memory_mb / MB_PER_VCPU)), 2)


def host_command(env: Environment) -> tuple[list[str], dict, str]:
    """Host mode: the RIE as a process with this machine's Python, over the image's extracted /var/task;
    confined (``env.user`` set) it sees that folder as /var/task, as on Lambda."""
    task_root = TASK_ROOT if env.user is not None else str(env.plan.task_root)
    variables = {key: value for key, value in env.plan.config.env.items() if key not in ("PATH", "LAMBDA_TASK_ROOT")}
    variables.update(env.function_env())
    variables.update({"LAMBDA_TASK_ROOT": task_root, "LANG": "C.UTF-8", "_HANDLER": env.plan.handler(env.spec),
                      "PYTHONDONTWRITEBYTECODE": "1",  # /var/task is read-only on Lambda: nothing is written there
                      "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"])})
    workdir = env.spec.workdir or env.plan.config.workdir or TASK_ROOT
    cwd = task_root + workdir[len(TASK_ROOT):] if workdir.startswith(TASK_ROOT) else task_root
    if env.user is None:
        return rie.host_command(env.rie, env.plan.handler(env.spec), env.port, env.api_port), variables, cwd
    inner = rie.host_command(RIE_CONFINED, env.plan.handler(env.spec), env.port, env.api_port)
    binds = [(str(env.plan.task_root), TASK_ROOT), (str(env.rie), RIE_CONFINED)]
    limits = {"memory_mb": env.spec.memory, "cpus": cpus(env.spec.memory, os.cpu_count() or 1)}
    return namespaces.command(inner, uid=env.user, binds=binds, workdir=cwd, **limits), variables, "/"


def docker_command(env: Environment) -> tuple[list[str], None, None]:
    """Docker mode: the function's image with the RIE as entrypoint (SAM CLI's recipe), in its own network
    namespace where the RIE listens on ``env.port`` and ``env.api_port`` of the container's loopback
    (on Docker Desktop, which has no namespace to enter, the invoke port is published on the host's loopback)."""
    env.cidfile.parent.mkdir(parents=True, exist_ok=True)
    env.cidfile.unlink(missing_ok=True)
    options = ["--rm", "--name", env.container, "--cidfile", str(env.cidfile),
               "--label", f"{engine.LABEL_HOME}={env.home}", "--label", f"{engine.LABEL_INSTANCE}={env.instance}",
               "--label", f"localcloud.function={env.spec.name}",
               "--memory", f"{env.spec.memory}m", "--cpus", f"{cpus(env.spec.memory, engine.cpu_count()):g}",
               "--volume", f"{env.rie}:{RIE_IN_CONTAINER}:ro",
               # as on Lambda: a read-only file system but /tmp, a non-root user, no terminal
               "--read-only", "--tmpfs", f"/tmp:rw,size={TMP_MB}m,mode=1777", "--user", LAMBDA_USER,
               *engine.CONFINED, *engine.masked_volumes(env.plan.config.volumes)]
    if env.spec.workdir:
        options += ["--workdir", env.spec.workdir]
    for key, value in env.function_env().items():
        options += ["--env", f"{key}={value}"]
    return rie.docker_command(env.plan.docker_reference, env.plan.bootstrap(env.spec), env.port, env.api_port,
                              options=options, docker=engine.cli(), rie=RIE_IN_CONTAINER, host_network=False,
                              isolated=env.bridged, merge_output=True), None, None
