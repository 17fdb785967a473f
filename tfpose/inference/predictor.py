"""One predictor over every model file tfpose writes: ``.keras`` or ``.tflite``, top-down or
bottom-up, heatmaps or in-graph decoded keypoints.

A file is loaded by :func:`tfpose.runtime.loading.load_model_file` (a
:class:`~tfpose.runtime.loading.LoadedModel`: a function from a batch of model inputs to raw
outputs, plus the model's :class:`~tfpose.codecs.model_info.ModelInfo`).

:class:`PosePredictor` turns an image (and, for top-down models, person boxes) into persons in
image pixels: crops through the library's affine, the model, the codec's decoder (or the
decoded output), the inverse affine; optionally with the flip test. Bottom-up models follow a
test-time protocol (:class:`tfpose.codecs.bottomup_protocol.BottomUpProtocol`): tfpose's
fast one by default, the authors' (as ``tfpose evaluate``) on request.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from tfpose.codecs.bottomup_protocol import named_protocol
from tfpose.errors import DataError
from tfpose.evaluation.bottomup import protocol_runner, scale_outputs
from tfpose.inference.images import read_rgb, to_image, topdown_crop
from tfpose.runtime.loading import LoadedModel


@dataclass
class Person:
    """One person: ``keypoints [K, 3]`` (x, y, score) in image pixels, its score and its box
    ``(x, y, w, h)``: the box it was cropped from (top-down; the whole image when no box was
    given), or the box around its keypoints (bottom-up)."""

    keypoints: np.ndarray
    score: float
    box: tuple | None = None


class PosePredictor:
    """Persons in an RGB image from a :class:`LoadedModel` (module docstring).

    Args:
      model: the loaded model.
      flip_test: also run the mirrored input and average (not for decoded files); None = off,
        except under the authors' protocol, which has it.
      decoder: top-down heatmap decoder (``argmax``, ``quarter``, ``dark``; default the codec's).
      batch_size: crops per model call (top-down).
      protocol: bottom-up models (top-down ones ignore it): ``"tfpose"`` (default: the whole
        image fitted into the model's fixed input, grouping on the stride-2 grid with the
        model's settings; fast) or ``"authors"`` (LitePose's test protocol, what ``tfpose
        evaluate`` follows: short side to the input size, long side to a multiple of 64, the
        outputs resized to the input resolution and grouped there with their settings; a
        ``.keras`` file is loaded a second time, rebuilt to take any input size, and a
        ``.tflite`` keeps its fixed input: :func:`tfpose.evaluation.bottomup.protocol_runner`).
      scales: test scales of the authors' protocol (e.g. ``(0.5, 1, 2)``); default 1 only.
    """

    def __init__(self, model: LoadedModel, *, flip_test: bool | None = None,
                 decoder: str | None = None, batch_size: int = 16, protocol: str = "tfpose",
                 scales=None):
        if flip_test and model.info.decoded:
            raise DataError(model.path, "outputs decoded keypoints (converted --with-decoder): "
                            "the flip test needs heatmaps; run it without --flip-test")
        self.model = model
        self.info = model.info
        self.protocol = None
        if model.info.kind == "bottomup":
            self.protocol = named_protocol(protocol, model.info.keypoint_set, scales)
        authors = self.protocol is not None and self.protocol.name == "authors"
        self.flip_test = authors if flip_test is None else flip_test
        self.decoder = decoder
        self.batch_size = batch_size
        self._runner = None  # (run, protocol followed) of a bottom-up model, made once

    @property
    def top_down(self) -> bool:
        return self.info.kind == "topdown"

    def predict(self, image, boxes=None, box_scores=None) -> list[Person]:
        """Persons in ``image``: an RGB uint8 array or the path of an image file (a missing or
        unreadable file is a DataError naming it); ``boxes`` and ``box_scores`` as in
        :meth:`__call__`."""
        if isinstance(image, str | os.PathLike):
            image = read_rgb(image)
        return self(np.asarray(image), boxes, box_scores)

    def __call__(self, image: np.ndarray, boxes=None, box_scores=None) -> list[Person]:
        """Persons in ``image`` (uint8 RGB). Top-down: one per box ``(x, y, w, h)`` (None: the
        whole image is one person); bottom-up: every person found (boxes are not used)."""
        if not self.top_down:
            return self._bottom_up(image)
        boxes = [None] if boxes is None or len(boxes) == 0 else list(boxes)
        scores = np.ones(len(boxes)) if box_scores is None else np.asarray(box_scores, float)
        codec = self.info.heatmap_codec()
        crops, matrices = zip(*(topdown_crop(image, codec, box) for box in boxes), strict=True)
        points = self._keypoints(np.stack(crops))
        persons = []
        for keypoints, matrix, box, box_score in zip(points, matrices, boxes, scores,
                                                     strict=True):
            keypoints = to_image(keypoints, matrix)
            box = (0.0, 0.0, float(image.shape[1]), float(image.shape[0])) if box is None else box
            persons.append(Person(keypoints, float(keypoints[:, 2].mean() * box_score),
                                  tuple(float(v) for v in box)))
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
        return np.concatenate([codec.heatmap_to_input(points), scores[..., None]], -1)

    def _bottom_up(self, image: np.ndarray) -> list[Person]:
        if self._runner is None:
            self._runner = protocol_runner(self.model, self.protocol)
        run, protocol = self._runner
        codec = self.info.bottomup_codec()
        inputs = codec.inputs_for(image.shape[:2], protocol)
        runs = scale_outputs(run, inputs.images(image), self.flip_test)
        keypoints, scores = codec.decode_image(runs, inputs, keypoint_set=self.info.keypoint_set,
                                               protocol=protocol)
        return [Person(k, float(s), _keypoint_box(k))
                for k, s in zip(keypoints, scores, strict=True)]


def _keypoint_box(keypoints: np.ndarray) -> tuple[float, float, float, float]:
    """``(x, y, w, h)`` around a bottom-up person's keypoints with a positive score (all of them
    when none has one)."""
    found = keypoints[keypoints[:, 2] > 0] if (keypoints[:, 2] > 0).any() else keypoints
    low, high = found[:, :2].min(axis=0), found[:, :2].max(axis=0)
    return (float(low[0]), float(low[1]), float(high[0] - low[0]), float(high[1] - low[1]))
