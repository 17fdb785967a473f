"""Tests of tfpose.keypoints: the names, flip pairs, skeletons and sigmas of every keypoint set."""

import json

import numpy as np
import pytest

from tfpose.keypoints import (
    COCO_17,
    CROWDPOSE_14,
    KEYPOINT_SETS,
    MPII_16,
    get_keypoint_set,
)

SETS = pytest.mark.parametrize("kset", list(KEYPOINT_SETS.values()), ids=list(KEYPOINT_SETS))


def test_registry_and_sizes():
    assert KEYPOINT_SETS == {"coco": COCO_17, "mpii": MPII_16, "crowdpose": CROWDPOSE_14}
    sizes = (COCO_17.num_keypoints, MPII_16.num_keypoints, CROWDPOSE_14.num_keypoints)
    assert sizes == (17, 16, 14)


def test_get_keypoint_set():
    assert get_keypoint_set("crowdpose") is CROWDPOSE_14
    with pytest.raises(ValueError, match=r"unknown keypoint set 'h36m'.*coco"):
        get_keypoint_set("h36m")


@SETS
def test_flip_index_is_an_involution(kset):
    index = kset.flip_index
    assert sorted(index) == list(range(kset.num_keypoints))
    np.testing.assert_array_equal(index[index], np.arange(kset.num_keypoints))
    for left, right in kset.flip_pairs:
        assert (index[left], index[right]) == (right, left)


@SETS
def test_flip_pairs_are_left_right_twins_by_name(kset):
    paired = set()
    for a, b in kset.flip_pairs:
        side_a, _, rest_a = kset.names[a].partition("_")
        side_b, _, rest_b = kset.names[b].partition("_")
        assert {side_a, side_b} == {"left", "right"}, (kset.names[a], kset.names[b])
        assert rest_a == rest_b
        paired |= {a, b}
    sided = {i for i, n in enumerate(kset.names) if n.startswith(("left_", "right_"))}
    assert paired == sided  # every sided joint has a twin; centre joints have none


@SETS
def test_skeleton_indices_in_range(kset):
    for a, b in kset.skeleton:
        assert 0 <= a < kset.num_keypoints and 0 <= b < kset.num_keypoints and a != b
    assert len(set(map(frozenset, kset.skeleton))) == len(kset.skeleton)  # no duplicate edge


@SETS
def test_upper_and_lower_body_partition(kset):
    assert sorted(kset.upper_body + kset.lower_body) == list(range(kset.num_keypoints))


def test_sigmas():
    assert len(COCO_17.sigmas) == 17 and len(CROWDPOSE_14.sigmas) == 14
    assert MPII_16.sigmas is None
    assert COCO_17.sigmas[0] == pytest.approx(0.026)  # nose, COCOeval's value
    assert COCO_17.sigmas[11] == pytest.approx(0.107)  # left hip
    for kset in (COCO_17, CROWDPOSE_14):
        for a, b in kset.flip_pairs:
            assert kset.sigmas[a] == kset.sigmas[b]


@SETS
def test_to_json_round_trip(kset):
    loaded = json.loads(kset.to_json())
    assert loaded == kset.to_dict()
    assert loaded["name"] == kset.name
    assert tuple(loaded["names"]) == kset.names
    assert tuple(map(tuple, loaded["flip_pairs"])) == kset.flip_pairs
    assert tuple(map(tuple, loaded["skeleton"])) == kset.skeleton
    assert loaded["sigmas"] == (None if kset.sigmas is None else list(kset.sigmas))
