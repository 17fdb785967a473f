"""Tests of the synthetic COCO-keypoint figure generator."""

import contextlib
import io
import json

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO

from tfpose.data import synthetic
from tfpose.data.synthetic import make_synthetic_dataset
from tfpose.errors import DataError
from tfpose.keypoints import COCO_17

SIZE = (96, 128)  # (height, width): not square, so a swapped axis shows up


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    path = make_synthetic_dataset(root, 32, image_size=SIZE, seed=3, progress=False)
    return root, path, json.loads(path.read_text())


def _keypoints(ann) -> np.ndarray:
    return np.array(ann["keypoints"], float).reshape(-1, 3)


def _samples(count=24, size=SIZE, max_people=3):
    return [synthetic._render_sample(np.random.default_rng(i), *size, max_people)
            for i in range(count)]


def test_layout_loads_with_pycocotools(dataset):
    root, path, data = dataset
    assert path == root / "annotations" / "person_keypoints_train.json"
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(path))
    assert len(coco.getImgIds()) == 32
    (category,) = data["categories"]
    assert category["id"] == 1 and category["name"] == "person"
    assert category["keypoints"] == list(COCO_17.names)
    assert category["skeleton"] == [[a + 1, b + 1] for a, b in COCO_17.skeleton]
    ids = [ann["id"] for ann in data["annotations"]]
    assert len(ids) == len(set(ids)) > 0
    for ann in data["annotations"]:
        assert len(ann["keypoints"]) == 17 * 3
        assert ann["iscrowd"] == 0 and ann["category_id"] == 1 and ann["segmentation"]
        assert ann["image_id"] in coco.imgs
        coco.annToMask(ann)  # the polygons rasterise
    for image in data["images"]:
        assert (image["height"], image["width"]) == SIZE
        pixels = cv2.imread(str(root / "images" / "train" / image["file_name"]))
        assert pixels is not None and pixels.shape == (*SIZE, 3)


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    paths = [make_synthetic_dataset(tmp_path / name, 3, image_size=(64, 80), seed=seed,
                                    progress=False)
             for name, seed in (("a", 7), ("b", 7), ("c", 8))]
    roots = [p.parents[1] for p in paths]
    assert paths[0].read_bytes() == paths[1].read_bytes() != paths[2].read_bytes()
    for name in ("000000000001.jpg", "000000000002.jpg", "000000000003.jpg"):
        images = [(r / "images" / "train" / name).read_bytes() for r in roots]
        assert images[0] == images[1] != images[2]


def test_image_does_not_depend_on_num_images(tmp_path):
    one = make_synthetic_dataset(tmp_path / "one", 1, image_size=(64, 64), progress=False)
    two = make_synthetic_dataset(tmp_path / "two", 2, image_size=(64, 64), progress=False)
    name = "images/train/000000000001.jpg"
    assert (one.parents[1] / name).read_bytes() == (two.parents[1] / name).read_bytes()


def test_annotation_values_are_consistent(dataset):
    _, _, data = dataset
    height, width = SIZE
    for ann in data["annotations"]:
        kp = _keypoints(ann)
        assert set(kp[:, 2]) <= {0, 1, 2}
        assert ann["num_keypoints"] == int((kp[:, 2] > 0).sum())
        assert np.all(kp[kp[:, 2] == 0, :2] == 0)
        labelled = kp[kp[:, 2] > 0]
        assert np.all((labelled[:, 0] >= -0.5) & (labelled[:, 0] < width - 0.5))
        assert np.all((labelled[:, 1] >= -0.5) & (labelled[:, 1] < height - 0.5))
        assert np.all(labelled[:, :2] * 16 == np.round(labelled[:, :2] * 16))  # drawn positions
        x, y, w, h = ann["bbox"]
        assert x >= -0.5 and y >= -0.5 and w > 0 and h > 0
        assert x + w <= width - 0.5 and y + h <= height - 0.5
        assert 0 <= ann["area"] <= w * h
        assert np.all((labelled[:, 0] >= x) & (labelled[:, 0] <= x + w))
        assert np.all((labelled[:, 1] >= y) & (labelled[:, 1] <= y + h))


def test_crowds_occlusion_and_truncation_occur(dataset):
    _, _, data = dataset
    height, width = SIZE
    per_image = np.bincount([a["image_id"] for a in data["annotations"]])
    assert (per_image >= 2).sum() >= 3
    anns = data["annotations"]
    occluded = sum(int((_keypoints(a)[:, 2] == 1).sum()) for a in anns)
    outside = sum(int((_keypoints(a)[:, 2] == 0).sum()) for a in anns)
    touching = [a for a in anns if a["bbox"][0] <= -0.5 or a["bbox"][1] <= -0.5
                or a["bbox"][0] + a["bbox"][2] >= width - 0.5
                or a["bbox"][1] + a["bbox"][3] >= height - 0.5]
    assert occluded >= 10 and outside >= 10 and len(touching) >= 3
    visible = sum(int((_keypoints(a)[:, 2] == 2).sum()) for a in anns)
    assert visible > occluded  # figures stay mostly visible: learnable


def test_figures_are_drawn_where_keypoints_are():
    hits = total = 0
    for sample in _samples():
        for ann in sample.people:
            for x, y, v in _keypoints(ann):
                if v == 2:
                    col, row = int(np.floor(x + 0.5)), int(np.floor(y + 0.5))
                    diff = np.abs(sample.image[row, col].astype(int)
                                  - sample.background[row, col].astype(int)).sum()
                    hits, total = hits + (diff > 30), total + 1
    assert total > 100 and hits >= 0.9 * total


def test_jpeg_matches_rendered_sample(tmp_path):
    path = make_synthetic_dataset(tmp_path, 1, image_size=SIZE, seed=5, progress=False)
    rng = np.random.default_rng(np.random.SeedSequence(5, spawn_key=(0,)))
    sample = synthetic._render_sample(rng, *SIZE, 3)
    written = cv2.imread(str(path.parents[1] / "images" / "train" / "000000000001.jpg"))
    assert np.abs(written.astype(int) - sample.image).mean() < 6
    assert len(json.loads(path.read_text())["annotations"]) == len(sample.people)


def test_left_limbs_are_lighter_than_right_limbs():
    compared = 0
    for sample in _samples(size=(128, 128)):
        gray = cv2.cvtColor(sample.image, cv2.COLOR_BGR2GRAY).astype(float)
        for j, _ in enumerate(sample.figures):
            for left, right in zip(synthetic._LEFT_LIMBS, synthetic._RIGHT_LIMBS, strict=True):
                left_px = gray[sample.owner == j * synthetic._PARTS + left]
                right_px = gray[sample.owner == j * synthetic._PARTS + right]
                if len(left_px) >= 10 and len(right_px) >= 10:
                    assert np.median(left_px) > np.median(right_px) + 40
                    compared += 1
    assert compared > 50


def test_back_views_mirror_the_sides_and_hide_the_face():
    seen_back = seen_front = 0
    for sample in _samples(count=40, size=(128, 128), max_people=1):
        for fig in sample.figures:
            kp = fig.keypoints
            # Figure's left shoulder/hip lie on the image right in front views, left in back views.
            # The figure may lean, so measure across the body: along the shoulders-to-hips normal.
            up = (kp[5] + kp[6]) / 2 - (kp[11] + kp[12]) / 2
            across = np.array([-up[1], up[0]])  # image right when the figure is upright
            sign = np.sign((kp[5] - kp[6]) @ across)
            if fig.back:
                assert sign < 0 and not fig.face_drawn[:3].any()
                seen_back += 1
            else:
                assert sign > 0 and fig.face_drawn[0]
                seen_front += 1
    assert seen_back >= 3 and seen_front >= 10


def test_visible_keypoint_pixels_belong_to_the_figure():
    checked = 0
    for sample in _samples(count=12):
        if len(sample.people) != len(sample.figures):  # then people[j] is figure j
            continue
        for j, ann in enumerate(sample.people):
            for (x, y, v), parts in zip(_keypoints(ann), synthetic._KEYPOINT_PARTS, strict=True):
                owner = sample.owner[int(np.floor(y + 0.5)), int(np.floor(x + 0.5))]
                assert (v == 2) == (owner - j * synthetic._PARTS in parts) or v == 0
                checked += v == 2
    assert checked > 50


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"num_images": 0}, "num_images"), ({"image_size": (32, 256)}, "image_size"),
     ({"max_people": 0}, "max_people"), ({"split": "../x"}, "split")],
)
def test_bad_arguments_raise_value_error(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_synthetic_dataset(tmp_path, **{"num_images": 1, **kwargs}, progress=False)


def test_out_dir_that_is_a_file_raises_data_error(tmp_path):
    target = tmp_path / "not_a_dir"
    target.write_text("x")
    with pytest.raises(DataError, match="not a directory") as info:
        make_synthetic_dataset(target, 1, progress=False)
    assert info.value.path == str(target)


def test_no_temp_files_left_behind(dataset):
    root, _, _ = dataset
    assert [p.name for p in (root / "annotations").iterdir()] == ["person_keypoints_train.json"]
