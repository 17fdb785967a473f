"""Top-down training data (tfpose.engine.topdown): the crops are drawn with the data's
augmentation."""

import numpy as np

from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.config import NO_AUGMENT, AugmentConfig
from tfpose.data.bundled import synthetic_dataset
from tfpose.data.coco import read_coco_persons
from tfpose.data.topdown import topdown_dataset
from tfpose.engine.topdown import TopDownData, train_data


def peaks(heatmaps) -> set[tuple]:
    """Each crop's joint peaks (flat heatmap index per joint): which crop it is."""
    flat = heatmaps.reshape(len(heatmaps), -1, heatmaps.shape[-1])
    return {tuple(row) for row in np.argmax(flat, axis=1)}


def test_train_data_draws_the_crops_with_the_datas_augmentation(tmp_path, monkeypatch):
    monkeypatch.setenv("TFPOSE_CACHE", str(tmp_path / "cache"))
    records = read_coco_persons(*synthetic_dataset("val", num_images=8, progress=False))
    codec = HeatmapCodec(input_size=(64, 48), heatmap_size=(16, 12))
    plain = peaks(next(iter(topdown_dataset(records, codec, batch_size=len(records),
                                            cover_keypoints=True)))["heatmaps"].numpy())

    def drawn(augment):
        data = TopDownData(files=None, train=records, val=records, augment=augment)
        (_, heatmaps, _), = train_data(data, codec, len(records), seed=0)(0).take(1)
        return peaks(heatmaps.numpy())

    # A batch of a repeated, shuffled dataset may hold a crop twice: compare crops, not lists.
    assert drawn(NO_AUGMENT) <= plain
    assert not drawn(AugmentConfig(scale_factor=0.3, rotation_factor=0.0, flip_prob=0.0,
                                   half_body_prob=0.0)) <= plain
