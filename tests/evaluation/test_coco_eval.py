import json

import numpy as np
import pytest

from tfpose.data.coco import load_coco, read_coco_persons
from tfpose.evaluation.coco import evaluate_keypoints, keypoint_results, oks_nms, write_results
from tfpose.evaluation.crowdpose import evaluate_crowdpose
from tfpose.keypoints import COCO_17, CROWDPOSE_14


def gt_results(records, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    points = records.keypoints[..., :2] + rng.normal(0, noise, records.keypoints[..., :2].shape)
    scores = np.where(records.keypoints[..., 2] > 0, 0.9, 0.1)
    return keypoint_results(records.image_ids, points, scores, records.scores)


def test_ground_truth_scores_perfect_ap_and_noise_lowers_it(coco_sample):
    ann = coco_sample / "test_coco.json"
    coco = load_coco(ann)
    records = read_coco_persons(ann, coco_sample, coco=coco)
    perfect = evaluate_keypoints(coco, gt_results(records))
    noisy = evaluate_keypoints(coco, gt_results(records, noise=8.0))
    assert perfect["AP"] == pytest.approx(1.0)
    assert 0.0 < noisy["AP"] < 0.9
    assert set(perfect) == {"AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"}


def test_results_format_and_rescoring():
    points = np.zeros((1, 17, 2))
    scores = np.array([[0.8] * 10 + [0.1] * 7])
    (result,) = keypoint_results([5], points, scores, [0.5])
    assert result["image_id"] == 5 and result["category_id"] == 1
    assert len(result["keypoints"]) == 51
    assert result["score"] == pytest.approx(0.5 * 0.8)  # low-confidence joints are left out


def test_no_predictions_give_zero_with_a_warning(coco_sample, caplog):
    stats = evaluate_keypoints(load_coco(coco_sample / "test_coco.json"), [])
    assert stats["AP"] == 0.0 and "no predictions" in caplog.text


def test_oks_nms_drops_duplicates_only():
    pose = np.random.default_rng(0).uniform(0, 100, (17, 2))
    make = lambda p, s: keypoint_results([1], p[None], np.ones((1, 17)), [s])[0]  # noqa: E731
    results = [make(pose, 0.9), make(pose + 0.5, 0.8), make(pose + 60, 0.7)]
    kept = oks_nms(results, areas=[100 * 100] * 3, sigmas=COCO_17.sigmas)
    assert [r["score"] for r in kept] == [results[0]["score"], results[2]["score"]]


def test_write_results_is_readable_json(tmp_path):
    path = tmp_path / "sub" / "results.json"
    write_results([{"image_id": 1, "score": 0.5}], path)
    assert json.loads(path.read_text()) == [{"image_id": 1, "score": 0.5}]
    assert list(path.parent.iterdir()) == [path]


def test_crowdpose_ground_truth_is_perfect(crowdpose_sample):
    ann = crowdpose_sample / "test_crowdpose.json"
    records = read_coco_persons(ann, crowdpose_sample, CROWDPOSE_14)
    perfect = evaluate_crowdpose(ann, gt_results(records))
    noisy = evaluate_crowdpose(ann, gt_results(records, noise=10.0))
    assert perfect["AP"] == pytest.approx(1.0)
    assert noisy["AP"] < perfect["AP"]
    assert "AP_medium" in perfect
