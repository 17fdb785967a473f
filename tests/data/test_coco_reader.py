"""Tests of the COCO reader (tfpose.data.coco) and of PersonRecords, on real and broken files."""

import json
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from tfpose.data.coco import load_coco, read_coco_persons, read_detections, read_json
from tfpose.data.records import PersonRecords
from tfpose.errors import DataError
from tfpose.keypoints import COCO_17


def expected_persons(data):
    """The annotations the reader should keep, in its order (image id, then file order)."""
    by_image = {}
    for ann in data["annotations"]:
        visible = np.asarray(ann["keypoints"]).reshape(-1, 3)[:, 2] > 0
        if not ann.get("iscrowd", 0) and visible.any():
            by_image.setdefault(ann["image_id"], []).append(ann)
    return [ann for image_id in sorted(by_image) for ann in by_image[image_id]]


def check_against_json(records, ann_file, image_dir):
    data = json.loads(Path(ann_file).read_text())
    images = {im["id"]: im for im in data["images"]}
    anns = expected_persons(data)
    assert len(records) == len(anns)
    assert records.keypoints.shape == (len(anns), 17, 3) and records.keypoints.dtype == np.float32
    assert records.boxes.shape == (len(anns), 4) and records.boxes.dtype == np.float32
    np.testing.assert_array_equal(records.image_ids, [a["image_id"] for a in anns])
    np.testing.assert_array_equal(records.scores, 1.0)
    json_kps = np.array([a["keypoints"] for a in anns], np.float32).reshape(-1, 17, 3)
    labelled = json_kps[..., 2] > 0
    np.testing.assert_array_equal(records.keypoints[labelled], json_kps[labelled])
    assert not records.keypoints[~labelled].any()  # unlabelled joints are zeros
    width = np.array([images[a["image_id"]]["width"] for a in anns])
    height = np.array([images[a["image_id"]]["height"] for a in anns])
    x, y, w, h = records.boxes.T
    assert (x >= 0).all() and (y >= 0).all() and (w > 0).all() and (h > 0).all()
    assert (x + w <= width + 1e-3).all() and (y + h <= height + 1e-3).all()
    for path, ann in zip(records.image_paths, anns, strict=True):
        assert path == str(Path(image_dir) / images[ann["image_id"]]["file_name"])
        assert Path(path).is_file()


def test_coco_sample(coco_sample):
    ann_file = coco_sample / "test_coco.json"
    records = read_coco_persons(ann_file, str(coco_sample))
    assert len(records) == 12  # 14 annotations, 2 without keypoints
    assert records.keypoint_set is COCO_17
    check_against_json(records, ann_file, coco_sample)
    # the boxes of this file lie inside their images, so clipping keeps them
    np.testing.assert_allclose(records.boxes[0], [280.79, 44.73, 218.7, 346.68], atol=1e-3)


def test_coco_mini_train(coco_mini_train, caplog):
    ann_file = coco_mini_train / "annotations" / "person_keypoints_train2017.json"
    image_dir = coco_mini_train / "train2017"
    with caplog.at_level(logging.WARNING, logger="tfpose"):
        records = read_coco_persons(ann_file, str(image_dir))
    assert len(records) == 86
    check_against_json(records, ann_file, image_dir)
    [message] = [r.getMessage() for r in caplog.records if r.name == "tfpose"]
    assert str(ann_file) in message and "kept 86 persons" in message
    assert "5 crowd regions" in message and "81 persons without labelled keypoints" in message


def test_read_detections(coco_sample, caplog):
    det_file = coco_sample / "test_coco_det_AP_H_56.json"
    detections = json.loads(det_file.read_text())
    coco = load_coco(coco_sample / "test_coco.json")
    records = read_detections(det_file, coco, str(coco_sample))
    assert len(records) == len(detections) == 118
    np.testing.assert_allclose(records.scores, [d["score"] for d in detections], rtol=1e-6)
    np.testing.assert_array_equal(records.image_ids, [d["image_id"] for d in detections])
    assert records.keypoints.shape == (118, 17, 3) and not records.keypoints.any()
    with caplog.at_level(logging.WARNING, logger="tfpose"):
        assert len(read_detections(det_file, coco, str(coco_sample), min_score=0.5)) == 18
    assert "100 detections scored below 0.5" in caplog.text
    kept = read_detections(det_file, coco, str(coco_sample), min_score=0.9)
    assert len(kept) == 14 and kept.scores.min() >= 0.9


# --- synthetic files in tmp_path -----------------------------------------------------------

def person(ann_id, image_id, bbox=(10, 5, 30, 40), keypoints=None):
    if keypoints is None:
        keypoints = [20, 15, 2, 25, 30, 1] + [0, 0, 0] * 15
    return {"id": ann_id, "image_id": image_id, "category_id": 1, "iscrowd": 0,
            "bbox": list(bbox), "keypoints": keypoints, "num_keypoints": 2}


def coco_json(annotations, images=((1, "a.jpg"),)):
    return {
        "images": [{"id": i, "file_name": f, "width": 64, "height": 48} for i, f in images],
        "annotations": annotations,
        "categories": [{"id": 1, "name": "person", "keypoints": list(COCO_17.names)}],
    }


def write(tmp_path, data, name="ann.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


@pytest.fixture
def image_dir(tmp_path):
    cv2.imwrite(str(tmp_path / "a.jpg"), np.full((48, 64, 3), 128, np.uint8))
    return tmp_path


def test_unlabelled_joints_are_zeroed_and_boxes_clipped(image_dir):
    kps = [20, 15, 2, 33, 44, 0] + [0, 0, 0] * 15  # joint 1 has a position but is not labelled
    path = write(image_dir, coco_json([person(1, 1, bbox=(-5, 40, 30, 20), keypoints=kps)]))
    records = read_coco_persons(path, str(image_dir))
    np.testing.assert_array_equal(records.keypoints[0, :2], [[20, 15, 2], [0, 0, 0]])
    np.testing.assert_allclose(records.boxes[0], [0, 40, 25, 8])  # clipped to the 64 x 48 image


def broken(mutate):
    data = coco_json([person(1, 1)])
    mutate(data)
    return data


BAD_FILES = {
    "invalid json": ('{"images": [', "not valid json", None),
    "a list": ("[]", "found a list", None),
    "no annotations": (broken(lambda d: d.pop("annotations")), "missing", "annotations"),
    "image without file_name": (
        broken(lambda d: d["images"][0].pop("file_name")), "file_name", "images"),
    "50 keypoint values": (
        broken(lambda d: d["annotations"][0]["keypoints"].pop()), "50 keypoint values",
        "annotations.keypoints"),
    "bbox of 3 values": (
        broken(lambda d: d["annotations"][0]["bbox"].pop()), "bbox has shape (3,)",
        "annotations.bbox"),
    "text keypoints": (
        broken(lambda d: d["annotations"][0].update(keypoints=["a"] * 51)), "not numeric",
        "annotations.keypoints"),
    "null bbox value": (
        broken(lambda d: d["annotations"][0]["bbox"].__setitem__(0, None)), "non-finite",
        "annotations.bbox"),
    "image that is not an object": (
        broken(lambda d: d["images"].append("x.jpg")), "not an object", "images"),
    "unknown image id": (
        broken(lambda d: d["annotations"][0].update(image_id=7)), "unknown image 7",
        "annotations.image_id"),
}


@pytest.mark.parametrize("content, problem, field", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_annotation_files_raise_data_error(tmp_path, content, problem, field):
    path = write(tmp_path, content)
    with pytest.raises(DataError) as error:
        read_coco_persons(path, str(tmp_path))
    assert error.value.path == str(path) and str(path) in str(error.value)
    assert error.value.field == field
    assert problem in error.value.problem


def test_annotation_without_category_id(tmp_path):
    data = coco_json([person(1, 1)])
    del data["annotations"][0]["category_id"]
    path = write(tmp_path, data)
    with pytest.raises(DataError, match="lacks 'category_id'") as error:
        read_coco_persons(path, str(tmp_path), check_images=False)
    assert error.value.field == "annotations.category_id"


def test_missing_annotation_file(tmp_path):
    with pytest.raises(DataError, match="file not found") as error:
        read_json(tmp_path / "nope.json")
    assert error.value.path == str(tmp_path / "nope.json")


@pytest.mark.parametrize("content, problem", [
    ({"image_id": 1, "bbox": [0, 0, 5, 5], "score": 0.5}, "expected a list"),
    ([{"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5]}], "detection #0 lacks"),
    ([{"image_id": 1, "bbox": [0, 0, 5, 5], "score": "high"}], "score is not numeric"),
], ids=["object", "no score", "text score"])
def test_bad_detection_files_raise_data_error(tmp_path, content, problem):
    coco = load_coco(write(tmp_path, coco_json([person(1, 1)])))
    path = write(tmp_path, content, "det.json")
    with pytest.raises(DataError, match=problem) as error:
        read_detections(path, coco, str(tmp_path))
    assert error.value.path == str(path)
    if problem.startswith("detection"):
        assert "score" in str(error.value)


def test_counted_skips(image_dir, caplog):
    no_visible = person(2, 1, keypoints=[20, 15, 0] + [0, 0, 0] * 16)
    outside = person(3, 1, bbox=(10000, 5, 30, 40))
    path = write(image_dir, coco_json([person(1, 1), no_visible, outside]))
    with caplog.at_level(logging.WARNING, logger="tfpose"):
        records = read_coco_persons(path, str(image_dir))
    assert len(records) == 1
    assert "kept 1 persons" in caplog.text
    assert "1 persons without labelled keypoints" in caplog.text
    assert "1 persons whose box lies outside the image" in caplog.text


def test_missing_images_are_skipped_and_named(image_dir, caplog):
    images = ((1, "a.jpg"), (2, "gone.jpg"))
    anns = [person(1, 1), person(2, 2), person(3, 2)]
    path = write(image_dir, coco_json(anns, images))
    with caplog.at_level(logging.WARNING, logger="tfpose"):
        records = read_coco_persons(path, str(image_dir))
    np.testing.assert_array_equal(records.image_ids, [1])
    assert str(image_dir / "gone.jpg") in caplog.text and "1 image files" in caplog.text
    assert "2 persons whose image file is missing" in caplog.text
    assert len(read_coco_persons(path, str(image_dir), check_images=False)) == 3


# --- PersonRecords ---------------------------------------------------------------------------

def two_persons():
    keypoints = np.zeros((2, 17, 3), np.float32)
    keypoints[0, 0] = [5, 40, 2]  # left of and below the box
    keypoints[0, 1] = [12, 12, 1]  # inside the box
    keypoints[0, 2] = [100, 100, 0]  # not labelled: ignored
    return PersonRecords.from_lists(
        COCO_17, ["a.jpg", "b.jpg"], [1, 2], [[10, 10, 20, 20], [1.5, 2.5, 10, 20]],
        keypoints, [1.0, 0.5])


def test_records_validate_shapes():
    good = two_persons()
    with pytest.raises(ValueError, match=r"boxes has shape \(2, 3\), expected \(2, 4\)"):
        PersonRecords(COCO_17, good.image_paths, good.image_ids, good.boxes[:, :3],
                      good.keypoints, good.scores)
    with pytest.raises(ValueError, match=r"keypoints has shape \(2, 14, 3\)"):
        PersonRecords(COCO_17, good.image_paths, good.image_ids, good.boxes,
                      good.keypoints[:, :14], good.scores)
    with pytest.raises(ValueError, match="scores"):
        PersonRecords(COCO_17, good.image_paths, good.image_ids, good.boxes, good.keypoints,
                      good.scores[:1])


def test_records_select():
    records = two_persons()
    for index in (np.array([False, True]), np.array([1])):
        picked = records.select(index)
        assert len(picked) == 1 and picked.keypoint_set is COCO_17
        assert list(picked.image_paths) == ["b.jpg"] and list(picked.image_ids) == [2]
        np.testing.assert_array_equal(picked.boxes, [[1.5, 2.5, 10, 20]])
        np.testing.assert_array_equal(picked.scores, [0.5])
    assert list(records.select(np.array([1, 0])).image_ids) == [2, 1]


def test_boxes_covering_keypoints():
    records = two_persons()
    covered = records.with_boxes_covering_keypoints()
    np.testing.assert_array_equal(covered.boxes[0], [5, 10, 25, 30])
    np.testing.assert_array_equal(covered.boxes[1], records.boxes[1])  # a detection row
    np.testing.assert_array_equal(covered.keypoints, records.keypoints)
    np.testing.assert_array_equal(records.boxes[0], [10, 10, 20, 20])  # the original is kept


def test_boxes_covering_keypoints_on_real_data(coco_sample):
    coco = load_coco(coco_sample / "test_coco.json")
    detections = read_detections(coco_sample / "test_coco_det_AP_H_56.json", coco,
                                 str(coco_sample))
    np.testing.assert_allclose(detections.with_boxes_covering_keypoints().boxes,
                               detections.boxes, atol=1e-4)  # no keypoints: unchanged
    persons = read_coco_persons(coco_sample / "test_coco.json", str(coco_sample), coco=coco)
    covered = persons.with_boxes_covering_keypoints()
    x, y, w, h = (covered.boxes[:, i, None] for i in range(4))
    px, py = persons.keypoints[..., 0], persons.keypoints[..., 1]
    tol = 1e-3
    inside = (px >= x - tol) & (px <= x + w + tol) & (py >= y - tol) & (py <= y + h + tol)
    assert inside[persons.keypoints[..., 2] > 0].all()
    assert (covered.boxes[:, 2:] >= persons.boxes[:, 2:] - 1e-3).all()
    assert (covered.boxes[:, 3] > persons.boxes[:, 3] + 1).any()  # some boxes did grow
