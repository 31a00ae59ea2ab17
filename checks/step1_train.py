"""Step 1: split() and build_model() follow their contracts; the saved model is good and honestly described."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter

import numpy as np
import sklearn
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split

from labkit.serving import FEATURES

from . import cases
from .context import REPO_ROOT
from .framework import CheckFailed, Plan, joined, say, step

STEP = step(1)
SPECIES = ("setosa", "versicolor", "virginica")
SPLIT, BUILD = "train.py:split", "train.py:build_model"
TEST_SIZES = (0.1, 0.2, 0.25, 0.3, 0.4, 0.5)
MIN_ACCURACY = 0.90
FITS = 4  # pooled over 4 fits on random 70% of Iris, each asked about 45 drawn flowers: the reference scores >= 0.97
HELD_OUT = 45
SAVED_FLOWERS = 150
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
    draw = cases.draw(1)  # fresh cases every run (or the class batch's seed): a submission cannot know them
    seeds = draw.sample(range(1_000_000), 5)
    splits = [{"seed": seeds[0], "test_size": 0.2}, {"seed": seeds[1], "test_size": 0.2}]
    splits += [{"seed": s, "test_size": draw.choice(TEST_SIZES)} for s in seeds[2:]]
    trains = [held_out(draw.randrange(1_000_000))[0] for _ in range(FITS)]
    asked = [cases.draw_flowers(draw, HELD_OUT) for _ in range(FITS)]  # flowers no one has seen, species known here
    saved = cases.draw_flowers(draw, SAVED_FLOWERS)
    fits = [{"train": train, "flowers": [f for f, _ in flowers]} for train, flowers in zip(trains, asked)]
    files = dict(ctx.submission_files())
    model = ctx.settings.model_dir / "model.joblib"
    if model.is_file():
        files["_model/model.joblib"] = model
    meta = metadata(ctx)
    request = {"splits": splits, "fits": fits, "flowers": [f for f, _ in saved],
               "metadata": {"seed": meta.get("seed"), "test_size": meta.get("test_size")} if meta else None}
    return Plan("train", request, files, timeout=90,
                secret={"fits": [[s for _, s in flowers] for flowers in asked], "saved": [s for _, s in saved]})


@STEP.check("split() holds out test_size of the flowers, in the species' proportions", points=2, todos=(SPLIT,),
            hint="train.py split(): hold out test_size of the rows, stratified by species (train_test_split's stratify=).")
def split_sizes(run):
    X, y = iris()
    everything = Counter((tuple(row), label) for row, label in zip(X.tolist(), y))
    for number, case in enumerate(run.plan.request["splits"]):
        parts = run.value(f"split/{number}")[0]
        if "shape_error" in parts:
            raise CheckFailed(say(f"split() must return X_train, X_test, y_train, y_test ({parts['shape_error']})",
                                  f"split()-কে X_train, X_test, y_train, y_test ফেরত দিতে হবে ({parts['shape_error']})"))
        size, n_test = case["test_size"], len(parts["y_test"])
        if abs(n_test - size * len(y)) > 1:
            call = f"split(seed={case['seed']}, test_size={size})"
            raise CheckFailed(say(f"{call} held out {n_test} of {len(y)} flowers",
                                  f"{call} {len(y)}টা ফুলের মধ্যে {n_test}টা আলাদা রেখেছে"))
        together = Counter((tuple(r), label) for key in ("train", "test")
                           for r, label in zip(parts[f"X_{key}"], parts[f"y_{key}"]))
        if together != everything:
            raise CheckFailed(say("the train and test parts together are not the 150 flowers, each with its species",
                                  "train আর test অংশ মিলিয়ে সেই 150টা ফুল হয় না, প্রতিটা তার নিজের species সহ"))
        counts = Counter(parts["y_test"])
        if any(abs(counts[s] - size * 50) > 1 for s in SPECIES):
            raise CheckFailed(say(f"test_size={size}: the test part has {dict(counts)}, not the species' proportions",
                                  f"test_size={size}: test অংশে আছে {dict(counts)}, species-এর অনুপাতে নয়"))


@STEP.check("split() is reproducible and follows its seed", points=1, todos=(SPLIT,),
            hint="train.py split(): pass seed on as random_state; the same seed must give the same split.")
def split_seeded(run):
    tests = []
    for number, case in enumerate(run.plan.request["splits"]):
        first, again = run.value(f"split/{number}")
        if first != again:
            raise CheckFailed(say(f"two calls of split(seed={case['seed']}) gave different splits",
                                  f"split(seed={case['seed']}) দুবার ডাকলে দুরকম split এসেছে"))
        tests.append(first.get("X_test"))
    if tests[0] == tests[1]:
        raise CheckFailed(say("split() gave the same test part for two different seeds",
                              "দুটো আলাদা seed-এ split() একই test অংশ দিয়েছে"))


@STEP.check("build_model() is an unfitted pipeline that reaches 90% on flowers the checker holds out", points=3,
            todos=(BUILD,), hint="train.py build_model(): scale the features, then a classifier such as "
                                 "LogisticRegression; return it unfitted.")
def recipe_accuracy(run):
    right = total = 0
    for number, species in enumerate(run.plan.secret["fits"]):
        fitted = run.value(f"fit/{number}")
        if fitted["fitted_before"]:
            raise CheckFailed(say("build_model() returned a model that is already fitted; return a fresh pipeline",
                                  "build_model() আগেই fit করা model ফেরত দিয়েছে; নতুন, fit না করা pipeline ফেরত দাও"))
        right += int(np.sum(np.array(fitted["predicted"]) == np.array(species)))
        total += len(species)
    if right / total < MIN_ACCURACY:
        raise CheckFailed(say(f"accuracy {right / total:.3f} on the checker's held-out flowers (needs >= {MIN_ACCURACY})",
                              f"checker-এর আলাদা রাখা ফুলে accuracy {right / total:.3f} (লাগবে অন্তত {MIN_ACCURACY})"))
    return say(f"accuracy {right / total:.3f} over {total} held-out flowers",
               f"আলাদা রাখা {total}টা ফুলে accuracy {right / total:.3f}")


@STEP.check("build_model() standardises the measurements, then logistic regression", points=1, todos=(BUILD,),
            hint="train.py build_model(): the docstring asks for a Pipeline whose first step standardises each "
                 "measurement (mean 0, standard deviation 1) and whose last step is a LogisticRegression.")
def recipe_shape(run):
    shape = run.value("fit/0")["shape"]
    if "error" in shape:
        raise CheckFailed(say(f"looking at the fitted model failed: {shape['error']}",
                              f"fit করা model-টা দেখতে গিয়ে ব্যর্থ: {shape['error']}"))
    shape = shape["value"]
    if not shape["pipeline"] or not shape["logistic"]:
        kind = "Pipeline" if shape["pipeline"] else shape["final"]
        raise CheckFailed(say(f"build_model() returned a {kind} ending in {shape['final']}; expected a Pipeline ending "
                              "in LogisticRegression",
                              f"build_model() ফেরত দিয়েছে একটা {kind}, যার শেষে {shape['final']}; আশা ছিল একটা "
                              "Pipeline, যার শেষে LogisticRegression"))
    means, stds = shape.get("mean"), shape.get("std")
    if not means or max(abs(m) for m in means) > 1e-6 or max(abs(s - 1) for s in stds) > 1e-6:
        if means:
            found = (f"their output has means {_rounded(means)} and standard deviations {_rounded(stds)}",
                     f"তাদের output-এর mean {_rounded(means)} আর standard deviation {_rounded(stds)}")
        else:
            found = ("there is no step before the classifier", "classifier-এর আগে কোনো step নেই")
        raise CheckFailed(say("the steps before the classifier do not standardise the measurements (after fitting, "
                              f"{found[0]})",
                              f"classifier-এর আগের step-গুলো measurement standardise করে না (fit করার পরে "
                              f"{found[1]})"))


def _rounded(values) -> list:
    return [round(v, 3) for v in values]


@STEP.check("model.joblib and metadata.json exist", points=1, todos=(SPLIT, BUILD),
            hint="Run train.py's train() (notebook 01, or `python -m <code>.train`); it writes build/model/.")
def files_exist(run):
    folder = run.ctx.settings.model_dir
    missing = [name for name in ("model.joblib", "metadata.json") if not (folder / name).is_file()]
    if missing:
        raise CheckFailed(say(f"{', '.join(missing)} not found in {folder}", f"{folder}-এ {', '.join(missing)} নেই"))
    if metadata(run.ctx) is None:
        raise CheckFailed(say("metadata.json is not a JSON object", "metadata.json একটা JSON object নয়"))


@STEP.check("the saved model predicts species names and reaches 90% accuracy", points=2,
            todos=(SPLIT, BUILD), needs="model.joblib and metadata.json exist",
            hint="train.py train(): fit build_model() on the training part of split() (all of it) and save that model.")
def saved_model(run):
    saved = run.value("saved")
    mismatched = [w for w in saved["warnings"] if "InconsistentVersion" in w]
    if mismatched:
        raise CheckFailed(say(f"the model was saved by another scikit-learn: {mismatched[0]}",
                              f"model-টা অন্য একটা scikit-learn দিয়ে save করা: {mismatched[0]}"))
    predicted = saved["predicted"]
    if not set(predicted) <= set(SPECIES):
        found = sorted(set(predicted))[:3]
        raise CheckFailed(say(f"predict() returns {found}, not the species names {list(SPECIES)}",
                              f"predict() ফেরত দেয় {found}, species-এর নাম {list(SPECIES)} নয়"))
    species = run.plan.secret["saved"]
    accuracy = float(np.mean(np.array(predicted) == np.array(species)))
    if accuracy < MIN_ACCURACY:
        raise CheckFailed(say(f"the saved model scores {accuracy:.3f} on {len(species)} flowers the checker drew",
                              f"checker-এর আঁকা {len(species)}টা ফুলে save করা model পায় {accuracy:.3f}"))
    return say(f"accuracy {accuracy:.3f} on {len(species)} flowers the checker drew",
               f"checker-এর আঁকা {len(species)}টা ফুলে accuracy {accuracy:.3f}")


@STEP.check("metadata.json describes the saved model and how it was trained", points=2, todos=(SPLIT, BUILD),
            needs="model.joblib and metadata.json exist",
            hint="train.py train(): write the metadata from the model, split and test scores you just computed.")
def metadata_matches(run):
    meta, saved = metadata(run.ctx), run.value("saved")
    model, described = run.ctx.settings.model_dir / "model.joblib", run.ctx.settings.model_dir / "metadata.json"
    problems = []
    if meta.get("sha256") != hashlib.sha256(model.read_bytes()).hexdigest():
        if described.stat().st_mtime_ns < model.stat().st_mtime_ns:  # the model changed after its metadata was written
            raise CheckFailed(say(
                "metadata.json on disk is older than model.joblib and describes another model (its sha256 differs): "
                "model.joblib was saved again after its metadata was written. If another cell or run saved it, run "
                "train() again (notebook 01) to write both together; if train() itself saves the model last, its "
                "metadata must describe that model",
                "disk-এর metadata.json model.joblib-এর চেয়ে পুরোনো, আর এটা অন্য একটা model-এর বর্ণনা (sha256 মেলে না): "
                "metadata লেখার পরে model.joblib আবার save হয়েছে। অন্য কোনো cell বা run সেটা করে থাকলে train() আবার "
                "চালাও (notebook 01), যাতে দুটো file একসঙ্গে লেখা হয়; train() নিজেই শেষে model save করলে, metadata-কে "
                "সেই model-টারই বর্ণনা দিতে হবে"))
        problems.append(say("sha256 is not the hash of model.joblib", "sha256 model.joblib-এর hash নয়"))
    if meta.get("features") != list(FEATURES):
        problems.append(say(f"features should be {list(FEATURES)} in that order",
                            f"features হওয়া উচিত {list(FEATURES)}, এই ক্রমে"))
    if meta.get("classes") != saved["classes"].get("value"):
        problems.append(say("classes differ from the model's classes_", "classes model-এর classes_-এর সঙ্গে মেলে না"))
    if meta.get("sklearn_version") != sklearn.__version__:
        problems.append(say(f"sklearn_version {meta.get('sklearn_version')} is not the lab's {sklearn.__version__}",
                            f"sklearn_version {meta.get('sklearn_version')}, lab-এর {sklearn.__version__} নয়"))
    own = saved.get("own_split")
    if not isinstance(own, dict) or "y_test" not in own:
        problems.append(say("split(seed, test_size) with the metadata's seed and test_size fails",
                            "metadata-র seed আর test_size দিয়ে split(seed, test_size) ব্যর্থ হয়"))
    else:
        accuracy = float(np.mean(np.array(own["predicted"]) == np.array(own["y_test"])))
        said = meta.get("accuracy")
        if not isinstance(said, (int, float)) or isinstance(said, bool) or not (
                math.isclose(said, accuracy, abs_tol=1e-9) or said == round(accuracy, 4)):  # exact, or to 4 places
            problems.append(say(f"accuracy says {said}; the model scores {accuracy!r} on its test part "
                                "(write it exactly, or rounded to 4 decimals)",
                                f"accuracy বলছে {said}; model তার test অংশে পায় {accuracy!r} "
                                "(হুবহু লেখো, বা দশমিকের পর 4 ঘর পর্যন্ত round করে)"))
        counts = {"n_train": own["n_train"], "n_test": len(own["y_test"])}
        problems += [say(f"{k} says {meta.get(k)}; the split has {v}", f"{k} বলছে {meta.get(k)}; split-এ আছে {v}")
                     for k, v in counts.items() if meta.get(k) != v]
        if saved["n_samples_seen"] and saved["n_samples_seen"][0] != own["n_train"]:
            seen = saved["n_samples_seen"][0]
            problems.append(say(f"the model was fitted on {seen} flowers, not the {own['n_train']} of the training part",
                                f"model fit হয়েছে {seen}টা ফুলে, training অংশের {own['n_train']}টায় নয়"))
    if problems:
        raise CheckFailed(joined(problems))


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
        raise CheckFailed(say(f"{requirements.name} pins scikit-learn {pins or 'nowhere'}; the model was trained with {trained}",
                              f"{requirements.name} scikit-learn pin করে {pins or 'কোথাও না'}; model train হয়েছে {trained} দিয়ে"))
