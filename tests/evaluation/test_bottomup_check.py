import numpy as np
import pytest

from tfpose.codecs.associative_embedding import BottomUpCodec
from tfpose.data.bundled import synthetic_dataset
from tfpose.errors import DataError
from tfpose.evaluation.bottomup_check import (
    bottomup_check,
    ideal_outputs,
    ideal_tags,
    match_persons,
)

CODEC = BottomUpCodec(input_size=(512, 512))


# Thresholds sit a little below the AP measured when the check was written (512x512 input,
# quarter adjustment): coco_sample 1.000, crowdpose_sample 1.000, coco_mini_train 0.966,
# synthetic val (64 images) 1.000.
def test_coco_sample_upper_bound(coco_sample):
    result = bottomup_check(coco_sample / "test_coco.json", CODEC, progress=False)
    assert result["AP"] >= 0.98
    assert result["num_persons"] == 12 and result["missed_persons"] == 0
    assert result["extra_detections"] == 0 and result["within_2px"] == 1.0


def test_crowdpose_sample_upper_bound_with_flip_test(crowdpose_sample):
    ann = crowdpose_sample / "test_crowdpose.json"
    plain = bottomup_check(ann, CODEC, dataset="crowdpose", progress=False)
    flipped = bottomup_check(ann, CODEC, dataset="crowdpose", flip=True, progress=False)
    assert plain["AP"] >= 0.98 and flipped["AP"] == pytest.approx(plain["AP"])
    assert plain["num_detections"] == plain["num_persons"] == 4


def test_coco_mini_train_upper_bound(coco_mini_train):
    ann = coco_mini_train / "annotations" / "person_keypoints_train2017.json"
    result = bottomup_check(ann, CODEC, progress=False)
    assert result["AP"] >= 0.95  # the issue asks for >= 0.85 on real COCO annotations
    assert result["num_images"] == 80 and result["num_persons"] == 86
    assert result["missed_persons"] == 0


def test_synthetic_data(tmp_path, monkeypatch):
    monkeypatch.setenv("TFPOSE_CACHE", str(tmp_path))
    ann, _ = synthetic_dataset("val", num_images=16, progress=False)
    result = bottomup_check(ann, BottomUpCodec(input_size=(256, 256)), progress=False)
    assert result["AP"] >= 0.98 and result["missed_persons"] == 0


def test_ideal_tags_are_each_persons_index_near_its_joints():
    keypoints = np.zeros((2, 17, 3), np.float32)
    keypoints[0, :, :2], keypoints[1, :, :2] = (100.0, 100.0), (300.0, 400.0)
    keypoints[..., 2] = 2
    keypoints[1, 5, 2] = 0  # unlabelled: channel 5 belongs to person 0 everywhere
    tags = ideal_tags(CODEC, keypoints)
    assert tags.shape == (128, 128, 17)
    assert tags[24, 24, 0] == 0 and tags[99, 74, 0] == 1  # (x, y) = (24.9, 24.9), (74.9, 99.9)
    assert tags[0, 0, 0] == 0 and tags[127, 127, 0] == 1  # the nearest person elsewhere
    assert (tags[..., 5] == 0).all()
    outputs = ideal_outputs(CODEC, keypoints)
    assert [o.shape for o in outputs] == [(1, 128, 128, 34), (1, 256, 256, 17)]


def test_match_persons_pairs_by_joint_distance():
    truth = np.zeros((2, 17, 3), np.float32)
    truth[0, :, :2], truth[1, :, :2], truth[..., 2] = 10.0, 50.0, 2
    predicted = truth[::-1].copy()
    predicted[..., 2] = 0.9
    predicted[0, 3, :] = 0  # joint 3 of the person matching truth 1 was not found
    pairs, errors = match_persons(truth, predicted)
    assert sorted(map(tuple, pairs)) == [(0, 1), (1, 0)]
    assert np.isinf(errors).sum() == 1 and np.nanmax(np.asarray(errors)[np.isfinite(errors)]) == 0


def test_bad_input(tmp_path, coco_sample):
    with pytest.raises(DataError, match="file not found"):
        bottomup_check(tmp_path / "missing.json", CODEC, progress=False)
    with pytest.raises(ValueError, match="dataset must be one of"):
        bottomup_check(coco_sample / "test_coco.json", CODEC, dataset="mpii", progress=False)
    with pytest.raises(DataError, match="expected 14"):
        bottomup_check(coco_sample / "test_coco.json", CODEC, dataset="crowdpose",
                       progress=False)
