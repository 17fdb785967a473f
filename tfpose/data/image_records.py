"""Per-image records for bottom-up (whole-image, multi-person) training: every labelled person of
an image, and the image regions the loss must ignore.

Ignore regions follow the practice of the bottom-up COCO pipelines (associative embedding,
HigherHRNet, LitePose): people the annotators did not label with keypoints must not be taught as
background, so the heatmap loss gets weight 0 on

* crowd annotations (``iscrowd=1``: a run-length encoded mask over a group of people), and
* persons without any labelled keypoint (their ``segmentation`` polygons).

CrowdPose annotations carry no segmentation: a keypoint-less person's *box* is ignored instead.
A box over-covers the person, so a little background loses supervision, which costs far less
than teaching a visible, unlabelled person as background. The same box fallback applies to any
COCO-format file whose annotation lacks a segmentation.

Storage (memory stays small for full COCO, ~64k training images): all ignore regions of an
image are merged into one mask, kept as the COCO *compressed RLE* string of that mask (a few
hundred bytes; ``b""`` when there is nothing to ignore), and rasterised inside ``tf.data`` by
:func:`rle_to_mask`, which decodes that string in TensorFlow ops (no ``numpy_function``, no
Python lock in the input pipeline).

Images without a labelled person are dropped (counted and logged) unless
``keep_images_without_persons`` is set, as evaluation needs every image.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
import pycocotools.mask as mask_utils
import tensorflow as tf
from pycocotools.coco import COCO

from tfpose.data.coco import PERSON_CATEGORY, ReadReport, load_coco
from tfpose.data.records import check_shapes
from tfpose.errors import DataError
from tfpose.keypoints import COCO_17, CROWDPOSE_14, KeypointSet

log = logging.getLogger("tfpose")


@dataclass(frozen=True)
class ImageRecords:
    """One row per image; its persons are a contiguous slice of ``keypoints``.

    Coordinates are 0-based image pixels, pixel centres at integer coordinates
    (:mod:`tfpose.codecs.geometry`).

    Attributes:
      keypoint_set: which keypoints the ``keypoints`` columns are.
      image_paths: ``[N]`` str.
      image_ids: ``[N]`` int64, the dataset's image id.
      image_sizes: ``[N, 2]`` int32 ``(height, width)`` from the annotation file.
      person_splits: ``[N + 1]`` int64: image ``i`` owns persons
        ``person_splits[i]:person_splits[i + 1]``.
      keypoints: ``[P, K, 3]`` float32 ``(x, y, visibility)`` of all persons; unlabelled joints
        are zeros.
      ignore_rles: ``[N]`` bytes, COCO compressed RLE counts of the image's merged ignore mask
        (size ``image_sizes[i]``), ``b""`` when nothing is ignored.
    """

    keypoint_set: KeypointSet
    image_paths: np.ndarray
    image_ids: np.ndarray
    image_sizes: np.ndarray
    person_splits: np.ndarray
    keypoints: np.ndarray
    ignore_rles: np.ndarray

    def __post_init__(self):
        n, k = len(self.image_paths), self.keypoint_set.num_keypoints
        expected = {"image_ids": (n,), "image_sizes": (n, 2), "person_splits": (n + 1,),
                    "keypoints": (int(self.person_splits[-1]), k, 3), "ignore_rles": (n,)}
        check_shapes(self, expected)

    def __len__(self) -> int:
        return len(self.image_paths)

    @property
    def num_images(self) -> int:
        """``len()``, by the name a prepared split also answers to (its ``len`` is persons)."""
        return len(self)

    @property
    def num_persons(self) -> np.ndarray:
        """``[N]`` persons per image."""
        return np.diff(self.person_splits)

    def persons(self, i: int) -> np.ndarray:
        """``[P_i, K, 3]`` keypoints of image ``i``."""
        return self.keypoints[self.person_splits[i]:self.person_splits[i + 1]]

    @classmethod
    def from_lists(cls, keypoint_set, image_paths, image_ids, image_sizes, keypoints,
                   ignore_rles):
        """Records from per-image lists; ``keypoints`` holds one ``[P_i, K, 3]`` array per image."""
        k = keypoint_set.num_keypoints
        per_image = [np.asarray(kp, np.float32).reshape(-1, k, 3) for kp in keypoints]
        splits = np.concatenate([[0], np.cumsum([len(kp) for kp in per_image])]).astype(np.int64)
        return cls(
            keypoint_set=keypoint_set,
            image_paths=np.asarray(image_paths, dtype=str).reshape(-1),
            image_ids=np.asarray(image_ids, np.int64).reshape(-1),
            image_sizes=np.asarray(image_sizes, np.int32).reshape(-1, 2),
            person_splits=splits,
            keypoints=(np.concatenate(per_image) if per_image
                       else np.zeros((0, k, 3), np.float32)),
            ignore_rles=_bytes_array(ignore_rles),
        )

    def select(self, index) -> ImageRecords:
        """Images picked by a boolean mask or an index array (repeats allowed)."""
        rows = np.arange(len(self))[index]
        starts, ends = self.person_splits[rows], self.person_splits[rows + 1]
        persons = [np.arange(s, e) for s, e in zip(starts, ends, strict=True)]
        gather = np.concatenate(persons).astype(np.int64) if persons else np.zeros(0, np.int64)
        return ImageRecords(
            keypoint_set=self.keypoint_set,
            image_paths=self.image_paths[rows],
            image_ids=self.image_ids[rows],
            image_sizes=self.image_sizes[rows],
            person_splits=np.concatenate([[0], np.cumsum(ends - starts)]).astype(np.int64),
            keypoints=self.keypoints[gather],
            ignore_rles=self.ignore_rles[rows],
        )

    def columns(self) -> dict:
        """Tensors for ``tf.data.Dataset.from_tensor_slices``; ``keypoints`` is ragged, so each
        element gets its image's ``[P_i, K, 3]`` persons."""
        return {
            "image_path": self.image_paths,
            "image_id": self.image_ids,
            "image_size": self.image_sizes,
            "keypoints": tf.RaggedTensor.from_row_splits(self.keypoints, self.person_splits),
            "ignore_rle": tf.constant(self.ignore_rles, tf.string),
        }


def _bytes_array(values) -> np.ndarray:
    # An object array, not numpy's fixed-width bytes: those pad every row to the longest mask.
    array = np.empty(len(values), dtype=object)
    array[:] = [bytes(v) for v in values]
    return array


# ---- reading ---------------------------------------------------------------------------------
def read_coco_images(
    ann_file, image_dir, keypoint_set: KeypointSet = COCO_17, *, coco: COCO | None = None,
    check_images: bool = True, keep_images_without_persons: bool = False,
) -> ImageRecords:
    """Images of a COCO-format keypoints file with their persons and ignore regions.

    Args:
      ann_file: the keypoints json (COCO, CrowdPose, synthetic figures).
      image_dir: folder holding the images named by ``file_name``.
      keypoint_set: the json's keypoints (COCO_17, CROWDPOSE_14).
      coco: an already loaded index of ``ann_file`` (saves reading it twice).
      check_images: drop images whose file is missing (one warning names them).
      keep_images_without_persons: keep images with no labelled person (evaluation); training
        drops them.
    Raises:
      DataError: the file is missing, or a field is missing or malformed (names file and field).
    """
    coco = coco or load_coco(ann_file, keypoint_set)
    report = ReadReport(str(ann_file))
    rows = []
    for image_id in sorted(coco.imgs):
        image = coco.imgs[image_id]
        persons, regions = _split_annotations(coco.imgToAnns.get(image_id, []), image,
                                              keypoint_set, ann_file, report)
        if not persons and not keep_images_without_persons:
            report.skip("images without a labelled person")
            continue
        size = (int(image["height"]), int(image["width"]))
        rows.append((os.path.join(image_dir, image["file_name"]), image_id, size,
                     np.asarray(persons, np.float32), _merge(regions, size)))
    if check_images:
        rows = _drop_missing_images(rows, report)
    records = ImageRecords.from_lists(keypoint_set, *_transpose(rows, 5))
    _log(report, records)
    return records


def read_crowdpose_images(ann_file, image_dir, **kwargs) -> ImageRecords:
    """CrowdPose images: keypoint-less persons become box ignore regions (no segmentations)."""
    return read_coco_images(ann_file, image_dir, CROWDPOSE_14, **kwargs)


def _split_annotations(anns, image, keypoint_set, path, report):
    """An image's labelled persons ``[K, 3]`` and its ignore regions (pycocotools RLEs)."""
    persons, regions = [], []
    height, width = int(image["height"]), int(image["width"])
    for ann in anns:
        if ann.get("category_id", PERSON_CATEGORY) != PERSON_CATEGORY:
            report.skip("non-person annotations")
            continue
        keypoints = np.asarray(ann.get("keypoints", []), np.float32).reshape(-1, 3)
        labelled = keypoints[:, 2] > 0 if keypoints.size else np.zeros(0, bool)
        if not ann.get("iscrowd", 0) and labelled.any():
            keypoints[~labelled] = 0.0  # unlabelled joints carry no position
            persons.append(keypoints.reshape(keypoint_set.num_keypoints, 3))
        else:
            report.skip("crowd regions (ignored)" if ann.get("iscrowd", 0)
                        else "persons without labelled keypoints (ignored)")
            regions.extend(_ignore_region(ann, height, width, path))
    return persons, regions


def _ignore_region(ann, height, width, path) -> list:
    """pycocotools RLEs covering one annotation: its segmentation, else its box."""
    where = f"annotation {ann.get('id')}"
    segmentation = ann.get("segmentation")
    try:
        if not segmentation:  # CrowdPose, or a COCO-like file without masks: the box
            return mask_utils.frPyObjects(np.asarray([ann["bbox"]], np.float64), height, width)
        if isinstance(segmentation, dict):
            if list(segmentation.get("size", [])) != [height, width]:
                raise DataError(path, f"{where}: RLE size {segmentation.get('size')} is not the "
                                f"image size {[height, width]}", field="annotations.segmentation")
            if isinstance(segmentation.get("counts"), list):  # uncompressed RLE (crowds)
                return [mask_utils.frPyObjects(segmentation, height, width)]
            return [segmentation]
        polygons = [p for p in segmentation if len(p) >= 6]  # pycocotools needs 3 points
        return mask_utils.frPyObjects(polygons, height, width) if polygons else []
    except DataError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        raise DataError(path, f"{where}: unreadable segmentation ({e})",
                        field="annotations.segmentation") from None


def _merge(regions, size) -> bytes:
    if not regions:
        return b""
    merged = mask_utils.merge(regions, intersect=False)
    if list(merged["size"]) != list(size):
        raise ValueError(f"merged ignore mask has size {merged['size']}, expected {size}")
    return merged["counts"]


def _drop_missing_images(rows, report: ReadReport):
    missing = sorted({row[0] for row in rows if not os.path.isfile(row[0])})
    if not missing:
        return rows
    report.skip("images whose file is missing", len(missing))
    shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
    log.warning("%d image files named in %s are missing: %s", len(missing), report.source, shown)
    gone = set(missing)
    return [row for row in rows if row[0] not in gone]


def _transpose(rows, columns: int):
    return tuple(zip(*rows, strict=True)) if rows else ((),) * columns


def _log(report: ReadReport, records: ImageRecords):
    report.kept = len(records)
    reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(report.skipped.items()))
    # A warning, like the top-down reader's: a user should see what was left out.
    (log.warning if reasons else log.info)(
        "%s: kept %d images with %d persons%s", report.source, len(records),
        len(records.keypoints), f"; {reasons}" if reasons else "")


# ---- rasterising (TF) ------------------------------------------------------------------------
def rle_to_mask(counts, height, width):
    """Decode a COCO compressed RLE string into a ``[height, width]`` uint8 mask (TF ops).

    The format (pycocotools' ``maskApi.c``): run lengths of alternating 0s and 1s over the
    column-major pixels, starting with 0s. Each run length is written in 5-bit groups, least
    significant first, as characters ``48 + group`` with bit 0x20 set on all but the last
    group; bit 0x10 of the last group is the sign. From the fourth run on, a run is stored as
    the difference to the run two places earlier.

    Args:
      counts: scalar string, the ``counts`` of a compressed RLE (not empty).
      height, width: scalar ints, the mask size.
    """
    codes = tf.cast(tf.io.decode_raw(counts, tf.uint8), tf.int64) - 48
    index = tf.range(tf.size(codes, out_type=tf.int64))
    last = tf.bitwise.bitwise_and(codes, 0x20) == 0  # the final group of a number
    number = tf.cumsum(tf.cast(last, tf.int64), exclusive=True)  # which number each group is
    group = index - tf.gather(tf.math.segment_min(index, number), number)
    bits = tf.bitwise.left_shift(tf.bitwise.bitwise_and(codes, 0x1F), 5 * group)
    negative = last & (tf.bitwise.bitwise_and(codes, 0x10) != 0)
    sign = tf.where(negative, tf.bitwise.left_shift(tf.ones_like(codes), 5 * (group + 1)), 0)
    values = tf.math.segment_sum(bits - sign, number)
    # Undo the delta coding: even and odd positions are each a running sum from index 2 / 1.
    even, odd = values[::2], values[1::2]
    even = tf.concat([even[:1], tf.cumsum(even[1:])], axis=0)
    odd = tf.cumsum(odd)
    n = tf.size(values)
    runs = tf.dynamic_stitch([tf.range(0, n, 2), tf.range(1, n, 2)], [even, odd])
    pixels = tf.repeat(tf.cast(tf.range(n) % 2, tf.uint8), runs)
    return tf.transpose(tf.reshape(pixels, tf.stack([width, height])))
