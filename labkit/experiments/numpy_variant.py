"""A smaller dependency tree, practised: the Iris pipeline predicted with NumPy alone.

    python -m labkit.experiments.numpy_variant    # export, check, measure float32/float16, build the NumPy image, compare

The trained pipeline is a ``StandardScaler`` and a ``LogisticRegression``: predicting is a
subtraction, a division, one matrix product and a softmax. :func:`export` writes those numbers
to ``model.json``; ``serving.NumpyModel`` (shipped in the image like the rest of ``labkit.serving``) predicts from them with NumPy alone (no
scikit-learn, no SciPy, no joblib), behind scikit-learn's ``predict_proba`` and ``classes_``,
so ``app.py``'s ``predict()`` works unchanged. Before it is used, it must agree with the
original on every flower of the Iris dataset.

:func:`quantisation` then stores the same numbers in float32 and float16 and measures, for each,
the model's size, its agreement with the original and the time of one prediction; :func:`compare`
builds the NumPy image (``docker/numpy/requirements.txt``) and measures it beside the scikit-learn image, as
``onnx_variant`` does for ONNX Runtime.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from .. import config, images
from ..bilingual import say, text
from ..config import Settings
from ..errors import LabError, run_cli
from ..serving import NumpyModel
from . import onnx_variant
from .agreement import Agreement, on_iris, original


def coefficients_path(settings: Settings) -> Path:
    """Where the export goes: a folder of its own, like the ONNX export."""
    return settings.model_dir / "numpy" / "model.json"


def export(settings: Settings) -> Path:
    """Write the scaler's and the logistic regression's numbers to :func:`coefficients_path`."""
    model = original(settings)
    steps = [step for _, step in getattr(model, "steps", [])]
    if len(steps) != 2 or not isinstance(steps[0], StandardScaler) or not isinstance(steps[1], LogisticRegression):
        raise LabError("the NumPy variant predicts a StandardScaler + LogisticRegression pipeline only,"
                       f" and this model is {model!r}")
    scaler, logistic = steps
    if logistic.coef_.shape[0] != len(logistic.classes_):
        raise LabError("the NumPy variant needs one score per class (three or more species)")
    numbers = {"classes": [str(c) for c in logistic.classes_], "mean": scaler.mean_.tolist(),
               "scale": scaler.scale_.tolist(), "coef": logistic.coef_.tolist(), "intercept": logistic.intercept_.tolist()}
    path = coefficients_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(numbers, indent=2) + "\n")
    return path


def agreement(settings: Settings) -> Agreement:
    """Compare the NumPy predictions with the original on all 150 flowers of the Iris dataset."""
    model = NumpyModel(coefficients_path(settings))
    return on_iris(original(settings), model.classes_, model.predict_proba)


def stage(settings: Settings, app_source: Path) -> Path:
    """The NumPy image's build context (``onnx_variant.stage_variant``) with model.json."""
    return onnx_variant.stage_variant(settings, "numpy", app_source, coefficients_path(settings))


def local_tag(settings: Settings) -> str:
    return f"{settings.name}:numpy"


def compare(settings: Settings, baseline: onnx_variant.Variant | None = None
            ) -> tuple[Agreement, list[onnx_variant.Variant]]:
    """Export and check the numbers, then measure the scikit-learn image (unless ``baseline`` is that
    measurement, e.g. :func:`onnx_variant.compare`'s, made minutes before) and the NumPy image."""
    export(settings)
    agreed = agreement(settings)
    if not agreed.ok:
        raise LabError(f"the NumPy predictions disagree with the original: {agreed}")
    code_dir = config.code_dir(settings)  # the same app.py in both images
    baseline = baseline or onnx_variant.measure(settings, "scikit-learn", images.stage(settings, code_dir),
                                                images.local_tag(settings))
    return agreed, [baseline,
                    onnx_variant.measure(settings, "NumPy only", stage(settings, code_dir / "app.py"), local_tag(settings))]


@dataclass(frozen=True)
class Precision:
    """The NumPy model with its numbers in one floating-point type, measured."""

    dtype: str
    parameter_bytes: int
    agreed: Agreement
    predict_ms: float  # median time of one flower's predict_proba


PRECISIONS = ("float64", "float32", "float16")


def quantisation(settings: Settings, repeats: int = 1000) -> list[Precision]:
    """Each of :data:`PRECISIONS`: the model's size, its agreement on all 150 flowers, one prediction's time."""
    trained, flower = original(settings), [[5.1, 3.5, 1.4, 0.2]]
    measured = []
    for dtype in PRECISIONS:
        model = NumpyModel(coefficients_path(settings), dtype)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            model.predict_proba(flower)
            times.append((time.perf_counter() - started) * 1000)
        agreed = on_iris(trained, model.classes_, model.predict_proba)
        measured.append(Precision(dtype, model.parameter_bytes, agreed, statistics.median(times)))
    return measured


HEADINGS = ("model", say("same species", "একই species"), say("max difference", "সর্বোচ্চ তফাত"),
            say("one prediction", "একটা prediction"))


def format_precisions(precisions: list[Precision], lang: str | None = None) -> str:
    """One line per precision: bytes, species agreement, largest probability difference, time (in ``lang``,
    default ``LAB_LANG``)."""
    model, same, most, one = (text(h, lang or config.language()) for h in HEADINGS)
    lines = [f"{'':<8} {model:>9} {same:>13} {most:>15} {one:>15}"]
    lines += [f"{p.dtype:<8} {p.parameter_bytes:>7} B {p.agreed.same_species:>9}/{p.agreed.flowers}"
              f" {p.agreed.max_probability_difference:>15.1e} {p.predict_ms:>12.4f} ms" for p in precisions]
    return "\n".join(lines)


def main() -> int:
    settings = config.load()
    agreed, variants = compare(settings)
    agrees = f"{agreed.same_species}/{agreed.flowers}"
    within = f"{agreed.max_probability_difference:.1e}"
    print(text(say(f"the NumPy predictions agree on {agrees} flowers, probabilities within {within}\n",
                   f"NumPy-র prediction {agrees}টা ফুলে মেলে, probability-র তফাত {within}-এর মধ্যে\n"), settings.lang))
    print(format_precisions(quantisation(settings), settings.lang) + "\n")
    print(onnx_variant.format_variants(variants, settings.lang))
    return 0


if __name__ == "__main__":
    run_cli(main)
