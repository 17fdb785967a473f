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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io

from tfpose.data.coco import ReadReport, finish_records, numeric_array, read_json
from tfpose.data.records import PersonRecords
from tfpose.errors import DataError
from tfpose.keypoints import MPII_16

MPII_SCALE_PIXELS = 200.0
CENTER_SHIFT = 15.0  # pixels per unit of scale

# The official ground-truth .mat layout (gt_valid.mat), read by PCKh and the prepared datasets.
NUM_JOINTS = 16
HEAD_SIZE_FACTOR = 0.6  # "SC_BIAS" of the reference
OFFICIAL_JOINT_NAMES = (
    "rank", "rkne", "rhip", "lhip", "lkne", "lank", "pelv", "thor",
    "neck", "head", "rwri", "relb", "rsho", "lsho", "lelb", "lwri",
)
_NAMES_LOOKED_UP = tuple(i for i in range(NUM_JOINTS) if i not in (6, 7, 8))  # by the reference


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


@dataclass(frozen=True)
class MPIIGroundTruth:
    joints: np.ndarray  # [N, 16, 2] 1-based pixels, as in the file
    visible: np.ndarray  # [N, 16] bool
    head_boxes: np.ndarray  # [N, 2, 2] (corner, xy)

    def __post_init__(self):
        n = self.num_persons
        shapes = {"joints": (n, NUM_JOINTS, 2), "visible": (n, NUM_JOINTS), "head_boxes": (n, 2, 2)}
        for name, shape in shapes.items():
            if np.shape(getattr(self, name)) != shape:
                raise ValueError(f"{name} has shape {np.shape(getattr(self, name))}, want {shape}")

    @property
    def num_persons(self) -> int:
        return len(self.joints)

    @property
    def head_sizes(self) -> np.ndarray:
        """[N] head size = 0.6 x head-box diagonal (computed like the reference, bit for bit)."""
        diagonal = np.linalg.norm(self.head_boxes[:, 1] - self.head_boxes[:, 0], axis=-1)
        return diagonal * HEAD_SIZE_FACTOR


def read_mat(path) -> dict:
    """The fields of a MATLAB ``.mat`` file (v7 or older); DataError naming the file if bad."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found")
    try:
        return scipy.io.loadmat(str(path))
    except NotImplementedError as e:  # MATLAB v7.3 files are HDF5
        raise DataError(path, f"MATLAB v7.3 (HDF5) .mat is not supported; save as v7 ({e})") from e
    except Exception as e:  # scipy raises many types for garbage input
        raise DataError(path, f"not a readable MATLAB .mat file ({type(e).__name__}: {e})") from e


def _field(mat: dict, path: Path, name: str, expected: tuple) -> np.ndarray:
    """``mat[name]`` as float64 of shape ``expected`` (None = any size)."""
    if name not in mat:
        found = sorted(k for k in mat if not k.startswith("__"))
        raise DataError(path, f"missing from the file (fields found: {found})", field=name)
    value = np.asarray(mat[name])
    if value.ndim == len(expected) - 1 and expected[-1] in (None, 1):
        value = value[..., None]  # MATLAB drops a trailing singleton dimension (N = 1)
    want = tuple("N" if e is None else e for e in expected)
    if value.ndim != len(expected) or any(e not in (None, value.shape[i]) for i, e in
                                          enumerate(expected)):
        raise DataError(path, f"shape {value.shape} found, expected {want}", field=name)
    if value.dtype.kind not in "biuf":
        raise DataError(path, f"dtype {value.dtype} is not numeric", field=name)
    return value.astype(np.float64)


def _check_joint_names(value, path: Path) -> None:
    names = [str(np.ravel(e)[0]) if np.size(e) else "" for e in np.ravel(value)]
    wrong = len(names) != NUM_JOINTS or any(
        names[i] != OFFICIAL_JOINT_NAMES[i] for i in _NAMES_LOOKED_UP
    )
    if wrong:
        problem = f"joint names {names} are not in MPII order {list(OFFICIAL_JOINT_NAMES)}"
        raise DataError(path, problem, field="dataset_joints")


def load_ground_truth_mat(path) -> MPIIGroundTruth:
    """Read the official MPII ground-truth ``.mat`` (e.g. ``gt_valid.mat``); DataError if bad."""
    path = Path(path)
    mat = read_mat(path)
    joints = _field(mat, path, "pos_gt_src", (NUM_JOINTS, 2, None))
    n = joints.shape[2]
    missing = _field(mat, path, "jnt_missing", (NUM_JOINTS, n))
    boxes = _field(mat, path, "headboxes_src", (2, 2, n))
    if "dataset_joints" in mat:
        _check_joint_names(mat["dataset_joints"], path)
    if not np.isin(missing, (0, 1)).all():
        raise DataError(path, "values must be 0 (present) or 1 (missing)", field="jnt_missing")
    gt = MPIIGroundTruth(joints.transpose(2, 0, 1), missing.T == 0, boxes.transpose(2, 0, 1))
    if not np.isfinite(gt.joints[gt.visible]).all():
        raise DataError(path, "non-finite coordinates of visible joints", field="pos_gt_src")
    if not np.isfinite(gt.head_boxes).all():
        raise DataError(path, "non-finite head-box coordinates", field="headboxes_src")
    return gt


def save_ground_truth_mat(path, gt: MPIIGroundTruth) -> None:
    """Write ``gt`` in the layout of the official file (for tests and for making subsets)."""
    scipy.io.savemat(str(path), {
        "pos_gt_src": gt.joints.transpose(1, 2, 0).astype(np.float64),
        "jnt_missing": (~np.asarray(gt.visible, bool)).T.astype(np.uint8),
        "headboxes_src": gt.head_boxes.transpose(1, 2, 0).astype(np.float64),
        "dataset_joints": np.array(OFFICIAL_JOINT_NAMES, dtype=object).reshape(1, NUM_JOINTS),
    }, appendmat=False)
