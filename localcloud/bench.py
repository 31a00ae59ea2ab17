"""Benchmark: what the edge and the gateway add to a warm invoke, and what a cold start costs.

    python -m localcloud.bench [--mode host|docker|both] [--calls 500] [--colds 5]

Starts its own stand-in (free port, temporary home), deploys a trivial handler and, in
one run, interleaves warm calls on the same execution environment three ways, each over one
keep-alive ``http.client`` connection: straight to the environment's RIE (through its forwarder's
unix socket, the way the edge reaches it), through the edge's Lambda Invoke API, and through an
HTTP API route. Then forces cold starts by
updating the configuration. Targets: edge <= 1.0 ms and gateway + edge <= 1.5 ms over
the direct RIE call, at p50. A script, not a test: it takes minutes.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import requests

from lambda_rie.run import INVOKE_PATH
from localcloud import engine, process
from localcloud.bridge import UnixHTTPConnection

HANDLER = '''def handler(event, context):
    return {"statusCode": 200, "body": "ok"}
'''
BASE_IMAGE = "public.ecr.aws/lambda/python:3.11"
TARGETS = {"Lambda Invoke via edge": 1.0, "HTTP API via edge": 1.5}


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def deploy(cloud: process.Instance, mode: str, code: Path) -> tuple[str, str]:
    """A function and an HTTP API for it; returns (function name, API URL)."""
    cloud.client("ecr").create_repository(repositoryName="bench")
    if mode == "docker":
        uri = f"127.0.0.1:{cloud.port}/bench:v1"
        (code / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\nCOPY app.py ${{LAMBDA_TASK_ROOT}}/\nCMD [\"app.handler\"]\n")
        for command in (["build", "--network", "host", "--quiet", "--tag", uri, str(code)], ["push", "--quiet", uri]):
            engine.run(command, timeout=600)
    else:
        uri = cloud.push_folder(code, "bench", "v1").json()["imageUri"]
    role = cloud.client("iam").create_role(RoleName="bench", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = cloud.client("lambda")
    arn = lam.create_function(FunctionName="bench", PackageType="Image", Code={"ImageUri": uri}, Role=role,
                              MemorySize=128, Timeout=10)["FunctionArn"]
    lam.get_waiter("function_active_v2").wait(FunctionName="bench", WaiterConfig={"Delay": 0.2})
    gateway = cloud.client("apigatewayv2")
    api = gateway.create_api(Name="bench", ProtocolType="HTTP")
    target = gateway.create_integration(ApiId=api["ApiId"], IntegrationType="AWS_PROXY", IntegrationUri=arn,
                                        PayloadFormatVersion="2.0")
    gateway.create_route(ApiId=api["ApiId"], RouteKey="POST /bench", Target=f"integrations/{target['IntegrationId']}")
    gateway.create_stage(ApiId=api["ApiId"], StageName="$default", AutoDeploy=True)
    lam.add_permission(FunctionName="bench", StatementId="api", Action="lambda:InvokeFunction",
                       Principal="apigateway.amazonaws.com", SourceArn=f"arn:aws:execute-api:us-east-1:123456789012:{api['ApiId']}/*")
    return "bench", api["ApiEndpoint"] + "/bench"


class _Answer:
    def __init__(self, status_code: int, text: str):
        self.status_code, self.text = status_code, text


def poster(address: str):
    """A function that POSTs ``{}`` to ``address`` (``unix:SOCKET`` then a path, or an ``http://`` URL) over one
    keep-alive ``http.client`` connection, the same client for every path measured."""
    if address.startswith("unix:"):
        socket_path, target = address.removeprefix("unix:").split(" ", 1)
        connection = UnixHTTPConnection(socket_path, timeout=30)
    else:
        url = urllib.parse.urlsplit(address)
        connection, target = http.client.HTTPConnection(url.hostname, url.port, timeout=30), url.path

    def post() -> _Answer:
        connection.request("POST", target, body=b"{}", headers={"Content-Type": "application/json"})
        answer = connection.getresponse()
        return _Answer(answer.status, answer.read().decode("utf-8", "replace"))
    return post


def measure(cloud: process.Instance, name: str, api_url: str, calls: int, colds: int) -> dict[str, list[float]]:
    invoke_url = f"{cloud.endpoint}/2015-03-31/functions/{name}/invocations"
    session = requests.Session()
    for _ in range(50):  # warm up: one environment, connections open
        assert session.post(api_url, data=b"{}").status_code == 200
    rie = cloud.status()["functions"][name]["environments"][0]["rie"]
    rie = f"{rie} {INVOKE_PATH}" if rie.startswith("unix:") else rie + INVOKE_PATH
    paths = {"RIE direct": poster(rie), "Lambda Invoke via edge": poster(invoke_url),
             "HTTP API via edge": poster(api_url)}
    samples: dict[str, list[float]] = {label: [] for label in paths}
    for _ in range(calls):
        for label, post in paths.items():
            started = time.perf_counter()
            answer = post()
            samples[label].append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, (label, answer.status_code, answer.text)
    lam = cloud.client("lambda")
    samples["boto3 lambda.invoke via edge"] = []
    for _ in range(min(calls, 200)):
        started = time.perf_counter()
        lam.invoke(FunctionName=name, Payload=b"{}")
        samples["boto3 lambda.invoke via edge"].append((time.perf_counter() - started) * 1000)
    samples["cold start, round trip"], samples["cold start, Init Duration"] = [], []
    for index in range(colds):
        lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"BENCH_RUN": str(index)}})
        lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2})
        started = time.perf_counter()
        answer = lam.invoke(FunctionName=name, Payload=b"{}", LogType="Tail")
        samples["cold start, round trip"].append((time.perf_counter() - started) * 1000)
        init = re.search(r"Init Duration: ([\d.]+) ms", base64.b64decode(answer["LogResult"]).decode())
        samples["cold start, Init Duration"].append(float(init.group(1)))
    return samples


def report(mode: str, samples: dict[str, list[float]]) -> str:
    direct = percentile(samples["RIE direct"], 0.5)
    lines = [f"mode: {mode}  ({len(samples['RIE direct'])} warm calls per path, {len(samples['cold start, round trip'])} "
             f"cold starts, {os.cpu_count()} CPUs, Python {sys.version.split()[0]})",
             f"{'path':<32}{'p50 ms':>9}{'p95 ms':>9}{'+p50 vs RIE':>13}  target"]
    for label, values in samples.items():
        p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
        extra = f"{p50 - direct:+.2f}" if label in TARGETS or label.startswith("boto3") else ""
        verdict = ""
        if label in TARGETS:
            verdict = f"<= {TARGETS[label]:.1f} ms: {'met' if p50 - direct <= TARGETS[label] else 'MISSED'}"
        lines.append(f"{label:<32}{p50:>9.2f}{p95:>9.2f}{extra:>13}  {verdict}")
    return "\n".join(lines)


def run(mode: str, calls: int, colds: int) -> str:
    with tempfile.TemporaryDirectory(prefix="localcloud-bench-") as folder, process.running(mode=mode) as cloud:
        code = Path(folder) / "code"
        code.mkdir()
        (code / "app.py").write_text(HANDLER)
        name, api_url = deploy(cloud, mode, code)
        text = report(mode, measure(cloud, name, api_url, calls, colds))
    if mode == "docker":  # once the stand-in and its containers are gone
        subprocess.run([engine.cli(), "rmi", f"127.0.0.1:{cloud.port}/bench:v1"], capture_output=True)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localcloud.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("host", "docker", "both"), default="both")
    parser.add_argument("--calls", type=int, default=500, help="warm calls per path (default 500)")
    parser.add_argument("--colds", type=int, default=5, help="cold starts (default 5)")
    args = parser.parse_args(argv)
    modes = ["host", "docker"] if args.mode == "both" else [args.mode]
    if "docker" in modes and (not engine.available() or engine.image_config(BASE_IMAGE) is None):
        if args.mode == "docker":
            print(f"localcloud.bench: docker mode needs a Docker engine and the {BASE_IMAGE} image", file=sys.stderr)
            return 1
        modes.remove("docker")
    try:
        for mode in modes:
            print(run(mode, args.calls, args.colds), end="\n\n", flush=True)
    except process.StartError as error:
        print(f"localcloud.bench: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
