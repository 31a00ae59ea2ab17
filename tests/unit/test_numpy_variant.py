"""The NumPy-only variant of step 7: the pipeline's numbers, predicted without scikit-learn."""

from __future__ import annotations

import subprocess
import sys

import joblib
import pytest
from sklearn.tree import DecisionTreeClassifier

from labkit import config
from labkit.errors import LabError
from labkit.experiments import numpy_variant
from labkit.serving import NumpyModel


@pytest.fixture
def settings(model_dir, tmp_path):
    settings = config.load({}, build_dir=tmp_path)
    settings.model_dir.mkdir(parents=True)
    (settings.model_dir / "model.joblib").write_bytes((model_dir / "model.joblib").read_bytes())
    return settings


def test_the_numpy_predictions_agree_with_the_original_on_all_150_flowers(settings):
    # when
    path = numpy_variant.export(settings)
    agreed = numpy_variant.agreement(settings)
    # then
    assert agreed.ok and agreed.flowers == agreed.same_species == 150
    assert agreed.max_probability_difference < 1e-9  # float64, the same arithmetic
    assert list(NumpyModel(path).classes_) == ["setosa", "versicolor", "virginica"]


def test_the_numpy_model_needs_numpy_alone(settings):
    # given the exported numbers
    path = numpy_variant.export(settings)
    # when a fresh interpreter in which scikit-learn, SciPy and joblib cannot be imported predicts a setosa
    script = ("import sys\n"
              "for name in ('sklearn', 'scipy', 'joblib'): sys.modules[name] = None  # importing them now fails\n"
              "from pathlib import Path\n"
              "from labkit.serving import NumpyModel\n"
              f"model = NumpyModel(Path({str(path)!r}))\n"
              "print(model.classes_[model.predict_proba([[5.1, 3.5, 1.4, 0.2]]).argmax()])\n")
    answer = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    # then
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.strip() == "setosa"


def test_another_kind_of_model_is_one_clear_error(settings):
    # given a model that is not a scaler + logistic regression
    tree = DecisionTreeClassifier().fit([[1, 2, 3, 4], [4, 3, 2, 1]], ["setosa", "virginica"])
    joblib.dump(tree, settings.model_dir / "model.joblib")
    # then
    with pytest.raises(LabError, match="StandardScaler \\+ LogisticRegression"):
        numpy_variant.export(settings)


def test_quantisation_shrinks_the_numbers_and_reports_what_it_costs(settings):
    # given the exported numbers
    numpy_variant.export(settings)
    # when
    by_dtype = {p.dtype: p for p in numpy_variant.quantisation(settings, repeats=10)}
    # then float32 and float16 take a half and a quarter of the bytes, and lose precision in that order
    assert set(by_dtype) == {"float64", "float32", "float16"}
    assert by_dtype["float64"].parameter_bytes == 2 * by_dtype["float32"].parameter_bytes == 4 * by_dtype["float16"].parameter_bytes
    differences = [by_dtype[d].agreed.max_probability_difference for d in ("float64", "float32", "float16")]
    assert differences == sorted(differences) and differences[0] < differences[2]
    assert by_dtype["float32"].agreed.ok
    assert all(p.agreed.flowers == 150 and p.predict_ms > 0 for p in by_dtype.values())


def test_a_numpy_image_is_staged_with_numpy_alone(settings):
    # given the exported numbers
    numpy_variant.export(settings)
    # when
    context = numpy_variant.stage(settings, config.code_dir(settings) / "app.py")
    # then
    assert {"Dockerfile", "app.py", "model.json", "requirements.txt", "labkit"} <= {p.name for p in context.iterdir()}
    pins = [line.split("==")[0] for line in (context / "requirements.txt").read_text().splitlines() if "==" in line]
    assert pins == ["numpy"]


def test_the_numpy_image_pins_the_numpy_the_lab_pins():
    def pins(path):
        return {line.strip() for line in path.read_text().splitlines() if "==" in line}

    assert pins(config.REPO_ROOT / "docker/numpy/requirements.txt") <= pins(config.REPO_ROOT / "requirements.txt")
