"""Top-down training data (tfpose.engine.topdown): the crops are drawn with the data's
augmentation."""

import numpy as np

from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.config import NO_AUGMENT, AugmentConfig
from tfpose.data.bundled import synthetic_dataset
from tfpose.data.coco import read_coco_persons
from tfpose.data.topdown import topdown_dataset
from tfpose.engine.topdown import TopDownData, train_data


def test_train_data_draws_the_crops_with_the_datas_augmentation(tmp_path, monkeypatch):
    monkeypatch.setenv("TFPOSE_CACHE", str(tmp_path / "cache"))
    records = read_coco_persons(*synthetic_dataset("val", num_images=8, progress=False))
    codec = HeatmapCodec(input_size=(64, 48), heatmap_size=(16, 12))
    plain = next(iter(topdown_dataset(records, codec, batch_size=len(records),
                                      cover_keypoints=True)))
    plain = sorted(np.round(plain["heatmaps"].numpy().sum(axis=(1, 2, 3)), 3))

    def drawn(augment):
        data = TopDownData(files=None, train=records, val=records, augment=augment)
        (_, heatmaps, _), = train_data(data, codec, len(records), seed=0)(0).take(1)
        return sorted(np.round(heatmaps.numpy().sum(axis=(1, 2, 3)), 3))

    assert drawn(NO_AUGMENT) == plain  # the same crops, shuffled
    assert drawn(AugmentConfig(scale_factor=0.3, rotation_factor=0.0, flip_prob=0.0,
                               half_body_prob=0.0)) != plain
