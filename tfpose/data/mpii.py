"""MPII Human Pose in the widely used json layout (one entry per annotated person).

Each entry has ``image``, ``joints`` (16 x [x, y], MATLAB 1-based pixels), ``joints_vis``
(16 x 0/1), ``center`` (1-based) and ``scale`` (person height / 200). This reader is the only
place that converts those 1-based pixels to the library's 0-based ones; the PCKh evaluator adds
the 1 back. Rows keep the file's order, which is the order of the official validation ``.mat``.

The box given to the top-down pipeline follows the reference MPII pipeline: the centre is moved
down by 15 x scale pixels (MPII's centre sits high on the torso) and the box is a square of side
``scale x 200``; the pipeline's usual 1.25 padding then applies as for COCO.
"""

from __future__ import annotations

import os

import numpy as np

from tfpose.data.coco import ReadReport, finish_records, numeric_array, read_json
from tfpose.data.records import PersonRecords
from tfpose.errors import DataError
from tfpose.keypoints import MPII_16

MPII_SCALE_PIXELS = 200.0
CENTER_SHIFT = 15.0  # pixels per unit of scale


def read_mpii_persons(ann_file, image_dir, *, check_images: bool = True) -> PersonRecords:
    """Persons of an MPII json file, in file order, 0-based pixels."""
    entries = read_json(ann_file)
    if not isinstance(entries, list):
        raise DataError(ann_file, "expected a list of person entries (MPII json layout)")
    report = ReadReport(str(ann_file))
    rows = [_row(entry, i, ann_file, image_dir) for i, entry in enumerate(entries)]
    return finish_records(MPII_16, rows, report, check_images)


def _row(entry, index, ann_file, image_dir):
    if not isinstance(entry, dict):
        raise DataError(ann_file, f"entry #{index} is not an object")
    for key in ("image", "joints", "joints_vis", "center", "scale"):
        if key not in entry:
            raise DataError(ann_file, f"entry #{index} lacks '{key}'", field=key)
    where = f"entry #{index}"
    joints = numeric_array(entry["joints"], ann_file, where, "joints", (16, 2))
    visible = numeric_array(entry["joints_vis"], ann_file, where, "joints_vis", (16,))
    center = numeric_array(entry["center"], ann_file, where, "center", (2,))
    scale = float(numeric_array(entry["scale"], ann_file, where, "scale", ()))
    if not isinstance(entry["image"], str):
        raise DataError(ann_file, f"{where} has no image file name", field="image")
    if scale <= 0:
        raise DataError(ann_file, f"entry #{index} has non-positive scale {scale}", field="scale")
    keypoints = np.concatenate([joints - 1.0, 2.0 * (visible[:, None] > 0)], axis=1)
    keypoints[visible <= 0] = 0.0
    side = scale * MPII_SCALE_PIXELS
    cx, cy = center - 1.0
    cy += CENTER_SHIFT * scale
    box = [cx - side / 2, cy - side / 2, side, side]
    return os.path.join(image_dir, entry["image"]), index, box, keypoints, 1.0
