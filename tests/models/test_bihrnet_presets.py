"""BiHRNet's presets: HRNet's COCO and MPII protocols (deep-high-resolution-net.pytorch)."""

import inspect

import pytest

from tfpose.config import AugmentConfig
from tfpose.engine import topdown
from tfpose.engine.flags import parse_args, training_parser
from tfpose.evaluation.topdown import TopDownEvaluator
from tfpose.models.bihrnet_presets import PRESETS


def parse(argv):
    return parse_args(training_parser("test", method="bihrnet", presets=PRESETS), argv)


def test_mpii_is_hrnets_mpii_protocol():
    """experiments/mpii/hrnet/w32_256x256_adam_lr1e-3.yaml: 256x256 crops, 64x64 heatmaps,
    sigma 2, flip test; BiHRNet-W32 with our training defaults (those of ``paper``)."""
    args = parse(["--model-size", "mpii", "--data", "mpii"])
    codec = topdown.heatmap_codec(args)
    assert args.input_size == (256, 256) and codec.heatmap_size == (64, 64)
    assert codec.sigma == 2.0 and codec.output == "gaussian"
    assert args.model_options == {"width": 32}
    paper = PRESETS["paper"]
    assert (args.epochs, args.batch_size, args.lr, args.schedule) == (
        paper.epochs, paper.batch_size, paper.learning_rate, paper.schedule)
    # PCKh is scored with flip test unless asked otherwise.
    assert inspect.signature(TopDownEvaluator).parameters["flip_test"].default is True


def test_paper_is_hrnets_coco_protocol():
    codec = topdown.heatmap_codec(parse(["--model-size", "paper"]))
    assert codec.input_size == (256, 192) and codec.heatmap_size == (64, 48)
    assert codec.sigma == 2.0


@pytest.mark.parametrize("size, rotation, scale, half_body", [
    ("paper", 45.0, 0.35, 0.3),  # experiments/coco/hrnet/w32_256x192_adam_lr1e-3.yaml
    ("mpii", 30.0, 0.25, 0.0),  # experiments/mpii/hrnet/w32_256x256_adam_lr1e-3.yaml
    ("small", AugmentConfig.rotation_factor, AugmentConfig.scale_factor,
     AugmentConfig.half_body_prob)])
def test_the_training_crops_get_the_presets_augmentation(size, rotation, scale, half_body,
                                                         tmp_path, monkeypatch):
    monkeypatch.setenv("TFPOSE_CACHE", str(tmp_path / "cache"))
    data = topdown.load_topdown_data(parse(["--model-size", size, "--synthetic-images", "4",
                                            "2"]))
    assert data.augment == AugmentConfig(rotation_factor=rotation, scale_factor=scale,
                                         half_body_prob=half_body)
