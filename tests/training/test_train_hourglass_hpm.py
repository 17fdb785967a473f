import json
import logging

import larq as lq
import pytest

from tests.engine.sample_layouts import mpii_layout
from tests.training.scripts import run_in_process
from tfpose.config import AugmentConfig
from tfpose.models.hourglass_presets import PRESETS
from tfpose.runtime.keras_files import load_keras_model


def test_smoke_on_the_real_mpii_samples_with_16_joints(tmp_path, shared_data):
    root = mpii_layout(tmp_path / "mpii", shared_data)
    out = tmp_path / "run"
    status = run_in_process("train_hourglass_hpm", [
        "--data", "mpii", "--data-root", root, "--epochs", "1", "--steps-per-epoch", "2",
        "--batch-size", "2", "--model-option", "channels=32", "--run-eagerly", "--out", out])
    assert status == 0
    metrics = json.loads((out / "metrics.json").read_text())
    # No gt_valid.mat in the sample: PCK@0.5 (torso) instead of PCKh.
    assert metrics["data"] == "mpii" and metrics["metric"] == "PCK@0.5"
    assert metrics["num_val_persons"] == 5
    model = load_keras_model(out / "model.keras")
    assert model.output_shape == (None, 16, 16, 16)  # MPII's 16 joints at 1/4 of 64x64
    binary = [layer for layer in model.layers if isinstance(layer, lq.layers.QuantConv2D)]
    assert binary and all(layer.kernel_quantizer is not None for layer in binary)
    for name in ("predictions.png", "curves.png", "train/history.json"):
        assert (out / name).is_file(), name


def test_synthetic_data_gives_17_keypoints(tmp_path, monkeypatch):
    monkeypatch.setenv("TFPOSE_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    status = run_in_process("train_hourglass_hpm", [
        "--synthetic-images", "6", "3", "--epochs", "1", "--steps-per-epoch", "1",
        "--batch-size", "2", "--model-option", "channels=32", "--run-eagerly", "--out", out])
    assert status == 0
    model = load_keras_model(out / "model.keras")
    assert model.output_shape[-1] == 17


def test_paper_preset_with_two_stacks_relu_and_plain_weights(tmp_path, monkeypatch, caplog):
    """The variant flags become model options (checked on --resume); two stacks train with the
    loss on both and save one single-output model; the paper preset trains with its own
    augmentation (no half-body crops)."""
    monkeypatch.setenv("TFPOSE_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    with caplog.at_level(logging.INFO, logger="tfpose"):
        status = run_in_process("train_hourglass_hpm", [
            "--synthetic-images", "6", "3", "--model-size", "paper", "--input-size", "64x64",
            "--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "2",
            "--model-option", "channels=32", "--stacks", "2", "--relu-after-conv",
            "--weights", "plain", "--run-eagerly", "--out", out])
    assert status == 0
    config = json.loads((out / "config.json").read_text())
    assert config["model_options"] == {"channels": 32, "weights": "plain",
                                       "relu_after_conv": True, "stacks": 2}
    (entry,) = json.loads((out / "train" / "history.json").read_text())
    assert entry["loss"] == pytest.approx(entry["s0_heatmaps_loss"] + entry["heatmaps_loss"],
                                          rel=1e-5)
    model = load_keras_model(out / "model.keras")
    assert model.output_shape == (None, 16, 16, 17) and len(model.outputs) == 1
    assert model.output.node.layer.name == "heatmaps"  # the last stack's
    binary = [layer for layer in model.layers if isinstance(layer, lq.layers.QuantConv2D)]
    assert binary and all(isinstance(layer.kernel_quantizer, lq.quantizers.SteSign)
                          for layer in binary)
    augment = AugmentConfig(**PRESETS["paper"].augment)
    assert f"augmentation {augment}" in caplog.text


def test_a_flag_and_a_model_option_that_disagree_are_refused(capsys):
    with pytest.raises(SystemExit) as stopped:
        run_in_process("train_hourglass_hpm", ["--stacks", "2", "--model-option", "stacks=3"])
    assert stopped.value.code == 2
    assert "--stacks 2 disagrees with --model-option stacks=3" in capsys.readouterr().err
