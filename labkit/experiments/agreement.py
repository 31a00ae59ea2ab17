"""Does a re-implementation of the model answer like the original? Step 7's lighter variants
(ONNX Runtime, NumPy alone) must agree with it on every flower of the Iris dataset before use."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import joblib
import numpy as np
from sklearn.datasets import load_iris

from .. import images
from ..config import Settings

TOLERANCE = 1e-5  # ONNX Runtime computes in float32


@dataclass(frozen=True)
class Agreement:
    flowers: int
    same_species: int
    max_probability_difference: float

    @property
    def ok(self) -> bool:
        return self.same_species == self.flowers and self.max_probability_difference <= TOLERANCE


def original(settings: Settings):
    """The trained scikit-learn pipeline of step 1, which every variant is exported from."""
    return joblib.load(images.trained_model(settings))


def on_iris(original, classes: Sequence[str], predict_proba: Callable[[np.ndarray], np.ndarray]) -> Agreement:
    """Compare ``predict_proba`` (columns in the order of ``classes``) with the original model."""
    flowers = load_iris().data
    expected = original.predict_proba(flowers)
    got = predict_proba(flowers)
    same = sum(original.classes_[e] == classes[g] for e, g in zip(expected.argmax(1), got.argmax(1)))
    return Agreement(len(flowers), int(same), float(np.abs(expected - got).max()))
