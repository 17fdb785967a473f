import json

import cv2
import numpy as np
import pytest

from tests.engine.sample_layouts import crowdpose_layout, mpii_layout
from tests.training.scripts import run_in_process
from tfpose.codecs.model_info import read_keras_info
from tfpose.runtime.keras_files import load_keras_model

TINY = ["--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "2", "--input-size",
        "64x64", "--model-option", "stage_blocks=(1,1,1,1)", "--run-eagerly"]


def test_smoke_on_synthetic_figures_writes_every_artefact(tmp_path, monkeypatch):
    monkeypatch.setenv("TFPOSE_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    status = run_in_process("train_litepose", [*TINY, "--synthetic-images", "6", "3",
                                               "--out", out])
    assert status == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data"] == "synthetic" and metrics["metric"] == "PCK@0.5"
    assert metrics["num_val_images"] == 3 and metrics["num_val_persons"] > 0
    assert list(metrics["results"]) == ["baseline", "model"]
    for result in metrics["results"].values():
        assert {"AP", "PCK@0.5", "PCK_box@0.05", "num_detections"} <= result.keys()
        assert 0.0 <= result["PCK@0.5"] <= 1.0
    (entry,) = json.loads((out / "train" / "history.json").read_text())
    assert entry["step"] == 2 and np.isfinite(entry["loss"])
    assert {"heatmap_s4", "heatmap_s2", "pull", "push", "val_PCK@0.5"} <= entry.keys()
    model = load_keras_model(out / "model.keras")
    assert [tuple(o.shape) for o in model.outputs] == [(None, 16, 16, 34), (None, 32, 32, 17)]
    codec = read_keras_info(out / "model.keras").bottomup_codec()
    assert codec.input_size == (64, 64) and codec.strides == (4, 2) and codec.sigma == 2.0
    grid = cv2.imread(str(out / "predictions.png"))
    assert grid.shape[:2] == (64 * 3, 3 * 64 * 3)  # three validation images, upscaled 3x
    for name in ("curves.png", "train/best.keras", "train/checkpoints/ckpt-1.index"):
        assert (out / name).is_file(), name


def test_smoke_on_the_real_crowdpose_samples_with_14_joints(tmp_path, shared_data):
    root = crowdpose_layout(tmp_path / "crowdpose", shared_data)
    out = tmp_path / "run"
    assert run_in_process("train_litepose", [*TINY, "--data", "crowdpose", "--data-root", root,
                                             "--out", out]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data"] == "crowdpose" and metrics["metric"] == "AP"
    assert {"AP", "AP_easy", "PCK@0.5"} <= metrics["results"]["model"].keys()
    assert load_keras_model(out / "model.keras").outputs[1].shape[-1] == 14


def test_mpii_and_bad_input_sizes_are_refused_in_one_line(tmp_path, shared_data, capsys,
                                                          monkeypatch):
    root = mpii_layout(tmp_path / "mpii", shared_data)
    assert run_in_process("train_litepose", [*TINY, "--data", "mpii", "--data-root", root,
                                             "--out", tmp_path / "run"]) == 2
    assert "bottom-up models train on coco, crowdpose, synthetic" in capsys.readouterr().err
    monkeypatch.setenv("TFPOSE_CACHE", str(tmp_path / "cache"))
    synthetic = [*TINY, "--synthetic-images", "2", "1", "--out", tmp_path / "run"]
    assert run_in_process("train_litepose", [*synthetic, "--input-size", "66x66"]) == 2
    assert "--input-size 66x66: input size (66, 66) is not divisible" in capsys.readouterr().err
    assert run_in_process("train_litepose", [*synthetic, "--input-size", "96x96"]) == 2
    assert "cannot build litepose_xs with input size (96, 96)" in capsys.readouterr().err


def test_bottom_up_training_reads_the_prepared_crowdpose(tmp_path, shared_data, monkeypatch):
    from tfpose.data import prepared

    monkeypatch.setenv("TFPOSE_CACHE", str(tmp_path / "cache"))
    root = crowdpose_layout(tmp_path / "crowdpose", shared_data)
    prepared.prepare("crowdpose", tmp_path / "tfds", manual_dir=root)
    out = tmp_path / "run"
    assert run_in_process("train_litepose", [*TINY, "--data", "crowdpose", "--data-source",
                                             "tfds", "--data-dir", tmp_path / "tfds",
                                             "--out", out]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data"] == "crowdpose" and metrics["num_val_images"] == 2
    assert {"AP", "AP_easy", "PCK@0.5"} <= metrics["results"]["model"].keys()


def test_step_schedule_drops_the_rate_at_the_listed_epoch(tmp_path, monkeypatch):
    """The authors' schedule shape (x0.1 at listed epochs) through the script's flags."""
    monkeypatch.setenv("TFPOSE_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    flags = [*TINY, "--epochs", "2", "--schedule", "step", "--lr-steps", "1",
             "--synthetic-images", "6", "3", "--out", out]
    assert run_in_process("train_litepose", flags) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["schedule"] == "step" and config["lr_steps"] == [1]
    history = json.loads((out / "train" / "history.json").read_text())
    # "lr": the rate of the next step, logged after each epoch: epoch 2 ran at 4e-4.
    assert [entry["lr"] for entry in history] == pytest.approx([4e-4, 4e-4])
