"""Training is reproducible and its metadata tells the truth."""

from __future__ import annotations

import json

from lab_solution import train


def test_same_seed_gives_the_same_model_bytes(tmp_path, model_dir):
    # when
    result = train.train(tmp_path)
    # then
    assert result.model_path.read_bytes() == (model_dir / "model.joblib").read_bytes()


def test_accuracy_and_metadata(model_dir):
    metadata = json.loads((model_dir / "metadata.json").read_text())
    assert metadata["accuracy"] >= 0.9
    assert metadata["features"] == list(train.FEATURES)
    assert metadata["classes"] == ["setosa", "versicolor", "virginica"]
    assert metadata["n_train"] + metadata["n_test"] == 150
    assert sum(map(sum, metadata["confusion_matrix"])) == metadata["n_test"]


def test_split_is_stratified():
    X, y = train.load_dataset()
    _, _, _, y_test = train.split(X, y)
    assert sorted((y_test == s).sum() for s in set(y)) == [10, 10, 10]
