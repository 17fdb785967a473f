"""Person boxes for a top-down model, found in the image itself instead of read from a file.

Two sources, both callables ``image -> (boxes [N, 4] (x, y, w, h) in image pixels, scores [N])``
(:func:`load_person_boxes` opens either from a file):

* :class:`PoseModelBoxes`: a bottom-up pose model (LitePose). Each person it groups gives the box
  around its confident keypoints, grown by ``grow`` (as a tracked person's next crop,
  :func:`tfpose.inference.tracking.box_around`); the top-down model then refines every person in
  its own crop. Multi-person top-down with our models only.
* :class:`SSDPersonDetector`: an object detector ``.tflite`` that ends in TFLite's detection
  post-process op (``TFLite_Detection_PostProcess``), as TensorFlow's object detection tools
  export SSD models. The op's four outputs are, in its order: boxes ``[1, N, 4]`` (ymin, xmin,
  ymax, xmax as fractions of the input), classes ``[1, N]`` (0-based ids, background excluded),
  scores ``[1, N]`` and the count of valid detections ``[1]``. They are found through the op
  itself, not the file's output order, which converters shuffle. The whole image is resized
  (stretched) to the detector input, as SSD models are trained; ``uint8`` inputs take the pixels
  as they are, ``float32`` inputs are mapped to ``input_range`` (``(-1, 1)``: SSD MobileNet's
  convention). The person class is the line ``person`` of the labels file embedded in the
  model's metadata when there is one (TFLite Model Maker writes ``labelmap.txt``), else
  ``person_class`` (default 0: person in the COCO label maps of TensorFlow's detection models).
"""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import cv2
import numpy as np
import tensorflow as tf
from flatbuffers import flexbuffers

from tfpose.codecs.model_info import read_tflite_info
from tfpose.errors import DataError
from tfpose.inference.predictor import PosePredictor
from tfpose.inference.tracking import box_around
from tfpose.runtime.flatbuffer import io_details, op_outputs, operators
from tfpose.runtime.loading import load_model_file

log = logging.getLogger("tfpose")

DETECTION_OP = "TFLite_Detection_PostProcess"
DETECTOR_THRESHOLD = 0.5  # an SSD detection's class score
POSE_MODEL_THRESHOLD = 0.1  # a bottom-up person's score (its mean keypoint score)
COCO_PERSON_CLASS = 0


class PoseModelBoxes:
    """Boxes around the people of a bottom-up pose model (module docstring).

    Args:
      predictor: a bottom-up model (:func:`tfpose.load_model`).
      threshold: people scored below it give no box.
      grow: the box around the confident keypoints, grown about its centre.
    """

    def __init__(self, predictor: PosePredictor, *, threshold: float = POSE_MODEL_THRESHOLD,
                 grow: float = 1.25):
        if predictor.top_down:
            raise DataError(predictor.model.path, "a top-down model cannot find people: person "
                            "boxes come from a bottom-up model (LitePose) or an SSD-style "
                            "detector")
        self.predictor = predictor
        self.threshold = threshold
        self.grow = grow

    def __call__(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        boxes, scores = [], []
        for person in self.predictor(image):
            box = box_around(person.keypoints, self.grow, image.shape[:2])
            if person.score >= self.threshold and box is not None:
                boxes.append(box)
                scores.append(person.score)
        return np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(scores, np.float64)


class SSDPersonDetector:
    """People from an SSD-style detector ``.tflite`` (module docstring).

    Args:
      path: the ``.tflite`` file.
      person_class: the person's class id; None: from the file's labels, else 0.
      threshold: detections scored below it are dropped.
      threads: interpreter threads.
      input_range: the values a ``float32`` input maps pixels 0 and 255 to.
    """

    def __init__(self, path, *, person_class: int | None = None,
                 threshold: float = DETECTOR_THRESHOLD, threads: int = 1,
                 input_range: tuple[float, float] = (-1.0, 1.0)):
        self.path = Path(path)
        flatbuffer = _read(self.path)
        options = _detection_options(self.path, flatbuffer)
        self.person_class = _person_class(self.path, person_class, options.get("num_classes"))
        self.threshold = threshold
        self.input_range = input_range
        try:
            self._interpreter = tf.lite.Interpreter(model_content=flatbuffer, num_threads=threads)
            self._interpreter.allocate_tensors()
        except (RuntimeError, ValueError) as e:
            raise DataError(self.path, f"the interpreter cannot load it: {e}") from None
        detail = self._interpreter.get_input_details()[0]
        shape = [int(v) for v in detail["shape"]]
        if len(shape) != 4 or shape[0] != 1 or shape[3] != 3 or \
                detail["dtype"] not in (np.uint8, np.float32):
            raise DataError(self.path, f"input {shape} {np.dtype(detail['dtype']).name}: expected "
                            "one [1, H, W, 3] uint8 or float32 image")
        self._input_index, self.input_size = detail["index"], (shape[1], shape[2])
        self._float_input = detail["dtype"] == np.float32
        self._outputs = op_outputs(flatbuffer, DETECTION_OP)

    def __call__(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        height, width = image.shape[:2]
        resized = cv2.resize(image, self.input_size[::-1], interpolation=cv2.INTER_LINEAR)
        if self._float_input:
            low, high = self.input_range
            resized = (resized.astype(np.float32) * ((high - low) / 255.0) + low)
        self._interpreter.set_tensor(self._input_index, resized[None])
        self._interpreter.invoke()
        boxes, classes, scores, count = (self._interpreter.get_tensor(i) for i in self._outputs)
        n = int(np.asarray(count).reshape(-1)[0])
        boxes, classes, scores = boxes.reshape(-1, 4)[:n], classes.reshape(-1)[:n], \
            scores.reshape(-1)[:n]
        keep = (np.rint(classes) == self.person_class) & (scores >= self.threshold)
        y0, x0, y1, x1 = (np.clip(boxes[keep], 0.0, 1.0) * [height, width, height, width]).T
        found = np.stack([x0, y0, x1 - x0, y1 - y0], axis=-1).astype(np.float64)
        real = (found[:, 2] > 0) & (found[:, 3] > 0)
        return found[real], scores[keep][real].astype(np.float64)


def is_detector_file(path) -> bool:
    """Whether ``path`` is a ``.tflite`` with TFLite's detection post-process op."""
    path = Path(path)
    return path.suffix == ".tflite" and op_outputs(_read(path), DETECTION_OP) is not None


def load_person_boxes(path, *, threshold: float | None = None, person_class: int | None = None,
                      threads: int = 1, flip_test: bool = False):
    """The person-box source in ``path``: an SSD-style detector ``.tflite`` or a bottom-up pose
    model (``.keras`` or ``.tflite``); ``threshold`` defaults to the source's own
    (:data:`DETECTOR_THRESHOLD`, :data:`POSE_MODEL_THRESHOLD`)."""
    path = Path(path)
    if is_detector_file(path):
        return SSDPersonDetector(path, person_class=person_class, threads=threads,
                                 threshold=DETECTOR_THRESHOLD if threshold is None else threshold)
    if person_class is not None:
        raise DataError(path, "a person class is for detectors; this is no SSD-style detector "
                        f"(no {DETECTION_OP} op)")
    if path.suffix == ".tflite" and read_tflite_info(_read(path), path) is None:
        outputs = [d["shape"] for d in io_details(_read(path))["outputs"]]
        raise DataError(path, f"neither a tfpose pose model nor an SSD-style detector (no "
                        f"{DETECTION_OP} op; outputs {outputs})")
    predictor = PosePredictor(load_model_file(path, threads=threads), flip_test=flip_test)
    return PoseModelBoxes(predictor,
                          threshold=POSE_MODEL_THRESHOLD if threshold is None else threshold)


def _read(path: Path) -> bytes:
    if not path.is_file():
        raise DataError(path, "person box model not found")
    flatbuffer = path.read_bytes()
    if path.suffix != ".tflite":
        return flatbuffer
    if flatbuffer[4:8] != b"TFL3":  # the file identifier every TFLite converter writes
        raise DataError(path, "not a readable .tflite flatbuffer (no TFL3 file identifier)")
    try:
        op_outputs(flatbuffer, DETECTION_OP)
    except Exception as e:  # flatbuffers raises plain errors on garbage
        raise DataError(path, f"not a readable .tflite flatbuffer ({type(e).__name__})") \
            from None
    return flatbuffer


def _detection_options(path: Path, flatbuffer: bytes) -> dict:
    """The post-process op's settings (``num_classes``, ``max_detections``...), after checking
    that its four outputs are the file's outputs."""
    outputs = op_outputs(flatbuffer, DETECTION_OP)
    if outputs is None:
        raise DataError(path, f"not an SSD-style detector: it has no {DETECTION_OP} op")
    graph_outputs = {d["name"] for d in io_details(flatbuffer)["outputs"]}
    for _, graph, op, name in operators(flatbuffer):
        if name != DETECTION_OP:
            continue
        names = {graph.Tensors(i).Name().decode() for i in outputs}
        if len(outputs) != 4 or not names <= graph_outputs:
            raise DataError(path, f"its {DETECTION_OP} op has {len(outputs)} outputs, not the "
                            "file's 4 outputs (boxes, classes, scores, count)")
        raw = op.CustomOptionsAsNumpy()
        try:
            return dict(flexbuffers.Loads(bytes(raw))) if op.CustomOptionsLength() else {}
        except Exception:  # options are only used to check the person class
            log.warning("%s: could not read the %s options", path, DETECTION_OP)
            return {}
    return {}


def _labels(path: Path) -> list[str] | None:
    """The labels file of the model's metadata (a zip archive appended to the flatbuffer)."""
    if not zipfile.is_zipfile(path):
        return None
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.lower().endswith(".txt")
                 and "label" in n.lower()]
        if not names:
            return None
        text = archive.read(names[0]).decode("utf-8", errors="replace")
    return [line.strip() for line in text.splitlines()]


def _person_class(path: Path, person_class: int | None, num_classes: int | None) -> int:
    labels = _labels(path)
    if person_class is None:
        if labels is None:
            person_class = COCO_PERSON_CLASS
        elif "person" in [label.lower() for label in labels]:
            person_class = [label.lower() for label in labels].index("person")
        else:
            raise DataError(path, "its labels have no 'person' class; give the person's class "
                            "id (--person-class)")
    if person_class < 0 or (num_classes is not None and person_class >= num_classes):
        raise DataError(path, f"person class {person_class} is not one of its {num_classes} "
                        "classes (0-based)")
    return person_class
