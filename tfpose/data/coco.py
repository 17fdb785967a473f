"""COCO-format keypoint datasets (COCO, CrowdPose, our synthetic figures) through pycocotools.

Standard practice, as in the reference top-down pipelines:

* crowd annotations (``iscrowd=1``) are never training persons; COCOeval uses them as ignore
  regions;
* persons without labelled keypoints (``num_keypoints == 0``) are skipped for training;
* boxes are clipped to the image; persons whose clipped box is empty are skipped;
* images that are missing on disk are skipped with one warning that counts and names them.

Every skip is counted in a :class:`ReadReport` and logged once as a warning.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pycocotools.coco import COCO

from tfpose.data.records import PersonRecords
from tfpose.errors import DataError
from tfpose.keypoints import COCO_17, KeypointSet

log = logging.getLogger("tfpose")

PERSON_CATEGORY = 1


@dataclass
class ReadReport:
    """What a reader kept and what it skipped, by reason."""

    source: str
    kept: int = 0
    skipped: Counter = field(default_factory=Counter)

    def skip(self, reason: str, count: int = 1):
        self.skipped[reason] += count

    def log(self):
        if self.skipped:
            reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(self.skipped.items()))
            log.warning("%s: kept %d persons, skipped %s", self.source, self.kept, reasons)


def read_json(path) -> object:
    """Load a json file; a missing file or invalid json becomes a :class:`DataError`."""
    path = Path(path)
    if path.is_dir():
        raise DataError(path, "is a folder, expected a json file")
    if not path.is_file():
        raise DataError(path, "file not found")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataError(path, f"not valid json ({e})") from None
    except OSError as e:
        raise DataError(path, f"cannot be read ({e.strerror})") from None


def numeric_array(value, path, what: str, field: str, shape: tuple | None = None) -> np.ndarray:
    """``value`` as a finite float32 array of ``shape`` (None: any), else a :class:`DataError`."""
    try:
        array = np.asarray(value, np.float32)
    except (TypeError, ValueError):
        raise DataError(path, f"{what} is not numeric: {str(value)[:60]}", field=field) from None
    if shape is not None and array.shape != shape:
        raise DataError(path, f"{what} has shape {array.shape}, expected {shape}", field=field)
    if not np.isfinite(array).all():
        raise DataError(path, f"{what} has non-finite values", field=field)
    return array


def load_coco(ann_file, keypoint_set: KeypointSet = COCO_17) -> COCO:
    """A pycocotools ``COCO`` index of ``ann_file``, after checking its structure.

    Raises:
      DataError: naming the file and the field that is missing or of the wrong shape.
    """
    data = read_json(ann_file)
    validate_coco_keypoints(data, ann_file, keypoint_set)
    coco = COCO()
    coco.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress to stdout
        coco.createIndex()
    return coco


def validate_coco_keypoints(data, path, keypoint_set: KeypointSet) -> None:
    """Check the parts of a COCO keypoints json that training and evaluation rely on."""
    if not isinstance(data, dict):
        raise DataError(path, f"expected a COCO json object, found a {type(data).__name__}")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise DataError(path, "missing or not a list", field=key)
    k = keypoint_set.num_keypoints
    for category in (c for c in data["categories"] if isinstance(c, dict)):
        names = category.get("keypoints")
        if category.get("id") == PERSON_CATEGORY and names is not None and len(names) != k:
            raise DataError(
                path, f"person category has {len(names)} keypoints, expected {k} "
                f"({keypoint_set.name}); is this another dataset?", field="categories.keypoints")
    image_ids = set()
    for i, image in enumerate(data["images"]):
        if not isinstance(image, dict):
            raise DataError(path, f"image #{i} is not an object", field="images")
        missing = [key for key in ("id", "file_name", "width", "height") if key not in image]
        if missing:
            raise DataError(path, f"image #{i} lacks {missing}", field="images")
        if not isinstance(image["id"], int):
            raise DataError(path, f"image #{i} has a non-integer id", field="images.id")
        numeric_array([image["width"], image["height"]], path, f"image #{i} size", "images")
        image_ids.add(image["id"])
    for i, category in enumerate(data["categories"]):
        if not isinstance(category, dict):
            raise DataError(path, f"category #{i} is not an object", field="categories")
    for i, ann in enumerate(data["annotations"]):
        _validate_annotation(ann, i, path, k, image_ids)


def _validate_annotation(ann, index, path, k, image_ids) -> None:
    where = f"annotation #{index} (id {ann.get('id')})" if isinstance(ann, dict) else f"#{index}"
    if not isinstance(ann, dict):
        raise DataError(path, f"{where} is not an object", field="annotations")
    for key in ("id", "image_id", "category_id", "bbox"):
        if key not in ann:
            raise DataError(path, f"{where} lacks '{key}'", field=f"annotations.{key}")
    if not isinstance(ann["image_id"], int) or ann["image_id"] not in image_ids:
        raise DataError(path, f"{where} refers to unknown image {ann['image_id']}",
                        field="annotations.image_id")
    numeric_array(ann["bbox"], path, f"{where} bbox", "annotations.bbox", (4,))
    if "keypoints" in ann:
        keypoints = numeric_array(ann["keypoints"], path, f"{where} keypoints",
                                  "annotations.keypoints")
        if keypoints.size != 3 * k:
            raise DataError(
                path, f"{where} has {keypoints.size} keypoint values, expected {3 * k} "
                f"({k} keypoints x (x, y, v))", field="annotations.keypoints")


def clip_box(bbox, width: float, height: float):
    """Clip an ``(x, y, w, h)`` box to the image; None when nothing is left."""
    x, y, w, h = (float(v) for v in bbox)
    x1, y1 = max(0.0, x), max(0.0, y)
    x2, y2 = min(width - 1.0, x + max(0.0, w - 1.0)), min(height - 1.0, y + max(0.0, h - 1.0))
    if x2 < x1 or y2 < y1 or w <= 0 or h <= 0:
        return None
    return [x1, y1, x2 - x1 + 1.0, y2 - y1 + 1.0]


def read_coco_persons(
    ann_file, image_dir, keypoint_set: KeypointSet = COCO_17, *, coco: COCO | None = None,
    check_images: bool = True,
) -> PersonRecords:
    """Ground-truth persons of a COCO-format keypoints file, for training or evaluation.

    Args:
      ann_file: the keypoints json.
      image_dir: folder holding the images named by ``file_name``.
      keypoint_set: the json's keypoints (COCO_17, CROWDPOSE_14).
      coco: an already loaded index of ``ann_file`` (saves reading it twice).
      check_images: skip persons whose image file is missing (one warning names them).
    """
    coco = coco or load_coco(ann_file, keypoint_set)
    report = ReadReport(str(ann_file))
    rows = []
    for image_id in sorted(coco.imgs):
        image = coco.imgs[image_id]
        for ann in coco.imgToAnns.get(image_id, []):
            row = _person_row(ann, image, keypoint_set, report)
            if row is not None:
                rows.append((os.path.join(image_dir, image["file_name"]), image_id, *row))
    return finish_records(keypoint_set, rows, report, check_images)


def _person_row(ann, image, keypoint_set, report):
    if ann.get("category_id", PERSON_CATEGORY) != PERSON_CATEGORY:
        report.skip("non-person annotations")
        return None
    if ann.get("iscrowd", 0):
        report.skip("crowd regions")
        return None
    keypoints = np.asarray(ann.get("keypoints", []), np.float32).reshape(-1, 3)
    if keypoints.size == 0 or not (keypoints[:, 2] > 0).any():
        report.skip("persons without labelled keypoints")
        return None
    box = clip_box(ann["bbox"], image["width"], image["height"])
    if box is None:
        report.skip("persons whose box lies outside the image")
        return None
    keypoints[keypoints[:, 2] <= 0] = 0.0  # unlabelled joints carry no position
    return box, keypoints, 1.0


def records_from_rows(keypoint_set, rows) -> PersonRecords:
    k = keypoint_set.num_keypoints
    if not rows:
        return PersonRecords.from_lists(keypoint_set, [], [], np.zeros((0, 4)),
                                        np.zeros((0, k, 3)), [])
    paths, ids, boxes, keypoints, scores = zip(*rows, strict=True)
    return PersonRecords.from_lists(keypoint_set, paths, ids, boxes, keypoints, scores)


def finish_records(keypoint_set, rows, report: ReadReport, check_images: bool) -> PersonRecords:
    """Records from a reader's rows, without persons whose image is missing; logs the report."""
    records = records_from_rows(keypoint_set, rows)
    if check_images:
        records = drop_missing_images(records, report)
    report.kept = len(records)
    report.log()
    return records


def drop_missing_images(records: PersonRecords, report: ReadReport) -> PersonRecords:
    unique = np.unique(records.image_paths)
    missing = {p for p in unique if not os.path.isfile(p)}
    if not missing:
        return records
    keep = np.array([p not in missing for p in records.image_paths], bool)
    report.skip("persons whose image file is missing", int((~keep).sum()))
    shown = ", ".join(sorted(missing)[:5]) + (" ..." if len(missing) > 5 else "")
    log.warning("%d image files named in %s are missing: %s", len(missing), report.source, shown)
    return records.select(keep)


def read_detections(
    det_file, coco: COCO, image_dir, keypoint_set: KeypointSet = COCO_17, *,
    min_score: float = 0.0, check_images: bool = True,
) -> PersonRecords:
    """Person boxes from a detector results file (``[{"image_id", "category_id", "bbox",
    "score"}]``, the standard COCO results list) for top-down evaluation. Boxes are kept as the
    detector gave them, as the HRNet / SimpleBaseline evaluation and ``tfpose predict`` take
    them (clipping one that crosses the image's edge would move its crop); only boxes with no
    pixel in the image are skipped."""
    detections = read_json(det_file)
    if not isinstance(detections, list):
        raise DataError(det_file, "expected a list of detections [{image_id, bbox, score, ...}]")
    report = ReadReport(str(det_file))
    rows = []
    empty = np.zeros((keypoint_set.num_keypoints, 3), np.float32)
    for i, det in enumerate(detections):
        if not isinstance(det, dict) or not {"image_id", "bbox", "score"} <= det.keys():
            raise DataError(det_file, f"detection #{i} lacks image_id, bbox or score")
        numeric_array(det["bbox"], det_file, f"detection #{i} bbox", "bbox", (4,))
        numeric_array(det["score"], det_file, f"detection #{i} score", "score", ())
        image = coco.imgs.get(det["image_id"]) if isinstance(det["image_id"], int) else None
        if image is None:
            report.skip("detections on images not in the annotations")
        elif det.get("category_id", PERSON_CATEGORY) != PERSON_CATEGORY:
            report.skip("non-person detections")
        elif det["score"] < min_score:
            report.skip(f"detections scored below {min_score}")
        elif clip_box(det["bbox"], image["width"], image["height"]) is None:
            report.skip("detections outside the image")
        else:
            path = os.path.join(image_dir, image["file_name"])
            box = [float(v) for v in det["bbox"]]
            rows.append((path, det["image_id"], box, empty, float(det["score"])))
    return finish_records(keypoint_set, rows, report, check_images)
