"""Tests of per-image records for bottom-up training (tfpose.data.image_records): grouping of
persons by image, ignore regions (crowds, keypoint-less persons) and the in-graph RLE decoder."""

import json
import logging
import re

import cv2
import numpy as np
import pycocotools.mask as mask_utils
import pytest
import tensorflow as tf
from pycocotools.coco import COCO

from tfpose.data.image_records import (
    ImageRecords,
    read_coco_images,
    read_crowdpose_images,
    rle_to_mask,
)
from tfpose.data.synthetic import make_synthetic_dataset
from tfpose.errors import DataError
from tfpose.keypoints import COCO_17, CROWDPOSE_14


def decode(counts, size):
    return mask_utils.decode({"size": [int(s) for s in size], "counts": counts})


def labelled(ann):
    return not ann.get("iscrowd", 0) and any(v > 0 for v in ann["keypoints"][2::3])


def check_against_coco(records, coco, keypoints):
    """Persons and ignore masks of every record equal what pycocotools says about the file."""
    for i, image_id in enumerate(records.image_ids):
        anns = coco.imgToAnns.get(int(image_id), [])
        persons = np.array([a["keypoints"] for a in anns if labelled(a)], np.float32)
        persons = persons.reshape(-1, keypoints, 3)
        persons[persons[..., 2] <= 0] = 0.0
        np.testing.assert_array_equal(records.persons(i), persons)
        height, width = records.image_sizes[i]
        expected = np.zeros((height, width), np.uint8)
        for ann in anns:
            if not labelled(ann):
                expected |= coco.annToMask(ann)
        if records.ignore_rles[i]:
            np.testing.assert_array_equal(decode(records.ignore_rles[i], (height, width)),
                                          expected)
        else:
            assert not expected.any()


# ---- the RLE decoder -------------------------------------------------------------------------
def random_masks():
    rng = np.random.default_rng(0)
    masks = [np.ones((1, 1), np.uint8), np.zeros((3, 5), np.uint8), np.ones((7, 2), np.uint8)]
    for _ in range(12):
        height, width = rng.integers(1, 120, 2)
        masks.append((rng.random((height, width)) < rng.random()).astype(np.uint8))
    big = np.zeros((480, 640), np.uint8)  # long runs need several 5-bit groups and deltas
    big[100:300, 50:600] = 1
    big[400:, :10] = 1
    return masks + [big]


@pytest.mark.parametrize("mask", random_masks(), ids=lambda m: f"{m.shape[0]}x{m.shape[1]}")
def test_rle_to_mask_matches_pycocotools(mask):
    counts = mask_utils.encode(np.asfortranarray(mask))["counts"]
    decoded = rle_to_mask(tf.constant(counts), *mask.shape)
    assert decoded.dtype == tf.uint8
    np.testing.assert_array_equal(decoded.numpy(), mask)


def test_rle_to_mask_in_a_graph():
    mask = np.zeros((9, 13), np.uint8)
    mask[2:5, 3:11] = 1
    counts = mask_utils.encode(np.asfortranarray(mask))["counts"]
    decode_fn = tf.function(rle_to_mask, input_signature=[
        tf.TensorSpec([], tf.string), tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.int32)])
    np.testing.assert_array_equal(decode_fn(counts, 9, 13).numpy(), mask)


# ---- real files --------------------------------------------------------------------------
def test_coco_mini_train(coco_mini_train, caplog):
    ann_file = coco_mini_train / "annotations" / "person_keypoints_train2017.json"
    with caplog.at_level(logging.INFO, logger="tfpose"):
        records = read_coco_images(ann_file, coco_mini_train / "train2017")
    assert len(records) == 28 and len(records.keypoints) == 86  # README: 86 with keypoints
    assert records.keypoints.shape == (86, 17, 3) and records.keypoints.dtype == np.float32
    assert (records.num_persons > 0).all()
    check_against_coco(records, COCO(str(ann_file)), 17)
    ignoring = [bool(r) for r in records.ignore_rles]
    assert sum(ignoring) == 12  # images with a crowd region or a keypoint-less person
    message = caplog.records[-1].getMessage()
    assert "kept 28 images with 86 persons" in message
    assert "52 images without a labelled person" in message and "5 crowd regions" in message


def test_images_without_persons_kept_for_evaluation(coco_mini_train):
    ann_file = coco_mini_train / "annotations" / "person_keypoints_train2017.json"
    records = read_coco_images(ann_file, coco_mini_train / "train2017",
                               keep_images_without_persons=True)
    assert len(records) == 80 and len(records.keypoints) == 86
    assert (records.num_persons == 0).sum() == 52


def test_coco_sample_ignores_the_keypoint_less_persons(coco_sample):
    ann_file = coco_sample / "test_coco.json"
    records = read_coco_images(ann_file, coco_sample)
    assert len(records) == 4 and len(records.keypoints) == 12  # 14 annotations, 2 unlabelled
    check_against_coco(records, COCO(str(ann_file)), 17)
    assert sum(bool(r) for r in records.ignore_rles) >= 1


def test_crowdpose_ignores_the_box_of_a_keypoint_less_person(crowdpose_sample):
    records = read_crowdpose_images(crowdpose_sample / "test_crowdpose.json", crowdpose_sample)
    assert records.keypoint_set is CROWDPOSE_14 and records.keypoints.shape == (4, 14, 3)
    i = list(records.image_ids).index(106848)
    mask = decode(records.ignore_rles[i], records.image_sizes[i])
    # CrowdPose has no segmentations: annotation 131039 (no keypoints) is ignored by its box.
    x, y, w, h = 108.5, 96.78, 35.46, 30.23
    rows, cols = np.nonzero(mask)
    assert abs(cols.min() - x) <= 1 and abs(cols.max() + 1 - (x + w)) <= 1
    assert abs(rows.min() - y) <= 1 and abs(rows.max() + 1 - (y + h)) <= 1
    assert mask.sum() == pytest.approx(w * h, rel=0.1)
    assert not records.ignore_rles[1 - i]


def test_synthetic_figures(tmp_path):
    ann_file = make_synthetic_dataset(tmp_path, 6, image_size=(64, 96), seed=1, max_people=4,
                                      progress=False)
    records = read_coco_images(ann_file, tmp_path / "images" / "train")
    coco = COCO(str(ann_file))
    assert not any(a["iscrowd"] for a in coco.dataset["annotations"])
    check_against_coco(records, coco, 17)


# ---- handmade files ------------------------------------------------------------------------
def person(ann_id, image_id, keypoints=None, **extra):
    keypoints = [20, 15, 2] + [0, 0, 0] * 16 if keypoints is None else keypoints
    return {"id": ann_id, "image_id": image_id, "category_id": 1, "iscrowd": 0,
            "bbox": [10, 5, 30, 40], "keypoints": keypoints, **extra}


def write_dataset(folder, annotations, images=((1, "a.png"),)):
    for _, name in images:
        cv2.imwrite(str(folder / name), np.zeros((48, 64, 3), np.uint8))
    path = folder / "ann.json"
    path.write_text(json.dumps({
        "images": [{"id": i, "file_name": f, "width": 64, "height": 48} for i, f in images],
        "annotations": annotations,
        "categories": [{"id": 1, "name": "person", "keypoints": list(COCO_17.names)}]}))
    return path


def test_crowd_rle_and_unlabelled_polygon_are_merged(tmp_path):
    crowd = np.zeros((48, 64), np.uint8)
    crowd[4:14, 40:60] = 1
    runs = mask_utils.encode(np.asfortranarray(crowd))
    uncompressed = {"size": [48, 64], "counts": _runs(crowd)}
    polygon = [[4, 30, 16, 30, 16, 44, 4, 44]]
    path = write_dataset(tmp_path, [
        person(1, 1),
        person(2, 1, iscrowd=1, segmentation=uncompressed, keypoints=[0] * 51),
        person(3, 1, keypoints=[0] * 51, segmentation=polygon),
        person(4, 1, keypoints=[0] * 51, segmentation={"size": [48, 64],
                                                        "counts": runs["counts"].decode()}),
    ])
    records = read_coco_images(path, tmp_path)
    assert records.num_persons.tolist() == [1]
    mask = decode(records.ignore_rles[0], (48, 64))
    polygon_mask = decode(mask_utils.merge(mask_utils.frPyObjects(polygon, 48, 64))["counts"],
                          (48, 64))
    np.testing.assert_array_equal(mask, crowd | polygon_mask)
    assert polygon_mask[32:42, 6:14].all()


def _runs(mask):
    """Uncompressed (list) RLE counts, the form COCO uses for crowd regions."""
    flat = mask.flatten(order="F")
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    runs = np.diff(bounds).tolist()
    return ([0] + runs) if flat[0] else runs


def test_non_person_annotations_and_missing_images_are_dropped(tmp_path, caplog):
    path = write_dataset(tmp_path, [person(1, 1), person(2, 1, category_id=2),
                                    person(3, 2), person(4, 3)],
                         images=((1, "a.png"), (2, "b.png"), (3, "c.png")))
    (tmp_path / "c.png").unlink()
    with caplog.at_level(logging.INFO, logger="tfpose"):
        records = read_coco_images(path, tmp_path)
    assert records.image_ids.tolist() == [1, 2] and records.num_persons.tolist() == [1, 1]
    assert not any(records.ignore_rles)  # another category is no person to ignore
    assert "c.png" in caplog.text and "1 images whose file is missing" in caplog.text
    assert "1 non-person annotations" in caplog.text


BAD_SEGMENTATIONS = {
    "a number": (5, "unreadable segmentation"),
    "polygon of text": ([["a", "b", "c", "d", "e", "f"]], "unreadable segmentation"),
    "RLE of another size": ({"size": [10, 10], "counts": [100]}, "RLE size [10, 10]"),
}


@pytest.mark.parametrize("segmentation, problem", BAD_SEGMENTATIONS.values(),
                         ids=BAD_SEGMENTATIONS.keys())
def test_bad_segmentation_raises_data_error(tmp_path, segmentation, problem):
    path = write_dataset(tmp_path, [person(1, 1), person(
        2, 1, iscrowd=1, keypoints=[0] * 51, segmentation=segmentation)])
    with pytest.raises(DataError, match=re.escape(problem)) as error:
        read_coco_images(path, tmp_path)
    assert error.value.path == str(path) and error.value.field == "annotations.segmentation"
    assert "annotation 2" in str(error.value)


def test_missing_file_and_bad_fields_raise_data_error(tmp_path):
    with pytest.raises(DataError, match="file not found") as error:
        read_coco_images(tmp_path / "nope.json", tmp_path)
    assert error.value.path == str(tmp_path / "nope.json")
    path = write_dataset(tmp_path, [person(1, 1, keypoints=[1, 2, 2] * 14)])
    with pytest.raises(DataError, match="42 keypoint values") as error:
        read_coco_images(path, tmp_path)
    assert error.value.field == "annotations.keypoints"


# ---- the records themselves ------------------------------------------------------------------
def make_records():
    persons = [np.full((2, 17, 3), 1.0), np.zeros((0, 17, 3)), np.full((1, 17, 3), 3.0)]
    return ImageRecords.from_lists(COCO_17, ["a", "b", "c"], [1, 2, 3],
                                   [(4, 5), (6, 7), (8, 9)], persons, [b"x", b"", b"yz"])


def test_select_and_columns():
    records = make_records()
    assert records.num_persons.tolist() == [2, 0, 1] and len(records) == 3
    picked = records.select([2, 0, 2])
    assert picked.image_ids.tolist() == [3, 1, 3] and picked.num_persons.tolist() == [1, 2, 1]
    assert picked.persons(1).tolist() == records.persons(0).tolist()
    assert list(picked.ignore_rles) == [b"yz", b"x", b"yz"]
    assert records.select(np.array([False, True, False])).num_persons.tolist() == [0]
    rows = list(tf.data.Dataset.from_tensor_slices(records.columns()))
    assert [tuple(r["keypoints"].shape) for r in rows] == [(2, 17, 3), (0, 17, 3), (1, 17, 3)]
    assert rows[2]["ignore_rle"].numpy() == b"yz"
    assert rows[1]["image_size"].numpy().tolist() == [6, 7]


def test_inconsistent_columns_are_refused():
    records = make_records()
    with pytest.raises(ValueError, match="ignore_rles has shape"):
        ImageRecords(records.keypoint_set, records.image_paths, records.image_ids,
                     records.image_sizes, records.person_splits, records.keypoints,
                     records.ignore_rles[:2])
