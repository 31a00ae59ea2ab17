"""Step 1: split() and build_model() follow their contracts; the saved model is good and honestly described."""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections import Counter

import numpy as np
import sklearn
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split

from labkit.serving import FEATURES

from .context import REPO_ROOT
from .framework import CheckFailed, Plan, step

STEP = step(1)
SPECIES = ("setosa", "versicolor", "virginica")
SPLIT, BUILD = "train.py:split", "train.py:build_model"
TEST_SIZES = (0.1, 0.2, 0.25, 0.3, 0.4, 0.5)
MIN_ACCURACY = 0.90
FITS = 4  # pooled over 4 random held-out sets of 45 flowers: the reference recipe scores >= 0.92 (300 seeds)
MAX_METADATA_BYTES = 100_000
IMAGE_REQUIREMENTS = ("requirements.txt", "docker/requirements.txt")  # the submission's own, else the lab's


def iris():
    data = load_iris()
    return data.data, data.target_names[data.target]


def held_out(seed: int, test_size: float = 0.3) -> tuple[list[int], list[int]]:
    """Row numbers of a stratified split of the grader's own choosing."""
    _, y = iris()
    train, test = train_test_split(np.arange(len(y)), test_size=test_size, random_state=seed, stratify=y)
    return sorted(int(i) for i in train), sorted(int(i) for i in test)


def metadata(ctx) -> dict | None:
    path = ctx.settings.model_dir / "metadata.json"
    if not path.is_file() or path.stat().st_size > MAX_METADATA_BYTES:
        return None
    try:
        found = json.loads(path.read_text())
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


@STEP.observe
def plan(ctx) -> Plan:
    draw = random.Random()  # fresh cases every run: a submission cannot know them in advance
    seeds = draw.sample(range(1_000_000), 5)
    splits = [{"seed": seeds[0], "test_size": 0.2}, {"seed": seeds[1], "test_size": 0.2}]
    splits += [{"seed": s, "test_size": draw.choice(TEST_SIZES)} for s in seeds[2:]]
    fits = [dict(zip(("train", "test"), held_out(draw.randrange(1_000_000)))) for _ in range(FITS)]
    files = dict(ctx.submission_files())
    model = ctx.settings.model_dir / "model.joblib"
    if model.is_file():
        files["_model/model.joblib"] = model
    meta = metadata(ctx)
    request = {"splits": splits, "fits": fits,
               "metadata": {"seed": meta.get("seed"), "test_size": meta.get("test_size")} if meta else None}
    return Plan("train", request, files, timeout=90)


@STEP.check("split() holds out test_size of the flowers, in the species' proportions", points=2, todos=(SPLIT,),
            hint="train.py split(): hold out test_size of the rows, stratified by species (train_test_split's stratify=).")
def split_sizes(run):
    X, y = iris()
    everything = Counter((tuple(row), label) for row, label in zip(X.tolist(), y))
    for number, case in enumerate(run.plan.request["splits"]):
        parts = run.value(f"split/{number}")[0]
        if "shape_error" in parts:
            raise CheckFailed(f"split() must return X_train, X_test, y_train, y_test ({parts['shape_error']})")
        size, n_test = case["test_size"], len(parts["y_test"])
        if abs(n_test - size * len(y)) > 1:
            raise CheckFailed(f"split(seed={case['seed']}, test_size={size}) held out {n_test} of {len(y)} flowers")
        together = Counter((tuple(r), label) for key in ("train", "test")
                           for r, label in zip(parts[f"X_{key}"], parts[f"y_{key}"]))
        if together != everything:
            raise CheckFailed("the train and test parts together are not the 150 flowers, each with its species")
        counts = Counter(parts["y_test"])
        if any(abs(counts[s] - size * 50) > 1 for s in SPECIES):
            raise CheckFailed(f"test_size={size}: the test part has {dict(counts)}, not the species' proportions")


@STEP.check("split() is reproducible and follows its seed", points=1, todos=(SPLIT,),
            hint="train.py split(): pass seed on as random_state; the same seed must give the same split.")
def split_seeded(run):
    tests = []
    for number, case in enumerate(run.plan.request["splits"]):
        first, again = run.value(f"split/{number}")
        if first != again:
            raise CheckFailed(f"two calls of split(seed={case['seed']}) gave different splits")
        tests.append(first.get("X_test"))
    if tests[0] == tests[1]:
        raise CheckFailed("split() gave the same test part for two different seeds")


@STEP.check("build_model() is an unfitted pipeline that reaches 90% on flowers the checker holds out", points=3,
            todos=(BUILD,), hint="train.py build_model(): scale the features, then a classifier such as "
                                 "LogisticRegression; return it unfitted.")
def recipe_accuracy(run):
    _, y = iris()
    right = total = 0
    for number, case in enumerate(run.plan.request["fits"]):
        fitted = run.value(f"fit/{number}")
        if fitted["fitted_before"]:
            raise CheckFailed("build_model() returned a model that is already fitted; return a fresh pipeline")
        right += int(np.sum(np.array(fitted["predicted"]) == y[case["test"]]))
        total += len(case["test"])
    if right / total < MIN_ACCURACY:
        raise CheckFailed(f"accuracy {right / total:.3f} on the checker's held-out flowers (needs >= {MIN_ACCURACY})")
    return f"accuracy {right / total:.3f} over {total} held-out flowers"


@STEP.check("build_model() standardises the measurements, then logistic regression", points=1, todos=(BUILD,),
            hint="train.py build_model(): the docstring asks for a Pipeline whose first step standardises each "
                 "measurement (mean 0, standard deviation 1) and whose last step is a LogisticRegression.")
def recipe_shape(run):
    shape = run.value("fit/0")["shape"]
    if "error" in shape:
        raise CheckFailed(f"looking at the fitted model failed: {shape['error']}")
    shape = shape["value"]
    if not shape["pipeline"] or not shape["logistic"]:
        raise CheckFailed(f"build_model() returned a {'Pipeline' if shape['pipeline'] else shape['final']} ending in "
                          f"{shape['final']}; expected a Pipeline ending in LogisticRegression")
    means, stds = shape.get("mean"), shape.get("std")
    if not means or max(abs(m) for m in means) > 1e-6 or max(abs(s - 1) for s in stds) > 1e-6:
        raise CheckFailed("the steps before the classifier do not standardise the measurements (after fitting, "
                          f"their output has means {_rounded(means)} and standard deviations {_rounded(stds)})")


def _rounded(values) -> list:
    return [round(v, 3) for v in values] if values else "none: there is no step before the classifier"


@STEP.check("model.joblib and metadata.json exist", points=1, todos=(SPLIT, BUILD),
            hint="Run train.py's train() (notebook 01, or `python -m <code>.train`); it writes build/model/.")
def files_exist(run):
    folder = run.ctx.settings.model_dir
    missing = [name for name in ("model.joblib", "metadata.json") if not (folder / name).is_file()]
    if missing:
        raise CheckFailed(f"{', '.join(missing)} not found in {folder}")
    if metadata(run.ctx) is None:
        raise CheckFailed("metadata.json is not a JSON object")


@STEP.check("the saved model predicts species names and reaches 90% accuracy", points=2,
            todos=(SPLIT, BUILD), needs="model.joblib and metadata.json exist",
            hint="train.py train(): fit build_model() on the training part of split() (all of it) and save that model.")
def saved_model(run):
    saved = run.value("saved")
    mismatched = [w for w in saved["warnings"] if "InconsistentVersion" in w]
    if mismatched:
        raise CheckFailed(f"the model was saved by another scikit-learn: {mismatched[0]}")
    predicted = saved["predicted"]
    if not set(predicted) <= set(SPECIES):
        raise CheckFailed(f"predict() returns {sorted(set(predicted))[:3]}, not the species names {list(SPECIES)}")
    _, y = iris()  # all 150: on a random 45 of them even the reference model dips below 90% once in 40 runs
    accuracy = float(np.mean(np.array(predicted) == y))
    if accuracy < MIN_ACCURACY:
        raise CheckFailed(f"the saved model scores {accuracy:.3f} on the 150 Iris flowers")
    return f"accuracy {accuracy:.3f} on the 150 Iris flowers"


@STEP.check("metadata.json describes the saved model and how it was trained", points=2, todos=(SPLIT, BUILD),
            needs="model.joblib and metadata.json exist",
            hint="train.py train(): write the metadata from the model, split and test scores you just computed.")
def metadata_matches(run):
    meta, saved = metadata(run.ctx), run.value("saved")
    model_bytes = (run.ctx.settings.model_dir / "model.joblib").read_bytes()
    problems = []
    if meta.get("sha256") != hashlib.sha256(model_bytes).hexdigest():
        problems.append("sha256 is not the hash of model.joblib")
    if meta.get("features") != list(FEATURES):
        problems.append(f"features should be {list(FEATURES)} in that order")
    if meta.get("classes") != saved["classes"].get("value"):
        problems.append("classes differ from the model's classes_")
    if meta.get("sklearn_version") != sklearn.__version__:
        problems.append(f"sklearn_version {meta.get('sklearn_version')} is not the lab's {sklearn.__version__}")
    own = saved.get("own_split")
    if not isinstance(own, dict) or "y_test" not in own:
        problems.append("split(seed, test_size) with the metadata's seed and test_size fails")
    else:
        accuracy = float(np.mean(np.array(own["predicted"]) == np.array(own["y_test"])))
        said = meta.get("accuracy")
        if not isinstance(said, (int, float)) or isinstance(said, bool) or not (
                math.isclose(said, accuracy, abs_tol=1e-9) or said == round(accuracy, 4)):  # exact, or to 4 places
            problems.append(f"accuracy says {said}; the model scores {accuracy!r} on its test part "
                            "(write it exactly, or rounded to 4 decimals)")
        counts = {"n_train": own["n_train"], "n_test": len(own["y_test"])}
        problems += [f"{k} says {meta.get(k)}; the split has {v}" for k, v in counts.items() if meta.get(k) != v]
        if saved["n_samples_seen"] and saved["n_samples_seen"][0] != own["n_train"]:
            problems.append(f"the model was fitted on {saved['n_samples_seen'][0]} flowers, not the {own['n_train']} "
                            "of the training part")
    if problems:
        raise CheckFailed("; ".join(problems))


@STEP.check("the image pins the scikit-learn that trained the model", points=1, todos=(SPLIT, BUILD),
            needs="model.joblib and metadata.json exist",
            hint="A model pickled by one scikit-learn may not load in another: the image's requirements.txt "
                 "must pin the version in metadata.json.")
def image_pins_training_version(run):
    trained = metadata(run.ctx).get("sklearn_version")
    own = [run.ctx.source(name) for name in IMAGE_REQUIREMENTS if run.ctx.source(name).is_file()]
    requirements = own[0] if own else REPO_ROOT / "docker" / "requirements.txt"
    pins = re.findall(r"^\s*scikit[-_]learn\s*==\s*([\w.]+)", requirements.read_text(errors="replace")[:100_000],
                      re.MULTILINE | re.IGNORECASE)
    if pins != [trained]:
        raise CheckFailed(f"{requirements.name} pins scikit-learn {pins or 'nowhere'}; the model was trained with {trained}")
