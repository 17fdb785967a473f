"""Bottom-up validation: run a model on whole validation images, group, and score.

:class:`BottomUpEvaluator` fits each whole validation image into the input (the validation
pipeline, :func:`tfpose.data.bottomup.bottomup_dataset` with ``train=False``), runs the model (and
its mirrored input for the flip test), groups with :meth:`tfpose.codecs.associative_embedding.
BottomUpCodec.decode` into persons in image pixels and scores them:

* ``AP`` and the other COCOeval statistics: pycocotools (COCO, synthetic) or xtcocotools with the
  CrowdPose settings (CrowdPose);
* ``PCK@0.5`` and ``PCK_box@0.05`` (:mod:`tfpose.evaluation.pck`, the top-down evaluator's
  definitions) after pairing, in every image, the ground-truth persons with the 20 best-scored
  predicted persons one-to-one (Hungarian algorithm on the mean distance of the labelled
  joints, :func:`tfpose.evaluation.bottomup_check.match_persons`). Joints of unpaired persons and
  joints a paired person lacks count as wrong, so PCK measures the recall of joints; precision
  (extra persons) shows in AP only.

The primary metric (the one that picks the best model) is ``PCK@0.5`` on synthetic figures and
``AP`` on COCO and CrowdPose. The model may be a Keras model or any callable ``images [B, H, W, 3]
float32 -> list of outputs`` (e.g. a ``.tflite`` interpreter wrapped to take batches), so a
converted model is scored by the same code.

Test-time protocol (:class:`tfpose.codecs.bottomup_protocol.BottomUpProtocol`): the
evaluator follows tfpose's by default (fixed input, batches through the validation pipeline,
stride-2 grouping: what training validates with); ``tfpose evaluate`` asks for the authors'
(:func:`~tfpose.codecs.bottomup_protocol.authors_protocol`), where each image gets inputs
of its own size, one image at a time as in their ``valid.py``: a Keras model is rebuilt to take
any input size (:func:`any_input_size`), a callable must take them, and a ``.tflite`` file keeps
its fixed input (:func:`protocol_runner`).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass, replace

import numpy as np
import tensorflow as tf
from pycocotools.coco import COCO
from tqdm import tqdm

from tfpose.codecs import geometry
from tfpose.codecs.associative_embedding import BottomUpCodec, coco_results
from tfpose.codecs.bottomup_protocol import BottomUpProtocol, tfpose_protocol
from tfpose.data import images as image_files
from tfpose.data.bottomup import bottomup_dataset
from tfpose.data.coco import load_coco
from tfpose.data.image_records import ImageRecords, read_coco_images
from tfpose.errors import DataError
from tfpose.evaluation.bottomup_check import match_persons
from tfpose.evaluation.coco import evaluate_keypoints, write_results
from tfpose.evaluation.crowdpose import evaluate_crowdpose
from tfpose.evaluation.pck import pck_box, pck_torso
from tfpose.keypoints import COCO_17, CROWDPOSE_14, KeypointSet
from tfpose.runtime.keras_files import load_keras_file
from tfpose.runtime.loading import LoadedModel, Runner, as_runner

log = logging.getLogger("tfpose")

# Keypoint set of each dataset scored here; synthetic figures use COCO's 17 joints.
DATASETS: dict[str, KeypointSet] = {"coco": COCO_17, "crowdpose": CROWDPOSE_14,
                                    "synthetic": COCO_17}
MAX_DETECTIONS = 20  # per image, as COCO's keypoint AP
# Persons drawn in predictions.png: mean peak over all K joints above this (an image's 30
# candidates include many near-empty ones; at 0.1 a drawn person has real evidence).
DRAW_MIN_SCORE = 0.1

@dataclass
class BottomUpPredictions:
    """The persons a model found in the validation images.

    Attributes:
      results: COCO results dicts (image pixels), the best-scored persons of every image first.
      image_ids: the images run (unreadable files are skipped).
      model_seconds, decode_seconds: time in the model (both passes) and in grouping (host).
      images: ``[M, H, W, 3]`` uint8, the first ``M`` model inputs (for drawing).
      input_poses: per kept image, ``[P, K, 3]`` (x, y, score) in its input pixels; joints
        never found have score 0.
      person_scores: per kept image, ``[P]`` person scores.
    """

    results: list[dict]
    image_ids: list[int]
    model_seconds: float
    decode_seconds: float
    images: np.ndarray
    input_poses: list[np.ndarray]
    person_scores: list[np.ndarray]

    def drawable(self) -> tuple[np.ndarray, list[np.ndarray]]:
        """The kept model inputs and, per input, its persons scored above
        :data:`DRAW_MIN_SCORE` (``[P, K, 3]``; joints with score 0 are not drawn)."""
        return self.images, [poses[scores > DRAW_MIN_SCORE] for poses, scores
                             in zip(self.input_poses, self.person_scores, strict=True)]


class BottomUpEvaluator:
    """Scores a bottom-up model on the images of a COCO-format keypoints file.

    Only the images actually run are scored (``max_images``, unreadable or missing files),
    including those without any person, where every detection is a false positive.

    Args:
      ann_file: COCO-format keypoints json (COCO, CrowdPose or synthetic figures).
      image_dir: folder of the images named by ``file_name``.
      codec: input size, strides and grouping settings (its ``grouping`` is the test config,
        unless ``protocol`` brings its own).
      dataset: ``"coco"``, ``"crowdpose"`` or ``"synthetic"`` (decides scorer and keypoints).
      flip_test: average with the mirrored input's outputs by default (LitePose's setting).
      batch_size: images per model call (fixed-fit protocols; aligned inputs go one by one).
      max_images: score only the first ``max_images`` images (sorted by id); None = all.
      progress: show a progress bar.
      protocol: the test-time protocol; None = tfpose's (module docstring).
    """

    def __init__(self, ann_file, image_dir, codec: BottomUpCodec, *, dataset: str = "coco",
                 flip_test: bool = True, batch_size: int = 8, max_images: int | None = None,
                 progress: bool = True, protocol: BottomUpProtocol | None = None):
        if dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {sorted(DATASETS)}, got {dataset!r}")
        if batch_size < 1 or (max_images is not None and max_images < 1):
            raise ValueError(f"batch_size and max_images must be >= 1, got {batch_size}, "
                             f"{max_images}")
        self.ann_file = ann_file
        self.codec = codec
        self.protocol = protocol or tfpose_protocol()
        self.dataset = dataset
        self.flip_test = flip_test
        self.batch_size = batch_size
        self.progress = progress
        self.keypoint_set = DATASETS[dataset]
        self.coco = load_coco(ann_file, self.keypoint_set)
        records = read_coco_images(ann_file, image_dir, self.keypoint_set, coco=self.coco,
                                   keep_images_without_persons=True)
        if max_images is not None:
            records = records.select(np.arange(min(max_images, len(records))))
        if len(records) == 0:
            raise DataError(ann_file, f"no image to evaluate (are the images in {image_dir}?)")
        self.records = records
        self._runner = (None, None)  # (model, its runner): one trace per model, not per call

    @property
    def primary(self) -> str:
        """Name of the metric that ranks models."""
        return "PCK@0.5" if self.dataset == "synthetic" else "AP"

    @property
    def num_persons(self) -> int:
        """Labelled persons in the evaluated images."""
        return int(self.records.num_persons.sum())

    @property
    def summary(self) -> dict:
        """What was evaluated, for ``metrics.json``."""
        return {"data": self.dataset, "flip_test": self.flip_test,
                "protocol": self.protocol.name, "num_val_images": len(self.records),
                "num_val_persons": self.num_persons}

    @property
    def description(self) -> str:
        return (f"{len(self.records)} {self.dataset} validation images, {self.num_persons} "
                "persons")

    @property
    def reported(self) -> tuple[str, ...]:
        """The metrics worth showing per epoch and in tables (AP only on real data: on the
        small synthetic inputs it says little)."""
        names = [self.primary, "PCK@0.5", "PCK_box@0.05"]
        if self.dataset != "synthetic":
            names.append("AP")
        return tuple(dict.fromkeys(names))

    def __call__(self, model, flip_test: bool | None = None) -> dict:
        """Predict with ``model`` and return :meth:`metrics`."""
        return self.metrics(self.predict(model, flip_test=flip_test))

    def predict(self, model, *, flip_test: bool | None = None,
                keep_images: int = 0) -> BottomUpPredictions:
        """The persons ``model`` finds in every validation image (see the class docstring);
        ``keep_images`` model inputs are kept for drawing (fixed-fit protocols only)."""
        flip_test = self.flip_test if flip_test is None else flip_test
        if self._runner[0] is not model:
            self._runner = (model, _runner(model, self.protocol))
        run = self._runner[1]
        found = BottomUpPredictions([], [], 0.0, 0.0, np.zeros((0, 1, 1, 3), np.uint8), [], [])
        if self.protocol.fit == "fixed":
            self._predict_batches(run, flip_test, keep_images, found)
        elif keep_images:
            raise ValueError("keep_images needs a protocol with a fixed input: aligned inputs "
                             "differ in size")
        else:
            self._predict_images(run, flip_test, found)
        if not found.image_ids:
            raise DataError(self.ann_file, "no validation image could be read (see the "
                            "warnings above)")
        return found

    def _predict_batches(self, run, flip_test: bool, keep_images: int,
                         found: BottomUpPredictions) -> None:
        """Fixed input: batches of the validation pipeline."""
        batches = bottomup_dataset(self.records, self.codec, batch_size=self.batch_size)
        kept = []
        for batch in tqdm(batches.as_numpy_iterator(),
                          total=math.ceil(len(self.records) / self.batch_size),
                          desc="bottom-up eval", unit="batch", leave=False,
                          disable=not self.progress):
            images = batch["image"]
            start = time.perf_counter()
            outputs = run(images)
            flipped = run(np.ascontiguousarray(images[:, :, ::-1])) if flip_test else None
            found.model_seconds += time.perf_counter() - start
            start = time.perf_counter()
            decoded = self.codec.decode(outputs, batch["image_size"],
                                        keypoint_set=self.keypoint_set, flipped_outputs=flipped,
                                        protocol=self.protocol)
            found.decode_seconds += time.perf_counter() - start
            found.results += coco_results(batch["image_id"], decoded)
            found.image_ids += [int(i) for i in batch["image_id"]]
            for i in range(min(len(images), keep_images - len(kept))):
                kept.append(images[i])
                found.input_poses.append(self._to_input(decoded[i][0], batch, i))
                found.person_scores.append(decoded[i][1])
        if kept:
            found.images = np.clip(np.stack(kept), 0, 255).astype(np.uint8)

    def _predict_images(self, run, flip_test: bool, found: BottomUpPredictions) -> None:
        """Aligned inputs: one image at a time, every test scale (and its mirror)."""
        for item in tqdm(_whole_images(self.records).as_numpy_iterator(),
                         total=len(self.records), desc="bottom-up eval", unit="image",
                         leave=False, disable=not self.progress):
            inputs = self.codec.inputs_for(item["image_size"], self.protocol)
            scaled = inputs.images(item["image"])
            start = time.perf_counter()
            runs = scale_outputs(run, scaled, flip_test)
            found.model_seconds += time.perf_counter() - start
            start = time.perf_counter()
            decoded = self.codec.decode_image(runs, inputs, keypoint_set=self.keypoint_set,
                                              protocol=self.protocol)
            found.decode_seconds += time.perf_counter() - start
            found.results += coco_results([item["image_id"]], [decoded])
            found.image_ids.append(int(item["image_id"]))

    def _to_input(self, poses: np.ndarray, batch: dict, i: int) -> np.ndarray:
        """``[P, K, 3]`` image-pixel poses of batch image ``i`` -> its input pixels."""
        matrix = geometry.affine_matrix(batch["center"][i], batch["size"][i], 0.0,
                                          self.codec.input_size, convention=self.codec.convention)
        points = geometry.apply_affine(matrix, poses[..., :2].reshape(-1, 2)).numpy()
        return np.concatenate([points.reshape(poses.shape[:-1] + (2,)), poses[..., 2:]], -1)

    def metrics(self, predictions: BottomUpPredictions) -> dict:
        """AP statistics, both PCKs, counts and timings of ``predictions``."""
        subset = _subset(self.coco, predictions.image_ids)
        if self.dataset == "crowdpose":
            stats = _evaluate_crowdpose_subset(subset, predictions.results)
        else:
            stats = evaluate_keypoints(subset, predictions.results, self.keypoint_set)
        predicted, truth, boxes, _ = matched_predictions(subset, predictions.results)
        torso = pck_torso(predicted, truth, self.keypoint_set)
        images = len(predictions.image_ids)
        return {**stats, "PCK@0.5": torso["PCK"],
                "PCK_box@0.05": pck_box(predicted, truth, boxes)["PCK"],
                "num_images": images, "num_persons": len(truth),
                "num_persons_torso": torso["num_persons"],
                "num_detections": len(predictions.results),
                "model_ms_per_image": round(1e3 * predictions.model_seconds / images, 2),
                "decode_ms_per_image": round(1e3 * predictions.decode_seconds / images, 2)}


def evaluate_bottomup(model, codec: BottomUpCodec, ann_file, image_dir, *,
                      dataset: str = "coco", flip_test: bool = True, batch_size: int = 8,
                      max_images: int | None = None, results_file=None,
                      progress: bool = True, protocol: BottomUpProtocol | None = None) -> dict:
    """COCO-style AP and PCKs of a bottom-up model on a COCO-format keypoints file, once.

    Arguments as :class:`BottomUpEvaluator`, plus ``model`` (a Keras model or a callable
    ``images [B, H, W, 3] float32 RGB in [0, 255] -> list of outputs``, one ``[B, H/s, W/s, C]``
    array per ``codec.strides``; a ``.tflite`` runner of batch 1 should loop over the batch) and
    ``results_file`` (where to write the results json, standard COCO format, or None).

    Returns:
      the dataset's AP statistics (``AP``, ``AP50``, ...; :data:`tfpose.evaluation.coco.
      COCO_STAT_NAMES` or :data:`tfpose.evaluation.crowdpose.CROWDPOSE_STAT_NAMES`),
      ``PCK@0.5``, ``PCK_box@0.05``, ``num_images``, ``num_persons`` (labelled ground truth),
      ``num_persons_torso``, ``num_detections``, ``flip_test``, ``model_ms_per_image`` (both
      passes) and ``decode_ms_per_image`` (grouping, host).
    """
    evaluator = BottomUpEvaluator(ann_file, image_dir, codec, dataset=dataset,
                                  flip_test=flip_test, batch_size=batch_size,
                                  max_images=max_images, progress=progress, protocol=protocol)
    predictions = evaluator.predict(model)
    if results_file is not None:
        write_results(predictions.results, results_file)
    return {**evaluator.metrics(predictions), "flip_test": flip_test}


def any_input_size(model: tf.keras.Model) -> tf.keras.Model:
    """A copy of functional ``model`` (same weights) whose input takes any height and width.

    Bottom-up models are fully convolutional, but a Keras functional model checks its input
    against the fixed shape it was built with; rebuilt from its config with ``None`` spatial
    dimensions it runs at every size its strides divide (LitePose: multiples of 16).
    """
    config = model.get_config()
    found = [layer for layer in config.get("layers", []) if layer["class_name"] == "InputLayer"]
    if len(found) != 1:
        raise ValueError(f"{model.name} is not a functional model with one input")
    shape = found[0]["config"]["batch_input_shape"]
    found[0]["config"]["batch_input_shape"] = (shape[0], None, None, *shape[3:])
    rebuilt = tf.autograph.experimental.do_not_convert(tf.keras.Model.from_config)(config)
    rebuilt.set_weights(model.get_weights())
    return rebuilt


def protocol_runner(model: LoadedModel,
                    protocol: BottomUpProtocol) -> tuple[Runner, BottomUpProtocol]:
    """A function running ``model`` on the inputs ``protocol`` makes, and the protocol it can
    follow.

    * ``.keras`` file: rebuilt to take any input size (:func:`any_input_size`; the file is
      loaded again), so aligned inputs and every test scale run as the protocol says;
    * ``.tflite`` file: it runs at its fixed input. LCE's interpreter, which runs every file
      here, has no ``resize_tensor_input``, and a converted file has its size baked in anyway
      (LitePose-XS at 256: TensorFlow's own interpreter resized to 256x384 fails at the first
      ADD, a transposed conv's output shape being a constant). The image is fitted whole into
      the input, as tfpose's protocol does, and everything else (flip, resizing via the finest
      output, grouping settings and grid) follows ``protocol``; the returned protocol says
      ``fit: "fixed"``, with a warning. Several test scales are a DataError;
    * a model in memory (no file): its ``run`` is taken to accept any size.
    """
    if protocol.fit == "fixed" or model.path is None:
        return model.run, protocol
    if model.format == "tflite":
        if len(protocol.scales) > 1:
            raise DataError(model.path, "test scales need inputs of other sizes, and LCE's "
                            "interpreter cannot resize a .tflite input: evaluate the .keras "
                            "model")
        log.warning("%s: a .tflite file runs at its fixed %s input: each image is fitted "
                    "whole into it, not resized to its own aligned size (the rest of the %s "
                    "protocol applies)", model.path, "x".join(map(str, model.info.input_size)),
                    protocol.name)
        return model.run, replace(protocol, fit="fixed")
    keras_model, _ = load_keras_file(model.path)
    return as_runner(any_input_size(keras_model)), protocol


def scale_outputs(run: Runner, inputs: list[np.ndarray], flip_test: bool) -> list[tuple]:
    """The model's outputs for each ``[H, W, 3]`` input of one image (:meth:`~tfpose.codecs.
    bottomup_protocol.ImageInputs.images`) and, with ``flip_test``, of its mirror: the
    ``runs`` of :meth:`~tfpose.codecs.associative_embedding.BottomUpCodec.decode_image`."""
    runs = []
    for image in inputs:
        batch = np.asarray(image, np.float32)[None]
        flipped = run(np.ascontiguousarray(batch[:, :, ::-1])) if flip_test else None
        runs.append((run(batch), flipped))
    return runs


def _runner(model, protocol: BottomUpProtocol) -> Runner:
    if isinstance(model, tf.keras.Model) and protocol.fit == "aligned":
        model = any_input_size(model)
    return as_runner(model)


def _whole_images(records: ImageRecords) -> tf.data.Dataset:
    """Every readable image of ``records`` whole, in order: ``{"image" [H, W, 3] uint8,
    "image_id", "image_size" (H, W)}``. Unreadable files and images whose size differs from
    their annotation are skipped with a warning, as the validation pipeline skips them."""
    rows = image_files.checked_image_rows(records, shuffle=False, repeat=False, seed=0,
                                          deterministic=True, rows="image")

    def decode(row, contents, ok, seed):
        image = image_files.decode_rgb(contents)
        image_size = tf.shape(image)[:2]
        size_ok = tf.reduce_all(image_size == row["image_size"])
        if not size_ok:  # annotations would not line up with the pixels
            tf.print("tfpose: skipping image whose size differs from its annotation",
                     row["image_path"], output_stream=sys.stderr)
        return {"image": image, "image_id": row["image_id"], "image_size": image_size,
                "size_ok": size_ok}

    found = rows.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    found = found.filter(lambda example: example["size_ok"]).ignore_errors()
    return found.prefetch(tf.data.AUTOTUNE)


def matched_predictions(coco: COCO, results: list[dict],
                        max_detections: int = MAX_DETECTIONS):
    """Predicted poses paired with the ground-truth persons (module docstring).

    Returns:
      ``(predicted [N, K, 2], truth [N, K, 3], boxes [N, 4], matched)`` over the ``N`` labelled,
      non-crowd ground-truth persons of ``coco``'s images; ``predicted`` is NaN where the
      person was not paired or the paired person lacks the joint; ``matched`` counts pairs.
    """
    by_image: dict[int, list[dict]] = {}
    for result in results:
        by_image.setdefault(int(result["image_id"]), []).append(result)
    predicted, truth, boxes, matched = [], [], [], 0
    for image_id in coco.imgs:
        anns = [a for a in coco.imgToAnns.get(image_id, []) if _is_labelled(a)]
        if not anns:
            continue
        people = _poses([a["keypoints"] for a in anns])
        best = sorted(by_image.get(image_id, []), key=lambda r: -r["score"])[:max_detections]
        guesses = _poses([r["keypoints"] for r in best], people.shape[1])
        paired = np.full(people.shape[:2] + (2,), np.nan)
        pairs, _ = match_persons(people, guesses)
        for row, col in pairs:
            found = guesses[col, :, 2:] > 0
            paired[row] = np.where(found, guesses[col, :, :2], np.nan)
        predicted.append(paired)
        truth.append(people)
        boxes += [a["bbox"] for a in anns]
        matched += len(pairs)
    if not truth:
        return np.zeros((0, 0, 2)), np.zeros((0, 0, 3)), np.zeros((0, 4)), 0
    return np.concatenate(predicted), np.concatenate(truth), np.asarray(boxes, float), matched


def pck_bbox(coco: COCO, results: list[dict], threshold: float = 0.05,
             max_detections: int = MAX_DETECTIONS) -> dict:
    """Box-normalised PCK of multi-person predictions (:func:`matched_predictions`, then
    :func:`tfpose.evaluation.pck.pck_box` at ``threshold``).

    Returns:
      ``{"PCK", "num_joints", "matched_persons", "num_persons"}``.
    """
    predicted, truth, boxes, matched = matched_predictions(coco, results, max_detections)
    pck = pck_box(predicted, truth, boxes, threshold)
    return {"PCK": pck["PCK"], "num_joints": pck["num_joints"], "matched_persons": matched,
            "num_persons": len(truth)}


def _subset(coco: COCO, image_ids) -> COCO:
    """A pycocotools index of only ``image_ids`` (their images and annotations)."""
    keep = set(image_ids)
    if keep == set(coco.imgs):
        return coco
    data = dict(coco.dataset)
    data["images"] = [image for image in coco.dataset["images"] if image["id"] in keep]
    data["annotations"] = [a for a in coco.dataset["annotations"] if a["image_id"] in keep]
    subset = COCO()
    subset.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        subset.createIndex()
    return subset


def _evaluate_crowdpose_subset(coco: COCO, results) -> dict[str, float]:
    # xtcocotools reads its own index from a file (crowdIndex and all).
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "ground_truth.json")
        with open(path, "w") as f:
            json.dump(coco.dataset, f)
        return evaluate_crowdpose(path, results)


def _is_labelled(annotation) -> bool:
    visibility = np.asarray(annotation.get("keypoints", []), np.float32)[2::3]
    return not annotation.get("iscrowd", 0) and bool((visibility > 0).any())


def _poses(flat_keypoints, num_keypoints: int | None = None) -> np.ndarray:
    """``[P, K, 3]`` from a list of flat ``[x, y, v] * K`` lists (``P`` may be 0)."""
    poses = np.array(flat_keypoints, np.float32)
    k = num_keypoints or poses.shape[-1] // 3
    return poses.reshape(len(flat_keypoints), k, 3)
