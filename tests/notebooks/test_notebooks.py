"""Every notebook executed once, in order, with the reference code on a private docker-mode stand-in.

This is the run a student with Docker makes (``make lab``), and the only place the suite
executes the notebooks top to bottom: the committed notebooks carry no outputs
(``test_committed_notebooks.py``), so the executed copies, written to the run's build
folder, are what the tests below read:

* no cell fails, and each step's own grade cell reports full marks;
* the lines the prose points a student at are there (``EXPECTED``: what must not drift);
* between notebooks, what the cloud holds: after 06 (whose grade cells re-ran ``deploy()``
  and ``ensure_api()``, as the grader's idempotency checks do) exactly one of each
  resource; after 07b (the cold-start levers), nothing left of the provisioned-concurrency experiment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import nbformat
import pytest

from checks.report import ALL_PASSED
from labkit import config, kernels, steps
from labkit.bilingual import text
from localcloud import process
from observed import NOTHING_PROVISIONED, cell_text, inventory, provisioned_leftovers

pytestmark = [pytest.mark.integration, pytest.mark.docker, pytest.mark.timeout(1800)]
NOTEBOOKS = [config.REPO_ROOT / "notebooks" / name for name in steps.NOTEBOOKS]
RUN_IDLE_TIMEOUT_S = 3  # Cloud Run's scale to zero, watched by notebook 09, without a long wait

# Per notebook, what its outputs must show whatever the machine (patterns, searched in order of cells); the run is
# in the students' default language, Bengali, so a line labkit words in both languages is matched in both.
EXPECTED = {
    "00_setup": [r"target: local +code: lab_solution", r"ok +Docker engine .*\(docker mode\)",
                 r"ok +Local AWS stand-in +(?:running|চলছে)"],
    "01_train_model": [r"test accuracy: 0\.\d+ on 30 held-out flowers", r'"sklearn_version": "\d',
                       r"total .* MB, against the 250 MB", r"a setosa is predicted as: setosa"],
    "02_write_handler": [r"warm request: [\d.]+ ms \(median of 20\)",
                         r"INIT in a fresh interpreter \(imports of numpy, scipy, sklearn \+ model load\): \d+ ms",
                         r"INIT ÷ warm request: ", r'"cold_start": true', r'"cold_start": false',
                         r"apigw_http_v2 +-> 200 setosa", r"apigw_http_v1 +-> 200 setosa", r"direct_invoke +-> 200 setosa",
                         r"missing field +-> 400", r"NaN +-> 400", r"negative +-> 422", r"GET +-> 405", r"1 MB body +-> 413"],
    "03_build_image": [r"built serverless-iris:latest for amd64", r"the base image", r"valid +-> 200 .*setosa",
                       r"invalid +-> 400", r"<- cold", r"<- warm"],
    "04_push_to_ecr": [r"scan on push: +True", r"digest: sha256:[0-9a-f]{64}", r"tags \['latest'\]"],
    "05_create_lambda": [r"State +Active", r"LastUpdateStatus +Successful", r"PackageType +Image",
                         r'"cold_start": true', r"Init Duration: [\d.]+ ms", r'"cold_start": false'],
    "06_api_gateway": [r"public URL: +http://127\.0\.0\.1:\d+/_aws/execute-api/\w+/predict", r"valid +-> 200",
                       r"invalid +-> 400", r'wrong path -> 404 \{"message": "Not Found"\}'],
    "07_measure_latency": [r"30 requests in 3 rounds, statuses \[200\]", r"cold \(request 1\)", r"init duration \(REPORT\)"],
    "07b_mitigate_and_decide": [r"cold \(request 1\)", r"SciPy, scikit-learn and NumPy: \d+% of the imports",
                                r"removed again: provisioned concurrency", r"agrees with the original on 150/150 flowers",
                                r"NumPy alone agrees with the original on 150/150", r"above [\d.]+ requests/second"],
    "08_cleanup": [r"Lambda function +serverless-iris", r"left behind: nothing", r"second run deleted: nothing"],
    "09_cloud_run": [r"unauthenticated call -> 403", r"valid +-> 200", r"invalid +-> 400",
                     r"Cloud Run service at zero instances", r"min-instances 1, first request after idle",
                     r"Cloud Run service deleted: True", r"left behind: nothing"],
}


@dataclass
class LabRun:
    """What one run of every notebook left: the executed copies, the failures, and the cloud seen between notebooks."""

    executed: dict[str, nbformat.NotebookNode] = field(default_factory=dict)
    failures: dict[str, str | None] = field(default_factory=dict)
    inventory_after_06: dict[str, int] = field(default_factory=dict)
    provisioned_after_07b: dict[str, list] = field(default_factory=dict)


@pytest.fixture(scope="module")
def lab_run(tmp_path_factory, lambda_base, cloudrun_base) -> LabRun:
    build = tmp_path_factory.mktemp("lab-run")
    run = LabRun()
    with process.running(mode="docker", run_idle_timeout=RUN_IDLE_TIMEOUT_S) as cloud:
        env = {"LAB_TARGET": "local", "LAB_CODE": "lab_solution", "LAB_ENDPOINT_URL": cloud.endpoint,
               "LAB_BUILD_DIR": str(build), "LAB_DOCKER": "auto", "LAB_LANG": "bn"}
        settings = config.load(env)
        for notebook in NOTEBOOKS:
            destination = build / "notebooks" / notebook.name
            run.failures[notebook.stem] = kernels.execute(notebook, destination, env=env)
            run.executed[notebook.stem] = nbformat.read(destination, as_version=4)
            if run.failures[notebook.stem]:
                break  # every later notebook would stop at its first cell, naming this one
            if notebook.stem.startswith("06"):
                run.inventory_after_06 = inventory(settings)
            if notebook.stem.startswith("07b"):
                run.provisioned_after_07b = provisioned_leftovers(settings)
    return run


def executed(run: LabRun, stem: str) -> nbformat.NotebookNode:
    if stem not in run.executed:
        pytest.fail(f"{stem} did not run: an earlier notebook failed ({run.failures})", pytrace=False)
    return run.executed[stem]


@pytest.mark.parametrize("stem", [n.stem for n in NOTEBOOKS])
def test_every_cell_runs(lab_run, stem):
    executed(lab_run, stem)
    assert lab_run.failures[stem] is None, f"{stem} failed at {lab_run.failures[stem]}"


@pytest.mark.parametrize("step", [s for s in steps.STEPS if s.todos], ids=lambda s: s.notebook[:-6])
def test_the_grade_cell_gives_full_marks(lab_run, step):
    cells = [c for c in executed(lab_run, step.notebook[:-6]).cells if c.cell_type == "code"]
    grade = next(c for c in reversed(cells) if "grade(" in c.source)
    assert any(text(ALL_PASSED, lang) in cell_text(grade) for lang in config.LANGUAGES), cell_text(grade)[-2000:]


@pytest.mark.parametrize("stem", EXPECTED)
def test_the_outputs_show_what_the_prose_points_at(lab_run, stem):
    text = "\n".join(cell_text(c) for c in executed(lab_run, stem).cells if c.cell_type == "code")
    missing = [pattern for pattern in EXPECTED[stem] if not re.search(pattern, text)]
    assert not missing, f"{stem}: no output matches {missing}"


def test_every_notebook_has_expectations():
    assert set(EXPECTED) == {n.stem for n in NOTEBOOKS}


def test_the_deploy_steps_rerun_by_the_grader_created_nothing_twice(lab_run):
    executed(lab_run, "06_api_gateway")
    assert lab_run.inventory_after_06 and set(lab_run.inventory_after_06.values()) == {1}, lab_run.inventory_after_06


def test_the_provisioned_concurrency_experiment_removed_what_it_added(lab_run):
    executed(lab_run, "07b_mitigate_and_decide")
    assert lab_run.provisioned_after_07b == NOTHING_PROVISIONED

