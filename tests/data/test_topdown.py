import cv2
import numpy as np
import pytest

from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.config import AugmentConfig
from tfpose.data.records import PersonRecords
from tfpose.data.topdown import topdown_dataset, topdown_targets
from tfpose.keypoints import COCO_17

CODEC = HeatmapCodec(input_size=(128, 96), heatmap_size=(32, 24))
FLIP_ONLY = AugmentConfig(scale_factor=0.0, rotation_prob=0.0, flip_prob=1.0, half_body_prob=0.0)
NO_FLIP = AugmentConfig(scale_factor=0.0, rotation_prob=0.0, flip_prob=0.0, half_body_prob=0.0)


@pytest.fixture
def person(tmp_path):
    """One drawn image with a person whose keypoints sit on distinct bright dots."""
    rng = np.random.default_rng(0)
    image = np.zeros((200, 160, 3), np.uint8)
    points = rng.uniform([40, 30], [120, 170], (17, 2))
    for i, (x, y) in enumerate(points):
        cv2.circle(image, (int(round(x)), int(round(y))), 3, (255, 10 * i, 0), -1)
    path = tmp_path / "person.png"
    cv2.imwrite(str(path), image)
    keypoints = np.concatenate([np.round(points), np.full((17, 1), 2.0)], axis=1)
    return PersonRecords.from_lists(COCO_17, [str(path)], [1], [[40, 30, 80, 140]],
                                    keypoints[None], [1.0])


def first(ds):
    return {k: v.numpy() for k, v in next(iter(ds)).items()}


def test_example_layout(person):
    batch = first(topdown_dataset(person, CODEC, batch_size=1))
    assert batch["image"].shape == (1, 128, 96, 3) and batch["image"].dtype == np.float32
    assert batch["heatmaps"].shape == (1, 32, 24, 17)
    assert batch["target_weight"].tolist() == [[1.0] * 17]
    assert batch["image"].min() >= 0 and batch["image"].max() <= 255


def test_targets_sit_on_the_keypoints_drawn_in_the_crop(person):
    batch = first(topdown_dataset(person, CODEC, batch_size=1))
    coords, _ = CODEC.decode(batch["heatmaps"])
    crop = batch["image"][0]
    for x, y in coords[0]:  # heatmap -> input pixel: (x + 0.5) * 4 - 0.5
        u, v = int(round((x + 0.5) * 4 - 0.5)), int(round((y + 0.5) * 4 - 0.5))
        assert crop[v, u, 2] > 150  # the dots are blue (drawn as BGR 255, _, 0)


def test_flip_mirrors_the_crop_and_swaps_left_and_right(person):
    plain = first(topdown_dataset(person, CODEC, batch_size=1, train=True, augment=NO_FLIP))
    flipped = first(topdown_dataset(person, CODEC, batch_size=1, train=True, augment=FLIP_ONLY))
    assert flipped["flip"].all() and not plain["flip"].any()
    np.testing.assert_allclose(flipped["image"], plain["image"][:, :, ::-1], atol=1e-3)
    np.testing.assert_allclose(
        flipped["heatmaps"], plain["heatmaps"][:, :, ::-1][..., COCO_17.flip_index], atol=1e-5)


def test_augmentation_is_deterministic_given_the_seed(person):
    records = person.select([0, 0, 0, 0])
    make = lambda seed: first(topdown_dataset(  # noqa: E731
        records, CODEC, batch_size=4, train=True, seed=seed, deterministic=True))
    a, b, c = make(7), make(7), make(8)
    np.testing.assert_array_equal(a["image"], b["image"])
    np.testing.assert_array_equal(a["rotation"], b["rotation"])
    assert not np.array_equal(a["size"], c["size"]) or not np.array_equal(
        a["rotation"], c["rotation"])


def test_targets_only_path_matches_the_pipeline(person):
    from_pipeline = first(topdown_dataset(person, CODEC, batch_size=1, cover_keypoints=True))
    targets = first(topdown_targets(person, CODEC))
    np.testing.assert_allclose(targets["heatmaps"], from_pipeline["heatmaps"], atol=1e-6)


def test_half_body_crops_to_one_half(person):
    # Upper-body joints (0-10) at y 30..110, lower-body joints (11-16) at y 118..158.
    upright = np.stack([np.linspace(60, 100, 17), 30 + 8.0 * np.arange(17), np.full(17, 2.0)], 1)
    records = PersonRecords.from_lists(COCO_17, person.image_paths, [1], [[40, 30, 80, 140]],
                                       upright[None], [1.0])
    half = AugmentConfig(scale_factor=0.0, rotation_prob=0.0, flip_prob=0.0, half_body_prob=1.0)
    batch = first(topdown_dataset(records, CODEC, batch_size=1, train=True, augment=half))
    chosen = upright[:11] if batch["center"][0, 1] < 110 else upright[11:]
    low, high = chosen[:, :2].min(0), chosen[:, :2].max(0)
    np.testing.assert_allclose(batch["center"][0], (low + high) / 2, atol=1e-4)
    height = max(high[1] - low[1], (high[0] - low[0]) / 0.75) * 1.5
    assert batch["size"][0, 1] == pytest.approx(height, rel=1e-5)


def test_empty_records_are_refused():
    empty = PersonRecords.from_lists(COCO_17, [], [], np.zeros((0, 4)), np.zeros((0, 17, 3)), [])
    with pytest.raises(ValueError, match="no person records"):
        topdown_dataset(empty, CODEC)
