import json

from tests.engine.sample_layouts import coco_layout
from tests.training.scripts import run_in_process
from tfpose.engine.checkpoints import load_keras_model


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
