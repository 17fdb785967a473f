"""Tests of image reading (tfpose.data.images) and of skipping bad images in the pipeline."""

import json

import cv2
import numpy as np
import pytest
import tensorflow as tf

from tfpose.codecs.heatmap import HeatmapCodec
from tfpose.data.coco import read_coco_persons
from tfpose.data.images import decode_rgb, image_bytes_look_complete
from tfpose.data.topdown import topdown_dataset
from tfpose.keypoints import COCO_17

GOOD = ("good.jpg", "good.png")


def write_images(folder):
    """Good, truncated and garbage image files; returns {name: path}."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(48, 64, 3), dtype=np.uint8)
    paths = {name: folder / name for name in (
        "good.jpg", "truncated.jpg", "garbage.jpg", "empty.jpg", "good.png", "truncated.png")}
    for kind in ("jpg", "png"):
        assert cv2.imwrite(str(paths[f"good.{kind}"]), pixels)
        data = paths[f"good.{kind}"].read_bytes()
        paths[f"truncated.{kind}"].write_bytes(data[: len(data) // 2])
    paths["garbage.jpg"].write_bytes(b"this is not an image\n" * 100)
    paths["empty.jpg"].write_bytes(b"")
    return paths


@pytest.fixture
def image_files(tmp_path):
    return write_images(tmp_path)


def test_image_bytes_look_complete(image_files):
    verdicts = {name: bool(image_bytes_look_complete(tf.io.read_file(str(path))))
                for name, path in image_files.items()}
    assert verdicts == {name: name in GOOD for name in image_files}


def test_png_with_trailing_padding_is_complete(image_files):
    padded = image_files["good.png"].read_bytes() + b"\0" * 16
    assert tuple(decode_rgb(tf.constant(padded)).shape) == (48, 64, 3)  # TensorFlow reads it
    assert bool(image_bytes_look_complete(tf.constant(padded)))


@pytest.mark.parametrize("name", GOOD)
def test_decode_rgb(image_files, name):
    image = decode_rgb(tf.io.read_file(str(image_files[name])))
    assert image.dtype == tf.uint8 and tuple(image.shape) == (48, 64, 3)
    expected = cv2.cvtColor(cv2.imread(str(image_files[name])), cv2.COLOR_BGR2RGB)
    assert np.abs(image.numpy().astype(int) - expected).mean() < 2  # RGB order, same pixels


def test_pipeline_skips_bad_images(tmp_path, capfd):
    paths = write_images(tmp_path)
    names = ("good.jpg", "truncated.jpg", "garbage.jpg", "good.png", "empty.jpg")
    keypoints = [30, 20, 2] + [0, 0, 0] * 16
    anns = [{"id": 10 * i + j, "image_id": i, "category_id": 1, "iscrowd": 0,
             "bbox": [5 + j, 5, 30, 30], "keypoints": keypoints}
            for i in range(1, len(names) + 1) for j in range(2 if i == 1 else 1)]
    ann_file = tmp_path / "ann.json"
    ann_file.write_text(json.dumps({
        "images": [{"id": i, "file_name": n, "width": 64, "height": 48}
                   for i, n in enumerate(names, 1)],
        "annotations": anns,
        "categories": [{"id": 1, "name": "person", "keypoints": list(COCO_17.names)}],
    }))
    records = read_coco_persons(ann_file, str(tmp_path))
    assert len(records) == 6
    codec = HeatmapCodec(input_size=(64, 48), heatmap_size=(16, 12))
    batches = list(topdown_dataset(records, codec, batch_size=2, train=False))

    image_ids = np.concatenate([b["image_id"].numpy() for b in batches])
    assert sorted(image_ids) == [1, 1, 4]  # the two persons of good.jpg and the one of good.png
    assert [len(b["image_id"]) for b in batches] == [2, 1]
    assert batches[0]["image"].shape == (2, 64, 48, 3)
    assert batches[0]["heatmaps"].shape == (2, 16, 12, 17)
    err = capfd.readouterr().err
    assert "skipping unreadable" in err
    for name in ("truncated.jpg", "garbage.jpg", "empty.jpg"):
        assert str(paths[name]) in err
    assert str(paths["good.jpg"]) not in err and str(paths["good.png"]) not in err
