import numpy as np
import pytest

from tfpose.codecs.grouping import (
    JOINT_ORDERS,
    GroupingConfig,
    authors_grouping,
    group_keypoints,
    top_indices,
)
from tfpose.keypoints import COCO_17, CROWDPOSE_14, MPII_16


def gaussian_maps(height, width, peaks):
    """``[H, W, K]`` heatmaps with a unit Gaussian (sigma 2) at each ``(joint, x, y, value)``."""
    v, u = np.mgrid[0:height, 0:width]
    maps = np.zeros((height, width, 1 + max(p[0] for p in peaks)), np.float32)
    for joint, x, y, value in peaks:
        bump = value * np.exp(-((u - x) ** 2 + (v - y) ** 2) / 8.0)
        maps[..., joint] = np.maximum(maps[..., joint], bump)
    return maps


def test_a_far_candidate_cannot_displace_a_chain_of_near_ones():
    # Persons with tags 4..7 exist after joint 0; joint 1 has candidates with tags 3..6. With
    # rounded costs, "3 -> 7" ties with "3 -> 4, 4 -> 5, 5 -> 6, 6 -> 7", which would split
    # persons 4, 5, 6; the tag threshold bars the far pairs from the assignment.
    xs = [10, 35, 60, 85]  # one 25-px band per person: tags 4, 5, 6, 7
    heatmaps = gaussian_maps(40, 100, [(0, x, 10, 1.0) for x in xs] +
                             [(1, x, 25, 1.0) for x in xs])
    bands = np.repeat([4.0, 5.0, 6.0, 7.0], 25)
    tags = np.zeros((40, 100, 2), np.float32)
    tags[:, :, 0] = bands
    tags[:, :, 1] = np.where(np.arange(100) < 75, bands, 3.0)  # the last candidate: tag 3
    poses, _ = group_keypoints(heatmaps, tags, GroupingConfig(refine=False))
    assert len(poses) == 5
    paired = poses[(poses[:, 0, 2] > 0) & (poses[:, 1, 2] > 0)]
    assert sorted(paired[:, 0, 0]) == xs[:3]


def test_a_plateau_between_two_pixels_is_one_candidate():
    heatmaps = gaussian_maps(30, 30, [(0, 10.5, 12.0, 1.0)])  # ties at x = 10 and x = 11
    assert heatmaps[12, 10, 0] == heatmaps[12, 11, 0]
    poses, _ = group_keypoints(heatmaps, np.zeros((30, 30, 1)), GroupingConfig())
    assert len(poses) == 1


def test_refinement_recovers_a_weak_joint_with_the_persons_tag():
    heatmaps = gaussian_maps(40, 60, [(0, 10, 10, 1.0), (1, 10, 20, 0.05), (0, 40, 10, 1.0),
                                      (1, 40, 20, 0.9)])
    tags = np.zeros((40, 60, 2), np.float32)
    tags[:, 30:] = 3.0
    refined, scores = group_keypoints(heatmaps, tags, GroupingConfig())
    plain, _ = group_keypoints(heatmaps, tags, GroupingConfig(refine=False))
    left = np.argmin(refined[:, 0, 0])
    assert plain[np.argmin(plain[:, 0, 0]), 1, 2] == 0  # below the detection threshold
    assert refined[left, 1, :2].tolist() == [10.0, 20.0]
    assert refined[left, 1, 2] == pytest.approx(0.05)
    assert scores[left] == pytest.approx(0.5)  # scored before refinement (HigherHRNet)


@pytest.mark.parametrize("kwargs, message", [
    ({"nms_kernel": 4}, "nms_kernel"),
    ({"adjust": "taylor"}, "adjust must be one of"),
    ({"flip_tags": "max"}, "flip_tags"),
    ({"max_candidates": 0}, "max_candidates"),
    ({"grouping_stride": 0}, "grouping_stride"),
])
def test_bad_grouping_config(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GroupingConfig(**kwargs)


def test_bad_joint_order():
    with pytest.raises(ValueError, match="not a permutation"):
        GroupingConfig(joint_order=(0, 1)).order(COCO_17)


def test_authors_grouping_is_litepose_test_config():
    config = authors_grouping(COCO_17)
    assert (config.nms_kernel, config.detection_threshold, config.tag_threshold) == (5, 0.1, 1.0)
    assert (config.max_candidates, config.grouping_stride, config.adjust) == (30, 1, "quarter")
    assert config.use_detection_value and config.refine and not config.refine_within_tag_threshold
    assert config.order(COCO_17) == JOINT_ORDERS["coco"]
    # Their one order, cut to 14 joints, is not tfpose's CrowdPose order.
    crowd = authors_grouping(CROWDPOSE_14).order(CROWDPOSE_14)
    assert crowd == JOINT_ORDERS["coco"][:14] != JOINT_ORDERS["crowdpose"]
    assert authors_grouping(MPII_16).order(MPII_16) == JOINT_ORDERS["mpii"]
    assert GroupingConfig().grouping_stride is None  # the default grid stays stride 2


def test_top_indices_equal_a_stable_descending_argsort():
    rng = np.random.default_rng(0)
    for trial in range(2000):
        n = int(rng.integers(1, 300))
        values = [rng.normal(size=n), rng.integers(-2, 3, n),
                  np.where(rng.uniform(size=n) < 0.95, 0.0, rng.uniform(size=n)),
                  np.zeros(n)][trial % 4].astype(np.float32)
        top = int(rng.integers(1, n + 1))
        np.testing.assert_array_equal(top_indices(values, top),
                                      np.argsort(-values, kind="stable")[:top])
