"""One predictor over every model file tfpose writes: ``.keras`` or ``.tflite``, top-down or
bottom-up, heatmaps or in-graph decoded keypoints.

:func:`load_model_file` gives a :class:`LoadedModel`: a function from a batch of model inputs
(``[B, H, W, 3]`` float32 RGB 0-255) to raw outputs, plus the model's
:class:`~tfpose.inference.model_info.ModelInfo`. ``.tflite`` files run in LCE's host interpreter
(:class:`tfpose.export.lce.LCEInterpreterRunner`: LCE's binary kernels with indirect BGEMM,
float ops under XNNPACK), which also runs stock TFLite files.

:class:`PosePredictor` turns an image (and, for top-down models, person boxes) into persons in
image pixels: crops through the library's affine, the model, the codec's decoder (or the
decoded output), the inverse affine; optionally with the flip test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tfpose.engine.bottomup_evaluation import as_runner
from tfpose.engine.checkpoints import load_keras_model
from tfpose.errors import DataError
from tfpose.export.flatbuffer import io_details, op_histogram, strided_past_kernel_same_convs
from tfpose.inference.images import crop_box, to_image
from tfpose.inference.model_info import (
    ModelInfo,
    guess_from_shapes,
    guess_info,
    read_keras_info,
    read_tflite_info,
)

BINARY_OPS = ("LceBconv2d",)


@dataclass
class LoadedModel:
    """A model file ready to run.

    Attributes:
      run: ``[B, H, W, 3]`` float32 inputs -> list of ``[B, ...]`` float32 outputs.
      info: how to decode the outputs.
      path: the file.
      format: ``"keras"`` or ``"tflite"``.
      binary: whether it has binary layers (LCE ops in a ``.tflite``).
      kernels: how it runs on this host, e.g. ``"Keras (TensorFlow)"``, ``"XNNPACK"``.
    """

    run: Callable[[np.ndarray], list]
    info: ModelInfo
    path: Path
    format: str
    binary: bool
    kernels: str


def load_model_file(path, *, threads: int = 1) -> LoadedModel:
    """Load a ``.keras`` or ``.tflite`` model (``threads``: interpreter threads, tflite only)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "model file not found")
    if path.suffix == ".tflite":
        return _load_tflite(path, threads)
    if path.suffix != ".keras":
        raise DataError(path, "expected a .keras model or a .tflite flatbuffer")
    info = read_keras_info(path)
    try:
        model = load_keras_model(path)
    except (ValueError, OSError, KeyError) as e:
        raise DataError(path, f"cannot load the model: {e}") from None
    from tfpose.export.lce import binary_layers

    return LoadedModel(as_runner(model), info or guess_info(model, path), path, "keras",
                       bool(binary_layers(model)), "Keras (TensorFlow, host)")


def _load_tflite(path: Path, threads: int) -> LoadedModel:
    from tfpose.export.lce import LCEInterpreterRunner, host_kernels

    flatbuffer = path.read_bytes()
    info = read_tflite_info(flatbuffer, path)
    try:
        details = io_details(flatbuffer)
        binary = any(op in op_histogram(flatbuffer) for op in BINARY_OPS)
    except Exception as e:  # flatbuffers raises plain errors on garbage
        raise DataError(path, f"not a readable .tflite flatbuffer ({type(e).__name__})") from None
    if info is None:
        shapes = [d["shape"][1:] for d in details["outputs"]]
        info = guess_from_shapes(details["inputs"][0]["shape"][1:3], shapes, path.stem, path)
    try:
        runner = LCEInterpreterRunner(flatbuffer, num_threads=threads)
    except (RuntimeError, ValueError) as e:
        raise DataError(path, f"the interpreter cannot load it: {e}") from None
    kernels = host_kernels(binary, xnnpack=not strided_past_kernel_same_convs(flatbuffer))

    def run(images):
        outputs = runner(images)
        return outputs if isinstance(outputs, list) else [outputs]

    return LoadedModel(run, info, path, "tflite", binary, f"{kernels}, {threads} thread(s)")


@dataclass
class Person:
    """One person: ``keypoints [K, 3]`` (x, y, score) in image pixels, its score and box."""

    keypoints: np.ndarray
    score: float
    box: tuple | None = None


class PosePredictor:
    """Persons in an RGB image from a :class:`LoadedModel` (module docstring).

    Args:
      model: the loaded model.
      flip_test: also run the mirrored input and average (not for decoded files).
      decoder: top-down heatmap decoder (``argmax``, ``quarter``, ``dark``; default the codec's).
      batch_size: crops per model call (top-down).
    """

    def __init__(self, model: LoadedModel, *, flip_test: bool = False,
                 decoder: str | None = None, batch_size: int = 16):
        if flip_test and model.info.decoded:
            raise DataError(model.path, "outputs decoded keypoints (converted --with-decoder): "
                            "the flip test needs heatmaps; run it without --flip-test")
        self.model = model
        self.info = model.info
        self.flip_test = flip_test
        self.decoder = decoder
        self.batch_size = batch_size

    @property
    def top_down(self) -> bool:
        return self.info.kind == "topdown"

    def __call__(self, image: np.ndarray, boxes=None, box_scores=None) -> list[Person]:
        """Persons in ``image`` (uint8 RGB). Top-down: one per box ``(x, y, w, h)`` (None: the
        whole image is one person); bottom-up: every person found (boxes are not used)."""
        if not self.top_down:
            return self._bottom_up(image)
        boxes = [None] if boxes is None or len(boxes) == 0 else list(boxes)
        scores = np.ones(len(boxes)) if box_scores is None else np.asarray(box_scores, float)
        codec = self.info.heatmap_codec()
        crops, matrices = zip(*(crop_box(image, codec.input_size, box, codec.padding)
                                for box in boxes), strict=True)
        points = self._keypoints(np.stack(crops))
        persons = []
        for keypoints, matrix, box, box_score in zip(points, matrices, boxes, scores,
                                                     strict=True):
            keypoints = to_image(keypoints, matrix)
            persons.append(Person(keypoints, float(keypoints[:, 2].mean() * box_score),
                                  None if box is None else tuple(float(v) for v in box)))
        return persons

    def _keypoints(self, crops: np.ndarray) -> np.ndarray:
        """``[N, K, 3]`` (x, y in input pixels, score) for a stack of crops."""
        outputs = np.concatenate([self.model.run(crops[i:i + self.batch_size])[0]
                                  for i in range(0, len(crops), self.batch_size)])
        if self.info.decoded:
            return outputs
        codec = self.info.heatmap_codec()
        if self.flip_test:
            mirrored = np.concatenate([self.model.run(crops[i:i + self.batch_size, :, ::-1])[0]
                                       for i in range(0, len(crops), self.batch_size)])
            outputs = codec.merge_flip(outputs, mirrored, self.info.keypoint_set.flip_index)
        points, scores = codec.decode(outputs, self.decoder)
        stride = np.array(codec.input_size[::-1], np.float32) / np.array(
            codec.heatmap_size[::-1], np.float32)
        return np.concatenate([(points + 0.5) * stride - 0.5, scores[..., None]], -1)

    def _bottom_up(self, image: np.ndarray) -> list[Person]:
        codec = self.info.bottomup_codec()
        crop, _ = crop_box(image, codec.input_size)
        outputs = self.model.run(crop[None])
        flipped = self.model.run(np.ascontiguousarray(crop[None, :, ::-1])) \
            if self.flip_test else None
        (keypoints, scores), = codec.decode(outputs, [image.shape[:2]],
                                            keypoint_set=self.info.keypoint_set,
                                            flipped_outputs=flipped)
        return [Person(k, float(s)) for k, s in zip(keypoints, scores, strict=True)]
