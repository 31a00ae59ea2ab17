"""The GitHub workflows: a student's repository grades itself on push (grade.yml), the course repository runs
``make test`` (ci.yml); both pass actionlint (pinned in requirements.txt, never skipped)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"


def actionlint() -> str:
    found = Path(sys.executable).with_name("actionlint")
    path = str(found) if found.is_file() else shutil.which("actionlint")
    assert path, "actionlint is not installed: pip install -r requirements.txt"
    return path


def steps(workflow: str) -> list[dict]:
    jobs = yaml.safe_load((WORKFLOWS / workflow).read_text())["jobs"]
    return [step for job in jobs.values() for step in job["steps"]]


def test_the_workflows_pass_actionlint():
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert [f.name for f in files] == ["ci.yml", "grade.yml"]
    done = subprocess.run([actionlint(), "-no-color", *map(str, files)], capture_output=True, text=True, timeout=120,
                          cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr


def test_grade_yml_grades_steps_1_to_3_and_publishes_the_step_table_and_reports():
    workflow = yaml.safe_load((WORKFLOWS / "grade.yml").read_text())
    assert "push" in workflow[True]  # YAML 1.1 reads the key `on` as true
    found = steps("grade.yml")
    assert any(s.get("uses", "").startswith("actions/setup-python@") and s["with"]["python-version"] == "3.11"
               for s in found)
    script = "\n".join(s.get("run", "") for s in found)
    for needed in ("pip install -r requirements.txt", "python -m checks 1 2 3 --json --out report.json",
                   'python -m checks.gradebook.summary report.json >> "$GITHUB_STEP_SUMMARY"',
                   "python -m checks.gradebook.junit report.json junit.xml"):
        assert needed in script, needed
    upload = next(s for s in found if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["path"].split() == ["report.json", "junit.xml"]


def test_ci_yml_runs_make_test():
    assert any(s.get("run", "").startswith("make test") for s in steps("ci.yml"))
