"""Grade one submission of a class: drive its own code through the lab in notebook order, grading each step.

Runs in a worker process of its own (:mod:`checks.classroom.worker`). The grader owns the driver: each
notebook's deployment cells run as one question to a sandboxed child of its own (:mod:`checks.probes.drive`),
never in this interpreter, and each step is then graded exactly as ``python -m checks`` grades it
(:func:`checks.runner.run_steps`), against what the submission's code left:

- ``code`` mode, steps 1-3: the submission's ``train()`` trains the model the grader keeps; steps 1-3 are graded
  (step 3 builds the submission's Dockerfile where Docker runs, inside a class build slot).
- ``deploy`` mode, steps 1-9, in a private stand-in (:func:`localcloud.process.running`: a free port, a home folder
  in this submission's work folder, Cloud Run instances given :data:`RUN_STARTUP_SECONDS` to listen) under a
  resource prefix of the grader's choosing (``LAB_NAME``):
  train, then stage and publish (notebooks 03-04), the role and function (05), the API (06), the latency
  measurement (07, alone in the class: :meth:`~checks.classroom.locks.ClassLocks.alone`), the cleanup (08).
  With Docker (``docker`` not ``off``: :func:`checks.classroom.cli.deploy_docker`) the stand-in runs in Docker
  mode: notebook 04's push goes through the submission's own :class:`~checks.sandbox.dockergate.DockerGate`,
  step 9's image is built and pushed as notebook 09 would (:mod:`checks.classroom.built`, in a build slot),
  and every image name of the run is removed afterwards. In host mode step 3's image and step 9's cloud checks
  are skipped, for every student alike. The stand-in is stopped and its home removed afterwards, whatever
  happened. Every sandboxed child that needs
  the cloud (a driven step, or a step's grading) reaches exactly this stand-in's port and nothing else of the
  host's loopback (:class:`checks.sandbox.tunnel.Tunnel`), and no child sees another submission's folders
  (:func:`checks.sandbox.confine.confine`).

Every sandboxed call and every step has a budget taken from what is left of the submission's cap (time spent
waiting for the class's locks excepted); past the cap the driver stops with :class:`CapReached`.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import json
import shutil
import time
from pathlib import Path

from labkit import config, images

from .. import cases
from ..context import Context
from ..report import Report
from ..runner import run_steps
from ..sandbox import dockergate, spawn
from . import built
from .locks import ClassLocks, Lease

CODE_STEPS, DEPLOY_STEPS = (1, 2, 3), (1, 2, 3, 4, 5, 6, 7, 8, 9)
DRIVE_SECONDS = 120  # each driven notebook step; the reference's slowest, step 7's 30 requests, takes about 10 s in a class
DRIVEN_BEFORE = {1: "train", 4: "publish", 5: "function", 6: "gateway", 7: "latency", 8: "cleanup"}  # notebook order
KEPT = {"train": ("model", ("model.joblib", "metadata.json")),
        "latency": ("latency", ("samples.csv", "summary.json", "latency.png"))}
RUN_STARTUP_SECONDS = 60  # a Cloud Run instance's time to listen (Cloud Run's default probe: 240 s; the reference: a few)
SPAWN_SLACK = 15  # an interpreter's start and imports, beyond the call's own budget


class CapReached(Exception):
    """The submission used up its cap; the message is its NOT GRADED reason."""


class Budget:
    """What is left of a submission's cap, not counting the time it waited for the class's locks."""

    def __init__(self, cap: float, locks: ClassLocks):
        self.cap, self.locks, self.started = cap, locks, time.monotonic()

    def left(self) -> float:
        return self.cap - (time.monotonic() - self.started - self.locks.waited)

    def bound(self, seconds: float, where: str) -> float:
        left = self.left()
        if left < 3:
            raise CapReached(f"NOT GRADED: ran past its {self.cap:.0f} s cap ({where})")
        return min(seconds, left)


def grade(job: dict) -> dict:
    """The record of one submission (:mod:`checks.classroom`), ``job`` being what the batch wrote for it."""
    cases.use_seed(job["seed"])
    work = Path(job["work"])
    locks = ClassLocks(Path(job["locks"]), job.get("build_slots", 1), Path(job["wait_file"]))
    budget = Budget(job["cap"], locks)
    steps = DEPLOY_STEPS if job["mode"] == "deploy" else CODE_STEPS
    graded = Graded(job, locks, budget)
    if job["mode"] != "deploy":
        return graded.run(steps, settings(job, endpoint=None))
    from localcloud import process

    home, lab = work / "cloud", None
    try:
        seeded = {"registry_seed": job["registry_seed"]} if job.get("registry_seed") else {}
        with process.running(home=home, mode="host" if job["docker"] == "off" else "docker",
                             run_startup_limit=RUN_STARTUP_SECONDS, **seeded) as cloud:
            lab = settings(job, endpoint=cloud.endpoint)
            return graded.run(steps, lab)
    finally:
        if lab is not None and job["docker"] != "off":  # once the stand-in's containers are gone with it
            built.remove(lab.name, lab.endpoint_host)
        shutil.rmtree(home, ignore_errors=True)


def settings(job: dict, endpoint: str | None) -> config.Settings:
    environ = {"LAB_TARGET": "local", "LAB_DOCKER": job["docker"], "LAB_NAME": job["name"], "LAB_LANG": job["lang"]}
    if endpoint:
        environ["LAB_ENDPOINT_URL"] = endpoint
    return config.load(environ, code=job["code"], build_dir=Path(job["work"]) / "build")


class Graded:
    """One submission's run: its steps driven and graded in order, the results gathered into one report."""

    def __init__(self, job: dict, locks: ClassLocks, budget: Budget):
        self.job, self.locks, self.budget = job, locks, budget
        self.report = Report([], {}, lang=job["lang"])
        self.seconds: dict[str, float] = {}
        self.driven: dict[str, str] = {}
        self.past_lease: set[int] = set()

    def run(self, steps: tuple[int, ...], lab: config.Settings) -> dict:
        ctx = Context(lab)
        for number in steps:
            started = time.monotonic()
            waited = self.locks.waited
            alone = self.locks.alone() if number == 7 else contextlib.nullcontext()
            building = self.locks.building() if number == 3 and lab.docker != "off" else contextlib.nullcontext()
            with alone as measuring, building as first:
                if number in DRIVEN_BEFORE:
                    self.drive(DRIVEN_BEFORE[number], ctx)
                if number == 9 and lab.docker != "off" and self.job["mode"] == "deploy":
                    with self.locks.building() as second:
                        self.driven["service"] = built.publish_service(ctx) or "ok"
                    self.note_lease(number, second)
                self.grade_step(number, ctx)
            self.note_lease(number, measuring)
            self.note_lease(number, first)
            self.seconds[str(number)] = round(time.monotonic() - started - (self.locks.waited - waited), 2)
        return {**json.loads(self.report.to_json()), "status": "graded", "reason": None,
                "step_seconds": self.seconds, "latency": latency(lab.latency_dir / "samples.csv")
                if self.job["mode"] == "deploy" else None, "driven": self.driven, "past_lease": sorted(self.past_lease)}

    def note_lease(self, number: int, lease: Lease | None) -> None:
        """A step whose class lock was let go before it ended ran beside the class from then on."""
        if lease is not None and lease.expired:
            self.past_lease.add(number)

    def drive(self, op: str, ctx: Context) -> None:
        """One notebook's deployment cells, with the submission's code, in a fresh sandboxed child."""
        seconds = self.budget.bound(self.job.get("step_timeout") or DRIVE_SECONDS, f"notebook step {op}")
        request = {"ops": [op], "seconds": seconds}
        lab = ctx.settings
        if op == "publish":
            model = lab.model_dir / "model.joblib"
            request["model"] = base64.b64encode(model.read_bytes()).decode() if model.is_file() else ""
        environ = {**lab.environment(), "LAB_CODE": "exercises", "LAB_BUILD_DIR": "/nonexistent"}  # the child's own
        isolation = self.job["isolation"] if op == "train" else "process"
        with self.docker_for(op, ctx) as sockets:
            if sockets:
                environ["DOCKER_HOST"] = f"tcp://127.0.0.1:{dockergate.PORT}"
            outcome = spawn.run_probe("drive", request, ctx.submission_files(), timeout=seconds + SPAWN_SLACK,
                                      network=op != "train", isolation=isolation, environ=environ, reach=ctx.reach(),
                                      sockets=sockets)
        answer = outcome.records.get(op)
        took = f" ({outcome.elapsed_s:.1f} s)"
        if not isinstance(answer, dict):
            self.driven[op] = f"error: {outcome.problem or 'no answer'}"[:300] + took
            return
        self.driven[op] = ("ok" if "error" not in answer else f"error: {answer['error']}"[:300]) + took
        if op in KEPT and isinstance(answer.get("files"), dict):
            folder, names = KEPT[op]
            keep(answer["files"], getattr(lab, f"{folder}_dir"), names)

    @contextlib.contextmanager
    def docker_for(self, op: str, ctx: Context):
        """``{port: socket}`` of the Docker a driven step may use: for notebook 04 with Docker, a gate that lets the
        submission's ``push()`` tag and push the image of its own Dockerfile (named here); else none."""
        lab = ctx.settings
        if op != "publish" or lab.docker == "off":
            yield None
            return
        built.name(ctx)
        with dockergate.DockerGate(images.local_tag(lab), lab.endpoint_host) as gate:
            yield {dockergate.PORT: gate.path}

    def grade_step(self, number: int, ctx: Context) -> None:
        limit = self.job.get("step_timeout")
        left = self.budget.bound(limit or 900, f"grading step {number}")
        timeout = limit if limit and limit <= left else (left if left < 300 else None)
        graded = run_steps([number], ctx, isolation=self.job["isolation"], step_timeout=timeout)
        self.report.results += graded.results
        self.report.titles.update(graded.titles)
        self.report.isolation.update(graded.isolation)


def keep(files: dict, folder: Path, names: tuple[str, ...]) -> None:
    """The files a driven step returned, written where the grader keeps them (only the names it expects)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        data = files.get(name)
        if isinstance(data, str):
            with contextlib.suppress(ValueError):
                (folder / name).write_bytes(base64.b64decode(data, validate=True))


def latency(samples: Path) -> dict | None:
    """The submission's own measurement, as the grader read it: client latencies (ms) of cold and warm requests."""
    if not samples.is_file():
        return None
    try:
        with samples.open() as handle:
            rows = list(csv.DictReader(handle))
        cold = [float(r["latency_ms"]) for r in rows if int(r["position"]) == 1]
        warm = [float(r["latency_ms"]) for r in rows if int(r["position"]) > 1]
    except (ValueError, KeyError, TypeError):
        return None
    return {"cold_ms": cold, "warm_ms": warm}
