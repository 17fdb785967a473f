"""Person records: the columnar form every reader returns and every pipeline consumes."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from tfpose.codecs import geometry
from tfpose.keypoints import KeypointSet


@dataclass(frozen=True)
class PersonRecords:
    """One row per person instance (a ground-truth annotation or a detector box).

    Coordinates are 0-based image pixels with pixel centres at integer coordinates (see
    :mod:`tfpose.codecs.geometry`); readers of 1-based formats (MPII) convert on reading.

    Attributes:
      keypoint_set: which keypoints the ``keypoints`` columns are.
      image_paths: ``[N]`` str, path of each person's image.
      image_ids: ``[N]`` int64, the dataset's image id (MPII: the row's index in the file).
      boxes: ``[N, 4]`` float32 ``(x, y, w, h)``.
      keypoints: ``[N, K, 3]`` float32 ``(x, y, visibility)``; visibility 0 = not labelled,
        1 = labelled but occluded, 2 = visible (COCO's convention). All zeros for detections.
      scores: ``[N]`` float32, 1 for ground truth, the detector's score for detections.
    """

    keypoint_set: KeypointSet
    image_paths: np.ndarray
    image_ids: np.ndarray
    boxes: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray

    def __post_init__(self):
        n, k = len(self.image_paths), self.keypoint_set.num_keypoints
        expected = {
            "image_ids": (n,), "boxes": (n, 4), "keypoints": (n, k, 3), "scores": (n,),
        }
        check_shapes(self, expected)

    def __len__(self) -> int:
        return len(self.image_paths)

    @classmethod
    def from_lists(cls, keypoint_set, image_paths, image_ids, boxes, keypoints, scores):
        k = keypoint_set.num_keypoints
        return cls(
            keypoint_set=keypoint_set,
            image_paths=np.asarray(image_paths, dtype=str),
            image_ids=np.asarray(image_ids, np.int64).reshape(-1),
            boxes=np.asarray(boxes, np.float32).reshape(-1, 4),
            keypoints=np.asarray(keypoints, np.float32).reshape(-1, k, 3),
            scores=np.asarray(scores, np.float32).reshape(-1),
        )

    def select(self, index) -> PersonRecords:
        """Rows picked by a boolean mask or an index array."""
        columns = {f.name: getattr(self, f.name) for f in fields(self)}
        for name, value in columns.items():
            if isinstance(value, np.ndarray):
                columns[name] = value[index]
        return PersonRecords(**columns)

    def with_boxes_covering_keypoints(self) -> PersonRecords:
        """The same persons with each box grown to include all its labelled keypoints
        (:func:`tfpose.codecs.geometry.box_covering_keypoints`, which says why)."""
        boxes = geometry.box_covering_keypoints(self.boxes, self.keypoints).numpy()
        return replace(self, boxes=boxes)

    def columns(self) -> dict[str, np.ndarray]:
        """The arrays, for ``tf.data.Dataset.from_tensor_slices``."""
        return {
            "image_path": self.image_paths,
            "image_id": self.image_ids,
            "box": self.boxes,
            "keypoints": self.keypoints,
            "score": self.scores,
        }


def check_shapes(records, expected: dict[str, tuple]) -> None:
    """Raise ``ValueError`` naming the first column of ``records`` whose shape is not as
    ``expected`` (column name -> shape)."""
    for name, shape in expected.items():
        found = np.shape(getattr(records, name))
        if found != shape:
            raise ValueError(f"{name} has shape {found}, expected {shape}")

