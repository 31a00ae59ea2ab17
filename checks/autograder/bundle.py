"""``python -m checks gradescope-bundle OUT.zip`` (``make gradescope``): the zip Gradescope's autograder takes.

At the zip's root: ``setup.sh`` and ``run_autograder`` (executable; :mod:`checks.autograder` says what they do),
``requirements.txt`` and ``pyproject.toml``, and the packages the grader runs: ``checks``, ``labkit``,
``localcloud``, ``lambda_rie``, ``exercises`` (the handout the grader names) and ``docker`` (the image's
requirements). Never ``lab_solution`` (the answers: a submission runs in the same container), tests, notebooks or
caches. The zip is written atomically; its entries are sorted and dated alike, so the same sources give the
same bytes.
"""

from __future__ import annotations

import os
import sys
import tempfile
import zipfile
from pathlib import Path

from labkit.config import REPO_ROOT

HERE = Path(__file__).resolve().parent
SCRIPTS = ("setup.sh", "run_autograder")
FILES = ("requirements.txt", "pyproject.toml")
PACKAGES = ("checks", "labkit", "localcloud", "lambda_rie", "exercises", "docker")
LEFT_OUT = {"__pycache__", ".pytest_cache", ".ruff_cache", ".ipynb_checkpoints", "build"}
STAMP = (2026, 1, 1, 0, 0, 0)


def entries() -> list[tuple[str, Path, int]]:
    """(name in the zip, file, mode) of every file the bundle holds, sorted by name."""
    found = [(name, HERE / name, 0o755) for name in SCRIPTS]
    found += [(name, REPO_ROOT / name, 0o644) for name in FILES]
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*")):
            relative = path.relative_to(REPO_ROOT)
            if path.is_file() and not path.is_symlink() and not LEFT_OUT & set(relative.parts) \
                    and path.suffix not in (".pyc", ".pyo"):
                found.append((relative.as_posix(), path, 0o755 if os.access(path, os.X_OK) else 0o644))
    return sorted(found)


def build(out: Path) -> Path:
    """Write the bundle to ``out`` (replacing it at once) and return it."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(handle)
    try:
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as bundle:
            for name, path, mode in entries():
                info = zipfile.ZipInfo(name, STAMP)
                info.external_attr = (0o100000 | mode) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                bundle.writestr(info, path.read_bytes())
        os.chmod(temporary, 0o644)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0].startswith("-") or not argv[0].endswith(".zip"):
        print("usage: python -m checks gradescope-bundle OUT.zip\n"
              "  the zip of Gradescope's autograder (setup.sh, run_autograder and the grader) to upload as the "
              "assignment's autograder", file=sys.stderr)
        return 0 if argv[:1] in (["-h"], ["--help"]) else 2
    out = build(Path(argv[0]))
    print(f"{out} ({out.stat().st_size // 1024} KB): upload it as the assignment's autograder on Gradescope")
    return 0
