"""A model that fails on every prediction: step 2 checks that the handler answers 500 without a traceback."""

from __future__ import annotations

import numpy as np

FAILURE = "the grader's deliberately broken model failed"


class BrokenModel:
    """Looks like a fitted classifier; every prediction raises."""

    classes_ = np.array(["setosa", "versicolor", "virginica"])

    def predict_proba(self, rows):
        raise RuntimeError(FAILURE)

    def predict(self, rows):
        raise RuntimeError(FAILURE)
