"""Tests of tfpose.evaluation.mpii: PCKh as computed by the reference MPII evaluation."""

import json
import math
import warnings

import numpy as np
import pytest
import scipy.io

from tfpose.data.mpii import MPIIGroundTruth, load_ground_truth_mat, save_ground_truth_mat
from tfpose.errors import DataError
from tfpose.evaluation.mpii import evaluate_pckh, load_predictions
from tfpose.keypoints import MPII_16

NAMES = MPII_16.names
GROUP_KEYS = ("Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle")


def random_gt(n=20, seed=0, missing_rate=0.2) -> MPIIGroundTruth:
    rng = np.random.default_rng(seed)
    joints = rng.uniform(1, 500, size=(n, 16, 2))
    visible = rng.uniform(size=(n, 16)) > missing_rate
    top_left = rng.uniform(1, 400, size=(n, 2))
    boxes = np.stack([top_left, top_left + rng.uniform(10, 80, size=(n, 2))], axis=1)
    return MPIIGroundTruth(joints, visible, boxes)


def naive_pckh(preds0, gt, t):
    """Independent loop version of the reference: returns (per-joint list, weighted mean)."""
    per_joint, correct_sum, count_sum = [], 0, 0
    for j in range(16):
        count = correct = 0
        for p in range(gt.num_persons):
            if not gt.visible[p, j]:
                continue
            (x1, y1), (x2, y2) = gt.head_boxes[p]
            head = 0.6 * math.hypot(x2 - x1, y2 - y1)
            err = math.hypot(*(preds0[p, j] + 1.0 - gt.joints[p, j]))
            count += 1
            correct += err / head <= t
        per_joint.append(100.0 * correct / count if count else math.nan)
        if j not in (6, 7):
            correct_sum, count_sum = correct_sum + correct, count_sum + count
    return per_joint, 100.0 * correct_sum / count_sum


def assert_no_warnings(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kwargs)


# ---------------------------------------------------------------- the hand-computed key test

# Head boxes (top-left, bottom-right) -> diagonal -> head size 0.6 x diagonal -> px at t=0.5, 0.1
#   P0 (50,60)-(80,100): diag sqrt(30²+40²) = 50  -> head 30 -> 15 px, 3 px
#   P1 (10,10)-(70,90):  diag sqrt(60²+80²) = 100 -> head 60 -> 30 px, 6 px
#   P2 (5,5)-(17,21):    diag sqrt(12²+16²) = 20  -> head 12 -> 6 px, 1.2 px
#   P3 (0,0)-(3,4):      diag 5                   -> head 3  -> 1.5 px, 0.3 px
BOXES = [[[50, 60], [80, 100]], [[10, 10], [70, 90]], [[5, 5], [17, 21]], [[0, 0], [3, 4]]]
# pixel error per outcome: Z = correct at 0.1 (and 0.5), M = correct at 0.5 only, F = wrong;
# just inside/outside the thresholds, e.g. P0: 2.9/30 = .097, 14.9/30 = .497, 15.1/30 = .503
ERRORS = {
    "Z": (2.9, 5.9, 0.0, 0.29),
    "M": (14.9, 29.9, 1.3, 1.0),  # P3: 1.0 px is the 0-based/1-based offset, 1/3 = .333
    "F": (15.1, 30.1, 6.1, 1.6),
}
TABLE = {  # joint: outcome for P0 P1 P2 P3 ('-' = missing)
    "right_ankle": "ZMF-", "right_knee": "ZZZZ", "right_hip": "MMMM", "left_hip": "FFFF",
    "left_knee": "ZF--", "left_ankle": "----", "pelvis": "FFFF", "thorax": "FF-F",
    "upper_neck": "ZM-M", "head_top": "MFZM", "right_wrist": "FM--", "right_elbow": "ZZMF",
    "right_shoulder": "MMZZ", "left_shoulder": "ZFFM", "left_elbow": "M---", "left_wrist": "FZM-",
}


def hand_case():
    joints = np.zeros((4, 16, 2))
    visible = np.zeros((4, 16), bool)
    preds = np.full((4, 16, 2), np.nan)  # missing joints keep NaN: must not matter nor warn
    for j, name in enumerate(NAMES):
        for p, outcome in enumerate(TABLE[name]):
            joints[p, j] = (100 + 10 * j + p, 200 + 5 * j)  # 1-based GT
            if outcome == "-":
                continue
            visible[p, j] = True
            direction = (0.6, 0.8) if (p + j) % 2 else (-1.0, 0.0)  # unit vectors
            preds[p, j] = joints[p, j] - 1.0 + ERRORS[outcome][p] * np.array(direction)
    return preds, MPIIGroundTruth(joints, visible, np.array(BOXES, float))


def test_hand_computed_values():
    preds, gt = hand_case()
    np.testing.assert_allclose(gt.head_sizes, [30, 60, 12, 3])
    result = assert_no_warnings(evaluate_pckh, preds, gt)
    # per joint @0.5 = 100 x (Z+M) / visible;  @0.1 = 100 x Z / visible
    expected_05 = {
        "right_ankle": 200 / 3, "right_knee": 100, "right_hip": 100, "left_hip": 0,
        "left_knee": 50, "pelvis": 0, "thorax": 0, "upper_neck": 100, "head_top": 75,
        "right_wrist": 50, "right_elbow": 75, "right_shoulder": 100, "left_shoulder": 50,
        "left_elbow": 100, "left_wrist": 200 / 3,
    }
    expected_01 = {
        "right_ankle": 100 / 3, "right_knee": 100, "right_hip": 0, "left_hip": 0,
        "left_knee": 50, "pelvis": 0, "thorax": 0, "upper_neck": 100 / 3, "head_top": 25,
        "right_wrist": 0, "right_elbow": 50, "right_shoulder": 50, "left_shoulder": 25,
        "left_elbow": 0, "left_wrist": 100 / 3,
    }
    for name in expected_05:
        assert result["per_joint"][name] == pytest.approx(expected_05[name]), name
        assert result["per_joint@0.1"][name] == pytest.approx(expected_01[name]), name
    assert math.isnan(result["per_joint"]["left_ankle"])  # visible in nobody
    assert math.isnan(result["per_joint@0.1"]["left_ankle"])
    assert result["Head"] == pytest.approx(75)
    assert result["Shoulder"] == pytest.approx(0.5 * (100 + 50))
    assert result["Elbow"] == pytest.approx(0.5 * (75 + 100))
    assert result["Wrist"] == pytest.approx(0.5 * (50 + 200 / 3))
    assert result["Hip"] == pytest.approx(0.5 * (100 + 0))
    assert result["Knee"] == pytest.approx(0.5 * (100 + 50))
    assert math.isnan(result["Ankle"])
    # Mean = sum_j PCKh_j x count_j / sum_j count_j = 100 x sum correct / sum visible, without
    # pelvis (4 visible, 0 correct) and thorax (3, 0); left_ankle has count 0.
    # visible (r-ank..l-wri w/o pelvis, thorax): 3+4+4+4+2+0 +3+4 +2+4+4+4+1+3 = 42
    # correct@0.5:                               2+4+4+0+1+0 +3+3 +1+3+4+2+1+2 = 30
    # correct@0.1:                               1+4+0+0+1+0 +1+1 +0+2+2+1+0+1 = 14
    assert result["Mean"] == pytest.approx(100 * 30 / 42)  # 71.43 (with pelvis+thorax: 61.22;
    assert result["Mean@0.1"] == pytest.approx(100 * 14 / 42)  # unweighted 13-joint mean: 71.79)
    assert result["num_persons"] == 4
    json.dumps(result)  # plain Python types


def test_hand_case_matches_independent_implementation_on_random_data():
    gt = random_gt(n=200, seed=3)
    rng = np.random.default_rng(4)
    preds = gt.joints - 1 + rng.normal(scale=8.0, size=gt.joints.shape)
    result = evaluate_pckh(preds, gt)
    for t, per_key, mean_key in ((0.5, "per_joint", "Mean"), (0.1, "per_joint@0.1", "Mean@0.1")):
        per_joint, mean = naive_pckh(preds, gt, t)
        assert list(result[per_key].values()) == pytest.approx(per_joint, abs=1e-9)
        assert result[mean_key] == pytest.approx(mean, abs=1e-9)
    assert 0 < result["Mean@0.1"] < result["Mean"] < 100


# ---------------------------------------------------------------- perfect predictions, offset

def test_ground_truth_against_itself_is_100(tmp_path):
    save_ground_truth_mat(tmp_path / "gt.mat", random_gt())
    gt = load_ground_truth_mat(tmp_path / "gt.mat")
    result = assert_no_warnings(evaluate_pckh, gt.joints - 1.0, gt)  # predictions are 0-based
    assert all(result[k] == 100.0 for k in (*GROUP_KEYS, "Mean", "Mean@0.1"))
    assert set(result["per_joint"].values()) == {100.0}
    assert set(result["per_joint@0.1"].values()) == {100.0}


def test_real_sample_against_itself(mpii_sample):
    persons = json.loads((mpii_sample / "test_mpii.json").read_text())
    joints = np.array([p["joints"] for p in persons], float)
    visible = np.array([p["joints_vis"] for p in persons]) > 0
    neck, top = joints[:, 8], joints[:, 9]  # synthetic head box: square around neck..head_top
    half = np.linalg.norm(top - neck, axis=-1)[:, None] / 2
    middle = (neck + top) / 2
    gt = MPIIGroundTruth(joints, visible, np.stack([middle - half, middle + half], axis=1))
    result = evaluate_pckh(joints - 1.0, gt)
    assert result["Mean"] == result["Mean@0.1"] == 100.0
    shifted = joints - 1.0 + np.array([0.3, 0.0]) * gt.head_sizes[:, None, None]
    result = evaluate_pckh(shifted, gt)  # 0.3 head sizes off: inside 0.5, outside 0.1
    assert (result["Mean"], result["Mean@0.1"], result["num_persons"]) == (100.0, 0.0, 5)


def test_one_based_offset():
    # one person, head box diagonal 5 -> head size 3; every joint visible
    gt = MPIIGroundTruth(np.full((1, 16, 2), 10.0), np.ones((1, 16), bool),
                         np.array([[[0.0, 0.0], [3.0, 4.0]]]))
    assert evaluate_pckh(gt.joints - 1.0, gt)["Mean@0.1"] == 100.0  # exactly at gt - 1: perfect
    at_gt = evaluate_pckh(gt.joints, gt)  # 1 px off: 1/3 <= 0.5 but > 0.1
    assert (at_gt["Mean"], at_gt["Mean@0.1"]) == (100.0, 0.0)
    assert evaluate_pckh(gt.joints, gt, one_based=True)["Mean@0.1"] == 100.0
    small = MPIIGroundTruth(gt.joints, gt.visible, gt.head_boxes / 2)  # head 1.5: 1/1.5 > 0.5
    assert evaluate_pckh(gt.joints, small)["Mean"] == 0.0


def test_error_exactly_at_threshold_is_correct():
    # head size 0.6 x 5 = 3.0 exactly in floating point; error 1.5 px = exactly 0.5 head sizes
    gt = MPIIGroundTruth(np.full((1, 16, 2), 10.0), np.ones((1, 16), bool),
                         np.array([[[0.0, 0.0], [3.0, 4.0]]]))
    on_boundary = gt.joints - 1.0 + np.array([1.5, 0.0])
    assert evaluate_pckh(on_boundary, gt)["Mean"] == 100.0  # the reference uses <=
    exact = evaluate_pckh(gt.joints - 1.0, gt, curve=True)
    assert exact["curve"]["Mean"][0] == 100.0  # zero error passes t = 0


# ---------------------------------------------------------------- edge cases

def test_zero_head_size_counts_as_incorrect_without_warnings():
    gt = random_gt(n=3, missing_rate=0.0)
    boxes = gt.head_boxes.copy()
    boxes[1, 1] = boxes[1, 0]  # degenerate box: head size 0
    gt = MPIIGroundTruth(gt.joints, gt.visible, boxes)
    result = assert_no_warnings(evaluate_pckh, gt.joints - 1.0, gt)  # even exact predictions
    assert result["Mean"] == pytest.approx(200 / 3)
    assert list(result["per_joint"].values()) == pytest.approx([200 / 3] * 16)


def test_non_finite_predictions_warn_and_count_as_incorrect():
    gt = random_gt(n=4, missing_rate=0.0)
    preds = gt.joints - 1.0
    preds[0, 9] = np.nan
    preds[1, 9, 0] = np.inf
    with pytest.warns(RuntimeWarning, match="2 visible joints"):
        result = evaluate_pckh(preds, gt)
    assert result["Head"] == 50.0
    assert result["Mean"] == pytest.approx(100 * (14 * 4 - 2) / (14 * 4))


def test_no_visible_joint_raises():
    gt = random_gt(n=2)
    gt = MPIIGroundTruth(gt.joints, np.zeros((2, 16), bool), gt.head_boxes)
    with pytest.raises(ValueError, match="no visible joint"):
        evaluate_pckh(gt.joints, gt)


def test_wrong_prediction_shape_raises():
    gt = random_gt(n=3)
    with pytest.raises(ValueError, match=r"\(3, 16, 2\)"):
        evaluate_pckh(gt.joints[:2], gt)


def test_low_threshold_and_curve():
    gt = random_gt(n=50, seed=1)
    preds = gt.joints - 1 + np.random.default_rng(2).normal(scale=6.0, size=gt.joints.shape)
    result = evaluate_pckh(preds, gt, curve=True)
    assert len(result["curve"]["thresholds"]) == 51
    assert result["curve"]["Mean"][50] == result["Mean"]
    assert result["curve"]["Mean"][10] == result["Mean@0.1"]
    hrnet = evaluate_pckh(preds, gt, low_threshold=0.11)  # HRNet's "Mean@0.1" column
    assert hrnet["Mean@0.11"] == result["curve"]["Mean"][11]
    assert "per_joint@0.11" in hrnet


# ---------------------------------------------------------------- the .mat layout

def test_save_load_round_trip_and_official_layout(tmp_path):
    gt = random_gt(n=7)
    save_ground_truth_mat(tmp_path / "gt.mat", gt)
    raw = scipy.io.loadmat(str(tmp_path / "gt.mat"))
    assert raw["pos_gt_src"].shape == (16, 2, 7)
    assert raw["jnt_missing"].shape == (16, 7)
    assert raw["headboxes_src"].shape == (2, 2, 7)
    np.testing.assert_array_equal(raw["pos_gt_src"][9, :, 4], gt.joints[4, 9])
    np.testing.assert_array_equal(raw["jnt_missing"][:, 4], ~gt.visible[4])
    np.testing.assert_array_equal(raw["headboxes_src"][0, :, 4], gt.head_boxes[4, 0])  # top-left
    np.testing.assert_array_equal(raw["headboxes_src"][1, :, 4], gt.head_boxes[4, 1])
    assert np.where(raw["dataset_joints"] == "head")[1][0] == 9  # as the reference looks it up
    loaded = load_ground_truth_mat(tmp_path / "gt.mat")
    for field in ("joints", "visible", "head_boxes"):
        np.testing.assert_array_equal(getattr(loaded, field), getattr(gt, field))


def test_single_person_file_without_trailing_dimension(tmp_path):
    gt = random_gt(n=1)
    scipy.io.savemat(str(tmp_path / "gt.mat"), {  # as MATLAB writes N = 1: 16x2 and 2x2
        "pos_gt_src": gt.joints[0], "jnt_missing": (~gt.visible).T.astype(float),
        "headboxes_src": gt.head_boxes[0]})
    loaded = load_ground_truth_mat(tmp_path / "gt.mat")
    np.testing.assert_array_equal(loaded.joints, gt.joints)
    np.testing.assert_array_equal(loaded.head_boxes, gt.head_boxes)


def test_load_predictions_npy_mat_and_transposed(tmp_path):
    preds = np.random.default_rng(0).uniform(0, 100, size=(5, 16, 2))
    np.save(tmp_path / "p.npy", preds)
    scipy.io.savemat(str(tmp_path / "p.mat"), {"preds": preds})
    scipy.io.savemat(str(tmp_path / "t.mat"), {"preds": preds.transpose(1, 2, 0)})
    for name in ("p.npy", "p.mat", "t.mat"):
        np.testing.assert_array_equal(load_predictions(tmp_path / name, num_persons=5), preds)


# ---------------------------------------------------------------- bad input

def write_gt_fields(path, drop=None, **override):
    gt = random_gt(n=4)
    fields = {"pos_gt_src": gt.joints.transpose(1, 2, 0),
              "jnt_missing": (~gt.visible).T.astype(np.uint8),
              "headboxes_src": gt.head_boxes.transpose(1, 2, 0)}
    fields.update(override)
    fields.pop(drop, None)
    scipy.io.savemat(str(path), fields)
    return path


def test_missing_files(tmp_path):
    with pytest.raises(DataError, match=r"absent\.mat: file not found"):
        load_ground_truth_mat(tmp_path / "absent.mat")
    for name in ("absent.mat", "absent.npy"):
        with pytest.raises(DataError, match=rf"{name}: file not found"):
            load_predictions(tmp_path / name)


def test_garbage_mat_file(tmp_path):
    (tmp_path / "gt.mat").write_text("this is not a MATLAB file\n" * 20)
    with pytest.raises(DataError, match=r"gt\.mat.*not a readable MATLAB"):
        load_ground_truth_mat(tmp_path / "gt.mat")
    (tmp_path / "p.npy").write_text("garbage")
    with pytest.raises(DataError, match=r"p\.npy.*not a readable \.npy"):
        load_predictions(tmp_path / "p.npy")


@pytest.mark.parametrize("field", ["pos_gt_src", "jnt_missing", "headboxes_src"])
def test_missing_field(tmp_path, field):
    path = write_gt_fields(tmp_path / "gt.mat", drop=field)
    with pytest.raises(DataError, match=rf"gt\.mat: field '{field}': missing") as info:
        load_ground_truth_mat(path)
    assert info.value.field == field


@pytest.mark.parametrize("field, value, message", [
    ("pos_gt_src", np.zeros((15, 2, 4)), r"shape \(15, 2, 4\) found, expected \(16, 2, 'N'\)"),
    ("jnt_missing", np.zeros((16, 3)), r"shape \(16, 3\) found, expected \(16, 4\)"),
    ("headboxes_src", np.zeros((4, 2, 2)), r"shape \(4, 2, 2\) found, expected \(2, 2, 4\)"),
    ("jnt_missing", np.full((16, 4), 2.0), "0 .present. or 1 .missing."),
    ("pos_gt_src", np.full((16, 2, 4), np.nan), "non-finite"),
    ("dataset_joints", np.array(["lank"] * 16, dtype=object).reshape(1, 16), "MPII order"),
])
def test_bad_field(tmp_path, field, value, message):
    path = write_gt_fields(tmp_path / "gt.mat", **{field: value})
    with pytest.raises(DataError, match=message) as info:
        load_ground_truth_mat(path)
    assert info.value.field == field and "gt.mat" in str(info.value)


def test_bad_predictions(tmp_path):
    np.save(tmp_path / "wrong.npy", np.zeros((5, 17, 2)))
    with pytest.raises(DataError, match=r"wrong\.npy.*shape \(5, 17, 2\)"):
        load_predictions(tmp_path / "wrong.npy")
    np.save(tmp_path / "five.npy", np.zeros((5, 16, 2)))
    with pytest.raises(DataError, match=r"five\.npy.*5 persons, but the ground truth has 6"):
        load_predictions(tmp_path / "five.npy", num_persons=6)
    scipy.io.savemat(str(tmp_path / "nopreds.mat"), {"pred": np.zeros((5, 16, 2))})
    with pytest.raises(DataError, match=r"nopreds\.mat: field 'preds': missing"):
        load_predictions(tmp_path / "nopreds.mat")
    (tmp_path / "p.json").write_text("[]")
    with pytest.raises(DataError, match="unsupported extension"):
        load_predictions(tmp_path / "p.json")
