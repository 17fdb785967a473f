"""MPII PCKh evaluation that reproduces the widely used reference script (pose-hg / HRNet).

Conventions
    * Joint order is ``tfpose.keypoints.MPII_16`` (r-ankle ... l-wrist), the order of the official
      files. Ground truth is the official validation ``.mat`` layout: ``pos_gt_src`` [16, 2, N]
      1-based pixels, ``jnt_missing`` [16, N] (1 = missing), ``headboxes_src`` [2, 2, N]
      ([0] = top-left, [1] = bottom-right corner), optional ``dataset_joints`` (names).
    * Predictions are [N, 16, 2] **0-based** pixels; ``evaluate_pckh`` adds +1.0 before comparing
      with the 1-based ground truth. This is the only place the offset lives.
    * head size = 0.6 x head-box diagonal. A joint is correct when it is visible and
      error / head size <= t. PCKh_j = 100 x correct_j / visible_j. "Mean" weights PCKh_j by
      visible_j over all joints except pelvis and thorax, exactly as the reference does.

Where the reference would divide by zero or compare NaN (same numbers, but no warnings here):
    * a joint visible in no person: NaN in ``per_joint`` (and in its group); weight 0 in Mean.
    * a person with a zero head size: all of that person's joints count as incorrect.
    * a non-finite prediction of a visible joint: incorrect, and one RuntimeWarning with the count.
    * ground truth without any visible joint to average: ValueError (Mean would be 0/0).

"Mean@0.1" is the same weighted mean at t = 0.1. NOTE: HRNet's script labels pckAll[11] (t = 0.11)
"Mean@0.1"; pass ``low_threshold=0.11`` to reproduce that column (the key is then "Mean@0.11").
HRNet's ``pred.mat`` files are already 1-based: evaluate them with ``one_based=True``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io

from tfpose.errors import DataError
from tfpose.keypoints import MPII_16

NUM_JOINTS = 16
HEAD_SIZE_FACTOR = 0.6  # "SC_BIAS" of the reference
EXCLUDED_FROM_MEAN = (6, 7)  # pelvis, thorax
OFFICIAL_JOINT_NAMES = (
    "rank", "rkne", "rhip", "lhip", "lkne", "lank", "pelv", "thor",
    "neck", "head", "rwri", "relb", "rsho", "lsho", "lelb", "lwri",
)
_NAMES_LOOKED_UP = tuple(i for i in range(NUM_JOINTS) if i not in (6, 7, 8))  # by the reference
GROUPS = {"Head": ("head_top",)} | {  # reported as 0.5 x (left + right), Head as head_top
    part: (f"left_{part.lower()}", f"right_{part.lower()}")
    for part in ("Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle")
}
CURVE_THRESHOLDS = np.arange(0, 0.5 + 0.01, 0.01)


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


def _load_mat(path: Path) -> dict:
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
    mat = _load_mat(path)
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


def load_predictions(path, num_persons: int | None = None) -> np.ndarray:
    """Read [N, 16, 2] 0-based predictions from ``.npy`` or from field ``preds`` of a ``.mat``.

    The official-like transposed layout [16, 2, N] is accepted too: it can never be confused with
    [N, 16, 2] (axis 1 is 2, not 16). DataError for a bad file, shape or person count.
    """
    path = Path(path)
    field = "preds" if path.suffix.lower() == ".mat" else None
    if field:
        mat = _load_mat(path)
        if field not in mat:
            raise DataError(path, "missing from the file", field=field)
        preds = np.asarray(mat[field])
    elif path.suffix.lower() == ".npy":
        if not path.is_file():
            raise DataError(path, "file not found")
        try:
            preds = np.load(path, allow_pickle=False)
        except Exception as e:
            raise DataError(path, f"not a readable .npy file ({type(e).__name__}: {e})") from e
    else:
        raise DataError(path, "unsupported extension; expected .npy or .mat")
    if preds.ndim == 3 and preds.shape[:2] == (NUM_JOINTS, 2):
        preds = preds.transpose(2, 0, 1)
    if preds.ndim != 3 or preds.shape[1:] != (NUM_JOINTS, 2) or preds.dtype.kind not in "biuf":
        problem = f"shape {preds.shape} dtype {preds.dtype} found, expected numeric (N, 16, 2)"
        raise DataError(path, problem, field=field)
    if num_persons is not None and len(preds) != num_persons:
        problem = f"{len(preds)} persons, but the ground truth has {num_persons}"
        raise DataError(path, problem, field=field)
    return preds.astype(np.float64)


def _pckh(normalised: np.ndarray, visible: np.ndarray, t: float) -> np.ndarray:
    """[16] PCKh in percent; NaN for joints visible in nobody."""
    correct = (visible & (normalised <= t)).sum(axis=0)
    counts = visible.sum(axis=0)
    return np.divide(100.0 * correct, counts, out=np.full(NUM_JOINTS, np.nan), where=counts > 0)


def _weighted_mean(pckh: np.ndarray, counts: np.ndarray) -> float:
    """Count-weighted mean without pelvis and thorax, summed in the reference's order."""
    include = counts > 0
    include[list(EXCLUDED_FROM_MEAN)] = False
    ratio = counts / np.float64(counts[include].sum())
    return float(np.sum(np.where(include, pckh * ratio, 0.0)))


def _normalised_errors(preds1: np.ndarray, gt: MPIIGroundTruth, visible: np.ndarray):
    """[N, 16] error / head size of 1-based predictions; inf or NaN (= incorrect) if undefined."""
    bad = int((~np.isfinite(preds1).all(axis=-1) & visible).sum())
    if bad:
        warnings.warn(f"{bad} visible joints have non-finite predictions; counted as incorrect",
                      RuntimeWarning, stacklevel=3)
    errors = np.linalg.norm(preds1 - gt.joints, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):  # zero head size
        return errors / gt.head_sizes[:, None]


def evaluate_pckh(predictions, ground_truth: MPIIGroundTruth, threshold: float = 0.5,
                  low_threshold: float = 0.1, one_based: bool = False, curve: bool = False) -> dict:
    """PCKh of [N, 16, 2] 0-based ``predictions`` (1-based if ``one_based``) against the GT.

    Returns plain Python floats: the groups "Head" ... "Ankle", "Mean", f"Mean@{low_threshold:g}",
    "per_joint" / f"per_joint@{low_threshold:g}" ({MPII_16 name: PCKh}), "num_persons", and with
    ``curve`` also "curve": {"thresholds": 0..0.5 step 0.01, "Mean": weighted mean at each}.
    """
    preds = np.asarray(predictions, dtype=np.float64)
    n, visible = ground_truth.num_persons, np.asarray(ground_truth.visible, bool)
    if preds.shape != (n, NUM_JOINTS, 2):
        raise ValueError(f"predictions have shape {preds.shape}, expected ({n}, {NUM_JOINTS}, 2)")
    counts = visible.sum(axis=0)
    if not np.delete(counts, EXCLUDED_FROM_MEAN).any():
        raise ValueError("the ground truth has no visible joint (besides pelvis/thorax) to score")
    normalised = _normalised_errors(preds + (0.0 if one_based else 1.0), ground_truth, visible)
    pckh, pckh_low = (_pckh(normalised, visible, t) for t in (threshold, low_threshold))
    per_joint, per_joint_low = (dict(zip(MPII_16.names, map(float, p), strict=True))
                                for p in (pckh, pckh_low))
    result = {g: 0.5 * (per_joint[j[0]] + per_joint[j[-1]]) for g, j in GROUPS.items()}
    result["Mean"] = _weighted_mean(pckh, counts)
    result[f"Mean@{low_threshold:g}"] = _weighted_mean(pckh_low, counts)
    result["per_joint"] = per_joint
    result[f"per_joint@{low_threshold:g}"] = per_joint_low
    result["num_persons"] = n
    if curve:
        means = [_weighted_mean(_pckh(normalised, visible, t), counts) for t in CURVE_THRESHOLDS]
        result["curve"] = {"thresholds": CURVE_THRESHOLDS.tolist(), "Mean": means}
    return result
