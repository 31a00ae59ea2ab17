"""Step 1: the model is trained reproducibly, saved with honest metadata, and pinned."""

from __future__ import annotations

import hashlib
import json
import re

import joblib
import numpy as np
import sklearn
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split


from labkit import serving

from .context import REPO_ROOT
from .framework import CheckFailed, step

STEP = step(1, "Train the model")
FEATURES = list(serving.FEATURES)
SPECIES = ["setosa", "versicolor", "virginica"]
CHECKER_SEED = 2024  # not the lab's seed: the checker holds out flowers of its own choosing
IMAGE_REQUIREMENTS = REPO_ROOT / "docker" / "requirements.txt"


def _artifacts(ctx):
    folder = ctx.settings.model_dir
    model_path, metadata_path = folder / "model.joblib", folder / "metadata.json"
    missing = [p.name for p in (model_path, metadata_path) if not p.exists()]
    if missing:
        raise CheckFailed(f"{', '.join(missing)} not found in {folder}")
    return model_path, json.loads(metadata_path.read_text())


@STEP.check("model.joblib and metadata.json exist", points=1,
            hint="Run the training step (notebook 01 or `python -m <code>.train`); it writes build/model/.")
def files_exist(ctx):
    _artifacts(ctx)


@STEP.check("the saved model loads and names the three species", points=2, needs="model.joblib and metadata.json exist",
            hint="Train on species names (not 0/1/2) so that predict() returns 'setosa', 'versicolor', 'virginica'.")
def model_loads(ctx):
    model_path, _ = _artifacts(ctx)
    model = joblib.load(model_path)
    iris = load_iris()
    samples = iris.data[[0, 50, 100]]  # one flower of each species
    predicted = [str(p) for p in model.predict(samples)]
    if predicted != SPECIES:
        raise CheckFailed(f"predicted {predicted} for one flower of each species; expected {SPECIES}")


@STEP.check("split() is stratified and reproducible", points=1,
            hint="Use train_test_split with random_state=seed and stratify=y.")
def split_is_stratified(ctx):
    train = ctx.code("train")
    X, y = train.load_dataset()
    first, second = train.split(X, y, seed=7), train.split(X, y, seed=7)
    if not all(np.array_equal(a, b) for a, b in zip(first, second)):
        raise CheckFailed("two calls with the same seed gave different splits")
    y_test = first[3]
    counts = {s: int((y_test == s).sum()) for s in SPECIES}
    if len(set(counts.values())) != 1:
        raise CheckFailed(f"the test split is not balanced across species: {counts}")


@STEP.check("the training recipe reaches 90% accuracy on flowers the checker holds out", points=3,
            hint="build_model() should scale the features and fit a classifier such as LogisticRegression.")
def accuracy_on_checker_split(ctx):
    train = ctx.code("train")
    iris = load_iris()
    X, y = iris.data, iris.target_names[iris.target]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=CHECKER_SEED, stratify=y
    )
    accuracy = float((train.build_model().fit(X_train, y_train).predict(X_test) == y_test).mean())
    if accuracy < 0.90:
        raise CheckFailed(f"accuracy {accuracy:.3f} on the checker's held-out flowers (needs >= 0.90)")
    return f"accuracy {accuracy:.3f}"


@STEP.check("metadata.json matches the saved model", points=2, needs="the saved model loads and names the three species",
            hint="Write the metadata from the same model object and test split you saved; do not type numbers in.")
def metadata_matches(ctx):
    model_path, metadata = _artifacts(ctx)
    problems = []
    if metadata.get("sha256") != hashlib.sha256(model_path.read_bytes()).hexdigest():
        problems.append("sha256 is not the hash of model.joblib")
    if metadata.get("features") != FEATURES:
        problems.append(f"features should be {FEATURES} in that order")
    model = joblib.load(model_path)
    if metadata.get("classes") != [str(c) for c in model.classes_]:
        problems.append("classes differ from model.classes_")
    if metadata.get("sklearn_version") != sklearn.__version__:
        problems.append(f"sklearn_version {metadata.get('sklearn_version')} is not the installed {sklearn.__version__}")
    train = ctx.code("train")
    X, y = train.load_dataset()
    try:
        _, X_test, _, y_test = train.split(X, y, seed=metadata["seed"], test_size=metadata["test_size"])
        accuracy = float((model.predict(X_test) == y_test).mean())
        if abs(accuracy - float(metadata["accuracy"])) > 1e-9:
            problems.append(f"accuracy says {metadata['accuracy']} but the model scores {accuracy:.4f} on its test split")
    except KeyError as missing:
        problems.append(f"{missing} is missing")
    if problems:
        raise CheckFailed("; ".join(problems))


@STEP.check("the Lambda image pins the scikit-learn that trained the model", points=1,
            needs="model.joblib and metadata.json exist",
            hint="A model pickled by one scikit-learn version may not load in another: pin the same one in docker/requirements.txt.")
def image_pins_training_version(ctx):
    _, metadata = _artifacts(ctx)
    pins = re.findall(r"^\s*scikit-learn\s*==\s*([\w.]+)", IMAGE_REQUIREMENTS.read_text(), re.MULTILINE | re.IGNORECASE)
    if pins != [metadata.get("sklearn_version")]:
        raise CheckFailed(
            f"docker/requirements.txt pins scikit-learn {pins or 'nowhere'}; the model was trained with "
            f"{metadata.get('sklearn_version')}"
        )
