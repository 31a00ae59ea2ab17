"""Parsing ``python -X importtime``: startup, the handler's imports by package, and its own time."""

from __future__ import annotations

import pytest

from labkit.errors import LabError
from labkit.experiments.init_profile import HANDLER_ROW, OTHER_ROW, ROWS, STARTUP_ROW, format_profile, parse_importtime

LOG = """\
import time: self [us] | cumulative | imported package
import time:       300 |        300 |   _io
import time:       700 |       1000 | encodings
import time:      2000 |       2000 |       numpy._core
import time:      1000 |       3000 |     numpy
import time:      4000 |       4000 |       scipy.linalg
import time:      5000 |      12000 |     sklearn.base
import time:       500 |        500 |     json
import time:      1500 |      17000 | app
"""


def test_rows_sum_self_times_by_top_level_package():
    profile = parse_importtime(LOG)
    assert list(profile.rows) == list(ROWS)
    assert profile.rows[STARTUP_ROW] == pytest.approx(1.0)
    assert profile.rows["NumPy"] == pytest.approx(3.0)
    assert profile.rows["SciPy"] == pytest.approx(4.0)
    assert profile.rows["scikit-learn"] == pytest.approx(5.0)
    assert profile.rows[OTHER_ROW] == pytest.approx(0.5)
    assert profile.rows[HANDLER_ROW] == pytest.approx(1.5)
    assert profile.total_ms == pytest.approx(15.0)
    assert profile.share("SciPy", "scikit-learn") == pytest.approx(0.6)


def test_the_table_lists_every_row_and_the_total():
    lines = format_profile(parse_importtime(LOG), "en").splitlines()
    assert [line.split("  ")[0] for line in lines[:-1]] == list(ROWS)
    assert lines[-1].startswith("total") and lines[-1].endswith("15.0 ms")


def test_the_table_reads_in_bengali_with_the_package_names_kept():
    lines = format_profile(parse_importtime(LOG), "bn").splitlines()
    assert lines[0].startswith("Python চালু হওয়ার module") and lines[2].startswith("SciPy")
    assert lines[-1].startswith("মোট") and lines[-1].endswith("15.0 ms")


def test_a_failed_import_is_a_clear_error():
    with pytest.raises(LabError, match="did not finish.*ModuleNotFoundError"):
        parse_importtime(LOG.rsplit("\n", 2)[0] + "\nModuleNotFoundError: No module named 'sklearn'\n")
