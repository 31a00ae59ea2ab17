"""localcloud is a cloud reached over HTTP: none of its modules imports the lab, the grader or the reference.

Its import cycles and the names its docstrings link to are checked with the whole project's
(``tests/unit/test_import_graph.py``, ``tests/unit/test_named_paths.py``).
"""

from __future__ import annotations

import import_graph

LAB = ("labkit", "checks", "lab_solution", "exercises")


def test_the_stand_in_imports_nothing_of_the_lab():
    graph = import_graph.graph()
    offenders = {name: sorted(m for m in imports if m.split(".")[0] in LAB)
                 for name, imports in graph.items() if name.split(".")[0] == "localcloud"}
    assert len(offenders) > 20 and {name: found for name, found in offenders.items() if found} == {}
