"""An imported SimpleBaseline predicts, through ``tfpose predict`` and ``tfpose evaluate``, the
image keypoints its authors' test path predicts (issue 20).

The checkpoint is saved by the reference network (torchvision's ResNet-50 + the authors' deconv
head, ``tests/weights/references.py``) in the authors' layout and imported with ``tfpose
import-weights``, which gives it the ``"msra"`` convention. The authors' path (crop, flip test
with ``SHIFT_HEATMAP``, argmax + quarter step, inverse affine) is
``tests/weights/authors_pipeline.py``. Both run on the COCO sample's photos, flip test on, with
person boxes centred on the detector's at whole pixels and sized so the crop keeps the image's
scale: OpenCV's fixed-point bilinear (theirs) and TensorFlow's (ours) then read the same pixel
values, and the conventions are the only difference left. Through arbitrary boxes the two
samplers differ by up to ~4 grey levels at sharp edges, which moves the peaks of an untrained
network's flat heatmaps for about 5-13% of keypoints (README, "Coordinate conventions").
"""

import json

import numpy as np
import pytest

from tests.conftest import SHARED_DATA
from tests.engine.sample_layouts import coco_layout
from tests.weights import authors_pipeline
from tests.weights import references as ref
from tfpose.cli import main
from tfpose.codecs.model_info import attach_to_keras, read_keras_info
from tfpose.data.coco import load_coco, read_detections
from tfpose.data.layouts import locate_dataset
from tfpose.evaluation.topdown import TopDownEvaluator
from tfpose.inference.images import read_rgb
from tfpose.keypoints import COCO_17
from tfpose.runtime.loading import load_model_file

INPUT_SIZE = (128, 96)
torch = ref.torch


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """(imported .keras, whole-pixel detections json, the authors' keypoints by image id)."""
    coco_sample = SHARED_DATA / "coco_sample"
    if not coco_sample.exists():
        pytest.skip(f"real dataset sample {coco_sample} is absent")
    folder = tmp_path_factory.mktemp("authors")
    torch.manual_seed(0)
    net = ref.calibrate(ref.SimpleBaseline(50), INPUT_SIZE)
    torch.save(net.pose_state_dict(), folder / "pose_resnet_50.pth")
    model = folder / "imported.keras"
    assert main(["import-weights", str(folder / "pose_resnet_50.pth"), "--model",
                 "simplebaseline_r50", "--input-size", "128x96", "--out", str(model)]) == 0
    detections = []
    for det in json.loads((coco_sample / "test_coco_det_AP_H_56.json").read_text()):
        if det["score"] >= 0.9:
            detections.append({**det, "bbox": authors_pipeline.whole_pixel_box(det["bbox"],
                                                                               INPUT_SIZE)})
    boxes = folder / "dets.json"
    boxes.write_text(json.dumps(detections))

    def network(crops):
        return ref.run(net, ref.torch_input(crops, "bgr"))[0]

    theirs = {}
    for image in json.loads((coco_sample / "test_coco.json").read_text())["images"]:
        found = [d["bbox"] for d in detections if d["image_id"] == image["id"]]
        if found:
            theirs[image["id"]] = authors_pipeline.predict(
                network, read_rgb(coco_sample / image["file_name"]), found, INPUT_SIZE,
                COCO_17.flip_pairs)[0]
    return model, boxes, theirs


def predicted(model, boxes, coco_sample, out) -> dict:
    """``tfpose predict`` with the boxes, flip test on: keypoints ``[N, K, 2]`` by image id."""
    assert main(["predict", "--model", str(model), str(coco_sample), "--boxes", str(boxes),
                 "--ann", str(coco_sample / "test_coco.json"), "--flip-test",
                 "--out", str(out)]) == 0
    found = {}
    for result in json.loads((out / "results.json").read_text()):
        found.setdefault(result["image_id"], []).append(
            np.reshape(result["keypoints"], (-1, 3))[:, :2])
    return {image_id: np.stack(points) for image_id, points in found.items()}


def distances(ours: dict, theirs: dict) -> np.ndarray:
    assert ours.keys() == theirs.keys()
    return np.concatenate([np.linalg.norm(ours[i] - theirs[i], axis=-1).ravel() for i in theirs])


def test_predict_gives_the_authors_keypoints(imported, coco_sample, tmp_path):
    model, boxes, theirs = imported
    info = read_keras_info(model)
    assert (info.codec["convention"], info.codec["decoder"]) == ("msra", "quarter")
    error = distances(predicted(model, boxes, coco_sample, tmp_path / "msra"), theirs)
    assert error.size == 14 * 17
    assert (error <= 1.0).mean() >= 0.9 and np.median(error) < 0.01, np.sort(error)[-10:]
    # The control: the same weights under tfpose's own convention land elsewhere.
    other = tmp_path / "tfpose.keras"
    other.write_bytes(model.read_bytes())
    attach_to_keras(other, info.replace(codec={**info.codec, "convention": "tfpose"}))
    error = distances(predicted(other, boxes, coco_sample, tmp_path / "tfpose"), theirs)
    assert (error <= 1.0).mean() < 0.5


def test_evaluate_follows_the_authors_protocol(imported, coco_sample, tmp_path, capsys):
    model, boxes, theirs = imported
    files = locate_dataset("coco", coco_layout(tmp_path / "coco", coco_sample.parent),
                           splits=("validation",))
    records = read_detections(boxes, load_coco(files.val_ann, COCO_17), files.val_images,
                              COCO_17)
    loaded = load_model_file(model)
    evaluator = TopDownEvaluator(files, records, loaded.info.heatmap_codec(), detections=True)
    predictions = evaluator.predict(lambda images: loaded.run(images)[0])
    ours = {}
    for image_id, points in zip(predictions.image_ids, predictions.keypoints, strict=True):
        ours.setdefault(int(image_id), []).append(points)
    error = distances({i: np.stack(p) for i, p in ours.items()}, theirs)
    assert (error <= 1.0).mean() >= 0.9 and np.median(error) < 0.01
    capsys.readouterr()
    assert main(["evaluate", "--model", str(model), "--dataset", "coco", "--data-root",
                 str(tmp_path / "coco"), "--boxes", str(boxes), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["metric"] == "AP" and 0.0 <= metrics["AP"] <= 1.0 and metrics["flip_test"]
