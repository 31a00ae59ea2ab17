"""Fixtures of the security tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def victim(tmp_path):
    """A folder outside LOCALCLOUD_HOME with a file and a subfolder, which no image may touch."""
    folder = tmp_path / "victim"
    (folder / "sub").mkdir(parents=True)
    (folder / "existing.txt").write_text("original")
    (folder / "sub" / "kept.txt").write_text("kept")
    return folder
