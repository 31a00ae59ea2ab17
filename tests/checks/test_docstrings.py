"""Every module, function or name the grader's docstrings refer to (``:mod:`checks.sandbox.spawn```) exists."""

from __future__ import annotations

import importlib
import re

import pytest

from labkit.config import REPO_ROOT

REFERENCE = re.compile(r":(?:mod|func|data|class|meth|attr):`~?\.?([\w.]+)`")
SOURCES = sorted((REPO_ROOT / "checks").rglob("*.py"))


def resolves(name: str) -> bool:
    """Whether ``name`` is a module, or an attribute (however deep) of one."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(found, attribute):
                return False
            found = getattr(found, attribute)
        return True
    return False


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(REPO_ROOT)) for p in SOURCES])
def test_every_reference_in_a_docstring_of_the_grader_resolves(path):
    module = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts).removesuffix(".__init__")
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    unresolved = [name for name in REFERENCE.findall(path.read_text())
                  if not any(resolves(where) for where in (name, f"{module}.{name}", f"{package}.{name}"))]
    assert not unresolved
