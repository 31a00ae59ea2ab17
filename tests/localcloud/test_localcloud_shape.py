"""localcloud is shaped for its readers: a cloud reached over HTTP that imports nothing of the lab, no import cycles,
and every module, class or function its docstrings name exists (a ``:mod:`` is a link)."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "localcloud"
LAB = ("labkit", "checks", "lab_solution")
ROLE = re.compile(r":(mod|class|func|meth|data|attr):`~?([.\w]+)`")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(path: Path, *, top_level_only: bool) -> set[str]:
    """Absolute names of the modules ``path`` imports (at import time only, when ``top_level_only``)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[:len(package.split(".")) - node.level + 1], *filter(None, [base])])
            # ``from package import module`` imports the submodule; ``from module import name`` only the module
            found |= {f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names}
    return found


def test_the_stand_in_imports_nothing_of_the_lab():
    offenders = {name: sorted(module for module in imported(path, top_level_only=False)
                              if module.split(".")[0] in LAB)
                 for name, path in MODULES.items()}
    assert {name: modules for name, modules in offenders.items() if modules} == {}


def test_the_stand_in_has_no_import_cycles():
    graph = {name: {module for module in imported(path, top_level_only=True) if module in MODULES}
             for name, path in MODULES.items()}
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> list[str] | None:
        state[name] = "open"
        for module in sorted(graph[name]):
            if state.get(module) == "open":
                return [*trail, name, module]
            if module not in state and (cycle := visit(module, [*trail, name])):
                return cycle
        state[name] = "done"
        return None

    cycles = [cycle for name in sorted(graph) if name not in state and (cycle := visit(name, []))]
    assert cycles == []


def resolve(reference: str, module: str, package: str) -> object:
    """What a Sphinx role names, looked up as Sphinx would: relative to the package, in the module, or absolute."""
    if reference.startswith("."):
        reference = package + reference
    candidates = [reference, f"{module}.{reference}"]
    for candidate in candidates:
        parts = candidate.split(".")
        for split in range(len(parts), 0, -1):
            try:
                found = importlib.import_module(".".join(parts[:split]))
            except ModuleNotFoundError:
                continue
            try:
                for attribute in parts[split:]:
                    found = getattr(found, attribute)
            except AttributeError:
                break
            return found
    raise LookupError(reference)


def defined_in(source: str, reference: str) -> bool:
    """A method of a class of the module (Sphinx resolves ``:meth:`name``` in the class it is written in), or an
    attribute its instances set (``self.name = ...``), which no import can see."""
    name = reference.rpartition(".")[2]
    return re.search(rf"^\s+def {name}\(|\bself\.{name}(?::[^=]+)? = ", source, re.MULTILINE) is not None


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_name_a_docstring_links_to_exists(name):
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    source, missing = path.read_text(), []
    for role, reference in ROLE.findall(source):
        try:
            resolve(reference, name, package)
        except LookupError:
            if role == "mod" or reference.startswith(("localcloud.", ".")) or not defined_in(source, reference):
                missing.append(reference)
    assert missing == []
