"""The ONNX export of step 7: it must agree with the original model before any image is built."""

from __future__ import annotations

import json

import onnxruntime

from labkit import config, serving
from labkit.experiments import onnx_variant
from labkit.experiments.init_profile import ROWS, InitProfile
from labkit.experiments.onnx_variant import Variant


def test_the_export_agrees_with_the_original_and_names_the_classes(model_dir, tmp_path):
    # given the reference model
    settings = config.load({}, build_dir=tmp_path)
    settings.model_dir.mkdir(parents=True)
    (settings.model_dir / "model.joblib").write_bytes((model_dir / "model.joblib").read_bytes())
    # when
    path = onnx_variant.export(settings)
    agreed = onnx_variant.agreement(settings)
    # then
    assert agreed.ok and agreed.flowers == agreed.same_species == 150
    metadata = onnxruntime.InferenceSession(str(path)).get_modelmeta().custom_metadata_map
    assert json.loads(metadata["classes"]) == ["setosa", "versicolor", "virginica"]


def test_the_export_leaves_the_scikit_learn_model_served(model_dir, tmp_path):
    # given the reference model, exported to ONNX
    settings = config.load({}, build_dir=tmp_path)
    settings.model_dir.mkdir(parents=True)
    (settings.model_dir / "model.joblib").write_bytes((model_dir / "model.joblib").read_bytes())
    onnx_variant.export(settings)
    # when steps 2 and 3 load the model from the model folder, as app.py does
    model = serving.load_model(settings.model_dir)
    # then they still get scikit-learn's pipeline, not the ONNX export
    assert not isinstance(model, serving.OnnxModel)


def test_an_onnx_image_is_staged_with_its_own_dockerfile(model_dir, tmp_path):
    settings = config.load({}, code="lab_solution", build_dir=tmp_path)
    settings.model_dir.mkdir(parents=True)
    (settings.model_dir / "model.joblib").write_bytes((model_dir / "model.joblib").read_bytes())
    onnx_variant.export(settings)
    context = onnx_variant.stage(settings, config.code_path(settings, "app"))
    assert sorted(str(p.relative_to(context)) for p in context.rglob("*") if p.is_file()) == [
        ".dockerignore", "Dockerfile", "app.py", "labkit/__init__.py", "labkit/serving.py", "labkit/todo.py",
        "model.onnx", "requirements.txt"]
    pins = [line.split("==")[0] for line in (context / "requirements.txt").read_text().splitlines()
            if line and not line.startswith("#")]
    assert "onnxruntime" in pins and not {"scikit-learn", "scipy", "joblib"} & set(pins)


def test_the_table_puts_the_variants_side_by_side():
    profile = InitProfile(dict.fromkeys(ROWS, 10.0))
    variants = [Variant("scikit-learn", "a", 494e6, profile, 781.0, 788.0),
                Variant("ONNX Runtime", "b", None, profile, 92.0, 102.0)]
    table = onnx_variant.format_variants(variants, "en")
    assert [line.split() for line in table.splitlines()] == [
        ["scikit-learn", "ONNX", "Runtime"], ["image", "size", "494", "MB", "-", "(host", "mode)"],
        ["imports", "90", "ms", "90", "ms"], ["INIT", "(RIE)", "781", "ms", "92", "ms"],
        ["cold", "request", "788", "ms", "102", "ms"]]
    assert onnx_variant.format_variants(variants, "bn").splitlines()[2].split() == ["import", "90", "ms", "90", "ms"]


def test_the_onnx_image_pins_what_the_lab_pins():
    def pins(path):
        return dict(line.split("==") for line in path.read_text().splitlines() if "==" in line and line[0] != "#")

    image, lab = pins(config.REPO_ROOT / "docker/onnx/requirements.txt"), pins(config.REPO_ROOT / "requirements.txt")
    shared = image.keys() & lab.keys()
    assert {"onnxruntime", "numpy", "protobuf"} <= shared
    assert {name: image[name] for name in shared} == {name: lab[name] for name in shared}
