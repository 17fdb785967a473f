"""Person boxes found in the image: an SSD-style detector .tflite (a real TFLite detection
post-process op) and a bottom-up model's people, in Python and through `tfpose predict`.

The detector here is built and converted in the test: a 4x4 grid of anchors, one per cell of its
64x64 input, every box exactly its anchor; class 0 scores a cell's brightness, class 1 its
darkness. A white rectangle on one cell is thus one "person" there, and the other cells are
class 1."""

import json
import zipfile

import cv2
import numpy as np
import pytest
import tensorflow as tf

import tfpose
from tfpose.cli import main
from tfpose.codecs.associative_embedding import BottomUpCodec
from tfpose.codecs.model_info import bottomup_info
from tfpose.errors import DataError
from tfpose.evaluation.bottomup_check import ideal_outputs, to_input
from tfpose.inference.person_boxes import (
    DETECTION_OP,
    PoseModelBoxes,
    SSDPersonDetector,
    load_person_boxes,
)
from tfpose.inference.predictor import PosePredictor
from tfpose.keypoints import COCO_17
from tfpose.runtime.flatbuffer import io_details, op_outputs
from tfpose.runtime.keras_files import save_model_atomically
from tfpose.runtime.loading import LoadedModel

from .blobs import blob_model

GRID = 4


def detector_flatbuffer(num_classes: int = 2) -> bytes:
    options = {"max_detections": GRID * GRID, "max_classes_per_detection": 1,
               "use_regular_nms": "false", "nms_score_threshold": 0.0,
               "nms_iou_threshold": 0.6, "y_scale": 10.0, "x_scale": 10.0, "h_scale": 5.0,
               "w_scale": 5.0, "num_classes": num_classes}
    kinds = {bool: "b", int: "i", float: "f", str: "b"}
    signature = " ".join([f'name: "{DETECTION_OP}"'] + [
        f'attr {{ key: "{k}" value {{ {kinds[type(v)]}: {v} }} }}' for k, v in options.items()])
    centres = (np.arange(GRID) + 0.5) / GRID
    y, x = np.meshgrid(centres, centres, indexing="ij")
    anchors = np.stack([y.ravel(), x.ravel(), np.full(GRID * GRID, 1 / GRID),
                        np.full(GRID * GRID, 1 / GRID)], -1).astype(np.float32)

    class Detector(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 64, 64, 3], tf.float32)])
        def __call__(self, images):  # images in [-1, 1]
            cells = tf.nn.avg_pool2d(tf.reduce_mean(images, -1, keepdims=True), 64 // GRID,
                                     64 // GRID, "VALID")
            bright = tf.reshape(tf.sigmoid(5.0 * cells), [1, GRID * GRID, 1])
            others = [0.5 * (1.0 - bright)] * (num_classes - 1)
            scores = tf.concat([tf.zeros_like(bright), bright, *others], -1)  # background first
            return self.post_process(tf.zeros([1, GRID * GRID, 4]), scores, anchors)

        @tf.function(experimental_implements=signature)
        def post_process(self, boxes, scores, anchors):  # the converter puts the op in its place
            return tuple(tf.constant(0.0, name=n) for n in ("boxes", "classes", "scores", "n"))

    detector = Detector()
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [detector.__call__.get_concrete_function()], detector)
    converter.allow_custom_ops = True
    return converter.convert()


@pytest.fixture(scope="module")
def detector_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("detector") / "ssd.tflite"
    path.write_bytes(detector_flatbuffer())
    return path


def with_labels(path, tmp_path, labels: list[str]):
    """A copy of ``path`` with a labels file in its metadata archive, as TFLite's metadata
    writers append it."""
    copy = tmp_path / f"labelled_{len(labels)}.tflite"
    copy.write_bytes(path.read_bytes())
    with zipfile.ZipFile(copy, "a") as archive:
        archive.writestr("labelmap.txt", "\n".join(labels) + "\n")
    return copy


def one_white_cell(size=(96, 128), cell=(1, 2)) -> tuple[np.ndarray, np.ndarray]:
    """An image black but one grid cell (row, column) white, and that cell's box."""
    height, width = size
    image = np.zeros((height, width, 3), np.uint8)
    ch, cw = height / GRID, width / GRID
    y0, x0 = int(cell[0] * ch), int(cell[1] * cw)
    image[y0:int(y0 + ch), x0:int(x0 + cw)] = 255
    return image, np.array([x0, y0, cw, ch])


def test_the_detection_op_outputs_are_found_by_the_op_not_the_file_order(detector_file):
    flatbuffer = detector_file.read_bytes()
    outputs = op_outputs(flatbuffer, DETECTION_OP)  # boxes, classes, scores, count
    file_outputs = [d["index"] for d in tf.lite.Interpreter(
        model_content=flatbuffer).get_output_details()]
    assert len(outputs) == 4 and sorted(file_outputs) == sorted(outputs)
    # the converter lists the file's outputs in an order of its own: reading them in file order
    # would take the scores for the classes; the test is only meaningful if the orders differ
    assert file_outputs != outputs
    assert len(io_details(flatbuffer)["outputs"]) == 4


def test_the_detector_finds_the_person_where_it_is(detector_file):
    image, cell_box = one_white_cell()
    boxes, scores = SSDPersonDetector(detector_file)(image)
    assert len(boxes) == 1 and scores[0] > 0.9
    np.testing.assert_allclose(boxes[0], cell_box, atol=0.5)  # fractions back to pixels


def test_the_person_class_comes_from_the_labels_or_the_caller(detector_file, tmp_path):
    image, _ = one_white_cell()
    # class 1 (the dark cells) is "person" by the labels: 15 of the 16 cells
    labelled = with_labels(detector_file, tmp_path, ["light", "person"])
    boxes, _ = SSDPersonDetector(labelled, threshold=0.3)(image)
    assert len(boxes) == GRID * GRID - 1
    assert SSDPersonDetector(detector_file, person_class=1, threshold=0.3).person_class == 1
    with pytest.raises(DataError, match="labels have no 'person' class"):
        SSDPersonDetector(with_labels(detector_file, tmp_path, ["cat", "dog"]))
    assert SSDPersonDetector(with_labels(detector_file, tmp_path, ["cat", "dog"]),
                             person_class=0).person_class == 0
    with pytest.raises(DataError, match="person class 5 is not one of its 2 classes"):
        SSDPersonDetector(detector_file, person_class=5)


def test_other_files_get_one_line_errors(detector_file, tmp_path, blob_files):
    plain = tmp_path / "plain.tflite"
    converter = tf.lite.TFLiteConverter.from_keras_model(blob_model())
    plain.write_bytes(converter.convert())
    garbage = tmp_path / "garbage.tflite"
    garbage.write_bytes(b"not a flatbuffer at all" * 10)
    cases = {plain: "neither a tfpose pose model nor an SSD-style detector",
             garbage: "not a readable .tflite flatbuffer", tmp_path / "missing.tflite":
             "not found", blob_files[0]: "a top-down model cannot find people"}
    for path, problem in cases.items():
        with pytest.raises(DataError, match=problem) as error:
            load_person_boxes(path)
        assert str(path) in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(DataError, match="no SSD-style detector"):
        load_person_boxes(blob_files[0], person_class=0)


def two_people_outputs(codec: BottomUpCodec, image_size):
    rng = np.random.default_rng(1)
    height, width = image_size
    truth = np.zeros((2, 17, 3), np.float32)
    for i in range(2):
        truth[i, :, 0] = rng.uniform(0.1, 0.4, 17) * width + i * width / 2
        truth[i, :, 1] = rng.uniform(0.2, 0.8, 17) * height
    truth[..., 2] = 2
    return truth, ideal_outputs(codec, to_input(truth, image_size, codec.input_size))


def test_a_bottom_up_model_gives_a_box_around_each_person():
    codec, image_size = BottomUpCodec(input_size=(128, 128)), (150, 220)
    truth, outputs = two_people_outputs(codec, image_size)
    model = LoadedModel(lambda crops: outputs, bottomup_info(codec, COCO_17), None, "keras",
                        False, "oracle")
    boxes, scores = PoseModelBoxes(PosePredictor(model))(np.zeros((*image_size, 3), np.uint8))
    assert len(boxes) == 2 and (scores > 0.5).all()
    for person in truth:
        inside = [((person[:, 0] >= x) & (person[:, 0] <= x + w) & (person[:, 1] >= y)
                   & (person[:, 1] <= y + h)).mean() for x, y, w, h in boxes]
        assert max(inside) == 1.0  # one box holds all of this person's keypoints
    assert PoseModelBoxes(PosePredictor(model), threshold=2.0)(
        np.zeros((*image_size, 3), np.uint8))[0].shape == (0, 4)


def constant_bottom_up(codec: BottomUpCodec, outputs) -> tf.keras.Model:
    """A real Keras bottom-up model whose outputs are ``outputs`` whatever the image."""
    images = tf.keras.Input((*codec.input_size, 3))
    nothing = tf.keras.layers.GlobalAveragePooling2D()(images)
    heads = []
    for output in outputs:
        dense = tf.keras.layers.Dense(output[0].size, kernel_initializer="zeros")
        heads.append(tf.keras.layers.Reshape(output.shape[1:])(dense(nothing)))
        dense.set_weights([np.zeros((3, output[0].size), np.float32), output[0].ravel()])
    return tf.keras.Model(images, heads)


def test_tfpose_predict_takes_boxes_from_a_detector_or_a_bottom_up_model(
        detector_file, blob_files, tmp_path):
    image, cell_box = one_white_cell()
    folder = tmp_path / "images"
    folder.mkdir()
    cv2.imwrite(str(folder / "frame.png"), image)
    out = tmp_path / "ssd"
    assert main(["predict", "--model", str(blob_files[0]), str(folder), "--out", str(out),
                 "--boxes-from", str(detector_file)]) == 0
    (person,) = json.loads((out / "results.json").read_text())
    assert person["score"] > 0  # one person, cropped at the white cell

    codec = BottomUpCodec(input_size=(128, 128))
    _, outputs = two_people_outputs(codec, image.shape[:2])
    bottom_up = save_model_atomically(constant_bottom_up(codec, outputs), tmp_path / "bu.keras",
                                      bottomup_info(codec, COCO_17, "constant"))
    out = tmp_path / "bottom_up"
    assert main(["predict", "--model", str(blob_files[0]), str(folder), "--out", str(out),
                 "--boxes-from", str(bottom_up)]) == 0
    assert len(json.loads((out / "results.json").read_text())) == 2
    boxes, _ = tfpose.load_person_boxes(bottom_up)(image)
    people = tfpose.load_model(blob_files[0]).predict(image, boxes)
    assert [p.box for p in people] == [tuple(b) for b in boxes]


def test_wrong_combinations_are_refused(detector_file, blob_files, tmp_path, capsys):
    image, _ = one_white_cell()
    cv2.imwrite(str(tmp_path / "frame.png"), image)
    boxes = tmp_path / "dets.json"
    boxes.write_text("[]")
    assert main(["predict", "--model", str(blob_files[0]), str(tmp_path / "frame.png"),
                 "--out", str(tmp_path / "o"), "--boxes-from", str(detector_file),
                 "--boxes", str(boxes)]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["predict", "--model", str(blob_files[0]), str(tmp_path / "frame.png"),
                 "--out", str(tmp_path / "o"), "--person-class", "1"]) == 2
    assert "--person-class is for" in capsys.readouterr().err
