"""Which pins of a requirements file this interpreter does not satisfy (standard library only: setup.sh runs it
before anything is installed).

    python checks/autograder/pins.py requirements.txt    # prints the unsatisfied lines; exit 1 if there are any

Only ``name==version`` lines (extras and comments allowed) are read; any other line counts as unsatisfied, so
pip decides it.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;#]+)$")


def unsatisfied(requirements: Path) -> list[str]:
    missing = []
    for raw in requirements.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        found = PIN.match(line)
        if not found:
            missing.append(line)
            continue
        try:
            if metadata.version(found[1]) != found[2]:
                missing.append(line)
        except metadata.PackageNotFoundError:
            missing.append(line)
    return missing


if __name__ == "__main__":
    lines = unsatisfied(Path(sys.argv[1]))
    print("\n".join(lines))
    sys.exit(1 if lines else 0)
