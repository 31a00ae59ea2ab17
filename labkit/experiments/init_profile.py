"""Where a cold start's INIT goes: Python's own import timer, run where the handler runs.

    python -m labkit.experiments.init_profile    # profile the step-3 image (the staged folder in host mode)

``python -X importtime -c "import app"`` logs every module imported while the handler
module loads, with the time spent in each one's own code. Summed per top-level package,
they show what a smaller dependency tree or a lighter runtime (ONNX) would save; the
handler module's own time is mostly the model load.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .. import config, dockercli, images
from ..bilingual import say, text
from ..config import Settings
from ..errors import LabError, run_cli

IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+\d+ \| (\s*)(\S+)$")
PROFILED = "import app"
# Fixed rows, in this order, so two runs print the same table; anything else is "other".
GROUPS = {"numpy": "NumPy", "scipy": "SciPy", "sklearn": "scikit-learn", "narwhals": "narwhals", "joblib": "joblib",
          "onnxruntime": "ONNX Runtime"}
HANDLER_ROW, STARTUP_ROW, OTHER_ROW = "app.py (model load)", "Python start-up modules", "other (stdlib, small packages)"
ROWS = (STARTUP_ROW, *GROUPS.values(), OTHER_ROW, HANDLER_ROW)


@dataclass(frozen=True)
class InitProfile:
    rows: dict[str, float]  # ms per row of ROWS, in that order

    @property
    def total_ms(self) -> float:
        return sum(self.rows.values())

    def share(self, *names: str) -> float:
        """The fraction of the profiled time spent in these rows."""
        return sum(self.rows[name] for name in names) / self.total_ms


def parse_importtime(log: str, module: str = "app") -> InitProfile:
    """Sum ``-X importtime`` self times into ROWS.

    Python prints a module's line when its import finishes, so the handler module's line comes
    last and everything imported while it loaded sits between it and the previous top-level line.
    """
    entries = [(int(m[1]) / 1000, len(m[2]) // 2, m[3]) for m in map(IMPORT_LINE.match, log.splitlines()) if m]
    ends = [i for i, (_, depth, name) in enumerate(entries) if depth == 0 and name == module]
    if not ends:
        raise LabError(f"`{PROFILED}` did not finish: {_said(log)}")
    end = ends[-1]
    start = max((i + 1 for i, (_, depth, _) in enumerate(entries[:end]) if depth == 0), default=0)
    rows = dict.fromkeys(ROWS, 0.0)
    for ms, _, _ in entries[:start]:
        rows[STARTUP_ROW] += ms
    for ms, _, name in entries[start:end]:
        rows[GROUPS.get(name.split(".")[0], OTHER_ROW)] += ms
    rows[HANDLER_ROW] += entries[end][0]
    return InitProfile(rows)


def profile(settings: Settings, target: str | Path, runs: int = 3) -> InitProfile:
    """Profile ``import app`` in an image (a tag) or a staged folder (host mode); the quickest of ``runs``.

    The quickest run is the one least disturbed by the rest of the machine; each run is a new
    interpreter, as a cold start is.
    """
    return min((_profile_once(settings, target) for _ in range(runs)), key=lambda p: p.total_ms)


def _profile_once(settings: Settings, target: str | Path) -> InitProfile:
    if isinstance(target, Path):
        done = subprocess.run([sys.executable, "-X", "importtime", "-c", PROFILED], cwd=target, capture_output=True,
                              text=True, timeout=120, env={"LAMBDA_TASK_ROOT": str(target), "PATH": os.defpath})
        if done.returncode != 0:
            raise LabError(f"`{PROFILED}` failed in {target}: {_said(done.stderr)}")
        return parse_importtime(done.stderr)
    log = dockercli.run(["run", "--rm", "--pull", "never", "--network", "host", "--platform", settings.platform,
                         "--entrypoint", "/bin/sh", target, "-c", f"python3 -X importtime -c '{PROFILED}' 2>&1"],
                        what=f"run {target}", timeout=300)
    return parse_importtime(log)


def _said(log: str) -> str:
    """The last lines of a log that are not import timings: usually the error."""
    said = [line.strip() for line in log.splitlines() if line.strip() and not line.startswith("import time:")]
    return " | ".join(said[-2:]) or "no output"


# How the rows read in Bengali (package names are names in both languages).
ROWS_BN = {STARTUP_ROW: "Python চালু হওয়ার module", OTHER_ROW: "বাকি (stdlib, ছোট package)"}
TOTAL = say("total (all imports of a fresh interpreter)", "মোট (নতুন interpreter-এর সব import)")


def format_profile(result: InitProfile, lang: str | None = None) -> str:
    """One line per row: milliseconds and share of the total, in ``lang`` (default: ``LAB_LANG``)."""
    lang = lang or config.language()
    names = {name: ROWS_BN.get(name, name) if lang == "bn" else name for name in result.rows}
    total = text(TOTAL, lang)
    width = max(map(len, (*names.values(), total)))
    lines = [f"{names[name]:<{width}} {ms:8.1f} ms {ms / result.total_ms:6.1%}" for name, ms in result.rows.items()]
    return "\n".join([*lines, f"{total:<{width}} {result.total_ms:8.1f} ms"])


def main() -> int:
    settings = config.load()
    target = images.local_tag(settings) if images.uses_docker(settings) else settings.image_context
    if isinstance(target, Path) and not (target / "app.py").exists():
        raise LabError(say(f"nothing staged in {target}: run step 3 first (python -m exercises.image, or notebook 03)",
                           f"{target}-এ কিছু stage করা নেই: আগে step 3 চালাও (python -m exercises.image, বা notebook 03)"))
    print(text(say(f"profiling `{PROFILED}` in {target}", f"{target}-এ `{PROFILED}`-এর profile নেওয়া হচ্ছে"),
               settings.lang))
    print(format_profile(profile(settings, target)))
    return 0


if __name__ == "__main__":
    run_cli(main)
