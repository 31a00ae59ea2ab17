"""Helpers for the Cloud Run tests: the Service a `gcloud run deploy` sends, IAM, the stand-in's counters."""

from __future__ import annotations

import subprocess

import requests
from google.cloud import run_v2

PROJECT, REGION = "lc-tests", "asia-south1"
PARENT = f"projects/{PROJECT}/locations/{REGION}"
IDLE_TIMEOUT_S = 3  # the stand-in's LOCALCLOUD_RUN_IDLE_TIMEOUT in these tests: scale to zero after 3 s idle


def run(*command: str, timeout: float = 600) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(command)}: {done.stderr.strip()[-2000:]}"
    return done.stdout


def service(image: str, *, concurrency: int = 0, max_instances: int = 0, min_instances: int = 0,
            timeout_s: int = 0, command: list[str] | None = None, startup_s: int = 0) -> run_v2.Service:
    """A Service as `gcloud run deploy` would send it; zero means Cloud Run's default."""
    container = run_v2.Container(image=image, command=command or [],
                                 resources=run_v2.ResourceRequirements(limits={"memory": "256Mi", "cpu": "1"}))
    if startup_s:
        container.startup_probe = run_v2.Probe(tcp_socket=run_v2.TCPSocketAction(), timeout_seconds=1,
                                               period_seconds=1, failure_threshold=startup_s)
    template = run_v2.RevisionTemplate(
        containers=[container], max_instance_request_concurrency=concurrency,
        scaling=run_v2.RevisionScaling(min_instance_count=min_instances, max_instance_count=max_instances))
    if timeout_s:
        template.timeout = {"seconds": timeout_s}
    return run_v2.Service(template=template)


def public(services: run_v2.ServicesClient, name: str) -> None:
    """What --allow-unauthenticated does: allUsers as roles/run.invoker."""
    policy = services.get_iam_policy(request={"resource": name})
    policy.bindings.add(role="roles/run.invoker", members=["allUsers"])
    services.set_iam_policy(request={"resource": name, "policy": policy})


def counters(cloud, service_name: str) -> dict:
    return requests.get(f"{cloud.endpoint}/_localcloud/status", timeout=10).json()["cloud_run"].get(
        service_name.rsplit("/", 1)[1], {})
