import json
import math

import pytest

from tests.engine.sample_layouts import coco_layout
from tests.training.scripts import run_in_process
from tfpose.codecs.model_info import read_keras_info
from tfpose.runtime.keras_files import load_keras_model


def test_smoke_on_the_real_coco_samples(tmp_path, shared_data):
    """One epoch on COCO's layout (80 train2017 images, 4 val2017 images): sigmoid logits at
    1/8, RCE loss, COCO AP from pycocotools."""
    root = coco_layout(tmp_path / "coco", shared_data)
    out = tmp_path / "run"
    status = run_in_process("train_fasterpose", [
        "--data", "coco", "--data-root", root, "--epochs", "1", "--steps-per-epoch", "2",
        "--batch-size", "2", "--input-size", "64x64", "--model-option", "head_width=16",
        "--run-eagerly", "--out", out])
    assert status == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["metric"] == "AP" and metrics["data"] == "coco"
    assert metrics["num_val_persons"] == 12
    for key in ("baseline", "model"):
        assert {"AP", "AP50", "PCK@0.5", "PCK_box@0.05"} <= metrics["results"][key].keys()
    (entry,) = json.loads((out / "train" / "history.json").read_text())
    assert entry["step"] == 2 and "rce" not in entry and "val_AP" in entry
    model = load_keras_model(out / "model.keras")
    assert model.output_shape == (None, 8, 8, 17)  # logits at 1/8
    for name in ("predictions.png", "curves.png", "train/best.keras",
                 "train/checkpoints/ckpt-1.index"):
        assert (out / name).is_file(), name


def test_the_prepared_dataset_trains_and_scores_like_the_raw_files(tmp_path, shared_data,
                                                                  monkeypatch):
    """--data-source tfds: training streams the prepared train split; validation is scored on
    the validation split written back as official files, so the untrained model scores the same
    as on the raw files."""
    from tfpose.data import prepared

    monkeypatch.setenv("TFPOSE_CACHE", str(tmp_path / "cache"))
    root = coco_layout(tmp_path / "coco", shared_data)
    prepared.prepare("coco", tmp_path / "tfds", manual_dir=root)
    common = ["--data", "coco", "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "2",
              "--input-size", "64x64", "--model-option", "head_width=16", "--run-eagerly"]
    assert run_in_process("train_fasterpose", [*common, "--data-root", root,
                                               "--out", tmp_path / "raw"]) == 0
    tfds_flags = ["--data-source", "tfds", "--data-dir", tmp_path / "tfds"]
    assert run_in_process("train_fasterpose", [*common, *tfds_flags,
                                               "--out", tmp_path / "tfds_run"]) == 0
    raw = json.loads((tmp_path / "raw" / "metrics.json").read_text())
    from_tfds = json.loads((tmp_path / "tfds_run" / "metrics.json").read_text())
    assert from_tfds["num_val_persons"] == raw["num_val_persons"] == 12
    assert from_tfds["results"]["baseline"] == raw["results"]["baseline"]
    (entry,) = json.loads((tmp_path / "tfds_run" / "train" / "history.json").read_text())
    assert entry["step"] == 2 and "val_AP" in entry


def test_an_unprepared_dataset_is_one_line_naming_the_command(tmp_path, capsys):
    status = run_in_process("train_fasterpose", ["--data", "coco", "--data-source", "tfds",
                                                 "--data-dir", tmp_path / "tfds",
                                                 "--out", tmp_path / "run"])
    assert status == 2
    assert "tfpose prepare coco --manual-dir" in capsys.readouterr().err
    assert not (tmp_path / "run" / "model.keras").exists()


def test_mse_starts_from_its_own_bias(tmp_path, monkeypatch):
    """--loss mse (the ablation) builds the head with bias 0, not RCE's sigmoid prior -4.6,
    and regresses Gaussian heatmaps (the codec's "gaussian" output)."""
    monkeypatch.setenv("TFPOSE_CACHE", str(tmp_path / "cache"))
    common = ["--synthetic-images", "6", "3", "--epochs", "1", "--steps-per-epoch", "1",
              "--batch-size", "2", "--input-size", "64x64", "--model-option", "head_width=16",
              "--run-eagerly"]
    biases = {}
    for loss in ("rce", "mse"):
        out = tmp_path / loss
        assert run_in_process("train_fasterpose", [*common, "--loss", loss, "--out", out]) == 0
        head = load_keras_model(out / "model.keras").get_layer("head")
        biases[loss] = head.get_config()["bias_initializer"]["config"]["value"]
        output = read_keras_info(out / "model.keras").heatmap_codec().output
        assert output == ("sigmoid" if loss == "rce" else "gaussian")
    assert biases["rce"] == pytest.approx(math.log(0.01 / 0.99)) and biases["mse"] == 0.0
