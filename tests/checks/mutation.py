"""One-mistake submissions for the grader: ``tests/checks/mutants/*.patch``, each a small patch against lab_solution/.

``mutants/`` holds those graded offline: steps 1-3, and step 9's service (its deploy needs a cloud and is skipped).

A patch starts with a header the test reads::

    # mistake: the handler loads the model on every request     (or "# hostile: ...")
    # steps: 2                        the steps to grade
    # model: none                     own (train with the mutant's train()), reference, payload, none
    # bound: 60 s                     (hostile) the most the whole run may take
    # docker: yes                     (step 3) the grader builds an image: graded only where Docker runs
    # loses: <check name>             one line per check that must fail; every other check must pass
    # may lose: <check name>          a check whose outcome depends on the grader's random cases

The grader runs as a user would run it: ``python -m checks STEPS --code FOLDER --json --out FILE``.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MUTANTS = Path(__file__).resolve().parent / "mutants"
SOLUTION = REPO / "lab_solution"
STEP_TIMEOUT = 10  # seconds of student code per step; honest steps take ~3 s


@dataclass
class Mutant:
    name: str
    kind: str  # "mistake" or "hostile"
    what: str
    steps: list[int]
    model: str
    patch: Path
    bound: float = 120.0
    loses: set[str] = field(default_factory=set)
    may_lose: set[str] = field(default_factory=set)
    docker: bool = False  # step 3: the grader builds the image


@dataclass
class Graded:
    returncode: int
    stdout: str
    report: dict | None
    seconds: float
    out_exists: bool


def mutants() -> list[Mutant]:
    return mutants_in(MUTANTS)


def mutants_in(folder: Path) -> list[Mutant]:
    """The patches of one folder: ``mutants/`` (steps 1-3, graded offline) or ``cloud_mutants/`` (steps 4-8)."""
    found = []
    for patch in sorted(folder.glob("*.patch")):
        header = {}
        loses, may = set(), set()
        for line in patch.read_text().splitlines():
            if not line.startswith("# "):
                break
            key, _, value = line[2:].partition(": ")
            if key == "loses":
                loses.add(value)
            elif key == "may lose":
                may.add(value)
            else:
                header[key] = value
        kind = "hostile" if "hostile" in header else "mistake"
        found.append(Mutant(patch.stem, kind, header[kind], [int(s) for s in header["steps"].split()],
                            header["model"], patch, float(header.get("bound", "120 s").split()[0]), loses, may,
                            header.get("docker") == "yes"))
    return found


def submission(mutant: Mutant, folder: Path) -> Path:
    """lab_solution/ with the mutant's patch applied."""
    code = folder / "code"
    shutil.copytree(SOLUTION, code, ignore=shutil.ignore_patterns("__pycache__"))
    body = mutant.patch.read_text()
    if "\n--- " in body:
        done = subprocess.run(["patch", "-p1", "-s", "--fuzz=2", "-d", str(code)], input=body, text=True,
                              capture_output=True, timeout=30)
        if done.returncode != 0:
            raise RuntimeError(f"{mutant.name}: the patch does not apply: {done.stdout}{done.stderr}")
    return code


class Payload:
    """A pickled 'model' that runs a shell command when it is loaded."""

    def __reduce__(self):
        return (os.system, ("touch hostile-payload-ran; touch /tmp/hostile-payload-ran",))


def build(mutant: Mutant, code: Path, folder: Path, reference_model: Path) -> Path:
    """The build folder the mutant is graded with."""
    build_dir = folder / "build"
    model_dir = build_dir / "model"
    model_dir.mkdir(parents=True)
    if mutant.model == "own":  # the mutant's own train(), as a student would run it
        script = ("import sys; from pathlib import Path; from labkit.loader import import_from_folder; "
                  "import_from_folder(Path(sys.argv[1]), 'train').train(Path(sys.argv[2]))")
        subprocess.run([sys.executable, "-c", script, str(code), str(model_dir)], capture_output=True, timeout=120,
                       cwd=folder)
    elif mutant.model in ("reference", "payload"):
        shutil.copy(reference_model / "model.joblib", model_dir)
        shutil.copy(reference_model / "metadata.json", model_dir)
        if mutant.model == "payload":
            (model_dir / "model.joblib").write_bytes(pickle.dumps(Payload()))
    return build_dir


def grade(code: Path, build_dir: Path, steps: list[int], out: Path, timeout: float = 300,
          sandbox: str = "process") -> Graded:
    command = [sys.executable, "-m", "checks", *map(str, steps), "--code", str(code), "--build-dir", str(build_dir),
               "--json", "--out", str(out), "--sandbox", sandbox, "--step-timeout", str(STEP_TIMEOUT)]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    seconds = time.monotonic() - started
    try:
        report = json.loads(done.stdout)
    except ValueError:
        report = None
    return Graded(done.returncode, done.stdout, report, seconds, out.exists())


def failed(report: dict) -> set[str]:
    return {r["name"] for r in report["results"] if not r["passed"] and not r["skipped"]}


def sleepers() -> list[int]:
    """Processes the fork mutant leaves if the grader does not kill them."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes().startswith(b"sleep\0" + b"1000."):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def grade_in_process(mutant: Mutant, folder: Path, reference_model: Path) -> tuple[set[str], int, dict[str, str]]:
    """Grade a (non-hostile) mutant with the grader's Python API.

    Returns:
        (failed checks, points possible, each failed check's message in Bengali).
    """
    from checks import Context, run_steps
    from labkit import config

    code = submission(mutant, folder)
    build_dir = folder / "build"
    if mutant.model == "own":
        from labkit.loader import import_from_folder

        import_from_folder(code, "train").train(build_dir / "model")
    else:
        build(mutant, code, folder, reference_model)
    # offline, step 9 is its service graded in the sandbox; what needs Docker and a cloud (its deploy) is skipped
    environ = {"LAB_DOCKER": "off"} if 9 in mutant.steps else {}
    report = run_steps(mutant.steps, Context(config.load(environ, code=str(code), build_dir=build_dir)),
                       isolation="process", step_timeout=STEP_TIMEOUT)
    failed = {r.name: r.shown("bn")["message"] for r in report.results if not r.passed and not r.skipped}
    return set(failed), report.possible, failed
