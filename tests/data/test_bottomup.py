"""Tests of the bottom-up pipeline (tfpose.data.bottomup): whole-image affine, targets, masks."""

import json

import cv2
import numpy as np
import pycocotools.mask as mask_utils
import pytest
from pycocotools.coco import COCO

from tfpose.codecs import geometry
from tfpose.codecs.associative_embedding import BottomUpCodec
from tfpose.data.bottomup import (
    BottomUpAugmentConfig,
    bottomup_dataset,
    fit_image,
    keypoints_to_input,
)
from tfpose.data.image_records import ImageRecords, read_coco_images
from tfpose.keypoints import COCO_17

CODEC = BottomUpCodec(input_size=(64, 64), strides=(4, 2), max_people=4)
HEIGHT, WIDTH = 48, 64  # not square: the fit pads the input above and below
FLIP = COCO_17.flip_index
WHOLE_NO_FLIP = BottomUpAugmentConfig(flip_prob=0.0, fit="whole_image")
FLIP_ONLY = BottomUpAugmentConfig(min_scale=1.0, max_scale=1.0, max_rotation=0.0,
                                  max_translate=0.0, flip_prob=1.0, fit="whole_image")


def grid_person():
    """17 keypoints on a grid of well separated image positions (x, y, v=2)."""
    xs, ys = np.meshgrid([10, 21, 32, 43, 54], [9, 19, 29, 39])
    points = np.stack([xs.ravel(), ys.ravel()], axis=1)[:17].astype(np.float32)
    return np.concatenate([points, np.full((17, 1), 2.0, np.float32)], axis=1)


@pytest.fixture(scope="module")
def dots(tmp_path_factory):
    """One image whose keypoints are white dots on black: one person, no ignore region."""
    person = grid_person()
    image = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    for x, y, _ in person:
        cv2.circle(image, (int(x), int(y)), 2, (255, 255, 255), -1)
    path = tmp_path_factory.mktemp("dots") / "dots.png"
    cv2.imwrite(str(path), image)
    return ImageRecords.from_lists(COCO_17, [str(path)], [7], [(HEIGHT, WIDTH)], [person[None]],
                                   [b""])


AUGMENTS = {"validation": None, "augmented whole image": WHOLE_NO_FLIP, "flipped": FLIP_ONLY,
            "augmented, short side (default)": BottomUpAugmentConfig()}


@pytest.fixture(scope="module")
def dots_batches(dots):
    """Six copies of the dots image under each setting of AUGMENTS (seed 3): built once, as
    each pipeline costs a trace."""
    return {name: batches(dots.select([0] * 6), batch_size=6, train=augment is not None,
                          augment=augment, seed=3, deterministic=True)[0]
            for name, augment in AUGMENTS.items()}


def batches(records, **kwargs):
    ds = bottomup_dataset(records, CODEC, **kwargs)
    return [{k: v.numpy() for k, v in batch.items()} for batch in ds]


def to_image(batch, i, points, grid_size):
    """Points in a grid of ``grid_size`` (from the example's affine) back to image pixels."""
    matrix = geometry.affine_matrix(batch["center"][i], batch["size"][i], batch["rotation"][i],
                                      grid_size, batch["flip"][i])
    return geometry.apply_affine(geometry.invert_affine(matrix), points).numpy()


def test_batch_layout(dots_batches):
    batch = dots_batches["validation"]
    expected = {"image": (6, 64, 64, 3), "heatmaps_s4": (6, 16, 16, 17),
                "heatmaps_s2": (6, 32, 32, 17), "masks_s4": (6, 16, 16, 1),
                "masks_s2": (6, 32, 32, 1), "joints": (6, 4, 17, 2), "image_id": (6,),
                "image_size": (6, 2), "center": (6, 2), "size": (6, 2), "rotation": (6,),
                "flip": (6,)}
    assert {k: v.shape for k, v in batch.items()} == expected
    assert batch["image"].dtype == np.float32 and batch["joints"].dtype == np.int32
    assert batch["masks_s2"].dtype == np.float32
    assert batch["image"].min() >= 0 and batch["image"].max() <= 255
    assert batch["image_id"].tolist() == [7] * 6
    assert batch["image_size"].tolist() == [[HEIGHT, WIDTH]] * 6
    # Validation is the plain fit: the 64-wide image spans the input, centred vertically.
    np.testing.assert_allclose(batch["center"][0], [31.5, 23.5])
    np.testing.assert_allclose(batch["size"][0], [64, 64])
    assert not batch["flip"].any() and not batch["rotation"].any()
    # ... so the masks count exactly the image rows: 8 padding rows above and below.
    np.testing.assert_array_equal(batch["masks_s2"][0, :, 0, 0], [0] * 4 + [1] * 24 + [0] * 4)


@pytest.mark.parametrize("name", AUGMENTS)
def test_heatmap_peaks_map_back_to_the_keypoints(dots_batches, name):
    augment, batch = AUGMENTS[name], dots_batches[name]
    train = augment is not None
    annotation = grid_person()
    decoder = CODEC.heatmap_codec(2)
    heatmaps = batch["heatmaps_s2"]
    peaks, _ = decoder.decode(heatmaps, "argmax")
    refined, _ = decoder.decode(heatmaps, "dark")
    checked = 0
    for i in range(len(heatmaps)):
        expected = annotation[FLIP] if batch["flip"][i] else annotation  # channels swap
        on_map = heatmaps[i].max(axis=(0, 1)) > 0.5
        to_input = geometry.affine_matrix(batch["center"][i], batch["size"][i],
                                            batch["rotation"][i], CODEC.input_size,
                                            batch["flip"][i]).numpy()
        # argmax -> input pixels -> image pixels; the error, seen in input pixels, is at most
        # half a stride-2 cell (1 input pixel) per axis.
        found = to_image(batch, i, (peaks[i] + 0.5) * 2 - 0.5, CODEC.input_size)
        error = (found - expected[:, :2]) @ to_input[:, :2].T
        assert np.abs(error[on_map]).max() <= 1.0 + 1e-3, (i, error[on_map])
        # Sub-pixel: the Gaussian sits exactly where the keypoint lands (away from the border,
        # where a cut Gaussian biases the refinement).
        inputs = (refined[i] + 0.5) * 2 - 0.5
        error = np.linalg.norm((to_image(batch, i, inputs, CODEC.input_size) - expected[:, :2])
                               @ to_input[:, :2].T, axis=1)
        interior = on_map & (refined[i] >= 4).all(1) & (refined[i] <= 27).all(1)  # 2 sigma
        assert error[interior].max() < 0.1, (i, error[interior])
        # The image moved with the targets: each peak sits on its (white) dot.
        u, v = np.round(inputs[on_map]).astype(int).T
        assert (batch["image"][i][v, u].min(axis=-1) > 100).all()
        # Keypoints without a target really left the input.
        projected = geometry.apply_affine(to_input, expected[:, :2]).numpy()
        outside = (projected < -0.5).any(1) | (projected > 63.5).any(1)
        np.testing.assert_array_equal(~on_map, outside)
        checked += interior.sum()
    assert checked >= 6 * 6
    if train and augment.max_rotation > 0:
        assert len(np.unique(batch["rotation"])) == 6
        assert batch["flip"].any() == (augment.flip_prob > 0)
        # The crop is the fitted side (64 for the whole image, the short side 48) x U(0.75, 1.5).
        side = WIDTH if augment.fit == "whole_image" else HEIGHT
        assert (batch["size"] >= 0.75 * side - 1e-3).all()
        assert (batch["size"] <= 1.5 * side + 1e-3).all()


def test_flip_mirrors_image_targets_and_masks(dots_batches):
    plain, flipped = dots_batches["validation"], dots_batches["flipped"]  # the same plain fit
    assert flipped["flip"].all() and not plain["flip"].any()
    np.testing.assert_allclose(flipped["image"], plain["image"][:, :, ::-1], atol=1e-3)
    for key in ("heatmaps_s4", "heatmaps_s2"):
        np.testing.assert_allclose(flipped[key], plain[key][:, :, ::-1][..., FLIP], atol=1e-5)
    for key in ("masks_s4", "masks_s2"):
        np.testing.assert_array_equal(flipped[key], plain[key][:, :, ::-1])
    np.testing.assert_array_equal(flipped["joints"][..., 1], plain["joints"][..., FLIP, 1])
    # left and right channels differ, so the swap is visible
    assert not np.allclose(plain["heatmaps_s2"][..., 5], plain["heatmaps_s2"][..., 6])


def test_joints_point_at_the_heatmap_peaks(tmp_path):
    rng = np.random.default_rng(1)
    persons = np.concatenate([rng.uniform([2, 2], [62, 46], (3, 17, 2)),
                              rng.choice([0.0, 1.0, 2.0], (3, 17, 1), p=[0.2, 0.3, 0.5])], -1)
    path = tmp_path / "grey.png"
    cv2.imwrite(str(path), np.full((HEIGHT, WIDTH, 3), 90, np.uint8))
    records = ImageRecords.from_lists(COCO_17, [str(path)], [1], [(HEIGHT, WIDTH)],
                                      [persons.astype(np.float32)], [b""])
    [batch] = batches(records.select([0, 0]), batch_size=2, train=True, seed=5)
    joints, heatmaps = batch["joints"], batch["heatmaps_s4"]
    valid = joints[..., 1] == 1
    assert valid[:, :3].sum() >= 40 and not valid[:, 3:].any()  # 3 persons, max_people 4
    for i in range(2):
        flat = heatmaps[i].reshape(-1, 17)
        people, parts = np.nonzero(valid[i])
        # The rounded cell of a Gaussian peak is at most 0.71 px away: value >= exp(-0.5 / 8)
        assert (flat[joints[i, people, parts, 0], parts] > 0.93).all()


# ---- masks -----------------------------------------------------------------------------------
@pytest.fixture
def ignore_dataset(tmp_path):
    """A crowd RLE (rows 4-13, cols 40-59) and a keypoint-less person's polygon (x 4-16, y 30-44)
    beside one labelled person."""
    crowd = np.zeros((HEIGHT, WIDTH), np.uint8)
    crowd[4:14, 40:60] = 1
    person = grid_person()
    person[:, 2] = 0
    person[[0, 5, 6], 2] = 2
    cv2.imwrite(str(tmp_path / "a.png"), np.full((HEIGHT, WIDTH, 3), 128, np.uint8))
    rle = mask_utils.encode(np.asfortranarray(crowd))
    anns = [
        {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "bbox": [5, 5, 50, 40],
         "keypoints": person.ravel().tolist()},
        {"id": 2, "image_id": 1, "category_id": 1, "iscrowd": 1, "bbox": [40, 4, 20, 10],
         "keypoints": [0] * 51, "segmentation": {"size": [HEIGHT, WIDTH],
                                                 "counts": rle["counts"].decode()}},
        {"id": 3, "image_id": 1, "category_id": 1, "iscrowd": 0, "bbox": [4, 30, 12, 14],
         "keypoints": [0] * 51, "segmentation": [[4, 30, 16, 30, 16, 44, 4, 44]]},
    ]
    path = tmp_path / "ann.json"
    path.write_text(json.dumps({
        "images": [{"id": 1, "file_name": "a.png", "width": WIDTH, "height": HEIGHT}],
        "annotations": anns,
        "categories": [{"id": 1, "name": "person", "keypoints": list(COCO_17.names)}]}))
    return read_coco_images(path, tmp_path)


def inside(points, box, pad):
    """Which ``[..., 2]`` points lie inside ``box`` (x0, y0, x1, y1) shrunk by ``pad``."""
    x0, y0, x1, y1 = box
    x, y = points[..., 0], points[..., 1]
    return (x > x0 + pad) & (x < x1 - pad) & (y > y0 + pad) & (y < y1 - pad)


@pytest.mark.parametrize("train", [False, True], ids=["validation", "augmented"])
def test_masks_are_zero_on_ignore_regions_and_outside_the_image(ignore_dataset, train):
    [batch] = batches(ignore_dataset.select([0, 0, 0]), batch_size=3, train=train, seed=2)
    regions = [(40, 4, 60, 14), (4, 30, 16, 44)]  # x0, y0, x1, y1 pixel edges (approx. polygon)
    for i in range(3):
        mask = batch["masks_s2"][i, ..., 0]
        v, u = np.mgrid[:32, :32]
        centres = to_image(batch, i, np.stack([u.ravel(), v.ravel()], 1).astype(np.float32),
                           CODEC.output_size(2)).reshape(32, 32, 2)
        margin = 1.5  # image pixels: the mask's edge may fall either way by about one pixel
        image = (-0.5, -0.5, WIDTH - 0.5, HEIGHT - 0.5)
        in_image = inside(centres, image, margin)
        out_image = ~inside(centres, image, -margin)
        ignored = inside(centres, regions[0], margin) | inside(centres, regions[1], margin)
        near_region = inside(centres, regions[0], -margin) | inside(centres, regions[1], -margin)
        assert ignored.sum() > 10 and out_image.sum() > 10
        assert (mask[ignored] == 0).all() and (mask[out_image] == 0).all()
        assert (mask[in_image & ~near_region] == 1).all()


@pytest.mark.parametrize("sample, input_size, train", [
    ("coco_mini_train", 128, True), ("coco_sample", 512, False)])  # coco_sample: small persons
def test_masks_match_pycocotools_on_real_images(sample, input_size, train, request):
    """Crowd RLEs (coco_mini_train) and unlabelled persons' polygons (both), warped with OpenCV
    by the pipeline's own affine, agree with the pipeline's masks."""
    root = request.getfixturevalue(sample)
    if sample == "coco_mini_train":
        ann_file, image_dir = root / "annotations" / "person_keypoints_train2017.json", \
            root / "train2017"
    else:
        ann_file, image_dir = root / "test_coco.json", root
    coco = COCO(str(ann_file))
    records = read_coco_images(ann_file, image_dir, coco=coco)
    records = records.select(np.flatnonzero([bool(r) for r in records.ignore_rles])[:6])
    codec = BottomUpCodec(input_size=(input_size, input_size), strides=(4, 2))
    ds = bottomup_dataset(records, codec, batch_size=len(records), train=train, seed=1)
    batch = {k: v.numpy() for k, v in next(iter(ds)).items()}
    ignored_inside = 0  # pixels the regions (not the padding) take out: the test has teeth
    for i, image_id in enumerate(batch["image_id"]):
        image = coco.imgs[int(image_id)]
        keep = np.ones((image["height"], image["width"]), np.float32)
        for ann in coco.imgToAnns[int(image_id)]:
            if ann["iscrowd"] or not any(v > 0 for v in ann["keypoints"][2::3]):
                keep *= 1 - coco.annToMask(ann)
        for stride in codec.strides:
            size = codec.output_size(stride)
            matrix = geometry.affine_matrix(batch["center"][i], batch["size"][i],
                                              batch["rotation"][i], size, batch["flip"][i])

            def warp(mask, matrix=matrix, size=size):
                return cv2.warpAffine(mask, matrix.numpy(), size[::-1], flags=cv2.INTER_LINEAR,
                                      borderValue=0) >= 0.5

            expected = warp(keep)
            found = batch[f"masks_s{stride}"][i, ..., 0] > 0
            assert (expected != found).mean() < 0.005
            ignored_inside += (warp(np.ones_like(keep)) & ~expected).sum()
    assert ignored_inside > 50


# ---- determinism, bad input -----------------------------------------------------------------
def test_deterministic_mode_repeats_batches_for_a_seed(dots, dots_batches):
    records = dots.select([0] * 6)
    first = dots_batches["augmented, short side (default)"]  # seed 3, deterministic
    again = batches(records, batch_size=6, train=True, seed=3, deterministic=True)[0]
    for key in first:
        np.testing.assert_array_equal(first[key], again[key], err_msg=key)
    other = batches(records, batch_size=6, train=True, seed=4, deterministic=True)[0]
    assert not np.array_equal(first["rotation"], other["rotation"])
    assert not np.array_equal(first["image"], other["image"])


def test_corrupt_missing_and_mismatched_images_are_dropped(tmp_path, capfd):
    """Damaged files and files whose size contradicts the annotation are named on stderr; a
    file that vanished after reading the records (the reader names missing ones) is skipped."""
    good = np.full((HEIGHT, WIDTH, 3), 200, np.uint8)
    cv2.imwrite(str(tmp_path / "good.jpg"), good)
    data = (tmp_path / "good.jpg").read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "garbage.png").write_bytes(b"not an image" * 50)
    cv2.imwrite(str(tmp_path / "small.png"), good[:40])  # annotated as 48 rows
    names = ["good.jpg", "truncated.jpg", "garbage.png", "small.png", "gone.png", "good.jpg"]
    paths = [str(tmp_path / n) for n in names]
    person, nobody = grid_person()[None], np.zeros((0, 17, 3))  # evaluation keeps empty images
    records = ImageRecords.from_lists(COCO_17, paths, [1, 2, 3, 4, 5, 6], [(HEIGHT, WIDTH)] * 6,
                                      [person] * 5 + [nobody], [b""] * 6)
    found = batches(records, batch_size=2)
    assert [b["image_id"].tolist() for b in found] == [[1, 6]]
    assert found[0]["heatmaps_s2"][0].max() > 0.9 and found[0]["joints"][0, 0, :, 1].all()
    assert not found[0]["heatmaps_s2"][1].any() and not found[0]["joints"][1].any()
    err = capfd.readouterr().err
    assert "skipping unreadable" in err and "size differs from its annotation" in err
    for name in names[1:4]:
        assert str(tmp_path / name) in err
    assert str(tmp_path / "good.jpg") not in err


def test_keypoints_leaving_the_input_lose_their_visibility():
    matrix = geometry.affine_matrix([32.0, 32.0], [64.0, 64.0], 0.0, (64, 64))
    keypoints = np.array([[[10, 10, 2], [63.9, 0, 1], [64.1, 10, 2], [-1, 5, 2], [20, 20, 0]]],
                         np.float32)
    result = keypoints_to_input(keypoints, matrix, (64, 64)).numpy()
    np.testing.assert_allclose(result[0, :, 2], [2, 1, 0, 0, 0])
    np.testing.assert_allclose(result[0, 2:, :2], 0)


def test_bad_arguments():
    empty = ImageRecords.from_lists(COCO_17, [], [], np.zeros((0, 2)), [], [])
    with pytest.raises(ValueError, match="no image records"):
        bottomup_dataset(empty, CODEC)
    with pytest.raises(ValueError, match="min_scale"):
        BottomUpAugmentConfig(min_scale=2.0, max_scale=1.0)
    with pytest.raises(ValueError, match="flip_prob"):
        BottomUpAugmentConfig(flip_prob=1.5)
    with pytest.raises(ValueError, match="fit must be one of"):
        BottomUpAugmentConfig(fit="long")


def test_short_side_fit():
    center, size = fit_image([48, 64], (64, 64), "short_side")
    np.testing.assert_allclose(center.numpy(), [31.5, 23.5])
    np.testing.assert_allclose(size.numpy(), [48, 48])
    _, size = fit_image([48, 64], (64, 32), "short_side")  # a tall input: width limits
    np.testing.assert_allclose(size.numpy(), [24, 48])
    _, size = fit_image([48, 64], (64, 64), "whole_image")
    np.testing.assert_allclose(size.numpy(), [64, 64])


def test_defaults_are_the_litepose_augmentation():
    """LitePose's configs (experiments/{coco,crowd_pose}/mobilenet/mobile.yaml): MIN_SCALE 0.75,
    MAX_SCALE 1.5, MAX_ROTATION 30, MAX_TRANSLATE 40 (of a 200-unit crop side), FLIP 0.5,
    SCALE_TYPE short."""
    config = BottomUpAugmentConfig()
    assert (config.min_scale, config.max_scale, config.max_rotation) == (0.75, 1.5, 30.0)
    assert config.max_translate == pytest.approx(40 / 200)
    assert (config.flip_prob, config.fit) == (0.5, "short_side")


@pytest.mark.parametrize("min_scale, max_scale", [(1.0, 1.0), (0.75, 1.5)])
def test_translation_follows_higherhrnet_in_image_pixels(dots, min_scale, max_scale):
    """HigherHRNet's RandomAffineTransform (which LitePose trains with) draws the scale first,
    then moves the centre by up to MAX_TRANSLATE x s image pixels per axis, s = scaled crop side
    / 200: with 40, a fifth of the scaled crop. Here the 48x64 image's short-side crop is 48
    pixels: shifts up to 9.6 image pixels at scale 1, up to 14.4 at scale 1.5."""
    translate_only = BottomUpAugmentConfig(min_scale=min_scale, max_scale=max_scale,
                                           max_rotation=0.0, flip_prob=0.0)
    batch = batches(dots.select([0] * 64), batch_size=64, train=True, augment=translate_only,
                    seed=5, deterministic=True)[0]
    side = batch["size"][:, 0]  # the scaled crop side, image pixels (square input)
    np.testing.assert_allclose(side / 48.0, batch["size"][:, 1] / 48.0)
    assert side.min() >= 48 * min_scale - 1e-3 and side.max() <= 48 * max_scale + 1e-3
    shift = batch["center"] - np.array([31.5, 23.5])  # from the short-side fit's centre
    limit = 40.0 * (side / 200.0)  # the authors' +-MAX_TRANSLATE x s
    assert np.all(np.abs(shift) <= limit[:, None] + 1e-3)
    reach = np.abs(shift) / limit[:, None]
    assert reach.max() > 0.9 and reach.mean() == pytest.approx(0.5, abs=0.12)  # uniform draws
