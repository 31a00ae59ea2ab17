"""No two modules of the project import each other, directly or through others (read with ast, nothing imported)."""

from __future__ import annotations

import import_graph


def test_the_graph_covers_every_package_and_script_of_the_project():
    names = set(import_graph.graph())
    assert {"labkit.config", "checks.runner", "checks.sandbox.spawn", "checks.probes.harness", "localcloud.server",
            "lab_solution.app", "exercises.app", "run_lab", "make_exercises", "lambda_rie", "function_app"} <= names


def test_no_module_imports_itself_through_others():
    edges = import_graph.graph()
    found = import_graph.cycles(edges)
    assert not found, "import cycles:\n" + "\n".join(
        "  " + ", ".join(f"{m} -> {sorted(edges[m] & set(group))}" for m in group) for group in found)


def test_a_cycle_is_found_however_long_it_is():
    assert import_graph.cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert import_graph.cycles({"a": {"b"}, "b": set()}) == []


def test_from_imports_resolve_to_modules_and_type_checking_imports_do_not_count(tmp_path):
    # given a package whose modules import each other only for type checking, and a submodule by name
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("from . import a\n")
    (tmp_path / "pkg" / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import B\n"
                                           "def later():\n    from pkg.b import helper\n")
    (tmp_path / "pkg" / "b.py").write_text("import typing\nif typing.TYPE_CHECKING:\n    from . import a\n"
                                           "import pkg.b, pkg\n")
    # when
    edges = import_graph.graph(tmp_path)
    # then
    assert edges == {"pkg": {"pkg.a"}, "pkg.a": {"pkg.b"}, "pkg.b": {"pkg"}}
    assert import_graph.cycles(edges) == [["pkg", "pkg.a", "pkg.b"]]
