"""Tests of the CrowdPose reader (tfpose.data.crowdpose): the COCO reader with 14 keypoints."""

import json

import numpy as np
import pytest

from tfpose.data.coco import load_coco, read_coco_persons
from tfpose.data.crowdpose import load_crowdpose, read_crowdpose_persons
from tfpose.errors import DataError
from tfpose.keypoints import COCO_17, CROWDPOSE_14


def test_crowdpose_sample(crowdpose_sample):
    ann_file = crowdpose_sample / "test_crowdpose.json"
    data = json.loads(ann_file.read_text())
    records = read_crowdpose_persons(ann_file, str(crowdpose_sample))
    assert records.keypoint_set is CROWDPOSE_14
    assert len(records) == 4  # 5 annotations, one (id 131039) without keypoints
    assert records.keypoints.shape == (4, 14, 3) and records.boxes.shape == (4, 4)
    np.testing.assert_array_equal(records.image_ids, [103319, 103319, 106848, 106848])
    kept = {103319: [127068, 129014], 106848: [123803, 147481]}
    anns = {a["id"]: a for a in data["annotations"]}
    expected = np.array([anns[i]["keypoints"] for ids in kept.values() for i in ids],
                        np.float32).reshape(4, 14, 3)
    np.testing.assert_array_equal(records.keypoints, expected)
    np.testing.assert_allclose(records.boxes[2], [106.01, 13.43, 273.15, 352.42], atol=1e-3)
    assert all(p.endswith(("103319.jpg", "106848.jpg")) for p in records.image_paths)
    assert len(load_crowdpose(ann_file).getAnnIds()) == 5


def test_wrong_keypoint_set_is_named(crowdpose_sample, coco_sample):
    ann_file = crowdpose_sample / "test_crowdpose.json"
    for call in (lambda: load_coco(ann_file, COCO_17),
                 lambda: read_coco_persons(ann_file, str(crowdpose_sample))):
        with pytest.raises(DataError, match="14 keypoints, expected 17") as error:
            call()
        assert error.value.path == str(ann_file) and error.value.field == "categories.keypoints"
    with pytest.raises(DataError, match="17 keypoints, expected 14 \\(crowdpose\\)"):
        read_crowdpose_persons(coco_sample / "test_coco.json", str(coco_sample))
