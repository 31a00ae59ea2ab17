"""Every module and file the code's docstrings and the READMEs name exists: a name there is a link.

Dotted names (``localcloud.aws.awslambda.pools``, ``:mod:`labkit.config```, ``checks.grade``)
must import, the rest of the name being attributes; paths (``labkit/serving.py``,
``docker/lambda-base/``) must exist in the repository. A name with a blank in capitals
(``checks/stepN_*.py``) is a pattern, and a dotted name followed by ``=`` a label.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

from labkit.config import REPO_ROOT

PACKAGES = ("labkit", "checks", "localcloud", "lab_solution", "exercises", "lambda_rie", "scripts", "tests")
ROLE = re.compile(r":(?:mod|func|data|class|meth|attr):`~?\.?([\w.]+)`")  # Sphinx roles, also relative to the module
DOTTED = re.compile(rf"(?<![\w./-])((?:{'|'.join(PACKAGES[:6])})(?:\.[A-Za-z_]\w*)+)")
PATH = re.compile(rf"(?<![\w./-])((?:{'|'.join(PACKAGES)}|docker|notebooks|docs|azure)/[\w./-]*[\w/])")
SOURCES = sorted(p for pattern in ("labkit/**/*.py", "checks/**/*.py", "localcloud/**/*.py", "lab_solution/*.py",
                                   "lambda_rie*", "scripts/*.py") for p in REPO_ROOT.glob(pattern) if p.is_file())
DOCUMENTS = sorted(REPO_ROOT.glob("*.md")) + sorted(REPO_ROOT.glob("*/README.md")) + sorted(REPO_ROOT.glob("docs/*.md"))


def docstrings(path: Path) -> str:
    """The module's, classes' and functions' docstrings, and its comments."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    nodes = [tree] + [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
    comments = [line.split("#", 1)[1] for line in source.splitlines() if "#" in line]
    return "\n".join([ast.get_docstring(n) or "" for n in nodes] + comments)


def top_level_names(source: Path) -> set[str]:
    tree = ast.parse(source.read_text(encoding="utf-8"))
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}
    return names | {t.id for n in tree.body if isinstance(n, ast.Assign | ast.AnnAssign)
                    for t in (n.targets if isinstance(n, ast.Assign) else [n.target]) if isinstance(t, ast.Name)}


def instance_attribute(name: str) -> bool:
    """``module.Class.attribute`` where the class's methods assign ``self.attribute``."""
    owner, _, attribute = name.rpartition(".")
    if not resolves(owner) or not isinstance(cls := _object(owner), type):
        return False
    tree = ast.parse(Path(inspect.getsourcefile(cls)).read_text(encoding="utf-8"))
    node = next((n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == cls.__name__), None)
    return node is not None and any(isinstance(t, ast.Attribute) and t.attr == attribute and
                                    isinstance(t.value, ast.Name) and t.value.id == "self"
                                    for n in ast.walk(node) if isinstance(n, ast.Assign | ast.AnnAssign)
                                    for t in (n.targets if isinstance(n, ast.Assign) else [n.target]))


def _object(name: str):
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            found = getattr(found, attribute)
        return found
    raise LookupError(name)


def resolves(name: str) -> bool:
    """Whether ``name`` is a module or an attribute of one; a student's module is read, not imported (it loads a model)."""
    parts = name.rstrip(".").split(".")
    if not all(parts):
        return False
    if parts[0] in ("lab_solution", "exercises"):
        if len(parts) == 1:
            return True
        source = REPO_ROOT / parts[0] / f"{parts[1]}.py"
        return source.exists() and (len(parts) == 2 or (len(parts) == 3 and parts[2] in top_level_names(source)))
    for cut in range(len(parts), 0, -1):
        module = ".".join(parts[:cut])
        try:
            found = importlib.import_module(module)
        except ImportError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(found, attribute):
                return False
            found = getattr(found, attribute)
        return True
    return False


def placeholder(path: str) -> bool:
    """``checks/stepN_*.py``, ``exercises/FILE``: a pattern for many files, not a name (capitals mark the blank)."""
    return "*" in path or any(c.isupper() for c in re.sub(r"Dockerfile|README|Makefile", "", path))


def named(text: str) -> tuple[set[str], set[str]]:
    dotted = {m[1].rstrip(".") for m in DOTTED.finditer(text)
              if not m[1].endswith((".py", ".md", ".txt", ".json", ".yaml")) and not text[m.end():].startswith("=")}
    paths = {m for m in PATH.findall(text) if not placeholder(m)}
    return dotted, paths


def roles_unresolved(path: Path, text: str) -> list[str]:
    """Sphinx role targets that resolve neither as written nor relative to the module or its package."""
    module = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts).removesuffix(".__init__")
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    classes = [n.name for n in ast.parse(path.read_text(encoding="utf-8")).body if isinstance(n, ast.ClassDef)]
    places = ["{name}", f"{module}.{{name}}", f"{package}.{{name}}"]
    places += [f"{module}.{c}.{{name}}" for c in classes]  # :meth:`receive` inside a class's docstring
    return [name for name in ROLE.findall(text)
            if not any(resolves(p.format(name=name)) or instance_attribute(p.format(name=name)) for p in places)]


@pytest.mark.parametrize("path", SOURCES + DOCUMENTS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_name_resolves(path):
    text = docstrings(path) if path.suffix == ".py" else path.read_text(encoding="utf-8")
    dotted, paths = named(text)
    broken = sorted(n for n in dotted if not resolves(n))
    broken += roles_unresolved(path, text) if path.suffix == ".py" else []
    broken += sorted(p for p in paths if not (REPO_ROOT / p).exists() and not (REPO_ROOT / p.rstrip(".")).exists())
    assert not broken, f"{path.relative_to(REPO_ROOT)} names what does not exist: {sorted(set(broken))}"
