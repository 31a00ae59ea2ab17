"""Command line of the local AWS stand-in.

    python -m localcloud up       start it in the background (idempotent), wait until healthy
    python -m localcloud down     stop it and remove the containers it created
    python -m localcloud status   mode, components and per-function counters
    python -m localcloud logs [edge|registry|FUNCTION]
    python -m localcloud serve    run it in the foreground (what `up` starts)

A mistake or a missing prerequisite is one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from localcloud import process, settings

COUNTERS = ("environments_started", "cold_starts", "live_environments", "busy", "invocations", "throttles")


class UserError(Exception):
    """One line for the user, no traceback."""


def apply_options(args: argparse.Namespace) -> None:
    """Command-line options win over the environment (which the settings module reads)."""
    for name in ("port", "home", "mode"):
        value = getattr(args, name, None)
        if value is not None:
            os.environ[f"LOCALCLOUD_{name.upper()}"] = str(value)


def cmd_up(args: argparse.Namespace) -> int:
    port, home = settings.port(), settings.home()
    settings.mode(), settings.idle_timeout(), settings.max_concurrency()  # a bad value fails here, in one line
    already = process.current(home)
    if already and process.health(already.port):
        print(f"The local AWS stand-in is already running at {already.endpoint} ({already.mode} mode, pid {already.pid}).")
        return print_exports(already)
    print(f"Starting the local AWS stand-in on 127.0.0.1:{port} ", end="", flush=True)
    started = time.monotonic()
    try:
        instance = process.start(port, home, progress=lambda: print(".", end="", flush=True))
    except process.StartError as error:
        print()
        raise UserError(str(error)) from None
    print(f" ready in {time.monotonic() - started:.1f} s ({instance.mode} mode).")
    if instance.mode == "host" and settings.mode() == "auto":
        print("No Docker engine answered, so functions run as processes on this machine (host mode).")
    return print_exports(instance)


def print_exports(instance: process.Instance) -> int:
    print(f"Endpoint: {instance.endpoint}\nTo use it from a shell (AWS CLI, boto3, notebooks):")
    for key, value in instance.exports().items():
        print(f"  export {key}={value}")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    home = settings.home()
    if process.stop(home):
        print("Stopped the local AWS stand-in and removed its containers.")
    else:
        print(f"The local AWS stand-in is not running (LOCALCLOUD_HOME={home}).")
    return 0


def running_instance() -> process.Instance:
    instance = process.current(settings.home())
    if not instance or not process.health(instance.port):
        raise UserError("the local AWS stand-in is not running; start it with `python -m localcloud up`")
    return instance


def cmd_status(args: argparse.Namespace) -> int:
    status = running_instance().status()
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    print(f"localcloud at {status['endpoint']}: {status['mode']} mode, pid {status['pid']}, up {status['uptime_s']} s")
    for name, state in status["components"].items():
        print(f"  {name:<14} {state}")
    functions = status["functions"]
    if functions:
        print("functions:  " + "  ".join(f"{counter}" for counter in COUNTERS))
        for name, counters in functions.items():
            print(f"  {name}: " + "  ".join(f"{counter}={counters[counter]}" for counter in COUNTERS))
    return 0 if all(state == "healthy" for state in status["components"].values()) else 1


def cmd_logs(args: argparse.Namespace) -> int:
    home = settings.home()
    if args.component in ("edge", "registry"):
        path = home / "logs" / f"{args.component}.log"
        if not path.exists():
            raise UserError(f"no {args.component} log yet ({path})")
        print("\n".join(path.read_text(errors="replace").splitlines()[-args.lines:]))
        return 0
    from botocore.exceptions import ClientError
    logs = running_instance().client("logs", region=args.region or settings.default_region())
    try:
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{args.component}")["events"]
    except ClientError:
        raise UserError(f"no component or function called {args.component!r} (components: edge, registry)") from None
    for event in events[-args.lines:]:
        print(event["message"].rstrip("\n"))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .server import Prerequisite, serve
    try:
        serve()
    except (Prerequisite, settings.SettingError) as error:
        print(f"localcloud: error: {error}", flush=True)
        return 1
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m localcloud", description="The lab's local AWS stand-in.")
    commands = root.add_subparsers(dest="command", required=True)
    for name, function, summary in (("up", cmd_up, "start in the background and wait until healthy"),
                                    ("down", cmd_down, "stop and remove what up started"),
                                    ("status", cmd_status, "mode, components, per-function counters"),
                                    ("logs", cmd_logs, "show a component's or a function's log"),
                                    ("serve", cmd_serve, "run in the foreground")):
        command = commands.add_parser(name, help=summary)
        command.set_defaults(run=function)
        command.add_argument("--port", type=int, help="edge port (LOCALCLOUD_PORT, default 4566)")
        command.add_argument("--home", type=Path, help="state folder (LOCALCLOUD_HOME)")
        if name in ("up", "serve"):
            command.add_argument("--mode", choices=settings.MODES, help="LOCALCLOUD_MODE (default auto)")
        if name == "status":
            command.add_argument("--json", action="store_true", help="print the raw status document")
        if name == "logs":
            command.add_argument("component", nargs="?", default="edge", help="edge, registry or a function name")
            command.add_argument("--lines", type=int, default=50)
            command.add_argument("--region", help="region of the function (default LOCALCLOUD_DEFAULT_REGION)")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        apply_options(args)
        return args.run(args)
    except (UserError, settings.SettingError) as error:
        print(f"localcloud: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
