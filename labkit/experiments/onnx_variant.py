"""A lighter runtime, measured: the same handler and model on ONNX Runtime instead of scikit-learn.

    python -m labkit.experiments.onnx_variant    # export, check, build both images, compare their cold starts

skl2onnx exports the trained pipeline to ``model.onnx``; ``app.py`` serves that file with
ONNX Runtime when the image holds it (``labkit.serving.OnnxModel``), so the image needs neither
scikit-learn nor SciPy. Before anything is built, the export must agree with the original
on every flower of the Iris dataset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime
from skl2onnx import to_onnx

from .. import config, images
from ..bilingual import say, text
from ..config import Settings
from ..errors import LabError, run_cli
from . import init_profile
from .agreement import Agreement, on_iris, original

DOCKER_DIR = config.REPO_ROOT / "docker" / "onnx"


def onnx_path(settings: Settings) -> Path:
    """Where the export goes: a folder of its own, never next to ``model.joblib``, because
    ``app.py`` serves ``model.onnx`` whenever its folder holds one (steps 2 and 3 must serve
    the scikit-learn model, even after this step has run)."""
    return settings.model_dir / "onnx" / "model.onnx"


@dataclass(frozen=True)
class Variant:
    """One image (or, in host mode, staged folder) and what its cold start costs."""

    name: str
    target: str | Path
    size_bytes: int | None  # None in host mode: no image
    imports: init_profile.InitProfile
    init_ms: float  # the RIE's INIT REPORT of a cold start
    first_request_ms: float  # the cold request's round trip


def export(settings: Settings) -> Path:
    """Write ``model.onnx`` (:func:`onnx_path`), with the class names in its metadata."""
    model = original(settings)
    exported = to_onnx(model, np.zeros((1, model.n_features_in_), dtype=np.float32),
                       options={"zipmap": False}, target_opset=17)
    exported.metadata_props.add(key="classes", value=json.dumps([str(c) for c in model.classes_]))
    path = onnx_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(exported.SerializeToString())
    return path


def agreement(settings: Settings) -> Agreement:
    """Compare the exported model with the original on all 150 flowers of the Iris dataset."""
    session = onnxruntime.InferenceSession(str(onnx_path(settings)), providers=["CPUExecutionProvider"])
    classes = json.loads(session.get_modelmeta().custom_metadata_map["classes"])
    name = session.get_inputs()[0].name
    return on_iris(original(settings), classes, lambda flowers: session.run(["probabilities"], {name: flowers.astype(np.float32)})[0])


def stage_variant(settings: Settings, name: str, app_source: Path, model: Path) -> Path:
    """A lighter image's build context, ``build/image-<name>``: the shared Dockerfile, the variant's
    requirements (``docker/<name>/``), app.py, labkit's serving code and the exported ``model``."""
    if not model.exists():
        raise LabError(f"{model} does not exist yet: export() the model first")
    return images.fill_context(settings.build_dir / f"image-{name}", {
        **images.CONTEXT_FILES, **images.SERVING_FILES, "Dockerfile": DOCKER_DIR / "Dockerfile",
        "requirements.txt": config.REPO_ROOT / "docker" / name / "requirements.txt", "app.py": app_source,
        model.name: model})


def stage(settings: Settings, app_source: Path) -> Path:
    """The ONNX image's build context (:func:`stage_variant`) with model.onnx."""
    return stage_variant(settings, "onnx", app_source, onnx_path(settings))


def local_tag(settings: Settings) -> str:
    return f"{settings.name}:onnx"


def measure(settings: Settings, name: str, context: Path, tag: str) -> Variant:
    """Build ``context`` as ``tag`` (docker mode), then time its imports and one cold start under the RIE."""
    if images.uses_docker(settings):
        info = config.import_code(settings, "image").build(settings, context, tag)
        target, size = info.tag, info.size_bytes
    else:
        target, size = context, None
    imports = init_profile.profile(settings, target)
    with images.run_local(settings, target) as local:
        payload, first_ms = local.invoke(config.SETOSA)
        if payload.get("statusCode") != 200 or json.loads(payload["body"])["prediction"] != "setosa":
            raise LabError(f"the {name} image answered {payload}; its log:\n{local.logs()[-1500:]}")
        init_ms = local.durations()["init_ms"]
    if not init_ms:
        raise LabError(f"the {name} image's log has no INIT REPORT line")
    return Variant(name, target, size, imports, init_ms[0], first_ms)


def compare(settings: Settings) -> tuple[Agreement, list[Variant]]:
    """Export and check the ONNX model, then measure the scikit-learn and the ONNX image, in one run."""
    export(settings)
    agreed = agreement(settings)
    if not agreed.ok:
        raise LabError(f"the ONNX export disagrees with the original: {agreed}")
    code_dir = config.code_dir(settings)  # the handler being graded: the same app.py in both images
    variants = [measure(settings, "scikit-learn", images.stage(settings, code_dir), images.local_tag(settings)),
                measure(settings, "ONNX Runtime", stage(settings, code_dir / "app.py"), local_tag(settings))]
    return agreed, variants


def format_variants(variants: list[Variant], lang: str | None = None) -> str:
    """The variants side by side: image size, import time, the RIE's INIT, the cold request (in ``lang``, default
    ``LAB_LANG``)."""
    lang = lang or config.language()
    width = 16
    rows = [("", lambda v: v.name),
            ("image size", lambda v: f"{v.size_bytes / 1e6:,.0f} MB" if v.size_bytes else "- (host mode)"),
            (say("imports", "import"), lambda v: f"{v.imports.total_ms:,.0f} ms"),
            ("INIT (RIE)", lambda v: f"{v.init_ms:,.0f} ms"),
            ("cold request", lambda v: f"{v.first_request_ms:,.0f} ms")]
    return "\n".join(f"{text(label, lang):<14}" + "".join(f"{cell(v):>{width}}" for v in variants)
                     for label, cell in rows)


def main() -> int:
    settings = config.load()
    agreed, variants = compare(settings)
    agrees = f"{agreed.same_species}/{agreed.flowers}"
    within = f"{agreed.max_probability_difference:.1e}"
    print(text(say(f"the export agrees on {agrees} flowers, probabilities within {within}",
                   f"export-টা {agrees}টা ফুলে মেলে, probability-র তফাত {within}-এর মধ্যে"), settings.lang))
    print(format_variants(variants, settings.lang))
    return 0


if __name__ == "__main__":
    run_cli(main)
