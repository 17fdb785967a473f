"""CrowdPose: 14 keypoints in a COCO-like json (plus a per-image ``crowdIndex``).

Read through the COCO reader with the CrowdPose keypoint set; scored with xtcocotools
(:mod:`tfpose.evaluation.crowdpose`).
"""

from __future__ import annotations

from pycocotools.coco import COCO

from tfpose.data import coco as coco_reader
from tfpose.data.records import PersonRecords
from tfpose.keypoints import CROWDPOSE_14


def load_crowdpose(ann_file) -> COCO:
    return coco_reader.load_coco(ann_file, CROWDPOSE_14)


def read_crowdpose_persons(ann_file, image_dir, **kwargs) -> PersonRecords:
    return coco_reader.read_coco_persons(ann_file, image_dir, CROWDPOSE_14, **kwargs)
