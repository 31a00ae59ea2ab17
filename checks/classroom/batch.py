"""Grade a class: snapshot each submission, reuse what is already graded, grade the rest in parallel, within caps.

- **Resume**: a submission whose record has the same key (:func:`checks.classroom.record.key`: content hash,
  grader version, mode, environment) is not graded again, unless ``force``; ``only`` limits the run to some
  students. A regrade keeps the record it replaces (``DIR/history/``) and reuses its seed, so a regrade after a
  grader fix asks the same questions, and :func:`changed` says who changed.
- **Parallelism**: ``jobs`` workers (:mod:`.worker`, one process per submission), the class's locks shared
  through files (:mod:`.locks`). Each worker has a wall-clock cap; past ``cap`` + its lock waits + a grace, the
  batch kills it and everything below it (the batch is a child subreaper, so nothing escapes by leaving its
  session), stops its stand-in, and records ``NOT GRADED: ran past its … cap``. Nothing a submission does
  stops the batch; a work folder per submission, removed afterwards, holds its copy, build and stand-in.
- **Fairness**: a check that cannot run on this machine is skipped for everyone (:func:`align`); then every
  graded student must share one denominator, one way of running the code and one set of skipped checks
  (:func:`environment_problems`); otherwise the class has an environment problem, reported as such, never as
  different scores.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from labkit.config import REPO_ROOT

from ..framework import STEP_MODULES
from ..sandbox import confine, forkserver, reaper
from . import record, seed, sources
from .sources import Submission

GRACE_S = 60  # past the cap, for the worker's own tidying up (its stand-in's stop)
POLL_S = 0.25
FORKSERVER = "forkserver.sock"  # in the work folder: the workers' shared fork server
WORKER = "import sys; from checks.classroom.worker import main; sys.exit(main([{spec!r}]))"  # a worker's program
WORKER_PRELOAD = ("checks.classroom.worker", "checks.runner", "checks.framework", "checks.cases", "boto3",
                  *(f"checks.{module}" for module in STEP_MODULES))


@dataclass
class Options:
    out: Path
    mode: str = "code"
    jobs: int = 1
    cap: float = 300.0
    due: datetime | None = None
    only: tuple[str, ...] = ()
    force: bool = False
    step_timeout: float | None = None
    docker: str = "off"  # "auto": step 3 builds images; in deploy mode, Docker-mode stand-ins too (cli.deploy_docker)
    isolation: str = "process"
    lang: str = "bn"
    progress: bool = True


@dataclass
class Outcome:
    records: list[dict] = field(default_factory=list)  # every student of the class (reused ones included)
    graded: list[str] = field(default_factory=list)  # ids graded in this run
    reused: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # one line per student a regrade changed
    replaced: dict[str, dict] = field(default_factory=dict)  # id -> the record a regrade replaced
    problems: list[str] = field(default_factory=list)  # environment problems (fairness)
    seed: str | None = None  # what the Docker-mode stand-ins were seeded with (:mod:`.seed`), or why not
    seconds: float = 0.0


def default_jobs(mode: str) -> int:
    """Workers for this machine, as memory allows (a deploy-mode worker runs a stand-in too): one per core in code
    mode, which keeps the cores busy; one more in deploy mode, whose workers also wait (for the engine, the stand-in,
    cold starts, the class's locks), as measured (the README's throughput table)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    wanted = cores + 1 if mode == "deploy" else cores
    with contextlib.suppress(OSError, ValueError, IndexError):
        available_gb = int(Path("/proc/meminfo").read_text().split("MemAvailable:")[1].split()[0]) / 1e6
        return max(1, min(wanted, int(available_gb // (2.5 if mode == "deploy" else 1.5))))
    return max(1, wanted)


def environment(options: Options) -> dict:
    return {"docker": options.docker, "isolation": options.isolation}


def work_prefix(out: Path) -> str:
    """The name its work folder (in the system's temporary folder) starts with: one per output folder, so the
    folders, workers and stand-ins of one class run are told apart from another's."""
    return "lab-class-" + hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:8]


def run(submissions: list[Submission], options: Options) -> Outcome:
    started = time.monotonic()
    out = options.out
    (out / "students").mkdir(parents=True, exist_ok=True)
    reaper.become_subreaper()
    before = set(reaper.children())  # the caller's own children: never the batch's to kill
    work = Path(tempfile.mkdtemp(prefix=f"{work_prefix(out)}-"))
    outcome = Outcome()
    version = record.grader_version()
    shared = shared_forkserver(work)
    workers = forkserver.Server.start(str(REPO_ROOT), tempfile.gettempdir(), preload=WORKER_PRELOAD, confining=False)
    try:
        wanted = [s for s in submissions if not options.only or s.id in options.only]
        jobs = []
        for submission in wanted:
            job = prepare(submission, options, work, version)
            if isinstance(job, dict) and job.get("status"):  # a record already: reused, or not readable
                if job.get("reused"):
                    outcome.reused.append(submission.id)
                else:
                    store(out, job, outcome)
                continue
            jobs.append({**job, "forkserver": str(work / FORKSERVER) if shared else None})
        if jobs and options.mode == "deploy" and options.docker != "off":
            seeded, outcome.seed = seeding(work / "seed", options.progress)
            jobs = [{**job, "registry_seed": seeded} for job in jobs]
        kept = before | {workers.pid} | ({shared.pid} if shared else set())  # the caller's, and the batch's servers
        Runner(options, work, kept, workers).run_all(jobs, lambda graded: store(out, graded, outcome))
    finally:
        for server in (shared, workers):
            if server:
                server.close()
        kill_adopted(before)
        shutil.rmtree(work, ignore_errors=True)
    outcome.records = align([r for s in submissions if (r := record.read(record.path(out, s.id)))], out)
    outcome.changed = changed(out, outcome.replaced)
    outcome.problems = environment_problems(outcome.records)
    outcome.seconds = time.monotonic() - started
    return outcome


def seeding(folder: Path, progress: bool) -> tuple[str | None, str]:
    """The class's registry seed (:func:`.seed.make`): (its folder or None, a line saying what it holds or why not).
    A seed makes the pushes cheap, never the grades different: without one, the class is graded the same, slower."""
    if progress:
        print("seeding the stand-ins' registries with the reference's layers ...", file=sys.stderr, flush=True)
    try:
        made, said = seed.make(folder)
    except Exception as error:  # noqa: BLE001 - any failure only costs speed, and is said
        made, said = None, f"{type(error).__name__}: {error}"
    return (str(made), f"registries seeded: {said}") if made else (None, f"registries not seeded: {said}")


def shared_forkserver(work: Path) -> forkserver.Server | None:
    """One fork server for every worker (each would otherwise import the libraries again), where each child runs as
    a user of its own (:func:`checks.sandbox.forkserver.share`); None elsewhere: each worker starts its own."""
    if confine.untrusted_uid(REPO_ROOT) is None:
        return None
    return forkserver.Server.start(str(REPO_ROOT), tempfile.gettempdir(), listen=work / FORKSERVER)


def prepare(submission: Submission, options: Options, work: Path, version: str) -> dict:
    """The worker's job for one submission, or a record: reused (``reused``) or NOT GRADED (unreadable source)."""
    folder = work / submission.id
    base = {"student": submission.student, "mode": options.mode, "grader_version": version,
            "environment": environment(options), "lang": options.lang}
    try:
        submission = sources.snapshot(submission, folder / "code", options.due)
    except sources.SourceError as error:
        return record.not_graded({**base, "source": submission.source, "seed": None, "submission_hash": None},
                                 f"NOT GRADED: {error}")
    base |= {"source": submission.source, "submission_hash": sources.content_hash(folder / "code")}
    existing = record.read(record.path(options.out, submission.id))
    if (existing and not options.force and existing.get("status") == "graded"
            and record.key(existing) == record.key(base)):
        return {**existing, "reused": True}
    seed = existing.get("seed") if existing and isinstance(existing.get("seed"), int) else secrets.randbelow(2**31)
    base["seed"] = seed
    return {"id": submission.id, "code": str(folder / "code"), "work": str(folder), "mode": options.mode,
            "cap": options.cap, "step_timeout": options.step_timeout, "seed": seed, "isolation": options.isolation,
            "docker": options.docker, "lang": options.lang, "locks": str(work / "locks"), "build_slots": 1,
            "name": "lab-" + secrets.token_hex(4), "out": str(folder / "record.json"),
            "wait_file": str(folder / "waited"), "base": base}


def store(out: Path, graded: dict, outcome: Outcome) -> None:
    """Write a student's new record, keeping the one it replaces (to say at the end whether it changed)."""
    ident = graded["student"]["id"]
    old = record.keep_history(out, ident)
    record.write(record.path(out, ident), graded)
    outcome.graded.append(ident)
    if old is not None:
        outcome.replaced[ident] = old


def changed(out: Path, replaced: dict[str, dict]) -> list[str]:
    """One line per regraded student whose result changed (the records as they stand now)."""
    return [line for ident, old in replaced.items()
            if (now := record.read(record.path(out, ident))) and (line := record.changes(old, now))]


def align(records: list[dict], out: Path) -> list[dict]:
    """Every check that was skipped for someone (it cannot run on this machine) is skipped for everyone.

    A check a student fails before it could tell it cannot run here (an open TODO is blamed first) would
    otherwise count in their denominator and not in their classmates'. The class's denominator is one.
    """
    skipped = {x["id"]: x for r in records if r.get("status") == "graded" for x in r.get("results", [])
               if x.get("skipped")}
    aligned = []
    for found in records:
        results = found.get("results", [])
        if found.get("status") != "graded" or not any(x["id"] in skipped and not x["skipped"] for x in results):
            aligned.append(found)
            continue
        results = [x if x["id"] not in skipped or x["skipped"] else
                   {**x, "passed": False, "skipped": True, "earned": 0, "possible": 0,
                    "message": skipped[x["id"]]["message"], "text": {**x.get("text", {}), "message":
                                                                      skipped[x["id"]].get("text", {}).get("message", "")}}
                   for x in results]
        found = {**found, "results": results, "earned": sum(x["earned"] for x in results),
                 "possible": sum(x["possible"] for x in results),
                 "passed": all(x["passed"] or x["skipped"] for x in results)}
        record.write(record.path(out, found["student"]["id"]), found)
        aligned.append(found)
    return aligned


class Runner:
    """The worker processes, ``jobs`` at a time, each under its cap."""

    def __init__(self, options: Options, work: Path, before: set[int], workers: forkserver.Server):
        self.options, self.work, self.before, self.workers = options, work, before, workers
        self.lock = threading.Lock()
        self.live: set[int] = set()

    def run_all(self, jobs: list[dict], done) -> None:
        if not jobs:
            return
        bar = progress_bar(len(jobs), self.options.progress)
        try:
            with ThreadPoolExecutor(max(1, min(self.options.jobs, len(jobs)))) as pool:
                for future in as_completed([pool.submit(self.one, job) for job in jobs]):  # kept as each ends
                    graded = future.result()
                    with self.lock:
                        done(graded)
                        bar.set_postfix_str(f"{graded['student']['id']}: {record.score(graded)}", refresh=False)
                        bar.update(1)
        finally:
            bar.close()

    def one(self, job: dict) -> dict:
        folder = Path(job["work"])
        spec = folder / "job.json"
        spec.write_text(json.dumps(job))
        try:
            return self.supervise(job, spec, folder)
        finally:
            stop_standin(folder / "cloud")
            if job["mode"] == "deploy" and job["docker"] != "off":  # a killed worker's images too
                from .built import remove

                remove(job["name"])
            shutil.rmtree(folder, ignore_errors=True)

    def supervise(self, job: dict, spec: Path, folder: Path) -> dict:
        request = {"program": WORKER.format(spec=str(spec)), "cwd": str(REPO_ROOT),
                   "env": {**os.environ, "PYTHONPATH": str(REPO_ROOT)}}
        with (folder / "worker.log").open("wb") as log:
            worker = self.workers.fork(request, log.fileno())
        with self.lock:
            self.live.add(worker.pid)
        started = time.monotonic()
        try:
            while worker.poll() is None:
                if time.monotonic() - started > job["cap"] + waited(Path(job["wait_file"])) + GRACE_S:
                    kill_tree(worker.pid)
                    worker.wait()
                    return record.not_graded(job["base"], f"NOT GRADED: ran past its {job['cap']:.0f} s cap")
                time.sleep(POLL_S)
        finally:
            kill_tree(worker.pid)  # whatever it left below itself
            with self.lock:
                self.live.discard(worker.pid)
                kill_adopted(self.live | self.before)
        graded = record.read(Path(job["out"]))
        if graded is None:
            last = last_line(folder / "worker.log")
            return record.not_graded(job["base"], f"grader fault: the worker ended without a record "
                                                  f"(exit status {worker.returncode}){': ' + last if last else ''}")
        return graded


def progress_bar(total: int, shown: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="submission", desc="grading", disable=not shown, dynamic_ncols=True)


def waited(file: Path) -> float:
    with contextlib.suppress(OSError, ValueError):
        return float(file.read_text() or 0)
    return 0.0


def last_line(log: Path) -> str:
    with contextlib.suppress(OSError):
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
        return lines[-1].strip()[:200] if lines else ""
    return ""


def stop_standin(home: Path) -> None:
    """A stand-in a killed worker left: stopped, its containers removed, its home gone."""
    if home.exists():
        from localcloud import process

        with contextlib.suppress(Exception):
            process.stop(home)
        shutil.rmtree(home, ignore_errors=True)


def _table() -> dict[int, int]:
    """pid -> parent pid of every live process."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if fields[0] != "Z":
                    table[int(entry.name)] = int(fields[1])
    return table


def kill_tree(root: int) -> None:
    """SIGKILL ``root`` and every process below it, until none is left (new ones too)."""
    for _ in range(50):
        table = _table()
        below, frontier = set(), {root}
        while frontier:
            below |= frontier
            frontier = {pid for pid, parent in table.items() if parent in frontier} - below
        alive = [pid for pid in below if pid in table]
        if not alive:
            return
        for pid in alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)
        reap()


def kill_adopted(keep: set[int]) -> None:
    """Processes re-parented to the batch (a killed worker's leftovers), every one but the live workers."""
    me = os.getpid()
    for pid, parent in _table().items():
        if parent == me and pid not in keep and _not_ours(pid):
            kill_tree(pid)
    reap()


def _not_ours(pid: int) -> bool:
    """Whether ``pid`` is no worker of this batch's Python (a thread's subprocess it still waits for is one)."""
    with contextlib.suppress(OSError):
        return b"checks.classroom.worker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    return False


def reap() -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass


def isolation_kind(value: str) -> str:
    """How a step ran, without the run's own user id."""
    return re.sub(r"user \d+", "user N", value)


def environment_problems(records: list[dict]) -> list[str]:
    """Why these graded records are not comparable: different denominators, ways of running, skipped checks."""
    graded = [r for r in records if r.get("status") == "graded"]
    problems = []
    views = {"denominator": lambda r: str(r.get("possible")),
             "sandbox": lambda r: ", ".join(sorted({isolation_kind(v) for v in r.get("isolation", {}).values()})),
             "skipped checks": lambda r: ", ".join(sorted(x.get("id") or x["name"] for x in r.get("results", [])
                                                          if x.get("skipped"))) or "none",
             "environment": lambda r: json.dumps(r.get("environment"), sort_keys=True)}
    for what, view in views.items():
        seen = Counter(view(r) for r in graded)
        if len(seen) > 1:
            common = seen.most_common(1)[0][0]
            odd = [f"{r['student']['id']} ({view(r)})" for r in graded if view(r) != common][:10]
            problems.append(f"mixed {what} across the class: most have {common!r}; not: {', '.join(odd)}")
    return problems
