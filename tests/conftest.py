"""Shared fixtures: the reference model, trained once per test session, and the handler."""

from __future__ import annotations

import importlib

import pytest

from lab_solution import train


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    """A folder holding the reference model.joblib and metadata.json."""
    folder = tmp_path_factory.mktemp("model")
    train.train(folder)
    return folder


@pytest.fixture(scope="session")
def app(model_dir):
    """lab_solution.app imported as Lambda would: LAMBDA_TASK_ROOT names the model's folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LAMBDA_TASK_ROOT", str(model_dir))
        module = importlib.import_module("lab_solution.app")
        yield importlib.reload(module)
