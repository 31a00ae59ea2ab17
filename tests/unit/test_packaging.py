"""The wheel built from pyproject.toml holds every package of the project, and the stand-in starts from it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

import pytest

from labkit.config import REPO_ROOT

SHIPPED = ("labkit", "checks", "localcloud", "lab_solution", "exercises", "lambda_rie")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel of the files git tracks (built from a copy, so the checkout gains no build/ or egg-info), unpacked."""
    out, source = tmp_path_factory.mktemp("wheel"), tmp_path_factory.mktemp("source")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        if (REPO_ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                            "--wheel-dir", str(out), str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    (path,) = out.glob("*.whl")
    unpacked = out / "unpacked"
    with zipfile.ZipFile(path) as archive:
        archive.extractall(unpacked)
    return unpacked


def test_the_wheel_holds_every_package_of_the_repository(wheel):
    packages = {p.parent.relative_to(REPO_ROOT).as_posix() for top in SHIPPED for p in REPO_ROOT.glob(f"{top}/**/__init__.py")}
    missing = sorted(p for p in packages if not (wheel / p / "__init__.py").exists())
    assert packages and not missing, f"pyproject.toml leaves out {missing}"
    assert (wheel / "checks" / "text" / "bn.yaml").is_file(), "the grader's Bengali catalogue is package data"
    assert (wheel / "checks" / "autograder" / "run_autograder").is_file(), "Gradescope's scripts are package data"


def test_the_stand_in_and_the_grader_import_from_the_wheel_alone(wheel, tmp_path):
    # -I: no current folder, no PYTHONPATH; the wheel's folder goes first, so nothing comes from the checkout
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); import localcloud.server, checks, labkit.config, lambda_rie; "
             "assert all(m.__file__.startswith(sys.argv[1]) for m in (localcloud.server, checks, labkit.config, lambda_rie))")
    done = subprocess.run([sys.executable, "-I", "-c", probe, str(wheel)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
