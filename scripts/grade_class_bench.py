"""Throughput of ``python -m checks class`` on a generated class (``make grade-class-bench``; a benchmark, not a test).

    python scripts/grade_class_bench.py                      # code mode and deploy mode, 30 submissions each
    python scripts/grade_class_bench.py --mode code --size 40
    python scripts/grade_class_bench.py --mode deploy --docker auto --size 10   # Docker-mode stand-ins: steps 1-9
    python scripts/grade_class_bench.py --profile            # one reference submission: where its time goes

The class: reference copies, one-mistake submissions of every step (tests/checks/mutants/ for steps 1-3 and 9,
cloud_mutants/ for 4-6 and 8, latency_mutants/ for 7) and hostile ones (class_hostile/ and mutants/hostile_*),
repeated in that order up to ``--size``. The process sandbox; host-mode stand-ins (``LAB_DOCKER=off``) unless
``--docker auto`` (deploy mode then builds, pushes and runs every image, step 9 included, where Docker runs).
Prints submissions per minute, each step's median time, the three slowest submissions' time per step, the steps
that outlived their class lock's lease, and the machine's load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "checks"))
sys.path.insert(0, str(REPO))

import mutation  # noqa: E402

FOLDERS = {"mutants": REPO / "tests/checks/mutants", "cloud": REPO / "tests/checks/cloud_mutants",
           "latency": REPO / "tests/checks/latency_mutants", "hostile": REPO / "tests/checks/class_hostile"}


def generated_class(root: Path, size: int) -> Path:
    """A folder of ``size`` submissions: references, a mistake per step, hostile ones, round-robin."""
    mistakes: dict[int, list[mutation.Mutant]] = {}
    for key in ("mutants", "cloud", "latency"):
        for mutant in mutation.mutants_in(FOLDERS[key]):
            if mutant.kind == "mistake" and not mutant.may_lose and not mutant.docker and mutant.model != "payload":
                mistakes.setdefault(mutant.steps[0], []).append(mutant)
    hostile = [*mutation.mutants_in(FOLDERS["hostile"]),
               *(m for m in mutation.mutants_in(FOLDERS["mutants"]) if m.name in ("hostile_forks_forever",
                                                                                   "hostile_import_loop"))]
    pool = [None, *(found[0] for _, found in sorted(mistakes.items())), None, *hostile,
            *(found[1] for _, found in sorted(mistakes.items()) if len(found) > 1)]
    folder = root / "class"
    folder.mkdir()
    for number in range(size):
        mutant = pool[number % len(pool)]
        ident = f"s{number:03d}-" + ("reference" if mutant is None else mutant.name.replace("_", "-"))[:40]
        if mutant is None:
            shutil.copytree(mutation.SOLUTION, folder / ident, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.move(mutation.submission(mutant, root / "made" / ident), folder / ident)
    return folder


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def grade(source: Path, out: Path, mode: str, jobs: int | None, docker: str) -> float:
    command = [sys.executable, "-m", "checks", "class", str(source), "--mode", mode, "--out", str(out),
               "--sandbox", "process", *(["--jobs", str(jobs)] if jobs else [])]
    started = time.monotonic()
    subprocess.run(command, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO), "LAB_DOCKER": docker}, check=False)
    return time.monotonic() - started


def summary(out: Path, seconds: float, mode: str) -> dict:
    records = [json.loads(p.read_text()) for p in (out / "students").glob("*/grade.json")]
    steps: dict[str, list[float]] = {}
    driven: dict[str, list[float]] = {}
    for found in records:
        for step, took in found.get("step_seconds", {}).items():
            steps.setdefault(step, []).append(took)
        for op, said in (found.get("driven") or {}).items():
            if said.endswith(" s)"):
                driven.setdefault(op, []).append(float(said.rsplit("(", 1)[1].split()[0]))
    return {"mode": mode, "submissions": len(records), "seconds": round(seconds, 1),
            "per_minute": round(len(records) / seconds * 60, 1),
            "not_graded": sorted(r["student"]["id"] for r in records if r["status"] != "graded"),
            "step_median_s": {k: round(statistics.median(v), 1) for k, v in sorted(steps.items(), key=lambda i: int(i[0]))},
            "driven_median_s": {k: round(statistics.median(v), 1) for k, v in driven.items()},
            "slowest_s": {r["student"]["id"]: {"all": round(sum(r["step_seconds"].values()), 1), **r["step_seconds"]}
                          for r in sorted(records, key=lambda r: -sum(r.get("step_seconds", {}).values()))[:3]},
            "past_lease": {r["student"]["id"]: r["past_lease"] for r in records if r.get("past_lease")}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("code", "deploy", "both"), default="both")
    parser.add_argument("--size", type=int, default=30)
    parser.add_argument("--jobs", type=int)
    parser.add_argument("--docker", choices=("off", "auto"), default="off", help="LAB_DOCKER for the class")
    parser.add_argument("--profile", action="store_true", help="one reference submission, each mode")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="grade-class-bench-") as folder:
        root = Path(folder)
        source = generated_class(root, 1 if args.profile else args.size)
        for mode in ("code", "deploy") if args.mode == "both" else (args.mode,):
            before = load()
            seconds = grade(source, root / f"out-{mode}", mode, 1 if args.profile else args.jobs, args.docker)
            print(json.dumps({**summary(root / f"out-{mode}", seconds, mode), "docker": args.docker, "load_before": before,
                              "load_after": load()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
