"""Percentage of correct keypoints (PCK), the metrics that need no COCO-style scoring.

Both compare ``[N, K, 2]`` predictions with ``[N, K, 3]`` ground truth (x, y, visibility) person
by person; a labelled joint (visibility > 0) is correct when its error is at most a threshold
times a per-person size. A prediction of NaN counts as wrong (bottom-up evaluation uses it for
persons or joints it did not find).

* :func:`pck_torso` (``PCK@0.5``): 0.5 x the torso size, the distance between the midpoint of the
  shoulders and the midpoint of the hips. Only persons whose four torso joints are labelled are
  scored. It asks "is the joint on the right body part", which a model trained for minutes at
  96x64 can show.
* :func:`pck_box` (``PCK_box@0.05``): 0.05 x the longer side of the person's box. On the
  synthetic figures (head radius 5.5-7% of their height) this is about PCKh@0.5 (MPII's head
  size, 0.6 x the head-box diagonal, is about 0.1 x their height), and it is mmpose's default
  box-normalised PCK. It asks for precise localisation.
"""

from __future__ import annotations

import numpy as np

from tfpose.keypoints import KeypointSet

TORSO_THRESHOLD = 0.5  # x torso size
BOX_FRACTION = 0.05  # x the box's longer side
TORSO = ("left_shoulder", "right_shoulder", "left_hip", "right_hip")


def pck_torso(predicted, truth, keypoint_set: KeypointSet,
              threshold: float = TORSO_THRESHOLD) -> dict:
    """Torso-normalised PCK (module docstring) of ``[N, K, 2]`` predictions vs ``[N, K, 3]``.

    Returns ``{"PCK": fraction correct, "num_joints", "num_persons"}`` (persons scored).
    """
    missing = [name for name in TORSO if name not in keypoint_set.names]
    if missing:
        raise ValueError(f"{keypoint_set.name} keypoints lack the torso joints {missing}")
    truth = np.asarray(truth, np.float64).reshape(-1, keypoint_set.num_keypoints, 3)
    ls, rs, lh, rh = (keypoint_set.names.index(name) for name in TORSO)
    torso_labelled = (truth[:, [ls, rs, lh, rh], 2] > 0).all(axis=1)
    shoulders = 0.5 * (truth[:, ls, :2] + truth[:, rs, :2])
    hips = 0.5 * (truth[:, lh, :2] + truth[:, rh, :2])
    torso = np.linalg.norm(shoulders - hips, axis=-1)
    scored = torso_labelled & (torso > 0)
    return _pck(predicted, truth, np.where(scored, torso, 1.0), scored, threshold)


def pck_box(predicted, truth, boxes, fraction: float = BOX_FRACTION) -> dict:
    """Box-normalised PCK: correct when the error is at most ``fraction`` x the longer side of
    the person's ``[N, 4]`` (x, y, w, h) box. Same keys as :func:`pck_torso`."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    scale = np.maximum(boxes[:, 2], boxes[:, 3])
    return _pck(predicted, truth, np.maximum(scale, 1e-6), scale > 0, fraction)


def _pck(predicted, truth, scale, scored, threshold) -> dict:
    truth = np.asarray(truth, np.float64)
    predicted = np.asarray(predicted, np.float64).reshape(truth.shape[:-1] + (2,))
    error = np.linalg.norm(predicted - truth[..., :2], axis=-1)
    labelled = (truth[..., 2] > 0) & scored[:, None]
    with np.errstate(invalid="ignore"):  # NaN predictions: never correct
        correct = (error <= threshold * scale[:, None]) & labelled
    total = int(labelled.sum())
    return {"PCK": float(correct.sum() / total) if total else 0.0, "num_joints": total,
            "num_persons": int(scored.sum())}
