"""The public API, used as a user would: `import tfpose` then three lines, in a fresh process
outside the repository (so the installed package is what runs)."""

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

import tfpose
from tfpose.codecs.model_info import read_keras_info, read_tflite_info, zoo_info
from tfpose.errors import DataError
from tfpose.runtime.keras_files import save_model_atomically

SMALL_HRNET = {"width": 8, "modules": (1, 1, 1), "branch_blocks": 1, "stage1_blocks": 1}

THREE_LINES = """
import json, sys
import tfpose
predictor = tfpose.load_model(sys.argv[1])
people = predictor.predict(sys.argv[2], boxes=json.loads(sys.argv[3]))
print(json.dumps([{"score": p.score, "box": p.box, "keypoints": p.keypoints.tolist()}
                  for p in people]))
"""


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """A small top-down HRNet saved with its information, and an image."""
    folder = tmp_path_factory.mktemp("api")
    model = tfpose.create_model("hrnet_w32", input_size=(64, 64), num_keypoints=17,
                                **SMALL_HRNET)
    path = save_model_atomically(model, folder / "hrnet.keras", zoo_info(model, "hrnet_w32"))
    image = np.random.default_rng(0).integers(0, 255, (120, 160, 3), np.uint8)
    cv2.imwrite(str(folder / "photo.jpg"), image)
    return path, folder / "photo.jpg"


def run_three_lines(model, image, boxes, tmp_path) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", THREE_LINES, str(model), str(image),
                           json.dumps(boxes)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_names_of_the_api():
    assert set(tfpose.__all__) >= {"load_model", "create_model", "convert", "list_models"}
    assert "litepose_xs" in tfpose.list_models() and "bihrnet_w32" in tfpose.list_models()
    with pytest.raises(AttributeError, match="no attribute 'load'"):
        tfpose.load  # noqa: B018


def test_three_lines_predict_people_from_a_keras_file(saved_model, tmp_path):
    path, image = saved_model
    people = run_three_lines(path, image, [[10, 20, 40, 60], [80, 10, 50, 90]], tmp_path)
    assert [p["box"] for p in people] == [[10, 20, 40, 60], [80, 10, 50, 90]]
    for person in people:
        keypoints = np.array(person["keypoints"])
        assert keypoints.shape == (17, 3)
        x, y, w, h = person["box"]
        # keypoints are decoded into the person's crop (its box grown by the codec's padding)
        assert (keypoints[:, 0] > x - w).all() and (keypoints[:, 0] < x + 2 * w).all()
        assert (keypoints[:, 1] > y - h).all() and (keypoints[:, 1] < y + 2 * h).all()
    # the same as the predictor in this process
    here = tfpose.load_model(path).predict(cv2.cvtColor(cv2.imread(str(image)),
                                                        cv2.COLOR_BGR2RGB),
                                           boxes=[[10, 20, 40, 60]])
    np.testing.assert_allclose(here[0].keypoints, people[0]["keypoints"], atol=1e-4)


def test_no_box_means_the_whole_image(saved_model):
    path, image = saved_model
    people = tfpose.load_model(path).predict(image)
    assert len(people) == 1 and people[0].box == (0.0, 0.0, 160.0, 120.0)


def test_convert_then_predict_from_the_tflite_file(saved_model, tmp_path):
    path, image = saved_model
    out = tmp_path / "hrnet.tflite"
    report = tfpose.convert(str(path), out)
    assert out.is_file() and not report["parity"]["failures"]
    assert read_tflite_info(out.read_bytes()) == read_keras_info(path)
    boxes = [[10, 20, 40, 60]]
    from_tflite = tfpose.load_model(out).predict(image, boxes=boxes)
    from_keras = tfpose.load_model(path).predict(image, boxes=boxes)
    np.testing.assert_allclose(from_tflite[0].keypoints, from_keras[0].keypoints, atol=0.05)


def test_bottom_up_people_have_boxes_around_their_keypoints(tmp_path):
    model = tfpose.create_model("litepose_xs", input_size=(128, 128),
                                stage_blocks=(1, 1, 1, 1))
    path = save_model_atomically(model, tmp_path / "lite.keras", zoo_info(model, "litepose_xs"))
    image = np.random.default_rng(1).integers(0, 255, (96, 128, 3), np.uint8)
    for person in tfpose.load_model(path).predict(image):
        found = person.keypoints[person.keypoints[:, 2] > 0] \
            if (person.keypoints[:, 2] > 0).any() else person.keypoints
        x, y, w, h = person.box
        assert found[:, 0].min() == pytest.approx(x) and found[:, 0].max() == pytest.approx(x + w)
        assert found[:, 1].min() == pytest.approx(y) and found[:, 1].max() == pytest.approx(y + h)


def test_bad_input_names_the_file(saved_model, tmp_path):
    path, _ = saved_model
    with pytest.raises(DataError, match="missing.keras.*model file not found"):
        tfpose.load_model(tmp_path / "missing.keras")
    with pytest.raises(DataError, match="missing.jpg.*image not found"):
        tfpose.load_model(path).predict(tmp_path / "missing.jpg")
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    with pytest.raises(DataError, match="broken.jpg.*not a readable image"):
        tfpose.load_model(path).predict(str(tmp_path / "broken.jpg"))
    with pytest.raises(ValueError, match="unknown model 'hrnet_x99'"):
        tfpose.create_model("hrnet_x99")
