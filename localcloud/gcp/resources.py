"""Services and revisions in Cloud Run Admin API v2's JSON shape (camelCase, as the REST API sends).

A service is kept as the JSON document the API returns; what the runtime needs to run a
revision is read from its template once, into a :class:`RevisionSpec`. Defaults are Cloud
Run's: 80 concurrent requests per instance, 300 s request timeout, 1 vCPU and 512 MiB,
port 8080, at most 100 instances, none kept warm, a TCP startup probe of 240 s.

What Cloud Run refuses is refused here, with its words (:func:`normalized_template`,
:func:`validate_parent`): the variables of its container contract set by hand, memory outside
what the CPU allows, less than one CPU with concurrency above 1, malformed project ids and
locations.
"""

from __future__ import annotations

import copy
import datetime
import re
import secrets
import uuid
from dataclasses import dataclass

from .errors import GoogleError

DEFAULT_CONCURRENCY = 80
DEFAULT_TIMEOUT_S = 300
DEFAULT_MAX_INSTANCES = 100
DEFAULT_LIMITS = {"cpu": "1000m", "memory": "512Mi"}
DEFAULT_PORT = 8080
SERVICE_ID = re.compile(r"^[a-z](?:[a-z0-9-]{0,47}[a-z0-9])?$")
MEMORY_RANGE = (128 * 1024**2, 32 * 1024**3)  # Cloud Run's: 128Mi to 32Gi
WHOLE_CPUS = (1, 2, 4, 6, 8)  # or a fraction from 0.08 up to 1
MEMORY_UNITS = {"": 1, "k": 1000, "M": 1000**2, "G": 1000**3, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}
# https://cloud.google.com/run/docs/configuring/services/cpu: memory each CPU allows, (at least, at most) in MiB;
# below 1 CPU: up to 512 MiB, from 0.5 CPU up to 1 GiB
MEMORY_FOR_CPUS = {0.08: (128, 512), 0.5: (128, 1024), 1: (128, 4096), 2: (128, 8192), 4: (2048, 16384),
                   6: (4096, 24576), 8: (4096, 32768)}
# https://cloud.google.com/run/docs/container-contract: set by Cloud Run in every instance, refused in a template
RESERVED_ENV = ("PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION")
PROJECT_ID = re.compile(r"^(?:[a-z][a-z0-9-]{4,28}[a-z0-9]|[0-9]{1,20})$")  # an id, or a project number
LOCATION = re.compile(r"^[a-z]+-[a-z]+[0-9]{1,2}$")  # a region: asia-south1, northamerica-northeast1


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def seconds(duration: str | None, default: float) -> float:
    """``"300s"`` or ``"1.5s"`` (protobuf Duration in JSON) as seconds."""
    if not duration:
        return default
    match = re.fullmatch(r"(\d+(?:\.\d+)?)s", duration)
    if not match:
        raise GoogleError(400, f"Invalid duration '{duration}'")
    return float(match.group(1))


def memory_bytes(quantity: str) -> int:
    """``"512Mi"``, ``"1Gi"``, ``"1G"`` as bytes (Kubernetes quantities, as Cloud Run takes them)."""
    match = re.fullmatch(r"(\d+)(k|M|G|Ki|Mi|Gi)?", quantity or "")
    if not match:
        raise GoogleError(400, f"Invalid value specified for memory. For the specified value, '{quantity}', "
                               "the format must be a number followed by a unit such as Mi or Gi.")
    value = int(match.group(1)) * MEMORY_UNITS[match.group(2) or ""]
    if not MEMORY_RANGE[0] <= value <= MEMORY_RANGE[1]:  # "0" would be `docker run --memory 0`: no limit
        raise GoogleError(400, f"Invalid value specified for memory. For the specified value, '{quantity}', "
                               "memory must be between 128Mi and 32Gi inclusive.")
    return value


def cpus(quantity: str) -> float:
    """``"1"``, ``"2"`` or ``"1000m"`` as a number of vCPUs."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(m?)", quantity or "")
    if not match:
        raise GoogleError(400, f"Invalid value specified for cpu: '{quantity}'.")
    value = float(match.group(1)) / (1000 if match.group(2) else 1)
    if not (0.08 <= value < 1 or value in WHOLE_CPUS):  # "0" would be `docker run --cpus 0`: no limit
        raise GoogleError(400, f"Invalid value specified for cpu. For the specified value, '{quantity}', cpu must "
                               "be at least 0.08 and less than 1, or one of 1, 2, 4, 6, 8.")
    return value


@dataclass(frozen=True)
class RevisionSpec:
    """What the runtime needs to run one revision's instances."""

    service: str  # the service id (K_SERVICE, K_CONFIGURATION)
    revision: str  # the revision id (K_REVISION)
    image: str
    command: tuple[str, ...]
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    container_port: int
    memory_bytes: int
    cpus: float
    concurrency: int
    timeout_s: float
    min_instances: int
    max_instances: int
    startup_timeout_s: float


def validate_parent(parent: str) -> None:
    """Refuse ``projects/P/locations/L`` whose project id or location Google would not accept."""
    _, project, _, location = parent.split("/")[:4]
    if not PROJECT_ID.match(project):
        # Google's APIs answer a malformed project id with this ErrorInfo reason and message
        raise GoogleError(400, "Invalid resource field value in the request.", reason="RESOURCE_PROJECT_INVALID")
    if not LOCATION.match(location):
        raise GoogleError(400, f"Location '{location}' is not a valid location: Cloud Run's locations are "
                               "regions such as asia-south1 or us-central1.")


def check_reserved_env(container: dict) -> None:
    if given := [e.get("name") for e in container.get("env") or () if e.get("name") in RESERVED_ENV]:
        raise GoogleError(400, f"template.containers[0].env: The following reserved env names were provided: "
                               f"{', '.join(given)}. These values are automatically set by the system.")


def check_sizes(spec: RevisionSpec) -> None:
    """Cloud Run's rules tying memory to CPU, and CPU below 1 to concurrency 1."""
    if spec.cpus < 1 and spec.concurrency > 1:
        raise GoogleError(400, "template.containers.resources.limits.cpu: Invalid value specified for cpu. "
                               "Total cpu < 1 is not supported with concurrency > 1.")
    tier = max(cpus for cpus in MEMORY_FOR_CPUS if cpus <= spec.cpus)
    low, high = MEMORY_FOR_CPUS[tier]
    if not low * 1024**2 <= spec.memory_bytes <= high * 1024**2:
        raise GoogleError(400, f"template.containers.resources.limits.memory: Invalid value specified for memory. "
                               f"For {float(spec.cpus)} CPU, memory must be between {mebibytes(low)} and "
                               f"{mebibytes(high)} inclusive.")


def mebibytes(value: int) -> str:
    return f"{value // 1024}Gi" if value % 1024 == 0 else f"{value}Mi"


def validate_id(service_id: str) -> None:
    if not SERVICE_ID.match(service_id or ""):
        raise GoogleError(400, f"service_id '{service_id}' is invalid: it must use only lowercase alphanumeric "
                               "characters and dashes, begin with a letter, and be at most 49 characters long.")


def normalized_template(template: dict | None) -> dict:
    """The revision template with Cloud Run's defaults filled in (what GET returns)."""
    template = copy.deepcopy(template or {})
    containers = template.get("containers") or []
    if len(containers) != 1 or not containers[0].get("image"):
        raise GoogleError(400, "template.containers: exactly one container with an image is required")
    container = containers[0]
    check_reserved_env(container)
    container["resources"] = {**container.get("resources", {}),
                              "limits": {**DEFAULT_LIMITS, **(container.get("resources") or {}).get("limits", {})}}
    container.setdefault("ports", [{"name": "http1", "containerPort": DEFAULT_PORT}])
    template["timeout"] = template.get("timeout") or f"{DEFAULT_TIMEOUT_S}s"
    template["maxInstanceRequestConcurrency"] = template.get("maxInstanceRequestConcurrency") or DEFAULT_CONCURRENCY
    scaling = template.setdefault("scaling", {})
    scaling["maxInstanceCount"] = scaling.get("maxInstanceCount") or DEFAULT_MAX_INSTANCES
    spec = spec_of("s", "s-00001-abc", template)  # validates every value the runtime will read
    check_sizes(spec)
    if spec.min_instances > spec.max_instances:
        raise GoogleError(400, "min_instance_count must be less than or equal to max_instance_count")
    return template


def spec_of(service_id: str, revision_id: str, template: dict) -> RevisionSpec:
    container = template["containers"][0]
    limits = container["resources"]["limits"]
    probe = container.get("startupProbe") or {}
    # Cloud Run's default startup probe: TCP on the port, one attempt with a 240 s timeout.
    startup = (seconds(probe.get("timeoutSeconds") and f"{probe['timeoutSeconds']}s", 240)
               + seconds(probe.get("periodSeconds") and f"{probe['periodSeconds']}s", 240)
               * (int(probe.get("failureThreshold") or 1) - 1)) if probe else 240.0
    return RevisionSpec(
        service=service_id, revision=revision_id, image=container["image"],
        command=tuple(container.get("command") or ()), args=tuple(container.get("args") or ()),
        env=tuple((e["name"], e.get("value", "")) for e in container.get("env") or ()),
        container_port=int((container.get("ports") or [{}])[0].get("containerPort") or DEFAULT_PORT),
        memory_bytes=memory_bytes(limits["memory"]), cpus=cpus(limits["cpu"]),
        concurrency=int(template["maxInstanceRequestConcurrency"]),
        timeout_s=seconds(template["timeout"], DEFAULT_TIMEOUT_S),
        min_instances=int(template["scaling"].get("minInstanceCount") or 0),
        max_instances=int(template["scaling"]["maxInstanceCount"]), startup_timeout_s=startup)


def new_service(name: str, body: dict, uri: str) -> dict:
    """The document of a service just created (generation 1), before its first revision is ready."""
    stamp = now()
    return {**{k: v for k, v in body.items() if k in ("description", "labels", "annotations", "ingress",
                                                      "launchStage", "client", "clientVersion")},
            "name": name, "uid": str(uuid.uuid4()), "generation": "0", "createTime": stamp,
            "creator": "localcloud", "lastModifier": "localcloud", "uri": uri, "urls": [uri],
            "ingress": body.get("ingress") or "INGRESS_TRAFFIC_ALL", "launchStage": body.get("launchStage") or "GA",
            "traffic": [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100}]}


def next_generation(service: dict, body: dict) -> tuple[dict, str]:
    """The service with ``body``'s template applied, one generation later, and the new revision's id."""
    service = {**service, **{k: v for k, v in body.items() if k in ("description", "labels", "annotations")}}
    generation = int(service["generation"]) + 1
    service_id = service["name"].rsplit("/", 1)[1]
    template = normalized_template(body.get("template"))
    revision = template.get("revision") or f"{service_id}-{generation:05d}-{secrets.token_hex(2)[:3]}"
    return {**service, "template": template, "generation": str(generation), "updateTime": now(),
            "reconciling": True, "etag": f'"{secrets.token_hex(8)}"', "latestCreatedRevision": revision_name(
                service["name"], revision)}, revision


def revision_name(service_name: str, revision_id: str) -> str:
    return f"{service_name}/revisions/{revision_id}"


def condition(state: str, message: str = "", type_: str = "Ready") -> dict:
    return {"type": type_, "state": state, "lastTransitionTime": now(), **({"message": message} if message else {})}


def revision_document(service: dict, revision_id: str, ready: dict) -> dict:
    """A revision as ``RevisionsClient.get_revision`` returns it."""
    template = service["template"]
    return {"name": revision_name(service["name"], revision_id), "uid": str(uuid.uuid4()),
            "generation": "1", "createTime": now(), "service": service["name"],
            "scaling": template["scaling"], "containers": template["containers"],
            "maxInstanceRequestConcurrency": template["maxInstanceRequestConcurrency"],
            "timeout": template["timeout"], "launchStage": service.get("launchStage", "GA"),
            "conditions": [ready], "observedGeneration": "1",
            "reconciling": ready["state"] == "CONDITION_PENDING"}
