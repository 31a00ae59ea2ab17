"""The project's import graph, read from the source with ``ast`` (nothing is imported).

Every module of the project's packages (each top-level folder with an ``__init__.py``: labkit,
checks, localcloud, lab_solution, exercises) and its loose scripts (``scripts/*.py``,
``azure/*.py``, the root's ``*.py``, named by their file as they run) is a node. An edge
``a -> b`` means ``a`` imports ``b`` anywhere in its code, in a function too: an import that
runs later is still a dependency. ``from p import x`` is an edge to ``p.x`` when that is a
module, to ``p`` otherwise. Two kinds of import are left out: imports under
``if TYPE_CHECKING:``, which never run, and the implicit import of a module's parent package.
Third-party and standard-library modules are not nodes.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOT_PROJECT = {"tests", "build", "notebooks", "docs"}
SCRIPT_FOLDERS = ("scripts", "azure")


def modules(root: Path = REPO) -> dict[str, Path]:
    """Module name -> source file, for every module of the project."""
    found = {}
    for package in sorted(p.parent for p in root.glob("*/__init__.py") if p.parent.name not in NOT_PROJECT):
        for path in sorted(package.rglob("*.py")):
            if "__pycache__" not in path.parts:
                parts = path.relative_to(root).with_suffix("").parts
                found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    for path in [*root.glob("*.py"), *(p for folder in SCRIPT_FOLDERS for p in (root / folder).glob("*.py"))]:
        found[path.stem] = path
    return found


def graph(root: Path = REPO) -> dict[str, set[str]]:
    """Module name -> the project modules it imports."""
    known = modules(root)
    return {name: _imports(name, path, known) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every group of modules that import each other, directly or through others (Tarjan's components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in sorted(edges[module]):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while not group or group[-1] != module:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return found


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            for alias in node.names:
                full = f"{base}.{alias.name}" if base else alias.name
                targets.add(full if full in known else base)
    return {module for target in targets if (module := _nearest(target, known)) and module != name}


def _nearest(target: str, known: dict[str, Path]) -> str | None:
    """The project module ``target`` names, or its nearest enclosing one (``a.b.c`` -> ``a.b``)."""
    while target and target not in known:
        target = target.rpartition(".")[0]
    return target or None


def _runtime_nodes(tree: ast.AST):
    """Every node of the tree but the bodies of ``if TYPE_CHECKING:`` blocks."""
    pending = [tree]
    while pending:
        node = pending.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            pending.extend(node.orelse)
            continue
        pending.extend(ast.iter_child_nodes(node))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
