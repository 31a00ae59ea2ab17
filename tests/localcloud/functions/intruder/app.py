"""Tries what a workload must not be able to do, and reports what it got; it never raises.

The event says what to try (every key optional):

- ``connect``: ``[[host, port], ...]``, TCP connections to open (the edge, a server of the host's, another
  workload); each is reported ``"connected"`` or the error's name;
- ``edge``: GET ``$AWS_ENDPOINT_URL/_localcloud/status`` (the stand-in's own API), reported as status or error;
- ``setuid``: a program to run as ``PROGRAM -c CODE`` that reports its effective user id and whether it may
  open a raw socket (a setuid-root interpreter in the image);
- ``linger``: a marker; starts ``python -c 'sleep' MARKER`` in a session of its own (``setsid``), which must
  end with the environment;
- ``write``: a path to create (a VOLUME of the image, say).

It always reports its own ids, capabilities, ``NoNewPrivs``, a raw socket attempt and its network interfaces.
"""

import json
import os
import socket
import subprocess
import sys
import urllib.request

RAW_PROBE = ("import json, os, socket\nresult = {'euid': os.geteuid()}\ntry:\n"
             "    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()\n"
             "    result['raw_socket'] = 'opened'\nexcept OSError as error:\n"
             "    result['raw_socket'] = type(error).__name__\nprint(json.dumps(result))")


def status_fields(*names):
    with open("/proc/self/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    return {name: fields.get(name, "").strip() for name in names}


def attempt(action):
    try:
        return action()
    except Exception as error:  # the point is to report, not to fail
        return type(error).__name__


def connect(host, port):
    socket.create_connection((host, port), timeout=2).close()
    return "connected"


def edge():
    with urllib.request.urlopen(os.environ["AWS_ENDPOINT_URL"] + "/_localcloud/status", timeout=2) as answer:
        return answer.status


def raw_socket():
    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
    return "opened"


def setuid(program):
    done = subprocess.run([program, "-c", RAW_PROBE], capture_output=True, text=True, timeout=30)
    return json.loads(done.stdout) if done.returncode == 0 else done.stderr[-300:]


def linger(marker):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)", marker], start_new_session=True,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return child.pid


def write(path):
    with open(path, "w") as handle:
        handle.write("left behind")
    return "written"


def interfaces():
    return sorted(name for _, name in socket.if_nameindex())


def handler(event, context):
    report = {"uid": os.getuid(), "euid": os.geteuid(),
              **status_fields("CapEff", "CapBnd", "NoNewPrivs"),
              "raw_socket": attempt(raw_socket), "interfaces": attempt(interfaces),
              "connect": [attempt(lambda address=address: connect(*address)) for address in event.get("connect", [])]}
    if event.get("edge"):
        report["edge"] = attempt(edge)
    if event.get("setuid"):
        report["setuid"] = attempt(lambda: setuid(event["setuid"]))
    if event.get("linger"):
        report["linger"] = attempt(lambda: linger(event["linger"]))
    if event.get("write"):
        report["write"] = attempt(lambda: write(event["write"]))
    return report
