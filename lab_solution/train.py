"""Step 1: train the Iris classifier and save it with its metadata.

    python -m lab_solution.train

Reproducible: a fixed seed and a stratified split give the same model, accuracy and
confusion matrix on every run. Writes ``model.joblib`` and ``metadata.json`` into
the settings' model folder (``build/model`` by default).
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import joblib
import numpy as np
import sklearn
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from labkit import config
from labkit.errors import run_cli

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
SEED = 42
TEST_SIZE = 0.2
MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"


@dataclass(frozen=True)
class TrainingResult:
    """What :func:`train` produced: the fitted model, its test scores and its files."""

    model: Pipeline
    accuracy: float
    confusion: np.ndarray
    classes: tuple[str, ...]
    model_path: Path
    metadata_path: Path


def load_dataset() -> tuple[np.ndarray, np.ndarray]:
    """The 150 Iris flowers: features in :data:`FEATURES` order (cm) and species names."""
    iris = load_iris()
    return iris.data, iris.target_names[iris.target]


def split(X: np.ndarray, y: np.ndarray, seed: int = SEED, test_size: float = TEST_SIZE):
    """Hold out ``test_size`` of the flowers for testing, in the same species proportions.

    Returns:
        ``X_train, X_test, y_train, y_test``, identical for identical arguments.
    """
    # BEGIN SOLUTION: keep each species' share and follow seed: read train_test_split's stratify and random_state.
    return train_test_split(X, y, test_size=test_size, random_state=seed, stratify=y)
    # END SOLUTION


def build_model(seed: int = SEED) -> Pipeline:
    """An untrained pipeline: standardise the four measurements, then logistic regression."""
    # BEGIN SOLUTION: an unfitted Pipeline, a scaler then a classifier: see make_pipeline, StandardScaler, LogisticRegression.
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))
    # END SOLUTION


def train(out_dir: Path, seed: int = SEED) -> TrainingResult:
    """Train, evaluate on the held-out split, and save the model and its metadata.

    Args:
        out_dir: folder for ``model.joblib`` and ``metadata.json`` (created if missing).
        seed: controls the split and the model; the same seed gives the same model.
    """
    X, y = load_dataset()
    X_train, X_test, y_train, y_test = split(X, y, seed=seed)
    model = build_model(seed).fit(X_train, y_train)
    predicted = model.predict(X_test)
    classes = tuple(str(c) for c in model.classes_)
    accuracy = float(accuracy_score(y_test, predicted))
    confusion = confusion_matrix(y_test, predicted, labels=list(classes))

    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / MODEL_FILE
    joblib.dump(model, model_path)
    metadata = {
        "model_file": MODEL_FILE,
        "sha256": hashlib.sha256(model_path.read_bytes()).hexdigest(),
        "sklearn_version": sklearn.__version__,
        "python_version": platform.python_version(),
        "features": list(FEATURES),
        "classes": list(classes),
        "accuracy": accuracy,
        "confusion_matrix": confusion.tolist(),
        "seed": seed,
        "test_size": TEST_SIZE,
        "n_train": len(y_train),
        "n_test": len(y_test),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    metadata_path = out_dir / METADATA_FILE
    metadata_path.write_text(json.dumps(metadata, indent=2) + "\n")
    return TrainingResult(model, accuracy, confusion, classes, model_path, metadata_path)


def format_confusion(result: TrainingResult) -> str:
    """The confusion matrix as a small text table: rows are true species, columns predicted."""
    width = max(len(c) for c in result.classes) + 2
    lines = [" " * width + "".join(c.rjust(width) for c in result.classes)]
    for name, row in zip(result.classes, result.confusion):
        lines.append(name.ljust(width) + "".join(str(n).rjust(width) for n in row))
    return "\n".join(lines)


def main() -> int:
    settings = config.load()
    result = train(settings.model_dir)
    print(f"test accuracy: {result.accuracy:.3f}")
    print(format_confusion(result))
    print(f"wrote {result.model_path} and {result.metadata_path}")
    return 0


if __name__ == "__main__":
    run_cli(main)
