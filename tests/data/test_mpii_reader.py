"""Tests of the MPII reader (tfpose.data.mpii): 1-based json pixels to 0-based records."""

import json
import logging

import numpy as np
import pytest

from tfpose.data.mpii import read_mpii_persons
from tfpose.errors import DataError
from tfpose.keypoints import MPII_16


def test_mpii_sample(mpii_sample):
    ann_file = mpii_sample / "test_mpii.json"
    entries = json.loads(ann_file.read_text())
    records = read_mpii_persons(ann_file, str(mpii_sample))
    assert len(records) == 5 and records.keypoint_set is MPII_16
    assert records.keypoints.shape == (5, 16, 3)
    np.testing.assert_array_equal(records.image_ids, np.arange(5))  # file order
    assert list(records.image_paths) == [str(mpii_sample / e["image"]) for e in entries]
    np.testing.assert_array_equal(records.scores, 1.0)

    joints = np.array([e["joints"] for e in entries], np.float32)
    visible = np.array([e["joints_vis"] for e in entries]) > 0
    assert (~visible).sum() == 4  # persons 2 and 3 lack both ankles
    np.testing.assert_array_equal(records.keypoints[visible][:, :2], joints[visible] - 1)
    np.testing.assert_array_equal(records.keypoints[visible][:, 2], 2)
    np.testing.assert_array_equal(records.keypoints[~visible], 0)
    # first person: joint 0 at MATLAB (804, 711)
    np.testing.assert_array_equal(records.keypoints[0, 0], [803, 710, 2])

    for box, entry in zip(records.boxes, entries, strict=True):
        side = entry["scale"] * 200
        cx, cy = entry["center"][0] - 1, entry["center"][1] - 1 + 15 * entry["scale"]
        np.testing.assert_allclose(box, [cx - side / 2, cy - side / 2, side, side], rtol=1e-5)
    # first person: scale 4.718488, centre (966, 340)
    np.testing.assert_allclose(records.boxes[0], [493.1512, -62.0715, 943.6976, 943.6976],
                               atol=1e-3)


def entry(image="a.jpg", **changes):
    data = {"image": image, "joints": [[10.0 + i, 20.0] for i in range(16)],
            "joints_vis": [1] * 16, "center": [30.0, 40.0], "scale": 0.5}
    data.update(changes)
    return data


def write(tmp_path, data):
    path = tmp_path / "mpii.json"
    path.write_text(json.dumps(data))
    return path


def without(key):
    data = entry()
    del data[key]
    return data


BAD = {
    "no joints_vis": ([entry(), without("joints_vis")], "entry #1 lacks 'joints_vis'",
                      "joints_vis"),
    "joints 15x2": ([entry(joints=[[1, 2]] * 15)], "shape (15, 2), expected (16, 2)", "joints"),
    "zero scale": ([entry(scale=0)], "non-positive scale", "scale"),
    "negative scale": ([entry(scale=-1.5)], "non-positive scale -1.5", "scale"),
    "an object": ({"a": entry()}, "expected a list", None),
    "text scale": ([entry(scale="big")], "not numeric", "scale"),
    "NaN scale": ([entry(scale=float("nan"))], "non-finite", "scale"),
    "ragged joints": ([entry(joints=[[1, 2]] * 15 + [[1]])], "not numeric", "joints"),
}


@pytest.mark.parametrize("content, problem, field", BAD.values(), ids=BAD.keys())
def test_bad_files_raise_data_error(tmp_path, content, problem, field):
    path = write(tmp_path, content)
    with pytest.raises(DataError) as error:
        read_mpii_persons(path, str(tmp_path), check_images=False)
    assert error.value.path == str(path) and str(path) in str(error.value)
    assert error.value.field == field and problem in error.value.problem


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_mpii_persons(tmp_path / "none.json", str(tmp_path))


def test_missing_images_are_skipped(tmp_path, caplog):
    (tmp_path / "a.jpg").write_bytes(b"\xff\xd8")  # only existence is checked here
    path = write(tmp_path, [entry("a.jpg"), entry("gone.jpg"), entry("a.jpg")])
    with caplog.at_level(logging.WARNING, logger="tfpose"):
        records = read_mpii_persons(path, str(tmp_path))
    np.testing.assert_array_equal(records.image_ids, [0, 2])
    assert str(tmp_path / "gone.jpg") in caplog.text
    assert "kept 2 persons, skipped 1 persons whose image file is missing" in caplog.text
