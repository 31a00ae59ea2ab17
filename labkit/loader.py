"""Import a step's module from a folder, for grading a submission that is not a package.

A submission is a folder with the same files as ``exercises/`` (``train.py``,
``app.py``, …). It is imported as a fresh package, so its relative imports
(``from . import config``) resolve inside the submission, not in this repository.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from .errors import LabError

PACKAGE = "submission"


def import_from_folder(folder: Path, module: str) -> ModuleType:
    """Import ``module`` from ``folder`` as ``submission.<module>``."""
    folder = folder.resolve()
    if not (folder / f"{module}.py").is_file():
        raise LabError(f"{folder} has no {module}.py")
    package = sys.modules.get(PACKAGE)
    if package is None or list(package.__path__) != [str(folder)]:
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]
        init = folder / "__init__.py"
        spec = importlib.util.spec_from_file_location(
            PACKAGE, init if init.exists() else None, submodule_search_locations=[str(folder)]
        )
        package = importlib.util.module_from_spec(spec)
        sys.modules[PACKAGE] = package
        if spec.loader is not None:
            spec.loader.exec_module(package)
    return importlib.import_module(f"{PACKAGE}.{module}")
