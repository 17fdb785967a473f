"""COCO keypoint AP through pycocotools ``COCOeval(..., "keypoints")``.

Predictions travel in the standard results format, one dict per person:
``{"image_id", "category_id": 1, "keypoints": [x, y, score] * K, "score"}``.
"""

from __future__ import annotations

import contextlib
import io
import logging

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from tfpose.files import write_json_atomically
from tfpose.keypoints import COCO_17, KeypointSet

log = logging.getLogger("tfpose")

COCO_STAT_NAMES = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")


def keypoint_results(image_ids, keypoints, keypoint_scores, box_scores, *,
                     score_threshold: float = 0.2) -> list[dict]:
    """Results list from ``[N]`` image ids, ``[N, K, 2]`` image keypoints, ``[N, K]`` keypoint
    scores and ``[N]`` box scores.

    A person's score is its box score times the mean score of its confident keypoints (above
    ``score_threshold``), the rescoring of the reference top-down pipelines: AP ranks persons by
    it, so confident detections with vague keypoints should not come first.
    """
    keypoints = np.asarray(keypoints, np.float64)
    keypoint_scores = np.asarray(keypoint_scores, np.float64)
    results = []
    for image_id, points, scores, box_score in zip(
            image_ids, keypoints, keypoint_scores, box_scores, strict=True):
        confident = scores[scores > score_threshold]
        quality = confident.mean() if confident.size else 0.0
        triplets = np.concatenate([points, scores[:, None]], axis=1)
        results.append({
            "image_id": int(image_id), "category_id": 1,
            "keypoints": [round(float(v), 3) for v in triplets.reshape(-1)],
            "score": float(box_score) * float(quality),
        })
    return results


def oks(points, others, area: float, sigmas) -> np.ndarray:
    """Object keypoint similarity of ``[K, 3]`` ``points`` with each of ``[M, K, 3]`` ``others``,
    for a person of ``area`` pixels (COCO's formula, all keypoints counted)."""
    variances = (2 * np.asarray(sigmas)) ** 2
    d2 = ((np.asarray(others)[..., :2] - np.asarray(points)[:, :2]) ** 2).sum(-1)
    return np.exp(-d2 / variances / (2 * (area + np.spacing(1)))).mean(-1)


def oks_nms(results: list[dict], areas, sigmas, threshold: float = 0.9) -> list[dict]:
    """Drop, per image, persons whose pose overlaps (OKS > threshold) a higher-scored one.

    Needed with detector boxes, where two boxes on one person give two near-identical poses.
    """
    kept = []
    by_image: dict[int, list[int]] = {}
    for i, result in enumerate(results):
        by_image.setdefault(result["image_id"], []).append(i)
    for indices in by_image.values():
        order = sorted(indices, key=lambda i: -results[i]["score"])
        poses = np.array([results[i]["keypoints"] for i in order]).reshape(len(order), -1, 3)
        alive = np.ones(len(order), bool)
        for j in range(len(order)):
            if alive[j]:
                kept.append(results[order[j]])
                later = np.arange(j + 1, len(order))
                overlap = oks(poses[j], poses[later], areas[order[j]], sigmas) > threshold
                alive[later[overlap]] = False
    return kept


def write_results(results: list[dict], path) -> None:
    """Write a results json atomically (a kill never leaves half a file), compact."""
    write_json_atomically(path, results, indent=None)


def evaluate_keypoints(coco_gt: COCO, results: list[dict],
                       keypoint_set: KeypointSet = COCO_17) -> dict[str, float]:
    """COCO keypoint AP/AR of ``results`` against ``coco_gt``; 20 detections per image."""
    if not results:
        log.warning("no predictions to evaluate: every metric is 0")
        return dict.fromkeys(COCO_STAT_NAMES, 0.0)
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        coco_dt = coco_gt.loadRes(results)
        evaluator = COCOeval(coco_gt, coco_dt, "keypoints")
        evaluator.params.kpt_oks_sigmas = np.asarray(keypoint_set.sigmas)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    log.debug(printed.getvalue())
    return {name: float(v) for name, v in zip(COCO_STAT_NAMES, evaluator.stats, strict=True)}
