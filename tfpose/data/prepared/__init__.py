"""Prepared datasets: TensorFlow Datasets builders that write COCO, MPII, CrowdPose and the
synthetic figures as sharded TFRecords, and their reading into the input pipelines.

Prepare once (``tfpose prepare coco --manual-dir /data/coco --data-dir gs://bucket/tfds``), then
train with ``--data coco --data-source tfds --data-dir gs://bucket/tfds``. See
:mod:`.builders` for what an example holds and :mod:`.reading` for how it is read.
"""

from tfpose.data.prepared.builders import BUILDERS, pose_features
from tfpose.data.prepared.reading import (
    PreparedSplit,
    dataset_builder,
    default_data_dir,
    materialise_validation,
    open_split,
    prepare,
    prepared_dataset,
)

__all__ = ["BUILDERS", "PreparedSplit", "dataset_builder", "default_data_dir",
           "materialise_validation", "open_split", "pose_features", "prepare",
           "prepared_dataset"]
