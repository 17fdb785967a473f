import json

import larq as lq

from tests.engine.sample_layouts import mpii_layout
from tests.training.scripts import run_in_process
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
