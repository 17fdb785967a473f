"""The binary hourglass's paper preset: the training setup of Bulat & Tzimiropoulos (MPII crops
at 256x256, 64x64 sigmoid heatmaps; rotation +-40 degrees, scale 0.7-1.3, flips, no half-body
crops), checked on what the training pipeline draws."""

import numpy as np
import pytest

from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.config import AugmentConfig
from tfpose.data.bundled import synthetic_dataset
from tfpose.data.coco import read_coco_persons
from tfpose.data.topdown import topdown_dataset
from tfpose.models.hourglass_presets import MATCHED_BOTTLENECK_CHANNELS, PRESETS


def test_paper_preset_is_mpii_at_256_with_sigmoid_heatmaps_at_64():
    paper = PRESETS["paper"]
    assert paper.input_size == (256, 256) and paper.stride == 4  # 64x64 heatmaps
    assert paper.output == "sigmoid" and paper.sigma == 1.0
    assert paper.options == {}  # the model's defaults: HPM, C=256, scaled weights, one stack
    assert set(MATCHED_BOTTLENECK_CHANNELS) <= set(PRESETS)


def test_paper_augmentation_ranges():
    augment = AugmentConfig(**PRESETS["paper"].augment)
    assert augment.half_body_prob == 0.0
    assert (1 - augment.scale_factor, 1 + augment.scale_factor) == pytest.approx((0.7, 1.3))
    assert 2 * augment.rotation_factor == 40.0  # the clip of the rotation's normal
    assert augment.flip_prob == 0.5 and augment.rotation_prob > 0


def test_paper_augmentation_as_the_pipeline_draws_it(tmp_path, monkeypatch):
    monkeypatch.setenv("TFPOSE_CACHE", str(tmp_path / "cache"))
    ann, images = synthetic_dataset("val", num_images=12, progress=False)
    records = read_coco_persons(ann, images)
    codec = HeatmapCodec(input_size=(64, 64), heatmap_size=(16, 16), output="sigmoid")
    plain = next(iter(topdown_dataset(records, codec, batch_size=len(records),
                                      cover_keypoints=True)))
    sizes = {tuple(np.round(c, 3)): s for c, s in zip(plain["center"].numpy(),
                                                      plain["size"].numpy(), strict=True)}
    augment = AugmentConfig(**PRESETS["paper"].augment)
    drawn = topdown_dataset(records, codec, batch_size=8, train=True, augment=augment,
                            repeat=True, seed=3, deterministic=True)
    rotations, scales, flips = [], [], []
    for batch in drawn.take(12):
        for center, size, rotation, flip in zip(batch["center"].numpy(), batch["size"].numpy(),
                                                batch["rotation"].numpy(), batch["flip"].numpy(),
                                                strict=True):
            key = tuple(np.round(center, 3))
            assert key in sizes, "a crop moved off its box: a half-body crop"
            scales.append(size / sizes[key])
            rotations.append(rotation)
            flips.append(flip)
    scales, rotations = np.array(scales), np.array(rotations)
    np.testing.assert_allclose(scales[:, 0], scales[:, 1], rtol=1e-5)  # one factor per crop
    assert scales.min() >= 0.7 - 1e-5 and scales.max() <= 1.3 + 1e-5
    assert np.abs(rotations).max() <= 40.0 + 1e-4
    assert np.ptp(scales[:, 0]) > 0.3 and np.abs(rotations).max() > 20  # the ranges are used
    assert 0.2 < np.mean(flips) < 0.8 and 0.3 < np.mean(rotations != 0) < 0.9
