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
from pathlib import Path

import numpy as np

from tfpose.data.mpii import NUM_JOINTS, MPIIGroundTruth, read_mat
from tfpose.errors import DataError
from tfpose.keypoints import MPII_16

EXCLUDED_FROM_MEAN = (6, 7)  # pelvis, thorax
GROUPS = {"Head": ("head_top",)} | {  # reported as 0.5 x (left + right), Head as head_top
    part: (f"left_{part.lower()}", f"right_{part.lower()}")
    for part in ("Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle")
}
CURVE_THRESHOLDS = np.arange(0, 0.5 + 0.01, 0.01)


def load_predictions(path, num_persons: int | None = None) -> np.ndarray:
    """Read [N, 16, 2] 0-based predictions from ``.npy`` or from field ``preds`` of a ``.mat``.

    The official-like transposed layout [16, 2, N] is accepted too: it can never be confused with
    [N, 16, 2] (axis 1 is 2, not 16). DataError for a bad file, shape or person count.
    """
    path = Path(path)
    field = "preds" if path.suffix.lower() == ".mat" else None
    if field:
        mat = read_mat(path)
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
