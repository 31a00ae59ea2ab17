"""Step 9: the same model on Google Cloud Run: build, push, deploy, call, delete.

    python -m lab_solution.cloudrun            # build, push, deploy (create or update), open it, call it
    python -m lab_solution.cloudrun --delete   # delete the service

The chapter deploys with two commands; this module makes the same calls from Python:

    gcloud builds submit --tag IMAGE          ->  labkit.gcp.stage, build and push (Docker, here)
    gcloud run deploy SERVICE --image IMAGE --region asia-south1 --memory 1Gi --cpu 1 \\
        --min-instances 0 --max-instances 10 --allow-unauthenticated
                                              ->  service_spec(), deploy(), gcp.allow_unauthenticated()

Unlike Lambda, one Cloud Run instance serves up to ``concurrency`` requests at once (80 by default).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from google.api_core import exceptions
from google.cloud import run_v2

from labkit import config, gcp
from labkit.config import Settings
from labkit.errors import run_cli

CODE_DIR = Path(__file__).resolve().parent  # this folder's app.py answers inside the container
# The chapter's flags: --memory 1Gi --cpu 1 --min-instances 0 --max-instances 10 (and Cloud Run's default concurrency)
MEMORY, CPU, MIN_INSTANCES, MAX_INSTANCES, CONCURRENCY = "1Gi", "1", 0, 10, 80


def service_spec(settings: Settings, image: str, *, min_instances: int = MIN_INSTANCES,
                 max_instances: int = MAX_INSTANCES, concurrency: int = CONCURRENCY) -> run_v2.Service:
    """The service ``gcloud run deploy`` describes: one container, its limits and its scaling bounds."""
    container = run_v2.Container(image=image, ports=[run_v2.ContainerPort(container_port=8080)],
                                 resources=run_v2.ResourceRequirements(limits={"memory": MEMORY, "cpu": CPU}))
    return run_v2.Service(labels=dict(settings.tags), template=run_v2.RevisionTemplate(
        containers=[container], max_instance_request_concurrency=concurrency,
        scaling=run_v2.RevisionScaling(min_instance_count=min_instances, max_instance_count=max_instances)))


def deploy(settings: Settings, service: run_v2.Service) -> run_v2.Service:
    """Create the service, or update it when it exists, and wait until its new revision serves.

    Returns:
        the ready service (``uri`` is its URL, ``latest_ready_revision`` the revision serving it).
    """
    client = gcp.services_client(settings)
    with gcp.explained(settings, f"deploying Cloud Run service {settings.cloud_run_service}"):
        # BEGIN SOLUTION: client.create_service(parent=gcp.parent(settings), service=service, service_id=settings.cloud_run_service); if it exists (exceptions.Conflict), set service.name = gcp.service_name(settings) and client.update_service(service=service); wait with .result(timeout=gcp.DEPLOY_TIMEOUT_S).
        try:
            operation = client.create_service(parent=gcp.parent(settings), service=service,
                                              service_id=settings.cloud_run_service)
        except exceptions.Conflict:  # 409: it exists, so roll out a new revision instead
            service.name = gcp.service_name(settings)
            operation = client.update_service(service=service)
        return operation.result(timeout=gcp.DEPLOY_TIMEOUT_S)
        # END SOLUTION


def delete(settings: Settings) -> bool:
    """Delete the service; returns False when there was none."""
    client = gcp.services_client(settings)
    with gcp.explained(settings, f"deleting Cloud Run service {settings.cloud_run_service}"):
        try:
            client.delete_service(name=gcp.service_name(settings)).result(timeout=gcp.DEPLOY_TIMEOUT_S)
        except exceptions.NotFound:
            return False
    return True


def publish(settings: Settings, **scaling) -> run_v2.Service:
    """Build, push and deploy the container, and let anyone call it (``--allow-unauthenticated``)."""
    context = gcp.stage(settings, CODE_DIR)
    image = gcp.push(settings, gcp.build(settings, context))
    service = deploy(settings, service_spec(settings, image, **scaling))
    gcp.allow_unauthenticated(settings)
    return service


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab_solution.cloudrun", description=__doc__.splitlines()[0])
    parser.add_argument("--delete", action="store_true", help="delete the service instead of deploying it")
    args = parser.parse_args(argv)
    settings = config.load()
    if args.delete:
        print(f"deleted {settings.cloud_run_service}" if delete(settings) else f"no service {settings.cloud_run_service}")
        return 0
    service = publish(settings)
    print(f"{service.name} serves revision {service.latest_ready_revision.rsplit('/', 1)[1]} at {service.uri}")
    status, body, elapsed, cold = gcp.call(service.uri, config.SETOSA)
    print(f"POST {service.uri}/predict -> {status} in {elapsed:.0f} ms (cold start: {cold}): {body}")
    return 0 if status == 200 else 1


if __name__ == "__main__":
    run_cli(lambda: main(sys.argv[1:]))
