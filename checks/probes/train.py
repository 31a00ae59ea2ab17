"""Step 1 in the child: call split() and build_model() on the grader's cases, and use the saved model.

Predictions are asked for the flowers a question carries (drawn by the grader this run), never for
the public Iris rows.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
from sklearn.datasets import load_iris

from .harness import call, describe, import_module, submission_path


@functools.cache
def _iris():
    iris = load_iris()
    return iris.data, iris.target_names[iris.target]


def imported(args: dict) -> dict:
    outcome = call(import_module, "train")
    return outcome if "error" in outcome else {"value": True}


def split(case: dict) -> dict:
    X, y = _iris()
    return _split(import_module("train"), X, y, case)


def fit(case: dict) -> dict:
    X, y = _iris()
    return _fit(import_module("train"), X, y, case)


def saved(args: dict) -> dict:
    X, y = _iris()
    return _saved(import_module("train"), X, y, args.get("metadata"), np.asarray(args["flowers"], dtype=float))


OPS = {"train.import": imported, "train.split": split, "train.fit": fit, "train.saved": saved}


def _split(train, X, y, case: dict) -> dict:
    kwargs = {"seed": case["seed"], "test_size": case["test_size"]}
    first, again = call(train.split, X.copy(), y.copy(), **kwargs), call(train.split, X.copy(), y.copy(), **kwargs)
    if "error" in first or "error" in again:
        return first if "error" in first else again
    return {"value": [_rows(first["value"]), _rows(again["value"])]}


def _rows(parts) -> object:
    """X_train, X_test, y_train, y_test as lists (or a description of what came back instead)."""
    try:
        X_train, X_test, y_train, y_test = parts
        return {"X_train": np.asarray(X_train, dtype=float).tolist(), "X_test": np.asarray(X_test, dtype=float).tolist(),
                "y_train": [str(v) for v in y_train], "y_test": [str(v) for v in y_test]}
    except Exception as error:  # noqa: BLE001
        return {"shape_error": describe(error)["error"]}


def _fit(train, X, y, case: dict) -> dict:
    built = call(train.build_model)
    if "error" in built:
        return built
    model = built["value"]
    fitted_already = call(lambda: _is_fitted(model))
    fitted = call(lambda: model.fit(X[case["train"]], y[case["train"]]))
    if "error" in fitted:
        return fitted
    flowers = np.asarray(case["flowers"], dtype=float)
    predicted = call(lambda: [str(p) for p in model.predict(flowers)])
    return predicted if "error" in predicted else {"value": {"predicted": predicted["value"],
                                                             "fitted_before": fitted_already.get("value"),
                                                             "shape": call(_shape, model, X[case["train"]])}}


def _shape(model, X_train) -> dict:
    """What the fitted model is made of: a Pipeline?, its last step, and the columns its other steps hand that step."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    pipeline = isinstance(model, Pipeline)
    final = model.steps[-1][1] if pipeline else model
    shape = {"pipeline": pipeline, "final": type(final).__name__, "logistic": isinstance(final, LogisticRegression)}
    if pipeline and len(model.steps) > 1:
        seen = np.asarray(model[:-1].transform(X_train), dtype=float)
        shape |= {"mean": seen.mean(axis=0).tolist(), "std": seen.std(axis=0).tolist()}
    return shape


def _is_fitted(model) -> bool:
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(model)
        return True
    except NotFittedError:
        return False


def _saved(train, X, y, metadata: dict | None, flowers: np.ndarray) -> dict:
    """Load build/model/model.joblib here, in the sandbox, and report what it does with the grader's flowers."""
    path = submission_path() / "_model" / "model.joblib"
    if not path.exists():
        return {"error": "model.joblib not found", "todo": None}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = call(__import__("joblib").load, path)
    if "error" in loaded:
        return loaded
    model = loaded["value"]
    predicted = call(lambda: [str(p) for p in model.predict(flowers)])
    if "error" in predicted:
        return predicted
    seen = [getattr(part, "n_samples_seen_", None) for part in getattr(model, "named_steps", {}).values()]
    result = {"predicted": predicted["value"], "classes": call(lambda: [str(c) for c in model.classes_]),
              "n_samples_seen": [int(np.max(n)) for n in seen if n is not None][:1],
              "warnings": [f"{w.category.__name__}: {str(w.message)[:200]}" for w in caught][:5]}
    if isinstance(metadata, dict):  # the split the metadata says the model was tested on, by the student's split()
        again = call(train.split, X.copy(), y.copy(), seed=metadata.get("seed"), test_size=metadata.get("test_size"))
        if "value" in again:
            rows = _rows(again["value"])
            if "X_test" in rows:
                test_predicted = call(lambda: [str(p) for p in model.predict(np.asarray(rows["X_test"]))])
                result["own_split"] = {"y_test": rows["y_test"], "n_train": len(rows["y_train"]),
                                       "predicted": test_predicted.get("value")}
        else:
            result["own_split"] = again
    return {"value": result}
