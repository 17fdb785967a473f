"""Associative-embedding grouping (Newell et al., NeurIPS 2017): persons from one image's
heatmaps and tags, HigherHRNet's test-time grouping, which LitePose uses (numpy + scipy on the
host). :meth:`tfpose.codecs.associative_embedding.BottomUpCodec.decode` brings the model's
outputs onto one *grouping grid* and calls :func:`group_keypoints` on each image; everything here
is in grouping-grid pixels.

1. Peaks: a max-pool NMS (kernel 5), then the top 30 peaks per joint above the detection
   threshold (0.1). Equal maxima within one window (a plateau: a keypoint halfway between two
   pixels) count once; HigherHRNet keeps both, and the twin seeds a duplicate person.
2. Greedy matching joint by joint in a fixed order (head and torso first): candidates are
   assigned to the persons found so far by :func:`scipy.optimize.linear_sum_assignment` on the
   cost ``round(tag distance) * 100 - peak value`` (tag closeness in whole units first, then
   confidence); a candidate left without a person closer than the tag threshold (1.0) starts a
   new one. Pairs beyond the threshold are barred from the assignment (HigherHRNet admits them
   and rejects them afterwards, and with rounded costs one far pair can tie with a chain of near
   ones, which then splits persons).
3. Person score = mean over all ``K`` joints of the matched peak values (0 for missing joints),
   taken before step 4 as HigherHRNet does, so that guessed joints do not raise confidence. The
   30 best-scored persons are kept.
4. Refinement: each missing joint of a person takes the location maximising
   ``heatmap - round(distance of the tag there to the person's mean tag)``.
5. Sub-pixel: a quarter-pixel step toward the higher neighbour (``adjust="quarter"``, LitePose),
   or a DARK-style Newton step on the log of the blurred heatmap (``adjust="dark"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from tfpose.keypoints import KeypointSet

ADJUSTMENTS = ("quarter", "dark", "none")
FLIP_TAGS = ("concat", "average")
_BARRED = 1e6  # assignment cost of a pair too far apart in tag space (>> any allowed cost)

# Matching order: reliable head and trunk joints seed the persons, limbs attach outward
# (HigherHRNet's COCO order; the same idea for the other sets).
JOINT_ORDERS = {
    "coco": (0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16),
    "crowdpose": (12, 13, 0, 1, 6, 7, 2, 3, 4, 5, 8, 9, 10, 11),
    "mpii": (9, 8, 7, 6, 12, 13, 2, 3, 11, 14, 10, 15, 1, 4, 0, 5),
}


@dataclass(frozen=True)
class GroupingConfig:
    """Test-time grouping settings: LitePose's / HigherHRNet's test settings, except the grid.

    Their configs (``PROJECT2IMAGE: True``) group at the input resolution, ``grouping_stride=1``;
    the default here groups on the finest output (stride 2), about 4x cheaper on the host.
    ``nms_kernel`` counts grid pixels, so 5 at stride 2 spans 10 input pixels (5 in LitePose).
    :func:`authors_grouping` holds their test settings, stride 1 included (``tfpose evaluate``'s
    default protocol uses it).

    Args:
      nms_kernel: max-pool window of the peak NMS, in grouping-grid pixels (odd).
      max_candidates: peaks kept per joint (HigherHRNet's ``max_num_people``); also the number of
        persons a new joint is matched against, and of persons returned per image (best scores;
        COCO scores 20 per image).
      detection_threshold: peaks at or below it are not candidates.
      tag_threshold: a candidate farther than this (tag distance) from every person starts one.
      use_detection_value: cost ``round(distance) * 100 - value`` (True) or the plain distance.
      refine: fill missing joints from the heatmaps (step 4 of the module docstring).
      refine_within_tag_threshold: only fill a missing joint from a location whose tag lies
        within ``tag_threshold`` of the person's mean tag. HigherHRNet (False) fills it from the
        best location anywhere, which can be another person's joint when the person has no
        evidence of its own; True leaves such a joint missing.
      adjust: sub-pixel step, ``"quarter"``, ``"dark"`` or ``"none"``.
      flip_tags: flip-test tags ``"concat"`` (HigherHRNet) or ``"average"``; applied by the codec
        when it merges the outputs (:mod:`tfpose.codecs.associative_embedding`, step 2).
      grouping_stride: stride of the grouping grid; None = the finest output stride (the codec
        resizes the outputs to it).
      joint_order: matching order; None = :data:`JOINT_ORDERS` of the keypoint set (else 0..K-1).
    """

    nms_kernel: int = 5
    max_candidates: int = 30
    detection_threshold: float = 0.1
    tag_threshold: float = 1.0
    use_detection_value: bool = True
    refine: bool = True
    refine_within_tag_threshold: bool = False
    adjust: str = "quarter"
    flip_tags: str = "concat"
    grouping_stride: int | None = None
    joint_order: tuple[int, ...] | None = None

    def __post_init__(self):
        if self.nms_kernel < 1 or self.nms_kernel % 2 == 0:
            raise ValueError(f"nms_kernel must be a positive odd number, got {self.nms_kernel}")
        if self.max_candidates < 1:
            raise ValueError(f"max_candidates must be >= 1, got {self.max_candidates}")
        if self.tag_threshold <= 0:
            raise ValueError(f"tag_threshold must be positive, got {self.tag_threshold}")
        if self.adjust not in ADJUSTMENTS:
            raise ValueError(f"adjust must be one of {ADJUSTMENTS}, got {self.adjust!r}")
        if self.flip_tags not in FLIP_TAGS:
            raise ValueError(f"flip_tags must be one of {FLIP_TAGS}, got {self.flip_tags!r}")
        if self.grouping_stride is not None and self.grouping_stride < 1:
            raise ValueError(f"grouping_stride must be >= 1, got {self.grouping_stride}")

    def order(self, keypoint_set: KeypointSet) -> tuple[int, ...]:
        k = keypoint_set.num_keypoints
        order = self.joint_order or JOINT_ORDERS.get(keypoint_set.name, tuple(range(k)))
        if sorted(order) != list(range(k)):
            raise ValueError(f"joint_order {order} is not a permutation of the {k} keypoints of "
                             f"{keypoint_set.name}")
        return tuple(order)


def authors_grouping(keypoint_set: KeypointSet) -> GroupingConfig:
    """LitePose's test-time grouping settings (the same as HigherHRNet's), for the authors'
    evaluation protocol (:func:`tfpose.codecs.bottomup_protocol.authors_protocol`).

    Read from mit-han-lab/litepose: ``experiments/{coco,crowd_pose}/mobilenet/mobile.yaml``
    (``TEST``), ``lib/config/default.py`` for the keys those files leave out, and
    ``lib/core/group.py``. The differences of this module's grouping from theirs (module
    docstring: plateaus, barred pairs; a tie in the quarter step) stay.
    """
    # group.py has one order, COCO's, and matches in its first K entries (Params.joint_order,
    # match_by_tag's loop over range(num_joints)): for CrowdPose (0, 1, ..., 6, 11, 12, 7, 8, 9,
    # 10, 13), not this module's CrowdPose order. Other sets (never grouped by the authors) keep
    # their own order.
    authors_sets = ("coco", "crowdpose")
    order = (JOINT_ORDERS["coco"][:keypoint_set.num_keypoints]
             if keypoint_set.name in authors_sets else None)
    return GroupingConfig(
        nms_kernel=5,  # TEST.NMS_KERNEL 5 (NMS_PADDING 2: stride-1 max-pool, same size)
        max_candidates=30,  # DATASET.MAX_NUM_PEOPLE 30 (the top-k of HeatmapParser.top_k)
        detection_threshold=0.1,  # TEST.DETECTION_THRESHOLD 0.1 (default.py has 0.2)
        tag_threshold=1.0,  # TEST.TAG_THRESHOLD (default.py)
        use_detection_value=True,  # TEST.USE_DETECTION_VAL (default.py)
        refine=True,  # TEST.REFINE (default.py)
        refine_within_tag_threshold=False,  # group.py refines from anywhere
        adjust="quarter",  # TEST.ADJUST (default.py): the quarter-pixel step
        flip_tags="concat",  # inference.py: the flipped tags join as a second dimension
        grouping_stride=1,  # TEST.PROJECT2IMAGE: True: group at the input resolution
        joint_order=order,
    )


def group_keypoints(heatmaps, tags, config: GroupingConfig = GroupingConfig(),
                    joint_order=None, sigma: float = 2.0):
    """Persons from one image's heatmaps and tags on the grouping grid (module docstring).

    Args:
      heatmaps: ``[H, W, K]`` float32.
      tags: ``[H, W, K, L]`` (or ``[H, W, K]`` for ``L = 1``).
      config: thresholds and options.
      joint_order: matching order, default ``0..K-1``.
      sigma: Gaussian sigma of the heatmaps in grid pixels (for ``adjust="dark"``).
    Returns:
      poses ``[P, K, 3]`` (x, y, score) in grid pixels and person scores ``[P]``.
    """
    heatmaps = np.asarray(heatmaps, np.float32)
    tags = np.asarray(tags, np.float32)
    if tags.ndim == 3:
        tags = tags[..., None]
    if heatmaps.ndim != 3 or tags.shape[:3] != heatmaps.shape:
        raise ValueError(f"expected heatmaps [H, W, K] and tags [H, W, K, L], got "
                         f"{heatmaps.shape} and {tags.shape}")
    joint_order = range(heatmaps.shape[-1]) if joint_order is None else joint_order
    candidates = _candidates(heatmaps, tags, config)
    poses, mean_tags = _match(*candidates, config, joint_order)
    scores = poses[..., 2].mean(axis=-1)
    best = np.argsort(-scores, kind="stable")[: config.max_candidates]
    poses, mean_tags, scores = poses[best], mean_tags[best], scores[best]
    if config.refine and len(poses):
        gate = config.tag_threshold if config.refine_within_tag_threshold else np.inf
        _refine(poses, mean_tags, heatmaps, tags, gate)
    if config.adjust != "none" and len(poses):
        found = poses[..., 2] > 0
        person, joint = np.nonzero(found)
        xy = poses[person, joint, :2]
        if config.adjust == "quarter":
            offsets = _quarter_offsets(heatmaps, xy, joint)
        else:
            offsets = _dark_offsets(heatmaps, xy, joint, sigma)
        poses[person, joint, :2] = xy + offsets
    return poses, scores


def _candidates(heatmaps, tags, config: GroupingConfig):
    """Top-k NMS peaks per joint: xy ``[K, N, 2]``, values ``[K, N]``, tags ``[K, N, L]``."""
    height, width, k = heatmaps.shape
    n = config.nms_kernel
    peaks = np.empty((k, height * width), np.float32)
    square = np.ones((n, n), np.uint8)
    raster = np.arange(height * width, dtype=np.float32).reshape(height, width)  # exact < 2**24
    for joint in range(k):
        heat = np.ascontiguousarray(heatmaps[..., joint])
        # cv2.dilate is a max-pool with stride 1; outside the image counts as -inf.
        is_peak = heat == cv2.dilate(heat, square)
        # Two maxima within one window are equal (a plateau, e.g. a keypoint halfway between
        # two pixels): keep one, else the second seeds a duplicate person with the same tag.
        marker = np.where(is_peak, raster, -1.0).astype(np.float32)
        is_peak &= cv2.dilate(marker, square) == marker
        peaks[joint] = np.where(is_peak, heat, 0.0).reshape(-1)
    top = min(config.max_candidates, height * width)
    index = np.stack([top_indices(row, top) for row in peaks])
    values = np.take_along_axis(peaks, index, axis=1)
    xy = np.stack([index % width, index // width], axis=-1).astype(np.float32)
    flat_tags = tags.reshape(height * width, k, -1)
    return xy, values, flat_tags[index, np.arange(k)[:, None]]


def top_indices(values: np.ndarray, top: int) -> np.ndarray:
    """Indices of the ``top`` largest of a 1-D array, largest first, equal values in index order:
    the first ``top`` of a stable descending argsort, without sorting every value (a grid at
    stride 1 has ~10^5 per joint). Equal peaks (frequent in int8 outputs) keep raster order, so
    which of them are candidates is defined, and the app's Java grouping makes the same choice.
    """
    if 4 * top >= values.size:
        return np.argsort(-values, kind="stable")[:top]
    kth = np.partition(values, values.size - top)[values.size - top]  # the top-th largest
    above = np.flatnonzero(values > kth)
    ties = np.flatnonzero(values == kth)[: top - above.size]
    above = above[np.argsort(-values[above], kind="stable")]
    return np.concatenate([above, ties])


def _match(xy, values, tags, config: GroupingConfig, joint_order):
    """Greedy joint-by-joint assignment (step 2): poses ``[P, K, 3]``, mean tags ``[P, L]``."""
    k = xy.shape[0]
    poses: list[np.ndarray] = []  # per person [K, 3]: x, y, value (0 = not found)
    person_tags: list[list[np.ndarray]] = []
    for joint in joint_order:
        keep = values[joint] > config.detection_threshold
        if not keep.any():
            continue
        points = np.concatenate([xy[joint][keep], values[joint][keep, None]], axis=1)
        joint_tags = tags[joint][keep]
        owner = np.full(len(points), -1)
        if poses:
            active = min(len(poses), config.max_candidates)
            means = np.stack([np.mean(t, axis=0) for t in person_tags[:active]])
            distance = np.linalg.norm(joint_tags[:, None] - means[None], axis=-1)
            cost = distance
            if config.use_detection_value:
                cost = np.round(distance) * 100.0 - points[:, 2:3]
            # Pairs beyond the threshold are barred, not merely rejected afterwards: with
            # rounded costs a far pair can tie with a chain of near ones and split persons.
            cost = np.where(distance < config.tag_threshold, cost, _BARRED)
            rows, cols = linear_sum_assignment(cost)
            close = distance[rows, cols] < config.tag_threshold
            owner[rows[close]] = cols[close]
        for point, tag, person in zip(points, joint_tags, owner, strict=True):
            if person < 0:
                poses.append(np.zeros((k, 3), np.float32))
                person_tags.append([])
                person = len(poses) - 1
            poses[person][joint] = point
            person_tags[person].append(tag)
    if not poses:
        return np.zeros((0, k, 3), np.float32), np.zeros((0, tags.shape[-1]), np.float32)
    return np.stack(poses), np.stack([np.mean(t, axis=0) for t in person_tags])


def _refine(poses, mean_tags, heatmaps, tags, max_distance: float) -> None:
    """Fill missing joints in place (step 4): the best trade of heatmap value against tag
    distance to the person's mean tag, among locations closer than ``max_distance`` in tags."""
    height, width, k = heatmaps.shape
    for joint in range(k):
        missing = np.flatnonzero(poses[:, joint, 2] == 0)
        if missing.size == 0:
            continue
        heat = heatmaps[..., joint].reshape(-1)
        joint_tags = tags[:, :, joint].reshape(height * width, -1)
        squared = np.zeros((missing.size, height * width), np.float32)
        for d in range(joint_tags.shape[-1]):  # no [persons, H*W, L] temporary
            squared += np.square(joint_tags[None, :, d] - mean_tags[missing, d, None])
        distance = np.sqrt(squared)
        trade = np.where(distance < max_distance, heat[None] - np.round(distance), -np.inf)
        best = np.argmax(trade, axis=1)
        allowed = np.isfinite(trade[np.arange(len(best)), best])
        value = np.where(allowed, heat[best], 0.0)
        filled = value > 0
        poses[missing[filled], joint] = np.stack(
            [best % width, best // width, value], axis=-1)[filled]


def _quarter_offsets(heatmaps, xy, joint):
    """±0.25 px toward the higher neighbour along x and y, 0 on ties. On the border the
    missing neighbour is the pixel itself, so a peak there steps 0.25 outward."""
    height, width, _ = heatmaps.shape
    x, y = xy[:, 0].astype(int), xy[:, 1].astype(int)
    right, left = np.minimum(x + 1, width - 1), np.maximum(x - 1, 0)
    below, above = np.minimum(y + 1, height - 1), np.maximum(y - 1, 0)
    dx = heatmaps[y, right, joint] - heatmaps[y, left, joint]
    dy = heatmaps[below, x, joint] - heatmaps[above, x, joint]
    return 0.25 * np.sign(np.stack([dx, dy], axis=-1))


def _dark_offsets(heatmaps, xy, joint, sigma: float):
    """DARK (Zhang et al., CVPR 2020) at each point: blur (kernel as
    :class:`~tfpose.codecs.heatmap.HeatmapCodec`'s), keep each map's peak height, then one
    Newton step on the log-heatmap from the 3x3 neighbourhood; offsets clipped to ±1 px."""
    height, width, _ = heatmaps.shape
    kernel = 2 * int(np.ceil(2.5 * sigma)) + 1
    channels = np.ascontiguousarray(heatmaps)
    blurred = np.stack([
        cv2.GaussianBlur(channels[..., c], (kernel, kernel), 0, borderType=cv2.BORDER_CONSTANT)
        for c in range(channels.shape[-1])], axis=-1)
    blurred *= channels.max(axis=(0, 1)) / np.maximum(blurred.max(axis=(0, 1)), 1e-10)
    logs = np.log(np.maximum(blurred, 1e-10))
    x, y = xy[:, 0].astype(int), xy[:, 1].astype(int)
    interior = (x > 0) & (x < width - 1) & (y > 0) & (y < height - 1)
    x, y = np.clip(x, 1, width - 2), np.clip(y, 1, height - 2)

    def at(dx, dy):
        return logs[y + dy, x + dx, joint]

    gx, gy = 0.5 * (at(1, 0) - at(-1, 0)), 0.5 * (at(0, 1) - at(0, -1))
    gxx = at(1, 0) - 2 * at(0, 0) + at(-1, 0)
    gyy = at(0, 1) - 2 * at(0, 0) + at(0, -1)
    gxy = 0.25 * (at(1, 1) - at(-1, 1) - at(1, -1) + at(-1, -1))
    det = gxx * gyy - gxy**2
    usable = interior & (det > 1e-10) & (gxx < 0)  # a maximum: negative-definite Hessian
    safe = np.where(usable, det, 1.0)
    offsets = np.stack([-(gyy * gx - gxy * gy), -(gxx * gy - gxy * gx)], axis=-1) / safe[:, None]
    return np.clip(offsets * usable[:, None], -1.0, 1.0)
