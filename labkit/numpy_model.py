"""The Iris pipeline predicted from its exported numbers with NumPy alone: what a handler without
scikit-learn, SciPy or joblib would load (step 7; :mod:`labkit.numpy_variant` exports it)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


class NumpyModel:
    """The exported pipeline, predicted with NumPy alone."""

    def __init__(self, path: Path, dtype=np.float64):
        """Load the numbers, stored and computed in ``dtype`` (``np.float16`` quantises them)."""
        numbers = json.loads(path.read_text())
        self.dtype = np.dtype(dtype)
        self.classes_ = np.array(numbers["classes"])
        self.mean, self.scale, self.coef, self.intercept = (
            np.array(numbers[key], dtype=self.dtype) for key in ("mean", "scale", "coef", "intercept"))

    @property
    def parameter_bytes(self) -> int:
        """The size of the model itself: its numbers, in memory."""
        return sum(a.nbytes for a in (self.mean, self.scale, self.coef, self.intercept))

    def predict_proba(self, rows) -> np.ndarray:
        """One row of class probabilities per flower: standardise, a linear score per class, softmax."""
        scores = (np.asarray(rows, dtype=self.dtype) - self.mean) / self.scale @ self.coef.T + self.intercept
        scores -= scores.max(axis=1, keepdims=True)  # exp() of large scores would overflow
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)
