"""Bottom-up (LitePose) training and evaluation: the loss-owning training model and the
COCO / CrowdPose / synthetic evaluation loop (Wang et al., "Lite Pose", CVPR 2022; the loss and
test procedure are HigherHRNet's, Cheng et al., CVPR 2020).

Training: :class:`BottomUpTrainer` wraps a model with outputs ``[[B, H/4, W/4, K + K D],
[B, H/2, W/2, K], ...]`` (:func:`tfpose.models.litepose.litepose`) and fits the batches of
:func:`tfpose.data.bottomup.bottomup_dataset`. Per image::

    loss = sum_s  w_s * mean_{pixels, joints}( mask_s * (heatmap_s - target_s)^2 )
           + pull_weight * pull + push_weight * push

The heatmap term is a plain mean over all ``h * w * K`` positions, masked ones counting as 0
(HigherHRNet's / LitePose's ``HeatmapLoss``: not re-normalised by the mask's area), with
``w_s = 1`` at every stride by default (LitePose's ``HEATMAPS_LOSS_FACTOR``). The tag term is the
associative-embedding loss (:class:`tfpose.losses.associative_embedding.AssociativeEmbeddingLoss`,
"exp" push, weights 1e-3) on the first output's tag maps only (LitePose's ``WITH_AE_LOSS:
[True, False]``). The batch loss is the mean over the global batch.

Evaluation: :func:`evaluate_bottomup` fits each whole validation image into the input (the
validation pipeline), runs the model (and its mirrored input for the flip test), groups with
:meth:`tfpose.codecs.associative_embedding.BottomUpCodec.decode_to_results` and scores the
persons with pycocotools (COCO, synthetic) or xtcocotools (CrowdPose). The model may be a Keras
model or any callable ``images [B, H, W, 3] float32 -> list of outputs`` (e.g. a ``.tflite``
interpreter wrapped to take batches), so a converted model is scored by the same code.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import os
import tempfile
import time
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf
from pycocotools.coco import COCO
from tqdm import tqdm

from tfpose.codecs.associative_embedding import BottomUpCodec
from tfpose.data.bottomup import bottomup_dataset
from tfpose.data.coco import load_coco
from tfpose.data.image_records import read_coco_images
from tfpose.evaluation.bottomup_check import match_persons
from tfpose.evaluation.coco import evaluate_keypoints, write_results
from tfpose.evaluation.crowdpose import evaluate_crowdpose
from tfpose.keypoints import COCO_17, CROWDPOSE_14, KeypointSet
from tfpose.losses.associative_embedding import AssociativeEmbeddingLoss

log = logging.getLogger("tfpose")

# Keypoint set of each dataset evaluate_bottomup scores; synthetic figures use COCO's 17 joints.
DATASETS: dict[str, KeypointSet] = {"coco": COCO_17, "crowdpose": CROWDPOSE_14,
                                    "synthetic": COCO_17}
PCK_THRESHOLD = 0.05  # x the longer side of the person's box (see pck_bbox)
MAX_DETECTIONS = 20  # per image, as COCO's keypoint AP


class BottomUpTrainer(tf.keras.Model):
    """Trains a bottom-up model (LitePose) with heatmap MSE at every stride + the AE tag loss.

    ``fit`` / ``evaluate`` take the dict batches of :func:`tfpose.data.bottomup.bottomup_dataset`
    (``image``, ``heatmaps_s{s}``, ``masks_s{s}`` for every output stride ``s``, ``joints``;
    other keys are ignored). Calling the trainer and ``predict`` give the wrapped model's
    outputs (the input may be images or a batch dict).

    Logged metrics (each a mean over the examples seen): ``loss`` (the weighted total, what is
    minimised), ``heatmap_s{s}`` per stride, ``pull`` and ``push`` (unweighted, per-image terms
    as in :mod:`tfpose.losses.associative_embedding`).

    Under ``tf.distribute`` build the model and the trainer and call ``compile`` inside
    ``strategy.scope()``: each replica's loss is its share of the mean over the *global* batch
    (:func:`tf.nn.compute_average_loss`), so summed gradients equal single-device ones.

    Saving: the trainer is a training wrapper. Save or convert ``trainer.model``; checkpoint a
    run with ``trainer.save_weights(...)``. ``trainer.save`` raises.

    Args:
      model: a built Keras model ``[B, H, W, 3] -> [[B, H/s0, W/s0, K (1 + D)], [B, H/s1, W/s1,
        K], ...]`` with static shapes: K heatmaps then ``K * D`` tag maps at the first stride,
        K heatmaps at the others. Strides, ``K`` and ``D`` are read from its shapes.
    """

    def __init__(self, model: tf.keras.Model, name: str = "bottomup_trainer", **kwargs):
        super().__init__(name=name, **kwargs)
        self.strides, self.num_keypoints, self.tag_dim = bottomup_layout(model)
        self.model = model
        self.heatmap_weights = (1.0,) * len(self.strides)
        self.tag_loss = AssociativeEmbeddingLoss(tag_dim=self.tag_dim)
        self._trackers = []

    def compile(self, optimizer="adam", *, heatmap_weights: Sequence[float] | None = None,
                pull_weight: float = 1e-3, push_weight: float = 1e-3, push: str = "exp",
                **kwargs):
        """Set the optimizer and the loss weights (see the module docstring).

        Args:
          optimizer: any Keras optimizer or its name (LitePose: Adam, learning rate 4e-3).
          heatmap_weights: ``w_s``, one per output stride (default 1 for all).
          pull_weight, push_weight: weights of the tag loss terms (1e-3 in LitePose).
          push: ``"exp"`` (LitePose, HigherHRNet) or ``"max"``.
          kwargs: other ``tf.keras.Model.compile`` arguments (``run_eagerly``,
            ``steps_per_execution``, ``jit_compile``); not ``loss`` or ``metrics``.
        """
        replaced = sorted({"loss", "metrics", "loss_weights", "weighted_metrics"} & kwargs.keys())
        if replaced:
            raise ValueError(f"BottomUpTrainer.compile does not take {replaced}: the loss is "
                             "fixed; pass heatmap_weights=, pull_weight=, push_weight=, push=")
        weights = (1.0,) * len(self.strides) if heatmap_weights is None else heatmap_weights
        weights = tuple(float(w) for w in weights)
        if len(weights) != len(self.strides) or min(weights) < 0:
            raise ValueError(f"heatmap_weights needs one weight >= 0 per output stride "
                             f"{self.strides}, got {heatmap_weights}")
        super().compile(optimizer=optimizer, **kwargs)
        self.heatmap_weights = weights
        self.tag_loss = AssociativeEmbeddingLoss(pull_weight, push_weight, push,
                                                 tag_dim=self.tag_dim)
        with self.distribute_strategy.scope():
            self._trackers = [tf.keras.metrics.Mean(name) for name in self.metric_names]

    @property
    def metric_names(self) -> list[str]:
        return ["loss", *(f"heatmap_s{s}" for s in self.strides), "pull", "push"]

    @property
    def metrics(self):
        # Listed here so that Keras resets them at each epoch and logs them.
        return list(self._trackers)

    # Keras AutoGraph-converts every layer's call inside a traced step; nothing here has
    # data-dependent Python control flow, so skipping the conversion only saves tracing time.
    @tf.autograph.experimental.do_not_convert
    def call(self, inputs, training=None):
        """The wrapped model's outputs; ``inputs`` are images or a batch dict with ``image``."""
        if isinstance(inputs, dict):
            inputs = inputs["image"]
        return self.model(inputs, training=training)

    def loss_terms(self, batch: dict, outputs) -> dict[str, tf.Tensor]:
        """Per-image loss terms, each ``[B]`` float32, keyed as the metrics.

        Args:
          batch: a bottom-up batch dict (``heatmaps_s{s}`` ``[B, H/s, W/s, K]``, ``masks_s{s}``
            ``[B, H/s, W/s, 1]``, ``joints`` ``[B, M, K, 2]``).
          outputs: the model's outputs for ``batch["image"]``, one tensor per stride.
        Returns:
          ``{"loss": weighted total, "heatmap_s{s}": masked MSE, "pull", "push"}``, unweighted
          terms except ``loss``.
        """
        _check_batch(batch, self.strides)
        outputs = [tf.cast(o, tf.float32) for o in tf.nest.flatten(outputs)]
        if len(outputs) != len(self.strides):
            raise ValueError(f"expected {len(self.strides)} outputs (strides {self.strides}), "
                             f"got {len(outputs)}")
        k = self.num_keypoints
        terms, total = {}, 0.0
        for stride, output, weight in zip(self.strides, outputs, self.heatmap_weights,
                                          strict=True):
            target = tf.cast(batch[f"heatmaps_s{stride}"], tf.float32)
            if target.shape[-1] not in (None, k):
                raise ValueError(f"the batch has {target.shape[-1]} keypoints, the model "
                                 f"predicts {k}: use the model's keypoint set")
            mask = tf.cast(batch[f"masks_s{stride}"], tf.float32)
            squared = mask * tf.square(output[..., :k] - target)
            terms[f"heatmap_s{stride}"] = tf.reduce_mean(squared, axis=[1, 2, 3])
            total += weight * terms[f"heatmap_s{stride}"]
        pull, push = self.tag_loss.pull_push(batch["joints"], outputs[0][..., k:])
        terms["pull"], terms["push"] = pull, push
        total += self.tag_loss.pull_weight * pull + self.tag_loss.push_weight * push
        return {"loss": total, **terms}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None):
        """This replica's loss for the batch dict ``x`` and outputs ``y_pred``; updates metrics.

        Returns the sum of this replica's per-image totals divided by the global batch size,
        plus the model's regularisation losses divided by the number of replicas.
        """
        if not self._trackers:
            raise RuntimeError("compile the BottomUpTrainer before training or evaluating it")
        terms = self.loss_terms(x, y_pred)
        loss = tf.nn.compute_average_loss(terms["loss"])
        if self.model.losses:
            regularization = tf.add_n(self.model.losses)
            loss += tf.nn.scale_regularization_loss(regularization)
            terms["loss"] += regularization
        for tracker in self._trackers:
            tracker.update_state(terms[tracker.name])
        return loss

    @tf.autograph.experimental.do_not_convert
    def train_step(self, data):
        batch = _as_batch(data)
        with tf.GradientTape() as tape:
            outputs = self.model(batch["image"], training=True)
            loss = self.compute_loss(batch, y_pred=outputs)
        self.optimizer.minimize(loss, self.model.trainable_variables, tape=tape)
        return {metric.name: metric.result() for metric in self.metrics}

    @tf.autograph.experimental.do_not_convert
    def test_step(self, data):
        batch = _as_batch(data)
        self.compute_loss(batch, y_pred=self.model(batch["image"], training=False))
        return {metric.name: metric.result() for metric in self.metrics}

    @tf.autograph.experimental.do_not_convert
    def predict_step(self, data):
        return super().predict_step(data)

    def get_config(self):
        raise NotImplementedError("a BottomUpTrainer is not serialisable: save trainer.model")

    def save(self, *args, **kwargs):
        raise NotImplementedError(
            "a BottomUpTrainer is a training wrapper: save the deployable model with "
            "trainer.model.save(path), or checkpoint training with trainer.save_weights()")


def bottomup_layout(model: tf.keras.Model) -> tuple[tuple[int, ...], int, int]:
    """``(strides, K, D)`` of a bottom-up model from its static input and output shapes."""
    inputs, outputs = getattr(model, "inputs", None), getattr(model, "outputs", None)
    if not inputs or not outputs:
        raise ValueError(f"{model.name} is not a built functional model: BottomUpTrainer reads "
                         "strides and channels from its static input and output shapes")
    height, width = inputs[0].shape[1:3]
    strides = []
    for output in outputs:
        out_h, out_w = output.shape[1:3]
        if None in (height, width, out_h, out_w) or height % out_h or width % out_w \
                or height // out_h != width // out_w:
            raise ValueError(f"{model.name}: output {tuple(output.shape)} is not a fixed "
                             f"fraction of the input {tuple(inputs[0].shape)}")
        strides.append(height // out_h)
    channels = [int(o.shape[-1]) for o in outputs]
    k = channels[1] if len(channels) > 1 else channels[0] // 2
    if k < 1 or channels[0] <= k or channels[0] % k or any(c != k for c in channels[1:]):
        raise ValueError(f"{model.name}: outputs have {channels} channels; expected K heatmaps + "
                         f"K * D tags first, then K heatmaps per further output")
    return tuple(strides), k, channels[0] // k - 1


def _as_batch(data) -> dict:
    if not isinstance(data, dict):
        raise ValueError("BottomUpTrainer takes the dict batches of tfpose.data.bottomup."
                         f"bottomup_dataset, got {type(data).__name__}")
    return data


def _check_batch(batch, strides) -> None:
    needed = ["joints", *(f"{kind}_s{s}" for s in strides for kind in ("heatmaps", "masks"))]
    missing = [key for key in needed if key not in batch]
    if missing:
        raise ValueError(f"the batch lacks {missing} (model strides {strides}); got keys "
                         f"{sorted(batch)}: build it with a BottomUpCodec of the same strides")


# ---- evaluation ------------------------------------------------------------------------------
Runner = Callable[[np.ndarray], list]


def as_runner(model) -> Runner:
    """A function ``images [B, H, W, 3] float32 -> [outputs as numpy, one per stride]``.

    A Keras model runs in inference mode inside one traced function; any other callable (e.g. a
    wrapped ``.tflite`` interpreter) is called as it is and its outputs converted to numpy.
    """
    if isinstance(model, tf.keras.Model):
        # autograph=False: nothing to convert, and converting every layer is slow to trace.
        forward = tf.function(lambda images: model(images, training=False), autograph=False,
                              reduce_retracing=True)

        def run(images):
            return [o.numpy() for o in tf.nest.flatten(forward(tf.constant(images)))]
        return run
    if not callable(model):
        raise TypeError(f"model must be a Keras model or a callable images -> outputs, got "
                        f"{type(model).__name__}")
    return lambda images: [np.asarray(o, np.float32) for o in tf.nest.flatten(model(images))]


def evaluate_bottomup(model, codec: BottomUpCodec, ann_file, image_dir, *,
                      dataset: str = "coco", flip_test: bool = True, batch_size: int = 8,
                      max_images: int | None = None, results_file=None,
                      progress: bool = True) -> dict:
    """COCO-style AP of a bottom-up model on the images of a COCO-format keypoints file.

    Every image is fitted whole into ``codec.input_size`` (aspect kept, padded; the validation
    pipeline :func:`tfpose.data.bottomup.bottomup_dataset` with ``train=False``), run through the
    model (and, with ``flip_test``, mirrored and run again), grouped by
    :meth:`BottomUpCodec.decode_to_results` into persons in image pixels and scored. Only the
    images actually run are scored (``max_images``, unreadable or missing files), including
    those without any person, where every detection is a false positive.

    Args:
      model: a Keras model or a callable ``images [B, H, W, 3] float32 RGB in [0, 255] -> list
        of outputs``, one ``[B, H/s, W/s, C]`` array per ``codec.strides`` (see
        :func:`as_runner`); a ``.tflite`` runner of batch 1 should loop over the batch.
      codec: input size, strides and grouping settings (its ``grouping`` is the test config).
      ann_file: COCO-format keypoints json (COCO, CrowdPose or synthetic figures).
      image_dir: folder of the images named by ``file_name``.
      dataset: ``"coco"`` (pycocotools), ``"crowdpose"`` (xtcocotools with the CrowdPose
        settings) or ``"synthetic"`` (pycocotools, plus ``PCK``: :func:`pck_bbox`).
      flip_test: average with the mirrored input's outputs (LitePose's test setting).
      batch_size: images per model call.
      max_images: score only the first ``max_images`` images (sorted by id); None = all.
      results_file: where to write the results json (standard COCO results format), or None.
      progress: show a progress bar.
    Returns:
      the dataset's AP statistics (``AP``, ``AP50``, ...; :data:`tfpose.evaluation.coco.
      COCO_STAT_NAMES` or :data:`tfpose.evaluation.crowdpose.CROWDPOSE_STAT_NAMES`), ``PCK``
      for synthetic data, and ``num_images``, ``num_persons`` (labelled ground truth),
      ``num_detections``, ``flip_test``, ``model_ms_per_image`` (both passes) and
      ``decode_ms_per_image`` (grouping, host).
    """
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {sorted(DATASETS)}, got {dataset!r}")
    if batch_size < 1 or (max_images is not None and max_images < 1):
        raise ValueError(f"batch_size and max_images must be >= 1, got {batch_size}, "
                         f"{max_images}")
    run = as_runner(model)
    keypoint_set = DATASETS[dataset]
    coco = load_coco(ann_file, keypoint_set)
    records = read_coco_images(ann_file, image_dir, keypoint_set, coco=coco,
                               keep_images_without_persons=True)
    if max_images is not None:
        records = records.select(np.arange(min(max_images, len(records))))
    if len(records) == 0:
        raise ValueError(f"{ann_file}: no image to evaluate (are the images in {image_dir}?)")
    results, image_ids, timing = _predict(run, records, codec, keypoint_set,
                                          flip_test, batch_size, progress)
    if results_file is not None:
        write_results(results, results_file)
    subset = _subset(coco, image_ids)
    if dataset == "crowdpose":
        stats = _evaluate_crowdpose_subset(subset, results)
    else:
        stats = evaluate_keypoints(subset, results, keypoint_set)
    if dataset == "synthetic":
        stats["PCK"] = pck_bbox(subset, results)["PCK"]
    labelled = [a for a in subset.dataset["annotations"] if _is_labelled(a)]
    return {**stats, "num_images": len(image_ids), "num_persons": len(labelled),
            "num_detections": len(results), "flip_test": flip_test,
            "model_ms_per_image": round(1e3 * timing[0] / len(image_ids), 2),
            "decode_ms_per_image": round(1e3 * timing[1] / len(image_ids), 2)}


def _predict(run: Runner, records, codec: BottomUpCodec, keypoint_set, flip_test, batch_size,
             progress):
    """Results dicts, the image ids run, and (model seconds, decode seconds)."""
    batches = bottomup_dataset(records, codec, batch_size=batch_size, train=False)
    results, image_ids, model_seconds, decode_seconds = [], [], 0.0, 0.0
    for batch in tqdm(batches.as_numpy_iterator(), total=math.ceil(len(records) / batch_size),
                      desc="bottom-up eval", unit="batch", disable=not progress):
        images = batch["image"]
        start = time.perf_counter()
        outputs = run(images)
        flipped = run(np.ascontiguousarray(images[:, :, ::-1])) if flip_test else None
        model_seconds += time.perf_counter() - start
        start = time.perf_counter()
        results += codec.decode_to_results(outputs, batch["image_size"], batch["image_id"],
                                           keypoint_set=keypoint_set, flipped_outputs=flipped)
        decode_seconds += time.perf_counter() - start
        image_ids += [int(i) for i in batch["image_id"]]
    if not image_ids:
        raise ValueError("no image could be read for evaluation (see the warnings above)")
    return results, image_ids, (model_seconds, decode_seconds)


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


def pck_bbox(coco: COCO, results: list[dict], threshold: float = PCK_THRESHOLD,
             max_detections: int = MAX_DETECTIONS) -> dict[str, float]:
    """Percentage of correct keypoints of multi-person predictions, box-normalised.

    Definition: in every image, the ground-truth persons with labelled keypoints (not crowds)
    are paired one-to-one with the ``max_detections`` best-scored predicted persons by the
    Hungarian algorithm on the mean distance of their labelled joints
    (:func:`tfpose.evaluation.bottomup_check.match_persons`). A labelled joint is correct when
    its paired person predicts it (score > 0) within ``threshold * max(box width, box height)``
    of the truth. Joints of unpaired persons count as wrong. PCK = correct / labelled joints.

    Why 0.05 of the box: the synthetic figures' head radius is 5.5-7% of their height, so MPII's
    head size (0.6 x head-box diagonal) is about 0.1 x height, and 0.05 x height is about
    PCKh@0.5. It is also mmpose's default box-normalised PCK threshold. PCK measures recall of
    joints; precision (extra persons) shows in AP only.

    Args:
      coco: the ground truth (a pycocotools index; boxes ``bbox`` must be present).
      results: COCO results dicts (``image_id``, ``keypoints``, ``score``).
    Returns:
      ``{"PCK", "num_joints", "matched_persons", "num_persons"}``.
    """
    by_image: dict[int, list[dict]] = {}
    for result in results:
        by_image.setdefault(int(result["image_id"]), []).append(result)
    correct = total = matched = persons = 0
    for image_id in coco.imgs:
        truth_anns = [a for a in coco.imgToAnns.get(image_id, []) if _is_labelled(a)]
        if not truth_anns:
            continue
        truth = _poses([a["keypoints"] for a in truth_anns])
        scale = np.array([max(a["bbox"][2], a["bbox"][3]) for a in truth_anns], np.float32)
        best = sorted(by_image.get(image_id, []), key=lambda r: -r["score"])[:max_detections]
        predicted = _poses([r["keypoints"] for r in best], truth.shape[1])
        labelled = truth[..., 2] > 0
        total += int(labelled.sum())
        persons += len(truth)
        pairs, _ = match_persons(truth, predicted)
        for row, col in pairs:
            error = np.linalg.norm(truth[row, :, :2] - predicted[col, :, :2], axis=-1)
            hit = labelled[row] & (predicted[col, :, 2] > 0) & (error <= threshold * scale[row])
            correct += int(hit.sum())
        matched += len(pairs)
    return {"PCK": correct / total if total else 0.0, "num_joints": total,
            "matched_persons": matched, "num_persons": persons}


def _poses(flat_keypoints, num_keypoints: int | None = None) -> np.ndarray:
    """``[P, K, 3]`` from a list of flat ``[x, y, v] * K`` lists (``P`` may be 0)."""
    poses = np.array(flat_keypoints, np.float32)
    k = num_keypoints or poses.shape[-1] // 3
    return poses.reshape(len(flat_keypoints), k, 3)
